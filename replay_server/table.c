/* table.c - see table.h. */
#include "table.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "sumtree.h"

#define COL_FIELD_(name, ctype, width, kind, ranged, lo, hi, doc) ctype *name;
struct replay_table {
    char name[DQ_TABLE_NAME_MAX];
    size_t capacity;
    size_t size;
    uint64_t next_key;
    replay_sampler_t sampler;
    double alpha, eps;
    double max_leaf;  /* largest leaf ever set; the default for new items */
    uint32_t obs_dim; /* 0 until the first insert */
    /* The columns of DQ_TRANSITION_COLS, each (capacity, width), allocated at
     * the first insert, indexed by slot = key % capacity. */
    DQ_TRANSITION_COLS(COL_FIELD_)
    sumtree_t *tree; /* (capacity) leaves; NULL for a uniform table */
};

/* Elements per item of a column. */
#define COL_W(t, width) DQ_COL_WIDTH(width, (t)->obs_dim)

replay_table_t *replay_table_new(const replay_table_config_t *cfg)
{
    if (cfg->capacity == 0 || !(cfg->alpha >= 0.0 && cfg->alpha <= 1.0) ||
        !(cfg->eps >= 0.0 && isfinite(cfg->eps)))
        return NULL;
    replay_table_t *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    snprintf(t->name, sizeof t->name, "%s", cfg->name ? cfg->name : "main");
    t->capacity = cfg->capacity;
    t->sampler = cfg->sampler;
    t->alpha = cfg->alpha;
    t->eps = cfg->eps;
    t->max_leaf = 1.0;
    if (t->sampler == REPLAY_PRIORITIZED) {
        t->tree = sumtree_new(t->capacity);
        if (!t->tree) {
            free(t);
            return NULL;
        }
    }
    return t;
}

#define COL_FREE_(name, ctype, width, kind, ranged, lo, hi, doc) \
    free(t->name);                                               \
    t->name = NULL;
static void free_columns(replay_table_t *t) { DQ_TRANSITION_COLS(COL_FREE_) }

void replay_table_destroy(replay_table_t **self_p)
{
    if (!self_p || !*self_p) return;
    free_columns(*self_p);
    sumtree_destroy(&(*self_p)->tree);
    free(*self_p);
    *self_p = NULL;
}

const char *replay_table_name(const replay_table_t *t) { return t->name; }
size_t replay_table_size(const replay_table_t *t) { return t->size; }
size_t replay_table_capacity(const replay_table_t *t) { return t->capacity; }
replay_sampler_t replay_table_sampler(const replay_table_t *t) { return t->sampler; }
uint32_t replay_table_obs_dim(const replay_table_t *t) { return t->obs_dim; }
uint64_t replay_table_next_key(const replay_table_t *t) { return t->next_key; }

size_t replay_table_item_bytes(const replay_table_t *t)
{
    if (!t->obs_dim) return 0;
    return dq_transition_bytes(t->obs_dim);
}

size_t replay_table_alloc_bytes(const replay_table_t *t)
{
    size_t bytes = t->capacity * replay_table_item_bytes(t);
    if (t->tree) bytes += sumtree_alloc_bytes(t->tree);
    return bytes;
}

#define COL_ALLOC_(name, ctype, width, kind, ranged, lo, hi, doc) \
    ok &= (t->name = malloc(n * COL_W(t, width) * sizeof(ctype))) != NULL;
static int alloc_columns(replay_table_t *t, uint32_t obs_dim)
{
    size_t n = t->capacity;
    if (n > SIZE_MAX / dq_transition_bytes(obs_dim)) return DQ_ENOMEM;
    t->obs_dim = obs_dim;
    bool ok = true;
    DQ_TRANSITION_COLS(COL_ALLOC_)
    if (!ok) {
        free_columns(t);
        t->obs_dim = 0;
        return DQ_ENOMEM;
    }
    return DQ_OK;
}

static double leaf_of(const replay_table_t *t, double p)
{
    double x = p + t->eps;
    if (t->alpha == 1.0) return x;
    if (t->alpha == 0.0) return 1.0;
    return pow(x, t->alpha);
}

/* Copies transitions [from, from + len) of b into slots [slot, slot + len),
 * which do not wrap. */
#define COL_COPY_IN_(name, ctype, width, kind, ranged, lo, hi, doc)            \
    memcpy(t->name + slot * COL_W(t, width), b->name + from * COL_W(t, width), \
           len * COL_W(t, width) * sizeof(ctype));
