/* test_lm_model.c - the transformer LM: every layer's backward and the whole
 * model's gradient against central finite differences, AdamW against a hand
 * computation, checkpoints (round trip and refusals), and that training on a
 * small repeated text really lowers the loss; the inference-only lm_eval_loss
 * against the training forward.
 *
 * Also the C half of the PyTorch cross-check: `test_lm_model --dump FILE [gemm]` writes
 * a model's config, weights, batch, loss, logits and gradients to FILE for
 * tests/lm_torch_check.py (format described at dump_for_torch()).
 */
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

#include "err.h"
#include "fileio.h"
#include "lm_kernels.h"
#include "lm_model.h"
#include "rng.h"

/* ---- finite-difference helpers ------------------------------------------------------- */

static void fill_normal(float *x, size_t n, dq_rng_t *r, float std)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)dq_rng_normal(r) * std;
}

/* A scalar objective of a layer: sum_i out[i] * R[i] accumulated in double, so
 * that d objective / d out = R is the dout fed to the backward kernel. */
typedef double (*objective_fn)(void *ctx);

static double weighted_sum(const float *out, const float *R, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)out[i] * R[i];
    return s;
}

/* Compares analytic gradient g (n) of param x (n) with central differences of
 * f. Error per element: |g - fd| / (atol + rtol * max(|g|, |fd|)) must be <= 1. */
static void check_grad(const char *name, float *x, const float *g, size_t n, objective_fn f,
                       void *ctx, float h, double atol, double rtol)
{
    double worst = 0.0, worst_abs = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float x0 = x[i];
        x[i] = x0 + h;
        const double fp = f(ctx);
        x[i] = x0 - h;
        const double fm = f(ctx);
        x[i] = x0;
        const double fd = (fp - fm) / (2.0 * (double)h);
        const double err = fabs(g[i] - fd);
        const double tol = atol + rtol * fmax(fabs(g[i]), fabs(fd));
        if (err / tol > worst) worst = err / tol;
        if (err > worst_abs) worst_abs = err;
        if (err > tol)
            print_error("%s[%zu]: analytic %.6g, finite difference %.6g\n", name, i, g[i], fd);
    }
    print_message("  %-10s n=%-5zu max |analytic - fd| = %.2e (%.2f of tolerance)\n", name, n,
                  worst_abs, worst);
    assert_true(worst <= 1.0);
}

/* ---- layernorm ------------------------------------------------------------------------ */

enum { LN_N = 6, LN_C = 10 };
typedef struct {
    float inp[LN_N * LN_C], w[LN_C], b[LN_C], out[LN_N * LN_C], R[LN_N * LN_C];
    float mean[LN_N], rstd[LN_N];
} ln_ctx_t;

static double ln_obj(void *p)
{
    ln_ctx_t *c = p;
    lm_layernorm_forward(c->out, c->mean, c->rstd, c->inp, c->w, c->b, LN_N, LN_C);
    return weighted_sum(c->out, c->R, LN_N * LN_C);
}

static void test_layernorm_backward(void **state)
{
    (void)state;
    dq_rng_t r;
    dq_rng_seed(&r, 1);
    ln_ctx_t c;
    fill_normal(c.inp, LN_N * LN_C, &r, 1.0f);
    fill_normal(c.w, LN_C, &r, 1.0f);
    fill_normal(c.b, LN_C, &r, 1.0f);
    fill_normal(c.R, LN_N * LN_C, &r, 1.0f);
    ln_obj(&c);
    float dinp[LN_N * LN_C] = {0}, dw[LN_C] = {0}, db[LN_C] = {0};
    lm_layernorm_backward(dinp, dw, db, c.R, c.inp, c.w, c.mean, c.rstd, LN_N, LN_C);
    check_grad("ln.inp", c.inp, dinp, LN_N * LN_C, ln_obj, &c, 1e-2f, 1e-3, 1e-2);
    check_grad("ln.w", c.w, dw, LN_C, ln_obj, &c, 1e-2f, 1e-3, 1e-2);
    check_grad("ln.b", c.b, db, LN_C, ln_obj, &c, 1e-2f, 1e-3, 1e-2);
}

/* ---- matmul --------------------------------------------------------------------------- */

enum { MM_N = 5, MM_IC = 7, MM_OC = 4 };
typedef struct {
    float inp[MM_N * MM_IC], w[MM_OC * MM_IC], bias[MM_OC], out[MM_N * MM_OC], R[MM_N * MM_OC];
} mm_ctx_t;

static double mm_obj(void *p)
{
    mm_ctx_t *c = p;
    lm_matmul_forward(c->out, c->inp, c->w, c->bias, MM_N, MM_IC, MM_OC);
    return weighted_sum(c->out, c->R, MM_N * MM_OC);
}

static void test_matmul_backward(void **state)
{
    (void)state;
    dq_rng_t r;
    dq_rng_seed(&r, 2);
    mm_ctx_t c;
    fill_normal(c.inp, MM_N * MM_IC, &r, 1.0f);
    fill_normal(c.w, MM_OC * MM_IC, &r, 1.0f);
    fill_normal(c.bias, MM_OC, &r, 1.0f);
    fill_normal(c.R, MM_N * MM_OC, &r, 1.0f);
    /* forward against a plain triple loop */
    mm_obj(&c);
    for (int n = 0; n < MM_N; n++)
        for (int o = 0; o < MM_OC; o++) {
            double s = c.bias[o];
            for (int i = 0; i < MM_IC; i++) s += (double)c.inp[n * MM_IC + i] * c.w[o * MM_IC + i];
            assert_float_equal(c.out[n * MM_OC + o], s, 1e-5);
        }
    float dinp[MM_N * MM_IC] = {0}, dw[MM_OC * MM_IC] = {0}, db[MM_OC] = {0};
    lm_matmul_backward(dinp, dw, db, c.R, c.inp, c.w, MM_N, MM_IC, MM_OC);
    check_grad("mm.inp", c.inp, dinp, MM_N * MM_IC, mm_obj, &c, 1e-2f, 1e-3, 1e-3);
    check_grad("mm.w", c.w, dw, MM_OC * MM_IC, mm_obj, &c, 1e-2f, 1e-3, 1e-3);
    check_grad("mm.bias", c.bias, db, MM_OC, mm_obj, &c, 1e-2f, 1e-3, 1e-3);
}

