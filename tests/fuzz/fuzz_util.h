/* fuzz_util.h - what the libFuzzer targets of tests/fuzz share: a scratch
 * file for readers that take a path, the checksum fix-up that lets mutated
 * inputs get past a format's trailer, and the fixed configurations the
 * targets and the seed generator (gen_corpus.c) agree on.
 *
 *   const char *path = fuzz_scratch_path("qnet");   // once per process
 *   fuzz_write_file(path, data, len);                // every input
 *   dq_qnet_load(&net, path, why, sizeof why);       // the production reader
 */
#ifndef DQ_FUZZ_UTIL_H
#define DQ_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* A file name private to this process under $TMPDIR, else /dev/shm (tmpfs:
 * no disk traffic per input), else /tmp; removed at exit. */
const char *fuzz_scratch_path(const char *target);
/* Writes len bytes to path (truncating); aborts on an I/O error, which is a
 * broken harness, not a finding. */
void fuzz_write_file(const char *path, const void *data, size_t len);
/* Overwrites the last 8 bytes of buf with the FNV-1a 64 of the bytes before
 * them (little-endian, the trailer of every checksummed dqnlm file), so a
 * mutation is judged by the checks after the checksum too. No-op if len < 8. */
void fuzz_fix_trailer(unsigned char *buf, size_t len);

/* The replay-server configuration the replay checkpoint target loads with,
 * and the seed generator saves with: capacity FUZZ_REPLAY_CAPACITY, rate
 * limiter on, at most FUZZ_REPLAY_MAX_ACTORS actors, the given sampler. */
#define FUZZ_REPLAY_CAPACITY 16
#define FUZZ_REPLAY_MAX_ACTORS 64
void fuzz_replay_config(dq_config_t *cfg, int prioritized);

/* The Q-network shape of the learner checkpoint target: obs 4, hidden 8,
 * 3 actions (dueling: one more output). */
#define FUZZ_QNET_HIDDEN "8"
#define FUZZ_QNET_OBS 4
#define FUZZ_QNET_ACTIONS 3

/* The LM shape of the fixed model of the LM checkpoint target and its seeds
 * (an lm_config_t initialiser). */
#define FUZZ_LM_CONFIG                                                                   \
    {                                                                                    \
        .vocab = 8, .max_seq = 4, .channels = 8, .layers = 1, .heads = 2, .max_batch = 1 \
    }

#endif
