/* replay.h - the replay server's state and request logic, without sockets:
 * one table, the rate limiter, per-actor sequence numbers, counters, and the
 * checkpoint of all of it.
 *
 *   replay_t *r = replay_new(&cfg, why, sizeof why);    // or replay_load(...)
 *   rc = replay_insert(r, &msg.u.insert, &ack, why, sizeof why);
 *        // DQ_OK: ack filled; REPLAY_WAIT: the rate limiter says wait (retry
 *        // later, nothing changed); < 0: refuse with an ERROR
 *   rc = replay_sample(r, &msg.u.sample, &items, why, sizeof why);   // same
 *   replay_save(r, path, NULL, NULL, why, sizeof why);
 *   replay_destroy(&r);
 *
 * Exactly-once inserts. Every INSERT carries (actor, seq), seq counting from 0
 * per actor process run, delivered in order per connection. The state keeps
 * per actor the next expected seq: seq < expected is a duplicate (dropped,
 * acknowledged with duplicate = 1, counted); seq >= expected is stored and
 * expected becomes seq + 1 (a gap is counted when seq > expected). The
 * expected seqs are part of the checkpoint, so a server stopped and restarted
 * from its checkpoint neither loses nor duplicates what actors resend.
 *
 * server.c owns the sockets and the waiting requests; everything here is
 * deterministic given the seed, which the unit tests rely on.
 */
#ifndef REPLAY_REPLAY_H
#define REPLAY_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt.h"
#include "config.h"
#include "ratelimiter.h"
#include "table.h"
#include "wire.h"

/* Returned (positive) by replay_insert / replay_sample when the rate limiter
 * does not allow the request yet. */
#define REPLAY_WAIT 1
#define REPLAY_N_ERR 32 /* > number of entries in DQ_ERRNO_MAP */

typedef struct {
    uint64_t next_seq; /* next expected INSERT seq */
    uint64_t inserts;  /* items stored */
    uint64_t insert_msgs;
    uint64_t duplicates; /* INSERT messages dropped as duplicates */
    uint64_t gaps;       /* INSERTs that skipped ahead of next_seq */
    uint64_t seen;       /* 1 once the actor sent anything */
    uint64_t blocked;    /* 1 after a TIMEOUT: refuse seq > resend_from until it comes */
    uint64_t resend_from;
    uint64_t run;      /* run id of the actor process that sent last (0 = none given) */
    uint64_t restarts; /* INSERTs that came from a new run of this actor id */
} replay_actor_t;

typedef struct {
    uint64_t inserts, insert_msgs;
    uint64_t duplicates, duplicate_items, gaps;
    uint64_t evictions;
    uint64_t samples, sample_msgs;
    uint64_t prio_msgs, prio_updated, prio_evicted; /* keys updated / of evicted items */
    uint64_t stats_msgs;
    uint64_t rejects;
    uint64_t rejects_by_code[REPLAY_N_ERR];
    uint64_t insert_waits, sample_waits;       /* requests deferred by the limiter */
    uint64_t insert_timeouts, sample_timeouts; /* ... and answered TIMEOUT */
    uint64_t overflows;                        /* refused: too many waiting */
    uint64_t checkpoints, checkpoint_failures;
    double checkpoint_seconds; /* duration of the last one */
} replay_counters_t;

typedef struct replay replay_t;

/* The table and limiter configuration from cfg's [replay] keys; writes the
 * reason on DQ_ECONFIG. */
int replay_configs(const dq_config_t *cfg, replay_table_config_t *tc, ratelimiter_config_t *rc,
                   char *why, size_t whylen);

replay_t *replay_new(const dq_config_t *cfg, char *why, size_t whylen);
/* A state restored from a checkpoint written by replay_save, checked against
 * cfg. NULL with a message naming the file and the problem (corrupt,
 * truncated, mismatched configuration); nothing half-loaded is ever returned. */
replay_t *replay_load(const dq_config_t *cfg, const char *path, char *why, size_t whylen);
void replay_destroy(replay_t **self_p);

/* Writes the whole state atomically to path. progress (may be NULL) is called
 * as bytes are written. DQ_OK or a dq_err_t with the reason. */
int replay_save(replay_t *r, const char *path, ckpt_progress_fn progress, void *arg, char *why,
                size_t whylen);

int replay_insert(replay_t *r, const dq_insert_t *ins, dq_ack_t *ack, char *why, size_t whylen);
/* The server answered INSERT (actor, seq) with TIMEOUT without storing it.
 * Until that seq is resent, later INSERTs of the actor are refused with
 * TIMEOUT too (never stored), so a resend can never look like a duplicate of
 * something stored after it: nothing is lost, whatever the limiter does in
 * between. */
void replay_insert_timed_out(replay_t *r, uint32_t actor, uint64_t run, uint64_t seq);
int replay_sample(replay_t *r, const dq_sample_t *req, dq_items_t *out, char *why, size_t whylen);
int replay_update_priorities(replay_t *r, const dq_update_priorities_t *up, dq_ack_t *ack,
                             char *why, size_t whylen);
/* Fills a STATS reply (see docs/protocol.md for the names). extra_rss is the
 * resident set size to report (0: not reported). */
void replay_stats(replay_t *r, dq_stats_reply_t *out, double rss_bytes, double uptime_s,
                  size_t waiting);

void replay_count_reject(replay_t *r, int code);
replay_counters_t *replay_counters(replay_t *r);
replay_table_t *replay_table(replay_t *r);
const ratelimiter_t *replay_limiter(const replay_t *r);
/* The actor's state, NULL if it never sent anything. */
const replay_actor_t *replay_actor(const replay_t *r, uint32_t actor);

#endif
