/* wire.c - the parts of the msgpack codec of wire.h that both directions share:
 * message type names, dq_buf_free, batch allocation, dq_msg_clear, dq_msg_error and
 * the validator (dq_msg_validate), which the encoder runs before writing and the
 * decoder after reading, so both refuse the same values with the same reasons.
 * The encoder is in wire_encode.c, the pre-scan and decoder in wire_decode.c,
 * what they share in wire_internal.h; docs/protocol.md is the specification.
 */
#include "wire.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "wire_internal.h"

const char *const wire_type_names[DQ_MSG_COUNT_] = {
    [DQ_MSG_INSERT] = "insert",
    [DQ_MSG_ACK] = "ack",
    [DQ_MSG_SAMPLE] = "sample",
    [DQ_MSG_ITEMS] = "items",
    [DQ_MSG_UPDATE_PRIORITIES] = "update_priorities",
    [DQ_MSG_WEIGHTS] = "weights",
    [DQ_MSG_STATS] = "stats",
    [DQ_MSG_STATS_REPLY] = "stats_reply",
    [DQ_MSG_CHECKPOINT] = "checkpoint",
    [DQ_MSG_ERROR] = "error",
};

const char *dq_msg_type_name(dq_msg_type_t t)
{
    if ((unsigned)t >= DQ_MSG_COUNT_) return "unknown";
    return wire_type_names[t];
}

/* ---------------------------------------------------------------- errors */

