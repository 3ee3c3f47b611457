/* sumtree.c - the sum-tree and min-tree of sumtree.h.
 *
 * Layout: the leaves are padded to a power of two P and stored heap-style, node k
 * having children 2k and 2k+1, leaf i at node P + i, the root at node 1. A node
 * holds its sum and its min side by side, so an update touches one cache line
 * per level. Padding leaves stay at 0 (sum) and +inf (min), so they are never
 * found and never the minimum.
 */
#include "sumtree.h"

#include <math.h>
#include <stdlib.h>

#include "err.h"

typedef struct {
    double sum; /* sum of the leaves below: node[2k].sum + node[2k+1].sum */
    double min; /* smallest positive leaf below, +inf if none */
} node_t;

struct sumtree {
    size_t capacity; /* leaves in use */
    size_t p;        /* leaves allocated: the smallest power of two >= capacity */
    node_t *node;    /* (2p,) node[0] unused */
};

sumtree_t *sumtree_new(size_t capacity)
{
    if (capacity == 0 || capacity > (SIZE_MAX / 4) / sizeof(node_t)) return NULL;
    size_t p = 1;
    while (p < capacity) p <<= 1;
    sumtree_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->node = malloc(2 * p * sizeof(node_t));
    if (!self->node) goto fail;
    self->capacity = capacity;
    self->p = p;
    sumtree_clear(self);
    return self;
fail:
    free(self);
    return NULL;
}

void sumtree_destroy(sumtree_t **self_p)
{
    if (!self_p || !*self_p) return;
    free((*self_p)->node);
    free(*self_p);
    *self_p = NULL;
}

size_t sumtree_capacity(const sumtree_t *self) { return self->capacity; }

void sumtree_clear(sumtree_t *self)
{
    for (size_t k = 0; k < 2 * self->p; k++) self->node[k] = (node_t){0.0, INFINITY};
}

int sumtree_set(sumtree_t *self, size_t i, double p)
{
    if (i >= self->capacity || !isfinite(p) || p < 0.0) return DQ_ERANGE;
    node_t *node = self->node;
    size_t k = self->p + i;
    node[k] = (node_t){p, p > 0.0 ? p : INFINITY};
    for (k >>= 1; k >= 1; k >>= 1) {
        const node_t *l = &node[2 * k], *r = &node[2 * k + 1];
        node[k].sum = l->sum + r->sum;
        node[k].min = l->min < r->min ? l->min : r->min;
    }
    return DQ_OK;
}

double sumtree_get(const sumtree_t *self, size_t i)
{
    return i < self->capacity ? self->node[self->p + i].sum : 0.0;
}

double sumtree_total(const sumtree_t *self) { return self->node[1].sum; }

double sumtree_min(const sumtree_t *self)
{
    return isinf(self->node[1].min) ? 0.0 : self->node[1].min;
}

size_t sumtree_find(const sumtree_t *self, double prefix)
{
    const node_t *node = self->node;
    if (!(node[1].sum > 0.0)) return SUMTREE_NONE;
    if (!(prefix > 0.0)) prefix = 0.0; /* also catches NaN */
    /* Invariant: node[k].sum > 0. A node with a positive sum has a positive child
     * (the children are >= 0), so the descent can always continue into one;
     * when rounding points it at an empty side it takes the other. */
    size_t k = 1;
    while (k < self->p) {
        double left = node[2 * k].sum;
        if ((prefix < left || node[2 * k + 1].sum <= 0.0) && left > 0.0) {
            k = 2 * k;
        } else {
            prefix -= left;
            k = 2 * k + 1;
        }
    }
    return k - self->p;
}
