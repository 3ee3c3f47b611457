/* wire_decode.c - the msgpack decoder of wire.h (dq_msg_decode, dq_msg_peek_id).
 *
 * Decoding runs in four steps, each of which can refuse the message:
 *   1. size:      len <= max_bytes, before anything is parsed;
 *   2. scan:      a bounds-checked walk over the raw bytes that allocates
 *                 nothing and proves the data is exactly one well-formed
 *                 msgpack object whose declared container counts fit in the
 *                 bytes that remain (msgpack-c allocates an array's slots from
 *                 the declared count before it reads the elements, so a 5-byte
 *                 "array of 4 billion" would otherwise ask for 96 GB);
 *   3. unpack:    msgpack_unpack_next builds the object tree (str and bin
 *                 objects point into the caller's bytes, nothing is copied);
 *   4. fields:    type, presence, range and length of every field are checked
 *                 before the arrays are allocated, then the floats are
 *                 converted and the same validator the encoder uses
 *                 (dq_msg_validate, in wire.c) checks every value.
 * Float vectors are bin of little-endian float32, converted byte by byte so
 * the code is correct on any host and never loads from unaligned addresses.
 */
#include "wire.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <msgpack.h>

#include "err.h"
#include "fileio.h"
#include "wire_internal.h"

#define SCAN_MAX_DEPTH 16 /* nested containers; msgpack-c itself stops at 32 */
#define MAX_FIELDS 16     /* known keys of the largest message (items: 13) */

/* ---------------------------------------------------------------- errors */

static const char *obj_type_name(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return "uint";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "negative int";
    case MSGPACK_OBJECT_FLOAT32: return "float32";
    case MSGPACK_OBJECT_FLOAT64: return "float64";
    case MSGPACK_OBJECT_STR: return "str";
    case MSGPACK_OBJECT_ARRAY: return "array";
    case MSGPACK_OBJECT_MAP: return "map";
    case MSGPACK_OBJECT_BIN: return "bin";
    case MSGPACK_OBJECT_EXT: return "ext";
    default: return "unknown";
    }
}

/* ---------------------------------------------------------------- scan */

static int truncated(ctx_t *c, size_t len, size_t at)
{
    return wire_fail(c, DQ_EMALFORMED,
                     "malformed msgpack: truncated, an object starting at or before "
                     "byte %zu runs past the end (%zu bytes)",
                     at, len);
}

enum { SCAN_FIXED, SCAN_RAW, SCAN_EXT, SCAN_ARRAY, SCAN_MAP, SCAN_NEVER };

/* What the header byte b starts: its kind, how many big-endian length bytes
 * follow it, and (without length bytes) the payload bytes or elements. */
static int scan_kind(unsigned b, int *lenbytes, uint64_t *n)
{
    *lenbytes = 0;
    *n = 0;
    if (b <= 0x7f || b >= 0xe0) return SCAN_FIXED;
    if (b <= 0x8f) return *n = b & 0x0f, SCAN_MAP;
    if (b <= 0x9f) return *n = b & 0x0f, SCAN_ARRAY;
    if (b <= 0xbf) return *n = b & 0x1f, SCAN_RAW;
    switch (b) {
    case 0xc1: return SCAN_NEVER;
    case 0xc4:
    case 0xd9: return *lenbytes = 1, SCAN_RAW;
    case 0xc5:
    case 0xda: return *lenbytes = 2, SCAN_RAW;
    case 0xc6:
    case 0xdb: return *lenbytes = 4, SCAN_RAW;
    case 0xc7: return *lenbytes = 1, SCAN_EXT;
    case 0xc8: return *lenbytes = 2, SCAN_EXT;
    case 0xc9: return *lenbytes = 4, SCAN_EXT;
    case 0xca: return *n = 4, SCAN_FIXED;
    case 0xcb: return *n = 8, SCAN_FIXED;
    case 0xcc:
    case 0xd0: return *n = 1, SCAN_FIXED;
    case 0xcd:
    case 0xd1:
    case 0xd4: return *n = 2, SCAN_FIXED;
    case 0xce:
    case 0xd2: return *n = 4, SCAN_FIXED;
    case 0xcf:
    case 0xd3: return *n = 8, SCAN_FIXED;
    case 0xd5: return *n = 3, SCAN_FIXED;
    case 0xd6: return *n = 5, SCAN_FIXED;
    case 0xd7: return *n = 9, SCAN_FIXED;
    case 0xd8: return *n = 17, SCAN_FIXED;
    case 0xdc: return *lenbytes = 2, SCAN_ARRAY;
    case 0xdd: return *lenbytes = 4, SCAN_ARRAY;
    case 0xde: return *lenbytes = 2, SCAN_MAP;
    case 0xdf: return *lenbytes = 4, SCAN_MAP;
    default: return SCAN_FIXED; /* 0xc0 nil, 0xc2/0xc3 booleans */
    }
}

