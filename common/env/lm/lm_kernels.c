/* lm_kernels.c - per-layer forward/backward kernels of the transformer LM.
 *
 * See lm_kernels.h for shapes and the accumulate-into-gradients convention.
 * Matrix products use cblas_sgemm (row-major); attention is plain loops over a
 * transposed copy of K and V per (batch, head), so the inner loops run along
 * the keys and vectorise. exp and GELU use a polynomial exp (lm_expf, about
 * 2 ulp) instead of libm's expf/tanhf, which were 40% of a step. The hot
 * loops are compiled twice (AVX2 and baseline x86-64) and picked at load
 * time (GCC target_clones), since the build does not use -march=native.
 */
#include "lm_kernels.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* The clamps in lm_expf are selects that GCC only if-converts (and so
 * vectorises) when FP compares are not treated as trapping; clang's default. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(__SANITIZE_ADDRESS__)
#define LM_VEC __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define LM_VEC
#endif

/* e^x for x in [-87, 88] (clamped outside), Cephes-style: x = n ln2 + r,
 * |r| <= ln2/2, degree-6 polynomial for e^r, 2^n by building the exponent
 * bits. Branch-free so that loops calling it vectorise. */
static inline float lm_expf(float x)
{
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    const float t = x * 1.44269504088896341f + magic;
    const float n = t - magic;
    uint32_t tb;
    memcpy(&tb, &t, 4);
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const uint32_t eb = (tb - 0x4B400000u + 127u) << 23; /* n + 127 in [1, 254] */
    float sc;
    memcpy(&sc, &eb, 4);
    return p * sc;
}

/* Reductions in LM_LANES independent partial sums (then added in a fixed
 * order), so that they vectorise without reassociation flags: the sum of a
 * row is the same in every clone and every caller (training forward,
 * inference, tests). */
#define LM_LANES 16
static inline float lanes_total(const float *acc)
{
    float s = 0.0f;
    for (int j = 0; j < LM_LANES; j++) s += acc[j];
    return s;
}

static inline float row_sum(const float *x, int n)
{
    float acc[LM_LANES] = {0};
    int i = 0;
    for (; i + LM_LANES <= n; i += LM_LANES)
        for (int j = 0; j < LM_LANES; j++) acc[j] += x[i + j];
    for (int j = 0; i < n; i++, j++) acc[j] += x[i];
    return lanes_total(acc);
}

static inline float row_max(const float *x, int n)
{
    float acc[LM_LANES];
    for (int j = 0; j < LM_LANES; j++) acc[j] = x[0];
    int i = 0;
    for (; i + LM_LANES <= n; i += LM_LANES)
        for (int j = 0; j < LM_LANES; j++) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
    for (int j = 0; i < n; i++, j++) acc[j] = x[i] > acc[j] ? x[i] : acc[j];
    float m = acc[0];
    for (int j = 1; j < LM_LANES; j++) m = acc[j] > m ? acc[j] : m;
    return m;
}

/* sum_i x[i] y[i] */
static inline float row_dot(const float *x, const float *y, int n)
{
    float acc[LM_LANES] = {0};
    int i = 0;
    for (; i + LM_LANES <= n; i += LM_LANES)
        for (int j = 0; j < LM_LANES; j++) acc[j] += x[i + j] * y[i + j];
    for (int j = 0; i < n; i++, j++) acc[j] += x[i] * y[i];
    return lanes_total(acc);
}

/* sum_i (x[i] - m)^2 */
static inline float row_sqdev(const float *x, float m, int n)
{
    float acc[LM_LANES] = {0};
    int i = 0;
    for (; i + LM_LANES <= n; i += LM_LANES)
        for (int j = 0; j < LM_LANES; j++) {
            const float d = x[i + j] - m;
            acc[j] += d * d;
        }
    for (int j = 0; i < n; i++, j++) {
        const float d = x[i] - m;
        acc[j] += d * d;
    }
    return lanes_total(acc);
}

