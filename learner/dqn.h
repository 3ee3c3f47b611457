/* dqn.h - the double-DQN loss and its gradient on a batch of transitions.
 *
 * For transition i with (s, a, R, d, s'), where R is the n-step return and d
 * is gamma^n or 0 at termination:
 *   a*   = argmax_b Q_online(s', b)                 (double DQN)
 *   y    = R + d * Q_target(s', a*)
 *   td   = Q_online(s, a) - y
 *   loss = w_i * huber(td) / norm                    (w_i importance weight)
 * Gradients of the summed loss are added to online->grads; norm is the whole
 * batch size across all ranks so that an MPI sum of per-rank gradients is the
 * mean over the batch.
 */
#ifndef DQ_LEARNER_DQN_H
#define DQ_LEARNER_DQN_H

#include "qnet.h"
#include "wire.h"

typedef struct {
    dq_qnet_ws_t ws_online; /* for 2 max_batch rows: s then s' */
    dq_qnet_ws_t ws_target; /* s' */
    float *obs2;            /* (2 max_batch, obs_dim): s then s' */
    float *q;               /* (2 max_batch, n_actions): Q(s), then Q(s') */
    float *q_target, *dq;   /* (max_batch, n_actions) */
    int max_batch;
} dqn_work_t;

typedef struct {
    double loss_sum;   /* sum of w_i * huber(td_i) (not normalised) */
    double q_sum;      /* sum of Q_online(s_i, a_i) */
    double abs_td_sum; /* sum of |td_i| */
    double invalid;    /* transitions skipped: action outside [0, n_actions) */
} dqn_stats_t;

int dqn_work_init(dqn_work_t *w, const dq_qnet_t *net, int max_batch);
void dqn_work_free(dqn_work_t *w);

/* weights may be NULL (all ones); td_out (count) may be NULL. */
void dqn_loss_grad(dq_qnet_t *online, const dq_qnet_t *target, dqn_work_t *w, const dq_batch_t *b,
                   const float *weights, float huber_delta, float norm, float *td_out,
                   dqn_stats_t *stats);

#endif
