/* test_dqn.c - dqn_loss_grad (learner/dqn.c): the gradient of the double-DQN
 * n-step Huber loss against finite differences, the double-DQN target by hand
 * where the online and target argmax at s' differ, the Huber gradient on both
 * sides of delta, importance weights, the discount column, and a dueling net
 * (Q-values n_actions per row, one output more) trained through it. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "blasenv.h"
#include "dqn.h"
#include "err.h"
#include "qnet.h"
#include "rng.h"
#include "wire.h"

/* Online and target nets of one shape, their workspace and a batch. */
typedef struct {
    dq_qnet_t online, target;
    dqn_work_t work;
    dq_batch_t b;
} fixture_t;

static void fx_init(fixture_t *f, const int *sizes, int n_layers, int dueling, int B, uint64_t seed)
{
    dq_rng_t rng;
    dq_rng_seed(&rng, seed);
    assert_int_equal(dq_qnet_init(&f->online, sizes, n_layers, &rng), DQ_OK);
    assert_int_equal(dq_qnet_init(&f->target, sizes, n_layers, &rng), DQ_OK);
    assert_int_equal(dq_qnet_set_dueling(&f->online, dueling), DQ_OK);
    assert_int_equal(dq_qnet_set_dueling(&f->target, dueling), DQ_OK);
    assert_int_equal(dqn_work_init(&f->work, &f->online, B), DQ_OK);
    assert_int_equal(dq_batch_alloc(&f->b, (uint32_t)B, (uint32_t)sizes[0], 0), DQ_OK);
    f->b.count = (uint32_t)B;
    const int D = sizes[0], A = dq_qnet_n_actions(&f->online);
    for (int i = 0; i < B; i++) {
        for (int k = 0; k < D; k++) {
            f->b.obs[i * D + k] = (float)(2.0 * dq_rng_uniform(&rng) - 1.0);
            f->b.next_obs[i * D + k] = (float)(2.0 * dq_rng_uniform(&rng) - 1.0);
        }
        f->b.action[i] = i % A;
        f->b.reward[i] = (float)(2.0 * dq_rng_uniform(&rng) - 1.0);
        f->b.discount[i] = i == 0 ? 0.0f : 0.81f; /* item 0 terminal */
    }
}

static void fx_free(fixture_t *f)
{
    dqn_work_free(&f->work);
    dq_qnet_free(&f->online);
    dq_qnet_free(&f->target);
    dq_batch_free(&f->b);
}

/* Zeroes the grads, runs dqn_loss_grad and returns the normalised loss. */
static double run(fixture_t *f, const float *w, float delta, float norm, float *td)
{
    dqn_stats_t st;
    dq_qnet_zero_grad(&f->online);
    dqn_loss_grad(&f->online, &f->target, &f->work, &f->b, w, delta, norm, td, &st);
    assert_true(st.invalid == 0);
    return st.loss_sum / norm;
}

/* The smallest gap between the best and second-best online Q(s', .) over
 * the batch: a perturbation smaller than it cannot move the double-DQN argmax,
 * where the loss jumps (the target y is piecewise constant in the online
 * parameters). */
static double argmax_margin(fixture_t *f)
{
    const int B = (int)f->b.count, A = dq_qnet_n_actions(&f->online);
    float q[64];
    dq_qnet_ws_t ws;
    assert_int_equal(dq_qnet_ws_init(&ws, &f->online, B), DQ_OK);
    assert_int_equal(dq_qnet_forward(&f->online, &ws, f->b.next_obs, B, q), DQ_OK);
    double margin = INFINITY;
    for (int i = 0; i < B; i++) {
        double best = -INFINITY, second = -INFINITY;
        for (int a = 0; a < A; a++) {
            double v = q[i * A + a];
            if (v > best)
                second = best, best = v;
            else if (v > second)
                second = v;
        }
        if (best - second < margin) margin = best - second;
    }
    dq_qnet_ws_free(&ws);
    return margin;
}

/* Central differences of the loss against the gradient, every parameter. */
static void check_fd(int dueling)
{
    const int A = 3, sizes[] = {4, 8, A + (dueling ? 1 : 0)};
    const float w[] = {1.0f, 0.5f, 2.0f, 1.0f, 0.25f, 1.5f};
    fixture_t f;
    fx_init(&f, sizes, 2, dueling, 6, 41 + (uint64_t)dueling);
    const float delta = 0.6f, norm = 8.0f, eps = 1e-3f;
    assert_true(argmax_margin(&f) > 0.05); /* eps moves no Q-value that far */
    run(&f, w, delta, norm, NULL);
    size_t n = f.online.n_params;
    float *grad = malloc(n * sizeof *grad);
    assert_non_null(grad);
    memcpy(grad, f.online.grads, n * sizeof *grad);
    for (size_t i = 0; i < n; i++) {
        float keep = f.online.params[i];
        f.online.params[i] = keep + eps;
        double up = run(&f, w, delta, norm, NULL);
        f.online.params[i] = keep - eps;
        double down = run(&f, w, delta, norm, NULL);
        f.online.params[i] = keep;
        double num = (up - down) / (2.0 * eps), err = fabs(num - grad[i]);
        if (err > 2e-3 + 2e-2 * fabs(num))
            fail_msg("param %zu: analytic %g, finite difference %g", i, (double)grad[i], num);
    }
    free(grad);
    fx_free(&f);
}

