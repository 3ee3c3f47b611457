/* lm_model.h - a tiny decoder-only transformer language model, trained with AdamW.
 *
 * Byte-level (vocab 256) GPT in the style of llm.c, every matrix product on
 * OpenBLAS cblas_sgemm, no allocation after lm_init:
 *
 *   tokens (B,T) -> wte[tok] + wpe[t]                       x: (B,T,C)
 *   for each of L blocks:
 *     x += attproj( causal_mha( qkv( LN1(x) ) ) )           NH heads of C/NH
 *     x += fcproj( gelu_tanh( fc( LN2(x) ) ) )              hidden 4C
 *   logits = LNf(x) wte^T                                   (B,T,V), tied weights
 *   loss = mean over B*T of -log softmax(logits)[target]
 *
 * Typical use (one optimizer step; the caller owns the batch arrays):
 *
 *   lm_config_t cfg = lm_config_default();   // then set sizes
 *   lm_model_t m;
 *   dq_err_t rc = lm_init(&m, &cfg, &rng);   // random weights, zeroed optimizer
 *   float loss;
 *   rc = lm_forward(&m, tokens, targets, B, &loss);   // B <= cfg.max_batch
 *   rc = lm_backward(&m);                              // grads of that forward
 *   float gnorm = lm_clip_grad_norm(&m, 1.0f);         // norm before clipping
 *   lm_adamw_config_t opt = lm_adamw_default();
 *   lm_step_stats_t st;
 *   rc = lm_adamw_step(&m, &opt, lr, &st);              // st.update_ratio etc.
 *   lm_free(&m);
 *
 * Validation: lm_eval_loss on any number of sequences (inference: in chunks
 * of up to 2048 positions through one layer's buffers), so the model need
 * only be sized for the training batch.
 * The model struct is transparent numeric state (llm.c style): parameters,
 * gradients and AdamW moments are each one contiguous float array of
 * num_params floats with the same layout (lm_params_t describes the views), so
 * callers may read/copy grads_memory (e.g. gradient alignment between steps).
 * Not thread-safe per model; distinct models are independent.
 */
#ifndef DQ_LM_MODEL_H
#define DQ_LM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "rng.h"

/* Sizes. Constraints (lm_config_check): vocab in [2,256] (tokens are bytes and
 * must be < vocab), max_seq >= 1, channels >= 1 and divisible by heads,
 * layers >= 1, heads >= 1, max_batch >= 1; total sizes must fit in memory. */
typedef struct {
    int vocab;     /* V: 256 for bytes */
    int max_seq;   /* T: context length; every forward uses exactly T positions */
    int channels;  /* C: model width */
    int layers;    /* L: transformer blocks */
    int heads;     /* NH: attention heads; head size hs = C / NH */
    int max_batch; /* B: the largest batch a forward accepts (sizes activations) */
} lm_config_t;

/* Parameter tensors, views into one contiguous array (order = memory order).
 * Linear weights are stored (out, in), as in PyTorch's nn.Linear. */
#define LM_NUM_PARAM_TENSORS 16
typedef struct {
    float *wte;      /* (V, C)       token embedding, also the output projection */
    float *wpe;      /* (T, C)       learned position embedding */
    float *ln1w;     /* (L, C)       LayerNorm before attention: gain */
    float *ln1b;     /* (L, C)       and bias */
    float *qkvw;     /* (L, 3C, C)   rows [0,C) query, [C,2C) key, [2C,3C) value */
    float *qkvb;     /* (L, 3C) */
    float *attprojw; /* (L, C, C)    attention output projection (residual) */
    float *attprojb; /* (L, C) */
    float *ln2w;     /* (L, C)       LayerNorm before the MLP */
    float *ln2b;     /* (L, C) */
    float *fcw;      /* (L, 4C, C)   MLP up-projection */
    float *fcb;      /* (L, 4C) */
    float *fcprojw;  /* (L, C, 4C)   MLP down-projection (residual) */
    float *fcprojb;  /* (L, C) */
    float *lnfw;     /* (C)          final LayerNorm */
    float *lnfb;     /* (C) */
} lm_params_t;

/* Activations of the last forward, sized for max_batch; the layer-indexed ones
 * are laid out (L, max_batch, T, ...) and a forward with B < max_batch uses the
 * first B*T rows of each layer's slice. Exposed for tests and inspection. */
