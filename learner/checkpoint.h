/* checkpoint.h - the learner's checkpoint: everything needed to resume.
 *
 * File layout, little-endian:
 *   "DQNLCKP1" (8), u32 format version, u32 qnet flags (dueling),
 *   u32 n_layers, u32 sizes[n_layers + 1], u64 n_params,
 *   u64 updates, u64 weights version, u64 adam step,
 *   f32 online[n_params], f32 target[n_params], f32 adam_m[n_params],
 *   f32 adam_v[n_params], u64 FNV-1a of every byte before it.
 * Written atomically (temporary file, fsync, rename), so a process killed while
 * writing leaves the previous checkpoint intact. Loading checks magic,
 * version, shape against the configured network, size and checksum, and
 * changes nothing unless everything is right.
 */
#ifndef DQ_LEARNER_CHECKPOINT_H
#define DQ_LEARNER_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "qnet.h"

#define LEARNER_CKPT_MAGIC "DQNLCKP1"
#define LEARNER_CKPT_VERSION 1u

typedef struct {
    uint64_t updates; /* updates applied */
    uint64_t version; /* last published weights version */
    uint64_t adam_t;  /* Adam step count */
} learner_progress_t;

/* online carries the Adam moments (m, v); target only parameters. */
int learner_ckpt_save(const char *path, const dq_qnet_t *online, const dq_qnet_t *target,
                      const learner_progress_t *prog);
/* Loads into nets already built with the configured shapes. */
int learner_ckpt_load(const char *path, dq_qnet_t *online, dq_qnet_t *target,
                      learner_progress_t *prog, char *why, size_t whylen);

#endif
