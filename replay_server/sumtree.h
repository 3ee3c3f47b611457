/* sumtree.h - a sum-tree over a fixed number of non-negative priorities.
 *
 * The replay server's prioritized sampling: leaf i holds the priority of slot i
 * of a table; set, get, total and sample-by-prefix-sum all run in O(log n).
 * Sampling draws u uniform in [0, 1) and calls sumtree_find(t, u * total), which
 * picks leaf i with probability p_i / total. A parallel min-tree tracks the
 * smallest positive priority, from which the largest importance weight
 * (N * p_min / total)^-beta follows.
 *
 *     sumtree_t *t = sumtree_new(capacity);
 *     sumtree_set(t, slot, pow(td_error + eps, alpha));
 *     size_t i = sumtree_find(t, dq_rng_uniform(&rng) * sumtree_total(t));
 *     sumtree_destroy(&t);
 *
 * Sums are float64 and every update recomputes the parents on the leaf's path
 * from their children (never adds deltas), so the totals do not drift however
 * many updates are made: each internal node is exactly the rounded sum of its two
 * children at all times.
 */
#ifndef DQ_SUMTREE_H
#define DQ_SUMTREE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sumtree sumtree_t;

/* Returned by sumtree_find when the total is zero. */
#define SUMTREE_NONE SIZE_MAX

/* All leaves start at priority 0. NULL when capacity is 0, too large, or out of
 * memory. */
sumtree_t *sumtree_new(size_t capacity);
/* Frees the tree and sets *self_p = NULL; NULL and *self_p == NULL are fine. */
void sumtree_destroy(sumtree_t **self_p);

size_t sumtree_capacity(const sumtree_t *self);
/* Bytes allocated for nodes and leaves: 24 per leaf, leaves padded to a power
 * of two. */
size_t sumtree_alloc_bytes(const sumtree_t *self);
/* Sets leaf i to p. DQ_ERANGE (and nothing changes) unless i < capacity and p is
 * finite and >= 0. */
int sumtree_set(sumtree_t *self, size_t i, double p);
/* Sets every leaf to 0. */
void sumtree_clear(sumtree_t *self);
/* Priority of leaf i; 0 for i >= capacity. */
double sumtree_get(const sumtree_t *self, size_t i);
/* Sum of all priorities. */
double sumtree_total(const sumtree_t *self);
/* Smallest positive priority; 0 when every leaf is 0. */
double sumtree_min(const sumtree_t *self);
/* The leaf i whose interval [c_{i-1}, c_i) of the cumulative sums contains
 * prefix, i.e. the first leaf whose cumulative sum exceeds prefix. A prefix
 * below 0 (or NaN) selects the first positive leaf, one at or above the total
 * the last positive leaf. When the total is positive the result is always a leaf
 * with positive priority, whatever the rounding; SUMTREE_NONE when the total is
 * 0. */
size_t sumtree_find(const sumtree_t *self, double prefix);

#endif