void lm_encoder_forward(float *out, const int *inp, const float *wte, const float *wpe, int B,
                        int T, int C)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *o = out + ((size_t)b * T + t) * C;
            const float *we = wte + (size_t)inp[b * T + t] * C;
            const float *pe = wpe + (size_t)t * C;
            for (int i = 0; i < C; i++) o[i] = we[i] + pe[i];
        }
}

void lm_encoder_backward(float *dwte, float *dwpe, const float *dout, const int *inp, int B, int T,
                         int C)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *d = dout + ((size_t)b * T + t) * C;
            float *dwe = dwte + (size_t)inp[b * T + t] * C;
            float *dpe = dwpe + (size_t)t * C;
            for (int i = 0; i < C; i++) {
                dwe[i] += d[i];
                dpe[i] += d[i];
            }
        }
}

LM_VEC
void lm_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                          const float *b, int N, int C)
{
    const float eps = 1e-5f;
    for (int n = 0; n < N; n++) {
        const float *restrict x = inp + (size_t)n * C;
        float *restrict o = out + (size_t)n * C;
        const float m = row_sum(x, C) / (float)C;
        const float v = row_sqdev(x, m, C) / (float)C;
        const float s = 1.0f / sqrtf(v + eps);
        for (int i = 0; i < C; i++) o[i] = (x[i] - m) * s * w[i] + b[i];
        mean[n] = m;
        rstd[n] = s;
    }
}

/* One row of the layernorm backward once its two means are known. */
static inline void ln_backward_row(float *restrict dx, float *restrict dw, float *restrict db,
                                   const float *restrict d, const float *restrict x,
                                   const float *restrict w, float m, float s, float dnorm_mean,
                                   float dnorm_norm_mean, int C)
{
    for (int i = 0; i < C; i++) {
        const float norm = (x[i] - m) * s;
        const float dnorm = w[i] * d[i];
        db[i] += d[i];
        dw[i] += norm * d[i];
        dx[i] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * s;
    }
}

LM_VEC
void lm_layernorm_backward(float *dinp, float *dw_, float *db_, const float *dout, const float *inp,
                           const float *w, const float *mean, const float *rstd, int N, int C)
{
    /* the outputs are distinct from each other and from the inputs; without
     * restrict GCC gives up on alias checks for six arrays and stays scalar */
    float *restrict dw = dw_, *restrict db = db_;
    for (int n = 0; n < N; n++) {
        const float *restrict d = dout + (size_t)n * C;
        const float *restrict x = inp + (size_t)n * C;
        float *restrict dx = dinp + (size_t)n * C;
        const float m = mean[n], s = rstd[n];
        float am[LM_LANES] = {0}, anm[LM_LANES] = {0};
        int i0 = 0;
        for (; i0 + LM_LANES <= C; i0 += LM_LANES)
            for (int j = 0; j < LM_LANES; j++) {
                const float norm = (x[i0 + j] - m) * s;
                const float dnorm = w[i0 + j] * d[i0 + j];
                am[j] += dnorm;
                anm[j] += dnorm * norm;
            }
        for (int j = 0; i0 < C; i0++, j++) {
            const float norm = (x[i0] - m) * s;
            const float dnorm = w[i0] * d[i0];
            am[j] += dnorm;
            anm[j] += dnorm * norm;
        }
        const float dnorm_mean = lanes_total(am) / (float)C;
        const float dnorm_norm_mean = lanes_total(anm) / (float)C;
        ln_backward_row(dx, dw, db, d, x, w, m, s, dnorm_mean, dnorm_norm_mean, C);
    }
}

void lm_matmul_forward(float *out, const float *inp, const float *w, const float *bias, int N,
                       int IC, int OC)
{
    float beta = 0.0f;
    if (bias) {
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OC, bias, (size_t)OC * sizeof(float));
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, IC, 1.0f, inp, IC, w, IC, beta, out,
                OC);
}

