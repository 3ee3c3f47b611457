/* actor.h - one dqnlm actor: E environments, a local Q-network copy, an
 * exploration schedule, n-step assembly and the lossless INSERT stream.
 *
 *   actor_t *a = actor_new(&cfg, why, sizeof why);
 *   int rc = actor_run(a);          // until actor.max_steps or a stop signal
 *   actor_destroy(&a);
 *
 * Per round: take the newest weights (between env steps), one batched forward
 * pass over the E current observations, one action per env from the schedule,
 * one step per env; n-step transitions (recording eps or the Boltzmann
 * exploration probability, and the weights version) fill INSERT batches of
 * actor.batch that go to the outbox (actor/outbox.h). Metrics:
 * RUN_DIR/actor-ID.csv (periodic) and RUN_DIR/actor-ID-episodes.csv (one row
 * per finished episode, with the LM run's final validation loss).
 */
#ifndef DQ_ACTOR_H
#define DQ_ACTOR_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef struct actor actor_t;

typedef struct {
    uint64_t env_steps, episodes;
    uint64_t transitions;    /* handed to the outbox (all assembled when actor.send = false) */
    uint64_t content_hash;   /* outbox_content_hash of those transitions */
    uint64_t acked;          /* transitions acknowledged by the replay server */
    uint64_t unacknowledged; /* assembled and not acknowledged (never sent, outstanding, refused) */
    double steps_per_s;      /* over the whole run */
} actor_summary_t;

actor_t *actor_new(const dq_config_t *cfg, char *why, size_t whylen);
/* Runs until actor.max_steps env steps or a stop signal, then sends what is
 * left and waits up to actor.drain_timeout for every acknowledgement.
 * Returns DQ_ETIMEOUT (after an ERROR naming the count) when any transition
 * assembled was not acknowledged. */
int actor_run(actor_t *a);
void actor_summary(const actor_t *a, actor_summary_t *s);
void actor_destroy(actor_t **self_p);

#endif
