/* publish.h - what the learner group sends out: the online weights (rank 0,
 * WEIGHTS on the PUB socket every learner.publish_every updates), the new
 * priorities |TD| + learner.priority_eps of each update's items, and at the
 * end the checkpoint and RUN_DIR/qnet.bin.
 */
#ifndef DQ_LEARNER_PUBLISH_H
#define DQ_LEARNER_PUBLISH_H

#include "lstate.h"

/* Rank 0: publishes the online weights under the next version (a no-op on
 * other ranks). A full send queue drops the message (actors take the newest). */
void publish_weights(learner_t *L);
/* Collective in deterministic mode (rank 0 gathers the TD errors of the whole
 * batch and sends them); otherwise each rank sends those of its items. */
int publish_priorities(learner_t *L);
/* The end of a run: weights, checkpoint and (rank 0) RUN_DIR/qnet.bin;
 * t_start is when training began, for the closing log line. */
int publish_final(learner_t *L, double t_start);

#endif