/* A container of `items` objects at byte at: checks it against the bytes left,
 * the object budget and the depth limit. */
static int scan_container(ctx_t *c, int kind, uint64_t n, uint64_t items, size_t at,
                          size_t bytes_left, uint64_t *objects, int depth)
{
    if (items > bytes_left)
        return wire_fail(c, DQ_EMALFORMED,
                         "malformed msgpack: %s of %llu entries at byte %zu, but only %zu "
                         "bytes follow",
                         kind == SCAN_MAP ? "map" : "array", (unsigned long long)n, at, bytes_left);
    *objects += items;
    if (*objects > DQ_WIRE_MAX_OBJECTS)
        return wire_fail(c, DQ_ETOOBIG, "message holds more than %u msgpack objects",
                         (unsigned)DQ_WIRE_MAX_OBJECTS);
    if (depth + 1 >= SCAN_MAX_DEPTH)
        return wire_fail(c, DQ_EMALFORMED, "malformed msgpack: containers nested deeper than %d",
                         SCAN_MAX_DEPTH - 1);
    return DQ_OK;
}

/* Proves data[0, len) is exactly one well-formed msgpack object whose every
 * container fits in the bytes left, allocating nothing. */
static int scan(ctx_t *c, const unsigned char *p, size_t len)
{
    uint64_t left[SCAN_MAX_DEPTH]; /* objects still to read at each depth */
    int depth = 0;
    uint64_t objects = 1;
    size_t pos = 0;
    if (len == 0) return wire_fail(c, DQ_EMALFORMED, "malformed msgpack: empty message");
    left[0] = 1;
    while (depth >= 0) {
        if (left[depth] == 0) {
            depth--;
            continue;
        }
        left[depth]--;
        if (pos >= len) return truncated(c, len, pos);
        size_t at = pos;
        int lenbytes;
        uint64_t n; /* payload bytes (FIXED/RAW/EXT) or elements (ARRAY/MAP) */
        int kind = scan_kind(p[pos++], &lenbytes, &n);
        if (kind == SCAN_NEVER)
            return wire_fail(c, DQ_EMALFORMED, "malformed msgpack: byte 0xc1 (never used) at %zu",
                             at);
        if (lenbytes) {
            if (len - pos < (size_t)lenbytes) return truncated(c, len, at);
            for (int i = 0; i < lenbytes; i++) n = n << 8 | p[pos++];
            if (kind == SCAN_EXT) n += 1; /* the ext type byte */
        }
        if (kind == SCAN_ARRAY || kind == SCAN_MAP) {
            uint64_t items = kind == SCAN_MAP ? 2 * n : n;
            if (items == 0) continue;
            int rc = scan_container(c, kind, n, items, at, len - pos, &objects, depth);
            if (rc < 0) return rc;
            left[++depth] = items;
        } else {
            if (n > len - pos) return truncated(c, len, at);
            pos += (size_t)n;
        }
    }
    if (pos != len)
        return wire_fail(
            c, DQ_EMALFORMED,
            "malformed msgpack: %zu bytes after the first object (exactly one expected)",
            len - pos);
    return DQ_OK;
}

/* ---------------------------------------------------------------- fields */

/* Finds each of names[0..n) in map, slots[i] = its value or NULL. A known key
 * given twice is malformed; keys that are unknown or not str are ignored. */
static int collect(ctx_t *c, const msgpack_object_map *map, const char *const *names, size_t n,
                   const msgpack_object **slots)
{
    for (size_t i = 0; i < n; i++) slots[i] = NULL;
    for (uint32_t k = 0; k < map->size; k++) {
        const msgpack_object *key = &map->ptr[k].key;
        if (key->type != MSGPACK_OBJECT_STR) continue;
        for (size_t i = 0; i < n; i++) {
            if (strlen(names[i]) != key->via.str.size ||
                memcmp(names[i], key->via.str.ptr, key->via.str.size) != 0)
                continue;
            if (slots[i])
                return wire_fail(c, DQ_EMALFORMED, "%s: key '%s' appears twice", c->msg, names[i]);
            slots[i] = &map->ptr[k].val;
            break;
        }
    }
    return DQ_OK;
}

