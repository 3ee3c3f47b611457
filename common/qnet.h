/* qnet.h - the Q-network: a ReLU MLP on OpenBLAS, its gradients, and Adam.
 *
 * Numeric state is transparent: all parameters live in one allocation carved
 * into per-layer views, gradients in a second of the same layout (the layout
 * of the WEIGHTS message blob): for each dense layer l, W[l] (in, out)
 * row-major, then b[l] (out).
 *
 *   dq_qnet_t net;  dq_qnet_ws_t ws;
 *   int sizes[] = {obs_dim, 64, 64, n_actions};
 *   dq_qnet_init(&net, sizes, 3, &rng);
 *   dq_qnet_ws_init(&ws, &net, 256);
 *   dq_qnet_forward(&net, &ws, x, B, q);          // q (B, n_actions)
 *   dq_qnet_zero_grad(&net);
 *   dq_qnet_backward(&net, &ws, dq, B);           // net.grads += dL/dparams
 *   dq_adam_step(net.params, net.grads, net.m, net.v, net.n_params, &adam, ++t);
 *
 * Every matrix product goes through cblas_sgemm. Processes use one BLAS thread
 * (dq_blas_single_thread, blasenv.h) unless the user set OPENBLAS_NUM_THREADS.
 *
 * A workspace holds the activations of one forward, which backward uses: a
 * learner that evaluates s' with the online net (double DQN) either does so
 * before the forward on s or uses a second workspace.
 *
 * Functions returning int return 0 or a negative dq_err_t (err.h).
 */
#ifndef DQ_QNET_H
#define DQ_QNET_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "wire.h"

typedef struct {
    int n_layers;                      /* dense layers */
    int sizes[DQ_QNET_MAX_LAYERS + 1]; /* sizes[0] = obs_dim, sizes[n_layers] = n_actions */
    size_t n_params;
    float *params;                 /* (n_params) */
    float *grads;                  /* (n_params), accumulated with += */
    float *m, *v;                  /* (n_params) Adam moments */
    float *W[DQ_QNET_MAX_LAYERS];  /* (sizes[l], sizes[l+1]) views into params */
    float *b[DQ_QNET_MAX_LAYERS];  /* (sizes[l+1]) */
    float *dW[DQ_QNET_MAX_LAYERS]; /* views into grads */
    float *db[DQ_QNET_MAX_LAYERS];
    /* Dueling head: the last layer has n_actions + 1 outputs (V, A_1..A_n)
     * and Q_a = V + A_a - mean(A); forward and backward handle it. */
    int dueling;
} dq_qnet_t;

/* Activations kept by forward for backward. */
typedef struct {
    int max_batch;
    float *act[DQ_QNET_MAX_LAYERS + 1]; /* act[l] (B, sizes[l]); act[0] a copy of the input */
    float *dact[2];                     /* two (B, max width) scratch buffers */
    float *mem;
} dq_qnet_ws_t;

typedef struct {
    float lr, beta1, beta2, eps;
} dq_adam_t;

/* Largest layer width dq_qnet_init accepts. */
#define DQ_QNET_MAX_WIDTH 65536

/* He-uniform weights (U(-sqrt(6/fan_in), +sqrt(6/fan_in))), zero biases,
 * zero grads and Adam moments. params, grads, m and v share one 64-byte
 * aligned allocation owned by params. 1 <= n_layers <= DQ_QNET_MAX_LAYERS,
 * 1 <= sizes[i] <= DQ_QNET_MAX_WIDTH, else DQ_EINVAL; DQ_ENOMEM. On failure
 * *net is zeroed. */
int dq_qnet_init(dq_qnet_t *net, const int *sizes, int n_layers, dq_rng_t *rng);
/* Frees and zeroes; safe on a zeroed net and twice. */
void dq_qnet_free(dq_qnet_t *net);
/* DQ_EINVAL unless max_batch >= 1; DQ_ENOMEM. On failure *ws is zeroed. */
int dq_qnet_ws_init(dq_qnet_ws_t *ws, const dq_qnet_t *net, int max_batch);
void dq_qnet_ws_free(dq_qnet_ws_t *ws);

/* q (B, n_actions) = net(x (B, sizes[0])); DQ_EINVAL unless 1 <= B <=
 * ws->max_batch. Keeps the activations in ws for backward. */
int dq_qnet_forward(const dq_qnet_t *net, dq_qnet_ws_t *ws, const float *x, int B, float *q);
/* Given dL/dq (B, n_actions) for the last forward with ws (same B), adds
 * dL/dparams to grads; DQ_EINVAL unless 1 <= B <= ws->max_batch. */
int dq_qnet_backward(dq_qnet_t *net, dq_qnet_ws_t *ws, const float *dq, int B);
void dq_qnet_zero_grad(dq_qnet_t *net);
/* Scales grads so their global L2 norm is at most max_norm (0 = no clip);
 * returns the norm before clipping (computed in double). A non-finite norm
 * is returned without scaling anything: the caller reports DQ_EDIVERGED. */
float dq_qnet_clip_grad(dq_qnet_t *net, float max_norm);

/* One Adam step with bias correction; t is the 1-based step count:
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *   p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps). */
void dq_adam_step(float *params, const float *grads, float *m, float *v, size_t n,
                  const dq_adam_t *adam, uint64_t t);

/* Copies parameters (not moments) between nets of the same shape; DQ_ESHAPE
 * otherwise. */
