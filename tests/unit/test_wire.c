/* test_wire.c - the wire codec: a round trip of every message type, every
 * documented refusal (truncation at every length, wrong type and absence of
 * every field, oversize, NaN/Inf in every float vector, ranges, lengths, huge
 * declared counts), a deterministic garbage and mutation loop that must never
 * crash, a message packed by hand with msgpack-c to pin the format of
 * docs/protocol.md, and the encode+decode time of a 256 x 16 INSERT. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <msgpack.h>

#include "err.h"
#include "rng.h"
#include "wire.h"

#define MAX_BYTES (64u << 20)

static char why[512];

/* ---------------------------------------------------------------- fixtures */

static float fval(dq_rng_t *r) { return (float)(dq_rng_uniform(r) * 4.0 - 2.0); }

static void fill_batch(dq_batch_t *b, uint32_t count, uint32_t dim, int prio, uint64_t seed)
{
    dq_rng_t r;
    dq_rng_seed(&r, seed);
    assert_int_equal(dq_batch_alloc(b, count, dim, prio), DQ_OK);
    for (size_t i = 0; i < (size_t)count * dim; i++) {
        b->obs[i] = fval(&r);
        b->next_obs[i] = fval(&r);
    }
    for (uint32_t i = 0; i < count; i++) {
        b->action[i] = (int32_t)(i % 3 == 2 ? 100000 + i : i % 3);
        b->reward[i] = fval(&r);
        b->discount[i] = i % 4 == 0 ? 0.0f : i % 4 == 1 ? 1.0f : 0.9f;
        b->epsilon[i] = (float)dq_rng_uniform(&r);
        b->version[i] = i % 2 ? UINT32_MAX - i : i;
        if (prio) b->priority[i] = 0.5f + (float)i;
    }
}

static dq_msg_t make_insert(uint32_t count, uint32_t dim, int prio)
{
    dq_msg_t m = {.type = DQ_MSG_INSERT};
    m.u.insert.actor = 7;
    m.u.insert.seq = UINT64_MAX - 3;
    m.u.insert.run = 0x1234567890abcdefULL;
    fill_batch(&m.u.insert.batch, count, dim, prio, 42);
    return m;
}

static dq_msg_t make_items(uint32_t count, uint32_t dim)
{
    dq_msg_t m = {.type = DQ_MSG_ITEMS};
    dq_items_t *it = &m.u.items;
    it->id = 99;
    it->size = 1000;
    fill_batch(&it->batch, count, dim, 0, 43);
    it->keys = malloc(count * sizeof *it->keys);
    it->prob = malloc(count * sizeof *it->prob);
    for (uint32_t i = 0; i < count; i++) {
        it->keys[i] = (uint64_t)i * 0x100000001ull;
        it->prob[i] = i ? 1.0f / (float)(i + 1) : 1.0f;
    }
    return m;
}

static dq_msg_t make_update(uint32_t count)
{
    dq_msg_t m = {.type = DQ_MSG_UPDATE_PRIORITIES};
    dq_update_priorities_t *u = &m.u.update_priorities;
    snprintf(u->table, sizeof u->table, "main");
    u->count = count;
    u->keys = malloc(count * sizeof *u->keys);
    u->priority = malloc(count * sizeof *u->priority);
    for (uint32_t i = 0; i < count; i++) {
        u->keys[i] = UINT64_MAX - i;
        u->priority[i] = (float)i * 0.25f; /* 0 is allowed here */
    }
    return m;
}

static dq_msg_t make_weights(void)
{
    dq_msg_t m = {.type = DQ_MSG_WEIGHTS};
    dq_weights_t *w = &m.u.weights;
    w->run = 0xfedcba9876543210ULL; /* all 64 bits travel */
    w->version = 12;
    w->step = 3400;
    w->n_layers = 3;
    uint32_t sizes[4] = {16, 8, 8, 3};
    uint32_t n = 0;
    for (int l = 0; l < 3; l++) {
        w->shape[l][0] = sizes[l];
        w->shape[l][1] = sizes[l + 1];
        n += sizes[l] * sizes[l + 1] + sizes[l + 1];
    }
    w->n_floats = n;
    w->blob = malloc(n * sizeof(float));
    for (uint32_t i = 0; i < n; i++) w->blob[i] = (float)i * 0.001f - 0.1f;
    return m;
}

static dq_msg_t make_stats_reply(void)
{
    dq_msg_t m = {.type = DQ_MSG_STATS_REPLY};
    dq_stats_reply_t *r = &m.u.stats_reply;
    const char *names[] = {"size", "capacity", "rejects.RANGE", "rate", "neg", "big"};
    double values[] = {0, 100000, 3, 0.25, -7, 1e300};
    r->count = 6;
    for (int i = 0; i < 6; i++) {
        snprintf(r->stats[i].name, DQ_STAT_NAME_MAX, "%s", names[i]);
        r->stats[i].value = values[i];
    }
    return m;
}

/* One valid instance of every message type, small enough to truncate at
 * every length; the caller dq_msg_clear()s it. */
static dq_msg_t make_any(dq_msg_type_t t)
{
    dq_msg_t m = {.type = t};
    switch (t) {
    case DQ_MSG_INSERT: return make_insert(3, 4, 1);
    case DQ_MSG_ACK: m.u.ack = (dq_ack_t){.seq = 5, .count = 64, .duplicate = 1}; break;
    case DQ_MSG_SAMPLE:
        snprintf(m.u.sample.table, DQ_TABLE_NAME_MAX, "main");
        m.u.sample.n = 32;
        m.u.sample.id = 1ull << 40;
        break;
    case DQ_MSG_ITEMS: return make_items(3, 4);
    case DQ_MSG_UPDATE_PRIORITIES: return make_update(3);
    case DQ_MSG_WEIGHTS: {
        m.u.weights.run = 7;
        m.u.weights.version = 1;
        m.u.weights.n_layers = 2;
        m.u.weights.shape[0][0] = 2, m.u.weights.shape[0][1] = 2;
        m.u.weights.shape[1][0] = 2, m.u.weights.shape[1][1] = 1;
        m.u.weights.n_floats = 9;
        m.u.weights.blob = calloc(9, sizeof(float));
        break;
    }
    case DQ_MSG_STATS: m.u.stats.id = 17; break;
    case DQ_MSG_STATS_REPLY: return make_stats_reply();
    case DQ_MSG_CHECKPOINT: m.u.checkpoint.id = 18; break;
    case DQ_MSG_ERROR:
        dq_msg_error(&m, DQ_ERANGE, 77, "insert.discount[0] = 2, outside [0, 1]");
        break;
    default: break;
    }
    return m;
}

/* ---------------------------------------------------------------- comparison */

static void assert_floats_equal(const float *a, const float *b, size_t n)
{
    assert_non_null(a);
    assert_non_null(b);
    assert_memory_equal(a, b, n * sizeof(float)); /* bit-exact */
}

static void assert_batch_equal(const dq_batch_t *a, const dq_batch_t *b, int prio)
{
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->obs_dim, b->obs_dim);
    size_t n = a->count, nobs = n * a->obs_dim;
    assert_floats_equal(a->obs, b->obs, nobs);
    assert_floats_equal(a->next_obs, b->next_obs, nobs);
    assert_memory_equal(a->action, b->action, n * sizeof(int32_t));
    assert_floats_equal(a->reward, b->reward, n);
    assert_floats_equal(a->discount, b->discount, n);
    assert_floats_equal(a->epsilon, b->epsilon, n);
    assert_memory_equal(a->version, b->version, n * sizeof(uint32_t));
    if (prio)
        assert_floats_equal(a->priority, b->priority, n);
    else
        assert_null(b->priority);
}

