/* table.c - see table.h. */
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

struct replay_table {
    char name[DQ_TABLE_NAME_MAX];
    size_t capacity;
    size_t size;
    uint64_t next_key;
    uint32_t obs_dim;   /* 0 until the first insert */
    /* Columns, allocated at the first insert, indexed by slot = key % capacity. */
    float *obs;         /* (capacity, obs_dim) */
    float *next_obs;    /* (capacity, obs_dim) */
    int32_t *action;    /* (capacity) */
    float *reward;      /* (capacity) */
    float *discount;    /* (capacity) */
    float *epsilon;     /* (capacity) */
    uint32_t *version;  /* (capacity) */
    uint32_t *actor;    /* (capacity) */
};

replay_table_t *replay_table_new(const char *name, size_t capacity)
{
    if (capacity == 0) return NULL;
    replay_table_t *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->capacity = capacity;
    return t;
}

static void free_columns(replay_table_t *t)
{
    free(t->obs);
    free(t->next_obs);
    free(t->action);
    free(t->reward);
    free(t->discount);
    free(t->epsilon);
    free(t->version);
    free(t->actor);
    t->obs = t->next_obs = t->reward = t->discount = t->epsilon = NULL;
    t->action = NULL;
    t->version = t->actor = NULL;
}

void replay_table_destroy(replay_table_t **self_p)
{
    if (!self_p || !*self_p) return;
    free_columns(*self_p);
    free(*self_p);
    *self_p = NULL;
}

const char *replay_table_name(const replay_table_t *t) { return t->name; }
size_t replay_table_size(const replay_table_t *t) { return t->size; }
size_t replay_table_capacity(const replay_table_t *t) { return t->capacity; }
uint32_t replay_table_obs_dim(const replay_table_t *t) { return t->obs_dim; }
uint64_t replay_table_next_key(const replay_table_t *t) { return t->next_key; }

size_t replay_table_item_bytes(const replay_table_t *t)
{
    return 2 * (size_t)t->obs_dim * sizeof(float) + sizeof(int32_t) + 3 * sizeof(float) +
           2 * sizeof(uint32_t);
}

static int alloc_columns(replay_table_t *t, uint32_t obs_dim)
{
    size_t n = t->capacity, d = obs_dim;
    t->obs = malloc(n * d * sizeof(float));
    t->next_obs = malloc(n * d * sizeof(float));
    t->action = malloc(n * sizeof(int32_t));
    t->reward = malloc(n * sizeof(float));
    t->discount = malloc(n * sizeof(float));
    t->epsilon = malloc(n * sizeof(float));
    t->version = malloc(n * sizeof(uint32_t));
    t->actor = malloc(n * sizeof(uint32_t));
    if (!t->obs || !t->next_obs || !t->action || !t->reward || !t->discount || !t->epsilon ||
        !t->version || !t->actor) {
        free_columns(t);
        return DQ_ENOMEM;
    }
    t->obs_dim = obs_dim;
    return DQ_OK;
}

int replay_table_insert(replay_table_t *t, const dq_batch_t *b, uint32_t actor, char *why,
                        size_t whylen)
{
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
    size_t d = t->obs_dim;
    for (uint32_t i = 0; i < b->count; i++) {
        size_t slot = (size_t)(t->next_key % t->capacity);
        memcpy(t->obs + slot * d, b->obs + i * d, d * sizeof(float));
        memcpy(t->next_obs + slot * d, b->next_obs + i * d, d * sizeof(float));
        t->action[slot] = b->action[i];
        t->reward[slot] = b->reward[i];
        t->discount[slot] = b->discount[i];
        t->epsilon[slot] = b->epsilon[i];
        t->version[slot] = b->version[i];
        t->actor[slot] = actor;
        t->next_key++;
        if (t->size < t->capacity) t->size++;
    }
    return DQ_OK;
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
    size_t d = t->obs_dim;
    uint64_t oldest = t->next_key - t->size;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t key = oldest + dq_rng_below(rng, t->size);
        size_t slot = (size_t)(key % t->capacity);
        memcpy(out->batch.obs + i * d, t->obs + slot * d, d * sizeof(float));
        memcpy(out->batch.next_obs + i * d, t->next_obs + slot * d, d * sizeof(float));
        out->batch.action[i] = t->action[slot];
        out->batch.reward[i] = t->reward[slot];
        out->batch.discount[i] = t->discount[slot];
        out->batch.epsilon[i] = t->epsilon[slot];
        out->batch.version[i] = t->version[slot];
        out->keys[i] = key;
        out->prob[i] = 1.0f / (float)t->size;
    }
    return DQ_OK;
}