int dq_qnet_copy_params(dq_qnet_t *dst, const dq_qnet_t *src);
/* Fills a WEIGHTS message that points into net->params (no copy; do not
 * dq_msg_clear it). */
void dq_qnet_to_weights(const dq_qnet_t *net, uint64_t version, uint64_t step, dq_weights_t *w);
/* Loads parameters from a received WEIGHTS message; DQ_ESHAPE if the shapes
 * (n_layers, each (in, out), n_floats) differ from net's, DQ_EINVAL if blob is
 * NULL. net is unchanged on error. */
int dq_qnet_from_weights(dq_qnet_t *net, const dq_weights_t *w);

/* Versioned binary file, all integers and floats little-endian
 * (docs/controller.md has it byte by byte):
 *   "DQNQNET1" (8 bytes), u32 format version (DQ_QNET_FILE_VERSION),
 *   u32 flags (DQ_QNET_FLAG_DUELING),
 *   u32 n_layers, u32 sizes[n_layers + 1], u64 n_params, f32 params[n_params]
 *   (the layout above), u32 desc_len, u8 desc[desc_len] (UTF-8 text, no NUL:
 *   what the net controls, ctldesc.h; desc_len 0 = none), u64 FNV-1a
 *   (fileio.h) of every byte before it.
 * Version 2 is the same without desc_len and desc; it is still read.
 * Parameters only: Adam moments are not saved. Written atomically through
 * fileio.h (temporary file, fsync, rename); DQ_EIO on failure, the old file
 * is then intact. */
#define DQ_QNET_FILE_MAGIC "DQNQNET1"
#define DQ_QNET_FILE_VERSION 3u
#define DQ_QNET_FLAG_DUELING 1u
#define DQ_QNET_DESC_MAX_BYTES (1u << 20)
/* Saves with no description. */
int dq_qnet_save(const dq_qnet_t *net, const char *path);
/* Saves with the description desc (NUL-terminated; NULL = none); DQ_ETOOBIG
 * past DQ_QNET_DESC_MAX_BYTES. */
int dq_qnet_save_desc(const dq_qnet_t *net, const char *desc, const char *path);
/* Initialises *net from the file, allocating as dq_qnet_init does (zero
 * grads and moments); the caller frees it with dq_qnet_free. *net must not
 * hold an initialised net (it is overwritten). Refuses with a reason in why
 * and DQ_EFORMAT (bad magic, unsupported version, truncated or trailing
 * bytes, inconsistent sizes), DQ_ECHECKSUM, DQ_EIO, DQ_ETOOBIG or DQ_ENOMEM;
 * on any error *net is zeroed (never half loaded; dq_qnet_free on it is a
 * no-op). */
int dq_qnet_load(dq_qnet_t *net, const char *path, char *why, size_t whylen);
/* Same, and *desc receives a malloc'd NUL-terminated copy of the file's
 * description (NULL when it has none: desc_len 0 or a version-2 file; also
 * NULL on error). The caller frees it. */
int dq_qnet_load_desc(dq_qnet_t *net, const char *path, char **desc, char *why, size_t whylen);

/* The shape block both the Q-network file and the learner checkpoint carry
 * after their magic and version: u32 flags, u32 n_layers,
 * u32 sizes[n_layers + 1], u64 n_params (little-endian). */
#define DQ_QNET_SHAPE_MAX_BYTES (4 + 4 + 4 * (DQ_QNET_MAX_LAYERS + 1) + 8)
typedef struct {
    int n_layers, dueling;
    int sizes[DQ_QNET_MAX_LAYERS + 1];
    size_t n_params;
    size_t bytes; /* length of the block */
} dq_qnet_shape_t;
/* Writes net's shape block to out (DQ_QNET_SHAPE_MAX_BYTES); returns its length. */
size_t dq_qnet_shape_put(const dq_qnet_t *net, unsigned char *out);
/* Parses and checks a shape block from len bytes at p (unknown flags, layer
 * count, widths, n_params against the sizes, a dueling head's outputs);
 * DQ_EFORMAT with a reason naming `where` otherwise. */
int dq_qnet_shape_get(const unsigned char *p, size_t len, const char *where, dq_qnet_shape_t *s,
                      char *why, size_t whylen);
/* Whether a parsed shape is net's (layers, sizes, dueling head). */
int dq_qnet_shape_matches(const dq_qnet_t *net, const dq_qnet_shape_t *s);

/* Layer sizes for an MLP from obs_dim, a hidden-width list such as "64,64"
 * (the dqn.hidden key) and n_actions; sizes needs DQ_QNET_MAX_LAYERS + 1
 * entries. DQ_ECONFIG for a malformed list or too many layers. */
int dq_qnet_sizes(const char *hidden, int obs_dim, int n_actions, int *sizes, int *n_layers);

/* Turns the dueling head on (needs >= 3 outputs: V and >= 2 advantages). */
int dq_qnet_set_dueling(dq_qnet_t *net, int on);
/* Number of Q-values the net outputs per row. */
int dq_qnet_n_actions(const dq_qnet_t *net);
/* Allocates and initialises a Q-network obs_dim -> hidden -> n_actions
 * (dqn.hidden, dqn.dueling); on error writes a reason naming the key. */
int dq_qnet_build(dq_qnet_t *net, const char *hidden, int dueling, int obs_dim, int n_actions,
                  dq_rng_t *rng, char *why, size_t whylen);

#endif
