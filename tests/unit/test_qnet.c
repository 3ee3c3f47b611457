/* test_qnet.c - the Q-network: forward against hand-computed values and a
 * double-precision reference, every gradient against central finite
 * differences, Adam against a hand computation, gradient clipping, the
 * checkpoint file (round trip and every refusal) and the WEIGHTS view. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "blasenv.h"
#include "err.h"
#include "fileio.h"
#include "qnet.h"
#include "rng.h"

static char why[512];

static const char *tmp_path(const char *tag)
{
    static char path[4][96];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "/tmp/dqnlm-test-qnet-%d-%s.bin", (int)getpid(), tag);
    return path[k];
}

/* The same network in double with plain loops, parameters taken from p
 * (layout of qnet.h); returns sum_ij w_ij q_ij and optionally fills q. */
static double ref_loss(const dq_qnet_t *net, const double *p, const float *x, int B, const float *w,
                       double *q_out)
{
    double loss = 0.0;
    for (int r = 0; r < B; r++) {
        double a[64], z[64];
        int in = net->sizes[0];
        for (int i = 0; i < in; i++) a[i] = x[(size_t)r * in + i];
        size_t off = 0;
        for (int l = 0; l < net->n_layers; l++) {
            int out = net->sizes[l + 1];
            const double *W = p + off, *b = p + off + (size_t)in * out;
            for (int j = 0; j < out; j++) {
                double s = b[j];
                for (int i = 0; i < in; i++) s += a[i] * W[(size_t)i * out + j];
                z[j] = (l < net->n_layers - 1 && s < 0.0) ? 0.0 : s;
            }
            off += (size_t)in * out + out;
            memcpy(a, z, sizeof(double) * out);
            in = out;
        }
        if (net->dueling) { /* Q_j = V + A_j - mean(A) */
            double mean = 0.0;
            for (int j = 1; j < in; j++) mean += a[j];
            mean /= in - 1;
            double v = a[0];
            for (int j = 0; j < in - 1; j++) a[j] = v + a[j + 1] - mean;
            in--;
        }
        for (int j = 0; j < in; j++) {
            loss += w[(size_t)r * in + j] * a[j];
            if (q_out) q_out[(size_t)r * in + j] = a[j];
        }
    }
    return loss;
}

static void fill_uniform(float *a, size_t n, dq_rng_t *rng)
{
    for (size_t i = 0; i < n; i++) a[i] = (float)(2.0 * dq_rng_uniform(rng) - 1.0);
}

static void test_init_he_uniform(void **state)
{
    (void)state;
    dq_rng_t rng;
    dq_rng_seed(&rng, 1);
    dq_qnet_t a, b;
    int sizes[] = {16, 32, 5};
    assert_int_equal(dq_qnet_init(&a, sizes, 2, &rng), DQ_OK);
    dq_rng_seed(&rng, 1);
    assert_int_equal(dq_qnet_init(&b, sizes, 2, &rng), DQ_OK);
    assert_int_equal(a.n_params, 16 * 32 + 32 + 32 * 5 + 5);
    assert_memory_equal(a.params, b.params, a.n_params * sizeof(float));
    /* Layout: W0, b0, W1, b1, contiguous. */
    assert_ptr_equal(a.W[0], a.params);
    assert_ptr_equal(a.b[0], a.params + 16 * 32);
    assert_ptr_equal(a.W[1], a.params + 16 * 32 + 32);
    assert_ptr_equal(a.db[1], a.grads + 16 * 32 + 32 + 32 * 5);
    for (int l = 0; l < 2; l++) {
        float lim = sqrtf(6.0f / sizes[l]);
        double sum_abs = 0.0;
        for (int i = 0; i < sizes[l] * sizes[l + 1]; i++) {
            assert_true(fabsf(a.W[l][i]) <= lim);
            sum_abs += fabsf(a.W[l][i]);
        }
        /* E|U(-lim, lim)| = lim / 2 */
        assert_true(fabs(sum_abs / (sizes[l] * sizes[l + 1]) - lim / 2) < 0.15 * lim);
        for (int j = 0; j < sizes[l + 1]; j++) assert_true(a.b[l][j] == 0.0f);
    }
    for (size_t i = 0; i < a.n_params; i++) assert_true(a.m[i] == 0.0f && a.v[i] == 0.0f);
    dq_qnet_free(&a);
    dq_qnet_free(&b);
    dq_qnet_free(&b); /* twice is safe */
}

