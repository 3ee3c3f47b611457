/* lm_model.c - the transformer LM: allocation, forward, backward, AdamW, checkpoints.
 *
 * Memory: parameters, gradients, AdamW m and v are four arrays of num_params
 * floats carved identically by lm_carve_params(); activations are one array
 * carved by lm_carve_acts() for max_batch; backward work buffers are one more
 * array. Nothing is allocated after lm_init (lm_save builds its file in a
 * temporary buffer). The kernels are in lm_kernels.c.
 *
 * Checkpoints are written with common/fileio.h (atomic rename, FNV-1a checksum).
 */
#include "lm_model.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "lm_kernels.h"

#define LM_MAGIC 0x4D4C5144u /* "DQLM" little-endian */
#define LM_VERSION 1u
#define LM_HEADER_BYTES (4 + 4 + 5 * 4 + 8)

static void set_why(char *why, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_why(char *why, size_t n, const char *fmt, ...)
{
    if (!why || n == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
}

lm_config_t lm_config_default(void)
{
    lm_config_t c = {
        .vocab = 256, .max_seq = 32, .channels = 32, .layers = 1, .heads = 4, .max_batch = 8};
    return c;
}

/* Upper bound on any single dimension product we index with int/size_t. */
#define LM_MAX_DIM 65536

dq_err_t lm_config_check(const lm_config_t *cfg, char *why, size_t why_len)
{
    if (!cfg) {
        set_why(why, why_len, "no config");
        return DQ_EINVAL;
    }
    if (cfg->vocab < 2 || cfg->vocab > 256) {
        set_why(why, why_len, "vocab %d must be in [2, 256] (tokens are bytes)", cfg->vocab);
        return DQ_ERANGE;
    }
    if (cfg->max_seq < 1 || cfg->max_seq > 4096) {
        set_why(why, why_len, "context length %d must be in [1, 4096]", cfg->max_seq);
        return DQ_ERANGE;
    }
    if (cfg->channels < 1 || cfg->channels > 8192) {
        set_why(why, why_len, "width %d must be in [1, 8192]", cfg->channels);
        return DQ_ERANGE;
    }
    if (cfg->layers < 1 || cfg->layers > 256) {
        set_why(why, why_len, "layers %d must be in [1, 256]", cfg->layers);
        return DQ_ERANGE;
    }
    if (cfg->heads < 1 || cfg->channels % cfg->heads != 0) {
        set_why(why, why_len, "heads %d must be >= 1 and divide the width %d", cfg->heads,
                cfg->channels);
        return DQ_ERANGE;
    }
    if (cfg->max_batch < 1 || cfg->max_batch > LM_MAX_DIM) {
        set_why(why, why_len, "batch %d must be in [1, %d]", cfg->max_batch, LM_MAX_DIM);
        return DQ_ERANGE;
    }
    /* Row counts B*T are ints in the kernels and BLAS calls. */
    if ((long long)cfg->max_batch * cfg->max_seq > (1LL << 24)) {
        set_why(why, why_len, "batch x context %lld too large",
                (long long)cfg->max_batch * cfg->max_seq);
        return DQ_ERANGE;
    }
    return DQ_OK;
}

static void param_sizes(const lm_config_t *cfg, size_t s[LM_NUM_PARAM_TENSORS])
{
    const size_t V = (size_t)cfg->vocab, T = (size_t)cfg->max_seq, C = (size_t)cfg->channels,
                 L = (size_t)cfg->layers;
    s[0] = V * C;          /* wte */
    s[1] = T * C;          /* wpe */
    s[2] = L * C;          /* ln1w */
    s[3] = L * C;          /* ln1b */
    s[4] = L * 3 * C * C;  /* qkvw */
    s[5] = L * 3 * C;      /* qkvb */
    s[6] = L * C * C;      /* attprojw */
    s[7] = L * C;          /* attprojb */
    s[8] = L * C;          /* ln2w */
    s[9] = L * C;          /* ln2b */
    s[10] = L * 4 * C * C; /* fcw */
    s[11] = L * 4 * C;     /* fcb */
    s[12] = L * C * 4 * C; /* fcprojw */
    s[13] = L * C;         /* fcprojb */
    s[14] = C;             /* lnfw */
    s[15] = C;             /* lnfb */
}

/* Tensors that get weight decay (matrices and embeddings). */
static const unsigned char k_decay[LM_NUM_PARAM_TENSORS] = {1, 1, 0, 0, 1, 0, 1, 0,
                                                            0, 0, 1, 0, 1, 0, 0, 0};

/* The one function that carves a parameter-shaped array into tensors. */
static void lm_carve_params(lm_params_t *p, float *mem, const size_t s[LM_NUM_PARAM_TENSORS])
{
    float **ptrs[LM_NUM_PARAM_TENSORS] = {&p->wte,     &p->wpe,     &p->ln1w,     &p->ln1b,
                                          &p->qkvw,    &p->qkvb,    &p->attprojw, &p->attprojb,
                                          &p->ln2w,    &p->ln2b,    &p->fcw,      &p->fcb,
                                          &p->fcprojw, &p->fcprojb, &p->lnfw,     &p->lnfb};
    for (int i = 0; i < LM_NUM_PARAM_TENSORS; i++) {
        *ptrs[i] = mem;
        mem += s[i];
    }
}

size_t lm_num_params(const lm_config_t *cfg)
{
    if (lm_config_check(cfg, NULL, 0) != DQ_OK) return 0;
    size_t s[LM_NUM_PARAM_TENSORS], n = 0;
    param_sizes(cfg, s);
    for (int i = 0; i < LM_NUM_PARAM_TENSORS; i++) n += s[i];
    return n;
}

#define LM_NUM_ACT_TENSORS 20

static void act_sizes(const lm_config_t *cfg, size_t s[LM_NUM_ACT_TENSORS])
{
    const size_t V = (size_t)cfg->vocab, T = (size_t)cfg->max_seq, C = (size_t)cfg->channels,
                 L = (size_t)cfg->layers, NH = (size_t)cfg->heads, B = (size_t)cfg->max_batch;
    s[0] = B * T * C;          /* encoded */
    s[1] = L * B * T * C;      /* ln1 */
    s[2] = L * B * T;          /* ln1_mean */
    s[3] = L * B * T;          /* ln1_rstd */
    s[4] = L * B * T * 3 * C;  /* qkv */
    s[5] = L * B * T * C;      /* atty */
    s[6] = L * B * NH * T * T; /* att */
    s[7] = L * B * T * C;      /* residual2 */
    s[8] = L * B * T * C;      /* ln2 */
    s[9] = L * B * T;          /* ln2_mean */
    s[10] = L * B * T;         /* ln2_rstd */
    s[11] = L * B * T * 4 * C; /* fch */
    s[12] = L * B * T * 4 * C; /* fch_gelu */
    s[13] = L * B * T * C;     /* residual3 */
    s[14] = B * T * C;         /* lnf */
    s[15] = B * T;             /* lnf_mean */
    s[16] = B * T;             /* lnf_rstd */
    s[17] = B * T * V;         /* logits */
    s[18] = B * T * V;         /* probs */
    s[19] = B * T;             /* losses */
}

static void lm_carve_acts(lm_acts_t *a, float *mem, const size_t s[LM_NUM_ACT_TENSORS])
{
    float **ptrs[LM_NUM_ACT_TENSORS] = {&a->encoded,  &a->ln1,       &a->ln1_mean, &a->ln1_rstd,
                                        &a->qkv,      &a->atty,      &a->att,      &a->residual2,
                                        &a->ln2,      &a->ln2_mean,  &a->ln2_rstd, &a->fch,
                                        &a->fch_gelu, &a->residual3, &a->lnf,      &a->lnf_mean,
                                        &a->lnf_rstd, &a->logits,    &a->probs,    &a->losses};
    for (int i = 0; i < LM_NUM_ACT_TENSORS; i++) {
        *ptrs[i] = mem;
        mem += s[i];
    }
}

/* Backward work buffers, for max_batch rows N = B*T:
 *   dres (N,C) residual-stream gradient, dln (N,C), datty (N,C), dqkv (N,3C),
 *   dfch (N,4C), dfchg (N,4C), dlogits (N,V), attwork (LM_ATTN_WORK).
 * The forward uses the start of it as attention work space. */
static size_t scratch_floats(const lm_config_t *cfg)
{
    const size_t N = (size_t)cfg->max_batch * (size_t)cfg->max_seq, C = (size_t)cfg->channels;
    const size_t T = (size_t)cfg->max_seq;
    size_t att = LM_ATTN_WORK(T, cfg->channels / cfg->heads);
    if (att < T * T) att = T * T; /* the sgemm attention's backward */
    return N * C * 3 + N * 3 * C + N * 8 * C + N * (size_t)cfg->vocab + att;
}

/* Sequences per lm_eval_loss chunk: enough for LM_EVAL_ROWS positions
 * (bigger sgemms, fewer calls; the buffers hold one layer only), fewer if
 * their row buffers would pass LM_EVAL_MAX_FLOATS (wide models), but never
 * fewer than max_batch. */
#define LM_EVAL_ROWS 2048
#define LM_EVAL_MAX_FLOATS ((size_t)16 << 20) /* 64 MiB */
static int eval_batch(const lm_config_t *cfg)
{
    const size_t per_row = 10 * (size_t)cfg->channels + (size_t)cfg->vocab + 3;
    size_t rows = LM_EVAL_ROWS;
    if (rows * per_row > LM_EVAL_MAX_FLOATS) rows = LM_EVAL_MAX_FLOATS / per_row;
    const int b = (int)((rows + (size_t)cfg->max_seq - 1) / (size_t)cfg->max_seq);
    return b > cfg->max_batch ? b : cfg->max_batch;
}

/* Inference buffers for R = eval_batch * T rows: x, ln (R,C), qkv (R,3C),
 * atty (R,C), fch (R,4C), logits (R,V), losses, mean, rstd (R); one
 * sequence's attention (NH,T,T) and work; V floats for the cross-entropy. */
static size_t infer_floats(const lm_config_t *cfg)
{
    const size_t R = (size_t)eval_batch(cfg) * (size_t)cfg->max_seq, C = (size_t)cfg->channels;
    const size_t T = (size_t)cfg->max_seq;
    return R * (10 * C + (size_t)cfg->vocab + 3) + (size_t)cfg->heads * T * T +
           LM_ATTN_WORK(T, C / (size_t)cfg->heads) + (size_t)cfg->vocab;
}

static float *alloc_floats(size_t n)
{
    if (n == 0 || n > SIZE_MAX / sizeof(float)) return NULL;
    return calloc(n, sizeof(float));
}

int lm_attention_prefers_gemm(const lm_config_t *cfg)
{
    /* Measured in tests/bench_lm.c (both variants): LM_ATTN_GEMM_MIN_T */
    return cfg->max_seq >= LM_ATTN_GEMM_MIN_T;
}

dq_err_t lm_init(lm_model_t *m, const lm_config_t *cfg, dq_rng_t *rng)
{
    if (!m) return DQ_EINVAL;
    memset(m, 0, sizeof *m);
    if (!rng) return DQ_EINVAL;
    dq_err_t rc = lm_config_check(cfg, NULL, 0);
    if (rc != DQ_OK) return rc;
    m->cfg = *cfg;
    param_sizes(cfg, m->param_sizes);
    m->num_params = lm_num_params(cfg);
    size_t as[LM_NUM_ACT_TENSORS];
    act_sizes(cfg, as);
    m->num_acts = 0;
    for (int i = 0; i < LM_NUM_ACT_TENSORS; i++) m->num_acts += as[i];
    m->infer_batch = eval_batch(cfg);
    const size_t NT = (size_t)m->infer_batch * (size_t)cfg->max_seq; /* >= max_batch rows */

    rc = DQ_ENOMEM;
    m->params_memory = alloc_floats(m->num_params);
    m->grads_memory = alloc_floats(m->num_params);
    m->m_memory = alloc_floats(m->num_params);
    m->v_memory = alloc_floats(m->num_params);
    m->decay_mask = calloc(m->num_params, 1);
    m->acts_memory = alloc_floats(m->num_acts);
    m->scratch = alloc_floats(scratch_floats(cfg));
    m->infer_memory = alloc_floats(infer_floats(cfg));
    m->inputs = calloc(NT, sizeof(int));
    m->targets = calloc(NT, sizeof(int));
    if (!m->params_memory || !m->grads_memory || !m->m_memory || !m->v_memory || !m->decay_mask ||
        !m->acts_memory || !m->scratch || !m->infer_memory || !m->inputs || !m->targets)
        goto fail;
    lm_carve_params(&m->params, m->params_memory, m->param_sizes);
    lm_carve_params(&m->grads, m->grads_memory, m->param_sizes);
    lm_carve_acts(&m->acts, m->acts_memory, as);

    /* Initialisation (GPT-2): N(0, 0.02), residual projections / sqrt(2L),
     * biases 0, LayerNorm gains 1; decay mask per tensor. */
    const float std = 0.02f, rstd = 0.02f / sqrtf(2.0f * (float)cfg->layers);
    float *p = m->params_memory;
    unsigned char *mask = m->decay_mask;
    for (int i = 0; i < LM_NUM_PARAM_TENSORS; i++) {
        const size_t n = m->param_sizes[i];
        const int is_ln_gain = (i == 2 || i == 8 || i == 14);
        const int is_resid = (i == 6 || i == 12);
        for (size_t j = 0; j < n; j++) {
            if (k_decay[i])
                p[j] = (float)dq_rng_normal(rng) * (is_resid ? rstd : std);
            else
                p[j] = is_ln_gain ? 1.0f : 0.0f;
        }
        memset(mask, k_decay[i], n);
        p += n;
        mask += n;
    }
    m->attn_gemm = lm_attention_prefers_gemm(cfg);
    m->mean_loss = -1.0f;
    return DQ_OK;
fail:
    lm_free(m);
    return rc;
}

void lm_free(lm_model_t *m)
{
    if (!m) return;
    free(m->params_memory);
    free(m->grads_memory);
    free(m->m_memory);
    free(m->v_memory);
    free(m->decay_mask);
    free(m->acts_memory);
    free(m->scratch);
    free(m->infer_memory);
    free(m->inputs);
    free(m->targets);
    memset(m, 0, sizeof *m);
}

dq_err_t lm_forward(lm_model_t *m, const uint8_t *tokens, const uint8_t *targets, int B,
                    float *loss)
{
    if (!m || !m->params_memory || !tokens) return DQ_EINVAL;
    const lm_config_t *cfg = &m->cfg;
    if (B < 1 || B > cfg->max_batch) return DQ_ERANGE;
    const int T = cfg->max_seq, C = cfg->channels, V = cfg->vocab, NH = cfg->heads, L = cfg->layers;
    const int N = B * T;
    const size_t BTmax = (size_t)cfg->max_batch * T;
    for (int i = 0; i < N; i++) {
        if (tokens[i] >= V || (targets && targets[i] >= V)) return DQ_ERANGE;
        m->inputs[i] = tokens[i];
        m->targets[i] = targets ? targets[i] : 0;
    }
    m->last_B = B;
    m->have_targets = targets != NULL;

    const lm_params_t *p = &m->params;
    const lm_acts_t *a = &m->acts;
    lm_encoder_forward(a->encoded, m->inputs, p->wte, p->wpe, B, T, C);
    const float *x = a->encoded;
    for (int l = 0; l < L; l++) {
        const size_t lc = (size_t)l * BTmax * C, lr = (size_t)l * BTmax;
        float *ln1 = a->ln1 + lc, *qkv = a->qkv + 3 * lc, *atty = a->atty + lc;
        float *att = a->att + (size_t)l * BTmax * NH * T;
        float *res2 = a->residual2 + lc, *ln2 = a->ln2 + lc, *fch = a->fch + 4 * lc;
        float *fchg = a->fch_gelu + 4 * lc, *res3 = a->residual3 + lc;
        lm_layernorm_forward(ln1, a->ln1_mean + lr, a->ln1_rstd + lr, x, p->ln1w + l * C,
                             p->ln1b + l * C, N, C);
        lm_matmul_forward(qkv, ln1, p->qkvw + (size_t)l * 3 * C * C, p->qkvb + l * 3 * C, N, C,
                          3 * C);
        if (m->attn_gemm)
            lm_attention_forward_gemm(atty, att, qkv, B, T, C, NH);
        else
            lm_attention_forward(atty, att, m->scratch, qkv, B, T, C, NH);
        /* residual2 = x + attproj(atty): x + bias first, the sgemm adds into it */
        lm_residual_bias(res2, x, p->attprojb + l * C, N, C);
        lm_matmul_forward_acc(res2, atty, p->attprojw + (size_t)l * C * C, N, C, C);
        lm_layernorm_forward(ln2, a->ln2_mean + lr, a->ln2_rstd + lr, res2, p->ln2w + l * C,
                             p->ln2b + l * C, N, C);
        lm_matmul_forward(fch, ln2, p->fcw + (size_t)l * 4 * C * C, p->fcb + l * 4 * C, N, C,
                          4 * C);
        lm_gelu_forward(fchg, fch, N * 4 * C);
        lm_residual_bias(res3, res2, p->fcprojb + l * C, N, C);
        lm_matmul_forward_acc(res3, fchg, p->fcprojw + (size_t)l * 4 * C * C, N, 4 * C, C);
        x = res3;
    }
    lm_layernorm_forward(a->lnf, a->lnf_mean, a->lnf_rstd, x, p->lnfw, p->lnfb, N, C);
    lm_matmul_forward(a->logits, a->lnf, p->wte, NULL, N, C, V);
    lm_softmax_xent_forward(a->probs, targets ? a->losses : NULL, a->logits,
                            targets ? m->targets : NULL, N, V);
    if (targets) {
        double s = 0.0;
        for (int i = 0; i < N; i++) s += a->losses[i];
        m->mean_loss = (float)(s / N);
        if (loss) *loss = m->mean_loss;
    } else {
        m->mean_loss = -1.0f;
    }
    return DQ_OK;
}

/* One chunk of lm_eval_loss (B sequences in m->inputs/targets): the forward
 * of lm_forward with the same kernels in the same order (so the losses are
 * the same), but on one layer's buffers updated in place, attention one
 * sequence at a time, and no probabilities; losses summed in double. */
static void eval_chunk(lm_model_t *m, int B, double *sum)
{
    const lm_config_t *cfg = &m->cfg;
    const int T = cfg->max_seq, C = cfg->channels, V = cfg->vocab, NH = cfg->heads, L = cfg->layers;
    const int N = B * T;
    const size_t R = (size_t)m->infer_batch * T;
    const lm_params_t *p = &m->params;
    float *x = m->infer_memory, *ln = x + R * C, *qkv = ln + R * C, *atty = qkv + R * 3 * C;
    float *fch = atty + R * C, *logits = fch + R * 4 * C, *losses = logits + R * V;
    float *mean = losses + R, *rstd = mean + R, *att = rstd + R;
    float *work = att + (size_t)NH * T * T, *xwork = work + LM_ATTN_WORK(T, C / NH);
    lm_encoder_forward(x, m->inputs, p->wte, p->wpe, B, T, C);
    for (int l = 0; l < L; l++) {
        lm_layernorm_forward(ln, mean, rstd, x, p->ln1w + l * C, p->ln1b + l * C, N, C);
        lm_matmul_forward(qkv, ln, p->qkvw + (size_t)l * 3 * C * C, p->qkvb + l * 3 * C, N, C,
                          3 * C);
        for (int b = 0; b < B; b++) {
            const float *qb = qkv + (size_t)b * T * 3 * C;
            float *yb = atty + (size_t)b * T * C;
            if (m->attn_gemm)
                lm_attention_forward_gemm(yb, att, qb, 1, T, C, NH);
            else
                lm_attention_forward(yb, att, work, qb, 1, T, C, NH);
        }
        lm_residual_bias(x, x, p->attprojb + l * C, N, C);
        lm_matmul_forward_acc(x, atty, p->attprojw + (size_t)l * C * C, N, C, C);
        lm_layernorm_forward(ln, mean, rstd, x, p->ln2w + l * C, p->ln2b + l * C, N, C);
        lm_matmul_forward(fch, ln, p->fcw + (size_t)l * 4 * C * C, p->fcb + l * 4 * C, N, C, 4 * C);
        lm_gelu_forward(fch, fch, N * 4 * C);
        lm_residual_bias(x, x, p->fcprojb + l * C, N, C);
        lm_matmul_forward_acc(x, fch, p->fcprojw + (size_t)l * 4 * C * C, N, 4 * C, C);
    }
    lm_layernorm_forward(ln, mean, rstd, x, p->lnfw, p->lnfb, N, C);
    lm_matmul_forward(logits, ln, p->wte, NULL, N, C, V);
    lm_xent_loss_forward(losses, xwork, logits, m->targets, N, V);
    for (int i = 0; i < N; i++) *sum += losses[i];
}

dq_err_t lm_eval_loss(lm_model_t *m, const uint8_t *tokens, const uint8_t *targets, int n,
                      double *loss)
{
    if (!m || !m->params_memory || !tokens || !targets || !loss) return DQ_EINVAL;
    const lm_config_t *cfg = &m->cfg;
    if (n < 1) return DQ_ERANGE;
    const int T = cfg->max_seq, V = cfg->vocab;
    for (size_t i = 0; i < (size_t)n * (size_t)T; i++)
        if (tokens[i] >= V || targets[i] >= V) return DQ_ERANGE;
    m->last_B = 0; /* the activations no longer belong to a training forward */
    m->have_targets = 0;
    double sum = 0.0;
    for (int b0 = 0; b0 < n; b0 += m->infer_batch) {
        const int B = n - b0 < m->infer_batch ? n - b0 : m->infer_batch;
        const size_t off = (size_t)b0 * (size_t)T;
        for (int i = 0; i < B * T; i++) {
            m->inputs[i] = tokens[off + (size_t)i];
            m->targets[i] = targets[off + (size_t)i];
        }
        eval_chunk(m, B, &sum);
    }
    *loss = sum / ((double)n * T);
    return DQ_OK;
}

dq_err_t lm_backward(lm_model_t *m)
{
    if (!m || !m->params_memory || m->last_B < 1 || !m->have_targets) return DQ_EINVAL;
    const lm_config_t *cfg = &m->cfg;
    const int B = m->last_B, T = cfg->max_seq, C = cfg->channels, V = cfg->vocab, NH = cfg->heads,
              L = cfg->layers;
    const int N = B * T;
    const size_t BTmax = (size_t)cfg->max_batch * T, NC = (size_t)N * C;
    const size_t Nmax = BTmax;
    float *dres = m->scratch, *dln = dres + Nmax * C, *datty = dln + Nmax * C;
    float *dqkv = datty + Nmax * C, *dfch = dqkv + Nmax * 3 * C, *dfchg = dfch + Nmax * 4 * C;
    float *dlogits = dfchg + Nmax * 4 * C;
    float *attwork = dlogits + Nmax * V;
    const lm_params_t *p = &m->params;
    const lm_params_t *g = &m->grads;
    const lm_acts_t *a = &m->acts;

    memset(m->grads_memory, 0, m->num_params * sizeof(float));
    lm_softmax_xent_backward_set(dlogits, a->probs, m->targets, N, V);
    lm_matmul_backward_set(dln, g->wte, NULL, dlogits, a->lnf, p->wte, N, C, V);
    const float *xL = L > 0 ? a->residual3 + (size_t)(L - 1) * BTmax * C : a->encoded;
    memset(dres, 0, NC * sizeof(float));
    lm_layernorm_backward(dres, g->lnfw, g->lnfb, dln, xL, p->lnfw, a->lnf_mean, a->lnf_rstd, N, C);
    for (int l = L - 1; l >= 0; l--) {
        const size_t lc = (size_t)l * BTmax * C, lr = (size_t)l * BTmax;
        const float *x = l == 0 ? a->encoded : a->residual3 + (size_t)(l - 1) * BTmax * C;
        const float *ln1 = a->ln1 + lc, *qkv = a->qkv + 3 * lc, *atty = a->atty + lc;
        const float *att = a->att + (size_t)l * BTmax * NH * T;
        const float *res2 = a->residual2 + lc, *ln2 = a->ln2 + lc, *fch = a->fch + 4 * lc;
        const float *fchg = a->fch_gelu + 4 * lc;
        /* MLP branch: dres is the gradient of residual3 = residual2 + fcproj. */
        lm_matmul_backward_set(dfchg, g->fcprojw + (size_t)l * 4 * C * C, g->fcprojb + l * C, dres,
                               fchg, p->fcprojw + (size_t)l * 4 * C * C, N, 4 * C, C);
        lm_gelu_backward_set(dfch, fch, dfchg, N * 4 * C);
        lm_matmul_backward_set(dln, g->fcw + (size_t)l * 4 * C * C, g->fcb + l * 4 * C, dfch, ln2,
                               p->fcw + (size_t)l * 4 * C * C, N, C, 4 * C);
        lm_layernorm_backward(dres, g->ln2w + l * C, g->ln2b + l * C, dln, res2, p->ln2w + l * C,
                              a->ln2_mean + lr, a->ln2_rstd + lr, N, C);
        /* Attention branch: dres is now the gradient of residual2 = x + attproj. */
        lm_matmul_backward_set(datty, g->attprojw + (size_t)l * C * C, g->attprojb + l * C, dres,
                               atty, p->attprojw + (size_t)l * C * C, N, C, C);
        if (m->attn_gemm) {
            lm_attention_backward_gemm_set(dqkv, attwork, datty, qkv, att, B, T, C, NH);
        } else {
            memset(dqkv, 0, NC * 3 * sizeof(float));
            lm_attention_backward(dqkv, attwork, datty, qkv, att, B, T, C, NH);
        }
        lm_matmul_backward_set(dln, g->qkvw + (size_t)l * 3 * C * C, g->qkvb + l * 3 * C, dqkv, ln1,
                               p->qkvw + (size_t)l * 3 * C * C, N, C, 3 * C);
        lm_layernorm_backward(dres, g->ln1w + l * C, g->ln1b + l * C, dln, x, p->ln1w + l * C,
                              a->ln1_mean + lr, a->ln1_rstd + lr, N, C);
    }
    lm_encoder_backward(g->wte, g->wpe, dres, m->inputs, B, T, C);
    return DQ_OK;
}

float lm_grad_norm(const lm_model_t *m)
{
    if (!m || !m->grads_memory) return 0.0f;
    return (float)sqrt(lm_sum_squares(m->grads_memory, m->num_params));
}

float lm_clip_grad_norm(lm_model_t *m, float max_norm)
{
    const float norm = lm_grad_norm(m);
    if (!m || !m->grads_memory || !isfinite(norm) || max_norm <= 0.0f || norm <= max_norm)
        return norm;
    const float scale = max_norm / norm;
    for (size_t i = 0; i < m->num_params; i++) m->grads_memory[i] *= scale;
    return norm;
}

lm_adamw_config_t lm_adamw_default(void)
{
    lm_adamw_config_t o = {.beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.0f};
    return o;
}

dq_err_t lm_adamw_step(lm_model_t *m, const lm_adamw_config_t *opt, float lr,
                       lm_step_stats_t *stats)
{
    if (!m || !m->params_memory || !opt) return DQ_EINVAL;
    if (!isfinite(lr) || lr < 0.0f || !(opt->beta1 >= 0.0f && opt->beta1 < 1.0f) ||
        !(opt->beta2 >= 0.0f && opt->beta2 < 1.0f) || !(opt->eps > 0.0f) ||
        !(opt->weight_decay >= 0.0f) || !isfinite(opt->weight_decay))
        return DQ_EINVAL;
    m->step++;
    const float b1 = opt->beta1, b2 = opt->beta2, eps = opt->eps, wd = opt->weight_decay;
    const float bc1 = 1.0f - (float)pow(b1, (double)m->step);
    const float bc2 = 1.0f - (float)pow(b2, (double)m->step);
    /* update = lr * mhat / (sqrt(vhat) + eps), folded into per-step constants */
    const float step_m = lr / bc1, inv_sqrt_bc2 = 1.0f / sqrtf(bc2);
    /* One vectorised pass over the contiguous arrays; the decay mask selects
     * the matrices. */
    const lm_adamw_consts_t k = {.beta1 = b1,
                                 .beta2 = b2,
                                 .eps = eps,
                                 .step_m = step_m,
                                 .inv_sqrt_bc2 = inv_sqrt_bc2,
                                 .decay = lr * wd};
    double sum_p2 = 0.0, sum_u2 = 0.0;
    lm_adamw_update(m->params_memory, m->grads_memory, m->m_memory, m->v_memory, m->decay_mask,
                    m->num_params, &k, &sum_p2, &sum_u2);
    if (stats) {
        const double n = (double)m->num_params;
        stats->param_rms = (float)sqrt(sum_p2 / n);
        stats->update_rms = (float)sqrt(sum_u2 / n);
        stats->update_ratio = stats->param_rms > 0.0f ? stats->update_rms / stats->param_rms : 0.0f;
    }
    return DQ_OK;
}

void lm_optimizer_reset(lm_model_t *m)
{
    if (!m || !m->m_memory) return;
    memset(m->m_memory, 0, m->num_params * sizeof(float));
    memset(m->v_memory, 0, m->num_params * sizeof(float));
    m->step = 0;
}

static int same_shape(const lm_config_t *a, const lm_config_t *b)
{
    return a->vocab == b->vocab && a->max_seq == b->max_seq && a->channels == b->channels &&
           a->layers == b->layers && a->heads == b->heads;
}

dq_err_t lm_copy_weights(lm_model_t *dst, const lm_model_t *src)
{
    if (!dst || !src || !dst->params_memory || !src->params_memory) return DQ_EINVAL;
    if (!same_shape(&dst->cfg, &src->cfg)) return DQ_ESHAPE;
    if (dst != src) memcpy(dst->params_memory, src->params_memory, src->num_params * sizeof(float));
    return DQ_OK;
}

double lm_flops_per_token(const lm_config_t *cfg)
{
    const double V = cfg->vocab, T = cfg->max_seq, C = cfg->channels, L = cfg->layers;
    /* per layer: qkv 3C^2, attproj C^2, fc 4C^2, fcproj 4C^2 multiply-adds;
     * attention: q.k and att.v over on average (T+1)/2 keys, C each. */
    const double per_layer = 12.0 * C * C + 2.0 * C * (T + 1.0) / 2.0;
    return 2.0 * (L * per_layer + C * V);
}

/* ---- checkpoints ------------------------------------------------------------------- */

dq_err_t lm_save(const lm_model_t *m, const char *path, char *why, size_t why_len)
{
    if (!m || !m->params_memory || !path) {
        set_why(why, why_len, "no model or path");
        return DQ_EINVAL;
    }
    dq_atomic_file_t af;
    int rc = dq_atomic_open(&af, path);
    if (rc < 0) {
        set_why(why, why_len, "%s", af.err);
        return (dq_err_t)rc;
    }
    unsigned char buf[4096];
    dq_put_le32(buf, LM_MAGIC);
    dq_put_le32(buf + 4, LM_VERSION);
    const int dims[5] = {m->cfg.vocab, m->cfg.max_seq, m->cfg.channels, m->cfg.layers,
                         m->cfg.heads};
    for (int i = 0; i < 5; i++) dq_put_le32(buf + 8 + 4 * i, (uint32_t)dims[i]);
    dq_put_le64(buf + 28, (uint64_t)m->num_params);
    dq_atomic_write(&af, buf, LM_HEADER_BYTES);
    dq_atomic_write_floats(&af, m->params_memory, m->num_params);
    rc = dq_atomic_commit_hashed(&af);
    if (rc < 0) set_why(why, why_len, "%s", af.err);
    return (dq_err_t)rc;
}

/* Checks a header (LM_HEADER_BYTES) and extracts the shape. */
static dq_err_t parse_header(const unsigned char *hdr, const char *path, lm_config_t *cfg,
                             uint64_t *np, char *why, size_t why_len)
{
    if (dq_get_le32(hdr) != LM_MAGIC) {
        set_why(why, why_len, "%s: bad magic 0x%08x, not an LM checkpoint", path,
                (unsigned)dq_get_le32(hdr));
        return DQ_EFORMAT;
    }
    if (dq_get_le32(hdr + 4) != LM_VERSION) {
        set_why(why, why_len, "%s: checkpoint version %u, this build reads version %u", path,
                (unsigned)dq_get_le32(hdr + 4), LM_VERSION);
        return DQ_EVERSION;
    }
    cfg->vocab = (int)dq_get_le32(hdr + 8);
    cfg->max_seq = (int)dq_get_le32(hdr + 12);
    cfg->channels = (int)dq_get_le32(hdr + 16);
    cfg->layers = (int)dq_get_le32(hdr + 20);
    cfg->heads = (int)dq_get_le32(hdr + 24);
    cfg->max_batch = 1;
    *np = dq_get_le64(hdr + 28);
    char reason[160];
    if (lm_config_check(cfg, reason, sizeof reason) != DQ_OK) {
        set_why(why, why_len, "%s: invalid shape in header: %s", path, reason);
        return DQ_EFORMAT;
    }
    if (*np != lm_num_params(cfg)) {
        set_why(why, why_len, "%s: header says %llu parameters, its shape needs %zu", path,
                (unsigned long long)*np, lm_num_params(cfg));
        return DQ_EFORMAT;
    }
    return DQ_OK;
}

dq_err_t lm_checkpoint_config(const char *path, lm_config_t *cfg, char *why, size_t why_len)
{
    if (!path || !cfg) {
        set_why(why, why_len, "no path or config");
        return DQ_EINVAL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_why(why, why_len, "cannot open %s: %s", path, strerror(errno));
        return DQ_EIO;
    }
    unsigned char hdr[LM_HEADER_BYTES];
    const size_t got = fread(hdr, 1, LM_HEADER_BYTES, f);
    struct stat st;
    const int have_size = fstat(fileno(f), &st) == 0;
    fclose(f);
    if (got != LM_HEADER_BYTES) {
        set_why(why, why_len, "%s: truncated header (not an LM checkpoint)", path);
        return DQ_EFORMAT;
    }
    uint64_t np;
    lm_config_t c;
    dq_err_t rc = parse_header(hdr, path, &c, &np, why, why_len);
    if (rc != DQ_OK) return rc;
    /* The file must hold what the header promises before anyone allocates a
     * model of that shape (a 44-byte file could otherwise ask for gigabytes). */
    const uint64_t want = LM_HEADER_BYTES + np * 4 + 8;
    if (have_size && (uint64_t)st.st_size != want) {
        set_why(why, why_len, "%s: %s (%llu bytes, its header's shape needs %llu)", path,
                (uint64_t)st.st_size < want ? "truncated" : "trailing bytes after the checksum",
                (unsigned long long)st.st_size, (unsigned long long)want);
        return DQ_EFORMAT;
    }
    *cfg = c;
    return DQ_OK;
}

dq_err_t lm_load(lm_model_t *m, const char *path, char *why, size_t why_len)
{
    if (!m || !m->params_memory || !path) {
        set_why(why, why_len, "no model or path");
        return DQ_EINVAL;
    }
    lm_config_t c;
    dq_err_t rc = lm_checkpoint_config(path, &c, why, why_len);
    if (rc != DQ_OK) return rc;
    if (!same_shape(&c, &m->cfg)) {
        set_why(why, why_len,
                "%s: checkpoint shape V=%d T=%d C=%d L=%d NH=%d does not match the model's "
                "V=%d T=%d C=%d L=%d NH=%d",
                path, c.vocab, c.max_seq, c.channels, c.layers, c.heads, m->cfg.vocab,
                m->cfg.max_seq, m->cfg.channels, m->cfg.layers, m->cfg.heads);
        return DQ_ESHAPE;
    }
    const size_t np = m->num_params, want = LM_HEADER_BYTES + np * 4 + 8;
    void *data = NULL;
    size_t len = 0;
    char reason[256];
    int r = dq_file_read_all(path, want, &data, &len, reason, sizeof reason);
    if (r == DQ_ETOOBIG) {
        set_why(why, why_len, "%s: trailing bytes after the checksum (expected %zu bytes)", path,
                want);
        return DQ_EFORMAT;
    }
    if (r < 0) {
        set_why(why, why_len, "%s", reason);
        return (dq_err_t)r;
    }
    const unsigned char *b = data;
    if (len != want) {
        set_why(why, why_len, "%s: truncated (%zu bytes, expected %zu)", path, len, want);
        rc = DQ_EFORMAT;
        goto fail;
    }
    if (dq_fnv1a64(b, want - 8, DQ_FNV1A64_INIT) != dq_get_le64(b + want - 8)) {
        set_why(why, why_len, "%s: checksum mismatch (file corrupt)", path);
        rc = DQ_ECHECKSUM;
        goto fail;
    }
    b += LM_HEADER_BYTES;
    for (size_t i = 0; i < np; i++) {
        uint32_t u = dq_get_le32(b + 4 * i);
        float v;
        memcpy(&v, &u, 4);
        if (!isfinite(v)) {
            set_why(why, why_len, "%s: parameter %zu is not finite", path, i);
            rc = DQ_ENONFINITE;
            goto fail;
        }
    }
    for (size_t i = 0; i < np; i++) {
        uint32_t u = dq_get_le32(b + 4 * i);
        memcpy(&m->params_memory[i], &u, 4);
    }
    lm_optimizer_reset(m);
    rc = DQ_OK;
fail:
    free(data);
    return rc;
}