/* ---- attention ------------------------------------------------------------------------ */

enum { AT_B = 2, AT_T = 5, AT_C = 6, AT_NH = 2 };
typedef struct {
    float inp[AT_B * AT_T * 3 * AT_C], out[AT_B * AT_T * AT_C], R[AT_B * AT_T * AT_C];
    float att[AT_B * AT_NH * AT_T * AT_T], work[(4 * (AT_C / AT_NH) + 1) * AT_T];
    int gemm; /* use the sgemm variant */
} at_ctx_t;

static double at_obj(void *p)
{
    at_ctx_t *c = p;
    if (c->gemm)
        lm_attention_forward_gemm(c->out, c->att, c->inp, AT_B, AT_T, AT_C, AT_NH);
    else
        lm_attention_forward(c->out, c->att, c->work, c->inp, AT_B, AT_T, AT_C, AT_NH);
    return weighted_sum(c->out, c->R, AT_B * AT_T * AT_C);
}

static void attention_check(int gemm)
{
    dq_rng_t r;
    dq_rng_seed(&r, 3);
    at_ctx_t c;
    c.gemm = gemm;
    fill_normal(c.inp, AT_B * AT_T * 3 * AT_C, &r, 1.0f);
    fill_normal(c.R, AT_B * AT_T * AT_C, &r, 1.0f);
    at_obj(&c);
    /* causality: rows sum to 1, zero above the diagonal; first position copies v */
    for (int bh = 0; bh < AT_B * AT_NH; bh++)
        for (int t = 0; t < AT_T; t++) {
            double s = 0.0;
            for (int t2 = 0; t2 < AT_T; t2++) {
                const float a = c.att[(bh * AT_T + t) * AT_T + t2];
                if (t2 > t) assert_true(a == 0.0f);
                s += a;
            }
            assert_float_equal(s, 1.0, 1e-5);
        }
    assert_float_equal(c.out[0], c.inp[2 * AT_C], 1e-6);
    assert_int_equal(LM_ATTN_WORK(AT_T, AT_C / AT_NH), sizeof c.work / sizeof(float));
    float dinp[AT_B * AT_T * 3 * AT_C] = {0};
    if (gemm)
        lm_attention_backward_gemm(dinp, c.work, c.R, c.inp, c.att, AT_B, AT_T, AT_C, AT_NH);
    else
        lm_attention_backward(dinp, c.work, c.R, c.inp, c.att, AT_B, AT_T, AT_C, AT_NH);
    check_grad(gemm ? "attn.gemm" : "attn.loops", c.inp, dinp, AT_B * AT_T * 3 * AT_C, at_obj, &c,
               1e-2f, 1e-3, 1e-2);
}

static void test_attention_backward(void **state)
{
    (void)state;
    attention_check(0);
    attention_check(1);
}

/* The loop and sgemm variants agree on a larger random case (T*T work fits),
 * long enough that the sgemm variant's causal blocks (32 queries) are five,
 * the last one short. */
static void test_attention_variants_agree(void **state)
{
    (void)state;
    enum { B = 2, T = 150, C = 24, NH = 3, HS = C / NH };
    static float inp[B * T * 3 * C], dout[B * T * C], o1[B * T * C], o2[B * T * C];
    static float a1[B * NH * T * T], a2[B * NH * T * T], d1[B * T * 3 * C], d2[B * T * 3 * C];
    static float work[T * T + (4 * HS + 1) * T];
    dq_rng_t r;
    dq_rng_seed(&r, 33);
    fill_normal(inp, sizeof inp / sizeof(float), &r, 1.0f);
    fill_normal(dout, sizeof dout / sizeof(float), &r, 1.0f);
    lm_attention_forward(o1, a1, work, inp, B, T, C, NH);
    lm_attention_forward_gemm(o2, a2, inp, B, T, C, NH);
    lm_attention_backward(d1, work, dout, inp, a1, B, T, C, NH);
    lm_attention_backward_gemm(d2, work, dout, inp, a2, B, T, C, NH);
    for (size_t i = 0; i < sizeof o1 / sizeof(float); i++) assert_float_equal(o1[i], o2[i], 1e-5);
    for (size_t i = 0; i < sizeof a1 / sizeof(float); i++) assert_float_equal(a1[i], a2[i], 1e-6);
    for (size_t i = 0; i < sizeof d1 / sizeof(float); i++) assert_float_equal(d1[i], d2[i], 1e-5);
}

/* ---- gelu ----------------------------------------------------------------------------- */

enum { GE_N = 40 };
typedef struct {
    float inp[GE_N], out[GE_N], R[GE_N];
} ge_ctx_t;

static double ge_obj(void *p)
{
    ge_ctx_t *c = p;
    lm_gelu_forward(c->out, c->inp, GE_N);
    return weighted_sum(c->out, c->R, GE_N);
}

