/* update.c - see update.h. */
#include "update.h"

#include <math.h>
#include <mpi.h>
#include <string.h>

#include "err.h"
#include "cli.h"

/* The loss and gradient of this rank's batch, and its stats (UPD_N). */
static void local_gradients(learner_t *L, const dq_batch_t *b, double *stats)
{
    const dq_config_t *cfg = L->cfg;
    memset(stats, 0, UPD_N * sizeof *stats);
    dq_qnet_zero_grad(&L->online);
    if (!b) {
        stats[UPD_STOP] = 1;
        stats[UPD_LOST] = L->replay_lost;
        return;
    }
    dqn_stats_t st;
    dqn_loss_grad(&L->online, &L->target, &L->work, b, L->weights, (float)cfg->learner_huber_delta,
                  (float)cfg->learner_batch, L->td, &st);
    stats[UPD_LOSS] = st.loss_sum;
    stats[UPD_Q] = st.q_sum;
    stats[UPD_ABS_TD] = st.abs_td_sum;
    stats[UPD_COUNT] = b->count;
    stats[UPD_INVALID] = st.invalid;
    for (uint32_t i = 0; i < b->count; i++)
        if (fabsf(L->td[i]) > stats[UPD_MAX_TD]) stats[UPD_MAX_TD] = fabsf(L->td[i]);
}

int update_gradients(learner_t *L, const dq_batch_t *b, double *stats)
{
    double t0 = dq_now();
    local_gradients(L, b, stats);
    double t1 = dq_now();
    int rc = LEARNER_MPI(MPI_Allreduce(MPI_IN_PLACE, L->online.grads, (int)L->online.n_params,
                                       MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD));
    double max_td = stats[UPD_MAX_TD];
    if (rc == DQ_OK)
        rc = LEARNER_MPI(
            MPI_Allreduce(MPI_IN_PLACE, stats, UPD_N, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
    if (rc == DQ_OK)
        rc = LEARNER_MPI(
            MPI_Allreduce(&max_td, &stats[UPD_MAX_TD], 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD));
    L->t_compute += t1 - t0;
    L->t_allreduce += dq_now() - t1;
    return rc;
}

/* Polyak averaging (learner.target_tau > 0) or a copy every
 * learner.target_sync updates. */
static void update_target(learner_t *L)
{
    double tau = L->cfg->learner_target_tau;
    if (tau > 0) {
        float *t = L->target.params;
        const float *o = L->online.params;
        for (size_t i = 0; i < L->online.n_params; i++) t[i] += (float)tau * (o[i] - t[i]);
    } else if (L->prog.updates % (uint64_t)L->cfg->learner_target_sync == 0) {
        dq_qnet_copy_params(&L->target, &L->online);
    }
}

float update_apply(learner_t *L)
{
    float gnorm = dq_qnet_clip_grad(&L->online, (float)L->cfg->learner_grad_clip);
    L->prog.updates++;
    L->prog.adam_t++;
    dq_adam_step(L->online.params, L->online.grads, L->online.m, L->online.v, L->online.n_params,
                 &L->adam, L->prog.adam_t);
    update_target(L);
    return gnorm;
}