/* db (OC) += column sums of d (N, OC). */
LM_VEC
static void col_sums_add(float *restrict db, const float *restrict d, int N, int OC)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) db[o] += d[(size_t)n * OC + o];
}

static void matmul_backward(float *dinp, float dinp_beta, float *dw, float *dbias,
                            const float *dout, const float *inp, const float *w, int N, int IC,
                            int OC)
{
    if (dinp)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, IC, OC, 1.0f, dout, OC, w, IC,
                    dinp_beta, dinp, IC);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, IC, N, 1.0f, dout, OC, inp, IC, 1.0f,
                dw, IC);
    if (dbias) col_sums_add(dbias, dout, N, OC);
}

void lm_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                        const float *w, int N, int IC, int OC)
{
    matmul_backward(dinp, 1.0f, dw, dbias, dout, inp, w, N, IC, OC);
}

void lm_matmul_backward_set(float *dinp, float *dw, float *dbias, const float *dout,
                            const float *inp, const float *w, int N, int IC, int OC)
{
    matmul_backward(dinp, 0.0f, dw, dbias, dout, inp, w, N, IC, OC);
}

/* K^T and V^T of one (batch, head): kt, vt (hs, T) from inp (T, 3C). */
static void gather_kv(float *kt, float *vt, const float *inp, int T, int C, int hs, int h)
{
    const int C3 = 3 * C;
    for (int t = 0; t < T; t++) {
        const float *k = inp + (size_t)t * C3 + C + h * hs, *v = k + C;
        for (int i = 0; i < hs; i++) {
            kt[(size_t)i * T + t] = k[i];
            vt[(size_t)i * T + t] = v[i];
        }
    }
}

/* Softmax over the first n entries of an attention row of T (the keys a
 * causal query sees), zeros after them. Inlined into each vectorised clone. */
static inline void softmax_causal_row(float *a, int n, int T)
{
    const float maxv = row_max(a, n);
    for (int t2 = 0; t2 < n; t2++) a[t2] = lm_expf(a[t2] - maxv);
    const float inv = 1.0f / row_sum(a, n);
    for (int t2 = 0; t2 < n; t2++) a[t2] *= inv;
    for (int t2 = n; t2 < T; t2++) a[t2] = 0.0f;
}

LM_VEC
void lm_attention_forward(float *out, float *att, float *work, const float *inp, int B, int T,
                          int C, int NH)
{
    const int C3 = 3 * C, hs = C / NH;
    const float scale = 1.0f / sqrtf((float)hs);
    float *kt = work, *vt = work + (size_t)hs * T;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const float *x = inp + (size_t)b * T * C3;
            gather_kv(kt, vt, x, T, C, hs, h);
            for (int t = 0; t < T; t++) {
                const float *q = x + (size_t)t * C3 + h * hs;
                float *a = att + (((size_t)b * NH + h) * T + t) * T;
                const int n = t + 1; /* keys 0..t */
                for (int t2 = 0; t2 < n; t2++) a[t2] = 0.0f;
                for (int i = 0; i < hs; i++) {
                    const float qi = q[i] * scale;
                    const float *kr = kt + (size_t)i * T;
                    for (int t2 = 0; t2 < n; t2++) a[t2] += qi * kr[t2];
                }
                softmax_causal_row(a, n, T);
                /* o = sum_t2 a[t2] v[t2], as axpys along the head (a sum
                 * along t2 would be a reduction GCC does not vectorise) */
                float *o = out + ((size_t)b * T + t) * C + h * hs;
                for (int i = 0; i < hs; i++) o[i] = 0.0f;
                for (int t2 = 0; t2 < n; t2++) {
                    const float p = a[t2];
                    const float *v = x + (size_t)t2 * C3 + 2 * C + h * hs;
                    for (int i = 0; i < hs; i++) o[i] += p * v[i];
                }
            }
        }
}