static void test_init_refuses(void **state)
{
    (void)state;
    dq_rng_t rng;
    dq_rng_seed(&rng, 2);
    dq_qnet_t n;
    int bad0[] = {4, 0, 2};
    int big[] = {4, DQ_QNET_MAX_WIDTH + 1, 2};
    int ok[] = {4, 8, 2, 2, 2, 2, 2, 2, 2, 2};
    assert_int_equal(dq_qnet_init(&n, bad0, 2, &rng), DQ_EINVAL);
    assert_null(n.params);
    assert_int_equal(dq_qnet_init(&n, big, 2, &rng), DQ_EINVAL);
    assert_int_equal(dq_qnet_init(&n, ok, 0, &rng), DQ_EINVAL);
    assert_int_equal(dq_qnet_init(&n, ok, DQ_QNET_MAX_LAYERS + 1, &rng), DQ_EINVAL);
    assert_int_equal(dq_qnet_init(&n, ok, DQ_QNET_MAX_LAYERS, &rng), DQ_OK);
    dq_qnet_ws_t ws;
    assert_int_equal(dq_qnet_ws_init(&ws, &n, 0), DQ_EINVAL);
    assert_int_equal(dq_qnet_ws_init(&ws, &n, 3), DQ_OK);
    float x[4 * 4] = {0}, q[4 * 2];
    assert_int_equal(dq_qnet_forward(&n, &ws, x, 4, q), DQ_EINVAL);
    assert_int_equal(dq_qnet_forward(&n, &ws, x, 0, q), DQ_EINVAL);
    assert_int_equal(dq_qnet_forward(&n, &ws, x, 3, q), DQ_OK);
    assert_int_equal(dq_qnet_backward(&n, &ws, q, 4), DQ_EINVAL);
    dq_qnet_ws_free(&ws);
    dq_qnet_free(&n);
}

/* sizes {2, 2, 1}, W0 = [[1, -1], [2, 1]], b0 = [0.5, -3], W1 = [[2], [7]],
 * b1 = 0.25.  x = (1, 2): pre = (1 + 4 + 0.5, -1 + 2 - 3) = (5.5, -2),
 * relu (5.5, 0), q = 2 * 5.5 + 0.25 = 11.25.  x = (-1, 0): pre = (-0.5, -2),
 * relu (0, 0), q = 0.25.  x = (0, 1): pre = (2.5, -2), q = 5.25. */
static void test_forward_by_hand(void **state)
{
    (void)state;
    dq_rng_t rng;
    dq_rng_seed(&rng, 3);
    dq_qnet_t n;
    dq_qnet_ws_t ws;
    int sizes[] = {2, 2, 1};
    assert_int_equal(dq_qnet_init(&n, sizes, 2, &rng), DQ_OK);
    assert_int_equal(n.n_params, 9);
    const float p[] = {1, -1, 2, 1, 0.5f, -3, 2, 7, 0.25f};
    memcpy(n.params, p, sizeof p);
    assert_int_equal(dq_qnet_ws_init(&ws, &n, 8), DQ_OK);
    const float x[] = {1, 2, -1, 0, 0, 1};
    float q[3];
    assert_int_equal(dq_qnet_forward(&n, &ws, x, 3, q), DQ_OK);
    assert_true(q[0] == 11.25f);
    assert_true(q[1] == 0.25f);
    assert_true(q[2] == 5.25f);
    /* Backward of L = sum q by hand: db1 = 3, dW1 = sum of hidden = (5.5 + 2.5, 0);
     * dh (per row) = W1^T = (2, 7) masked by relu: rows 0 and 2 pass unit 0 only.
     * db0 = (2 + 2, 0), dW0[i][0] = 2 * (x0[i] + x2[i]) = (2, 6), dW0[i][1] = 0. */
    float dq[] = {1, 1, 1};
    dq_qnet_zero_grad(&n);
    assert_int_equal(dq_qnet_backward(&n, &ws, dq, 3), DQ_OK);
    const float g[] = {2, 0, 6, 0, 4, 0, 8, 0, 3};
    for (int i = 0; i < 9; i++) assert_true(n.grads[i] == g[i]);
    dq_qnet_ws_free(&ws);
    dq_qnet_free(&n);
}

