/* bench_sumtree.c - sum-tree throughput at capacity 10^6: priority updates per
 * second at random slots and samples per second (find of u * total), one thread.
 * Run with `meson test -C build --benchmark sumtree -v` or directly. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "err.h"
#include "rng.h"
#include "sumtree.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(void)
{
    enum { CAP = 1000000, OPS = 10000000 };
    dq_rng_t rng;
    dq_rng_seed(&rng, 1);
    sumtree_t *t = sumtree_new(CAP);
    if (!t) {
        fprintf(stderr, "bench_sumtree: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < CAP; i++) sumtree_set(t, i, dq_rng_uniform(&rng) + 1e-3);

    double t0 = now_s();
    for (int k = 0; k < OPS; k++)
        if (sumtree_set(t, (size_t)dq_rng_below(&rng, CAP), dq_rng_uniform(&rng)) != DQ_OK)
            return 1;
    double t_set = now_s() - t0;

    size_t check = 0;
    t0 = now_s();
    double total = sumtree_total(t);
    for (int k = 0; k < OPS; k++) check += sumtree_find(t, dq_rng_uniform(&rng) * total);
    double t_find = now_s() - t0;

    /* The random numbers alone, to subtract their share. */
    t0 = now_s();
    double acc = 0.0;
    for (int k = 0; k < OPS; k++) acc += dq_rng_uniform(&rng) + (double)dq_rng_below(&rng, CAP);
    double t_rng = now_s() - t0;

    printf("sumtree capacity %d: %.2f M updates/s, %.2f M samples/s (rng %.1f ns/op included; "
           "checksum %zu %g)\n",
           CAP, OPS / t_set / 1e6, OPS / t_find / 1e6, t_rng / OPS * 1e9, check % 1000,
           acc > 0 ? 1.0 : 0.0);
    sumtree_destroy(&t);
    return 0;
}