LM_VEC
void lm_attention_backward(float *dinp, float *work, const float *dout, const float *inp,
                           const float *att, int B, int T, int C, int NH)
{
    const int C3 = 3 * C, hs = C / NH;
    const float scale = 1.0f / sqrtf((float)hs);
    /* kt, vt (hs, T); dkt, dvt (hs, T) gradients of K^T, V^T; datt (T) */
    float *kt = work, *vt = kt + (size_t)hs * T, *dkt = vt + (size_t)hs * T;
    float *dvt = dkt + (size_t)hs * T, *datt = dvt + (size_t)hs * T;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const float *x = inp + (size_t)b * T * C3;
            float *dx = dinp + (size_t)b * T * C3;
            gather_kv(kt, vt, x, T, C, hs, h);
            memset(dkt, 0, sizeof(float) * 2 * (size_t)hs * T);
            for (int t = 0; t < T; t++) {
                const float *a = att + (((size_t)b * NH + h) * T + t) * T;
                const float *d = dout + ((size_t)b * T + t) * C + h * hs;
                const float *q = x + (size_t)t * C3 + h * hs;
                float *dq = dx + (size_t)t * C3 + h * hs;
                const int n = t + 1;
                /* out = sum_t2 a[t2] v[t2]: gradients of a and v */
                for (int t2 = 0; t2 < n; t2++) datt[t2] = 0.0f;
                for (int i = 0; i < hs; i++) {
                    const float di = d[i];
                    const float *vr = vt + (size_t)i * T;
                    float *dvr = dvt + (size_t)i * T;
                    for (int t2 = 0; t2 < n; t2++) {
                        datt[t2] += di * vr[t2];
                        dvr[t2] += di * a[t2];
                    }
                }
                float adot = 0.0f;
                for (int t2 = 0; t2 < n; t2++) adot += a[t2] * datt[t2];
                /* softmax backward: gradient of the scaled scores */
                for (int t2 = 0; t2 < n; t2++) datt[t2] = a[t2] * (datt[t2] - adot) * scale;
                for (int i = 0; i < hs; i++) {
                    const float qi = q[i];
                    float *dkr = dkt + (size_t)i * T;
                    for (int t2 = 0; t2 < n; t2++) dkr[t2] += datt[t2] * qi;
                }
                for (int t2 = 0; t2 < n; t2++) {
                    const float g = datt[t2];
                    const float *k = x + (size_t)t2 * C3 + C + h * hs;
                    for (int i = 0; i < hs; i++) dq[i] += g * k[i];
                }
            }
            for (int t = 0; t < T; t++) {
                float *dk = dx + (size_t)t * C3 + C + h * hs, *dv = dk + C;
                for (int i = 0; i < hs; i++) {
                    dk[i] += dkt[(size_t)i * T + t];
                    dv[i] += dvt[(size_t)i * T + t];
                }
            }
        }
}

/* The same attention with cblas_sgemm per (batch, head) and causal block of
 * queries: S = scale Q K^T and O = A V over the keys each block sees, which
 * wins once T * hs is large enough that BLAS beats the loops' short causal
 * rows. work: T*T floats (backward). */
LM_VEC
static void softmax_causal_rows(float *att, int T)
{
    for (int t = 0; t < T; t++) softmax_causal_row(att + (size_t)t * T, t + 1, T);
}

/* Causal blocking (LM_ATTN_BLOCK, lm_kernels.h): query block [r0, r1) sees
 * keys [0, r1) only, so the products skip the blocks above the diagonal (3/4
 * of the full T x T at two blocks, 5/8 at four). */