static void test_gelu_backward(void **state)
{
    (void)state;
    dq_rng_t r;
    dq_rng_seed(&r, 4);
    ge_ctx_t c;
    fill_normal(c.inp, GE_N, &r, 2.0f);
    fill_normal(c.R, GE_N, &r, 1.0f);
    ge_obj(&c);
    /* spot values of the tanh approximation */
    float x[3] = {0.0f, 1.0f, -2.0f}, y[3];
    lm_gelu_forward(y, x, 3);
    assert_float_equal(y[0], 0.0, 1e-7);
    assert_float_equal(y[1], 0.8411920, 1e-6);
    assert_float_equal(y[2], -0.0454023, 1e-6);
    float dinp[GE_N] = {0};
    lm_gelu_backward(dinp, c.inp, c.R, GE_N);
    check_grad("gelu", c.inp, dinp, GE_N, ge_obj, &c, 1e-3f, 1e-3, 1e-2);
}

/* ---- softmax + cross-entropy ---------------------------------------------------------- */

enum { SX_N = 4, SX_V = 9 };
typedef struct {
    float logits[SX_N * SX_V], probs[SX_N * SX_V], losses[SX_N];
    int targets[SX_N];
} sx_ctx_t;

static double sx_obj(void *p)
{
    sx_ctx_t *c = p;
    lm_softmax_xent_forward(c->probs, c->losses, c->logits, c->targets, SX_N, SX_V);
    double s = 0.0;
    for (int i = 0; i < SX_N; i++) s += c->losses[i];
    return s / SX_N;
}

static void test_softmax_xent_backward(void **state)
{
    (void)state;
    dq_rng_t r;
    dq_rng_seed(&r, 5);
    sx_ctx_t c;
    fill_normal(c.logits, SX_N * SX_V, &r, 3.0f);
    for (int i = 0; i < SX_N; i++) c.targets[i] = (int)dq_rng_below(&r, SX_V);
    sx_obj(&c);
    /* loss against a direct double computation */
    for (int n = 0; n < SX_N; n++) {
        double z = 0.0;
        for (int v = 0; v < SX_V; v++) z += exp((double)c.logits[n * SX_V + v]);
        assert_float_equal(c.losses[n], log(z) - c.logits[n * SX_V + c.targets[n]], 1e-5);
    }
    float dlogits[SX_N * SX_V] = {0};
    lm_softmax_xent_backward(dlogits, c.probs, c.targets, SX_N, SX_V);
    check_grad("xent", c.logits, dlogits, SX_N * SX_V, sx_obj, &c, 1e-2f, 1e-4, 1e-2);
}

/* ---- encoder -------------------------------------------------------------------------- */

enum { EN_B = 2, EN_T = 3, EN_C = 4, EN_V = 5 };
typedef struct {
    float wte[EN_V * EN_C], wpe[EN_T * EN_C], out[EN_B * EN_T * EN_C], R[EN_B * EN_T * EN_C];
    int inp[EN_B * EN_T];
} en_ctx_t;

static double en_obj(void *p)
{
    en_ctx_t *c = p;
    lm_encoder_forward(c->out, c->inp, c->wte, c->wpe, EN_B, EN_T, EN_C);
    return weighted_sum(c->out, c->R, EN_B * EN_T * EN_C);
}

static void test_encoder_backward(void **state)
{
    (void)state;
    dq_rng_t r;
    dq_rng_seed(&r, 6);
    en_ctx_t c;
    fill_normal(c.wte, EN_V * EN_C, &r, 1.0f);
    fill_normal(c.wpe, EN_T * EN_C, &r, 1.0f);
    fill_normal(c.R, EN_B * EN_T * EN_C, &r, 1.0f);
    const int toks[EN_B * EN_T] = {1, 3, 1, 0, 4, 3}; /* repeats accumulate */
    memcpy(c.inp, toks, sizeof toks);
    float dwte[EN_V * EN_C] = {0}, dwpe[EN_T * EN_C] = {0};
    lm_encoder_backward(dwte, dwpe, c.R, c.inp, EN_B, EN_T, EN_C);
    check_grad("enc.wte", c.wte, dwte, EN_V * EN_C, en_obj, &c, 1e-2f, 1e-4, 1e-3);
    check_grad("enc.wpe", c.wpe, dwpe, EN_T * EN_C, en_obj, &c, 1e-2f, 1e-4, 1e-3);
}

/* ---- the whole model ------------------------------------------------------------------ */

static const char *const k_tensor_names[LM_NUM_PARAM_TENSORS] = {
    "wte",  "wpe",  "ln1w", "ln1b", "qkvw",    "qkvb",    "attprojw", "attprojb",
    "ln2w", "ln2b", "fcw",  "fcb",  "fcprojw", "fcprojb", "lnfw",     "lnfb"};

typedef struct {
    lm_model_t *m;
    const uint8_t *tok, *tgt;
    int B;
} model_ctx_t;

static double model_obj(void *p)
{
    model_ctx_t *c = p;
    float loss;
    assert_int_equal(lm_forward(c->m, c->tok, c->tgt, c->B, &loss), DQ_OK);
    double s = 0.0; /* the mean in double, for finite differences */
    for (int i = 0; i < c->B * c->m->cfg.max_seq; i++) s += c->m->acts.losses[i];
    return s / (c->B * c->m->cfg.max_seq);
}

/* Perturbs the random init so biases and LN params are not at their
 * special values (0, 1) and every path carries a sizeable gradient. */