static void assert_msg_equal(const dq_msg_t *a, const dq_msg_t *b)
{
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case DQ_MSG_INSERT:
        assert_int_equal(a->u.insert.actor, b->u.insert.actor);
        assert_true(a->u.insert.seq == b->u.insert.seq);
        assert_true(a->u.insert.run == b->u.insert.run);
        assert_batch_equal(&a->u.insert.batch, &b->u.insert.batch,
                           a->u.insert.batch.priority != NULL);
        break;
    case DQ_MSG_ACK:
        assert_true(a->u.ack.seq == b->u.ack.seq);
        assert_int_equal(a->u.ack.count, b->u.ack.count);
        assert_int_equal(a->u.ack.duplicate, b->u.ack.duplicate);
        break;
    case DQ_MSG_SAMPLE:
        assert_string_equal(a->u.sample.table, b->u.sample.table);
        assert_int_equal(a->u.sample.n, b->u.sample.n);
        assert_true(a->u.sample.id == b->u.sample.id);
        break;
    case DQ_MSG_ITEMS:
        assert_true(a->u.items.id == b->u.items.id);
        assert_true(a->u.items.size == b->u.items.size);
        assert_memory_equal(a->u.items.keys, b->u.items.keys,
                            a->u.items.batch.count * sizeof(uint64_t));
        assert_floats_equal(a->u.items.prob, b->u.items.prob, a->u.items.batch.count);
        assert_batch_equal(&a->u.items.batch, &b->u.items.batch, 0);
        break;
    case DQ_MSG_UPDATE_PRIORITIES: {
        const dq_update_priorities_t *x = &a->u.update_priorities, *y = &b->u.update_priorities;
        assert_string_equal(x->table, y->table);
        assert_int_equal(x->count, y->count);
        assert_memory_equal(x->keys, y->keys, x->count * sizeof(uint64_t));
        assert_floats_equal(x->priority, y->priority, x->count);
        break;
    }
    case DQ_MSG_WEIGHTS: {
        const dq_weights_t *x = &a->u.weights, *y = &b->u.weights;
        assert_true(x->run == y->run);
        assert_true(x->version == y->version);
        assert_true(x->step == y->step);
        assert_int_equal(x->n_layers, y->n_layers);
        assert_memory_equal(x->shape, y->shape, x->n_layers * sizeof x->shape[0]);
        assert_int_equal(x->n_floats, y->n_floats);
        assert_floats_equal(x->blob, y->blob, x->n_floats);
        break;
    }
    case DQ_MSG_STATS: assert_true(a->u.stats.id == b->u.stats.id); break;
    case DQ_MSG_CHECKPOINT: assert_true(a->u.checkpoint.id == b->u.checkpoint.id); break;
    case DQ_MSG_STATS_REPLY:
        assert_int_equal(a->u.stats_reply.count, b->u.stats_reply.count);
        for (uint32_t i = 0; i < a->u.stats_reply.count; i++) {
            assert_string_equal(a->u.stats_reply.stats[i].name, b->u.stats_reply.stats[i].name);
            assert_true(a->u.stats_reply.stats[i].value == b->u.stats_reply.stats[i].value);
        }
        break;
    case DQ_MSG_ERROR:
        assert_int_equal(a->u.error.code, b->u.error.code);
        assert_string_equal(a->u.error.name, b->u.error.name);
        assert_string_equal(a->u.error.message, b->u.error.message);
        assert_true(a->u.error.id == b->u.error.id);
        break;
    default: fail_msg("bad type");
    }
}

static int is_empty(const dq_msg_t *m)
{
    static const dq_msg_t zero;
    return memcmp(m, &zero, sizeof zero) == 0;
}

/* Decodes, checks the code and (on error) that m is empty and why names needle. */
static void expect(const void *data, size_t len, int code, const char *needle)
{
    dq_msg_t m;
    why[0] = 0;
    int rc = dq_msg_decode(data, len, MAX_BYTES, &m, why, sizeof why);
    if (rc != code) fail_msg("expected %s, got %s: %s", dq_errname(code), dq_errname(rc), why);
    if (rc == 0) {
        dq_msg_clear(&m);
        return;
    }
    assert_true(is_empty(&m));
    assert_true(why[0] != 0);
    if (needle && !strstr(why, needle)) fail_msg("reason '%s' lacks '%s'", why, needle);
}

/* ---------------------------------------------------------------- re-packing */

/* A valid message's object tree, to re-pack with one field dropped, replaced
 * or added, through msgpack-c directly (not the encoder). */
typedef struct {
    dq_buf_t enc;
    msgpack_unpacked up;
    msgpack_sbuffer out;
} doc_t;

static void doc_open(doc_t *d, const dq_msg_t *m)
{
    memset(d, 0, sizeof *d);
    assert_int_equal(dq_msg_encode(m, &d->enc), DQ_OK);
    msgpack_unpacked_init(&d->up);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&d->up, d->enc.data, d->enc.len, &off),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(d->up.data.type, MSGPACK_OBJECT_MAP);
    msgpack_sbuffer_init(&d->out);
}

static void doc_close(doc_t *d)
{
    msgpack_sbuffer_destroy(&d->out);
    msgpack_unpacked_destroy(&d->up);
    dq_buf_free(&d->enc);
}

static int key_is(const msgpack_object *k, const char *key)
{
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
           memcmp(k->via.str.ptr, key, k->via.str.size) == 0;
}

static const msgpack_object *doc_get(doc_t *d, const char *key)
{
    const msgpack_object_map *map = &d->up.data.via.map;
    for (uint32_t i = 0; i < map->size; i++)
        if (key_is(&map->ptr[i].key, key)) return &map->ptr[i].val;
    fail_msg("no key %s", key);
    return NULL;
}

/* Re-packs into d->out: key dropped (repl NULL) or its value replaced; then
 * extra_key = extra appended when extra_key is not NULL. */
static void doc_repack(doc_t *d, const char *key, const msgpack_object *repl, const char *extra_key,
                       const msgpack_object *extra)
{
    msgpack_sbuffer_clear(&d->out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &d->out, msgpack_sbuffer_write);
    const msgpack_object_map *map = &d->up.data.via.map;
    uint32_t n = map->size;
    if (key && !repl) n--;
    if (extra_key) n++;
    msgpack_pack_map(&pk, n);
    for (uint32_t i = 0; i < map->size; i++) {
        if (key && key_is(&map->ptr[i].key, key)) {
            if (!repl) continue;
            msgpack_pack_object(&pk, map->ptr[i].key);
            msgpack_pack_object(&pk, *repl);
            continue;
        }
        msgpack_pack_object(&pk, map->ptr[i].key);
        msgpack_pack_object(&pk, map->ptr[i].val);
    }
    if (extra_key) {
        msgpack_pack_str_with_body(&pk, extra_key, strlen(extra_key));
        msgpack_pack_object(&pk, *extra);
    }
}

static void doc_expect(doc_t *d, const char *key, const msgpack_object *repl, int code,
                       const char *needle)
{
    doc_repack(d, key, repl, NULL, NULL);
    expect(d->out.data, d->out.size, code, needle);
}

static msgpack_object o_uint(uint64_t v)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER};
    o.via.u64 = v;
    return o;
}

static msgpack_object o_int(int64_t v)
{
    msgpack_object o = {.type = v < 0 ? MSGPACK_OBJECT_NEGATIVE_INTEGER
                                      : MSGPACK_OBJECT_POSITIVE_INTEGER};
    o.via.i64 = v;
    return o;
}

static msgpack_object o_str(const char *s)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_STR};
    o.via.str.ptr = s;
    o.via.str.size = (uint32_t)strlen(s);
    return o;
}

static msgpack_object o_bin(const void *p, size_t n)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_BIN};
    o.via.bin.ptr = p;
    o.via.bin.size = (uint32_t)n;
    return o;
}

static msgpack_object o_f64(double v)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_FLOAT64};
    o.via.f64 = v;
    return o;
}

static msgpack_object o_array(msgpack_object *items, uint32_t n)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_ARRAY};
    o.via.array.ptr = items;
    o.via.array.size = n;
    return o;
}

static void le32(unsigned char *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(u >> (8 * i));
}

/* ---------------------------------------------------------------- tests */

static void test_round_trip_every_type(void **state)
{
    (void)state;
    dq_buf_t buf = {0};
    for (int t = 0; t < DQ_MSG_COUNT_; t++) {
        dq_msg_t m = make_any((dq_msg_type_t)t), r;
        assert_int_equal(dq_msg_encode(&m, &buf), DQ_OK);
        int rc = dq_msg_decode(buf.data, buf.len, MAX_BYTES, &r, why, sizeof why);
        if (rc) fail_msg("%s: %s", dq_msg_type_name((dq_msg_type_t)t), why);
        assert_msg_equal(&m, &r);
        dq_msg_clear(&r);
        dq_msg_clear(&m);
        assert_true(is_empty(&m));
        dq_msg_clear(&m); /* twice is safe */
    }
    /* Larger ones, INSERT without priorities, and the extremes of the ranges. */
    dq_msg_t big[] = {make_insert(256, 16, 0), make_insert(1, DQ_WIRE_MAX_DIM, 1),
                      make_items(300, 5), make_update(1000), make_weights()};
    big[0].u.insert.batch.action[0] = INT32_MAX;
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        dq_msg_t r;
        assert_int_equal(dq_msg_encode(&big[i], &buf), DQ_OK);
        assert_int_equal(dq_msg_decode(buf.data, buf.len, MAX_BYTES, &r, why, sizeof why), DQ_OK);
        assert_msg_equal(&big[i], &r);
        dq_msg_clear(&r);
        dq_msg_clear(&big[i]);
    }
    dq_buf_free(&buf);
    assert_null(buf.data);
}