static int type_error(ctx_t *c, const char *field, const char *want, const msgpack_object *o)
{
    return wire_fail(c, DQ_ETYPE, "%s.%s: expected %s, got %s", c->msg, field, want,
                     obj_type_name(o));
}

static int present(ctx_t *c, const msgpack_object *o, const char *field)
{
    if (o) return DQ_OK;
    return wire_fail(c, DQ_EMISSING, "%s: missing required field '%s'", c->msg, field);
}

/* An integer in [lo, hi]. */
static int get_uint(ctx_t *c, const msgpack_object *o, const char *field, uint64_t lo, uint64_t hi,
                    uint64_t *out)
{
    int rc = present(c, o, field);
    if (rc) return rc;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return wire_fail(c, DQ_ERANGE, "%s.%s = %lld, must be in [%llu, %llu]", c->msg, field,
                         (long long)o->via.i64, (unsigned long long)lo, (unsigned long long)hi);
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) return type_error(c, field, "uint", o);
    if (o->via.u64 < lo || o->via.u64 > hi)
        return wire_fail(c, DQ_ERANGE, "%s.%s = %llu, must be in [%llu, %llu]", c->msg, field,
                         (unsigned long long)o->via.u64, (unsigned long long)lo,
                         (unsigned long long)hi);
    *out = o->via.u64;
    return DQ_OK;
}

/* A str copied into dst[cap]: 1..cap-1 bytes (0.. when allow_empty) without
 * NUL bytes; longer strings are cut at cap-1 bytes when truncate is set. */
static int get_str(ctx_t *c, const msgpack_object *o, const char *field, char *dst, size_t cap,
                   bool allow_empty, bool truncate)
{
    int rc = present(c, o, field);
    if (rc) return rc;
    if (o->type != MSGPACK_OBJECT_STR) return type_error(c, field, "str", o);
    size_t n = o->via.str.size;
    if (n >= cap && !truncate)
        return wire_fail(c, DQ_ERANGE, "%s.%s: str of %zu bytes, at most %zu", c->msg, field, n,
                         cap - 1);
    if (n >= cap) n = cap - 1;
    if (n == 0 && !allow_empty) return wire_fail(c, DQ_ERANGE, "%s.%s is empty", c->msg, field);
    if (memchr(o->via.str.ptr, 0, n))
        return wire_fail(c, DQ_ERANGE, "%s.%s contains a NUL byte", c->msg, field);
    memcpy(dst, o->via.str.ptr, n);
    dst[n] = 0;
    return DQ_OK;
}

/* A bin holding exactly n float32 values; returns its bytes. */
static int get_bin(ctx_t *c, const msgpack_object *o, const char *field, uint64_t n,
                   const char *detail, const unsigned char **out)
{
    int rc = present(c, o, field);
    if (rc) return rc;
    if (o->type != MSGPACK_OBJECT_BIN) return type_error(c, field, "bin", o);
    if ((uint64_t)o->via.bin.size != n * 4)
        return wire_fail(c, DQ_ELENGTH, "%s.%s: bin of %lu bytes, expected %llu (%s x 4)", c->msg,
                         field, (unsigned long)o->via.bin.size, (unsigned long long)n * 4, detail);
    *out = (const unsigned char *)o->via.bin.ptr;
    return DQ_OK;
}

/* An array of exactly n elements (checked element by element on load). */
static int get_array(ctx_t *c, const msgpack_object *o, const char *field, uint64_t n,
                     const msgpack_object **out)
{
    int rc = present(c, o, field);
    if (rc) return rc;
    if (o->type != MSGPACK_OBJECT_ARRAY) return type_error(c, field, "array", o);
    if ((uint64_t)o->via.array.size != n)
        return wire_fail(c, DQ_ELENGTH, "%s.%s: array of %lu elements, expected %llu", c->msg,
                         field, (unsigned long)o->via.array.size, (unsigned long long)n);
    *out = o->via.array.ptr;
    return DQ_OK;
}