static void copy_run(replay_table_t *t, size_t slot, const dq_batch_t *b, size_t from, size_t len)
{
    DQ_TRANSITION_COLS(COL_COPY_IN_)
}

/* Copies the item in slot into transition i of out (of the table's obs_dim). */
#define COL_COPY_OUT_(name, ctype, width, kind, ranged, lo, hi, doc)          \
    memcpy(out->name + i * COL_W(t, width), t->name + slot * COL_W(t, width), \
           COL_W(t, width) * sizeof(ctype));
static void copy_item(const replay_table_t *t, size_t slot, dq_batch_t *out, size_t i)
{
    DQ_TRANSITION_COLS(COL_COPY_OUT_)
}

int replay_table_insert(replay_table_t *t, const dq_batch_t *b, uint64_t *evicted, char *why,
                        size_t whylen)
{
    if (evicted) *evicted = 0;
    if (b->count == 0) return DQ_OK;
    if (t->obs_dim == 0) {
        int rc = alloc_columns(t, b->obs_dim);
        if (rc < 0) {
            snprintf(why, whylen, "table %s: cannot allocate %zu items of obs_dim %u", t->name,
                     t->capacity, b->obs_dim);
            return rc;
        }
    } else if (b->obs_dim != t->obs_dim) {
        snprintf(why, whylen, "table %s holds obs_dim %u, insert has obs_dim %u", t->name,
                 t->obs_dim, b->obs_dim);
        return DQ_ESHAPE;
    }
    if (b->priority) {
        for (uint32_t i = 0; i < b->count; i++) {
            if (!isfinite(b->priority[i]) || b->priority[i] < 0.0f) {
                snprintf(why, whylen, "insert.priority[%u] = %g, must be finite and >= 0", i,
                         (double)b->priority[i]);
                return DQ_ERANGE;
            }
        }
    }
    size_t count = b->count;
    /* Transitions that would be evicted by later ones of the same batch are
     * never stored, but still get keys. */
    size_t skip = count > t->capacity ? count - t->capacity : 0;
    t->next_key += skip;
    size_t from = skip, left = count - skip;
    while (left > 0) {
        size_t slot = (size_t)(t->next_key % t->capacity);
        size_t run = t->capacity - slot < left ? t->capacity - slot : left;
        copy_run(t, slot, b, from, run);
        if (t->tree) {
            for (size_t i = 0; i < run; i++) {
                double leaf = t->max_leaf;
                if (b->priority) {
                    leaf = leaf_of(t, (double)b->priority[from + i]);
                    if (leaf > t->max_leaf) t->max_leaf = leaf;
                }
                sumtree_set(t->tree, slot + i, leaf);
            }
        }
        t->next_key += run;
        from += run;
        left -= run;
    }
    size_t before = t->size;
    size_t total = before + count;
    t->size = total > t->capacity ? t->capacity : total;
    if (evicted) *evicted = total - t->size;
    return DQ_OK;
}

static uint64_t slot_key(const replay_table_t *t, size_t slot)
{
    uint64_t oldest = t->next_key - t->size;
    size_t oslot = (size_t)(oldest % t->capacity);
    size_t off = slot >= oslot ? slot - oslot : slot + t->capacity - oslot;
    return oldest + off;
}

int replay_table_sample(replay_table_t *t, uint32_t n, dq_rng_t *rng, dq_items_t *out)
{
    memset(out, 0, sizeof *out);
    if (t->size == 0) return DQ_EEMPTY;
    int rc = dq_batch_alloc(&out->batch, n, t->obs_dim, 0);
    if (rc < 0) return rc;
    out->keys = malloc(n * sizeof *out->keys);
    out->prob = malloc(n * sizeof *out->prob);
    if (!out->keys || !out->prob) {
        dq_batch_free(&out->batch);
        free(out->keys);
        free(out->prob);
        memset(out, 0, sizeof *out);
        return DQ_ENOMEM;
    }
    out->size = t->size;
    uint64_t oldest = t->next_key - t->size;
    double total = t->tree ? sumtree_total(t->tree) : 0.0;
    float uniform = 1.0f / (float)t->size;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t key;
        size_t slot;
        float prob = uniform;
        if (t->tree && total > 0.0) {
            /* Stratified, as in prioritized replay: draw i from the i-th of n
             * equal slices of the total. Each draw still picks item j with
             * probability leaf_j / total on average over i, the batch covers
             * the distribution more evenly, and the sorted prefixes make
             * consecutive descents share their cached upper levels. */
            double u = ((double)i + dq_rng_uniform(rng)) / (double)n;
            slot = sumtree_find(t->tree, u * total);
            key = slot_key(t, slot);
            prob = (float)(sumtree_get(t->tree, slot) / total);
            if (!(prob >= FLT_MIN)) prob = FLT_MIN;
            if (prob > 1.0f) prob = 1.0f;
        } else {
            /* Uniform, or every priority 0 (alpha > 0, eps 0): draw uniformly. */
            key = oldest + dq_rng_below(rng, t->size);
            slot = (size_t)(key % t->capacity);
        }
        copy_item(t, slot, &out->batch, i);
        out->keys[i] = key;
        out->prob[i] = prob;
    }
    return DQ_OK;
}

