/* wire.h - the dqnlm wire protocol: msgpack messages carried over ZeroMQ.
 *
 * Every message is one ZeroMQ frame holding one msgpack map with at least
 * "type" (str) and "v" (protocol version, uint). Float vectors travel as msgpack
 * bin of little-endian float32; integer vectors as msgpack arrays. docs/protocol.md
 * defines every message field by field.
 *
 *   dq_msg_t m = {.type = DQ_MSG_SAMPLE, .u.sample = {.table = "main", .n = 32}};
 *   dq_buf_t buf = {0};
 *   dq_msg_encode(&m, &buf);                          // buf.data, buf.len
 *   dq_msg_t r;
 *   char why[256];
 *   int rc = dq_msg_decode(data, len, max_bytes, &r, why, sizeof why);
 *   if (rc < 0) reply with dq_msg_error(rc, why)   // never crash on peer input
 *   ...
 *   dq_msg_clear(&r);                                  // frees what decode allocated
 *
 * The decoder validates field types, vector lengths against count and obs_dim,
 * finiteness of every float, and the maximum message size, and returns a
 * negative dq_err_t with a readable reason. Unknown extra keys are ignored
 * (forward compatibility); missing required keys are errors.
 */
#ifndef DQ_WIRE_H
#define DQ_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "transition_cols.h"

#define DQ_PROTOCOL_VERSION 1
#define DQ_TABLE_NAME_MAX 32
#define DQ_STATS_MAX 96
#define DQ_STAT_NAME_MAX 48
#define DQ_QNET_MAX_LAYERS 8
/* Limits every decoder and encoder enforces (DQ_ERANGE / DQ_ETOOBIG). */
#define DQ_WIRE_MAX_COUNT 65536        /* transitions, items, keys or SAMPLE.n per message */
#define DQ_WIRE_MAX_DIM 65536          /* obs_dim, and each in/out of a WEIGHTS layer */
#define DQ_WIRE_MAX_OBJECTS (1u << 20) /* msgpack objects in one message (bounds decode memory) */

typedef enum {
    DQ_MSG_INSERT = 0,        /* actor -> replay: a batch of transitions */
    DQ_MSG_ACK,               /* replay -> client: request done */
    DQ_MSG_SAMPLE,            /* learner -> replay: ask for n items */
    DQ_MSG_ITEMS,             /* replay -> learner: sampled items */
    DQ_MSG_UPDATE_PRIORITIES, /* learner -> replay: new priorities by key */
    DQ_MSG_WEIGHTS,           /* learner rank 0 -> actors (PUB): Q-network weights */
    DQ_MSG_STATS,             /* any -> replay: ask for counters */
    DQ_MSG_STATS_REPLY,       /* replay -> client: counters */
    DQ_MSG_CHECKPOINT,        /* any -> replay: write a checkpoint now */
    DQ_MSG_ERROR,             /* any reply: the request failed */
    DQ_MSG_COUNT_
} dq_msg_type_t;

/* Wire names: "insert", "ack", "sample", "items", "update_priorities",
 * "weights", "stats", "stats_reply", "checkpoint", "error"; "unknown" for a
 * value outside the enum. */
const char *dq_msg_type_name(dq_msg_type_t t);

/* A batch of transitions in columnar form, one array per column of
 * DQ_TRANSITION_COLS (transition_cols.h), each (count, width): obs and
 * next_obs (count, obs_dim) floats; action (count) int32; reward (count) the
 * n-step discounted return; discount (count) gamma^n, or 0 when the episode
 * terminated inside the n steps, so the learner's target is reward + discount
 * * max Q(next_obs); epsilon (count) the exploration parameter the action was
 * chosen with; version (count) uint32 the weights version of the policy that
 * acted. */