static void randomize_all(lm_model_t *m, dq_rng_t *r, float std)
{
    for (size_t i = 0; i < m->num_params; i++) m->params_memory[i] += (float)dq_rng_normal(r) * std;
}

static void model_gradient_check(int gemm)
{
    lm_config_t cfg = {
        .vocab = 11, .max_seq = 5, .channels = 8, .layers = 2, .heads = 2, .max_batch = 3};
    dq_rng_t r;
    dq_rng_seed(&r, 7);
    lm_model_t m;
    assert_int_equal(lm_init(&m, &cfg, &r), DQ_OK);
    randomize_all(&m, &r, 0.3f);
    uint8_t tok[3 * 5], tgt[3 * 5];
    for (int i = 0; i < 15; i++) {
        tok[i] = (uint8_t)dq_rng_below(&r, 11);
        tgt[i] = (uint8_t)dq_rng_below(&r, 11);
    }
    const int B = 2; /* smaller than max_batch on purpose */
    model_ctx_t c = {&m, tok, tgt, B};
    m.attn_gemm = gemm;
    model_obj(&c);
    assert_int_equal(lm_backward(&m), DQ_OK);
    float *g = malloc(m.num_params * sizeof(float));
    assert_non_null(g);
    memcpy(g, m.grads_memory, m.num_params * sizeof(float));
    size_t off = 0;
    for (int t = 0; t < LM_NUM_PARAM_TENSORS; t++) {
        check_grad(k_tensor_names[t], m.params_memory + off, g + off, m.param_sizes[t], model_obj,
                   &c, 3e-3f, 2e-4, 2e-2);
        off += m.param_sizes[t];
    }
    /* backward twice gives the same gradient (zero, then accumulate) */
    model_obj(&c);
    assert_int_equal(lm_backward(&m), DQ_OK);
    assert_memory_equal(g, m.grads_memory, m.num_params * sizeof(float));
    free(g);
    lm_free(&m);
}

static void test_model_gradient(void **state)
{
    (void)state;
    print_message("  attention on loops:\n");
    model_gradient_check(0);
    print_message("  attention on sgemm:\n");
    model_gradient_check(1);
}

/* A forward with B < max_batch computes the same losses as the first B rows of
 * a full batch (up to rounding: OpenBLAS picks its small-matrix kernels, whose
 * summation order differs, by the row count); the same seed gives identical
 * weights. */
static void test_partial_batch_and_determinism(void **state)
{
    (void)state;
    lm_config_t cfg = lm_config_default();
    cfg.max_seq = 8;
    cfg.max_batch = 4;
    dq_rng_t r1, r2;
    dq_rng_seed(&r1, 42);
    dq_rng_seed(&r2, 42);
    lm_model_t a, b;
    assert_int_equal(lm_init(&a, &cfg, &r1), DQ_OK);
    assert_int_equal(lm_init(&b, &cfg, &r2), DQ_OK);
    assert_memory_equal(a.params_memory, b.params_memory, a.num_params * sizeof(float));
    uint8_t tok[32], tgt[32];
    for (int i = 0; i < 32; i++) {
        tok[i] = (uint8_t)('a' + i % 7);
        tgt[i] = (uint8_t)('a' + (i + 1) % 7);
    }
    float lfull, lpart;
    assert_int_equal(lm_forward(&a, tok, tgt, 4, &lfull), DQ_OK);
    float first[16];
    memcpy(first, a.acts.losses, sizeof first);
    assert_int_equal(lm_forward(&a, tok, tgt, 2, &lpart), DQ_OK);
    for (int i = 0; i < 16; i++)
        if (fabsf(first[i] - a.acts.losses[i]) > 1e-5f * fabsf(first[i]))
            fail_msg("position %d: loss %.9g with B=4, %.9g with B=2", i, (double)first[i],
                     (double)a.acts.losses[i]);
    assert_true(fabsf(lfull - logf(256.0f)) < 0.1f); /* near uniform at init */
    /* errors */
    assert_int_equal(lm_forward(&a, tok, tgt, 5, NULL), DQ_ERANGE);
    assert_int_equal(lm_forward(&a, tok, tgt, 0, NULL), DQ_ERANGE);
    assert_int_equal(lm_forward(&a, tok, NULL, 1, NULL), DQ_OK);
    assert_int_equal(lm_backward(&a), DQ_EINVAL); /* no targets */
    lm_free(&a);
    lm_free(&b);
    lm_free(&b); /* idempotent */
    cfg.vocab = 11;
    assert_int_equal(lm_init(&a, &cfg, &r1), DQ_OK);
    tok[3] = 11;
    assert_int_equal(lm_forward(&a, tok, tgt, 1, NULL), DQ_ERANGE);
    lm_free(&a);
}

/* lm_eval_loss (inference-only, its own one-layer buffers, chunks of
 * infer_batch) gives the training forward's loss: a 2-layer model, trained a
 * few steps so the layers matter, with 7 sequences through a forward sized
 * for all 7 and through lm_eval_loss on a copy sized for 3; then more
 * sequences than one inference chunk; both attention variants. */
