/* log.h - levelled, timestamped logging to stderr.
 *
 *   dq_log_init("replay", DQ_LOG_INFO);
 *   DQ_INFO("bound %s", endpoint);
 *
 * Every line is "2026-11-28T22:55:32.123Z INFO  replay[1234] message". The
 * component tag and the threshold are set once per process by main(); library
 * code only calls the macros.
 */
#ifndef DQ_LOG_H
#define DQ_LOG_H

typedef enum { DQ_LOG_DEBUG = 0, DQ_LOG_INFO, DQ_LOG_WARN, DQ_LOG_ERROR } dq_log_level_t;

void dq_log_init(const char *component, dq_log_level_t threshold);
/* Parses "debug", "info", "warn" or "error"; returns -1 for anything else. */
int dq_log_level_parse(const char *s);
void dq_log(dq_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define DQ_DEBUG(...) dq_log(DQ_LOG_DEBUG, __VA_ARGS__)
#define DQ_INFO(...) dq_log(DQ_LOG_INFO, __VA_ARGS__)
#define DQ_WARN(...) dq_log(DQ_LOG_WARN, __VA_ARGS__)
#define DQ_ERROR(...) dq_log(DQ_LOG_ERROR, __VA_ARGS__)

#endif
