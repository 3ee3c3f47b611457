/* test_nstep.c - n-step transition assembly against hand-computed returns,
 * at termination (no bootstrap) and at truncation (bootstrap with gamma^m for
 * the m steps actually in the window). Observations are the step index, so
 * every transition's obs and next_obs name the steps it spans. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "nstep.h"
#include "wire.h"

typedef struct {
    float obs, reward, discount, next_obs;
    int action;
} want_t;

static void check(const dq_batch_t *b, uint32_t from, const want_t *w, int n)
{
    assert_int_equal(b->count, from + (uint32_t)n);
    for (int i = 0; i < n; i++) {
        uint32_t k = from + (uint32_t)i;
        assert_float_equal(b->obs[k], w[i].obs, 0);
        assert_float_equal(b->next_obs[k], w[i].next_obs, 0);
        assert_float_equal(b->reward[k], w[i].reward, 1e-6);
        assert_float_equal(b->discount[k], w[i].discount, 1e-7);
        assert_int_equal(b->action[k], w[i].action);
        /* epsilon and version travel with the step that chose the action */
        assert_float_equal(b->epsilon[k], 0.01f * w[i].obs, 1e-7);
        assert_int_equal(b->version[k], 100 + (int)w[i].obs);
    }
}

/* Steps s = first..first+len-1 with reward r[s - first]; obs = s, next = s + 1,
 * action = s % 3. The last step ends the episode as end_kind says (0 = no). */
static int run(nstep_t *ns, dq_batch_t *b, float first, const float *r, int len, int end_kind)
{
    int emitted = 0;
    for (int i = 0; i < len; i++) {
        float s = first + (float)i, next = s + 1;
        int last = i == len - 1;
        emitted += nstep_push(ns, &s, (int)s % 3, 0.01f * s, 100 + (uint32_t)s, r[i], &next,
                              last && end_kind == 1, last && end_kind == 2, b);
    }
    return emitted;
}

static void test_terminate_and_truncate(void **state)
{
    (void)state;
    dq_batch_t b;
    assert_int_equal(dq_batch_alloc(&b, 64, 1, 0), DQ_OK);
    b.count = 0;
    nstep_t ns;
    assert_int_equal(nstep_init(&ns, 3, 0.5f, 1), DQ_OK);
    const float r[5] = {1, 2, 3, 4, 5};

    /* Episode of 5 steps that terminates: two full windows, then three closed
     * at the terminal with discount 0.
     *   t0: 1 + .5*2 + .25*3 = 2.75, gamma^3 = .125, next = 3
     *   t1: 2 + .5*3 + .25*4 = 4.5,  .125, next = 4
     *   t2: 3 + .5*4 + .25*5 = 6.25, 0 (terminal), next = 5
     *   t3: 4 + .5*5 = 6.5, 0;  t4: 5, 0 */
    assert_int_equal(run(&ns, &b, 0, r, 5, 1), 5);
    const want_t term[5] = {{0, 2.75f, 0.125f, 3, 0},
                            {1, 4.5f, 0.125f, 4, 1},
                            {2, 6.25f, 0, 5, 2},
                            {3, 6.5f, 0, 5, 0},
                            {4, 5, 0, 5, 1}};
    check(&b, 0, term, 5);

    /* The same rewards cut by a time limit: the last windows bootstrap from
     * the final observation with gamma^m, m = 3, 2, 1. */
    assert_int_equal(run(&ns, &b, 10, r, 5, 2), 5);
    const want_t trunc[5] = {{10, 2.75f, 0.125f, 13, 1},
                             {11, 4.5f, 0.125f, 14, 2},
                             {12, 6.25f, 0.125f, 15, 0},
                             {13, 6.5f, 0.25f, 15, 1},
                             {14, 5, 0.5f, 15, 2}};
    check(&b, 5, trunc, 5);

    /* An episode shorter than n: terminated after 2 steps, truncated after 1. */
    assert_int_equal(run(&ns, &b, 20, r, 2, 1), 2);
    const want_t short_term[2] = {{20, 2, 0, 22, 2}, {21, 2, 0, 22, 0}};
    check(&b, 10, short_term, 2);
    assert_int_equal(run(&ns, &b, 30, r + 3, 1, 2), 1);
    const want_t short_trunc[1] = {{30, 4, 0.5f, 31, 0}};
    check(&b, 12, short_trunc, 1);

    /* An unfinished episode keeps its last n-1 steps pending. */
    assert_int_equal(run(&ns, &b, 40, r, 4, 0), 2);
    assert_int_equal(ns.len, 2);
    /* ... and closes them as a truncation when the actor stops: steps 42, 43
     * with rewards 3, 4 bootstrap from obs 44 with gamma^2 and gamma. */
    float last = 44;
    assert_int_equal(nstep_truncate(&ns, &last, &b), 2);
    const want_t stop[2] = {{42, 3 + 0.5f * 4, 0.25f, 44, 0}, {43, 4, 0.5f, 44, 1}};
    check(&b, 15, stop, 2);
    assert_int_equal(nstep_truncate(&ns, &last, &b), 0);
    nstep_free(&ns);
    dq_batch_free(&b);
}

static void test_one_step(void **state)
{
    (void)state;
    dq_batch_t b;
    assert_int_equal(dq_batch_alloc(&b, 8, 1, 0), DQ_OK);
    b.count = 0;
    nstep_t ns;
    assert_int_equal(nstep_init(&ns, 1, 0.9f, 1), DQ_OK);
    const float r[3] = {1, 0, 2};
    assert_int_equal(run(&ns, &b, 0, r, 3, 1), 3);
    const want_t w[3] = {{0, 1, 0.9f, 1, 0}, {1, 0, 0.9f, 2, 1}, {2, 2, 0, 3, 2}};
    check(&b, 0, w, 3);
    nstep_free(&ns);
    assert_int_equal(nstep_init(&ns, 0, 0.9f, 1), DQ_EINVAL);
    dq_batch_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_terminate_and_truncate),
        cmocka_unit_test(test_one_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
