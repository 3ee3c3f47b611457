/* update.h - one learner update: the double-DQN loss and gradient of this
 * rank's share (dqn.c), the MPI_Allreduce that sums gradients and statistics
 * over ranks (each share is divided by the whole batch size, so the sum is
 * the batch mean), then the same clipped Adam step and target-network update
 * on every rank, which keeps the replicas identical.
 */
#ifndef DQ_LEARNER_UPDATE_H
#define DQ_LEARNER_UPDATE_H

#include "lstate.h"

/* Fields of the per-update allreduce besides the gradients: sums over ranks,
 * except UPD_MAX_TD (a maximum) and UPD_STOP (> 0 when any rank had no batch:
 * a stop request reaches ranks at different moments, and this flag makes
 * every rank leave after the same update; UPD_LOST > 0 when that was because
 * a rank lost the replay server, so every rank fails together). */
enum { UPD_LOSS, UPD_Q, UPD_ABS_TD, UPD_MAX_TD, UPD_COUNT, UPD_STOP, UPD_INVALID, UPD_LOST, UPD_N };

/* Collective: gradients of this rank's batch b (NULL: this rank stops) into
 * L->online.grads and TD errors into L->td, then the allreduce of gradients
 * and stats (UPD_N). Adds to L->t_compute and L->t_allreduce. */
int update_gradients(learner_t *L, const dq_batch_t *b, double *stats);
/* Clips the summed gradient (learner.grad_clip), takes the Adam step and
 * updates the target network; returns the norm before clipping. */
float update_apply(learner_t *L);

#endif