/* Loads the integers of an array into u64s, each in [0, hi]. */
static int load_uints(ctx_t *c, const msgpack_object *a, size_t n, const char *field, uint64_t hi,
                      void *dst, int width)
{
    for (size_t i = 0; i < n; i++) {
        const msgpack_object *o = &a[i];
        if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            return wire_fail(c, DQ_ERANGE, "%s.%s[%zu] = %lld, must be >= 0", c->msg, field, i,
                             (long long)o->via.i64);
        if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return wire_fail(c, DQ_ETYPE, "%s.%s[%zu]: expected uint, got %s", c->msg, field, i,
                             obj_type_name(o));
        if (o->via.u64 > hi)
            return wire_fail(c, DQ_ERANGE, "%s.%s[%zu] = %llu, must be <= %llu", c->msg, field, i,
                             (unsigned long long)o->via.u64, (unsigned long long)hi);
        if (width == 8)
            ((uint64_t *)dst)[i] = o->via.u64;
        else if (width == -4)
            ((int32_t *)dst)[i] = (int32_t)o->via.u64;
        else
            ((uint32_t *)dst)[i] = (uint32_t)o->via.u64;
    }
    return DQ_OK;
}

/* The keys of a batch: count, obs_dim, the columns, the optional priority. */
#define COL_ENUM_(name, ctype, width, kind, ranged, lo, hi, doc) B_COL_##name,
#define COL_NAME_(name, ctype, width, kind, ranged, lo, hi, doc) #name,
enum { B_COUNT, B_OBS_DIM, DQ_TRANSITION_COLS(COL_ENUM_) B_PRIORITY, B_N_ };
#define BATCH_NAMES "count", "obs_dim", DQ_TRANSITION_COLS(COL_NAME_) "priority"

/* Per kind: the length check before allocation (a bin of n float32, or an
 * array of n uints) and the load after it. */
typedef union {
    const unsigned char *bin;
    const msgpack_object *array;
} col_src_t;
#define get_col_f32(c, o, field, n, detail, src) get_bin(c, o, field, n, detail, &(src)->bin)
#define get_col_i32(c, o, field, n, detail, src) get_array(c, o, field, n, &(src)->array)
#define get_col_u32 get_col_i32
#define load_col_f32(c, src, n, field, hi, dst) (dq_get_floats(dst, (src)->bin, n), DQ_OK)
#define load_col_i32(c, src, n, field, hi, dst) load_uints(c, (src)->array, n, field, hi, dst, -4)
#define load_col_u32(c, src, n, field, hi, dst) load_uints(c, (src)->array, n, field, hi, dst, 4)

