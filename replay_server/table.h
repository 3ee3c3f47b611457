/* table.h - a replay table: fixed-capacity columnar storage with FIFO
 * eviction, uniform or prioritized sampling.
 *
 * Items get consecutive 64-bit keys in insertion order; the item with key k
 * lives in slot k % capacity and is present while next_key - size <= k <
 * next_key. So a key lookup is O(1) and a key of an evicted item is detected,
 * not confused with its slot's new occupant.
 *
 *   replay_table_config_t tc = {.name = "main", .capacity = 100000,
 *                               .sampler = REPLAY_PRIORITIZED, .alpha = 0.6, .eps = 1e-6};
 *   replay_table_t *t = replay_table_new(&tc);
 *   replay_table_insert(t, &batch, why, sizeof why);
 *   replay_table_sample(t, 32, &rng, &items);   // fills a dq_items_t
 *   replay_table_update(t, keys, prio, n, &updated);
 *   replay_table_destroy(&t);
 *
 * Storage is one column per field, allocated at the first insert (which fixes
 * obs_dim; a batch of another obs_dim is refused with DQ_ESHAPE), so memory per
 * item is the payload, dq_transition_bytes (8 * obs_dim + 20 bytes, from the
 * columns of transition_cols.h). A prioritized table adds a
 * sum-tree of 24 bytes per leaf, leaves padded to a power of two (at most 48
 * bytes per item at the worst padding, 25.2 at capacity 10^6).
 *
 * Priorities. A priority p (an INSERT's initial priority, or an
 * UPDATE_PRIORITIES value, e.g. |TD error|) is stored as the sum-tree leaf
 * (p + eps)^alpha, so item i is drawn with probability leaf_i / sum_j leaf_j.
 * An item inserted without a priority gets the largest leaf set so far (1 at
 * the start), so it is likely to be replayed at least once. Sampling is with
 * replacement (prioritized: stratified, one draw from each of n equal slices
 * of the total); ITEMS.prob is leaf_i / total (1 / size for a uniform table).
 */
#ifndef REPLAY_TABLE_H
#define REPLAY_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "ckpt.h"
#include "rng.h"
#include "wire.h"

typedef enum { REPLAY_UNIFORM = 0, REPLAY_PRIORITIZED = 1 } replay_sampler_t;

typedef struct {
    const char *name;
    size_t capacity; /* >= 1 */
    replay_sampler_t sampler;
    double alpha; /* priority exponent, in [0, 1] */
    double eps;   /* added to every priority before the exponent, >= 0 */
} replay_table_config_t;

typedef struct replay_table replay_table_t;

/* NULL when capacity is 0, alpha is outside [0, 1], eps is negative or not
 * finite, or memory runs out. */
replay_table_t *replay_table_new(const replay_table_config_t *cfg);
void replay_table_destroy(replay_table_t **self_p);

const char *replay_table_name(const replay_table_t *t);
size_t replay_table_size(const replay_table_t *t);
size_t replay_table_capacity(const replay_table_t *t);
replay_sampler_t replay_table_sampler(const replay_table_t *t);
uint32_t replay_table_obs_dim(const replay_table_t *t);
/* Key the next inserted item will get (= items ever inserted). */
uint64_t replay_table_next_key(const replay_table_t *t);
/* Payload bytes per item (dq_transition_bytes); 0 before the first insert. */
size_t replay_table_item_bytes(const replay_table_t *t);
/* Bytes allocated for storage and the sum-tree. */
size_t replay_table_alloc_bytes(const replay_table_t *t);

/* Appends every transition of b (b->priority optional), evicting the oldest
 * items when full; *evicted (may be NULL) receives how many were. DQ_ESHAPE,
 * DQ_ENOMEM with the reason in why; nothing is stored then. */
int replay_table_insert(replay_table_t *t, const dq_batch_t *b, uint64_t *evicted, char *why,
                        size_t whylen);
/* Samples n items with replacement into out (allocating its arrays; free with
 * dq_msg_clear on the enclosing message, or dq_batch_free + free(keys, prob)).
 * DQ_EEMPTY when the table is empty. */
int replay_table_sample(replay_table_t *t, uint32_t n, dq_rng_t *rng, dq_items_t *out);
/* Sets the priority of each key still held; keys of evicted (or never
 * inserted) items are skipped. *updated receives the number set. A uniform
 * table updates nothing (and reports 0). DQ_ERANGE for a negative or
 * non-finite priority (nothing changes). */
int replay_table_update(replay_table_t *t, const uint64_t *keys, const float *priority, uint32_t n,
                        uint32_t *updated);
/* Whether key is held. */
int replay_table_has(const replay_table_t *t, uint64_t key);
/* Copies item key into transition i of out (allocated for obs_dim) and its
 * sum-tree leaf into *leaf (1 for a uniform table). DQ_ERANGE if not held. */
int replay_table_get(const replay_table_t *t, uint64_t key, dq_batch_t *out, uint32_t i,
                     double *leaf);

/* Priority statistics over the held items (leaves): total, smallest positive,
 * largest ever set. All 0 for a uniform table. */
typedef struct {
    double total, min, max_set;
} replay_priority_stats_t;
void replay_table_priority_stats(const replay_table_t *t, replay_priority_stats_t *s);

/* Writes the table section of a checkpoint: configuration, keys, every held
 * item in key order and its leaf. */
void replay_table_save(const replay_table_t *t, ckpt_writer_t *w);
/* Reads a table section into a new table, refusing (NULL, r->err) one whose
 * capacity or sampler differs from cfg ("mismatched"), or whose counts are
 * inconsistent. The caller must still call ckpt_reader_finish before using it. */
replay_table_t *replay_table_load(ckpt_reader_t *r, const replay_table_config_t *cfg);

#endif