static void test_eval_loss_matches_forward(void **state)
{
    (void)state;
    enum { N = 7, T = 16 };
    lm_config_t cfg = lm_config_default();
    cfg.max_seq = T;
    cfg.layers = 2;
    cfg.max_batch = N;
    dq_rng_t r;
    dq_rng_seed(&r, 7);
    lm_model_t big, small;
    assert_int_equal(lm_init(&big, &cfg, &r), DQ_OK);
    uint8_t tok[N * T], tgt[N * T];
    for (int i = 0; i < N * T; i++) {
        tok[i] = (uint8_t)dq_rng_below(&r, 40);
        tgt[i] = (uint8_t)((tok[i] * 3 + i % 5) % 40);
    }
    lm_adamw_config_t opt = lm_adamw_default();
    for (int k = 0; k < 5; k++) {
        assert_int_equal(lm_forward(&big, tok, tgt, N, NULL), DQ_OK);
        assert_int_equal(lm_backward(&big), DQ_OK);
        assert_int_equal(lm_adamw_step(&big, &opt, 1e-2f, NULL), DQ_OK);
    }
    cfg.max_batch = 3;
    assert_int_equal(lm_init(&small, &cfg, &r), DQ_OK);
    assert_int_equal(lm_copy_weights(&small, &big), DQ_OK);
    for (int gemm = 0; gemm < 2; gemm++) {
        big.attn_gemm = small.attn_gemm = gemm;
        float ref;
        assert_int_equal(lm_forward(&big, tok, tgt, N, &ref), DQ_OK);
        assert_true(ref < logf(256.0f) - 0.3f); /* training moved it */
        double ev = 0, ev_big = 0;
        assert_int_equal(lm_eval_loss(&small, tok, tgt, N, &ev), DQ_OK);
        assert_int_equal(lm_eval_loss(&big, tok, tgt, N, &ev_big), DQ_OK);
        if (fabs(ev - ref) > 1e-6 || fabs(ev_big - ref) > 1e-6)
            fail_msg("gemm %d: eval %.9f / %.9f vs forward %.9f", gemm, ev, ev_big, (double)ref);
        /* A single sequence: the chunk of one. */
        float one;
        assert_int_equal(lm_forward(&big, tok + 2 * T, tgt + 2 * T, 1, &one), DQ_OK);
        assert_int_equal(lm_eval_loss(&small, tok + 2 * T, tgt + 2 * T, 1, &ev), DQ_OK);
        assert_true(fabs(ev - one) < 1e-6);
    }
    /* More sequences than one inference chunk (infer_batch, >= 2048 positions):
     * chunks of infer_batch and a remainder, against lm_forward in batches. */
    {
        const int nb = 2 * small.infer_batch + 5;
        assert_true(small.infer_batch >= 2048 / T && small.infer_batch >= cfg.max_batch);
        uint8_t *mt = malloc((size_t)nb * T), *mg = malloc((size_t)nb * T);
        assert_non_null(mt);
        assert_non_null(mg);
        for (int i = 0; i < nb * T; i++) {
            mt[i] = (uint8_t)dq_rng_below(&r, 40);
            mg[i] = (uint8_t)((mt[i] * 7 + i % 3) % 40);
        }
        double ref_sum = 0.0, ev = 0.0;
        for (int b0 = 0; b0 < nb; b0 += N) {
            const int bb = nb - b0 < N ? nb - b0 : N;
            assert_int_equal(lm_forward(&big, mt + (size_t)b0 * T, mg + (size_t)b0 * T, bb, NULL),
                             DQ_OK);
            for (int i = 0; i < bb * T; i++) ref_sum += big.acts.losses[i];
        }
        assert_int_equal(lm_eval_loss(&small, mt, mg, nb, &ev), DQ_OK);
        const double ref = ref_sum / ((double)nb * T);
        if (fabs(ev - ref) > 1e-6) fail_msg("%d sequences: eval %.9f vs forward %.9f", nb, ev, ref);
        free(mt);
        free(mg);
    }
    assert_int_equal(lm_backward(&small), DQ_EINVAL); /* nothing kept for a backward */
    tok[5] = 255;
    cfg.vocab = 40;
    lm_free(&small);
    assert_int_equal(lm_init(&small, &cfg, &r), DQ_OK);
    double x;
    assert_int_equal(lm_eval_loss(&small, tok, tgt, 0, &x), DQ_ERANGE);
    assert_int_equal(lm_eval_loss(&small, tok, tgt, N, &x), DQ_ERANGE); /* token 255 >= 40 */
    lm_free(&small);
    lm_free(&big);
}

static void test_config_check(void **state)
{
    (void)state;
    char why[160];
    lm_config_t c = lm_config_default();
    assert_int_equal(lm_config_check(&c, why, sizeof why), DQ_OK);
    c.heads = 5;
    assert_int_equal(lm_config_check(&c, why, sizeof why), DQ_ERANGE);
    assert_non_null(strstr(why, "divide"));
    c = lm_config_default();
    c.vocab = 300;
    assert_int_equal(lm_config_check(&c, why, sizeof why), DQ_ERANGE);
    c = lm_config_default();
    c.layers = 0;
    assert_int_equal(lm_num_params(&c), 0);
    dq_rng_t r;
    dq_rng_seed(&r, 1);
    lm_model_t m;
    assert_int_equal(lm_init(&m, &c, &r), DQ_ERANGE);
    lm_free(&m);
    /* 1 layer, C=32, T=32: 256*32 + 32*32 + 12*32*32 + 13*32 + 2*32 */
    c = lm_config_default();
    assert_int_equal(lm_num_params(&c), 256 * 32 + 32 * 32 + 12 * 32 * 32 + 13 * 32 + 2 * 32);
}

/* ---- optimizer ------------------------------------------------------------------------ */

