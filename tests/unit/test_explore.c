/* test_explore.c - exploration schedules against their formulas, and the
 * policies' sampling against their distributions (fixed seeds).
 *
 * Tolerances: schedule values 1e-12 relative (they are closed forms);
 * empirical frequencies within 5 standard errors per bin and a chi-square
 * statistic below the 0.999 quantile of its distribution, so a correct
 * sampler fails with probability < 1e-3 per seed (and the seeds are fixed). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "explore.h"
#include "rng.h"

static char why[256];

static dq_explore_t parse_ok(const char *spec)
{
    dq_explore_t x;
    int rc = dq_explore_parse(&x, spec, why, sizeof why);
    if (rc != DQ_OK) fail_msg("'%s' refused: %s", spec, why);
    return x;
}

static void near(double got, double want, double rel)
{
    double tol = rel * fmax(1.0, fabs(want));
    if (!(fabs(got - want) <= tol)) fail_msg("got %.17g, want %.17g (tol %.3g)", got, want, tol);
}

static void test_parse(void **state)
{
    (void)state;
    static const char *good[] = {
        "0.2",
        "constant:value=0.3",
        " linear:start=1, end=0.05,steps=100 ",
        "exp:start=1,end=0.01,half_life=50",
        "piecewise:0=1,100=0.5,200=0.1",
        "ladder:eps=0.4,alpha=7",
        "ladder",
        "ez:0.1",
        "ez(mu=1.5,max=20):ladder:eps=0.4,alpha=7",
        "boltzmann:2.5",
        "boltzmann:exp:start=5,end=0.1,half_life=10",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        dq_explore_t x = parse_ok(good[i]), y;
        char d[256];
        dq_explore_describe(&x, d, sizeof d);
        /* The canonical description parses back to the same schedule. */
        assert_int_equal(dq_explore_parse(&y, d, why, sizeof why), DQ_OK);
        for (uint64_t t = 0; t < 300; t += 7)
            near(dq_explore_param(&y, 3, 8, t), dq_explore_param(&x, 3, 8, t), 1e-12);
        assert_int_equal(x.policy, y.policy);
    }
    static const char *bad[] = {
        "",
        "1.5",
        "-0.1",
        "linear:start=1,end=0.1",
        "linear:start=1,end=0.1,steps=0",
        "exp:start=1,end=2,half_life=5",
        "piecewise:",
        "piecewise:10=0.5,5=0.1",
        "ladder:eps=0",
        "ladder:eps=0.4,beta=2",
        "ez(mu=1):0.1",
        "ez(mu=2",
        "ez:",
        "boltzmann:0",
        "softmax:0.1",
        "linear:start=1,,end=0",
        "constant:value=nan",
        "ez(mu=2,max=0):0.1",
        "boltzmann(mu=2):1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        dq_explore_t x;
        why[0] = '\0';
        if (dq_explore_parse(&x, bad[i], why, sizeof why) != DQ_ECONFIG)
            fail_msg("'%s' accepted", bad[i]);
        assert_true(why[0] != '\0');
    }
}

/* Ape-X: eps_i = eps^(1 + alpha i/(N-1)); with eps = 0.4, alpha = 7, N = 8 that is 0.4^(1+i). */
static void test_ladder(void **state)
{
    (void)state;
    dq_explore_t x = parse_ok("ladder:eps=0.4,alpha=7");
    static const double want[8] = {0.4,     0.16,     0.064,     0.0256,
                                   0.01024, 0.004096, 0.0016384, 0.00065536};
    for (uint32_t i = 0; i < 8; i++) {
        near(dq_explore_param(&x, i, 8, 0), want[i], 1e-12);
        near(dq_explore_param(&x, i, 8, 123456), want[i], 1e-12); /* does not depend on t */
    }
    near(dq_explore_param(&x, 0, 1, 0), 0.4, 1e-12); /* a single actor gets eps itself */
    dq_explore_t y = parse_ok("ladder:eps=0.5,alpha=3");
    near(dq_explore_param(&y, 2, 5, 0), pow(0.5, 1 + 3 * 2.0 / 4.0), 1e-12);
}

