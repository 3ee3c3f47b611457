/* test_rlstats.c - IQM, stratified bootstrap and probability of improvement
 * against small hand-worked examples. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "rlstats.h"

#define assert_close(a, b, eps)                                                            \
    do {                                                                                   \
        double a_ = (a), b_ = (b);                                                         \
        if (!(fabs(a_ - b_) <= (eps))) fail_msg("%s = %.15g, expected %.15g", #a, a_, b_); \
    } while (0)

static void test_iqm_hand_worked(void **state)
{
    (void)state;
    /* n = 8: drop 2 from each end of 1..8 -> mean(3,4,5,6) = 4.5 */
    double a[] = {8, 1, 7, 2, 6, 3, 5, 4};
    assert_close(rl_iqm(a, 8), 4.5, 1e-12);
    /* n = 5: drop 1 from each end -> mean(2, 3, 100) with an outlier kept out:
     * sorted {-50, 2, 3, 100, 1000} -> mean(2, 3, 100) = 35 */
    double b[] = {1000, 3, -50, 100, 2};
    assert_close(rl_iqm(b, 5), 35.0, 1e-12);
    /* n = 3: nothing dropped -> plain mean */
    double c[] = {1, 2, 6};
    assert_close(rl_iqm(c, 3), 3.0, 1e-12);
    assert_true(isnan(rl_iqm(c, 0)));
}

static void test_ci_degenerate_and_bracketing(void **state)
{
    (void)state;
    dq_rng_t rng;
    dq_rng_seed(&rng, 42);
    /* Every run of a task identical: every resample is the data itself, so the
     * interval collapses onto the IQM. 3 runs x 4 tasks. */
    double same[] = {1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4};
    double lo, hi;
    assert_int_equal(rl_iqm_ci(same, 3, 4, 500, 0.05, &rng, &lo, &hi), DQ_OK);
    double iqm = rl_iqm(same, 12); /* drop 3 each end of {1,1,1,2,2,2,3,3,3,4,4,4} -> 2.5 */
    assert_close(iqm, 2.5, 1e-12);
    assert_close(lo, 2.5, 1e-12);
    assert_close(hi, 2.5, 1e-12);
    /* Noisy runs: the interval brackets the point estimate and lies within the
     * data's range. */
    double noisy[] = {1.0, 5.0, 1.2, 5.5, 0.8, 4.5, 1.1, 5.2, 0.9, 4.8};
    assert_int_equal(rl_iqm_ci(noisy, 5, 2, 2000, 0.05, &rng, &lo, &hi), DQ_OK);
    double p = rl_iqm(noisy, 10);
    assert_true(lo <= p && p <= hi);
    assert_true(lo >= 0.8 && hi <= 5.5 && hi - lo > 0.01);
    assert_int_equal(rl_iqm_ci(noisy, 0, 2, 10, 0.05, &rng, &lo, &hi), DQ_EINVAL);
}

static void test_stratification_keeps_tasks_apart(void **state)
{
    (void)state;
    /* Task 0 always scores 0, task 1 always 10, each with 2 runs. A stratified
     * resample always has 2 zeros and 2 tens, so the IQM is always 5; an
     * unstratified one would not be. */
    double s[] = {0, 10, 0, 10};
    dq_rng_t rng;
    dq_rng_seed(&rng, 7);
    double lo, hi;
    assert_int_equal(rl_iqm_ci(s, 2, 2, 1000, 0.05, &rng, &lo, &hi), DQ_OK);
    assert_close(lo, 5.0, 1e-12);
    assert_close(hi, 5.0, 1e-12);
}