void lm_attention_forward_gemm(float *out, float *att, const float *inp, int B, int T, int C,
                               int NH)
{
    const int C3 = 3 * C, hs = C / NH;
    const float scale = 1.0f / sqrtf((float)hs);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const float *q = inp + (size_t)b * T * C3 + h * hs, *k = q + C, *v = q + 2 * C;
            float *a = att + ((size_t)b * NH + h) * T * T;
            float *o = out + (size_t)b * T * C + h * hs;
            for (int r0 = 0; r0 < T; r0 += LM_ATTN_BLOCK) {
                const int r1 = r0 + LM_ATTN_BLOCK < T ? r0 + LM_ATTN_BLOCK : T;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, r1, hs, scale,
                            q + (size_t)r0 * C3, C3, k, C3, 0.0f, a + (size_t)r0 * T, T);
            }
            softmax_causal_rows(a, T); /* zeroes the entries above the diagonal */
            for (int r0 = 0; r0 < T; r0 += LM_ATTN_BLOCK) {
                const int r1 = r0 + LM_ATTN_BLOCK < T ? r0 + LM_ATTN_BLOCK : T;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, hs, r1, 1.0f,
                            a + (size_t)r0 * T, T, v, C3, 0.0f, o + (size_t)r0 * C, C);
            }
        }
}

LM_VEC
static void softmax_causal_backward_rows(float *ds, const float *att, int T, float scale)
{
    for (int t = 0; t < T; t++) {
        const float *a = att + (size_t)t * T;
        float *d = ds + (size_t)t * T;
        const int n = t + 1;
        const float adot = row_dot(a, d, n);
        for (int t2 = 0; t2 < n; t2++) d[t2] = a[t2] * (d[t2] - adot) * scale;
        for (int t2 = n; t2 < T; t2++) d[t2] = 0.0f;
    }
}

/* One (batch, head) of the sgemm attention backward, causally blocked as the
 * forward: ds (T, T) work. */
static void attention_backward_head(float *dq, float *dk, float *dv, float *ds, const float *q,
                                    const float *k, const float *v, const float *a, const float *d,
                                    int T, int C, int hs, float scale, float beta)
{
    const int C3 = 3 * C, TB = LM_ATTN_BLOCK;
    for (int r0 = 0; r0 < T; r0 += TB) { /* dA = dO V^T, rows [r0, r1), keys [0, r1) */
        const int r1 = r0 + TB < T ? r0 + TB : T;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, r1, hs, 1.0f,
                    d + (size_t)r0 * C, C, v, C3, 0.0f, ds + (size_t)r0 * T, T);
    }
    for (int c0 = 0; c0 < T; c0 += TB) { /* dV = A^T dO: keys [c0, c1) from queries >= c0 */
        const int c1 = c0 + TB < T ? c0 + TB : T;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c1 - c0, hs, T - c0, 1.0f,
                    a + (size_t)c0 * T + c0, T, d + (size_t)c0 * C, C, beta, dv + (size_t)c0 * C3,
                    C3);
    }
    softmax_causal_backward_rows(ds, a, T, scale); /* zeros above the diagonal */
    for (int r0 = 0; r0 < T; r0 += TB) {           /* dQ = dS K */
        const int r1 = r0 + TB < T ? r0 + TB : T;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, hs, r1, 1.0f,
                    ds + (size_t)r0 * T, T, k, C3, beta, dq + (size_t)r0 * C3, C3);
    }
    for (int c0 = 0; c0 < T; c0 += TB) { /* dK = dS^T Q */
        const int c1 = c0 + TB < T ? c0 + TB : T;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c1 - c0, hs, T - c0, 1.0f,
                    ds + (size_t)c0 * T + c0, T, q + (size_t)c0 * C3, C3, beta,
                    dk + (size_t)c0 * C3, C3);
    }
}

/* beta 1: dinp += gradient; beta 0: dinp = gradient (each block of dq, dk, dv
 * is written by exactly one product per (batch, head)). */