static void test_type_names(void **state)
{
    (void)state;
    const char *want[] = {"insert",  "ack",   "sample",      "items",      "update_priorities",
                          "weights", "stats", "stats_reply", "checkpoint", "error"};
    for (int t = 0; t < DQ_MSG_COUNT_; t++)
        assert_string_equal(dq_msg_type_name((dq_msg_type_t)t), want[t]);
    assert_string_equal(dq_msg_type_name(DQ_MSG_COUNT_), "unknown");
}

static void test_error_message(void **state)
{
    (void)state;
    dq_msg_t m;
    char long_msg[600];
    memset(long_msg, 'x', sizeof long_msg - 1);
    long_msg[sizeof long_msg - 1] = 0;
    dq_msg_error(&m, DQ_ENONFINITE, 42, long_msg);
    assert_int_equal(m.type, DQ_MSG_ERROR);
    assert_int_equal(m.u.error.code, -8);
    assert_string_equal(m.u.error.name, "NONFINITE");
    assert_int_equal(strlen(m.u.error.message), 255);
    assert_true(m.u.error.id == 42);
    dq_msg_error(&m, DQ_EEMPTY, 0, NULL);
    assert_string_equal(m.u.error.message, dq_strerror(DQ_EEMPTY));
    assert_string_equal(m.u.error.name, "EMPTY");
    dq_buf_t buf = {0};
    assert_int_equal(dq_msg_encode(&m, &buf), DQ_OK);
    dq_buf_free(&buf);
}

static void test_truncated_every_length(void **state)
{
    (void)state;
    dq_buf_t buf = {0};
    for (int t = 0; t < DQ_MSG_COUNT_; t++) {
        dq_msg_t m = make_any((dq_msg_type_t)t);
        assert_int_equal(dq_msg_encode(&m, &buf), DQ_OK);
        for (size_t len = 0; len < buf.len; len++) {
            /* A copy of exactly len bytes, so ASan sees any read past it. */
            char *p = malloc(len ? len : 1);
            memcpy(p, buf.data, len);
            expect(p, len, DQ_EMALFORMED, "malformed");
            free(p);
        }
        /* Trailing bytes are malformed too: exactly one object per frame. */
        char *p = malloc(buf.len + 1);
        memcpy(p, buf.data, buf.len);
        p[buf.len] = (char)0xc0;
        expect(p, buf.len + 1, DQ_EMALFORMED, "1 bytes after the first object");
        free(p);
        dq_msg_clear(&m);
    }
    dq_buf_free(&buf);
}

/* The fields of a message as encoded, except "type" and "v". */
static const char *const *fields_of(dq_msg_type_t t, size_t *n)
{
    static const char *const insert[] = {"actor",    "seq",      "count",   "obs_dim",
                                         "obs",      "next_obs", "action",  "reward",
                                         "discount", "epsilon",  "version", "priority"};
    static const char *const ack[] = {"seq", "count", "duplicate"};
    static const char *const sample[] = {"table", "n", "id"};
    static const char *const items[] = {"id",       "size",    "keys",     "prob",   "count",
                                        "obs_dim",  "obs",     "next_obs", "action", "reward",
                                        "discount", "epsilon", "version"};
    static const char *const update[] = {"table", "count", "keys", "priority"};
    static const char *const weights[] = {"version", "step",     "n_layers",
                                          "shape",   "n_floats", "blob"};
    static const char *const request[] = {"id"};
    static const char *const stats_reply[] = {"stats"};
    static const char *const error[] = {"code", "name", "message", "id"};
#define RET_(a)                      \
    do {                             \
        *n = sizeof a / sizeof a[0]; \
        return a;                    \
    } while (0)
    switch (t) {
    case DQ_MSG_INSERT: RET_(insert);
    case DQ_MSG_ACK: RET_(ack);
    case DQ_MSG_SAMPLE: RET_(sample);
    case DQ_MSG_ITEMS: RET_(items);
    case DQ_MSG_UPDATE_PRIORITIES: RET_(update);
    case DQ_MSG_WEIGHTS: RET_(weights);
    case DQ_MSG_STATS_REPLY: RET_(stats_reply);
    case DQ_MSG_ERROR: RET_(error);
    default: RET_(request);
    }
#undef RET_
}

static int is_str_field(const char *f)
{
    return !strcmp(f, "table") || !strcmp(f, "name") || !strcmp(f, "message") || !strcmp(f, "type");
}

static void test_missing_and_wrong_types(void **state)
{
    (void)state;
    msgpack_object s = o_str("x"), u = o_uint(3), f = o_f64(1.5);
    for (int t = 0; t < DQ_MSG_COUNT_; t++) {
        dq_msg_t m = make_any((dq_msg_type_t)t);
        doc_t d;
        doc_open(&d, &m);
        size_t n;
        const char *const *fields = fields_of((dq_msg_type_t)t, &n);
        char needle[96];
        for (size_t i = 0; i < n; i++) {
            snprintf(needle, sizeof needle, "%s: missing required field '%s'",
                     dq_msg_type_name((dq_msg_type_t)t), fields[i]);
            if (strcmp(fields[i], "priority") || t != DQ_MSG_INSERT)
                doc_expect(&d, fields[i], NULL, DQ_EMISSING, needle);
            else
                doc_expect(&d, fields[i], NULL, DQ_OK, NULL); /* optional */
            snprintf(needle, sizeof needle, "%s.%s: expected", dq_msg_type_name((dq_msg_type_t)t),
                     fields[i]);
            doc_expect(&d, fields[i], is_str_field(fields[i]) ? &u : &s, DQ_ETYPE, needle);
            doc_expect(&d, fields[i], &f, DQ_ETYPE, needle);
        }
        doc_expect(&d, "type", NULL, DQ_EMISSING, "'type'");
        doc_expect(&d, "v", NULL, DQ_EMISSING, "'v'");
        doc_expect(&d, "type", &u, DQ_ETYPE, "message.type: expected str, got uint");
        doc_expect(&d, "v", &s, DQ_ETYPE, "message.v: expected uint, got str");
        msgpack_object bad = o_str("inserts"), v2 = o_uint(2), v0 = o_uint(0);
        doc_expect(&d, "type", &bad, DQ_EUNKNOWN_TYPE, "unknown type \"inserts\"");
        doc_expect(&d, "v", &v2, DQ_EVERSION, "v = 2");
        doc_expect(&d, "v", &v0, DQ_EVERSION, "v = 0");
        /* Unknown extra keys are ignored, whatever they hold. */
        msgpack_object inner[2] = {o_str("nested"), o_f64(NAN)};
        msgpack_object extra = o_array(inner, 2);
        doc_repack(&d, NULL, NULL, "x_future_field", &extra);
        expect(d.out.data, d.out.size, DQ_OK, NULL);
        /* A known key given twice is refused. */
        doc_repack(&d, NULL, NULL, fields[0], doc_get(&d, fields[0]));
        expect(d.out.data, d.out.size, DQ_EMALFORMED, "appears twice");
        doc_close(&d);
        dq_msg_clear(&m);
    }
    /* Not a map at the top. */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_str_with_body(&pk, "type", 4);
    msgpack_pack_str_with_body(&pk, "ack", 3);
    expect(sb.data, sb.size, DQ_ETYPE, "top-level object is array");
    msgpack_sbuffer_destroy(&sb);
}

static void test_oversize(void **state)
{
    (void)state;
    dq_msg_t m = make_insert(4, 4, 0), r;
    dq_buf_t buf = {0};
    assert_int_equal(dq_msg_encode(&m, &buf), DQ_OK);
    assert_int_equal(dq_msg_decode(buf.data, buf.len, buf.len - 1, &r, why, sizeof why),
                     DQ_ETOOBIG);
    assert_true(is_empty(&r));
    assert_non_null(strstr(why, "exceeds the limit"));
    assert_int_equal(dq_msg_decode(buf.data, buf.len, buf.len, &r, why, sizeof why), DQ_OK);
    dq_msg_clear(&r);
    /* Checked before parsing: garbage that is too big is TOOBIG, not MALFORMED. */
    static const char junk[2048];
    assert_int_equal(dq_msg_decode(junk, sizeof junk, 1024, &r, why, sizeof why), DQ_ETOOBIG);
    dq_msg_clear(&m);
    dq_buf_free(&buf);
}