#define COL_GET_(name, ctype, width, kind, ranged, lo, hi, doc)                            \
    if ((rc = get_col_##kind(c, f[B_COL_##name], #name, count * DQ_COL_WIDTH(width, dim),  \
                             DQ_COL_WIDTH(width, dim) > 1 ? d2 : d1, &src[B_COL_##name]))) \
        return rc;
#define COL_LOAD_(name, ctype, width, kind, ranged, lo, hi, doc)                              \
    if ((rc = load_col_##kind(c, &src[B_COL_##name], count * DQ_COL_WIDTH(width, dim), #name, \
                              (uint64_t)(hi), b->name)))                                      \
        return rc;

/* Decodes the batch fields at f[0..B_N_) into b (allocated only after every
 * length is checked). with_priority: read the optional "priority". */
static int get_batch(ctx_t *c, const msgpack_object **f, dq_batch_t *b, bool with_priority)
{
    uint64_t count = 0, dim = 0;
    int rc;
    if ((rc = get_uint(c, f[B_COUNT], "count", 0, UINT64_MAX, &count)) ||
        (rc = get_uint(c, f[B_OBS_DIM], "obs_dim", 0, UINT64_MAX, &dim)) ||
        (rc = wire_check_dims(c, count, dim)))
        return rc;
    char d1[64], d2[80];
    snprintf(d1, sizeof d1, "count %llu", (unsigned long long)count);
    snprintf(d2, sizeof d2, "count %llu x obs_dim %llu", (unsigned long long)count,
             (unsigned long long)dim);
    col_src_t src[B_N_];
    const unsigned char *priority = NULL;
    bool has_priority = with_priority && f[B_PRIORITY] && f[B_PRIORITY]->type != MSGPACK_OBJECT_NIL;
    DQ_TRANSITION_COLS(COL_GET_)
    if (has_priority && (rc = get_bin(c, f[B_PRIORITY], "priority", count, d1, &priority)))
        return rc;
    if ((rc = dq_batch_alloc(b, (uint32_t)count, (uint32_t)dim, has_priority)))
        return wire_fail(c, rc, "%s: out of memory for %llu transitions", c->msg,
                         (unsigned long long)count);
    DQ_TRANSITION_COLS(COL_LOAD_)
    if (has_priority) dq_get_floats(b->priority, priority, count);
    return DQ_OK;
}

static int decode_insert(ctx_t *c, const msgpack_object_map *map, dq_insert_t *in)
{
    static const char *const names[] = {BATCH_NAMES, "actor", "seq", "run"};
    const msgpack_object *f[B_N_ + 3];
    uint64_t actor = 0, seq = 0, run = 0;
    int rc;
    if ((rc = collect(c, map, names, B_N_ + 3, f)) ||
        (rc = get_uint(c, f[B_N_], "actor", 0, UINT32_MAX, &actor)) ||
        (rc = get_uint(c, f[B_N_ + 1], "seq", 0, UINT64_MAX, &seq)) ||
        (f[B_N_ + 2] && (rc = get_uint(c, f[B_N_ + 2], "run", 1, UINT64_MAX, &run))))
        return rc;
    in->actor = (uint32_t)actor;
    in->seq = seq;
    in->run = run;
    return get_batch(c, f, &in->batch, true);
}

static int decode_items(ctx_t *c, const msgpack_object_map *map, dq_items_t *it)
{
    static const char *const names[] = {BATCH_NAMES, "id", "size", "keys", "prob"};
    const msgpack_object *f[B_N_ + 4], *keys;
    const unsigned char *prob;
    int rc;
    if ((rc = collect(c, map, names, B_N_ + 4, f)) ||
        (rc = get_uint(c, f[B_N_], "id", 0, UINT64_MAX, &it->id)) ||
        (rc = get_uint(c, f[B_N_ + 1], "size", 0, UINT64_MAX, &it->size)))
        return rc;
    /* count comes first so that keys and prob are checked against it. */
    uint64_t count = 0, dim = 0;
    if ((rc = get_uint(c, f[B_COUNT], "count", 0, UINT64_MAX, &count)) ||
        (rc = get_uint(c, f[B_OBS_DIM], "obs_dim", 0, UINT64_MAX, &dim)) ||
        (rc = wire_check_dims(c, count, dim)))
        return rc;
    char d1[64];
    snprintf(d1, sizeof d1, "count %llu", (unsigned long long)count);
    if ((rc = get_array(c, f[B_N_ + 2], "keys", count, &keys)) ||
        (rc = get_bin(c, f[B_N_ + 3], "prob", count, d1, &prob)) ||
        (rc = get_batch(c, f, &it->batch, false)))
        return rc;
    it->keys = wire_alloc_n(count, sizeof *it->keys);
    it->prob = wire_alloc_n(count, sizeof *it->prob);
    if (!it->keys || !it->prob) return wire_fail(c, DQ_ENOMEM, "items: out of memory");
    dq_get_floats(it->prob, prob, count);
    return load_uints(c, keys, count, "keys", UINT64_MAX, it->keys, 8);
}

static int decode_update_priorities(ctx_t *c, const msgpack_object_map *map,
                                    dq_update_priorities_t *u)
{
    static const char *const names[] = {"table", "count", "keys", "priority"};
    const msgpack_object *f[4], *keys;
    const unsigned char *prio;
    uint64_t count = 0;
    int rc;
    if ((rc = collect(c, map, names, 4, f)) ||
        (rc = get_str(c, f[0], "table", u->table, DQ_TABLE_NAME_MAX, false, false)) ||
        (rc = get_uint(c, f[1], "count", 1, DQ_WIRE_MAX_COUNT, &count)))
        return rc;
    char d1[64];
    snprintf(d1, sizeof d1, "count %llu", (unsigned long long)count);
    if ((rc = get_array(c, f[2], "keys", count, &keys)) ||
        (rc = get_bin(c, f[3], "priority", count, d1, &prio)))
        return rc;
    u->count = (uint32_t)count;
    u->keys = wire_alloc_n(count, sizeof *u->keys);
    u->priority = wire_alloc_n(count, sizeof *u->priority);
    if (!u->keys || !u->priority)
        return wire_fail(c, DQ_ENOMEM, "update_priorities: out of memory");
    dq_get_floats(u->priority, prio, count);
    return load_uints(c, keys, count, "keys", UINT64_MAX, u->keys, 8);
}

static int decode_weights(ctx_t *c, const msgpack_object_map *map, dq_weights_t *w)
{
    static const char *const names[] = {"version",  "step", "n_layers", "shape",
                                        "n_floats", "blob", "run"};
    const msgpack_object *f[7], *shape;
    const unsigned char *blob;
    uint64_t n_layers = 0, n_floats = 0;
    int rc;
    if ((rc = collect(c, map, names, 7, f)) ||
        (rc = get_uint(c, f[6], "run", 0, UINT64_MAX, &w->run)) ||
        (rc = get_uint(c, f[0], "version", 0, UINT64_MAX, &w->version)) ||
        (rc = get_uint(c, f[1], "step", 0, UINT64_MAX, &w->step)) ||
        (rc = get_uint(c, f[2], "n_layers", 1, DQ_QNET_MAX_LAYERS, &n_layers)) ||
        (rc = get_array(c, f[3], "shape", n_layers, &shape)))
        return rc;
    w->n_layers = (uint32_t)n_layers;
    for (uint32_t l = 0; l < w->n_layers; l++) {
        char field[32];
        snprintf(field, sizeof field, "shape[%lu]", (unsigned long)l);
        const msgpack_object *pair;
        if ((rc = get_array(c, &shape[l], field, 2, &pair))) return rc;
        for (int k = 0; k < 2; k++) {
            uint64_t v = 0;
            snprintf(field, sizeof field, "shape[%lu][%d]", (unsigned long)l, k);
            if ((rc = get_uint(c, &pair[k], field, 1, DQ_WIRE_MAX_DIM, &v))) return rc;
            w->shape[l][k] = (uint32_t)v;
        }
    }
    if ((rc = get_uint(c, f[4], "n_floats", 0, UINT32_MAX, &n_floats))) return rc;
    w->n_floats = (uint32_t)n_floats;
    /* n_floats against shape before the blob's length, so a wrong shape is named. */
    uint64_t total = 0;
    for (uint32_t l = 0; l < w->n_layers; l++)
        total += (uint64_t)w->shape[l][0] * w->shape[l][1] + w->shape[l][1];
    if (total != n_floats) return wire_validate_weights(c, w); /* names the exact fault */
    char d[64];
    snprintf(d, sizeof d, "n_floats %llu", (unsigned long long)n_floats);
    if ((rc = get_bin(c, f[5], "blob", n_floats, d, &blob))) return rc;
    w->blob = wire_alloc_n(n_floats, sizeof(float));
    if (!w->blob)
        return wire_fail(c, DQ_ENOMEM, "weights: out of memory for %llu floats",
                         (unsigned long long)n_floats);
    dq_get_floats(w->blob, blob, n_floats);
    return DQ_OK;
}

static int decode_stats_reply(ctx_t *c, const msgpack_object_map *map, dq_stats_reply_t *r)
{
    static const char *const names[] = {"stats"};
    const msgpack_object *f[1];
    int rc;
    if ((rc = collect(c, map, names, 1, f)) || (rc = present(c, f[0], "stats"))) return rc;
    if (f[0]->type != MSGPACK_OBJECT_MAP) return type_error(c, "stats", "map", f[0]);
    const msgpack_object_map *s = &f[0]->via.map;
    if (s->size > DQ_STATS_MAX)
        return wire_fail(c, DQ_ERANGE, "stats_reply.stats: %lu counters, at most %d",
                         (unsigned long)s->size, DQ_STATS_MAX);
    for (uint32_t i = 0; i < s->size; i++) {
        char field[32];
        snprintf(field, sizeof field, "stats key %lu", (unsigned long)i);
        dq_stat_t *st = &r->stats[i];
        if ((rc = get_str(c, &s->ptr[i].key, field, st->name, DQ_STAT_NAME_MAX, false, false)))
            return rc;
        const msgpack_object *v = &s->ptr[i].val;
        switch (v->type) {
        case MSGPACK_OBJECT_POSITIVE_INTEGER: st->value = (double)v->via.u64; break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: st->value = (double)v->via.i64; break;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: st->value = v->via.f64; break;
        default:
            return wire_fail(c, DQ_ETYPE, "stats_reply.stats[\"%s\"]: expected a number, got %s",
                             st->name, obj_type_name(v));
        }
        r->count = i + 1;
    }
    return DQ_OK;
}

static int decode_error(ctx_t *c, const msgpack_object_map *map, dq_error_t *e)
{
    static const char *const names[] = {"code", "name", "message", "id"};
    const msgpack_object *f[4];
    int rc;
    if ((rc = collect(c, map, names, 4, f)) || (rc = present(c, f[0], "code"))) return rc;
    if (f[0]->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return wire_fail(c, DQ_ERANGE, "error.code = %llu, must be negative",
                         (unsigned long long)f[0]->via.u64);
    if (f[0]->type != MSGPACK_OBJECT_NEGATIVE_INTEGER) return type_error(c, "code", "int", f[0]);
    if (f[0]->via.i64 < INT32_MIN)
        return wire_fail(c, DQ_ERANGE, "error.code = %lld, below the int32 range",
                         (long long)f[0]->via.i64);
    e->code = (int32_t)f[0]->via.i64;
    if ((rc = get_str(c, f[1], "name", e->name, sizeof e->name, true, false)) ||
        (rc = get_str(c, f[2], "message", e->message, sizeof e->message, true, true)) ||
        (rc = get_uint(c, f[3], "id", 0, UINT64_MAX, &e->id)))
        return rc;
    return DQ_OK;
}

static int decode_map(ctx_t *c, const msgpack_object_map *map, dq_msg_t *m)
{
    static const char *const head[] = {"type", "v"};
    const msgpack_object *f[MAX_FIELDS];
    uint64_t u = 0;
    int rc;
    c->msg = "message";
    if ((rc = collect(c, map, head, 2, f))) return rc;
    /* The version first: another version may have other type names. */
    if (!f[1]) return wire_fail(c, DQ_EMISSING, "message: missing required field 'v'");
    if (f[1]->type != MSGPACK_OBJECT_POSITIVE_INTEGER) return type_error(c, "v", "uint", f[1]);
    if (f[1]->via.u64 != DQ_PROTOCOL_VERSION)
        return wire_fail(c, DQ_EVERSION, "message: protocol version v = %llu, this build speaks %d",
                         (unsigned long long)f[1]->via.u64, DQ_PROTOCOL_VERSION);
    if (!f[0]) return wire_fail(c, DQ_EMISSING, "message: missing required field 'type'");
    if (f[0]->type != MSGPACK_OBJECT_STR) return type_error(c, "type", "str", f[0]);
    const char *tp = f[0]->via.str.ptr;
    uint32_t tn = f[0]->via.str.size;
    int t = -1;
    for (int i = 0; i < DQ_MSG_COUNT_; i++)
        if (strlen(wire_type_names[i]) == tn && memcmp(wire_type_names[i], tp, tn) == 0) t = i;
    if (t < 0) {
        char shown[40];
        size_t k = tn < sizeof shown - 1 ? tn : sizeof shown - 1;
        for (size_t i = 0; i < k; i++) shown[i] = tp[i] >= 0x20 && tp[i] < 0x7f ? tp[i] : '?';
        shown[k] = 0;
        return wire_fail(c, DQ_EUNKNOWN_TYPE, "message: unknown type \"%s%s\"", shown,
                         tn > k ? "..." : "");
    }
    m->type = (dq_msg_type_t)t;
    c->msg = wire_type_names[t];
    switch (m->type) {
    case DQ_MSG_INSERT: rc = decode_insert(c, map, &m->u.insert); break;
    case DQ_MSG_ACK: {
        static const char *const names[] = {"seq", "count", "duplicate"};
        if ((rc = collect(c, map, names, 3, f)) ||
            (rc = get_uint(c, f[0], "seq", 0, UINT64_MAX, &m->u.ack.seq)) ||
            (rc = get_uint(c, f[1], "count", 0, UINT32_MAX, &u)) ||
            (rc = present(c, f[2], "duplicate")))
            break;
        m->u.ack.count = (uint32_t)u;
        if (f[2]->type == MSGPACK_OBJECT_BOOLEAN)
            m->u.ack.duplicate = f[2]->via.boolean;
        else if ((rc = get_uint(c, f[2], "duplicate", 0, 1, &u)) == 0)
            m->u.ack.duplicate = (uint8_t)u;
        break;
    }
    case DQ_MSG_SAMPLE: {
        static const char *const names[] = {"table", "n", "id"};
        if ((rc = collect(c, map, names, 3, f)) ||
            (rc = get_str(c, f[0], "table", m->u.sample.table, DQ_TABLE_NAME_MAX, false, false)) ||
            (rc = get_uint(c, f[1], "n", 1, DQ_WIRE_MAX_COUNT, &u)) ||
            (rc = get_uint(c, f[2], "id", 0, UINT64_MAX, &m->u.sample.id)))
            break;
        m->u.sample.n = (uint32_t)u;
        break;
    }
    case DQ_MSG_ITEMS: rc = decode_items(c, map, &m->u.items); break;
    case DQ_MSG_UPDATE_PRIORITIES:
        rc = decode_update_priorities(c, map, &m->u.update_priorities);
        break;
    case DQ_MSG_WEIGHTS: rc = decode_weights(c, map, &m->u.weights); break;
    case DQ_MSG_STATS: {
        static const char *const names[] = {"id", "actor_from"};
        if ((rc = collect(c, map, names, 2, f)) ||
            (rc = get_uint(c, f[0], "id", 0, UINT64_MAX, &m->u.stats.id)))
            break;
        if (f[1] && f[1]->type != MSGPACK_OBJECT_NIL) {
            if ((rc = get_uint(c, f[1], "actor_from", 0, UINT32_MAX, &u))) break;
            m->u.stats.paged = 1;
            m->u.stats.actor_from = (uint32_t)u;
        }
        break;
    }
    case DQ_MSG_CHECKPOINT: {
        static const char *const names[] = {"id"};
        if ((rc = collect(c, map, names, 1, f)) == 0)
            rc = get_uint(c, f[0], "id", 0, UINT64_MAX, &m->u.checkpoint.id);
        break;
    }
    case DQ_MSG_STATS_REPLY: rc = decode_stats_reply(c, map, &m->u.stats_reply); break;
    case DQ_MSG_ERROR: rc = decode_error(c, map, &m->u.error); break;
    default: rc = DQ_EUNKNOWN_TYPE; break;
    }
    if (rc) return rc;
    return wire_validate(c, m);
}

int dq_msg_decode(const void *data, size_t len, size_t max_bytes, dq_msg_t *m, char *why,
                  size_t whylen)
{
    ctx_t c = {"message", why, whylen};
    int rc;
    memset(m, 0, sizeof *m);
    if (why && whylen) why[0] = 0;
    if (len > max_bytes)
        return wire_fail(&c, DQ_ETOOBIG, "message of %zu bytes exceeds the limit of %zu", len,
                         max_bytes);
    if (!data && len) return wire_fail(&c, DQ_EINVAL, "message data is NULL");
    if ((rc = scan(&c, data, len))) return rc;

    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack_next(&up, data, len, &off);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
        rc = wire_fail(&c, DQ_ENOMEM, "out of memory unpacking %zu bytes", len);
    } else if (ur != MSGPACK_UNPACK_SUCCESS || off != len) {
        rc = wire_fail(&c, DQ_EMALFORMED, "malformed msgpack (unpacker status %d at byte %zu)",
                       (int)ur, off);
    } else if (up.data.type != MSGPACK_OBJECT_MAP) {
        rc = wire_fail(&c, DQ_ETYPE, "message: top-level object is %s, expected map",
                       obj_type_name(&up.data));
    } else {
        rc = decode_map(&c, &up.data.via.map, m);
    }
    msgpack_unpacked_destroy(&up);
    if (rc) dq_msg_clear(m);
    return rc;
}

uint64_t dq_msg_peek_id(const void *data, size_t len, size_t max_bytes)
{
    static const char *const names[] = {"type", "seq", "id"};
    ctx_t c = {"message", NULL, 0};
    uint64_t id = 0;
    if (len > max_bytes || !data || scan(&c, data, len)) return 0;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    const msgpack_object *f[3];
    if (msgpack_unpack_next(&up, data, len, &off) == MSGPACK_UNPACK_SUCCESS &&
        up.data.type == MSGPACK_OBJECT_MAP && collect(&c, &up.data.via.map, names, 3, f) == 0) {
        bool insert = f[0] && f[0]->type == MSGPACK_OBJECT_STR && f[0]->via.str.size == 6 &&
                      memcmp(f[0]->via.str.ptr, "insert", 6) == 0;
        const msgpack_object *o = insert ? f[1] : f[2];
        if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) id = o->via.u64;
    }
    msgpack_unpacked_destroy(&up);
    return id;
}