static void test_clip(void **state)
{
    (void)state;
    lm_config_t cfg = lm_config_default();
    dq_rng_t r;
    dq_rng_seed(&r, 8);
    lm_model_t m;
    assert_int_equal(lm_init(&m, &cfg, &r), DQ_OK);
    for (size_t i = 0; i < m.num_params; i++) m.grads_memory[i] = (i % 2) ? 0.5f : -0.5f;
    const float n0 = lm_grad_norm(&m);
    assert_float_equal(n0, 0.5 * sqrt((double)m.num_params), 1e-2);
    assert_float_equal(lm_clip_grad_norm(&m, 1.0f), n0, 1e-3);
    assert_float_equal(lm_grad_norm(&m), 1.0, 1e-5);
    assert_float_equal(lm_clip_grad_norm(&m, 10.0f), 1.0, 1e-5); /* below: untouched */
    assert_float_equal(lm_grad_norm(&m), 1.0, 1e-5);
    m.grads_memory[3] = NAN;
    assert_false(isfinite(lm_clip_grad_norm(&m, 1.0f)));
    lm_free(&m);
}

static void test_adamw_hand(void **state)
{
    (void)state;
    lm_config_t cfg = lm_config_default();
    dq_rng_t r;
    dq_rng_seed(&r, 9);
    lm_model_t m;
    assert_int_equal(lm_init(&m, &cfg, &r), DQ_OK);
    lm_adamw_config_t o = {.beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f};
    const size_t iw = 5;                                             /* in wte: decayed */
    const size_t ig = (size_t)(m.params.ln1w - m.params_memory) + 3; /* LN gain: not decayed */
    double pw = m.params_memory[iw], pg = m.params_memory[ig];
    double mw = 0, vw = 0, mg = 0, vg = 0;
    const double lr = 1e-2;
    const double gw[2] = {0.3, -0.1}, gg[2] = {-2.0, 0.5};
    for (int s = 0; s < 2; s++) {
        memset(m.grads_memory, 0, m.num_params * sizeof(float));
        m.grads_memory[iw] = (float)gw[s];
        m.grads_memory[ig] = (float)gg[s];
        double psum = 0.0;
        for (size_t i = 0; i < m.num_params; i++)
            psum += (double)m.params_memory[i] * m.params_memory[i];
        lm_step_stats_t st;
        assert_int_equal(lm_adamw_step(&m, &o, (float)lr, &st), DQ_OK);
        const int t = s + 1;
        mw = 0.9 * mw + 0.1 * gw[s];
        vw = 0.95 * vw + 0.05 * gw[s] * gw[s];
        mg = 0.9 * mg + 0.1 * gg[s];
        vg = 0.95 * vg + 0.05 * gg[s] * gg[s];
        const double bc1 = 1 - pow(0.9, t), bc2 = 1 - pow(0.95, t);
        pw -= lr * ((mw / bc1) / (sqrt(vw / bc2) + 1e-8) + 0.1 * pw);
        pg -= lr * ((mg / bc1) / (sqrt(vg / bc2) + 1e-8));
        assert_float_equal(m.params_memory[iw], pw, 1e-6);
        assert_float_equal(m.params_memory[ig], pg, 1e-6);
        /* stats: param RMS is taken before the step */
        assert_float_equal(st.param_rms, sqrt(psum / m.num_params), 1e-6);
        assert_true(st.update_rms > 0.0f);
        assert_float_equal(st.update_ratio, st.update_rms / st.param_rms, 1e-6);
    }
    /* with zero gradient and no decay, nothing moves; update RMS is 0 */
    o.weight_decay = 0.0f;
    memset(m.grads_memory, 0, m.num_params * sizeof(float));
    lm_optimizer_reset(&m);
    float *before = malloc(m.num_params * sizeof(float));
    assert_non_null(before);
    memcpy(before, m.params_memory, m.num_params * sizeof(float));
    lm_step_stats_t st;
    assert_int_equal(lm_adamw_step(&m, &o, 1e-2f, &st), DQ_OK);
    assert_memory_equal(before, m.params_memory, m.num_params * sizeof(float));
    assert_true(st.update_rms == 0.0f);
    assert_int_equal(lm_adamw_step(&m, &o, -1.0f, NULL), DQ_EINVAL);
    assert_int_equal(lm_adamw_step(&m, &o, NAN, NULL), DQ_EINVAL);
    free(before);
    lm_free(&m);
}

/* Exact stats on a run where all grads are equal: every Adam update is lr
 * (first step: mhat/sqrt(vhat) = sign(g)), so update_rms = lr without decay. */
static void test_adamw_stats(void **state)
{
    (void)state;
    lm_config_t cfg = lm_config_default();
    dq_rng_t r;
    dq_rng_seed(&r, 10);
    lm_model_t m;
    assert_int_equal(lm_init(&m, &cfg, &r), DQ_OK);
    for (size_t i = 0; i < m.num_params; i++) m.grads_memory[i] = 1.0f;
    lm_adamw_config_t o = lm_adamw_default();
    lm_step_stats_t st;
    assert_int_equal(lm_adamw_step(&m, &o, 1e-3f, &st), DQ_OK);
    assert_float_equal(st.update_rms, 1e-3, 1e-8);
    lm_free(&m);
}

/* ---- checkpoints ---------------------------------------------------------------------- */

static void tmp_path(char *buf, size_t n, const char *tag)
{
    snprintf(buf, n, "/tmp/dqnlm-test-lm-%d-%s.bin", (int)getpid(), tag);
}

static void corrupt_byte(const char *path, long at, int xor_with)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, at, at < 0 ? SEEK_END : SEEK_SET), 0);
    int c = fgetc(f);
    assert_int_equal(fseek(f, at, at < 0 ? SEEK_END : SEEK_SET), 0);
    fputc(c ^ xor_with, f);
    fclose(f);
}

