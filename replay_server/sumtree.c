/* sumtree.c - the sum-tree and min-tree of sumtree.h.
 *
 * Layout: the leaves are padded to a power of two P >= 2 and kept heap-style:
 * node k has children 2k and 2k+1, the root is node 1, and leaf i is node P + i.
 * Internal nodes (1 <= k < P) hold their sum and their min side by side, so an
 * update touches one cache line per level; leaves hold only the priority (their
 * min is the priority itself, or +inf when it is 0), which keeps the tree at
 * 24 bytes per leaf instead of 32. Padding leaves stay at 0, so they are never
 * found and never the minimum.
 */
#include "sumtree.h"

#include <math.h>
#include <stdlib.h>

#include "err.h"

typedef struct {
    double sum; /* sum of the leaves below */
    double min; /* smallest positive leaf below, +inf if none */
} node_t;

struct sumtree {
    size_t capacity; /* leaves in use */
    size_t p;        /* leaves allocated: the smallest power of two >= max(capacity, 2) */
    node_t *node;    /* (p,) internal nodes 1 .. p-1; node[0] unused */
    double *leaf;    /* (p,) priorities */
};

sumtree_t *sumtree_new(size_t capacity)
{
    if (capacity == 0 || capacity > (SIZE_MAX / 4) / sizeof(node_t)) return NULL;
    size_t p = 2;
    while (p < capacity) p <<= 1;
    sumtree_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->node = malloc(p * sizeof(node_t));
    self->leaf = malloc(p * sizeof(double));
    if (!self->node || !self->leaf) goto fail;
    self->capacity = capacity;
    self->p = p;
    sumtree_clear(self);
    return self;
fail:
    free(self->node);
    free(self->leaf);
    free(self);
    return NULL;
}

void sumtree_destroy(sumtree_t **self_p)
{
    if (!self_p || !*self_p) return;
    free((*self_p)->node);
    free((*self_p)->leaf);
    free(*self_p);
    *self_p = NULL;
}

size_t sumtree_capacity(const sumtree_t *self) { return self->capacity; }

size_t sumtree_alloc_bytes(const sumtree_t *self)
{
    return self->p * (sizeof(node_t) + sizeof(double));
}

void sumtree_clear(sumtree_t *self)
{
    for (size_t k = 0; k < self->p; k++) {
        self->node[k] = (node_t){0.0, INFINITY};
        self->leaf[k] = 0.0;
    }
}

static double pos_or_inf(double v) { return v > 0.0 ? v : INFINITY; }

int sumtree_set(sumtree_t *self, size_t i, double p)
{
    if (i >= self->capacity || !isfinite(p) || p < 0.0) return DQ_ERANGE;
    node_t *node = self->node;
    const double *leaf = self->leaf;
    self->leaf[i] = p;
    /* The leaf's parent reads two leaves, the levels above two nodes. */
    size_t k = (self->p + i) >> 1, l = 2 * k - self->p;
    double lm = pos_or_inf(leaf[l]), rm = pos_or_inf(leaf[l + 1]);
    node[k] = (node_t){leaf[l] + leaf[l + 1], lm < rm ? lm : rm};
    for (k >>= 1; k >= 1; k >>= 1) {
        const node_t *a = &node[2 * k], *b = &node[2 * k + 1];
        node[k].sum = a->sum + b->sum;
        node[k].min = a->min < b->min ? a->min : b->min;
    }
    return DQ_OK;
}

double sumtree_get(const sumtree_t *self, size_t i)
{
    return i < self->capacity ? self->leaf[i] : 0.0;
}

double sumtree_total(const sumtree_t *self) { return self->node[1].sum; }

double sumtree_min(const sumtree_t *self)
{
    return isinf(self->node[1].min) ? 0.0 : self->node[1].min;
}

size_t sumtree_find(const sumtree_t *self, double prefix)
{
    if (!(self->node[1].sum > 0.0)) return SUMTREE_NONE;
    if (!(prefix > 0.0)) prefix = 0.0; /* also catches NaN */
    /* Invariant: the sum below k is > 0. A node with a positive sum has a positive child
     * (the children are >= 0), so the descent can always continue into one;
     * when rounding points it at an empty side it takes the other. */
    size_t k = 1, half = self->p / 2;
    while (k < self->p) {
        double left, right;
        if (k < half) {
            left = self->node[2 * k].sum;
            right = self->node[2 * k + 1].sum;
        } else {
            left = self->leaf[2 * k - self->p];
            right = self->leaf[2 * k + 1 - self->p];
        }
        if ((prefix < left || right <= 0.0) && left > 0.0) {
            k = 2 * k;
        } else {
            prefix -= left;
            k = 2 * k + 1;
        }
    }
    return k - self->p;
}