typedef struct {
    float *encoded;   /* (B, T, C)        wte[tok] + wpe */
    float *ln1;       /* (L, B, T, C) */
    float *ln1_mean;  /* (L, B, T) */
    float *ln1_rstd;  /* (L, B, T) */
    float *qkv;       /* (L, B, T, 3C) */
    float *atty;      /* (L, B, T, C)     attention output, heads concatenated */
    float *att;       /* (L, B, NH, T, T) softmax probabilities (0 above diagonal) */
    float *residual2; /* (L, B, T, C)     x after the attention residual (the
                                             projection's sgemm adds into x + bias) */
    float *ln2;       /* (L, B, T, C) */
    float *ln2_mean;  /* (L, B, T) */
    float *ln2_rstd;  /* (L, B, T) */
    float *fch;       /* (L, B, T, 4C)    pre-GELU */
    float *fch_gelu;  /* (L, B, T, 4C) */
    float *residual3; /* (L, B, T, C)     x after the MLP residual = block output */
    float *lnf;       /* (B, T, C) */
    float *lnf_mean;  /* (B, T) */
    float *lnf_rstd;  /* (B, T) */
    float *logits;    /* (B, T, V) */
    float *probs;     /* (B, T, V)        softmax(logits) */
    float *losses;    /* (B, T)           per-position -log p(target) */
} lm_acts_t;

/* AdamW hyper-parameters (the learning rate is passed per step). Weight decay
 * is decoupled (p -= lr * wd * p) and applies only to matrices: wte, wpe,
 * qkvw, attprojw, fcw, fcprojw; never to LayerNorm gains/biases or biases. */
typedef struct {
    float beta1;        /* 0.9 */
    float beta2;        /* 0.95 */
    float eps;          /* 1e-8 */
    float weight_decay; /* 0.0 by default; e.g. 0.1 */
} lm_adamw_config_t;

/* What one AdamW step did, for the environment's observation. RMS values are
 * over all parameters: update_rms = sqrt(mean(delta^2)) with delta the full
 * change applied to the parameters (Adam part + weight decay), param_rms the
 * parameters' RMS before the step, update_ratio = update_rms / param_rms
 * (0 when param_rms == 0). */
typedef struct {
    float update_rms;
    float param_rms;
    float update_ratio;
} lm_step_stats_t;

typedef struct {
    lm_config_t cfg;
    size_t num_params;
    size_t param_sizes[LM_NUM_PARAM_TENSORS]; /* floats per tensor, memory order */
    float *params_memory;                     /* num_params floats */
    float *grads_memory;       /* num_params floats, same layout; written by lm_backward */
    float *m_memory;           /* AdamW first moment, same layout */
    float *v_memory;           /* AdamW second moment, same layout */
    lm_params_t params;        /* views into params_memory */
    lm_params_t grads;         /* views into grads_memory (the "d" tensors) */
    unsigned char *decay_mask; /* num_params bytes: 1 where weight decay applies */
    size_t num_acts;
    float *acts_memory; /* num_acts floats */
    lm_acts_t acts;
    float *scratch;      /* backward work buffers (one allocation, internal) */
    int *inputs;         /* (max_batch, T) tokens of the last forward */
    int *targets;        /* (max_batch, T) targets of the last forward */
    int last_B;          /* batch of the last forward, 0 if none */
    int have_targets;    /* the last forward had targets (backward allowed) */
    float mean_loss;     /* loss of the last forward (-1 if no targets) */
    long step;           /* AdamW steps taken (for bias correction) */
    int attn_gemm;       /* attention on sgemm per (batch, head) (1) or loops (0);
                             set by lm_init from lm_attention_prefers_gemm(), may be
                             changed between steps (same results up to rounding) */
    float *infer_memory; /* lm_eval_loss buffers (internal): one layer, infer_batch rows */
    int infer_batch;     /* sequences per lm_eval_loss chunk (>= max_batch) */
} lm_model_t;

/* Context length from which attention on sgemm beats the loops (measured). */
#define LM_ATTN_GEMM_MIN_T 32
int lm_attention_prefers_gemm(const lm_config_t *cfg);

/* Defaults: V=256, T=32, C=32, L=1, NH=4, max_batch=8. */
lm_config_t lm_config_default(void);
/* DQ_OK or DQ_EINVAL / DQ_ERANGE; why (may be NULL) gets a one-line reason. */
dq_err_t lm_config_check(const lm_config_t *cfg, char *why, size_t why_len);
/* Parameter count of a valid config (0 if invalid). */
size_t lm_num_params(const lm_config_t *cfg);

/* Allocates everything and initialises weights from rng: all matrices and
 * embeddings N(0, 0.02), residual projections (attprojw, fcprojw) N(0,
 * 0.02/sqrt(2L)), biases 0, LayerNorm gains 1. Gradients, moments, step = 0.
 * On error *m is left zeroed (lm_free on it is safe). */
dq_err_t lm_init(lm_model_t *m, const lm_config_t *cfg, dq_rng_t *rng);
/* Frees everything and zeroes *m; safe on a zeroed or already-freed model. */
void lm_free(lm_model_t *m);

