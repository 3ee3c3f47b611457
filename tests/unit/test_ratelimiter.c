/* test_ratelimiter.c - the rate limiter against a counter model over random
 * interleavings of inserts, samples and FIFO evictions; the invariant
 * min_diff <= diff <= max_diff after warm-up; that an active inserter and sampler
 * never both wait; and that configurations which could wait forever are refused
 * with DQ_ECONFIG (and really would wait forever). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "ratelimiter.h"
#include "rng.h"

static char err[512];

/* The model: exact integers. SPI = k / 4 and error_buffer = e / 4, so every
 * quantity is kept multiplied by 4. */
typedef struct {
    int64_t k, e, min_size, cap, nmax, mmax;
    int64_t inserts, samples, deletes, offset4;
    bool enabled;
} model_t;

static int64_t m_size(const model_t *m) { return m->inserts - m->deletes; }
static int64_t m_diff4(const model_t *m) { return m->inserts * m->k - 4 * m->samples + m->offset4; }
static int64_t m_min4(const model_t *m) { return m->min_size * m->k - m->e; }
static int64_t m_max4(const model_t *m) { return m->min_size * m->k + m->e; }

static bool m_can_insert(const model_t *m, int64_t n)
{
    if (n < 1 || n > m->nmax) return false;
    if (!m->enabled) return true;
    if (m_size(m) + n <= m->min_size) return true;
    return m_diff4(m) + n * m->k <= m_max4(m);
}

static bool m_can_sample(const model_t *m, int64_t n)
{
    if (n < 1 || n > m->mmax) return false;
    if (!m->enabled) return true;
    return m_size(m) >= m->min_size && m_diff4(m) - 4 * n >= m_min4(m);
}

static void m_enable(model_t *m)
{
    if (m->enabled) return;
    int64_t warm = m_size(m) < m->min_size ? m_size(m) : m->min_size;
    m->offset4 = warm * m->k - (m->inserts * m->k - 4 * m->samples);
    m->enabled = true;
}

/* The smallest valid e, in quarters: 4 * max(1, SPI, (n SPI + m) / 2, (n-1) SPI). */
static int64_t m_min_e(int64_t k, int64_t n, int64_t mm)
{
    int64_t e = k > 4 ? k : 4;
    int64_t half = (n * k + 4 * mm + 1) / 2; /* ceil */
    if (half > e) e = half;
    if ((n - 1) * k > e) e = (n - 1) * k;
    return e;
}

static ratelimiter_config_t config_of(const model_t *m)
{
    return (ratelimiter_config_t){
        .samples_per_insert = (double)m->k / 4.0,
        .min_size_to_sample = (uint64_t)m->min_size,
        .error_buffer = (double)m->e / 4.0,
        .capacity = (uint64_t)m->cap,
        .max_insert_batch = (uint32_t)m->nmax,
        .max_sample_batch = (uint32_t)m->mmax,
        .enabled = m->enabled,
    };
}

