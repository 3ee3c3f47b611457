/* corpus.h - byte-level text corpora, deterministic slices and batches.
 *
 * A corpus is one or more plain-text files read into memory and cut into
 * records: lines that are exactly "%" separate records (the fortune format);
 * a record longer than CORPUS_MAX_RECORD bytes is cut into pieces at line
 * boundaries, so any plain-text file works. Tokens are bytes (vocab 256).
 *
 * A slice is the subset of records whose hash u(r) = H(seed, r) in [0,1)
 * falls in [lo, hi); the training instances use [0, 1-h) and the held-out
 * instances [1-h, 1), so they never share a record. Within a slice a second
 * hash puts a val_fraction of the records into the validation split. Each
 * split is the concatenation of its records, from which (B, T+1) windows are
 * sampled uniformly with a caller-owned dq_rng_t.
 *
 *   corpus_t *c;
 *   if (corpus_load(&c, "/usr/share/games/fortunes", why, sizeof why) < 0) ...
 *   corpus_slice_t *sl;
 *   corpus_slice_new(&sl, c, 0.0, 0.7, 0.1, seed, 33, why, sizeof why);
 *   corpus_sample(sl, CORPUS_TRAIN, &rng, B, T, windows);   // (B, T+1) bytes
 *   corpus_slice_destroy(&sl); corpus_destroy(&c);
 */
#ifndef DQ_CORPUS_H
#define DQ_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

#define CORPUS_MAX_RECORD 4096
/* A file with a NUL byte, or with more than 1 control character (other than
 * whitespace) in CORPUS_MAX_CONTROL bytes, is not text and is refused. */
#define CORPUS_MAX_CONTROL 20

typedef struct corpus corpus_t;
typedef struct corpus_slice corpus_slice_t;

typedef enum { CORPUS_TRAIN = 0, CORPUS_VAL = 1 } corpus_split_t;

/* Loads a comma-separated list of files and folders (a folder contributes its
 * regular files in name order, except hidden ones and names ending in .dat or
 * .u8; subfolders are not entered). Errors name the path: DQ_EIO for a
 * missing or unreadable path, DQ_EEMPTY for an empty file or a corpus without
 * text, DQ_EFORMAT for a file that is not text (a NUL byte, or too many
 * control characters: a binary such as /usr/bin/ls), in a folder too. */
int corpus_load(corpus_t **out, const char *paths, char *why, size_t whylen);
void corpus_destroy(corpus_t **c);

size_t corpus_records(const corpus_t *c);
size_t corpus_bytes(const corpus_t *c);
/* Record r's bytes; *len receives its length. */
const uint8_t *corpus_record(const corpus_t *c, size_t r, size_t *len);
/* The paths the corpus was loaded from, as given. */
const char *corpus_paths(const corpus_t *c);

/* The slice [lo, hi) of c (0 <= lo < hi <= 1) with a validation split of
 * val_fraction; both splits must hold at least min_len bytes (one context
 * window, T+1), else DQ_EEMPTY with a reason naming the corpus. The slice
 * copies the bytes it needs; c may be destroyed afterwards. */
int corpus_slice_new(corpus_slice_t **out, const corpus_t *c, double lo, double hi,
                     double val_fraction, uint64_t seed, size_t min_len, char *why, size_t whylen);
void corpus_slice_destroy(corpus_slice_t **s);

/* Whether record r of a corpus is in the slice / in its validation split
 * (the hashes corpus_slice_new uses; exposed for tests). */
int corpus_in_slice(uint64_t seed, size_t r, double lo, double hi);
int corpus_is_val(uint64_t seed, size_t r, double val_fraction);

/* The split's bytes (concatenated records), records and length. */
const uint8_t *corpus_split_data(const corpus_slice_t *s, corpus_split_t split, size_t *len);
size_t corpus_split_records(const corpus_slice_t *s, corpus_split_t split);

/* B windows of T+1 consecutive bytes, uniformly placed in the split, written
 * row-major to out (B, T+1). DQ_EINVAL if the split is shorter than T+1. */
int corpus_sample(const corpus_slice_t *s, corpus_split_t split, dq_rng_t *rng, int B, int T,
                  uint8_t *out);

/* Unigram entropy of the split's bytes in nats (a loss every model should
 * beat). */
double corpus_unigram_entropy(const corpus_slice_t *s, corpus_split_t split);

#endif
