/* test_schedule.c - baseline LR schedules: parsing (and its errors) and each
 * schedule against its formula at chosen steps. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "schedule.h"

static char why[512];

static lm_schedule_t parse(const char *spec)
{
    lm_schedule_t s;
    if (schedule_parse(&s, spec, why, sizeof why) != DQ_OK) fail_msg("%s: %s", spec, why);
    return s;
}

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-12)

static void test_constant(void **state)
{
    (void)state;
    lm_schedule_t s = parse("constant");
    for (long k = 0; k < 100; k += 7) NEAR(schedule_factor(&s, k, 100), 1.0);
}

static void test_cosine(void **state)
{
    (void)state;
    lm_schedule_t s = parse("cosine:warmup=0.1,min=0.2");
    long N = 200, w = 20; /* warmup 0.1 * 200 */
    NEAR(schedule_factor(&s, 0, N), 1.0 / 20);
    NEAR(schedule_factor(&s, 9, N), 10.0 / 20);
    NEAR(schedule_factor(&s, w - 1, N), 1.0);
    NEAR(schedule_factor(&s, w, N), 1.0);
    long mid = w + (N - w - 1) / 2; /* p = 89/179 */
    double p = (double)(mid - w) / (double)(N - w - 1);
    NEAR(schedule_factor(&s, mid, N), 0.2 + 0.8 * 0.5 * (1 + cos(M_PI * p)));
    NEAR(schedule_factor(&s, N - 1, N), 0.2);
    NEAR(schedule_factor(&s, N + 50, N), 0.2);
    lm_schedule_t d = parse("cosine"); /* defaults warmup 0.05, min 0.1 */
    NEAR(schedule_factor(&d, 99, 100), 0.1);
}

static void test_step(void **state)
{
    (void)state;
    lm_schedule_t s = parse("step:every=0.25,gamma=0.5");
    NEAR(schedule_factor(&s, 0, 100), 1.0);
    NEAR(schedule_factor(&s, 24, 100), 1.0);
    NEAR(schedule_factor(&s, 25, 100), 0.5);
    NEAR(schedule_factor(&s, 74, 100), 0.25);
    NEAR(schedule_factor(&s, 99, 100), 0.125);
}

static void test_invsqrt(void **state)
{
    (void)state;
    lm_schedule_t s = parse("invsqrt:warmup=0.1");
    /* w = 10: (s+1)/w while warming up, then sqrt(w/(s+1)). */
    NEAR(schedule_factor(&s, 0, 100), 0.1);
    NEAR(schedule_factor(&s, 4, 100), 0.5);
    NEAR(schedule_factor(&s, 9, 100), 1.0);
    NEAR(schedule_factor(&s, 39, 100), 0.5);
    NEAR(schedule_factor(&s, 99, 100), sqrt(0.1));
    lm_schedule_t z = parse("invsqrt:warmup=0");
    NEAR(schedule_factor(&z, 3, 100), 0.5);
}

static void test_plateau(void **state)
{
    (void)state;
    lm_schedule_t s = parse("plateau:factor=0.5,patience=1,threshold=0.1");
    NEAR(schedule_factor(&s, 0, 10), 1.0);
    schedule_observe(&s, 4.0); /* best 4 */
    schedule_observe(&s, 3.0); /* improved by 25% */
    NEAR(schedule_factor(&s, 5, 10), 1.0);
    schedule_observe(&s, 2.9); /* < 10%: bad 1 */
    NEAR(schedule_factor(&s, 5, 10), 1.0);
    schedule_observe(&s, 2.95); /* bad 2 > patience: halve */
    NEAR(schedule_factor(&s, 5, 10), 0.5);
    schedule_observe(&s, 1.0); /* improved */
    schedule_observe(&s, 1.0);
    schedule_observe(&s, 1.0);
    NEAR(schedule_factor(&s, 5, 10), 0.25);
    schedule_reset(&s);
    NEAR(schedule_factor(&s, 5, 10), 1.0);
}

static void test_parse_errors_and_format(void **state)
{
    (void)state;
    lm_schedule_t s;
    const char *bad[] = {
        "cosin",           "cosine:",         "cosine:warmup", "cosine:warmup=x",
        "cosine:warmup=2", "step:every=0",    "constant:x=1",  "plateau:patience=1.5",
        "cosine:min=0.1,", "invsqrt:min=0.1", "constantx"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        if (schedule_parse(&s, bad[i], why, sizeof why) != DQ_ECONFIG)
            fail_msg("accepted '%s'", bad[i]);
        assert_true(strlen(why) > 0);
    }
    char buf[128];
    const char *specs[] = {"constant", "cosine:warmup=0.05,min=0.1", "step:every=0.33,gamma=0.3",
                           "invsqrt:warmup=0.05", "plateau:factor=0.5,patience=2,threshold=0.01"};
    for (size_t i = 0; i < 5; i++) {
        s = parse(specs[i]);
        schedule_format(&s, buf, sizeof buf);
        assert_string_equal(buf, specs[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constant), cmocka_unit_test(test_cosine),
        cmocka_unit_test(test_step),     cmocka_unit_test(test_invsqrt),
        cmocka_unit_test(test_plateau),  cmocka_unit_test(test_parse_errors_and_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