static void test_prob_improvement(void **state)
{
    (void)state;
    /* One task; X = {1, 2}, Y = {3, 4}: lower is better, X always wins -> 1. */
    double x[] = {1, 2}, y[] = {3, 4};
    assert_close(rl_prob_improvement(x, 2, y, 2, 1, RL_LOWER_IS_BETTER), 1.0, 1e-12);
    assert_close(rl_prob_improvement(x, 2, y, 2, 1, RL_HIGHER_IS_BETTER), 0.0, 1e-12);
    /* X = {1, 3}, Y = {2, 3}, lower better: pairs (1,2) win, (1,3) win, (3,2)
     * lose, (3,3) tie -> (1 + 1 + 0 + 0.5) / 4 = 0.625. */
    double x2[] = {1, 3}, y2[] = {2, 3};
    assert_close(rl_prob_improvement(x2, 2, y2, 2, 1, RL_LOWER_IS_BETTER), 0.625, 1e-12);
    /* Two tasks, averaged: task 0 gives 1, task 1 gives 0 -> 0.5.
     * Layout (runs, tasks): x = {{1, 9}}, y = {{2, 3}}. */
    double x3[] = {1, 9}, y3[] = {2, 3};
    assert_close(rl_prob_improvement(x3, 1, y3, 1, 2, RL_LOWER_IS_BETTER), 0.5, 1e-12);
    /* Against itself: exactly one half. */
    assert_close(rl_prob_improvement(x2, 2, x2, 2, 1, RL_LOWER_IS_BETTER), 0.5, 1e-12);
    dq_rng_t rng;
    dq_rng_seed(&rng, 3);
    double lo, hi;
    assert_int_equal(
        rl_prob_improvement_ci(x, 2, y, 2, 1, RL_LOWER_IS_BETTER, 500, 0.05, &rng, &lo, &hi),
        DQ_OK);
    assert_close(lo, 1.0, 1e-12);
    assert_close(hi, 1.0, 1e-12);
}

/* Paired comparison: instance by instance, ties within the tolerance count
 * one half; the interval resamples instances, not methods separately. */
static void test_paired_prob_improvement(void **state)
{
    (void)state;
    /* 4 instances in 2 strata: layout (runs = 2, tasks = 2) */
    const double x[] = {3.00, 4.00, 3.50, 4.20};
    const double y[] = {3.20, 4.005, 3.40, 4.50};
    /* stratum 0: instances (3.00 vs 3.20) win, (3.50 vs 3.40) loss -> 0.5;
     * stratum 1: (4.00 vs 4.005) tie -> 0.5, (4.20 vs 4.50) win -> 0.75 */
    assert_float_equal(rl_paired_prob_improvement(x, y, 2, 2, 0.01, RL_LOWER_IS_BETTER), 0.625,
                       1e-12);
    /* without a tie tolerance 4.00 < 4.005 is a win: stratum 1 -> 1.0 */
    assert_float_equal(rl_paired_prob_improvement(x, y, 2, 2, 0.0, RL_LOWER_IS_BETTER), 0.75,
                       1e-12);
    assert_float_equal(rl_paired_prob_improvement(x, y, 2, 2, 0.0, RL_HIGHER_IS_BETTER), 0.25,
                       1e-12);
    /* the same method against itself: all ties */
    assert_float_equal(rl_paired_prob_improvement(x, x, 2, 2, 0.0, RL_LOWER_IS_BETTER), 0.5, 1e-12);
    dq_rng_t rng;
    dq_rng_seed(&rng, 7);
    double lo, hi;
    assert_int_equal(rl_paired_prob_improvement_ci(x, y, 2, 2, 0.01, RL_LOWER_IS_BETTER, 2000, 0.05,
                                                   &rng, &lo, &hi),
                     DQ_OK);
    assert_true(lo <= 0.625 && 0.625 <= hi);
    assert_true(lo >= 0.25 && hi <= 1.0 && hi - lo > 0.1);
    /* x better on every instance: every resample says 1 */
    const double z[] = {2.0, 3.0, 2.5, 3.1};
    assert_int_equal(rl_paired_prob_improvement_ci(z, y, 2, 2, 0.01, RL_LOWER_IS_BETTER, 200, 0.05,
                                                   &rng, &lo, &hi),
                     DQ_OK);
    assert_float_equal(lo, 1.0, 1e-12);
    assert_float_equal(hi, 1.0, 1e-12);
    assert_int_equal(rl_paired_prob_improvement_ci(x, y, 0, 2, 0.01, RL_LOWER_IS_BETTER, 10, 0.05,
                                                   &rng, &lo, &hi),
                     DQ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iqm_hand_worked),
        cmocka_unit_test(test_ci_degenerate_and_bracketing),
        cmocka_unit_test(test_stratification_keeps_tasks_apart),
        cmocka_unit_test(test_prob_improvement),
        cmocka_unit_test(test_paired_prob_improvement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