static void run_interleaving(dq_rng_t *rng, int steps, bool *saw_insert_wait, bool *saw_sample_wait)
{
    model_t m = {
        .k = 1 + (int64_t)dq_rng_below(rng, 16), /* SPI 0.25 .. 4 */
        .min_size = 1 + (int64_t)dq_rng_below(rng, 60),
        .nmax = 1 + (int64_t)dq_rng_below(rng, 8),
        .mmax = 1 + (int64_t)dq_rng_below(rng, 32),
        .enabled = dq_rng_below(rng, 4) != 0, /* a quarter start pre-filling */
    };
    m.cap = m.min_size + (int64_t)dq_rng_below(rng, 100);
    int64_t slack_e = (int64_t)dq_rng_below(rng, 3); /* a third of runs at the exact minimum */
    slack_e *= (int64_t)dq_rng_below(rng, 40);
    m.e = m_min_e(m.k, m.nmax, m.mmax) + slack_e;
    int64_t prefill_until = m.enabled ? 0 : (int64_t)dq_rng_below(rng, 400);

    ratelimiter_config_t cfg = config_of(&m);
    ratelimiter_t rl;
    if (ratelimiter_init(&rl, &cfg, err, sizeof err) != DQ_OK)
        fail_msg("valid config refused: %s", err);
    /* The model rounds the minimum up to whole quarters. */
    double need = ratelimiter_min_error_buffer(&cfg);
    assert_true(need <= (double)m.e / 4.0);
    assert_true(need > (double)(m_min_e(m.k, m.nmax, m.mmax) - 1) / 4.0);

    /* The inserter leans ahead or behind for stretches, so both walls are hit. */
    uint64_t bias = 50;
    for (int step = 0; step < steps; step++) {
        if (step == prefill_until) {
            m_enable(&m);
            ratelimiter_set_enabled(&rl, true);
        }
        if (step % 500 == 0) bias = 10 + dq_rng_below(rng, 81);
        int64_t n = 1 + (int64_t)dq_rng_below(rng, (uint64_t)m.nmax + 1); /* may exceed nmax */
        int64_t s = 1 + (int64_t)dq_rng_below(rng, (uint64_t)m.mmax + 1);
        bool ci = ratelimiter_can_insert(&rl, (uint64_t)n),
             cs = ratelimiter_can_sample(&rl, (uint64_t)s);
        if (ci != m_can_insert(&m, n) || cs != m_can_sample(&m, s))
            fail_msg("step %d: can_insert(%lld) %d vs model %d, can_sample(%lld) %d vs model %d",
                     step, (long long)n, ci, m_can_insert(&m, n), (long long)s, cs,
                     m_can_sample(&m, s));
        /* No deadlock: requests within the batch limits are never both refused. */
        if (n <= m.nmax && s <= m.mmax) assert_true(ci || cs);
        *saw_insert_wait |= m.enabled && n <= m.nmax && !ci;
        *saw_sample_wait |= m.enabled && s <= m.mmax && !cs && m_size(&m) >= m.min_size;

        if (dq_rng_below(rng, 100) < bias) {
            int rc = ratelimiter_insert(&rl, (uint64_t)n);
            assert_int_equal(rc, n > m.nmax ? DQ_ERANGE : ci ? DQ_OK : DQ_EINVAL);
            if (rc == DQ_OK) {
                m.inserts += n;
                int64_t over = m_size(&m) - m.cap; /* FIFO eviction */
                if (over > 0) {
                    assert_int_equal(ratelimiter_delete(&rl, (uint64_t)over), DQ_OK);
                    m.deletes += over;
                }
            }
        } else {
            int rc = ratelimiter_sample(&rl, (uint64_t)s);
            assert_int_equal(rc, s > m.mmax ? DQ_ERANGE : cs ? DQ_OK : DQ_EINVAL);
            if (rc == DQ_OK) m.samples += s;
        }
        assert_int_equal(rl.inserts, m.inserts);
        assert_int_equal(rl.samples, m.samples);
        assert_int_equal(ratelimiter_size(&rl), m_size(&m));
        assert_true(ratelimiter_diff(&rl) * 4.0 == (double)m_diff4(&m));
        /* After warm-up the difference stays inside the buffer. */
        if (m.enabled && m_size(&m) >= m.min_size) {
            double d = ratelimiter_diff(&rl);
            if (!(rl.min_diff <= d && d <= rl.max_diff))
                fail_msg("step %d: diff %g outside [%g, %g]", step, d, rl.min_diff, rl.max_diff);
        }
    }
}

static void test_against_counter_model(void **state)
{
    (void)state;
    dq_rng_t rng;
    dq_rng_seed(&rng, 4);
    bool insert_wait = false, sample_wait = false;
    for (int run = 0; run < 300; run++) run_interleaving(&rng, 3000, &insert_wait, &sample_wait);
    /* The walk reached both walls, so the comparisons covered both refusals. */
    assert_true(insert_wait);
    assert_true(sample_wait);
}