static void test_gradient_fd(void **state)
{
    (void)state;
    check_fd(0);
}

/* A linear net (one dense layer, 2 -> 2) whose Q-values are its biases
 * when W = 0, so every quantity is known by hand. */
static void linear(fixture_t *f, const float *b_online, const float *b_target)
{
    const int sizes[] = {2, 2};
    fx_init(f, sizes, 1, 0, 1, 5);
    memset(f->online.params, 0, f->online.n_params * sizeof(float));
    memset(f->target.params, 0, f->target.n_params * sizeof(float));
    memcpy(f->online.b[0], b_online, 2 * sizeof(float));
    memcpy(f->target.b[0], b_target, 2 * sizeof(float));
    f->b.obs[0] = 1.0f, f->b.obs[1] = -2.0f;
}

static void test_double_dqn_target(void **state)
{
    (void)state;
    fixture_t f;
    /* Online argmax at s' is action 0, the target's is action 1: y takes
     * Q_target(s', 0) = 5, not max Q_target(s') = 10. */
    linear(&f, (const float[]){1.0f, 0.0f}, (const float[]){5.0f, 10.0f});
    f.b.reward[0] = 0.5f;
    f.b.discount[0] = 0.9f;
    float td;
    f.b.action[0] = 1; /* q = 0, y = 0.5 + 0.9 * 5 = 5 */
    run(&f, NULL, 100.0f, 1.0f, &td);
    assert_float_equal(td, -5.0f, 1e-6);
    f.b.action[0] = 0; /* q = 1 */
    run(&f, NULL, 100.0f, 1.0f, &td);
    assert_float_equal(td, -4.0f, 1e-6);
    /* Swap the online preference: now a* = 1 and y = 0.5 + 0.9 * 10. */
    f.online.b[0][1] = 2.0f;
    run(&f, NULL, 100.0f, 1.0f, &td);
    assert_float_equal(td, 1.0f - 9.5f, 1e-5);
    fx_free(&f);
}

/* td = q - y with y = r (terminal); the gradient w.r.t. the bias of the
 * taken action is huber'(td), w.r.t. its weights obs * huber'(td). */
static void huber_case(float td_want, float want_grad, double want_loss)
{
    fixture_t f;
    linear(&f, (const float[]){0.0f, 0.0f}, (const float[]){7.0f, 7.0f});
    f.b.action[0] = 0;
    f.b.reward[0] = -td_want;
    f.b.discount[0] = 0.0f;
    float td;
    double loss = run(&f, NULL, 1.0f, 1.0f, &td);
    assert_float_equal(td, td_want, 1e-6);
    assert_float_equal(loss, want_loss, 1e-6);
    assert_float_equal(f.online.db[0][0], want_grad, 1e-6);
    assert_float_equal(f.online.db[0][1], 0.0f, 0);
    assert_float_equal(f.online.dW[0][0], 1.0f * want_grad, 1e-6);  /* W (in, out): [0][0] */
    assert_float_equal(f.online.dW[0][2], -2.0f * want_grad, 1e-6); /* [1][0] */
    assert_float_equal(f.online.dW[0][1], 0.0f, 0);
    fx_free(&f);
}

static void test_huber(void **state)
{
    (void)state;
    huber_case(3.0f, 1.0f, 2.5); /* +3 delta: the gradient is +delta, loss delta(|td| - delta/2) */
    huber_case(-3.0f, -1.0f, 2.5); /* -3 delta: -delta */
    huber_case(0.5f, 0.5f, 0.125); /* inside delta: td, loss td^2 / 2 */
    huber_case(-0.25f, -0.25f, 0.03125);
}

