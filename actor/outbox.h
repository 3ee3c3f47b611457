/* outbox.h - the actor's lossless, ordered INSERT stream to the replay server.
 *
 * Every batch becomes one INSERT with (actor, seq), seq = 0, 1, 2, ... for this
 * process, encoded once and kept (bytes) in a ring of actor.max_unacked slots
 * until the server acknowledges it. The contract with the server (see
 * docs/exploration.md, "Lossless streaming"): a seq below the server's next
 * expected one is acknowledged as a duplicate and dropped, so resending is
 * always safe, and resends happen in seq order:
 *   - the DEALER socket is watched by a ZeroMQ socket monitor; when the
 *     connection drops (server stopped or restarted, heartbeat timeout) every
 *     unacknowledged INSERT is marked unsent, and after the next handshake
 *     they are all resent in order before anything new (ZMQ_IMMEDIATE keeps
 *     new messages from queueing on a dead connection);
 *   - an ERROR TIMEOUT with id = seq (the server deferred the insert and gave
 *     up) resends that INSERT;
 *   - no reply for actor.ack_timeout seconds while INSERTs are outstanding
 *     reopens the socket and resends them all, in order.
 * When the ring is full outbox_push waits (servicing acks): backpressure from
 * the server slows the actor down, and nothing is ever dropped.
 *
 * Stopping: waits are unbounded until the drain starts, which a stop request
 * (SIGTERM/SIGINT) or outbox_start_drain does; from then on every wait ends
 * drain_timeout_s after that moment. A push that finds no free slot by then
 * returns DQ_ETIMEOUT and takes nothing (the caller counts those transitions
 * as never sent); outbox_drain tells whether everything taken was
 * acknowledged, and the stats say how many transitions were not.
 *
 *   outbox_t *o = outbox_new(zctx, "tcp://127.0.0.1:5555", &cfg, why, sizeof why);
 *   outbox_push(o, &batch);        // encodes, sends when connected, may wait
 *   outbox_poll(o, 0);             // acks, reconnects, resends; never blocks with 0
 *   outbox_start_drain(o);         // at exit: bound the waits from now on
 *   outbox_push(o, &last);         // DQ_ETIMEOUT: not taken
 *   outbox_drain(o);               // wait until everything is acknowledged
 *   outbox_destroy(&o);
 */
#ifndef DQ_OUTBOX_H
#define DQ_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

typedef struct outbox outbox_t;

typedef struct {
    uint32_t actor;         /* actor id sent in every INSERT */
    int max_unacked;        /* ring slots: INSERTs kept until acknowledged */
    double ack_timeout_s;   /* silence (with INSERTs outstanding) before reopening */
    double drain_timeout_s; /* how long waits may last once the drain has started */
    size_t max_bytes;       /* run.max_message_bytes */
    /* ZeroMQ CURVE: files with the server's public key and this client's
     * secret key; NULL = plain TCP. */
    const char *curve_server_public, *curve_client_secret;
} outbox_config_t;

typedef struct {
    uint64_t pushed_msgs, pushed_items; /* distinct INSERTs (and transitions) created */
    uint64_t acked_msgs, acked_items;   /* acknowledged, counted once per seq */
    uint64_t duplicate_acks;            /* acks the server marked duplicate */
    uint64_t resent_msgs;               /* sends of an INSERT after its first */
    uint64_t disconnects, reopens;      /* connection drops seen; silent-server reopens */
    uint64_t server_timeouts, refused;  /* ERROR TIMEOUT (resent); other ERRORs (dropped) */
    uint64_t refused_items;             /* transitions in refused INSERTs */
    int unacked;                        /* INSERTs outstanding now (send queue depth) */
    int connected;
    double blocked_s; /* time spent waiting for a free slot */
} outbox_stats_t;

outbox_t *outbox_new(void *zctx, const char *endpoint, const outbox_config_t *cfg, char *why,
                     size_t whylen);
void outbox_destroy(outbox_t **self_p);

/* Encodes b as the next INSERT and sends it if connected. Waits while the
 * ring is full (once the drain has started, until its deadline). Returns 0
 * when the INSERT was taken; DQ_ETIMEOUT (no free slot by the drain
 * deadline) or an encoding error when nothing was taken. */
int outbox_push(outbox_t *o, const dq_batch_t *b);
/* Reads replies and connection events, resends, checks the ack timeout;
 * waits up to timeout_ms for the first event. */
int outbox_poll(outbox_t *o, int timeout_ms);
/* Starts the drain (if not started yet): waits end drain_timeout_s from now. */
void outbox_start_drain(outbox_t *o);
/* Starts the drain and polls until nothing is outstanding or its deadline.
 * Returns 0 when every INSERT taken is acknowledged (or refused: see
 * refused_items), DQ_ETIMEOUT otherwise. */
int outbox_drain(outbox_t *o);
void outbox_stats(const outbox_t *o, outbox_stats_t *s);
/* INSERT.run of this stream: random, new for every outbox. */
uint64_t outbox_run(const outbox_t *o);

/* Order-independent content hash of a multiset of transitions: the sum (mod
 * 2^64) of a mixed word-wise hash of each transition's obs, action, reward,
 * discount, next_obs, epsilon and version. Add the hashes of several batches
 * with +; the replay server's contents hash to the same value if and only if
 * (with overwhelming probability) they hold the same transitions. */
uint64_t outbox_content_hash(const dq_batch_t *b);

#endif
