/* log.c - see log.h. The tag and threshold are written once by main() before
 * any other thread exists, then only read. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct {
    char component[32];
    dq_log_level_t threshold;
} log_state = {"dqnlm", DQ_LOG_INFO};

static const char *level_names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

void dq_log_init(const char *component, dq_log_level_t threshold)
{
    snprintf(log_state.component, sizeof log_state.component, "%s", component);
    log_state.threshold = threshold;
}

int dq_log_level_parse(const char *s)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

void dq_log(dq_log_level_t level, const char *fmt, ...)
{
    if (level < log_state.threshold) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    /* One fprintf per line so that lines from several processes sharing a
     * terminal do not interleave mid-line. */
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s.%03ldZ %s %s[%d] %s\n", stamp, ts.tv_nsec / 1000000L, level_names[level],
            log_state.component, (int)getpid(), msg);
}