/* Replaces element idx of the float bin `key` with x, expects code. */
static void poison(doc_t *d, const char *key, size_t idx, float x, int code, const char *needle)
{
    const msgpack_object *o = doc_get(d, key);
    assert_int_equal(o->type, MSGPACK_OBJECT_BIN);
    unsigned char *copy = malloc(o->via.bin.size);
    memcpy(copy, o->via.bin.ptr, o->via.bin.size);
    le32(copy + 4 * idx, x);
    msgpack_object repl = o_bin(copy, o->via.bin.size);
    doc_expect(d, key, &repl, code, needle);
    free(copy);
}

static void test_nonfinite_every_vector(void **state)
{
    (void)state;
    struct {
        dq_msg_type_t t;
        const char *fields[7];
    } cases[] = {
        {DQ_MSG_INSERT, {"obs", "next_obs", "reward", "discount", "epsilon", "priority"}},
        {DQ_MSG_ITEMS, {"prob", "obs", "next_obs", "reward", "discount", "epsilon"}},
        {DQ_MSG_UPDATE_PRIORITIES, {"priority"}},
        {DQ_MSG_WEIGHTS, {"blob"}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dq_msg_t m = make_any(cases[c].t);
        doc_t d;
        doc_open(&d, &m);
        for (int i = 0; i < 7 && cases[c].fields[i]; i++) {
            char needle[96];
            const char *tn = dq_msg_type_name(cases[c].t);
            snprintf(needle, sizeof needle, "%s.%s[2] is NaN", tn, cases[c].fields[i]);
            poison(&d, cases[c].fields[i], 2, NAN, DQ_ENONFINITE, needle);
            snprintf(needle, sizeof needle, "%s.%s[1] is +Inf", tn, cases[c].fields[i]);
            poison(&d, cases[c].fields[i], 1, INFINITY, DQ_ENONFINITE, needle);
            snprintf(needle, sizeof needle, "%s.%s[0] is -Inf", tn, cases[c].fields[i]);
            poison(&d, cases[c].fields[i], 0, -INFINITY, DQ_ENONFINITE, needle);
        }
        doc_close(&d);
        dq_msg_clear(&m);
    }
    /* A (count, obs_dim) matrix names the transition and element. */
    dq_msg_t m = make_insert(3, 4, 0);
    doc_t d;
    doc_open(&d, &m);
    poison(&d, "obs", 6, NAN, DQ_ENONFINITE, "insert.obs[6] is NaN (transition 1, element 2)");
    doc_close(&d);
    /* The encoder refuses the same, with the same code. */
    dq_buf_t buf = {0};
    m.u.insert.batch.reward[1] = NAN;
    assert_int_equal(dq_msg_encode(&m, &buf), DQ_ENONFINITE);
    assert_int_equal(buf.len, 0);
    assert_int_equal(dq_msg_validate(&m, why, sizeof why), DQ_ENONFINITE);
    assert_string_equal(why, "insert.reward[1] is NaN");
    dq_msg_clear(&m);
    dq_buf_free(&buf);
}

static void test_ranges(void **state)
{
    (void)state;
    doc_t d;
    dq_msg_t m = make_insert(3, 4, 1);
    doc_open(&d, &m);
    poison(&d, "discount", 1, 1.5f, DQ_ERANGE, "insert.discount[1] = 1.5, outside [0, 1]");
    poison(&d, "discount", 0, -0.25f, DQ_ERANGE, "insert.discount[0]");
    poison(&d, "epsilon", 2, 1.01f, DQ_ERANGE, "insert.epsilon[2]");
    poison(&d, "priority", 0, 0.0f, DQ_ERANGE, "insert.priority[0] = 0, outside (0");
    poison(&d, "priority", 1, -1.0f, DQ_ERANGE, "insert.priority[1]");
    msgpack_object acts[3] = {o_int(0), o_int(-1), o_int(2)};
    msgpack_object a = o_array(acts, 3);
    doc_expect(&d, "action", &a, DQ_ERANGE, "insert.action[1] = -1, must be >= 0");
    acts[1] = o_uint((uint64_t)INT32_MAX + 1);
    doc_expect(&d, "action", &a, DQ_ERANGE, "insert.action[1] = 2147483648");
    acts[1] = o_f64(1.0);
    doc_expect(&d, "action", &a, DQ_ETYPE, "insert.action[1]: expected uint, got float64");
    msgpack_object vers[3] = {o_uint(0), o_uint(1ull << 32), o_uint(2)};
    msgpack_object v = o_array(vers, 3);
    doc_expect(&d, "version", &v, DQ_ERANGE, "insert.version[1] = 4294967296");
    msgpack_object x;
    x = o_uint(0);
    doc_expect(&d, "count", &x, DQ_ERANGE, "insert.count = 0, must be in [1, 65536]");
    x = o_uint(DQ_WIRE_MAX_COUNT + 1);
    doc_expect(&d, "count", &x, DQ_ERANGE, "insert.count = 65537");
    x = o_uint(4000000000u);
    doc_expect(&d, "count", &x, DQ_ERANGE, "insert.count = 4000000000");
    x = o_uint(0);
    doc_expect(&d, "obs_dim", &x, DQ_ERANGE, "insert.obs_dim = 0");
    x = o_uint(65537);
    doc_expect(&d, "obs_dim", &x, DQ_ERANGE, "insert.obs_dim = 65537");
    x = o_int(-5);
    doc_expect(&d, "seq", &x, DQ_ERANGE, "insert.seq = -5");
    x = o_uint(1ull << 32);
    doc_expect(&d, "actor", &x, DQ_ERANGE, "insert.actor = 4294967296");
    doc_close(&d);
    dq_msg_clear(&m);

    m = make_items(3, 4);
    doc_open(&d, &m);
    poison(&d, "prob", 0, 0.0f, DQ_ERANGE, "items.prob[0] = 0, outside (0, 1]");
    poison(&d, "prob", 2, 1.5f, DQ_ERANGE, "items.prob[2]");
    msgpack_object keys[3] = {o_uint(1), o_int(-2), o_uint(3)};
    msgpack_object k = o_array(keys, 3);
    doc_expect(&d, "keys", &k, DQ_ERANGE, "items.keys[1] = -2");
    doc_close(&d);
    dq_msg_clear(&m);

    m = make_update(3);
    doc_open(&d, &m);
    poison(&d, "priority", 1, -0.5f, DQ_ERANGE, "update_priorities.priority[1] = -0.5");
    poison(&d, "priority", 1, 0.0f, DQ_OK, NULL);
    x = o_str("");
    doc_expect(&d, "table", &x, DQ_ERANGE, "update_priorities.table is empty");
    x = o_str("a_table_name_that_is_far_too_long_for_the_field");
    doc_expect(&d, "table", &x, DQ_ERANGE, "at most 31");
    x = o_uint(0);
    doc_expect(&d, "count", &x, DQ_ERANGE, "update_priorities.count = 0");
    doc_close(&d);
    dq_msg_clear(&m);

    m = make_any(DQ_MSG_SAMPLE);
    doc_open(&d, &m);
    x = o_uint(0);
    doc_expect(&d, "n", &x, DQ_ERANGE, "sample.n = 0");
    x = o_uint(65537);
    doc_expect(&d, "n", &x, DQ_ERANGE, "sample.n = 65537");
    static const char with_nul[] = {'a', 0, 'b'};
    x = (msgpack_object){.type = MSGPACK_OBJECT_STR, .via.str = {3, with_nul}};
    doc_expect(&d, "table", &x, DQ_ERANGE, "NUL");
    doc_close(&d);
    dq_msg_clear(&m);

    m = make_any(DQ_MSG_ACK);
    doc_open(&d, &m);
    x = o_uint(1);
    doc_expect(&d, "duplicate", &x, DQ_OK, NULL);
    x = o_uint(2);
    doc_expect(&d, "duplicate", &x, DQ_ERANGE, "ack.duplicate = 2");
    doc_close(&d);
    dq_msg_clear(&m);

    m = make_any(DQ_MSG_ERROR);
    doc_open(&d, &m);
    x = o_uint(3);
    doc_expect(&d, "code", &x, DQ_ERANGE, "error.code = 3, must be negative");
    x = o_int(-1000);
    doc_expect(&d, "code", &x, DQ_OK, NULL); /* codes from the future pass */
    char longmsg[400];
    memset(longmsg, 'm', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = 0;
    x = o_str(longmsg);
    doc_expect(&d, "message", &x, DQ_OK, NULL); /* cut to 255 bytes */
    doc_close(&d);
    dq_msg_clear(&m);

    m = make_stats_reply();
    doc_open(&d, &m);
    msgpack_object_kv kv[2] = {{o_str("ok"), o_f64(1.0)}, {o_str("bad"), o_f64(INFINITY)}};
    msgpack_object st = {.type = MSGPACK_OBJECT_MAP, .via.map = {2, kv}};
    doc_expect(&d, "stats", &st, DQ_ENONFINITE, "stats_reply.stats[\"bad\"] is not finite");
    kv[1].val = o_str("7");
    doc_expect(&d, "stats", &st, DQ_ETYPE,
               "stats_reply.stats[\"bad\"]: expected a number, got str");
    kv[1].key = o_uint(1);
    kv[1].val = o_uint(1);
    doc_expect(&d, "stats", &st, DQ_ETYPE, "stats_reply.stats key 1: expected str");
    msgpack_object_kv many[DQ_STATS_MAX + 1];
    char names[DQ_STATS_MAX + 1][8];
    for (int i = 0; i <= DQ_STATS_MAX; i++) {
        snprintf(names[i], sizeof names[i], "s%d", i);
        many[i].key = o_str(names[i]);
        many[i].val = o_uint((uint64_t)i);
    }
    st.via.map.ptr = many;
    st.via.map.size = DQ_STATS_MAX;
    doc_expect(&d, "stats", &st, DQ_OK, NULL);
    st.via.map.size = DQ_STATS_MAX + 1;
    doc_expect(&d, "stats", &st, DQ_ERANGE, "97 counters, at most 96");
    doc_close(&d);
    dq_msg_clear(&m);
}

static void test_weights_shapes(void **state)
{
    (void)state;
    dq_msg_t m = make_weights();
    doc_t d;
    doc_open(&d, &m);
    msgpack_object x = o_uint(DQ_QNET_MAX_LAYERS + 1);
    doc_expect(&d, "n_layers", &x, DQ_ERANGE, "weights.n_layers = 9, must be in [1, 8]");
    x = o_uint(0);
    doc_expect(&d, "n_layers", &x, DQ_ERANGE, "weights.n_layers = 0");
    x = o_uint(2);
    doc_expect(&d, "n_layers", &x, DQ_ELENGTH, "weights.shape: array of 3 elements, expected 2");
    x = o_uint(m.u.weights.n_floats + 1);
    doc_expect(&d, "n_floats", &x, DQ_ERANGE, "weights.n_floats = 236, expected 235 from shape");
    /* A chain that does not connect: (16, 8), (9, 8), (8, 3) */
    msgpack_object p0[2] = {o_uint(16), o_uint(8)}, p1[2] = {o_uint(9), o_uint(8)},
                   p2[2] = {o_uint(8), o_uint(3)};
    msgpack_object layers[3] = {o_array(p0, 2), o_array(p1, 2), o_array(p2, 2)};
    msgpack_object shape = o_array(layers, 3);
    doc_expect(&d, "shape", &shape, DQ_ESHAPE,
               "weights.shape[1] = (9, 8) does not follow layer 0's output 8");
    p1[0] = o_uint(0);
    doc_expect(&d, "shape", &shape, DQ_ERANGE, "weights.shape[1][0] = 0, must be in [1, 65536]");
    p1[0] = o_str("8");
    doc_expect(&d, "shape", &shape, DQ_ETYPE, "weights.shape[1][0]: expected uint, got str");
    layers[1] = o_array(p1, 1);
    doc_expect(&d, "shape", &shape, DQ_ELENGTH,
               "weights.shape[1]: array of 1 elements, expected 2");
    layers[1] = o_uint(8);
    doc_expect(&d, "shape", &shape, DQ_ETYPE, "weights.shape[1]: expected array, got uint");
    doc_close(&d);
    /* A broken chain with a matching n_floats is a shape error. */
    m.u.weights.shape[2][0] = 9;
    m.u.weights.n_floats += 3;
    assert_int_equal(dq_msg_validate(&m, why, sizeof why), DQ_ESHAPE);
    m.u.weights.n_floats -= 3;
    assert_non_null(strstr(why, "does not follow"));
    m.u.weights.shape[2][0] = 8;
    m.u.weights.n_layers = 9;
    dq_buf_t buf = {0};
    assert_int_equal(dq_msg_encode(&m, &buf), DQ_ERANGE);
    dq_buf_free(&buf);
    m.u.weights.n_layers = 3;
    dq_msg_clear(&m);
}

static void test_lengths_and_huge_counts(void **state)
{
    (void)state;
    dq_msg_t m = make_insert(1, 16, 1);
    doc_t d;
    doc_open(&d, &m);
    unsigned char b60[60] = {0};
    msgpack_object x = o_bin(b60, 60);
    doc_expect(&d, "obs", &x, DQ_ELENGTH,
               "insert.obs: bin of 60 bytes, expected 64 (count 1 x obs_dim 16 x 4)");
    doc_expect(&d, "next_obs", &x, DQ_ELENGTH, "insert.next_obs: bin of 60 bytes");
    x = o_bin(b60, 8);
    doc_expect(&d, "reward", &x, DQ_ELENGTH,
               "insert.reward: bin of 8 bytes, expected 4 (count 1 x 4)");
    doc_expect(&d, "discount", &x, DQ_ELENGTH, "insert.discount");
    doc_expect(&d, "epsilon", &x, DQ_ELENGTH, "insert.epsilon");
    doc_expect(&d, "priority", &x, DQ_ELENGTH, "insert.priority");
    msgpack_object two[2] = {o_uint(0), o_uint(1)};
    x = o_array(two, 2);
    doc_expect(&d, "action", &x, DQ_ELENGTH, "insert.action: array of 2 elements, expected 1");
    doc_expect(&d, "version", &x, DQ_ELENGTH, "insert.version: array of 2 elements, expected 1");
    msgpack_object nil = {.type = MSGPACK_OBJECT_NIL};
    doc_expect(&d, "priority", &nil, DQ_OK, NULL); /* nil = absent */
    /* Large declared counts within the caps fail on length, before allocating. */
    x = o_uint(DQ_WIRE_MAX_COUNT);
    doc_expect(&d, "count", &x, DQ_ELENGTH, "expected 4194304 (count 65536 x obs_dim 16 x 4)");
    x = o_uint(DQ_WIRE_MAX_DIM);
    doc_expect(&d, "obs_dim", &x, DQ_ELENGTH, "expected 262144");
    doc_close(&d);
    dq_msg_clear(&m);

    m = make_items(3, 4);
    doc_open(&d, &m);
    msgpack_object k[2] = {o_uint(1), o_uint(2)};
    x = o_array(k, 2);
    doc_expect(&d, "keys", &x, DQ_ELENGTH, "items.keys: array of 2 elements, expected 3");
    x = o_bin(b60, 8);
    doc_expect(&d, "prob", &x, DQ_ELENGTH, "items.prob: bin of 8 bytes, expected 12");
    doc_close(&d);
    dq_msg_clear(&m);

    m = make_update(3);
    doc_open(&d, &m);
    x = o_uint(DQ_WIRE_MAX_COUNT);
    doc_expect(&d, "count", &x, DQ_ELENGTH,
               "update_priorities.keys: array of 3 elements, expected 65536");
    doc_close(&d);
    dq_msg_clear(&m);

    m = make_weights();
    doc_open(&d, &m);
    x = o_bin(b60, 60);
    doc_expect(&d, "blob", &x, DQ_ELENGTH,
               "weights.blob: bin of 60 bytes, expected 940 (n_floats 235 x 4)");
    doc_close(&d);
    dq_msg_clear(&m);

    /* Raw msgpack whose headers declare ~4 billion entries in a few bytes:
     * refused by the scan before msgpack-c would size its arrays by them. */
    static const unsigned char map32[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'v', 0x01};
    expect(map32, sizeof map32, DQ_EMALFORMED, "map of 4294967295 entries");
    static const unsigned char arr32[] = {0x82, 0xa4, 't', 'y',  'p',  'e',  0xa3, 'a',  'c',
                                          'k',  0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xf0, 0x01};
    expect(arr32, sizeof arr32, DQ_EMALFORMED, "array of 4294967280 entries");
    static const unsigned char bin32[] = {0x81, 0xa1, 'x', 0xc6, 0xff, 0xff, 0xff, 0xff, 0x00};
    expect(bin32, sizeof bin32, DQ_EMALFORMED, "truncated");
    static const unsigned char str32[] = {0xdb, 0x80, 0x00, 0x00, 0x00, 'a'};
    expect(str32, sizeof str32, DQ_EMALFORMED, "truncated");
    static const unsigned char c1[] = {0x81, 0xa1, 'x', 0xc1};
    expect(c1, sizeof c1, DQ_EMALFORMED, "0xc1");
    /* Deep nesting: 40 one-element arrays. */
    unsigned char deep[64];
    memset(deep, 0x91, 40);
    deep[40] = 0x01;
    expect(deep, 41, DQ_EMALFORMED, "nested deeper");
    expect("", 0, DQ_EMALFORMED, "empty message");
}

static void test_peek_id(void **state)
{
    (void)state;
    dq_msg_t m = make_insert(2, 2, 0);
    doc_t d;
    doc_open(&d, &m);
    poison(&d, "reward", 0, NAN, DQ_ENONFINITE, "insert.reward[0] is NaN");
    /* d.out now holds the refused insert: its seq is still found. */
    assert_true(dq_msg_peek_id(d.out.data, d.out.size, MAX_BYTES) == m.u.insert.seq);
    assert_true(dq_msg_peek_id(d.out.data, d.out.size, d.out.size - 1) == 0);
    assert_true(dq_msg_peek_id(d.out.data, d.out.size - 1, MAX_BYTES) == 0);
    doc_close(&d);
    dq_msg_clear(&m);
    m = make_any(DQ_MSG_SAMPLE);
    doc_open(&d, &m);
    msgpack_object zero = o_uint(0);
    doc_repack(&d, "n", &zero, NULL, NULL);
    assert_true(dq_msg_peek_id(d.out.data, d.out.size, MAX_BYTES) == m.u.sample.id);
    msgpack_object s = o_str("7");
    doc_repack(&d, "id", &s, NULL, NULL);
    assert_true(dq_msg_peek_id(d.out.data, d.out.size, MAX_BYTES) == 0);
    doc_close(&d);
    assert_true(dq_msg_peek_id("\x91", 1, MAX_BYTES) == 0);
    assert_true(dq_msg_peek_id(NULL, 0, MAX_BYTES) == 0);
}

static void test_encoder_refuses(void **state)
{
    (void)state;
    dq_buf_t buf = {0};
    dq_msg_t m = make_insert(2, 3, 0);
    float *saved = m.u.insert.batch.obs;
    m.u.insert.batch.obs = NULL;
    assert_int_equal(dq_msg_encode(&m, &buf), DQ_EINVAL);
    m.u.insert.batch.obs = saved;
    m.u.insert.batch.discount[0] = 2.0f;
    assert_int_equal(dq_msg_encode(&m, &buf), DQ_ERANGE);
    assert_int_equal(dq_msg_validate(&m, why, sizeof why), DQ_ERANGE);
    assert_string_equal(why, "insert.discount[0] = 2, outside [0, 1]");
    m.u.insert.batch.discount[0] = 1.0f;
    m.u.insert.batch.action[1] = -3;
    assert_int_equal(dq_msg_encode(&m, &buf), DQ_ERANGE);
    m.u.insert.batch.action[1] = 0;
    assert_int_equal(dq_msg_encode(&m, &buf), DQ_OK);
    dq_msg_clear(&m);

    dq_msg_t s = {.type = DQ_MSG_SAMPLE, .u.sample = {.table = "", .n = 4}};
    assert_int_equal(dq_msg_encode(&s, &buf), DQ_ERANGE);
    memset(s.u.sample.table, 'a', DQ_TABLE_NAME_MAX); /* not terminated */
    assert_int_equal(dq_msg_encode(&s, &buf), DQ_ERANGE);
    dq_msg_t bogus = {.type = DQ_MSG_COUNT_};
    assert_int_equal(dq_msg_encode(&bogus, &buf), DQ_EUNKNOWN_TYPE);
    dq_msg_t e = {.type = DQ_MSG_ERROR};
    assert_int_equal(dq_msg_encode(&e, &buf), DQ_ERANGE); /* code 0 */
    dq_msg_t st = make_stats_reply();
    st.u.stats_reply.stats[2].value = NAN;
    assert_int_equal(dq_msg_encode(&st, &buf), DQ_ENONFINITE);
    st.u.stats_reply.count = DQ_STATS_MAX + 1;
    assert_int_equal(dq_msg_encode(&st, &buf), DQ_ERANGE);
    dq_buf_free(&buf);
}

static void test_buffer_reuse(void **state)
{
    (void)state;
    dq_buf_t buf = {0};
    dq_msg_t big = make_insert(256, 16, 1), small = make_any(DQ_MSG_ACK);
    assert_int_equal(dq_msg_encode(&big, &buf), DQ_OK);
    size_t cap = buf.cap;
    char *data = buf.data;
    assert_true(buf.len > 256 * 16 * 8);
    assert_int_equal(dq_msg_encode(&small, &buf), DQ_OK);
    assert_true(buf.len < 64);
    assert_int_equal(dq_msg_encode(&big, &buf), DQ_OK);
    assert_true(buf.cap == cap && buf.data == data);
    dq_msg_clear(&big);
    dq_buf_free(&buf);
}

/* The format as docs/protocol.md writes it, packed field by field with
 * msgpack-c: keys in another order, integers in several widths, an unknown
 * key, a float32 and a negative number in STATS_REPLY. */
static void test_hand_built(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
#define KEY(s) msgpack_pack_str_with_body(&pk, s, strlen(s))
    const uint32_t count = 2, dim = 3;
    unsigned char obs[2 * 3 * 4], next_obs[2 * 3 * 4], rew[8], disc[8], eps[8], prio[8];
    for (int i = 0; i < 6; i++) {
        le32(obs + 4 * i, (float)i);
        le32(next_obs + 4 * i, (float)i + 0.5f);
    }
    le32(rew, 1.0f), le32(rew + 4, -0.5f);
    le32(disc, 0.81f), le32(disc + 4, 0.0f);
    le32(eps, 0.2f), le32(eps + 4, 0.05f);
    le32(prio, 3.0f), le32(prio + 4, 0.125f);
    msgpack_pack_map(&pk, 15);
    KEY("note"), KEY("ignored by receivers");
    KEY("v"), msgpack_pack_uint8(&pk, 1);
    KEY("obs"), msgpack_pack_bin_with_body(&pk, obs, sizeof obs);
    KEY("type"), KEY("insert");
    KEY("actor"), msgpack_pack_uint16(&pk, 300);
    KEY("seq"), msgpack_pack_uint64(&pk, 1ull << 50);
    KEY("count"), msgpack_pack_int64(&pk, count);
    KEY("obs_dim"), msgpack_pack_int8(&pk, (int8_t)dim);
    KEY("next_obs"), msgpack_pack_bin_with_body(&pk, next_obs, sizeof next_obs);
    KEY("action"), msgpack_pack_array(&pk, 2), msgpack_pack_int32(&pk, 1),
        msgpack_pack_uint32(&pk, 70000);
    KEY("reward"), msgpack_pack_bin_with_body(&pk, rew, 8);
    KEY("discount"), msgpack_pack_bin_with_body(&pk, disc, 8);
    KEY("epsilon"), msgpack_pack_bin_with_body(&pk, eps, 8);
    KEY("version"), msgpack_pack_array(&pk, 2), msgpack_pack_fix_uint8(&pk, 0),
        msgpack_pack_uint32(&pk, 4000000000u);
    KEY("priority"), msgpack_pack_bin_with_body(&pk, prio, 8);
    dq_msg_t m;
    assert_int_equal(dq_msg_decode(sb.data, sb.size, MAX_BYTES, &m, why, sizeof why), DQ_OK);
    assert_int_equal(m.type, DQ_MSG_INSERT);
    const dq_batch_t *b = &m.u.insert.batch;
    assert_int_equal(m.u.insert.actor, 300);
    assert_true(m.u.insert.seq == 1ull << 50);
    assert_int_equal(b->count, 2);
    assert_int_equal(b->obs_dim, 3);
    for (int i = 0; i < 6; i++) {
        assert_true(b->obs[i] == (float)i);
        assert_true(b->next_obs[i] == (float)i + 0.5f);
    }
    assert_int_equal(b->action[0], 1);
    assert_int_equal(b->action[1], 70000);
    assert_true(b->reward[1] == -0.5f && b->discount[0] == 0.81f && b->epsilon[1] == 0.05f);
    assert_true(b->version[1] == 4000000000u);
    assert_true(b->priority[0] == 3.0f && b->priority[1] == 0.125f);
    dq_msg_clear(&m);

    /* Every message the encoder writes is a map with "type" first and "v" second. */
    dq_buf_t buf = {0};
    dq_msg_t ack = make_any(DQ_MSG_ACK);
    assert_int_equal(dq_msg_encode(&ack, &buf), DQ_OK);
    static const unsigned char head[] = {0x85, 0xa4, 't', 'y',  'p', 'e', 0xa3,
                                         'a',  'c',  'k', 0xa1, 'v', 0x01};
    assert_memory_equal(buf.data, head, sizeof head);
    dq_buf_free(&buf);

    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 3);
    KEY("type"), KEY("stats_reply");
    KEY("v"), msgpack_pack_uint64(&pk, 1);
    KEY("stats"), msgpack_pack_map(&pk, 3);
    KEY("a"), msgpack_pack_float(&pk, 0.5f);
    KEY("b"), msgpack_pack_int16(&pk, -300);
    KEY("c"), msgpack_pack_uint64(&pk, 1ull << 40);
    assert_int_equal(dq_msg_decode(sb.data, sb.size, MAX_BYTES, &m, why, sizeof why), DQ_OK);
    assert_int_equal(m.u.stats_reply.count, 3);
    assert_string_equal(m.u.stats_reply.stats[1].name, "b");
    assert_true(m.u.stats_reply.stats[0].value == 0.5 && m.u.stats_reply.stats[1].value == -300.0 &&
                m.u.stats_reply.stats[2].value == (double)(1ull << 40));

    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 6);
    KEY("id"), msgpack_pack_uint8(&pk, 9);
    KEY("message"), KEY("no items yet");
    KEY("name"), KEY("EMPTY");
    KEY("code"), msgpack_pack_int8(&pk, -16);
    KEY("v"), msgpack_pack_uint8(&pk, 1);
    KEY("type"), KEY("error");
    assert_int_equal(dq_msg_decode(sb.data, sb.size, MAX_BYTES, &m, why, sizeof why), DQ_OK);
    assert_int_equal(m.u.error.code, DQ_EEMPTY);
    assert_string_equal(m.u.error.name, "EMPTY");
    assert_string_equal(m.u.error.message, "no items yet");
    assert_true(m.u.error.id == 9);
#undef KEY
    msgpack_sbuffer_destroy(&sb);
}

