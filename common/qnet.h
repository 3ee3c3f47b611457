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
 * (dq_blas_single_thread) unless the user set OPENBLAS_NUM_THREADS.
 */
#ifndef DQ_QNET_H
#define DQ_QNET_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "wire.h"

typedef struct {
    int n_layers;                        /* dense layers */
    int sizes[DQ_QNET_MAX_LAYERS + 1];   /* sizes[0] = obs_dim, sizes[n_layers] = n_actions */
    size_t n_params;
    float *params;                       /* (n_params) */
    float *grads;                        /* (n_params), accumulated with += */
    float *m, *v;                        /* (n_params) Adam moments */
    float *W[DQ_QNET_MAX_LAYERS];        /* (sizes[l], sizes[l+1]) views into params */
    float *b[DQ_QNET_MAX_LAYERS];        /* (sizes[l+1]) */
    float *dW[DQ_QNET_MAX_LAYERS];       /* views into grads */
    float *db[DQ_QNET_MAX_LAYERS];
} dq_qnet_t;

/* Activations kept by forward for backward. */
typedef struct {
    int max_batch;
    float *act[DQ_QNET_MAX_LAYERS + 1];  /* act[l] (B, sizes[l]); act[0] a copy of the input */
    float *dact[2];                      /* two (B, max width) scratch buffers */
    float *mem;
} dq_qnet_ws_t;

typedef struct {
    float lr, beta1, beta2, eps;
} dq_adam_t;

/* He-uniform weights, zero biases, zero Adam moments. */
int dq_qnet_init(dq_qnet_t *net, const int *sizes, int n_layers, dq_rng_t *rng);
void dq_qnet_free(dq_qnet_t *net);
int dq_qnet_ws_init(dq_qnet_ws_t *ws, const dq_qnet_t *net, int max_batch);
void dq_qnet_ws_free(dq_qnet_ws_t *ws);

/* q (B, n_actions) = net(x (B, sizes[0])); B <= ws->max_batch. */
void dq_qnet_forward(const dq_qnet_t *net, dq_qnet_ws_t *ws, const float *x, int B, float *q);
/* Given dL/dq (B, n_actions) for the last forward, adds dL/dparams to grads. */
void dq_qnet_backward(dq_qnet_t *net, dq_qnet_ws_t *ws, const float *dq, int B);
void dq_qnet_zero_grad(dq_qnet_t *net);
/* Scales grads so their global L2 norm is at most max_norm (0 = no clip);
 * returns the norm before clipping. */
float dq_qnet_clip_grad(dq_qnet_t *net, float max_norm);

/* One Adam step with bias correction; t is the 1-based step count. */
void dq_adam_step(float *params, const float *grads, float *m, float *v, size_t n,
                  const dq_adam_t *adam, uint64_t t);

/* Copies parameters (not moments) between nets of the same shape. */
int dq_qnet_copy_params(dq_qnet_t *dst, const dq_qnet_t *src);
/* Fills a WEIGHTS message that points into net->params (no copy; do not
 * dq_msg_clear it). */
void dq_qnet_to_weights(const dq_qnet_t *net, uint64_t version, uint64_t step, dq_weights_t *w);
/* Loads parameters from a received WEIGHTS message; DQ_ESHAPE if the shapes
 * differ from net's. */
int dq_qnet_from_weights(dq_qnet_t *net, const dq_weights_t *w);

/* Versioned binary file: magic "DQNQNET1", format version, layer sizes,
 * parameters, checksum; written atomically (temporary file, fsync, rename).
 * Load checks magic, version, sizes and checksum and writes a reason into why. */
int dq_qnet_save(const dq_qnet_t *net, const char *path);
int dq_qnet_load(dq_qnet_t *net, const char *path, char *why, size_t whylen);

/* openblas_set_num_threads(1) unless OPENBLAS_NUM_THREADS is set. */
void dq_blas_single_thread(void);

#endif