int replay_table_has(const replay_table_t *t, uint64_t key)
{
    return key < t->next_key && key >= t->next_key - t->size;
}

int replay_table_update(replay_table_t *t, const uint64_t *keys, const float *priority, uint32_t n,
                        uint32_t *updated)
{
    *updated = 0;
    for (uint32_t i = 0; i < n; i++)
        if (!isfinite(priority[i]) || priority[i] < 0.0f) return DQ_ERANGE;
    if (!t->tree) return DQ_OK;
    uint32_t done = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!replay_table_has(t, keys[i])) continue;
        double leaf = leaf_of(t, (double)priority[i]);
        if (leaf > t->max_leaf) t->max_leaf = leaf;
        sumtree_set(t->tree, (size_t)(keys[i] % t->capacity), leaf);
        done++;
    }
    *updated = done;
    return DQ_OK;
}

int replay_table_get(const replay_table_t *t, uint64_t key, dq_batch_t *out, uint32_t i,
                     double *leaf)
{
    if (!replay_table_has(t, key) || out->obs_dim != t->obs_dim || i >= out->count)
        return DQ_ERANGE;
    size_t slot = (size_t)(key % t->capacity);
    copy_item(t, slot, out, i);
    if (leaf) *leaf = t->tree ? sumtree_get(t->tree, slot) : 1.0;
    return DQ_OK;
}

void replay_table_priority_stats(const replay_table_t *t, replay_priority_stats_t *s)
{
    memset(s, 0, sizeof *s);
    if (!t->tree) return;
    s->total = sumtree_total(t->tree);
    s->min = sumtree_min(t->tree);
    s->max_set = t->max_leaf;
}

/* Calls fn(slot, len) for the held items in key order, as at most two runs of
 * consecutive slots. */
#define FOR_EACH_RUN(t, BODY)                                                                    \
    do {                                                                                         \
        size_t oslot_ = (size_t)(((t)->next_key - (t)->size) % (t)->capacity);                   \
        size_t first_ = (t)->capacity - oslot_ < (t)->size ? (t)->capacity - oslot_ : (t)->size; \
        size_t runs_[2][2] = {{oslot_, first_}, {0, (t)->size - first_}};                        \
        for (int r_ = 0; r_ < 2; r_++) {                                                         \
            size_t slot = runs_[r_][0], len = runs_[r_][1];                                      \
            if (len == 0) continue;                                                              \
            BODY                                                                                 \
        }                                                                                        \
    } while (0)

#define COL_SAVE_(name, ctype, width, kind, ranged, lo, hi, doc) \
    FOR_EACH_RUN(                                                \
        t, ckpt_put(w, t->name + slot * COL_W(t, width), len * COL_W(t, width) * sizeof(ctype)););
#define COL_LOAD_(name, ctype, width, kind, ranged, lo, hi, doc) \
    FOR_EACH_RUN(                                                \
        t, ckpt_get(r, t->name + slot * COL_W(t, width), len * COL_W(t, width) * sizeof(ctype)););

void replay_table_save(const replay_table_t *t, ckpt_writer_t *w)
{
    ckpt_put(w, "TABL", 4);
    char name[DQ_TABLE_NAME_MAX] = {0};
    snprintf(name, sizeof name, "%s", t->name);
    ckpt_put(w, name, sizeof name);
    ckpt_put_u64(w, t->capacity);
    ckpt_put_u32(w, (uint32_t)t->sampler);
    ckpt_put_f64(w, t->alpha);
    ckpt_put_f64(w, t->eps);
    ckpt_put_f64(w, t->max_leaf);
    ckpt_put_u32(w, t->obs_dim);
    ckpt_put_u64(w, t->next_key);
    ckpt_put_u64(w, t->size);
    if (t->size == 0) return;
    /* Column by column, each in key order, so a restore is a few big reads. */
    DQ_TRANSITION_COLS(COL_SAVE_)
    if (t->tree) {
        FOR_EACH_RUN(t, for (size_t i = 0; i < len; i++)
                            ckpt_put_f64(w, sumtree_get(t->tree, slot + i)););
    }
}