static ratelimiter_config_t base_config(void)
{
    return (ratelimiter_config_t){
        .samples_per_insert = 1.0,
        .min_size_to_sample = 1000,
        .error_buffer = 200.0,
        .capacity = 100000,
        .max_insert_batch = 1,
        .max_sample_batch = 256,
        .enabled = true,
    };
}

static void expect_config_error(ratelimiter_config_t cfg, const char *needle)
{
    ratelimiter_t rl;
    err[0] = '\0';
    assert_int_equal(ratelimiter_init(&rl, &cfg, err, sizeof err), DQ_ECONFIG);
    if (!strstr(err, needle)) fail_msg("error '%s' lacks '%s'", err, needle);
}

static void test_bad_configs_refused(void **state)
{
    (void)state;
    ratelimiter_config_t c = base_config();
    ratelimiter_t rl;
    assert_int_equal(ratelimiter_init(&rl, &c, err, sizeof err), DQ_OK);
    c.samples_per_insert = 0.0;
    expect_config_error(c, "samples_per_insert");
    c.samples_per_insert = -1.0 / 0.0;
    expect_config_error(c, "samples_per_insert");
    c = base_config();
    c.min_size_to_sample = 0;
    expect_config_error(c, "min_size_to_sample");
    c = base_config();
    c.capacity = 999;
    expect_config_error(c, "exceeds the capacity");
    c = base_config();
    c.max_sample_batch = 0;
    expect_config_error(c, "max_sample_batch");
    c = base_config();
    c.error_buffer = 0.0 / 0.0;
    expect_config_error(c, "error_buffer");
    /* Reverb's own rule: error_buffer >= max(1, SPI), here 4 > (4 + 1) / 2. */
    c = base_config();
    c.samples_per_insert = 4.0;
    c.max_sample_batch = 1;
    c.error_buffer = 3.0;
    expect_config_error(c, "= 4");
    c.error_buffer = 4.0;
    assert_int_equal(ratelimiter_init(&rl, &c, err, sizeof err), DQ_OK);
    /* No error message buffer: still the code. */
    c.error_buffer = 1.0;
    assert_int_equal(ratelimiter_check_config(&c, NULL, 0), DQ_ECONFIG);
}

/* error_buffer 100 with sample batches of 256 passes Reverb's rule but not (1):
 * the limiter is refused, and forced into use it does reach a state where the
 * inserter and the sampler both wait forever. */
static void test_refused_config_would_deadlock_after_warmup(void **state)
{
    (void)state;
    ratelimiter_config_t c = base_config();
    c.error_buffer = 100.0;
    expect_config_error(c, "could both wait forever");
    expect_config_error(c, "128.5");
    ratelimiter_t rl;
    c.error_buffer = 128.5;
    assert_int_equal(ratelimiter_init(&rl, &c, err, sizeof err), DQ_OK);
    rl.min_diff = 1000.0 - 100.0; /* what error_buffer 100 would give */
    rl.max_diff = 1000.0 + 100.0;
    int inserts = 0;
    while (ratelimiter_insert(&rl, 1) == DQ_OK) inserts++;
    assert_int_equal(inserts, 1100);
    assert_false(ratelimiter_can_insert(&rl, 1));
    assert_false(ratelimiter_can_sample(&rl, 256));
    /* With the accepted buffer the same walk leaves the sampler free. */
    assert_int_equal(ratelimiter_init(&rl, &c, err, sizeof err), DQ_OK);
    while (ratelimiter_insert(&rl, 1) == DQ_OK) {
    }
    assert_true(ratelimiter_can_sample(&rl, 256));
}

/* Insert batches of 10 with error_buffer 6 pass (1) but not (2): one item short
 * of min_size, the batch would overshoot max_diff and sampling has not started. */