#define DQ_BATCH_FIELD_(name, ctype, width, kind, ranged, lo, hi, doc) ctype *name;
typedef struct {
    uint32_t count;   /* transitions */
    uint32_t obs_dim; /* floats per observation */
    DQ_TRANSITION_COLS(DQ_BATCH_FIELD_)
    float *priority; /* (count) optional initial priorities (> 0), NULL if absent */
} dq_batch_t;

typedef struct {
    uint32_t actor; /* actor id */
    uint64_t seq;   /* per-actor sequence number of this INSERT, from 0 */
    uint64_t run;   /* optional (0 = absent): a random id of the actor process; a new
                         * run of the same actor id restarts its sequence numbers */
    dq_batch_t batch;
} dq_insert_t;

typedef struct {
    uint64_t seq;      /* echoes the request's seq (insert) or id (others) */
    uint32_t count;    /* items accepted / updated */
    uint8_t duplicate; /* 1 if the insert was already held and was dropped */
} dq_ack_t;

typedef struct {
    char table[DQ_TABLE_NAME_MAX];
    uint32_t n;  /* items wanted */
    uint64_t id; /* request id, echoed in the reply */
} dq_sample_t;

typedef struct {
    uint64_t id;      /* the SAMPLE's id */
    uint64_t size;    /* table size when sampled (for importance weights) */
    uint64_t *keys;   /* (batch.count) */
    float *prob;      /* (batch.count) sampling probability of each item, in (0, 1] */
    dq_batch_t batch; /* batch.priority is NULL */
} dq_items_t;

typedef struct {
    char table[DQ_TABLE_NAME_MAX];
    uint32_t count;
    uint64_t *keys;  /* (count) */
    float *priority; /* (count), finite and >= 0 */
} dq_update_priorities_t;

typedef struct {
    uint64_t run;     /* random id of the publishing learner group, new at every start */
    uint64_t version; /* increases with every publication of that run */
    uint64_t step;    /* learner updates done */
    uint32_t n_layers;
    uint32_t shape[DQ_QNET_MAX_LAYERS][2]; /* (in, out) of each dense layer */
    uint32_t n_floats;                     /* length of blob; equals the sum of in*out + out */
    float *blob;                           /* layer by layer: W (in, out) row-major, then b (out) */
} dq_weights_t;

/* Whether a receiver holding weights (run, version) takes w: always when w
 * comes from another learner run (a restarted learner counts its versions
 * from 1 again), else only when w is newer. */
int dq_weights_supersede(uint64_t run, uint64_t version, const dq_weights_t *w);

typedef struct {
    char name[DQ_STAT_NAME_MAX];
    double value;
} dq_stat_t;

typedef struct {
    uint32_t count;
    dq_stat_t stats[DQ_STATS_MAX];
} dq_stats_reply_t;

typedef struct {
    uint64_t id;
} dq_request_t; /* CHECKPOINT carries only a request id */

typedef struct {
    uint64_t id;
    uint8_t paged;       /* "actor_from" given: the reply lists actors only, from actor_from */
    uint32_t actor_from; /* first actor id of the page (with paged) */
} dq_stats_t;            /* STATS: a request id, optionally a page of per-actor counts */

typedef struct {
    int32_t code;      /* a negative dq_err_t */
    char name[32];     /* dq_errname(code) */
    char message[256]; /* human-readable reason */
    uint64_t id;       /* id/seq of the failed request, 0 if unknown */
} dq_error_t;

typedef struct {
    dq_msg_type_t type;
    union {
        dq_insert_t insert;
        dq_ack_t ack;
        dq_sample_t sample;
        dq_items_t items;
        dq_update_priorities_t update_priorities;
        dq_weights_t weights;
        dq_stats_t stats;
        dq_stats_reply_t stats_reply;
        dq_request_t checkpoint;
        dq_error_t error;
    } u;
} dq_msg_t;

/* A growable byte buffer the encoder writes into; reuse it across messages. */
typedef struct {
    char *data;
    size_t len, cap;
} dq_buf_t;

void dq_buf_free(dq_buf_t *buf);

