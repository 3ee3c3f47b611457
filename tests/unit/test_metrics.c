/* test_metrics.c - CSV metric files (common/metrics.h) and the actor's column
 * lists (actor/actor_metrics.h):
 *   - a header and a row generated from one X-macro list, written and read
 *     back byte for byte; a reopened file is appended to without a second
 *     header; an over-long row is cut, never overflows;
 *   - a resumed file (dq_metrics_resume) keeps the rows up to the checkpoint's
 *     counter, cuts the later ones and a torn last line, and hands back the
 *     kept row's values;
 *   - the actor's headers are byte-identical to the names the readers use
 *     (learner/tools/report_data.c, deploy/run-local.sh, deploy/cluster-lib.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "actor_metrics.h"
#include "err.h"
#include "fileio.h"
#include "metrics.h"

#define TEST_COLS(X)        \
    X(time_s, "%.3f", t)    \
    X(count, "%" PRIu64, n) \
    X(name, "%s", label)    \
    X(ratio, "%.2f", (double)n / 4.0)

static void test_header_and_rows(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "/tmp/dqnlm-test-metrics-%d.csv", (int)getpid());
    unlink(path);
    assert_string_equal(DQ_METRICS_HEADER(TEST_COLS), "time_s,count,name,ratio");
    double t = 1.25;
    uint64_t n = 42;
    const char *label = "x";
    dq_metrics_t *m = dq_metrics_open(path, DQ_METRICS_HEADER(TEST_COLS));
    assert_non_null(m);
    DQ_METRICS_WRITE(m, TEST_COLS);
    dq_metrics_close(&m);
    n = 3;
    label = "y";
    m = dq_metrics_open(path, DQ_METRICS_HEADER(TEST_COLS));
    assert_non_null(m);
    DQ_METRICS_WRITE(m, TEST_COLS);
    dq_metrics_close(&m);
    void *data;
    size_t len;
    char why[256];
    assert_int_equal(dq_file_read_all(path, 1 << 20, &data, &len, why, sizeof why), 0);
    assert_string_equal((const char *)data, "time_s,count,name,ratio\n"
                                            "1.250,42,x,10.50\n"
                                            "1.250,3,y,0.75\n");
    free(data);
    unlink(path);
}

static void test_long_row_is_cut(void **state)
{
    (void)state;
    dq_metrics_line_t l = {.len = 0};
    char big[DQ_METRICS_LINE_MAX];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    dq_metrics_cell(&l, "%d", 7);
    dq_metrics_cell(&l, "%s", big);
    dq_metrics_cell(&l, "%d", 8);
    assert_true(l.len < sizeof l.text);
    assert_int_equal(l.len, strlen(l.text));
    assert_memory_equal(l.text, "7,aaa", 5);
}

static void test_resume(void **state)
{
    (void)state;
    char path[] = "/tmp/dqnlm-test-metrics-resume-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    const char *names[] = {"time_s", "wait_s", "absent"};
    double v[3] = {-1, -1, -1};
    char why[256];
    /* An empty file: nothing to continue. */
    assert_int_equal(dq_metrics_resume(path, "updates", 100, names, v, 3, why, sizeof why), 0);
    assert_true(v[0] == -1);
    FILE *f = fopen(path, "w");
    fputs("time_s,updates,wait_s\n1.5,50,0.25\n3.0,100,0.5\n4.5,150,0.75\n6.0,2", f);
    fclose(f);
    /* The checkpoint was at update 100: the row of 150 and the torn line go. */
    assert_int_equal(dq_metrics_resume(path, "updates", 100, names, v, 3, why, sizeof why), 1);
    assert_true(v[0] == 3.0 && v[1] == 0.5 && isnan(v[2]));
    void *text;
    size_t len;
    assert_int_equal(dq_file_read_all(path, 4096, &text, &len, why, sizeof why), DQ_OK);
    assert_string_equal(text, "time_s,updates,wait_s\n1.5,50,0.25\n3.0,100,0.5\n");
    free(text);
    /* Appending continues after the kept row, without a second header. */
    dq_metrics_t *m = dq_metrics_open(path, "time_s,updates,wait_s");
    dq_metrics_row(m, "%.1f,%d,%.2f", 4.0, 120, 0.6);
    dq_metrics_close(&m);
    assert_int_equal(dq_file_read_all(path, 4096, &text, &len, why, sizeof why), DQ_OK);
    assert_string_equal(text, "time_s,updates,wait_s\n1.5,50,0.25\n3.0,100,0.5\n4.0,120,0.60\n");
    free(text);
    /* Before the first row: only the header is kept. */
    assert_int_equal(dq_metrics_resume(path, "updates", 10, names, v, 3, why, sizeof why), 0);
    assert_int_equal(dq_file_read_all(path, 4096, &text, &len, why, sizeof why), DQ_OK);
    assert_string_equal(text, "time_s,updates,wait_s\n");
    free(text);
    /* A file without the counter column is refused, naming it. */
    assert_int_equal(dq_metrics_resume(path, "steps", 10, names, v, 3, why, sizeof why),
                     DQ_EFORMAT);
    assert_non_null(strstr(why, "steps"));
    unlink(path);
    assert_int_equal(dq_metrics_resume(path, "updates", 10, names, v, 3, why, sizeof why), 0);
}

static void test_actor_headers(void **state)
{
    (void)state;
    assert_string_equal(DQ_METRICS_HEADER(ACTOR_METRIC_COLS),
                        "time_s,env_steps,episodes,steps_per_s,return_mean,final_metric_mean,"
                        "explore_param,explored_frac,weights_version,policy_lag,send_queue,sent,"
                        "acked,resent,disconnects");
    assert_string_equal(DQ_METRICS_HEADER(ACTOR_EPISODE_COLS),
                        "time_s,env,episode,steps,return,final_metric,explore_param,"
                        "weights_version");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_and_rows),
        cmocka_unit_test(test_long_row_is_cut),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_actor_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
