/* test_metrics.c - CSV metric files (common/metrics.h) and the actor's column
 * lists (actor/actor_metrics.h):
 *   - a header and a row generated from one X-macro list, written and read
 *     back byte for byte; a reopened file is appended to without a second
 *     header; an over-long row is cut, never overflows;
 *   - the actor's headers are byte-identical to the names the readers use
 *     (learner/tools/report_data.c, deploy/run-local.sh, deploy/cluster-lib.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "actor_metrics.h"
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
        cmocka_unit_test(test_actor_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
