/* wire_encode.c - the msgpack encoder of wire.h (dq_msg_encode).
 *
 * A message is validated first (dq_msg_validate, in wire.c), then written into a
 * dq_buf_t sized up front from its counts: one msgpack map with "type", "v" and
 * the message's fields (docs/protocol.md). Float vectors are bin of little-endian
 * float32, converted byte by byte so the code is correct on any host.
 */
#include "wire.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "err.h"
#include "fileio.h"

/* ---------------------------------------------------------------- buffers */

static int buf_reserve(dq_buf_t *b, size_t extra)
{
    if (b->cap - b->len >= extra) return 0;
    if (extra > SIZE_MAX - b->len) return DQ_ENOMEM;
    size_t need = b->len + extra, cap = b->cap ? b->cap : 256;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p) return DQ_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

/* msgpack_packer write callback: append to a dq_buf_t. */
static int buf_write(void *data, const char *src, size_t n)
{
    dq_buf_t *b = data;
    if (buf_reserve(b, n)) return -1;
    memcpy(b->data + b->len, src, n);
    b->len += n;
    return 0;
}

/* ---------------------------------------------------------------- floats */

static void f32_to_le(unsigned char *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &src[i], 4);
        dq_put_le32(dst + 4 * i, u);
    }
}

/* ---------------------------------------------------------------- encoder */

typedef struct {
    msgpack_packer pk;
    dq_buf_t *buf;
    int err; /* nonzero once any write failed */
} enc_t;

static void put_key(enc_t *e, const char *k)
{
    e->err |= msgpack_pack_str_with_body(&e->pk, k, strlen(k));
}

static void put_uint(enc_t *e, const char *k, uint64_t v)
{
    put_key(e, k);
    e->err |= msgpack_pack_uint64(&e->pk, v);
}

static void put_str(enc_t *e, const char *k, const char *s)
{
    put_key(e, k);
    e->err |= msgpack_pack_str_with_body(&e->pk, s, strlen(s));
}

static void put_f32s(enc_t *e, const char *k, const float *v, size_t n)
{
    put_key(e, k);
    e->err |= msgpack_pack_bin(&e->pk, n * 4);
    if (e->err || buf_reserve(e->buf, n * 4)) {
        e->err = 1;
        return;
    }
    f32_to_le((unsigned char *)e->buf->data + e->buf->len, v, n);
    e->buf->len += n * 4;
}

static void put_i32s(enc_t *e, const char *k, const int32_t *v, size_t n)
{
    put_key(e, k);
    e->err |= msgpack_pack_array(&e->pk, n) | (buf_reserve(e->buf, n * 5) != 0);
    for (size_t i = 0; i < n && !e->err; i++) e->err |= msgpack_pack_int32(&e->pk, v[i]);
}

static void put_u32s(enc_t *e, const char *k, const uint32_t *v, size_t n)
{
    put_key(e, k);
    e->err |= msgpack_pack_array(&e->pk, n) | (buf_reserve(e->buf, n * 5) != 0);
    for (size_t i = 0; i < n && !e->err; i++) e->err |= msgpack_pack_uint32(&e->pk, v[i]);
}

static void put_u64s(enc_t *e, const char *k, const uint64_t *v, size_t n)
{
    put_key(e, k);
    e->err |= msgpack_pack_array(&e->pk, n) | (buf_reserve(e->buf, n * 9) != 0);
    for (size_t i = 0; i < n && !e->err; i++) e->err |= msgpack_pack_uint64(&e->pk, v[i]);
}

#define COL_PUT_(name, ctype, width, kind, ranged, lo, hi, doc) \
    put_##kind##s(e, #name, b->name, n *DQ_COL_WIDTH(width, b->obs_dim));
#define COL_WIRE_BYTES_(name, ctype, width, kind, ranged, lo, hi, doc) \
    +DQ_COL_WIDTH(width, obs_dim) * (sizeof(ctype) + 1)

/* count, obs_dim and the columns of DQ_TRANSITION_COLS; the priority column
 * is the caller's business. */
static void put_batch(enc_t *e, const dq_batch_t *b)
{
    size_t n = b->count;
    put_uint(e, "count", b->count);
    put_uint(e, "obs_dim", b->obs_dim);
    DQ_TRANSITION_COLS(COL_PUT_)
}

/* An upper estimate of a batch's encoding (ints take at most 5 bytes). */
static size_t batch_bytes(const dq_batch_t *b)
{
    size_t obs_dim = b->obs_dim;
    return (size_t)b->count * (0 DQ_TRANSITION_COLS(COL_WIRE_BYTES_)) + 160;
}

#define COL_COUNT_(name, ctype, width, kind, ranged, lo, hi, doc) +1
enum { BATCH_FIELDS = 2 DQ_TRANSITION_COLS(COL_COUNT_) }; /* count, obs_dim, columns */

/* The number of map entries after "type" and "v", and a size guess for the
 * buffer; 0 fields for an unknown type. */
