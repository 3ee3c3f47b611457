/* table.h - a replay table: fixed-capacity columnar storage with FIFO eviction.
 *
 * Items get consecutive 64-bit keys in insertion order; the item with key k
 * lives in slot k % capacity and is present while next_key - size <= k <
 * next_key. So a key lookup is O(1) and a key of an evicted item is detected,
 * not confused with its slot's new occupant.
 *
 *   replay_table_t *t = replay_table_new("main", 100000);
 *   replay_table_insert(t, &batch, actor_id, why, sizeof why);
 *   replay_table_sample(t, 32, &rng, &items);   // fills a dq_items_t
 *   replay_table_destroy(&t);
 *
 * The observation size is fixed by the first insert; a batch of another size
 * is refused with DQ_ESHAPE.
 */
#ifndef REPLAY_TABLE_H
#define REPLAY_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "wire.h"

typedef struct replay_table replay_table_t;

replay_table_t *replay_table_new(const char *name, size_t capacity);
void replay_table_destroy(replay_table_t **self_p);

const char *replay_table_name(const replay_table_t *t);
size_t replay_table_size(const replay_table_t *t);
size_t replay_table_capacity(const replay_table_t *t);
uint32_t replay_table_obs_dim(const replay_table_t *t);
/* Key the next inserted item will get (= items ever inserted). */
uint64_t replay_table_next_key(const replay_table_t *t);
/* Bytes of storage per item, and in total. */
size_t replay_table_item_bytes(const replay_table_t *t);

/* Appends every transition of b, evicting the oldest items when full. */
int replay_table_insert(replay_table_t *t, const dq_batch_t *b, uint32_t actor, char *why,
                        size_t whylen);
/* Samples n items uniformly with replacement into out (allocating its arrays;
 * free with dq_msg_clear on the enclosing message). DQ_EEMPTY when the table
 * is empty. */
int replay_table_sample(replay_table_t *t, uint32_t n, dq_rng_t *rng, dq_items_t *out);

#endif