static void test_decays(void **state)
{
    (void)state;
    dq_explore_t lin = parse_ok("linear:start=1,end=0.1,steps=1000");
    near(dq_explore_param(&lin, 0, 1, 0), 1.0, 1e-12);
    near(dq_explore_param(&lin, 0, 1, 250), 0.775, 1e-12);
    near(dq_explore_param(&lin, 0, 1, 500), 0.55, 1e-12);
    near(dq_explore_param(&lin, 0, 1, 1000), 0.1, 1e-12);
    near(dq_explore_param(&lin, 0, 1, 5000), 0.1, 1e-12);
    dq_explore_t ex = parse_ok("exp:start=1,end=0.01,half_life=100");
    near(dq_explore_param(&ex, 0, 1, 0), 1.0, 1e-12);
    near(dq_explore_param(&ex, 0, 1, 100), 0.01 + 0.99 * 0.5, 1e-12);
    near(dq_explore_param(&ex, 0, 1, 300), 0.01 + 0.99 * 0.125, 1e-12);
    near(dq_explore_param(&ex, 0, 1, 50), 0.01 + 0.99 / sqrt(2.0), 1e-12);
    near(dq_explore_param(&ex, 0, 1, 100000), 0.01, 1e-12);
    dq_explore_t pw = parse_ok("piecewise:100=1,200=0.5,400=0.1");
    near(dq_explore_param(&pw, 0, 1, 0), 1.0, 1e-12);
    near(dq_explore_param(&pw, 0, 1, 150), 0.75, 1e-12);
    near(dq_explore_param(&pw, 0, 1, 200), 0.5, 1e-12);
    near(dq_explore_param(&pw, 0, 1, 300), 0.3, 1e-12);
    near(dq_explore_param(&pw, 0, 1, 1000), 0.1, 1e-12);
    dq_explore_t bz = parse_ok("boltzmann:linear:start=4,end=2,steps=10");
    near(dq_explore_param(&bz, 0, 1, 5), 3.0, 1e-12); /* tau may exceed 1 */
}

/* Chi-square with k-1 degrees of freedom and per-bin 5-sigma checks. */
static void check_freqs(const uint64_t *count, const double *p, int k, uint64_t n, double chi2_max)
{
    double chi2 = 0;
    for (int i = 0; i < k; i++) {
        double e = p[i] * (double)n, sd = sqrt((double)n * p[i] * (1 - p[i]));
        if (fabs((double)count[i] - e) > 5 * sd + 1e-9)
            fail_msg("bin %d: %llu observed, %.1f expected (sd %.1f)", i,
                     (unsigned long long)count[i], e, sd);
        chi2 += ((double)count[i] - e) * ((double)count[i] - e) / e;
    }
    printf("    chi2 = %.2f over %d bins (limit %.2f)\n", chi2, k, chi2_max);
    assert_true(chi2 < chi2_max);
}

/* The zeta(2) sampler: P(n) = 6 / (pi^2 n^2) for n = 1..10, and the tail. */
static void test_zeta(void **state)
{
    (void)state;
    dq_rng_t rng;
    dq_rng_seed(&rng, 42);
    enum { N = 400000, K = 11 };
    uint64_t count[K] = {0};
    double p[K], tail = 1;
    for (int n = 1; n < K; n++) tail -= p[n - 1] = 6 / (M_PI * M_PI * n * n);
    p[K - 1] = tail;
    for (int i = 0; i < N; i++) {
        uint64_t n = dq_zeta_sample(&rng, 2.0, UINT64_MAX);
        assert_true(n >= 1);
        count[n < K ? n - 1 : K - 1]++;
    }
    check_freqs(count, p, K, N, 29.59); /* chi2(10) 0.999 quantile */
    /* mu = 3: P(n) = n^-3 / zeta(3). */
    const double zeta3 = 1.2020569031595942;
    uint64_t c3[4] = {0};
    double p3[4] = {1 / zeta3, 1 / (8 * zeta3), 1 / (27 * zeta3), 0};
    p3[3] = 1 - p3[0] - p3[1] - p3[2];
    for (int i = 0; i < N; i++) {
        uint64_t n = dq_zeta_sample(&rng, 3.0, UINT64_MAX);
        c3[n < 4 ? n - 1 : 3]++;
    }
    check_freqs(c3, p3, 4, N, 16.27); /* chi2(3) */
    for (int i = 0; i < 1000; i++) assert_true(dq_zeta_sample(&rng, 2.0, 5) <= 5);
}

/* ez-greedy through the policy: durations of the random holds follow zeta(2)
 * capped at max; a hold starts at a free step with probability eps; the
 * fraction of exploring steps is the renewal-reward value
 *     eps E / (1 - eps + eps E),  E = E[min(n, max)]. */