static void copy_file(const char *from, const char *to, long truncate_to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    assert_non_null(a);
    assert_non_null(b);
    int c;
    long n = 0;
    while ((c = fgetc(a)) != EOF && (truncate_to < 0 || n < truncate_to)) {
        fputc(c, b);
        n++;
    }
    fclose(a);
    fclose(b);
}

static void test_checkpoint(void **state)
{
    (void)state;
    char path[128], bad[128], why[512];
    tmp_path(path, sizeof path, "ok");
    tmp_path(bad, sizeof bad, "bad");
    lm_config_t cfg = lm_config_default();
    cfg.layers = 2;
    dq_rng_t r;
    dq_rng_seed(&r, 11);
    lm_model_t a, b;
    assert_int_equal(lm_init(&a, &cfg, &r), DQ_OK);
    cfg.max_batch = 2; /* max_batch is not part of the shape */
    assert_int_equal(lm_init(&b, &cfg, &r), DQ_OK);
    assert_int_equal(lm_save(&a, path, why, sizeof why), DQ_OK);
    lm_config_t c2;
    assert_int_equal(lm_checkpoint_config(path, &c2, why, sizeof why), DQ_OK);
    assert_int_equal(c2.layers, 2);
    assert_int_equal(c2.channels, 32);
    b.step = 5;
    assert_int_equal(lm_load(&b, path, why, sizeof why), DQ_OK);
    assert_memory_equal(a.params_memory, b.params_memory, a.num_params * sizeof(float));
    assert_int_equal(b.step, 0);
    float *keep = malloc(b.num_params * sizeof(float));
    assert_non_null(keep);
    b.params_memory[0] += 1.0f;
    memcpy(keep, b.params_memory, b.num_params * sizeof(float));

    /* each refusal leaves the model unchanged and says why */
    struct {
        const char *what;
        long at; /* byte to flip, or -1000 - len to truncate */
        int xor_with;
        dq_err_t want;
        const char *says;
    } cases[] = {
        {"magic", 0, 0x01, DQ_EFORMAT, "magic"},
        {"version", 4, 0x02, DQ_EVERSION, "version"},
        {"param", 100, 0x10, DQ_ECHECKSUM, "checksum"},
        {"checksum", -1, 0x80, DQ_ECHECKSUM, "checksum"},
        {"count", 28, 0x01, DQ_EFORMAT, "parameters"},
        {"truncated", -1000 - 500, 0, DQ_EFORMAT, "truncated"},
        {"header", -1000 - 10, 0, DQ_EFORMAT, "truncated"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].at <= -1000) {
            copy_file(path, bad, -cases[i].at - 1000);
        } else {
            copy_file(path, bad, -1);
            corrupt_byte(bad, cases[i].at, cases[i].xor_with);
        }
        why[0] = 0;
        assert_int_equal(lm_load(&b, bad, why, sizeof why), cases[i].want);
        print_message("  refused %-9s: %s\n", cases[i].what, why);
        assert_non_null(strstr(why, cases[i].says));
        assert_memory_equal(keep, b.params_memory, b.num_params * sizeof(float));
    }
    /* shape mismatch */
    lm_model_t c;
    cfg.layers = 1;
    assert_int_equal(lm_init(&c, &cfg, &r), DQ_OK);
    assert_int_equal(lm_load(&c, path, why, sizeof why), DQ_ESHAPE);
    print_message("  refused shape    : %s\n", why);
    assert_non_null(strstr(why, "L=2"));
    assert_int_equal(lm_copy_weights(&c, &a), DQ_ESHAPE);
    /* missing file */
    assert_int_equal(lm_load(&b, "/nonexistent/dir/x.bin", why, sizeof why), DQ_EIO);
    assert_int_equal(lm_save(&a, "/nonexistent/dir/x.bin", why, sizeof why), DQ_EIO);
    /* copy_weights */
    assert_int_equal(lm_copy_weights(&b, &a), DQ_OK);
    assert_memory_equal(a.params_memory, b.params_memory, a.num_params * sizeof(float));
    remove(path);
    remove(bad);
    free(keep);
    lm_free(&a);
    lm_free(&b);
    lm_free(&c);
}

/* Found by fuzzing (tests/fuzz/fuzz_lm_ckpt): a header alone, with a valid
 * but large shape, made lm_checkpoint_config succeed, and the caller (lmenv's
 * fine-tune mode) allocated a 7 GB model before lm_load found the file
 * truncated. The reproducer is in the seed corpus
 * (tests/fuzz/corpus/lm_ckpt/regress_big_shape_header_only). */
static void test_checkpoint_header_only(void **state)
{
    (void)state;
    char path[128], why[512] = "";
    tmp_path(path, sizeof path, "hdr");
    const int32_t dims[5] = {256, 1024, 2048, 8, 8}; /* V T C L NH: 405 M parameters */
    lm_config_t c = {.vocab = dims[0],
                     .max_seq = dims[1],
                     .channels = dims[2],
                     .layers = dims[3],
                     .heads = dims[4],
                     .max_batch = 1};
    unsigned char hdr[36 + 8] = {0};
    dq_put_le32(hdr, 0x4D4C5144u);
    dq_put_le32(hdr + 4, 1);
    for (int i = 0; i < 5; i++) dq_put_le32(hdr + 8 + 4 * i, (uint32_t)dims[i]);
    dq_put_le64(hdr + 28, lm_num_params(&c));
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(hdr, 1, sizeof hdr, f), sizeof hdr);
    fclose(f);
    lm_config_t got = {0};
    assert_int_equal(lm_checkpoint_config(path, &got, why, sizeof why), DQ_EFORMAT);
    print_message("  refused header only: %s\n", why);
    assert_non_null(strstr(why, path));
    assert_non_null(strstr(why, "truncated (44 bytes, its header's shape needs"));
    assert_int_equal(got.vocab, 0); /* *cfg untouched */
    remove(path);
}

