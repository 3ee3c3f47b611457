/* rng.h - explicit random state (xoshiro256**, seeded through splitmix64).
 *
 * Every consumer owns its dq_rng_t and passes it in; there is no hidden global
 * generator and rand() is never used. Streams for actor i, env j are derived
 * with dq_rng_seed(&r, dq_rng_mix(seed, i, j)) so runs are reproducible.
 */
#ifndef DQ_RNG_H
#define DQ_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} dq_rng_t;

void dq_rng_seed(dq_rng_t *rng, uint64_t seed);
/* splitmix64's finalizer: a bijection of 64-bit words that mixes every input
 * bit into every output bit (hashing, seeding). */
uint64_t dq_mix64(uint64_t z);
/* A well-mixed 64-bit seed from a base seed and two stream indices. */
uint64_t dq_rng_mix(uint64_t seed, uint64_t a, uint64_t b);
uint64_t dq_rng_u64(dq_rng_t *rng);
/* Uniform in [0, n), unbiased; n > 0. */
uint64_t dq_rng_below(dq_rng_t *rng, uint64_t n);
/* Uniform in [0, 1) with 53 random bits. */
double dq_rng_uniform(dq_rng_t *rng);
/* Standard normal (Box-Muller, one value per call). */
double dq_rng_normal(dq_rng_t *rng);
/* A random, non-zero 64-bit id from the kernel (getrandom), or from the pid
 * and clocks if that fails: the run id of a process's stream (an actor's
 * INSERTs, a learner group's WEIGHTS), new at every start. */
uint64_t dq_fresh_id(void);

#endif