replay_table_t *replay_table_load(ckpt_reader_t *r, const replay_table_config_t *cfg)
{
    char tag[4], name[DQ_TABLE_NAME_MAX];
    ckpt_get(r, tag, sizeof tag);
    ckpt_get(r, name, sizeof name);
    uint64_t capacity = ckpt_get_u64(r);
    uint32_t sampler = ckpt_get_u32(r);
    double alpha = ckpt_get_f64(r), eps = ckpt_get_f64(r), max_leaf = ckpt_get_f64(r);
    uint32_t obs_dim = ckpt_get_u32(r);
    uint64_t next_key = ckpt_get_u64(r), size = ckpt_get_u64(r);
    if (r->rc) return NULL;
    name[sizeof name - 1] = '\0';
    if (memcmp(tag, "TABL", 4) != 0) {
        ckpt_reader_fail(r, DQ_EFORMAT, "corrupt: table section tag missing");
        return NULL;
    }
    if (capacity != cfg->capacity) {
        ckpt_reader_fail(r, DQ_ECONFIG,
                         "mismatched: table '%s' has capacity %llu, replay.capacity is %zu "
                         "(start with the checkpoint's capacity, or without restoring)",
                         name, (unsigned long long)capacity, cfg->capacity);
        return NULL;
    }
    if (sampler != (uint32_t)cfg->sampler) {
        ckpt_reader_fail(r, DQ_ECONFIG, "mismatched: table '%s' is %s, replay.sampler is %s", name,
                         sampler == REPLAY_PRIORITIZED ? "prioritized" : "uniform",
                         cfg->sampler == REPLAY_PRIORITIZED ? "prioritized" : "uniform");
        return NULL;
    }
    if (sampler == REPLAY_PRIORITIZED && (alpha != cfg->alpha || eps != cfg->eps)) {
        ckpt_reader_fail(r, DQ_ECONFIG,
                         "mismatched: priorities were stored with alpha %g, eps %g; the "
                         "configuration has replay.alpha %g, replay.priority_eps %g",
                         alpha, eps, cfg->alpha, cfg->eps);
        return NULL;
    }
    if (size > capacity || size > next_key || obs_dim > DQ_WIRE_MAX_DIM ||
        (size > 0 && obs_dim == 0) || !(max_leaf >= 0.0 && isfinite(max_leaf))) {
        ckpt_reader_fail(r, DQ_EFORMAT,
                         "corrupt: size %llu, capacity %llu, next key %llu, obs_dim %u are "
                         "inconsistent",
                         (unsigned long long)size, (unsigned long long)capacity,
                         (unsigned long long)next_key, obs_dim);
        return NULL;
    }
    /* Refuse before allocating if the file cannot hold what the header says. */
    uint64_t per = dq_transition_bytes(obs_dim) + (sampler == REPLAY_PRIORITIZED ? 8 : 0);
    if (size > 0 && size * per > r->file_bytes) {
        ckpt_reader_fail(r, DQ_EFORMAT,
                         "truncated: %llu items of obs_dim %u need %llu bytes, the file has %llu",
                         (unsigned long long)size, obs_dim, (unsigned long long)(size * per),
                         (unsigned long long)r->file_bytes);
        return NULL;
    }
    replay_table_t *t = replay_table_new(cfg);
    if (!t) {
        ckpt_reader_fail(r, DQ_ENOMEM, "cannot allocate a table of capacity %zu", cfg->capacity);
        return NULL;
    }
    snprintf(t->name, sizeof t->name, "%s", name);
    t->max_leaf = max_leaf;
    if (obs_dim && alloc_columns(t, obs_dim) < 0) {
        ckpt_reader_fail(r, DQ_ENOMEM, "cannot allocate %zu items of obs_dim %u", t->capacity,
                         obs_dim);
        replay_table_destroy(&t);
        return NULL;
    }
    t->next_key = next_key;
    t->size = (size_t)size;
    DQ_TRANSITION_COLS(COL_LOAD_)
    if (t->tree) {
        FOR_EACH_RUN(
            t, for (size_t i = 0; i < len && !r->rc; i++) {
                double leaf = ckpt_get_f64(r);
                if (sumtree_set(t->tree, slot + i, leaf) < 0)
                    ckpt_reader_fail(r, DQ_EFORMAT, "corrupt: priority %g of item %zu", leaf, i);
            });
    }
    if (r->rc) replay_table_destroy(&t);
    return t;
}