/* STATS with actor_from (a page of per-actor counts): round trip; absent or
 * nil = not paged; a value of another type or range refused. */
static void test_stats_actor_from(void **state)
{
    (void)state;
    dq_buf_t buf = {0};
    dq_msg_t m = {.type = DQ_MSG_STATS, .u.stats = {.id = 5, .paged = 1, .actor_from = 4000000}};
    dq_msg_t r;
    assert_int_equal(dq_msg_encode(&m, &buf), DQ_OK);
    assert_int_equal(dq_msg_decode(buf.data, buf.len, MAX_BYTES, &r, why, sizeof why), DQ_OK);
    assert_true(r.u.stats.id == 5 && r.u.stats.paged == 1 && r.u.stats.actor_from == 4000000);
    m.u.stats = (dq_stats_t){.id = 6};
    assert_int_equal(dq_msg_encode(&m, &buf), DQ_OK);
    assert_null(memmem(buf.data, buf.len, "actor_from", 10));
    assert_int_equal(dq_msg_decode(buf.data, buf.len, MAX_BYTES, &r, why, sizeof why), DQ_OK);
    assert_true(r.u.stats.id == 6 && r.u.stats.paged == 0);
    dq_buf_free(&buf);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    for (int k = 0; k < 4; k++) {
        msgpack_sbuffer_clear(&sb);
        msgpack_pack_map(&pk, 4);
        msgpack_pack_str_with_body(&pk, "type", 4), msgpack_pack_str_with_body(&pk, "stats", 5);
        msgpack_pack_str_with_body(&pk, "v", 1), msgpack_pack_uint8(&pk, 1);
        msgpack_pack_str_with_body(&pk, "id", 2), msgpack_pack_uint8(&pk, 1);
        msgpack_pack_str_with_body(&pk, "actor_from", 10);
        static const int want[4] = {DQ_OK, DQ_ETYPE, DQ_ERANGE, DQ_ERANGE};
        if (k == 0) msgpack_pack_nil(&pk);
        if (k == 1) msgpack_pack_str_with_body(&pk, "0", 1);
        if (k == 2) msgpack_pack_int8(&pk, -1);
        if (k == 3) msgpack_pack_uint64(&pk, 1ull << 32);
        assert_int_equal(dq_msg_decode(sb.data, sb.size, MAX_BYTES, &r, why, sizeof why), want[k]);
        if (k == 0) assert_int_equal(r.u.stats.paged, 0);
        if (k > 0) assert_non_null(strstr(why, "stats.actor_from"));
    }
    msgpack_sbuffer_destroy(&sb);
}

