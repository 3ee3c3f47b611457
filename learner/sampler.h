/* sampler.h - the learner's SAMPLE pipeline: batches from the replay server.
 *
 * Normal mode: every rank keeps learner.inflight SAMPLE requests of its share
 * outstanding, so the round trip overlaps compute, and takes whichever reply
 * comes next. Deterministic mode (learner.deterministic): rank 0 alone asks
 * for each whole batch only when it is needed and MPI_Scatterv's the shares,
 * so with a fixed replay content the run depends neither on timing nor on the
 * number of ranks. Importance weights (learner.per_beta) are normalised by
 * the largest weight of the whole batch across ranks.
 */
#ifndef DQ_LEARNER_SAMPLER_H
#define DQ_LEARNER_SAMPLER_H

#include "lstate.h"

/* Collective: rank 0 waits until the replay server holds learner.min_replay
 * items, then tells every rank. DQ_EINTERRUPTED on a stop request,
 * DQ_ETIMEOUT on every rank when the server did not answer for
 * learner.replay_timeout seconds. */
int sampler_wait_for_replay(learner_t *L);
/* Collective: this update's batch for this rank into *out, importance
 * weights into L->weights; *out is NULL when a stop was requested (on this
 * rank, or on rank 0 in deterministic mode) or the replay server was silent
 * for learner.replay_timeout (L->replay_lost set on that rank). */
int sampler_fetch(learner_t *L, const dq_batch_t **out);
/* Asks the replay server for its STATS (the reply is read on the way to a
 * later batch). */
int sampler_request_stats(learner_t *L);

#endif