static void test_refused_config_would_deadlock_in_warmup(void **state)
{
    (void)state;
    ratelimiter_config_t c = base_config();
    c.min_size_to_sample = 100;
    c.max_insert_batch = 10;
    c.max_sample_batch = 1;
    c.error_buffer = 6.0;
    expect_config_error(c, "= 9");
    c.error_buffer = 9.0;
    ratelimiter_t rl;
    assert_int_equal(ratelimiter_init(&rl, &c, err, sizeof err), DQ_OK);
    rl.max_diff = 100.0 + 6.0;
    rl.min_diff = 100.0 - 6.0;
    for (int i = 0; i < 99; i++) assert_int_equal(ratelimiter_insert(&rl, 1), DQ_OK);
    assert_false(ratelimiter_can_insert(&rl, 10));
    assert_false(ratelimiter_can_sample(&rl, 1));
    rl.max_diff = 100.0 + 9.0;
    assert_true(ratelimiter_can_insert(&rl, 10));
}

static void test_prefill_then_enable(void **state)
{
    (void)state;
    ratelimiter_config_t c = base_config();
    c.samples_per_insert = 8.0;
    c.max_insert_batch = 64;
    c.error_buffer = ratelimiter_min_error_buffer(&c);
    c.enabled = false;
    ratelimiter_t rl;
    assert_int_equal(ratelimiter_init(&rl, &c, err, sizeof err), DQ_OK);
    assert_true(ratelimiter_can_sample(&rl, 1)); /* disabled: everything goes */
    for (int i = 0; i < 5000 / 50; i++) assert_int_equal(ratelimiter_insert(&rl, 50), DQ_OK);
    assert_int_equal(ratelimiter_sample(&rl, 7), DQ_OK);
    ratelimiter_set_enabled(&rl, true);
    assert_true(ratelimiter_diff(&rl) == 1000.0 * 8.0); /* the centre */
    assert_true(ratelimiter_can_insert(&rl, 1));
    assert_true(ratelimiter_can_sample(&rl, 256));
    assert_int_equal(rl.inserts, 5000); /* the counters themselves are kept */
    assert_int_equal(rl.samples, 7);
    /* Re-enabling while enabled does not move anything. */
    assert_int_equal(ratelimiter_sample(&rl, 3), DQ_OK);
    ratelimiter_set_enabled(&rl, true);
    assert_true(ratelimiter_diff(&rl) == 8000.0 - 3.0);
    /* Pre-filled below min_size: still warming up, no sampling. */
    c.enabled = false;
    assert_int_equal(ratelimiter_init(&rl, &c, err, sizeof err), DQ_OK);
    assert_int_equal(ratelimiter_insert(&rl, 10), DQ_OK);
    ratelimiter_set_enabled(&rl, true);
    assert_true(ratelimiter_diff(&rl) == 80.0);
    assert_false(ratelimiter_can_sample(&rl, 1));
    assert_int_equal(ratelimiter_delete(&rl, 11), DQ_ERANGE);
    assert_int_equal(ratelimiter_insert(&rl, 0), DQ_ERANGE);
    assert_int_equal(ratelimiter_sample(&rl, 257), DQ_ERANGE);
}

/* A ratio that is not a dyadic fraction: a long alternation at exactly the
 * target ratio never waits on either side, despite I * 0.1 being inexact. */
static void test_inexact_ratio_steady_state(void **state)
{
    (void)state;
    ratelimiter_config_t c = base_config();
    c.samples_per_insert = 0.1;
    c.max_sample_batch = 1;
    c.error_buffer = 1.0;
    ratelimiter_t rl;
    assert_int_equal(ratelimiter_init(&rl, &c, err, sizeof err), DQ_OK);
    for (int i = 0; i < 1000; i++) assert_int_equal(ratelimiter_insert(&rl, 1), DQ_OK);
    for (int round = 0; round < 200000; round++) {
        for (int i = 0; i < 10; i++) assert_int_equal(ratelimiter_insert(&rl, 1), DQ_OK);
        assert_int_equal(ratelimiter_sample(&rl, 1), DQ_OK);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_counter_model),
        cmocka_unit_test(test_bad_configs_refused),
        cmocka_unit_test(test_refused_config_would_deadlock_after_warmup),
        cmocka_unit_test(test_refused_config_would_deadlock_in_warmup),
        cmocka_unit_test(test_prefill_then_enable),
        cmocka_unit_test(test_inexact_ratio_steady_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
