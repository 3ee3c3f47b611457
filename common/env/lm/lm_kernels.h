/* lm_kernels.h - forward and backward kernels of the transformer LM, per layer.
 *
 * llm.c conventions: raw pointers and sizes, outputs first; N = B*T rows.
 * Backward kernels ACCUMULATE (+=) into every gradient output (dinp, dw, db),
 * so callers zero them first; this is what lets a residual stream sum the
 * gradients of its two branches. Matrix products go through cblas_sgemm.
 * Used by lm_model.c and checked one by one against finite differences in
 * tests/test_lm_model.c.
 */
#ifndef DQ_LM_KERNELS_H
#define DQ_LM_KERNELS_H

#include <stddef.h>

/* out (B,T,C) = wte[inp[b,t]] + wpe[t]; inp (B,T), wte (V,C), wpe (T,C). */
void lm_encoder_forward(float *out, const int *inp, const float *wte, const float *wpe, int B,
                        int T, int C);
void lm_encoder_backward(float *dwte, float *dwpe, const float *dout, const int *inp, int B, int T,
                         int C);

/* out (N,C) = (inp - mean) * rstd * w + b per row, eps 1e-5; mean, rstd (N). */
void lm_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                          const float *b, int N, int C);
void lm_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                           const float *w, const float *mean, const float *rstd, int N, int C);

/* out (N,OC) = inp (N,IC) · w^T + bias; w (OC,IC); bias (OC) or NULL. */
void lm_matmul_forward(float *out, const float *inp, const float *w, const float *bias, int N,
                       int IC, int OC);
/* dinp (N,IC) += dout·w; dw (OC,IC) += dout^T·inp; dbias (OC) += column sums
 * of dout. dinp or dbias may be NULL to skip them. */
void lm_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                        const float *w, int N, int IC, int OC);
/* The same with dinp written (=) instead of accumulated (no zeroing first). */
void lm_matmul_backward_set(float *dinp, float *dw, float *dbias, const float *dout,
                            const float *inp, const float *w, int N, int IC, int OC);

/* Causal multi-head attention. inp (B,T,3C) holds q,k,v (each C = NH heads of
 * hs = C/NH), out (B,T,C), att (B,NH,T,T) softmax of q·k/sqrt(hs) over keys
 * t2 <= t (entries t2 > t are set to 0); exp is a polynomial (about 2 ulp). */
void lm_attention_forward(float *out, float *att, float *work, const float *inp, int B, int T,
                          int C, int NH);
/* dinp (B,T,3C) += gradient. work: scratch of LM_ATTN_WORK(T, C/NH) floats
 * (the forward needs less: 2*hs*T). */
#define LM_ATTN_WORK(T, hs) ((size_t)(4 * (size_t)(hs) + 1) * (size_t)(T))
/* The same on sgemm per (batch, head) and causal block of LM_ATTN_BLOCK
 * queries (each block's products only over the keys [0, block end) it sees),
 * identical results up to rounding. work: T*T floats (backward only). */
#define LM_ATTN_BLOCK 32
void lm_attention_forward_gemm(float *out, float *att, const float *inp, int B, int T, int C,
                               int NH);
void lm_attention_backward_gemm(float *dinp, float *work, const float *dout, const float *inp,
                                const float *att, int B, int T, int C, int NH);
/* The same with dinp written (=) instead of accumulated (no zeroing first). */
void lm_attention_backward_gemm_set(float *dinp, float *work, const float *dout, const float *inp,
                                    const float *att, int B, int T, int C, int NH);
void lm_attention_backward(float *dinp, float *work, const float *dout, const float *inp,
                           const float *att, int B, int T, int C, int NH);

/* GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
void lm_gelu_forward(float *out, const float *inp, int n);
/* dinp += dout * gelu'(inp). */
void lm_gelu_backward(float *dinp, const float *inp, const float *dout, int n);
/* dinp = dout * gelu'(inp) (written, not accumulated: no zeroing first). */
void lm_gelu_backward_set(float *dinp, const float *inp, const float *dout, int n);

/* out += inp, n floats (residual connection forward is out = a + b). */
void lm_residual_forward(float *out, const float *a, const float *b, int n);

/* out (N,C) = x + bias per row: the residual stream plus a projection's bias,
 * into which the projection's sgemm then adds (lm_matmul_forward_acc). */
void lm_residual_bias(float *out, const float *x, const float *bias, int N, int C);
/* out (N,OC) += inp (N,IC) · w^T. */
void lm_matmul_forward_acc(float *out, const float *inp, const float *w, int N, int IC, int OC);

/* One AdamW pass over n contiguous parameters (see lm_adamw_step): per-step
 * constants, decay = lr * weight_decay applied where mask[j] is 1. Returns the
 * sums of p^2 (before the step) and of the update^2. */
typedef struct {
    float beta1, beta2, eps, step_m, inv_sqrt_bc2, decay;
} lm_adamw_consts_t;
void lm_adamw_update(float *p, const float *g, float *m, float *v, const unsigned char *mask,
                     size_t n, const lm_adamw_consts_t *k, double *sum_p2, double *sum_u2);

/* sum of x[i]^2 (float partial sums over blocks of 512, added in double). */
double lm_sum_squares(const float *x, size_t n);

/* Softmax of logits (N,V) into probs, losses (N) = -log probs[target]. */
void lm_softmax_xent_forward(float *probs, float *losses, const float *logits, const int *targets,
                             int N, int V);
/* Gradient of mean(losses) w.r.t. logits: dlogits (N,V) += (probs - onehot) / N.
 * (N here is the number of positions the mean is taken over.) */
/* Inference: losses (N) = -log softmax(logits)[target] without storing the
 * probabilities (the same arithmetic as lm_softmax_xent_forward); work: V floats. */
void lm_xent_loss_forward(float *losses, float *work, const float *logits, const int *targets,
                          int N, int V);
void lm_softmax_xent_backward(float *dlogits, const float *probs, const int *targets, int N, int V);
/* The same, written (=) instead of accumulated. */
void lm_softmax_xent_backward_set(float *dlogits, const float *probs, const int *targets, int N,
                                  int V);

#endif