/* Encodes m into buf (buf->len is reset first; the capacity is kept and
 * reused). Validates like the decoder: a message that would be refused on
 * receipt is refused here with the same negative dq_err_t (buf->len is 0);
 * call dq_msg_validate for the reason. The size limit is the caller's to
 * check against buf->len. INSERT sends batch.priority when it is not NULL;
 * ITEMS never sends it. */
int dq_msg_encode(const dq_msg_t *m, dq_buf_t *buf);
/* The value checks shared by encoder and decoder: ranges, finiteness, shapes,
 * NUL-terminated names, non-NULL arrays. Returns 0 or a negative dq_err_t and
 * writes the reason (e.g. "insert.reward[3] is NaN") into why (may be NULL). */
int dq_msg_validate(const dq_msg_t *m, char *why, size_t whylen);
/* Decodes one message. On error returns a negative dq_err_t, leaves *m empty
 * (nothing to free) and writes the reason into why. *m is overwritten, so
 * clear a previously decoded message first. Never reads outside data[0, len)
 * and allocates at most a small multiple of len. */
int dq_msg_decode(const void *data, size_t len, size_t max_bytes, dq_msg_t *m, char *why,
                  size_t whylen);
/* The id to put in the ERROR reply to a message dq_msg_decode refused: its
 * "seq" when "type" is "insert", else its "id", when the data is a
 * well-formed msgpack map (at most max_bytes) holding that key as a uint;
 * 0 otherwise. Same safety guarantees as the decoder. */
uint64_t dq_msg_peek_id(const void *data, size_t len, size_t max_bytes);
/* Frees the arrays a decode allocated; safe on a zeroed or cleared message. */
void dq_msg_clear(dq_msg_t *m);

/* Allocates the arrays of a batch for count transitions of obs_dim floats
 * (priority only when with_priority). Returns 0 or DQ_ENOMEM. */
int dq_batch_alloc(dq_batch_t *b, uint32_t count, uint32_t obs_dim, int with_priority);
void dq_batch_free(dq_batch_t *b);

/* Bytes of one transition's columns (the replay table's payload per item). */
size_t dq_transition_bytes(uint32_t obs_dim);
/* Floats of one packed transition: every column's elements in list order,
 * one 32-bit slot each (2 * obs_dim + 5 today). */
size_t dq_transition_floats(uint32_t obs_dim);

/* Packs transitions [from, from + n) of b into out, one record of stride
 * floats per transition (stride >= dq_transition_floats(b->obs_dim)): the
 * columns in DQ_TRANSITION_COLS order, integers stored bit for bit (exact for
 * every value), so a record survives any copy of floats (MPI_FLOAT included).
 * Slots [dq_transition_floats, stride) of each record are left untouched for
 * the caller's own values (e.g. an importance weight). priority is not packed.
 *
 *   size_t rec = dq_transition_floats(D) + 1;         // + a weight
 *   dq_batch_pack(b, 0, b->count, rec, buf);  buf[i * rec + rec - 1] = w[i];
 *   ... scatter buf ...
 *   dq_batch_unpack(&mine, 0, share, rec, recv);   w[i] = recv[i * rec + rec - 1];
 */
void dq_batch_pack(const dq_batch_t *b, uint32_t from, uint32_t n, size_t stride, float *out);
/* The inverse: records in[0, n) into transitions [to, to + n) of b, which is
 * allocated for at least to + n transitions of the records' obs_dim. */
void dq_batch_unpack(dq_batch_t *b, uint32_t to, uint32_t n, size_t stride, const float *in);

/* Fills an ERROR message: code (a negative dq_err_t; DQ_EINVAL if code >= 0),
 * name = dq_errname(code), message (cut to 255 bytes; dq_strerror(code) if
 * NULL) and the id/seq of the failed request. */
void dq_msg_error(dq_msg_t *m, int code, uint64_t id, const char *message);

#endif
