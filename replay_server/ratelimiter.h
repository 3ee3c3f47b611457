/* ratelimiter.h - the replay server's rate limiter: a samples-per-insert ratio,
 * a minimum size before sampling and an error buffer (the semantics of Reverb's
 * SampleToInsertRatio).
 *
 * Pure logic over counters: no threads, no clocks. The server asks
 * ratelimiter_can_insert / ratelimiter_can_sample before serving a request,
 * records what it served with ratelimiter_insert / ratelimiter_sample, records
 * FIFO evictions with ratelimiter_delete, and keeps a request that is not
 * allowed yet as a deferred reply with a deadline, retrying it after every
 * insert and sample and answering DQ_ETIMEOUT when the deadline passes.
 *
 * Definitions (counts are of items, I inserts, S samples, D deletes; size = I-D):
 *     diff     = I * SPI - S            (+ an offset, see ratelimiter_set_enabled)
 *     min_diff = min_size * SPI - error_buffer
 *     max_diff = min_size * SPI + error_buffer
 *     insert of n allowed iff  I + n - D <= min_size       (still filling up)
 *                          or  (I + n) * SPI - S <= max_diff
 *     sample of m allowed iff  I - D >= min_size
 *                         and  I * SPI - (S + m) >= min_diff
 * So once min_size items are in, diff starts at min_size * SPI, the centre of
 * [min_diff, max_diff], and stays in that interval: inserts wait when the learner
 * is behind (diff would exceed max_diff), samples wait when the actors are behind
 * (diff would fall below min_diff). A disabled limiter (pre-filling) allows
 * everything but still counts.
 *
 * Why it cannot deadlock. Let one inserter wait with n <= max_insert_batch items
 * and one sampler with m <= max_sample_batch. After warm-up (size >= min_size)
 * both are blocked only if some diff satisfies
 *     diff + n * SPI > max_diff   and   diff - m < min_diff,
 * that is max_diff - n * SPI < diff < min_diff + m, which is impossible iff
 *     max_diff - min_diff = 2 * error_buffer >= n * SPI + m.              (1)
 * During warm-up the sampler must wait, and the inserter is blocked only if its
 * batch crosses min_size and overshoots max_diff; the worst case, size =
 * min_size - 1 and no samples yet, is impossible iff
 *     error_buffer >= (n - 1) * SPI.                                       (2)
 * ratelimiter_check_config requires (1) and (2) for the largest batches, plus
 * Reverb's own rule error_buffer >= max(1, SPI), and refuses anything else with
 * DQ_ECONFIG: under such a configuration an active inserter and an active sampler
 * could both wait until they time out. Evictions must never take a warmed-up
 * table below min_size, so capacity >= min_size is required too. With the
 * conditions met, a request waits only while the other side is idle, and the
 * deadline turns that wait into a DQ_ETIMEOUT reply rather than a hang.
 */
#ifndef DQ_RATELIMITER_H
#define DQ_RATELIMITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    double samples_per_insert;   /* SPI: samples per inserted item, finite, > 0 */
    uint64_t min_size_to_sample; /* >= 1; no sampling below this size */
    double error_buffer;         /* how far diff may stray from its centre */
    uint64_t capacity;           /* table capacity (FIFO eviction), >= min size */
    uint32_t max_insert_batch;   /* largest n asked of can_insert, >= 1 */
    uint32_t max_sample_batch;   /* largest m asked of can_sample, >= 1 */
    bool enabled;                /* false: allow everything (pre-filling) */
} ratelimiter_config_t;

/* Transparent so that the server can report and checkpoint the counters. */
typedef struct {
    ratelimiter_config_t cfg;
    double min_diff, max_diff;          /* min_size * SPI -/+ error_buffer */
    uint64_t inserts, samples, deletes; /* I, S, D since init */
    double offset;                      /* added to I * SPI - S; set on enabling */
} ratelimiter_t;

/* DQ_OK, or DQ_ECONFIG with the violated condition, its numbers and the
 * smallest acceptable error_buffer written to err (when errlen > 0). */
int ratelimiter_check_config(const ratelimiter_config_t *cfg, char *err, size_t errlen);
/* Checks cfg and zeroes the counters; DQ_ECONFIG as above. */
int ratelimiter_init(ratelimiter_t *rl, const ratelimiter_config_t *cfg, char *err, size_t errlen);
/* The smallest error_buffer that ratelimiter_check_config accepts for cfg's
 * ratio and batch sizes. */
double ratelimiter_min_error_buffer(const ratelimiter_config_t *cfg);

/* I * SPI - S + offset. */
double ratelimiter_diff(const ratelimiter_t *rl);
/* Items held: I - D. */
uint64_t ratelimiter_size(const ratelimiter_t *rl);

/* Whether n items may be inserted / sampled now. False for n == 0 or n above
 * max_insert_batch / max_sample_batch (the server rejects such requests up
 * front: they are not covered by the no-deadlock guarantee). */
bool ratelimiter_can_insert(const ratelimiter_t *rl, uint64_t n);
bool ratelimiter_can_sample(const ratelimiter_t *rl, uint64_t n);
/* Record n inserted / sampled items. DQ_ERANGE for n == 0 or n above the batch
 * limit, DQ_EINVAL if the limiter does not allow it now; nothing changes then. */
int ratelimiter_insert(ratelimiter_t *rl, uint64_t n);
int ratelimiter_sample(ratelimiter_t *rl, uint64_t n);
/* Record n inserted items that were stored without asking the limiter (the
 * replay server's stop grace, inserts replayed from the write-ahead log): no
 * check, so diff may end above max_diff, and inserts then wait until samples
 * bring it back. */
void ratelimiter_record_insert(ratelimiter_t *rl, uint64_t n);
/* Record n evicted items; DQ_ERANGE if more than are held. */
int ratelimiter_delete(ratelimiter_t *rl, uint64_t n);

/* Turns the limiter on or off. Turning it on after pre-filling rebases diff as
 * if the items now held had been inserted under the limiter and none sampled
 * yet, capped at the warm-up point: diff = min(size, min_size) * SPI. A table
 * pre-filled to min_size or more thus starts at the centre of the buffer, where
 * both inserts and samples may proceed. Turning it off changes nothing else. */
void ratelimiter_set_enabled(ratelimiter_t *rl, bool enabled);

#endif