/* Random bytes, then mutations of valid messages: no crash, an empty message
 * on every refusal, and whatever is accepted re-encodes. */
static void test_garbage_never_crashes(void **state)
{
    (void)state;
    dq_rng_t r;
    dq_rng_seed(&r, 2024);
    dq_buf_t buf = {0}, re = {0};
    unsigned char *p = malloc(4096);
    int accepted = 0;
    for (int it = 0; it < 20000; it++) {
        size_t len = (size_t)dq_rng_below(&r, 200);
        for (size_t i = 0; i < len; i++) p[i] = (unsigned char)dq_rng_u64(&r);
        if (len && dq_rng_below(&r, 2)) p[0] = (unsigned char)(0x80 | dq_rng_below(&r, 16));
        dq_msg_t m;
        int rc = dq_msg_decode(p, len, 4096, &m, why, sizeof why);
        if (rc) assert_true(is_empty(&m));
        (void)dq_msg_peek_id(p, len, 4096);
        dq_msg_clear(&m);
    }
    for (int it = 0; it < 20000; it++) {
        dq_msg_t v = make_any((dq_msg_type_t)dq_rng_below(&r, DQ_MSG_COUNT_));
        assert_int_equal(dq_msg_encode(&v, &buf), DQ_OK);
        dq_msg_clear(&v);
        size_t len = buf.len < 4096 ? buf.len : 4096;
        memcpy(p, buf.data, len);
        int edits = 1 + (int)dq_rng_below(&r, 4);
        for (int e = 0; e < edits; e++) {
            size_t at = (size_t)dq_rng_below(&r, len);
            switch (dq_rng_below(&r, 4)) {
            case 0: p[at] = (unsigned char)dq_rng_u64(&r); break;
            case 1: p[at] ^= (unsigned char)(1u << dq_rng_below(&r, 8)); break;
            case 2: len = at + 1; break;
            default: p[at] = (unsigned char)(0xc4 + dq_rng_below(&r, 28)); break;
            }
        }
        char *copy = malloc(len);
        memcpy(copy, p, len);
        dq_msg_t m;
        int rc = dq_msg_decode(copy, len, 4096, &m, why, sizeof why);
        (void)dq_msg_peek_id(copy, len, 4096);
        free(copy);
        if (rc) {
            assert_true(is_empty(&m));
        } else {
            accepted++;
            if (dq_msg_encode(&m, &re) != DQ_OK) fail_msg("accepted but not re-encodable");
        }
        dq_msg_clear(&m);
    }
    print_message("mutation loop: %d of 20000 mutated messages still valid\n", accepted);
    free(p);
    dq_buf_free(&buf);
    dq_buf_free(&re);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void test_speed_256x16(void **state)
{
    (void)state;
    dq_msg_t m = make_insert(256, 16, 1), r;
    dq_buf_t buf = {0};
    /* The best of 10 rounds of 200, so a loaded machine skews it less. */
    double best_enc = 1e30, best_dec = 1e30;
    for (int round = 0; round < 10; round++) {
        double enc = 0, dec = 0;
        for (int i = 0; i < 200; i++) {
            double t0 = now_us();
            assert_int_equal(dq_msg_encode(&m, &buf), DQ_OK);
            double t1 = now_us();
            assert_int_equal(dq_msg_decode(buf.data, buf.len, MAX_BYTES, &r, why, sizeof why),
                             DQ_OK);
            double t2 = now_us();
            dq_msg_clear(&r);
            enc += t1 - t0, dec += t2 - t1;
        }
        if (enc / 200 < best_enc) best_enc = enc / 200;
        if (dec / 200 < best_dec) best_dec = dec / 200;
    }
    print_message("INSERT 256 x 16 (%zu bytes): encode %.1f us, decode %.1f us\n", buf.len,
                  best_enc, best_dec);
    dq_msg_clear(&m);
    dq_buf_free(&buf);
}

/* dq_batch_pack / unpack (the learner's per-rank records): the record width
 * and layout follow transition_cols.h, integers survive bit for bit (version
 * UINT32_MAX - i is not exact as a float value), the caller's extra slots are
 * untouched, and unpacking a packed row range restores exactly those rows. */
static void test_pack_round_trip(void **state)
{
    (void)state;
    const uint32_t D = 5, count = 37, from = 3, n = 20, to = 4;
    assert_int_equal(dq_transition_floats(D), 2 * D + 5);
    assert_int_equal(dq_transition_bytes(D), 8 * D + 20);
    dq_batch_t b, u;
    fill_batch(&b, count, D, 0, 9);
    const size_t rec = dq_transition_floats(D), stride = rec + 2;
    float *buf = malloc(n * stride * sizeof(float));
    assert_non_null(buf);
    for (size_t i = 0; i < n * stride; i++) buf[i] = -7.5f;
    dq_batch_pack(&b, from, n, stride, buf);
    for (uint32_t i = 0; i < n; i++) {
        const float *r = buf + (size_t)i * stride;
        uint32_t j = from + i, bits;
        assert_memory_equal(r, b.obs + (size_t)j * D, D * sizeof(float));
        assert_memory_equal(r + D, b.next_obs + (size_t)j * D, D * sizeof(float));
        memcpy(&bits, r + 2 * D, 4);
        assert_int_equal((int32_t)bits, b.action[j]);
        assert_true(r[2 * D + 1] == b.reward[j] && r[2 * D + 2] == b.discount[j] &&
                    r[2 * D + 3] == b.epsilon[j]);
        memcpy(&bits, r + 2 * D + 4, 4);
        assert_int_equal(bits, b.version[j]);
        assert_true(r[rec] == -7.5f && r[rec + 1] == -7.5f); /* the caller's slots */
    }
    assert_int_equal(dq_batch_alloc(&u, to + n, D, 0), DQ_OK);
    dq_batch_unpack(&u, to, n, stride, buf);
    dq_batch_t want = b, got = u; /* views of rows [from, +n) and [to, +n) */
    want.count = got.count = n;
#define VIEW_(name, ctype, width, kind, ranged, lo, hi, doc) \
    want.name = b.name + from * DQ_COL_WIDTH(width, D);      \
    got.name = u.name + to * DQ_COL_WIDTH(width, D);
    DQ_TRANSITION_COLS(VIEW_)
    assert_batch_equal(&want, &got, 0);
    free(buf);
    dq_batch_free(&u);
    dq_batch_free(&b);
}

/* A string of exactly the field's capacity (table name 32 bytes, stats key
 * 48) is refused with RANGE naming the field; one byte less decodes unchanged. */
static void test_string_limits(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
#define KEY(s) msgpack_pack_str_with_body(&pk, s, strlen(s))
    char name[DQ_STAT_NAME_MAX + 1];
    for (size_t len = DQ_TABLE_NAME_MAX - 1; len <= DQ_TABLE_NAME_MAX; len++) {
        memset(name, 't', len);
        name[len] = '\0';
        name[0] = 'T', name[len - 1] = 'z';
        msgpack_sbuffer_clear(&sb);
        msgpack_pack_map(&pk, 5);
        KEY("type"), KEY("sample");
        KEY("v"), msgpack_pack_uint8(&pk, 1);
        KEY("table"), KEY(name);
        KEY("n"), msgpack_pack_uint8(&pk, 4);
        KEY("id"), msgpack_pack_uint8(&pk, 2);
        if (len == DQ_TABLE_NAME_MAX) {
            expect(sb.data, sb.size, DQ_ERANGE, "sample.table: str of 32 bytes, at most 31");
            continue;
        }
        dq_msg_t m;
        assert_int_equal(dq_msg_decode(sb.data, sb.size, MAX_BYTES, &m, why, sizeof why), DQ_OK);
        assert_string_equal(m.u.sample.table, name);
        dq_msg_clear(&m);
    }
    for (size_t len = DQ_STAT_NAME_MAX - 1; len <= DQ_STAT_NAME_MAX; len++) {
        memset(name, 's', len);
        name[len] = '\0';
        name[0] = 'S', name[len - 1] = 'z';
        msgpack_sbuffer_clear(&sb);
        msgpack_pack_map(&pk, 3);
        KEY("type"), KEY("stats_reply");
        KEY("v"), msgpack_pack_uint8(&pk, 1);
        KEY("stats"), msgpack_pack_map(&pk, 2);
        KEY("size"), msgpack_pack_uint8(&pk, 3);
        KEY(name), msgpack_pack_double(&pk, 0.25);
        if (len == DQ_STAT_NAME_MAX) {
            expect(sb.data, sb.size, DQ_ERANGE, "str of 48 bytes, at most 47");
            continue;
        }
        dq_msg_t m;
        assert_int_equal(dq_msg_decode(sb.data, sb.size, MAX_BYTES, &m, why, sizeof why), DQ_OK);
        assert_int_equal(m.u.stats_reply.count, 2);
        assert_string_equal(m.u.stats_reply.stats[1].name, name);
        assert_true(m.u.stats_reply.stats[1].value == 0.25);
        dq_msg_clear(&m);
    }
#undef KEY
    msgpack_sbuffer_destroy(&sb);
}

/* Which WEIGHTS a receiver takes: any from another learner run (a restarted
 * learner counts from version 1 again), and from the same run only newer
 * ones. A WEIGHTS without "run" is refused as MISSING. */
static void test_weights_supersede(void **state)
{
    (void)state;
    dq_weights_t w = {.run = 0xabc, .version = 5};
    assert_true(dq_weights_supersede(0, 0, &w));       /* the first weights */
    assert_true(dq_weights_supersede(0xabc, 4, &w));   /* newer, same run */
    assert_false(dq_weights_supersede(0xabc, 5, &w));  /* the same publication again */
    assert_false(dq_weights_supersede(0xabc, 9, &w));  /* older, same run */
    assert_true(dq_weights_supersede(0x123, 900, &w)); /* a new run, lower version: taken */
    w.version = 1;
    assert_true(dq_weights_supersede(0x123, 900, &w));

    dq_msg_t m = make_weights();
    dq_buf_t buf = {0};
    assert_int_equal(dq_msg_encode(&m, &buf), DQ_OK);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, (const char *)buf.data, buf.len, NULL),
                     MSGPACK_UNPACK_SUCCESS);
    msgpack_object_map *map = &u.data.via.map;
    int found = 0;
    for (uint32_t k = 0; k < map->size; k++) /* rename "run" so it is missing */
        if (map->ptr[k].key.via.str.size == 3 && !memcmp(map->ptr[k].key.via.str.ptr, "run", 3)) {
            map->ptr[k].key.via.str.ptr = "rux";
            found = 1;
        }
    assert_true(found);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, u.data);
    expect(sb.data, sb.size, DQ_EMISSING, "weights: missing required field 'run'");
    msgpack_sbuffer_destroy(&sb);
    msgpack_unpacked_destroy(&u);
    dq_buf_free(&buf);
    dq_msg_clear(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_error_message),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_missing_and_wrong_types),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_nonfinite_every_vector),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_weights_shapes),
        cmocka_unit_test(test_lengths_and_huge_counts),
        cmocka_unit_test(test_peek_id),
        cmocka_unit_test(test_encoder_refuses),
        cmocka_unit_test(test_buffer_reuse),
        cmocka_unit_test(test_hand_built),
        cmocka_unit_test(test_stats_actor_from),
        cmocka_unit_test(test_string_limits),
        cmocka_unit_test(test_weights_supersede),
        cmocka_unit_test(test_pack_round_trip),
        cmocka_unit_test(test_garbage_never_crashes),
        cmocka_unit_test(test_speed_256x16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