static void attention_backward_gemm(float *dinp, float *work, const float *dout, const float *inp,
                                    const float *att, int B, int T, int C, int NH, float beta)
{
    const int C3 = 3 * C, hs = C / NH;
    const float scale = 1.0f / sqrtf((float)hs);
    float *ds = work; /* (T, T): gradient of A, then of the scaled scores */
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const size_t qo = (size_t)b * T * C3 + h * hs;
            const float *q = inp + qo;
            float *dq = dinp + qo;
            attention_backward_head(dq, dq + C, dq + 2 * C, ds, q, q + C, q + 2 * C,
                                    att + ((size_t)b * NH + h) * T * T,
                                    dout + (size_t)b * T * C + h * hs, T, C, hs, scale, beta);
        }
}

void lm_attention_backward_gemm(float *dinp, float *work, const float *dout, const float *inp,
                                const float *att, int B, int T, int C, int NH)
{
    attention_backward_gemm(dinp, work, dout, inp, att, B, T, C, NH, 1.0f);
}

void lm_attention_backward_gemm_set(float *dinp, float *work, const float *dout, const float *inp,
                                    const float *att, int B, int T, int C, int NH)
{
    attention_backward_gemm(dinp, work, dout, inp, att, B, T, C, NH, 0.0f);
}

#define GELU_SCALE 0.7978845608028654f /* sqrt(2/pi) */

/* 0.5 x (1 + tanh u) = x sigmoid(2u), so one exp per element. */
LM_VEC
void lm_gelu_forward(float *out, const float *inp, int n)
{
    for (int i = 0; i < n; i++) {
        const float x = inp[i];
        const float u = GELU_SCALE * (x + 0.044715f * x * x * x);
        /* x * s rather than x / (1 + e): GCC turns the division into two (one
         * for lm_expf's clamped case) and divisions dominate the loop */
        const float s = 1.0f / (1.0f + lm_expf(-2.0f * u));
        out[i] = x * s;
    }
}

/* With s = sigmoid(2u): d/dx = s + 2 x s (1 - s) du/dx. */
static inline float gelu_grad(float x)
{
    const float u = GELU_SCALE * (x + 0.044715f * x * x * x);
    const float s = 1.0f / (1.0f + lm_expf(-2.0f * u));
    const float du = GELU_SCALE * (1.0f + 3.0f * 0.044715f * x * x);
    return s + 2.0f * x * s * (1.0f - s) * du;
}

LM_VEC
void lm_gelu_backward(float *dinp, const float *inp, const float *dout, int n)
{
    for (int i = 0; i < n; i++) dinp[i] += gelu_grad(inp[i]) * dout[i];
}

LM_VEC
void lm_gelu_backward_set(float *dinp, const float *inp, const float *dout, int n)
{
    for (int i = 0; i < n; i++) dinp[i] = gelu_grad(inp[i]) * dout[i];
}

void lm_residual_forward(float *out, const float *a, const float *b, int n)
{
    for (int i = 0; i < n; i++) out[i] = a[i] + b[i];
}

LM_VEC
void lm_residual_bias(float *out, const float *x, const float *bias, int N, int C)
{
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * C;
        float *o = out + (size_t)n * C;
        for (int i = 0; i < C; i++) o[i] = xr[i] + bias[i];
    }
}

void lm_matmul_forward_acc(float *out, const float *inp, const float *w, int N, int IC, int OC)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, IC, 1.0f, inp, IC, w, IC, 1.0f, out,
                OC);
}

/* AdamW on elements [j0, j0 + len): moments, parameters, and each element's
 * p^2 (before) and update^2 into p2, u2 (len floats). */
static inline void adamw_block(float *restrict p, const float *restrict g, float *restrict m,
                               float *restrict v, const unsigned char *restrict mask, size_t j0,
                               size_t len, const lm_adamw_consts_t *k, float *restrict p2,
                               float *restrict u2)
{
    const float b1 = k->beta1, b2 = k->beta2, sm = k->step_m, isb = k->inv_sqrt_bc2, eps = k->eps;
    const float dec = k->decay;
    for (size_t i = 0; i < len; i++) {
        const size_t j = j0 + i;
        const float gj = g[j];
        const float mj = b1 * m[j] + (1.0f - b1) * gj;
        const float vj = b2 * v[j] + (1.0f - b2) * gj * gj;
        m[j] = mj;
        v[j] = vj;
        const float pj = p[j];
        const float u = sm * mj / (sqrtf(vj) * isb + eps) + dec * (float)mask[j] * pj;
        p2[i] = pj * pj;
        u2[i] = u * u;
        p[j] = pj - u;
    }
}