static void test_importance_weights(void **state)
{
    (void)state;
    const int sizes[] = {3, 5, 2};
    fixture_t f;
    fx_init(&f, sizes, 2, 0, 2, 77);
    size_t n = f.online.n_params;
    float *g1 = malloc(n * sizeof *g1), *g2 = malloc(n * sizeof *g2);
    assert_non_null(g1);
    assert_non_null(g2);
    double l1 = run(&f, (const float[]){1.0f, 1.0f}, 1.0f, 2.0f, NULL);
    memcpy(g1, f.online.grads, n * sizeof *g1);
    double l_null = run(&f, NULL, 1.0f, 2.0f, NULL); /* NULL weights are ones */
    assert_float_equal(l_null, l1, 0);
    assert_memory_equal(f.online.grads, g1, n * sizeof *g1);
    double l2 = run(&f, (const float[]){2.0f, 2.0f}, 1.0f, 2.0f, NULL);
    assert_float_equal(l2, 2.0 * l1, 1e-9 * fabs(l1));
    double nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        assert_float_equal(f.online.grads[i], 2.0f * g1[i], 1e-6f * fabsf(g1[i]));
        nonzero += fabsf(g1[i]);
    }
    assert_true(nonzero > 0);
    /* Norm: the same batch over norm 4 instead of 2 halves the gradient. */
    run(&f, (const float[]){1.0f, 1.0f}, 1.0f, 4.0f, NULL);
    for (size_t i = 0; i < n; i++) assert_float_equal(f.online.grads[i], 0.5f * g1[i], 1e-6f);
    /* Weight 0 on item 0: the gradient of item 1 alone. */
    run(&f, (const float[]){0.0f, 1.0f}, 1.0f, 2.0f, NULL);
    memcpy(g2, f.online.grads, n * sizeof *g2);
    fixture_t one;
    fx_init(&one, sizes, 2, 0, 1, 77);
    assert_int_equal(dq_qnet_copy_params(&one.online, &f.online), DQ_OK);
    assert_int_equal(dq_qnet_copy_params(&one.target, &f.target), DQ_OK);
    memcpy(one.b.obs, f.b.obs + 3, 3 * sizeof(float));
    memcpy(one.b.next_obs, f.b.next_obs + 3, 3 * sizeof(float));
    one.b.action[0] = f.b.action[1];
    one.b.reward[0] = f.b.reward[1];
    one.b.discount[0] = f.b.discount[1];
    run(&one, NULL, 1.0f, 2.0f, NULL);
    for (size_t i = 0; i < n; i++) assert_float_equal(g2[i], one.online.grads[i], 1e-6f);
    fx_free(&one);
    free(g1);
    free(g2);
    fx_free(&f);
}

static void test_discount(void **state)
{
    (void)state;
    fixture_t f;
    linear(&f, (const float[]){1.0f, 0.0f}, (const float[]){5.0f, 10.0f});
    f.b.action[0] = 0;
    f.b.reward[0] = 0.5f;
    float td;
    f.b.discount[0] = 0.0f; /* terminal: y = r, no bootstrap */
    run(&f, NULL, 100.0f, 1.0f, &td);
    assert_float_equal(td, 1.0f - 0.5f, 1e-6);
    f.b.discount[0] = 0.729f; /* gamma^3 of a 3-step return */
    run(&f, NULL, 100.0f, 1.0f, &td);
    assert_float_equal(td, 1.0f - (0.5f + 0.729f * 5.0f), 1e-5);
    fx_free(&f);
}

/* td_i = Q_online(s_i, a_i) - (r_i + d_i Q_target(s'_i, argmax Q_online(s'_i)))
 * from dq_qnet_forward, row by row with n_actions Q-values per row. */
static void check_td_by_hand(fixture_t *f)
{
    const int B = (int)f->b.count, A = dq_qnet_n_actions(&f->online);
    float q[64], qn[64], qt[64], td[16];
    dq_qnet_ws_t ws;
    assert_int_equal(dq_qnet_ws_init(&ws, &f->online, B), DQ_OK);
    dq_qnet_forward(&f->online, &ws, f->b.obs, B, q);
    dq_qnet_forward(&f->online, &ws, f->b.next_obs, B, qn);
    dq_qnet_forward(&f->target, &ws, f->b.next_obs, B, qt);
    dq_qnet_ws_free(&ws);
    run(f, NULL, 100.0f, 1.0f, td);
    for (int i = 0; i < B; i++) {
        int best = 0;
        for (int a = 1; a < A; a++)
            if (qn[i * A + a] > qn[i * A + best]) best = a;
        float y = f->b.reward[i] + f->b.discount[i] * qt[i * A + best];
        assert_float_equal(td[i], q[i * A + f->b.action[i]] - y, 1e-5);
    }
}

/* The dueling head: Q has n_actions per row while the last layer has one
 * output more; the TD errors are those of the forward pass, the gradient is
 * right and Adam on it fits a fixed batch. */
static void test_dueling(void **state)
{
    (void)state;
    check_fd(1);
    const int sizes[] = {4, 16, 4}; /* V + 3 advantages */
    fixture_t f;
    fx_init(&f, sizes, 2, 1, 6, 99);
    assert_int_equal(dq_qnet_n_actions(&f.online), 3);
    check_td_by_hand(&f);
    for (int i = 0; i < 6; i++) f.b.discount[i] = 0.0f; /* a fixed regression target */
    dq_adam_t adam = {0.01f, 0.9f, 0.999f, 1e-8f};
    double first = run(&f, NULL, 1.0f, 6.0f, NULL), last;
    for (uint64_t t = 1; t <= 300; t++) {
        run(&f, NULL, 1.0f, 6.0f, NULL);
        dq_adam_step(f.online.params, f.online.grads, f.online.m, f.online.v, f.online.n_params,
                     &adam, t);
    }
    last = run(&f, NULL, 1.0f, 6.0f, NULL);
    if (!(last < 1e-4 * first)) fail_msg("dueling loss %g -> %g after 300 steps", first, last);
    fx_free(&f);
}

int main(void)
{
    dq_blas_single_thread();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradient_fd), cmocka_unit_test(test_double_dqn_target),
        cmocka_unit_test(test_huber),       cmocka_unit_test(test_importance_weights),
        cmocka_unit_test(test_discount),    cmocka_unit_test(test_dueling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