int wire_fail(ctx_t *c, int code, const char *fmt, ...)
{
    if (c->why && c->whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->why, c->whylen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---------------------------------------------------------------- buffers */

void dq_buf_free(dq_buf_t *buf)
{
    if (!buf) return;
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

/* ---------------------------------------------------------------- batches */

void *wire_alloc_n(size_t n, size_t size)
{
    if (n == 0) n = 1;
    if (n > SIZE_MAX / size) return NULL;
    return malloc(n * size);
}

DQ_TRANSITION_COLS(DQ_COL_IS_32BIT_)

#define COL_FREE_(name, ctype, width, kind, ranged, lo, hi, doc) free(b->name);
void dq_batch_free(dq_batch_t *b)
{
    if (!b) return;
    DQ_TRANSITION_COLS(COL_FREE_)
    free(b->priority);
    memset(b, 0, sizeof *b);
}

#define COL_ALLOC_(name, ctype, width, kind, ranged, lo, hi, doc) \
    ok &= (b->name = wire_alloc_n(count * DQ_COL_WIDTH(width, obs_dim), sizeof(ctype))) != NULL;
int dq_batch_alloc(dq_batch_t *b, uint32_t count, uint32_t obs_dim, int with_priority)
{
    memset(b, 0, sizeof *b);
    size_t nobs = (size_t)count * obs_dim;
    if (obs_dim && nobs / obs_dim != count) return DQ_ENOMEM;
    b->count = count;
    b->obs_dim = obs_dim;
    bool ok = true;
    DQ_TRANSITION_COLS(COL_ALLOC_)
    if (with_priority) ok &= (b->priority = wire_alloc_n(count, sizeof(float))) != NULL;
    if (!ok) {
        dq_batch_free(b);
        return DQ_ENOMEM;
    }
    return DQ_OK;
}

#define COL_BYTES_(name, ctype, width, kind, ranged, lo, hi, doc) \
    +DQ_COL_WIDTH(width, obs_dim) * sizeof(ctype)
size_t dq_transition_bytes(uint32_t obs_dim) { return 0 DQ_TRANSITION_COLS(COL_BYTES_); }

#define COL_FLOATS_(name, ctype, width, kind, ranged, lo, hi, doc) +DQ_COL_WIDTH(width, obs_dim)
size_t dq_transition_floats(uint32_t obs_dim) { return 0 DQ_TRANSITION_COLS(COL_FLOATS_); }

/* memcpy keeps integers bit for bit in their float slots (every column is 32
 * bits wide, checked above). */
#define COL_PACK_(name, ctype, width, kind, ranged, lo, hi, doc)               \
    {                                                                          \
        size_t w_ = DQ_COL_WIDTH(width, b->obs_dim);                           \
        memcpy(r + at, b->name + (size_t)(from + i) * w_, w_ * sizeof(ctype)); \
        at += w_;                                                              \
    }
void dq_batch_pack(const dq_batch_t *b, uint32_t from, uint32_t n, size_t stride, float *out)
{
    for (uint32_t i = 0; i < n; i++) {
        float *r = out + (size_t)i * stride;
        size_t at = 0;
        DQ_TRANSITION_COLS(COL_PACK_)
    }
}

#define COL_UNPACK_(name, ctype, width, kind, ranged, lo, hi, doc)           \
    {                                                                        \
        size_t w_ = DQ_COL_WIDTH(width, b->obs_dim);                         \
        memcpy(b->name + (size_t)(to + i) * w_, r + at, w_ * sizeof(ctype)); \
        at += w_;                                                            \
    }
void dq_batch_unpack(dq_batch_t *b, uint32_t to, uint32_t n, size_t stride, const float *in)
{
    for (uint32_t i = 0; i < n; i++) {
        const float *r = in + (size_t)i * stride;
        size_t at = 0;
        DQ_TRANSITION_COLS(COL_UNPACK_)
    }
}

void dq_msg_clear(dq_msg_t *m)
{
    if (!m) return;
    switch (m->type) {
    case DQ_MSG_INSERT: dq_batch_free(&m->u.insert.batch); break;
    case DQ_MSG_ITEMS:
        free(m->u.items.keys);
        free(m->u.items.prob);
        dq_batch_free(&m->u.items.batch);
        break;
    case DQ_MSG_UPDATE_PRIORITIES:
        free(m->u.update_priorities.keys);
        free(m->u.update_priorities.priority);
        break;
    case DQ_MSG_WEIGHTS: free(m->u.weights.blob); break;
    default: break;
    }
    memset(m, 0, sizeof *m);
}

void dq_msg_error(dq_msg_t *m, int code, uint64_t id, const char *message)
{
    memset(m, 0, sizeof *m);
    m->type = DQ_MSG_ERROR;
    dq_error_t *e = &m->u.error;
    e->code = code < 0 ? code : DQ_EINVAL;
    e->id = id;
    snprintf(e->name, sizeof e->name, "%s", dq_errname(e->code));
    snprintf(e->message, sizeof e->message, "%s", message ? message : dq_strerror(e->code));
}

/* ---------------------------------------------------------------- validation */

/* Checks n floats: finite, and within [lo, hi] (lo excluded when lo_open).
 * dim > 0 names the transition and element of a (count, dim) matrix. */
static int check_floats(ctx_t *c, const char *field, const float *v, size_t n, uint32_t dim,
                        bool ranged, double lo, bool lo_open, double hi)
{
    for (size_t i = 0; i < n; i++) {
        float x = v[i];
        if (isfinite(x) && (!ranged || ((lo_open ? x > lo : x >= lo) && x <= hi))) continue;
        char where[64] = "";
        if (dim) snprintf(where, sizeof where, " (transition %zu, element %zu)", i / dim, i % dim);
        if (!isfinite(x))
            return wire_fail(c, DQ_ENONFINITE, "%s.%s[%zu] is %s%s", c->msg, field, i,
                             isnan(x) ? "NaN"
                             : x > 0  ? "+Inf"
                                      : "-Inf",
                             where);
        return wire_fail(c, DQ_ERANGE, "%s.%s[%zu] = %g, outside %s%g, %g]", c->msg, field, i,
                         (double)x, lo_open ? "(" : "[", lo, hi);
    }
    return DQ_OK;
}

int wire_check_dims(ctx_t *c, uint64_t count, uint64_t obs_dim)
{
    if (count < 1 || count > DQ_WIRE_MAX_COUNT)
        return wire_fail(c, DQ_ERANGE, "%s.count = %llu, must be in [1, %u]", c->msg,
                         (unsigned long long)count, (unsigned)DQ_WIRE_MAX_COUNT);
    if (obs_dim < 1 || obs_dim > DQ_WIRE_MAX_DIM)
        return wire_fail(c, DQ_ERANGE, "%s.obs_dim = %llu, must be in [1, %u]", c->msg,
                         (unsigned long long)obs_dim, (unsigned)DQ_WIRE_MAX_DIM);
    return DQ_OK;
}

/* An integer column: every value within [lo, hi]. */
static int check_ints(ctx_t *c, const char *field, const void *v, bool is_signed, size_t n,
                      double lo, double hi)
{
    for (size_t i = 0; i < n; i++) {
        long long x =
            is_signed ? (long long)((const int32_t *)v)[i] : (long long)((const uint32_t *)v)[i];
        if ((double)x >= lo && (double)x <= hi) continue;
        if ((double)x < lo && lo == 0)
            return wire_fail(c, DQ_ERANGE, "%s.%s[%zu] = %lld, must be >= 0", c->msg, field, i, x);
        return wire_fail(c, DQ_ERANGE, "%s.%s[%zu] = %lld, must be in [%.0f, %.0f]", c->msg, field,
                         i, x, lo, hi);
    }
    return DQ_OK;
}

#define check_col_f32(c, field, v, n, dim, ranged, lo, hi) \
    check_floats(c, field, v, n, dim, ranged, lo, false, hi)
#define check_col_i32(c, field, v, n, dim, ranged, lo, hi) check_ints(c, field, v, true, n, lo, hi)
#define check_col_u32(c, field, v, n, dim, ranged, lo, hi) check_ints(c, field, v, false, n, lo, hi)

#define COL_NULL_(name, ctype, width, kind, ranged, lo, hi, doc) || !b->name
#define COL_CHECK_(name, ctype, width, kind, ranged, lo, hi, doc)                                \
    if ((rc = check_col_##kind(c, #name, b->name, n * DQ_COL_WIDTH(width, b->obs_dim),           \
                               DQ_COL_WIDTH(width, b->obs_dim) > 1 ? b->obs_dim : 0, ranged, lo, \
                               hi)))                                                             \
        return rc;

/* with_priority: 0 ignore batch.priority, 1 check it when present (> 0). */
static int validate_batch(ctx_t *c, const dq_batch_t *b, int with_priority)
{
    int rc = wire_check_dims(c, b->count, b->obs_dim);
    if (rc) return rc;
    if (0 DQ_TRANSITION_COLS(COL_NULL_))
        return wire_fail(c, DQ_EINVAL, "%s: a batch array is NULL", c->msg);
    size_t n = b->count;
    DQ_TRANSITION_COLS(COL_CHECK_)
    if (with_priority && b->priority &&
        (rc = check_floats(c, "priority", b->priority, n, 0, true, 0, true, HUGE_VAL)))
        return rc;
    return DQ_OK;
}

/* A name field: 1..cap-1 bytes (0.. when allow_empty), terminated within cap. */
static int check_name(ctx_t *c, const char *field, const char *s, size_t cap, bool allow_empty)
{
    size_t n = strnlen(s, cap);
    if (n == cap)
        return wire_fail(c, DQ_ERANGE, "%s.%s is not NUL-terminated within %zu bytes", c->msg,
                         field, cap);
    if (n == 0 && !allow_empty) return wire_fail(c, DQ_ERANGE, "%s.%s is empty", c->msg, field);
    return DQ_OK;
}

int wire_validate_weights(ctx_t *c, const dq_weights_t *w)
{
    if (w->n_layers < 1 || w->n_layers > DQ_QNET_MAX_LAYERS)
        return wire_fail(c, DQ_ERANGE, "weights.n_layers = %lu, must be in [1, %d]",
                         (unsigned long)w->n_layers, DQ_QNET_MAX_LAYERS);
    uint64_t total = 0;
    for (uint32_t l = 0; l < w->n_layers; l++) {
        for (int k = 0; k < 2; k++)
            if (w->shape[l][k] < 1 || w->shape[l][k] > DQ_WIRE_MAX_DIM)
                return wire_fail(c, DQ_ERANGE, "weights.shape[%lu][%d] = %lu, must be in [1, %u]",
                                 (unsigned long)l, k, (unsigned long)w->shape[l][k],
                                 (unsigned)DQ_WIRE_MAX_DIM);
        if (l > 0 && w->shape[l][0] != w->shape[l - 1][1])
            return wire_fail(
                c, DQ_ESHAPE,
                "weights.shape[%lu] = (%lu, %lu) does not follow layer %lu's output %lu",
                (unsigned long)l, (unsigned long)w->shape[l][0], (unsigned long)w->shape[l][1],
                (unsigned long)l - 1, (unsigned long)w->shape[l - 1][1]);
        total += (uint64_t)w->shape[l][0] * w->shape[l][1] + w->shape[l][1];
    }
    if (w->n_floats != total)
        return wire_fail(c, DQ_ERANGE, "weights.n_floats = %lu, expected %llu from shape",
                         (unsigned long)w->n_floats, (unsigned long long)total);
    if (!w->blob) return wire_fail(c, DQ_EINVAL, "weights.blob is NULL");
    return check_floats(c, "blob", w->blob, w->n_floats, 0, false, 0, false, 0);
}

int wire_validate(ctx_t *c, const dq_msg_t *m)
{
    int rc;
    switch (m->type) {
    case DQ_MSG_INSERT: return validate_batch(c, &m->u.insert.batch, 1);
    case DQ_MSG_ACK:
        if (m->u.ack.duplicate > 1)
            return wire_fail(c, DQ_ERANGE, "ack.duplicate = %u, must be 0 or 1",
                             m->u.ack.duplicate);
        return DQ_OK;
    case DQ_MSG_SAMPLE: {
        const dq_sample_t *s = &m->u.sample;
        if ((rc = check_name(c, "table", s->table, DQ_TABLE_NAME_MAX, false))) return rc;
        if (s->n < 1 || s->n > DQ_WIRE_MAX_COUNT)
            return wire_fail(c, DQ_ERANGE, "sample.n = %lu, must be in [1, %u]",
                             (unsigned long)s->n, (unsigned)DQ_WIRE_MAX_COUNT);
        return DQ_OK;
    }
    case DQ_MSG_ITEMS: {
        const dq_items_t *it = &m->u.items;
        if ((rc = validate_batch(c, &it->batch, 0))) return rc;
        if (!it->keys || !it->prob) return wire_fail(c, DQ_EINVAL, "items: keys or prob is NULL");
        return check_floats(c, "prob", it->prob, it->batch.count, 0, true, 0, true, 1);
    }
    case DQ_MSG_UPDATE_PRIORITIES: {
        const dq_update_priorities_t *u = &m->u.update_priorities;
        if ((rc = check_name(c, "table", u->table, DQ_TABLE_NAME_MAX, false))) return rc;
        if (u->count < 1 || u->count > DQ_WIRE_MAX_COUNT)
            return wire_fail(c, DQ_ERANGE, "update_priorities.count = %lu, must be in [1, %u]",
                             (unsigned long)u->count, (unsigned)DQ_WIRE_MAX_COUNT);
        if (!u->keys || !u->priority)
            return wire_fail(c, DQ_EINVAL, "update_priorities: keys or priority is NULL");
        return check_floats(c, "priority", u->priority, u->count, 0, true, 0, false, HUGE_VAL);
    }
    case DQ_MSG_WEIGHTS: return wire_validate_weights(c, &m->u.weights);
    case DQ_MSG_STATS:
    case DQ_MSG_CHECKPOINT: return DQ_OK;
    case DQ_MSG_STATS_REPLY: {
        const dq_stats_reply_t *r = &m->u.stats_reply;
        if (r->count > DQ_STATS_MAX)
            return wire_fail(c, DQ_ERANGE, "stats_reply: %lu counters, at most %d",
                             (unsigned long)r->count, DQ_STATS_MAX);
        for (uint32_t i = 0; i < r->count; i++) {
            char field[32];
            snprintf(field, sizeof field, "stats[%lu]", (unsigned long)i);
            if ((rc = check_name(c, field, r->stats[i].name, DQ_STAT_NAME_MAX, false))) return rc;
            if (!isfinite(r->stats[i].value))
                return wire_fail(c, DQ_ENONFINITE, "stats_reply.stats[\"%s\"] is not finite",
                                 r->stats[i].name);
        }
        return DQ_OK;
    }
    case DQ_MSG_ERROR: {
        const dq_error_t *e = &m->u.error;
        if (e->code >= 0)
            return wire_fail(c, DQ_ERANGE, "error.code = %ld, must be negative", (long)e->code);
        if ((rc = check_name(c, "name", e->name, sizeof e->name, true))) return rc;
        return check_name(c, "message", e->message, sizeof e->message, true);
    }
    default:
        return wire_fail(c, DQ_EUNKNOWN_TYPE, "message type %d is not a dq_msg_type_t",
                         (int)m->type);
    }
}

int dq_msg_validate(const dq_msg_t *m, char *why, size_t whylen)
{
    ctx_t c = {dq_msg_type_name(m->type), why, whylen};
    return wire_validate(&c, m);
}

int dq_weights_supersede(uint64_t run, uint64_t version, const dq_weights_t *w)
{
    return w->run != run || w->version > version;
}
