/* rng.c - xoshiro256** by Blackman and Vigna, seeded with splitmix64. */
#include "rng.h"

#include <math.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

uint64_t dq_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t splitmix64(uint64_t *x) { return dq_mix64(*x += 0x9e3779b97f4a7c15ULL); }

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void dq_rng_seed(dq_rng_t *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&x);
}

uint64_t dq_rng_mix(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t x = seed ^ 0x5851f42d4c957f2dULL;
    uint64_t h = splitmix64(&x);
    x = h ^ (a * 0xd6e8feb86659fd93ULL);
    h = splitmix64(&x);
    x = h ^ (b * 0xa0761d6478bd642fULL);
    return splitmix64(&x);
}

uint64_t dq_rng_u64(dq_rng_t *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t dq_rng_below(dq_rng_t *rng, uint64_t n)
{
    /* Rejection sampling on the top of the range keeps the result unbiased. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = dq_rng_u64(rng);
    while (x >= limit);
    return x % n;
}

double dq_rng_uniform(dq_rng_t *rng) { return (double)(dq_rng_u64(rng) >> 11) * 0x1.0p-53; }

double dq_rng_normal(dq_rng_t *rng)
{
    double u1 = dq_rng_uniform(rng), u2 = dq_rng_uniform(rng);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint64_t dq_fresh_id(void)
{
    uint64_t id = 0;
    if (getrandom(&id, sizeof id, 0) == (ssize_t)sizeof id && id != 0) return id;
    struct timespec a, b;
    clock_gettime(CLOCK_REALTIME, &a);
    clock_gettime(CLOCK_MONOTONIC, &b);
    return dq_rng_mix((uint64_t)getpid(), (uint64_t)a.tv_sec * 1000000000u + (uint64_t)a.tv_nsec,
                      (uint64_t)b.tv_nsec) |
           1;
}