static void test_ez_greedy(void **state)
{
    (void)state;
    const double eps = 0.1;
    const int cap = 20;
    dq_explore_t x = parse_ok("ez(mu=2,max=20):0.1");
    dq_rng_t rng;
    dq_rng_seed(&rng, 7);
    dq_explore_state_t st = {0};
    const float q[4] = {0.3f, 1.0f, -0.2f, 0.5f};
    enum { STEPS = 2000000 };
    uint64_t hist[21] = {0}, free_steps = 0, starts = 0, exploring = 0, greedy_ok = 0, greedy_n = 0;
    for (int i = 0; i < STEPS; i++) {
        int was_free = st.left == 0, ex;
        int a = dq_explore_act(&x, &st, eps, q, 4, &rng, &ex);
        free_steps += (uint64_t)was_free;
        exploring += (uint64_t)ex;
        if (was_free && ex) {
            starts++;
            hist[st.left + 1]++; /* this step plus the steps still held */
        }
        if (!ex) {
            greedy_n++;
            greedy_ok += a == 1;
        }
    }
    assert_int_equal(greedy_ok, greedy_n);
    /* Start rate against eps (binomial over the free steps). */
    double rate = (double)starts / (double)free_steps,
           sd = sqrt(eps * (1 - eps) / (double)free_steps);
    printf("    hold start rate %.5f vs eps %.5f (sd %.5f)\n", rate, eps, sd);
    assert_true(fabs(rate - eps) < 5 * sd);
    /* Duration histogram against zeta(2) capped at 20. */
    double p[20], tail = 1, mean = 0;
    for (int n = 1; n < cap; n++) tail -= p[n - 1] = 6 / (M_PI * M_PI * n * n);
    p[cap - 1] = tail;
    for (int n = 1; n <= cap; n++) mean += n * p[n - 1];
    check_freqs(hist + 1, p, cap, starts, 43.82); /* chi2(19) 0.999 quantile */
    double want = eps * mean / (1 - eps + eps * mean), got = (double)exploring / STEPS;
    printf("    exploring fraction %.5f vs %.5f (E[min(n,20)] = %.4f)\n", got, want, mean);
    assert_true(fabs(got - want) < 0.005);
    /* Reset drops a hold. */
    st.left = 5;
    dq_explore_reset(&st);
    assert_int_equal(st.left, 0);
}

static void test_eps_greedy(void **state)
{
    (void)state;
    dq_explore_t x = parse_ok("0.25");
    dq_rng_t rng;
    dq_rng_seed(&rng, 11);
    const float q[3] = {0.0f, 0.0f, 2.0f};
    enum { N = 300000 };
    uint64_t count[3] = {0}, ex_n = 0;
    for (int i = 0; i < N; i++) {
        int ex;
        count[dq_explore_act(&x, NULL, 0.25, q, 3, &rng, &ex)]++;
        ex_n += (uint64_t)ex;
    }
    /* P(a) = eps/3 + (1 - eps) [a greedy]. */
    double p[3] = {0.25 / 3, 0.25 / 3, 0.25 / 3 + 0.75};
    check_freqs(count, p, 3, N, 13.82); /* chi2(2) */
    double sd = sqrt(0.25 * 0.75 / N);
    assert_true(fabs((double)ex_n / N - 0.25) < 5 * sd);
    near(dq_explore_recorded(&x, 0.25, q, 3), 0.25, 1e-12);
}

static void test_boltzmann(void **state)
{
    (void)state;
    dq_explore_t x = parse_ok("boltzmann:0.5");
    dq_rng_t rng;
    dq_rng_seed(&rng, 3);
    const float q[4] = {1.0f, 0.5f, 0.0f, -0.5f};
    double p[4];
    dq_softmax(p, q, 4, 0.5);
    /* By hand: weights e^{2 q} = e^2, e^1, 1, e^-1. */
    double z = exp(2) + exp(1) + 1 + exp(-1);
    near(p[0], exp(2) / z, 1e-12);
    near(p[3], exp(-1) / z, 1e-12);
    enum { N = 400000 };
    uint64_t count[4] = {0};
    for (int i = 0; i < N; i++) count[dq_explore_act(&x, NULL, 0.5, q, 4, &rng, NULL)]++;
    check_freqs(count, p, 4, N, 16.27); /* chi2(3) */
    near(dq_explore_recorded(&x, 0.5, q, 4), 1 - p[0], 1e-12);
    /* A tiny tau is greedy; a huge one is uniform. */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(dq_explore_act(&x, NULL, 1e-6, q, 4, &rng, NULL), 0);
    dq_softmax(p, q, 4, 1e9);
    for (int k = 0; k < 4; k++) near(p[k], 0.25, 1e-6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),     cmocka_unit_test(test_ladder),
        cmocka_unit_test(test_decays),    cmocka_unit_test(test_zeta),
        cmocka_unit_test(test_ez_greedy), cmocka_unit_test(test_eps_greedy),
        cmocka_unit_test(test_boltzmann),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