/* Forward on tokens (B, T) row-major, each < vocab. targets (B, T) may be NULL
 * (then only logits/probs are computed and *loss is not written). With targets,
 * *loss (may be NULL) = mean cross-entropy in nats; also stored in m->mean_loss.
 * 1 <= B <= max_batch, else DQ_ERANGE; a token or target >= vocab: DQ_ERANGE.
 * A non-finite loss is returned as computed (DQ_OK); the caller decides. */
dq_err_t lm_forward(lm_model_t *m, const uint8_t *tokens, const uint8_t *targets, int B,
                    float *loss);
/* Inference-only mean cross-entropy (nats) of n >= 1 sequences tokens/targets
 * (n, T): runs them in chunks of infer_batch (2048 positions, fewer for wide
 * models whose buffers would pass 64 MiB, at least max_batch sequences)
 * through the same kernels as lm_forward, on its own
 * one-layer buffers updated in place (no probabilities, attention one
 * sequence at a time); nothing is kept for a backward (lm_backward
 * afterwards is DQ_EINVAL). Losses are
 * summed in double. DQ_ERANGE for n < 1 or a token/target >= vocab; a
 * non-finite loss is returned as computed. */
dq_err_t lm_eval_loss(lm_model_t *m, const uint8_t *tokens, const uint8_t *targets, int n,
                      double *loss);
/* Gradient of the last forward's mean loss w.r.t. every parameter, written to
 * grads_memory (zeroed first, then accumulated). DQ_EINVAL if the last forward
 * had no targets or there was none. */
dq_err_t lm_backward(lm_model_t *m);

/* Global L2 norm of grads_memory (double accumulation). */
float lm_grad_norm(const lm_model_t *m);
/* Scales the gradients so that their global norm is at most max_norm
 * (max_norm <= 0: no clipping). Returns the norm before clipping. If the norm
 * is not finite the gradients are left untouched (caller should treat it as
 * divergence). */
float lm_clip_grad_norm(lm_model_t *m, float max_norm);

/* beta1 0.9, beta2 0.95, eps 1e-8, weight_decay 0. */
lm_adamw_config_t lm_adamw_default(void);
/* One AdamW step with learning rate lr on the current gradients:
 *   t = ++step; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 *   p -= lr * ( (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps) + wd * mask * p )
 * stats may be NULL. DQ_EINVAL for lr < 0 or non-finite, bad betas/eps. */
dq_err_t lm_adamw_step(lm_model_t *m, const lm_adamw_config_t *opt, float lr,
                       lm_step_stats_t *stats);
/* Zeroes AdamW moments and the step counter (e.g. when starting a fine-tune). */
void lm_optimizer_reset(lm_model_t *m);

/* Copies parameters from src into dst (same config except max_batch, else
 * DQ_ESHAPE). Optimizer state of dst is left as it is. */
dq_err_t lm_copy_weights(lm_model_t *dst, const lm_model_t *src);

/* Checkpoint file, little-endian:
 *   u32 magic "DQLM" (0x4D4C5144), u32 version (1),
 *   i32 vocab, max_seq, channels, layers, heads, u64 num_params,
 *   f32 params[num_params], u64 FNV-1a 64 checksum of all preceding bytes.
 * max_batch is not stored (it is a runtime choice). Written atomically
 * (temporary file + rename). why (may be NULL) gets a one-line reason on error. */
dq_err_t lm_save(const lm_model_t *m, const char *path, char *why, size_t why_len);
/* Reads just the header of a checkpoint into *cfg (max_batch set to 1): for
 * sizing a model before lm_load. DQ_EIO, DQ_EFORMAT (also when the file's
 * length is not what the header's shape needs, so a corrupt header cannot
 * make the caller allocate a model the file does not hold), DQ_EVERSION. */
dq_err_t lm_checkpoint_config(const char *path, lm_config_t *cfg, char *why, size_t why_len);
/* Loads parameters into an initialised model whose config matches the file
 * (except max_batch). Refuses, with a reason and leaving m unchanged: missing
 * file (DQ_EIO), bad magic or truncated (DQ_EFORMAT), other version
 * (DQ_EVERSION), other shape (DQ_ESHAPE), checksum mismatch (DQ_ECHECKSUM),
 * non-finite values (DQ_ENONFINITE). Optimizer state is reset. */
dq_err_t lm_load(lm_model_t *m, const char *path, char *why, size_t why_len);

/* Forward FLOPs per token (matmuls and attention, multiply-add = 2), for
 * benchmarks; a training step costs about 3x forward. */
double lm_flops_per_token(const lm_config_t *cfg);

#endif