LM_VEC
double lm_sum_squares(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t j0 = 0; j0 < n; j0 += 512) {
        const int len = (int)(n - j0 < 512 ? n - j0 : 512);
        s += (double)row_sqdev(x + j0, 0.0f, len);
    }
    return s;
}

/* Blocks of AdamW elements whose squares are summed in float (row_sum's
 * lanes) before going into the double totals. */
#define LM_ADAMW_BLOCK 512

LM_VEC
void lm_adamw_update(float *p, const float *g, float *m, float *v, const unsigned char *mask,
                     size_t n, const lm_adamw_consts_t *k, double *sum_p2, double *sum_u2)
{
    float p2[LM_ADAMW_BLOCK], u2[LM_ADAMW_BLOCK];
    double sp = 0.0, su = 0.0;
    for (size_t j0 = 0; j0 < n; j0 += LM_ADAMW_BLOCK) {
        const size_t len = n - j0 < LM_ADAMW_BLOCK ? n - j0 : LM_ADAMW_BLOCK;
        adamw_block(p, g, m, v, mask, j0, len, k, p2, u2);
        sp += (double)row_sum(p2, (int)len);
        su += (double)row_sum(u2, (int)len);
    }
    *sum_p2 = sp;
    *sum_u2 = su;
}

/* One row of softmax cross-entropy: p (may be NULL: not written) = softmax(z),
 * returns -log p[target] (target < 0: 0). The same arithmetic for training and
 * inference, so their losses agree exactly. */
static inline float xent_row(float *p, const float *z, int target, int V, float *ework)
{
    const float maxv = row_max(z, V);
    float *e = p ? p : ework;
    for (int i = 0; i < V; i++) e[i] = lm_expf(z[i] - maxv);
    const float sum = row_sum(e, V);
    if (p) {
        const float inv = 1.0f / sum;
        for (int i = 0; i < V; i++) p[i] *= inv;
    }
    return target >= 0 ? logf(sum) - (z[target] - maxv) : 0.0f;
}

LM_VEC
void lm_softmax_xent_forward(float *probs, float *losses, const float *logits, const int *targets,
                             int N, int V)
{
    for (int n = 0; n < N; n++) {
        const float l = xent_row(probs + (size_t)n * V, logits + (size_t)n * V,
                                 targets && losses ? targets[n] : -1, V, NULL);
        if (targets && losses) losses[n] = l;
    }
}

LM_VEC
void lm_xent_loss_forward(float *losses, float *work, const float *logits, const int *targets,
                          int N, int V)
{
    for (int n = 0; n < N; n++)
        losses[n] = xent_row(NULL, logits + (size_t)n * V, targets[n], V, work);
}

void lm_softmax_xent_backward(float *dlogits, const float *probs, const int *targets, int N, int V)
{
    const float inv = 1.0f / (float)N;
    for (int n = 0; n < N; n++) {
        const float *p = probs + (size_t)n * V;
        float *d = dlogits + (size_t)n * V;
        for (int i = 0; i < V; i++) d[i] += p[i] * inv;
        d[targets[n]] -= inv;
    }
}

LM_VEC
void lm_softmax_xent_backward_set(float *dlogits, const float *probs, const int *targets, int N,
                                  int V)
{
    const float inv = 1.0f / (float)N;
    for (int n = 0; n < N; n++) {
        const float *p = probs + (size_t)n * V;
        float *d = dlogits + (size_t)n * V;
        for (int i = 0; i < V; i++) d[i] = p[i] * inv;
        d[targets[n]] -= inv;
    }
}