/* L = sum_ij w_ij q_ij with random w, so dL/dq = w. Analytic float32 grads
 * against central differences of the double-precision reference (h = 1e-5,
 * truncation and rounding error ~1e-9): |analytic - numeric| <= 1e-4 *
 * max(1, |numeric|), a bound float32 accumulation over these sizes meets with
 * a wide margin. The forward itself must match the reference to 1e-5. */
static void check_gradients(int dueling)
{
    dq_rng_t rng;
    dq_rng_seed(&rng, 4);
    int sizes[] = {5, 9, 7, dueling ? 4 : 3}; /* dueling: V + 3 advantages */
    const int B = 6;
    dq_qnet_t n;
    dq_qnet_ws_t ws;
    assert_int_equal(dq_qnet_init(&n, sizes, 3, &rng), DQ_OK);
    assert_int_equal(dq_qnet_set_dueling(&n, dueling), DQ_OK);
    assert_int_equal(dq_qnet_n_actions(&n), 3);
    /* Non-zero biases, so they matter in the check. */
    for (int l = 0; l < 3; l++) fill_uniform(n.b[l], (size_t)sizes[l + 1], &rng);
    for (int l = 0; l < 3; l++)
        for (int j = 0; j < sizes[l + 1]; j++) n.b[l][j] *= 0.3f;
    assert_int_equal(dq_qnet_ws_init(&ws, &n, B), DQ_OK);
    float x[6 * 5], w[6 * 3], q[6 * 3];
    fill_uniform(x, sizeof x / sizeof x[0], &rng);
    fill_uniform(w, sizeof w / sizeof w[0], &rng);

    double *p = malloc(n.n_params * sizeof(double));
    assert_non_null(p);
    for (size_t i = 0; i < n.n_params; i++) p[i] = n.params[i];
    double qref[6 * 3];
    ref_loss(&n, p, x, B, w, qref);
    assert_int_equal(dq_qnet_forward(&n, &ws, x, B, q), DQ_OK);
    for (int i = 0; i < B * 3; i++) assert_true(fabs(q[i] - qref[i]) <= 1e-5 * (1 + fabs(qref[i])));

    dq_qnet_zero_grad(&n);
    assert_int_equal(dq_qnet_backward(&n, &ws, w, B), DQ_OK);
    const double h = 1e-5;
    double worst = 0.0;
    for (size_t i = 0; i < n.n_params; i++) {
        double keep = p[i];
        p[i] = keep + h;
        double lp = ref_loss(&n, p, x, B, w, NULL);
        p[i] = keep - h;
        double lm = ref_loss(&n, p, x, B, w, NULL);
        p[i] = keep;
        double num = (lp - lm) / (2 * h);
        double err = fabs(n.grads[i] - num) / fmax(1.0, fabs(num));
        if (err > worst) worst = err;
        if (err > 1e-4) fail_msg("param %zu: analytic %.8g numeric %.8g", i, n.grads[i], num);
    }
    assert_true(worst <= 1e-4);

    /* Gradients accumulate with +=. */
    float *g1 = malloc(n.n_params * sizeof(float));
    assert_non_null(g1);
    memcpy(g1, n.grads, n.n_params * sizeof(float));
    assert_int_equal(dq_qnet_backward(&n, &ws, w, B), DQ_OK);
    for (size_t i = 0; i < n.n_params; i++)
        assert_true(fabsf(n.grads[i] - 2 * g1[i]) <= 1e-6f * (1 + fabsf(g1[i])));
    free(g1);
    free(p);
    dq_qnet_ws_free(&ws);
    dq_qnet_free(&n);
}

static void test_gradients_finite_differences(void **state)
{
    (void)state;
    check_gradients(0);
}

/* The dueling head, Q = V + A - mean(A), through the same check. */
static void test_dueling_gradients(void **state)
{
    (void)state;
    check_gradients(1);
}

