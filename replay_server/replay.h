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
 * from its checkpoint neither loses nor duplicates what actors resend. Seq
 * 2^64-1 is refused (RANGE): expected would wrap to 0. The inserts stored
 * since the last checkpoint come back from the write-ahead log (wal.h)
 * through replay_apply_logged.
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

/* The per-actor state a checkpoint keeps, in its "ACTR" section in this
 * order (docs/replay.md): X(field, doc), every field a uint64_t. */
/* clang-format off */
#define REPLAY_ACTOR_FIELDS(X)                                                          \
    X(next_seq,    "next expected INSERT seq")                                          \
    X(inserts,     "items stored")                                                      \
    X(insert_msgs, "INSERT messages stored")                                            \
    X(duplicates,  "INSERT messages dropped as duplicates")                             \
    X(gaps,        "INSERTs that skipped ahead of next_seq")                            \
    X(blocked,     "1 after a TIMEOUT: refuse seq > resend_from until it comes")        \
    X(resend_from, "the seq answered TIMEOUT")                                          \
    X(run,         "run id of the actor process that sent last (0 = none given)")       \
    X(restarts,    "INSERTs that came from a new run of this actor id")
/* clang-format on */

#define REPLAY_ACTOR_FIELD_(field, doc) uint64_t field;
typedef struct {
    uint64_t seen; /* 1 once the actor sent anything (implied by a checkpoint record) */
    /* While blocked: the highest seq answered TIMEOUT. The actor resends
     * resend_from..timeout_hi in order, and until the last of them is stored
     * nothing above the next expected seq is taken (not checkpointed: the
     * waiting inserts do not survive a restart either). */
    uint64_t timeout_hi;
    REPLAY_ACTOR_FIELDS(REPLAY_ACTOR_FIELD_)
} replay_actor_t;

/* The server's counters: X(kind, field, stat, doc)
 *   kind  U64 (uint64_t) or F64 (double)
 *   stat  its name in a STATS reply (docs/protocol.md)
 * Generated from it: replay_counters_t, the STATS entries and the "CNTR"
 * section of a checkpoint (each counter stored with its name, so a checkpoint
 * restores the counters it names and leaves new ones at 0). The rejects per
 * error code are the array after the list ("rejects.NAME" in STATS). */
/* clang-format off */
#define REPLAY_COUNTERS(X)                                                                        \
    X(U64, inserts,             "inserts",             "items stored")                            \
    X(U64, insert_msgs,         "insert_msgs",         "INSERT messages stored")                  \
    X(U64, duplicates,          "duplicates",          "INSERT messages dropped as duplicates")   \
    X(U64, duplicate_items,     "duplicate_items",     "items in those")                          \
    X(U64, gaps,                "gaps",                "INSERTs that skipped ahead of next_seq")  \
    X(U64, evictions,           "evictions",           "items evicted by newer ones")             \
    X(U64, samples,             "samples",             "items sampled")                           \
    X(U64, sample_msgs,         "sample_msgs",         "SAMPLE requests answered")                \
    X(U64, prio_msgs,           "priority_msgs",       "UPDATE_PRIORITIES messages")              \
    X(U64, prio_updated,        "priority_updates",    "keys updated")                            \
    X(U64, prio_evicted,        "priority_evicted",    "keys of items already evicted")           \
    X(U64, insert_waits,        "rl.insert_waits",     "INSERTs deferred by the limiter")         \
    X(U64, sample_waits,        "rl.sample_waits",     "SAMPLEs deferred by the limiter")         \
    X(U64, insert_timeouts,     "rl.insert_timeouts",  "deferred INSERTs answered TIMEOUT")       \
    X(U64, sample_timeouts,     "rl.sample_timeouts",  "deferred SAMPLEs answered TIMEOUT")       \
    X(U64, overflows,           "rl.overflows",        "requests refused: too many waiting")      \
    X(U64, checkpoints,         "checkpoints",         "checkpoints written")                     \
    X(U64, checkpoint_failures, "checkpoint_failures", "checkpoints that failed")                 \
    X(F64, checkpoint_seconds,  "checkpoint_seconds",  "duration of the last checkpoint")         \
    X(U64, stats_msgs,          "stats_msgs",          "STATS requests")                          \
    X(U64, rejects,             "rejects",             "requests refused with an ERROR")
/* clang-format on */

#define REPLAY_CTYPE_U64 uint64_t
#define REPLAY_CTYPE_F64 double
#define REPLAY_COUNTER_FIELD_(kind, field, stat, doc) REPLAY_CTYPE_##kind field;
typedef struct {
    REPLAY_COUNTERS(REPLAY_COUNTER_FIELD_)
    uint64_t rejects_by_code[REPLAY_N_ERR]; /* indexed by -code */
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
/* An INSERT replayed from the write-ahead log (wal.h): stored as it was when
 * first accepted, without asking the rate limiter or the TIMEOUT block; one
 * already held (seq below the actor's next_seq) is dropped as a duplicate,
 * so a record can never be applied twice. */
int replay_apply_logged(replay_t *r, const dq_insert_t *ins, dq_ack_t *ack, char *why,
                        size_t whylen);
/* The server answered INSERT (actor, seq) with TIMEOUT without storing it.
 * Until that seq is resent, later INSERTs of the actor are refused with
 * TIMEOUT too (never stored), so a resend can never look like a duplicate of
 * something stored after it: nothing is lost, whatever the limiter does in
 * between. */
void replay_insert_timed_out(replay_t *r, uint32_t actor, uint64_t run, uint64_t seq);
/* The server is stopping (its stop grace, server.h): from now on
 * replay_insert never answers REPLAY_WAIT, the rate limiter no longer holds
 * inserts back (it still counts them, and still decides for samples). The
 * sequence, duplicate and TIMEOUT-block rules are unchanged. Not saved in a
 * checkpoint. */
void replay_set_stopping(replay_t *r);
int replay_sample(replay_t *r, const dq_sample_t *req, dq_items_t *out, char *why, size_t whylen);
int replay_update_priorities(replay_t *r, const dq_update_priorities_t *up, dq_ack_t *ack,
                             char *why, size_t whylen);
/* Fills a STATS reply with the global entries and the number of actors (see
 * docs/protocol.md for the names). rss_bytes is the resident set size to
 * report (0: not reported). */
void replay_stats(replay_t *r, dq_stats_reply_t *out, double rss_bytes, double uptime_s,
                  size_t waiting);
/* Appends the per-actor entries of the actors with id >= from, in id order,
 * as many whole actors as fit; when some are left out, a last entry
 * "actors.next" holds the id to ask for next (STATS actor_from). */
void replay_stats_actors(const replay_t *r, dq_stats_reply_t *out, uint32_t from);
/* Appends one entry (nothing once the reply is full). */
void replay_stat_add(dq_stats_reply_t *out, const char *name, double value);

void replay_count_reject(replay_t *r, int code);
replay_counters_t *replay_counters(replay_t *r);
replay_table_t *replay_table(replay_t *r);
const ratelimiter_t *replay_limiter(const replay_t *r);
/* The generation of the write-ahead log that continues this state (saved in
 * the checkpoint; wal.h). */
uint64_t replay_log_generation(const replay_t *r);
void replay_set_log_generation(replay_t *r, uint64_t gen);
/* Actors that have sent anything. */
size_t replay_actor_count(const replay_t *r);
/* The actor's state, NULL if it never sent anything. */
const replay_actor_t *replay_actor(const replay_t *r, uint32_t actor);

#endif