/* ---- training ------------------------------------------------------------------------- */

static void test_training_lowers_loss(void **state)
{
    (void)state;
    const char *text = "the quick brown fox jumps over the lazy dog. ";
    const int tl = (int)strlen(text);
    lm_config_t cfg = lm_config_default(); /* 1 layer, C=32, 4 heads, T=32, B=8 */
    dq_rng_t r;
    dq_rng_seed(&r, 12);
    lm_model_t m;
    assert_int_equal(lm_init(&m, &cfg, &r), DQ_OK);
    const int B = cfg.max_batch, T = cfg.max_seq;
    uint8_t tok[8 * 32], tgt[8 * 32];
    lm_adamw_config_t o = lm_adamw_default();
    o.weight_decay = 0.01f;
    float first = 0.0f, loss = 0.0f;
    for (int step = 0; step < 100; step++) {
        for (int b = 0; b < B; b++) {
            const int start = (int)dq_rng_below(&r, (uint64_t)tl);
            for (int t = 0; t < T; t++) {
                tok[b * T + t] = (uint8_t)text[(start + t) % tl];
                tgt[b * T + t] = (uint8_t)text[(start + t + 1) % tl];
            }
        }
        assert_int_equal(lm_forward(&m, tok, tgt, B, &loss), DQ_OK);
        if (step == 0) first = loss;
        assert_int_equal(lm_backward(&m), DQ_OK);
        lm_clip_grad_norm(&m, 1.0f);
        assert_int_equal(lm_adamw_step(&m, &o, 1e-2f, NULL), DQ_OK);
    }
    print_message("  loss %.3f -> %.3f after 100 steps\n", first, loss);
    assert_true(first > 5.0f);
    assert_true(loss < 1.0f);
    lm_free(&m);
}

/* ---- dump for the PyTorch check -------------------------------------------------------
 * File (little-endian host order): "DQLMDUMP", i32 V T C L NH B, u8 tokens (B*T),
 * u8 targets (B*T), f32 loss, f32 params (num_params), f32 logits (B*T*V),
 * f32 grads (num_params). Weights are the random init perturbed by N(0, 0.1) so
 * biases and LayerNorm parameters are not trivial. */
static int dump_for_torch(const char *path, int attn_gemm)
{
    lm_config_t cfg = {
        .vocab = 256, .max_seq = 16, .channels = 32, .layers = 2, .heads = 4, .max_batch = 4};
    dq_rng_t r;
    dq_rng_seed(&r, 2024);
    lm_model_t m;
    if (lm_init(&m, &cfg, &r) != DQ_OK) return 1;
    randomize_all(&m, &r, 0.1f);
    m.attn_gemm = attn_gemm;
    const int n = cfg.max_batch * cfg.max_seq;
    uint8_t tok[64], tgt[64];
    for (int i = 0; i < n; i++) {
        tok[i] = (uint8_t)dq_rng_below(&r, 256);
        tgt[i] = (uint8_t)dq_rng_below(&r, 256);
    }
    float loss;
    if (lm_forward(&m, tok, tgt, cfg.max_batch, &loss) != DQ_OK || lm_backward(&m) != DQ_OK)
        return 1;
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    const int32_t dims[6] = {cfg.vocab,  cfg.max_seq, cfg.channels,
                             cfg.layers, cfg.heads,   cfg.max_batch};
    int ok = fwrite("DQLMDUMP", 1, 8, f) == 8;
    ok = ok && fwrite(dims, sizeof dims, 1, f) == 1;
    ok = ok && fwrite(tok, 1, (size_t)n, f) == (size_t)n;
    ok = ok && fwrite(tgt, 1, (size_t)n, f) == (size_t)n;
    ok = ok && fwrite(&loss, 4, 1, f) == 1;
    ok = ok && fwrite(m.params_memory, 4, m.num_params, f) == m.num_params;
    ok = ok && fwrite(m.acts.logits, 4, (size_t)n * 256, f) == (size_t)n * 256;
    ok = ok && fwrite(m.grads_memory, 4, m.num_params, f) == m.num_params;
    ok = (fclose(f) == 0) && ok;
    lm_free(&m);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "--dump") == 0)
        return dump_for_torch(argv[2], argc == 4 && strcmp(argv[3], "gemm") == 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layernorm_backward),
        cmocka_unit_test(test_matmul_backward),
        cmocka_unit_test(test_attention_backward),
        cmocka_unit_test(test_attention_variants_agree),
        cmocka_unit_test(test_gelu_backward),
        cmocka_unit_test(test_softmax_xent_backward),
        cmocka_unit_test(test_encoder_backward),
        cmocka_unit_test(test_model_gradient),
        cmocka_unit_test(test_partial_batch_and_determinism),
        cmocka_unit_test(test_eval_loss_matches_forward),
        cmocka_unit_test(test_config_check),
        cmocka_unit_test(test_clip),
        cmocka_unit_test(test_adamw_hand),
        cmocka_unit_test(test_adamw_stats),
        cmocka_unit_test(test_checkpoint),
        cmocka_unit_test(test_checkpoint_header_only),
        cmocka_unit_test(test_training_lowers_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