/* lr 0.1, betas (0.9, 0.999), eps 1e-8, p = (1, -2).
 * t = 1, g = (0.5, -0.1): m = (0.05, -0.01), v = (2.5e-4, 1e-5), m^ = g,
 *   v^ = g^2, so each parameter moves by lr * sign(g): p = (0.9, -1.9).
 * t = 2, g = (0.5, 0.2): m = (0.095, 0.011), v = (4.9975e-4, 4.999e-5);
 *   m^ = m / 0.19 = (0.5, 0.0578947), v^ = v / 0.001999 = (0.25, 0.0250075),
 *   step = 0.1 * m^ / sqrt(v^) = (0.1, 0.0366104): p = (0.8, -1.9366104).
 * Tolerances: v to 1e-4 relative, as 1 - 0.999f is itself off by 1.3e-5
 * relative in float32; m and p to ~1e-6 absolute. */
static void test_adam_by_hand(void **state)
{
    (void)state;
    dq_adam_t adam = {.lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    float p[2] = {1.0f, -2.0f}, m[2] = {0}, v[2] = {0};
    float g1[2] = {0.5f, -0.1f}, g2[2] = {0.5f, 0.2f};
    dq_adam_step(p, g1, m, v, 2, &adam, 1);
    assert_float_equal(m[0], 0.05, 1e-7);
    assert_float_equal(m[1], -0.01, 1e-7);
    assert_float_equal(v[0], 2.5e-4, 2.5e-8);
    assert_float_equal(v[1], 1e-5, 1e-9);
    assert_float_equal(p[0], 0.9, 1e-6);
    assert_float_equal(p[1], -1.9, 1e-6);
    dq_adam_step(p, g2, m, v, 2, &adam, 2);
    assert_float_equal(m[0], 0.095, 1e-7);
    assert_float_equal(m[1], 0.011, 1e-7);
    assert_float_equal(v[0], 4.9975e-4, 5e-8);
    assert_float_equal(v[1], 4.999e-5, 5e-9);
    assert_float_equal(p[0], 0.8, 1e-5);
    assert_float_equal(p[1], -1.9366104, 1e-5);
}

static void test_clip_grad(void **state)
{
    (void)state;
    dq_rng_t rng;
    dq_rng_seed(&rng, 5);
    int sizes[] = {3, 4, 2};
    dq_qnet_t n;
    assert_int_equal(dq_qnet_init(&n, sizes, 2, &rng), DQ_OK);
    dq_qnet_zero_grad(&n);
    n.grads[0] = 3.0f;
    n.grads[n.n_params - 1] = -4.0f;
    /* No clip when max_norm is 0 or above the norm. */
    assert_float_equal(dq_qnet_clip_grad(&n, 0.0f), 5.0, 1e-6);
    assert_float_equal(dq_qnet_clip_grad(&n, 10.0f), 5.0, 1e-6);
    assert_true(n.grads[0] == 3.0f && n.grads[n.n_params - 1] == -4.0f);
    /* Scaled to norm 1, direction kept. */
    assert_float_equal(dq_qnet_clip_grad(&n, 1.0f), 5.0, 1e-6);
    assert_float_equal(n.grads[0], 0.6, 1e-6);
    assert_float_equal(n.grads[n.n_params - 1], -0.8, 1e-6);
    for (size_t i = 1; i + 1 < n.n_params; i++) assert_true(n.grads[i] == 0.0f);
    assert_float_equal(dq_qnet_clip_grad(&n, 0.0f), 1.0, 1e-6);
    /* Random grads: the clipped norm is max_norm. */
    fill_uniform(n.grads, n.n_params, &rng);
    float before = dq_qnet_clip_grad(&n, 0.5f);
    assert_true(before > 0.5f);
    assert_float_equal(dq_qnet_clip_grad(&n, 0.0f), 0.5, 1e-5);
    /* A non-finite norm is reported and nothing is scaled. */
    n.grads[1] = INFINITY;
    assert_false(isfinite(dq_qnet_clip_grad(&n, 1.0f)));
    assert_true(isinf(n.grads[1]));
    dq_qnet_free(&n);
}

static void test_copy_and_weights(void **state)
{
    (void)state;
    dq_rng_t rng;
    dq_rng_seed(&rng, 6);
    int sizes[] = {4, 8, 3}, other[] = {4, 9, 3};
    dq_qnet_t a, b, c;
    assert_int_equal(dq_qnet_init(&a, sizes, 2, &rng), DQ_OK);
    assert_int_equal(dq_qnet_init(&b, sizes, 2, &rng), DQ_OK);
    assert_int_equal(dq_qnet_init(&c, other, 2, &rng), DQ_OK);
    fill_uniform(a.b[0], 8, &rng);

    dq_weights_t w;
    dq_qnet_to_weights(&a, 7, 99, &w);
    assert_int_equal(w.version, 7);
    assert_int_equal(w.step, 99);
    assert_int_equal(w.n_layers, 2);
    assert_int_equal(w.shape[0][0], 4);
    assert_int_equal(w.shape[0][1], 8);
    assert_int_equal(w.shape[1][0], 8);
    assert_int_equal(w.shape[1][1], 3);
    assert_int_equal(w.n_floats, a.n_params);
    assert_ptr_equal(w.blob, a.params); /* a view, no copy */

    assert_int_equal(dq_qnet_from_weights(&b, &w), DQ_OK);
    assert_memory_equal(a.params, b.params, a.n_params * sizeof(float));

    float *keep = malloc(c.n_params * sizeof(float));
    assert_non_null(keep);
    memcpy(keep, c.params, c.n_params * sizeof(float));
    assert_int_equal(dq_qnet_from_weights(&c, &w), DQ_ESHAPE);
    dq_weights_t bad = w;
    bad.n_floats--;
    assert_int_equal(dq_qnet_from_weights(&b, &bad), DQ_ESHAPE);
    bad = w;
    bad.n_layers = 3;
    assert_int_equal(dq_qnet_from_weights(&b, &bad), DQ_ESHAPE);
    bad = w;
    bad.blob = NULL;
    assert_int_equal(dq_qnet_from_weights(&b, &bad), DQ_EINVAL);
    assert_int_equal(dq_qnet_copy_params(&c, &a), DQ_ESHAPE);
    assert_memory_equal(keep, c.params, c.n_params * sizeof(float));
    free(keep);

    dq_rng_seed(&rng, 60);
    dq_qnet_free(&b);
    assert_int_equal(dq_qnet_init(&b, sizes, 2, &rng), DQ_OK);
    assert_int_equal(dq_qnet_copy_params(&b, &a), DQ_OK);
    assert_memory_equal(a.params, b.params, a.n_params * sizeof(float));
    dq_qnet_free(&a);
    dq_qnet_free(&b);
    dq_qnet_free(&c);
}

static int write_bytes(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(d, 1, n, f);
    fclose(f);
    return w == n ? 0 : -1;
}

static void test_save_load(void **state)
{
    (void)state;
    dq_rng_t rng;
    dq_rng_seed(&rng, 7);
    int sizes[] = {6, 10, 10, 4};
    dq_qnet_t a, b;
    assert_int_equal(dq_qnet_init(&a, sizes, 3, &rng), DQ_OK);
    fill_uniform(a.b[1], 10, &rng);
    a.params[3] = -0.0f; /* bit patterns survive, sign of zero included */
    a.params[4] = 1e-40f;
    const char *p1 = tmp_path("a"), *p2 = tmp_path("b");
    assert_int_equal(dq_qnet_save(&a, p1), DQ_OK);
    assert_int_equal(dq_qnet_load(&b, p1, why, sizeof why), DQ_OK);
    assert_int_equal(b.n_layers, 3);
    for (int l = 0; l <= 3; l++) assert_int_equal(b.sizes[l], sizes[l]);
    assert_int_equal(b.n_params, a.n_params);
    assert_memory_equal(a.params, b.params, a.n_params * sizeof(float));
    assert_ptr_equal(b.b[2], b.params + (6 * 10 + 10) + (10 * 10 + 10) + 10 * 4);
    for (size_t i = 0; i < b.n_params; i++) assert_true(b.grads[i] == 0.0f && b.m[i] == 0.0f);

    /* Saving the loaded net gives the same bytes. */
    assert_int_equal(dq_qnet_save(&b, p2), DQ_OK);
    void *d1, *d2;
    size_t n1, n2;
    assert_int_equal(dq_file_read_all(p1, 1 << 20, &d1, &n1, why, sizeof why), DQ_OK);
    assert_int_equal(dq_file_read_all(p2, 1 << 20, &d2, &n2, why, sizeof why), DQ_OK);
    assert_int_equal(n1, 8 + 4 + 4 + 4 + 4 * 4 + 8 + 4 * a.n_params + 4 + 8);
    assert_int_equal(n2, n1);
    assert_memory_equal(d1, d2, n1);
    assert_memory_equal(d1, "DQNQNET1", 8);
    unsigned char *c = d1;
    assert_int_equal(c[8], 3);          /* version, little-endian */
    assert_int_equal(c[12], 0);         /* flags: no dueling head */
    assert_int_equal(c[16], 3);         /* n_layers */
    assert_int_equal(c[20 + 4 * 3], 4); /* sizes[3] */
    free(d2);
    dq_qnet_free(&b);

    /* Every refusal leaves *net zeroed. */
    struct {
        const char *name;
        size_t len;
        size_t flip; /* byte to change, or SIZE_MAX */
        unsigned char val;
        int rc;
        const char *words;
    } cases[] = {
        {"truncated params", n1 - 5, SIZE_MAX, 0, DQ_EFORMAT, "truncated"},
        {"truncated header", 20, SIZE_MAX, 0, DQ_EFORMAT, "truncated"},
        {"tiny", 3, SIZE_MAX, 0, DQ_EFORMAT, "truncated"},
        {"flipped param byte", n1, 8 + 4 + 4 + 4 + 16 + 8 + 17, 0, DQ_ECHECKSUM, "checksum"},
        {"flipped checksum byte", n1, n1 - 1, 0, DQ_ECHECKSUM, "checksum"},
        {"wrong magic", n1, 7, '2', DQ_EFORMAT, "magic"},
        {"wrong version", n1, 8, 1, DQ_EFORMAT, "version"},
        {"huge description", n1, n1 - 9, 0x7f, DQ_EFORMAT, "description"},
        {"unknown flag", n1, 12, 4, DQ_EFORMAT, "flags"},
        {"too many layers", n1, 16, 0, DQ_EFORMAT, "sizes inconsistent"},
        {"bad n_params", n1, 8 + 4 + 4 + 4 + 16, 0, DQ_EFORMAT, "sizes inconsistent"},
        {"trailing byte", n1 + 1, SIZE_MAX, 0, DQ_EFORMAT, "trailing"},
    };
    unsigned char *buf = calloc(n1 + 1, 1);
    assert_non_null(buf);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        memcpy(buf, d1, n1);
        buf[n1] = 0;
        if (cases[k].flip != SIZE_MAX) {
            if (cases[k].val)
                buf[cases[k].flip] = cases[k].val;
            else
                buf[cases[k].flip] ^= 0x5a;
        }
        assert_int_equal(write_bytes(p2, buf, cases[k].len), 0);
        memset(&b, 0xab, sizeof b);
        why[0] = '\0';
        int rc = dq_qnet_load(&b, p2, why, sizeof why);
        if (rc != cases[k].rc || !strstr(why, cases[k].words))
            fail_msg("%s: rc %s, why \"%s\"", cases[k].name, dq_errname(rc), why);
        assert_null(b.params);
        assert_int_equal(b.n_params, 0);
        dq_qnet_free(&b);
    }
    free(buf);
    free(d1);
    assert_int_equal(dq_qnet_load(&b, "/nonexistent/dir/q.bin", why, sizeof why), DQ_EIO);
    assert_null(b.params);
    /* Saving into a missing directory fails cleanly. */
    assert_int_equal(dq_qnet_save(&a, "/nonexistent/dir/q.bin"), DQ_EIO);
    unlink(p1);
    unlink(p2);
    dq_qnet_free(&a);
}

static void test_blas_single_thread(void **state)
{
    (void)state;
    dq_blas_single_thread(); /* must not crash whatever the environment says */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_he_uniform),
        cmocka_unit_test(test_init_refuses),
        cmocka_unit_test(test_forward_by_hand),
        cmocka_unit_test(test_gradients_finite_differences),
        cmocka_unit_test(test_dueling_gradients),
        cmocka_unit_test(test_adam_by_hand),
        cmocka_unit_test(test_clip_grad),
        cmocka_unit_test(test_copy_and_weights),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_blas_single_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