static size_t plan(const dq_msg_t *m, size_t *guess)
{
    *guess = 64;
    switch (m->type) {
    case DQ_MSG_INSERT:
        *guess += batch_bytes(&m->u.insert.batch);
        return BATCH_FIELDS + 2 + (m->u.insert.batch.priority != NULL) + (m->u.insert.run != 0);
    case DQ_MSG_ACK:
    case DQ_MSG_SAMPLE: return 3;
    case DQ_MSG_ITEMS:
        *guess += batch_bytes(&m->u.items.batch) + 13 * (size_t)m->u.items.batch.count;
        return BATCH_FIELDS + 4;
    case DQ_MSG_UPDATE_PRIORITIES: *guess += 13 * (size_t)m->u.update_priorities.count; return 4;
    case DQ_MSG_WEIGHTS:
        *guess += 4 * (size_t)m->u.weights.n_floats + 16 * DQ_QNET_MAX_LAYERS + 16;
        return 7;
    case DQ_MSG_STATS: return 1 + (m->u.stats.paged != 0);
    case DQ_MSG_CHECKPOINT: return 1;
    case DQ_MSG_STATS_REPLY: *guess += 60 * (size_t)m->u.stats_reply.count; return 1;
    case DQ_MSG_ERROR: *guess += 300; return 4;
    default: return 0;
    }
}

static void put_weights(enc_t *e, const dq_weights_t *w)
{
    put_uint(e, "run", w->run);
    put_uint(e, "version", w->version);
    put_uint(e, "step", w->step);
    put_uint(e, "n_layers", w->n_layers);
    put_key(e, "shape");
    e->err |= msgpack_pack_array(&e->pk, w->n_layers);
    for (uint32_t l = 0; l < w->n_layers; l++) {
        e->err |= msgpack_pack_array(&e->pk, 2);
        e->err |= msgpack_pack_uint32(&e->pk, w->shape[l][0]);
        e->err |= msgpack_pack_uint32(&e->pk, w->shape[l][1]);
    }
    put_uint(e, "n_floats", w->n_floats);
    put_f32s(e, "blob", w->blob, w->n_floats);
}

/* Integral values that a double holds exactly travel as uint, others as float64. */
static void put_stats(enc_t *e, const dq_stats_reply_t *r)
{
    put_key(e, "stats");
    e->err |= msgpack_pack_map(&e->pk, r->count);
    for (uint32_t i = 0; i < r->count; i++) {
        double v = r->stats[i].value;
        put_key(e, r->stats[i].name);
        if (v >= 0 && v <= 9007199254740992.0 && v == floor(v))
            e->err |= msgpack_pack_uint64(&e->pk, (uint64_t)v);
        else
            e->err |= msgpack_pack_double(&e->pk, v);
    }
}

/* The fields of m after "type" and "v". */
static void put_fields(enc_t *e, const dq_msg_t *m)
{
    switch (m->type) {
    case DQ_MSG_INSERT: {
        const dq_insert_t *in = &m->u.insert;
        put_uint(e, "actor", in->actor);
        put_uint(e, "seq", in->seq);
        if (in->run) put_uint(e, "run", in->run);
        put_batch(e, &in->batch);
        if (in->batch.priority) put_f32s(e, "priority", in->batch.priority, in->batch.count);
        break;
    }
    case DQ_MSG_ACK:
        put_uint(e, "seq", m->u.ack.seq);
        put_uint(e, "count", m->u.ack.count);
        put_key(e, "duplicate");
        e->err |= m->u.ack.duplicate ? msgpack_pack_true(&e->pk) : msgpack_pack_false(&e->pk);
        break;
    case DQ_MSG_SAMPLE:
        put_str(e, "table", m->u.sample.table);
        put_uint(e, "n", m->u.sample.n);
        put_uint(e, "id", m->u.sample.id);
        break;
    case DQ_MSG_ITEMS: {
        const dq_items_t *it = &m->u.items;
        put_uint(e, "id", it->id);
        put_uint(e, "size", it->size);
        put_u64s(e, "keys", it->keys, it->batch.count);
        put_f32s(e, "prob", it->prob, it->batch.count);
        put_batch(e, &it->batch);
        break;
    }
    case DQ_MSG_UPDATE_PRIORITIES: {
        const dq_update_priorities_t *u = &m->u.update_priorities;
        put_str(e, "table", u->table);
        put_uint(e, "count", u->count);
        put_u64s(e, "keys", u->keys, u->count);
        put_f32s(e, "priority", u->priority, u->count);
        break;
    }
    case DQ_MSG_WEIGHTS: put_weights(e, &m->u.weights); break;
    case DQ_MSG_STATS:
        put_uint(e, "id", m->u.stats.id);
        if (m->u.stats.paged) put_uint(e, "actor_from", m->u.stats.actor_from);
        break;
    case DQ_MSG_CHECKPOINT: put_uint(e, "id", m->u.checkpoint.id); break;
    case DQ_MSG_STATS_REPLY: put_stats(e, &m->u.stats_reply); break;
    case DQ_MSG_ERROR: {
        const dq_error_t *er = &m->u.error;
        put_key(e, "code");
        e->err |= msgpack_pack_int32(&e->pk, er->code);
        put_str(e, "name", er->name);
        put_str(e, "message", er->message);
        put_uint(e, "id", er->id);
        break;
    }
    default: break;
    }
}

int dq_msg_encode(const dq_msg_t *m, dq_buf_t *buf)
{
    int rc = dq_msg_validate(m, NULL, 0);
    if (rc) return rc;
    buf->len = 0;
    size_t guess, fields = plan(m, &guess);
    if (fields == 0) return DQ_EUNKNOWN_TYPE;
    if (buf_reserve(buf, guess)) return DQ_ENOMEM;
    enc_t e = {.buf = buf};
    msgpack_packer_init(&e.pk, buf, buf_write);
    e.err |= msgpack_pack_map(&e.pk, 2 + fields);
    put_str(&e, "type", dq_msg_type_name(m->type));
    put_uint(&e, "v", DQ_PROTOCOL_VERSION);
    put_fields(&e, m);
    if (e.err) {
        buf->len = 0;
        return DQ_ENOMEM;
    }
    return DQ_OK;
}
