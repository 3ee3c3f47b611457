/* checkpoint.c - see checkpoint.h. */
#include "checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fileio.h"

/* Header: magic, format version, the Q-network shape block (qnet.h), then
 * the progress counters (updates, weights version, Adam step). */
static size_t put_header(unsigned char *hdr, const dq_qnet_t *online,
                         const learner_progress_t *prog)
{
    memcpy(hdr, LEARNER_CKPT_MAGIC, 8);
    dq_put_le32(hdr + 8, LEARNER_CKPT_VERSION);
    size_t h = 12 + dq_qnet_shape_put(online, hdr + 12);
    dq_put_le64(hdr + h, prog->updates);
    dq_put_le64(hdr + h + 8, prog->version);
    dq_put_le64(hdr + h + 16, prog->adam_t);
    return h + 24;
}

int learner_ckpt_save(const char *path, const dq_qnet_t *online, const dq_qnet_t *target,
                      const learner_progress_t *prog)
{
    unsigned char hdr[12 + DQ_QNET_SHAPE_MAX_BYTES + 24];
    size_t h = put_header(hdr, online, prog);
    dq_atomic_file_t af;
    int rc = dq_atomic_open(&af, path);
    if (rc < 0) return rc;
    size_t n = online->n_params;
    rc = dq_atomic_write(&af, hdr, h);
    if (rc == DQ_OK) rc = dq_atomic_write_floats(&af, online->params, n);
    if (rc == DQ_OK) rc = dq_atomic_write_floats(&af, target->params, n);
    if (rc == DQ_OK) rc = dq_atomic_write_floats(&af, online->m, n);
    if (rc == DQ_OK) rc = dq_atomic_write_floats(&af, online->v, n);
    if (rc < 0) {
        dq_atomic_abort(&af);
        return rc;
    }
    return dq_atomic_commit_hashed(&af);
}

/* Checks magic, version, the shape against online's, length and checksum of
 * a checkpoint's len bytes; on success *hdr is the header length. */
static int check_ckpt(const unsigned char *p, size_t len, const char *path, const dq_qnet_t *online,
                      size_t *hdr, char *why, size_t whylen)
{
    if (len < 20 || memcmp(p, LEARNER_CKPT_MAGIC, 8) != 0) {
        snprintf(why, whylen, "%s: not a learner checkpoint (bad magic or truncated)", path);
        return DQ_EFORMAT;
    }
    if (dq_get_le32(p + 8) != LEARNER_CKPT_VERSION) {
        snprintf(why, whylen, "%s: unsupported checkpoint version %u (this build reads %u)", path,
                 (unsigned)dq_get_le32(p + 8), LEARNER_CKPT_VERSION);
        return DQ_EFORMAT;
    }
    dq_qnet_shape_t s;
    int rc = dq_qnet_shape_get(p + 12, len - 12, path, &s, why, whylen);
    if (rc < 0) return rc;
    if (!dq_qnet_shape_matches(online, &s)) {
        snprintf(why, whylen,
                 "%s: the checkpoint's Q-network shape differs from the configured one "
                 "(dqn.hidden, dqn.dueling, environment)",
                 path);
        return DQ_ESHAPE;
    }
    *hdr = 12 + s.bytes + 24;
    size_t total = *hdr + 16 * online->n_params + 8;
    if (len != total) {
        snprintf(why, whylen, "%s: %zu bytes, expected %zu (truncated or padded)", path, len,
                 total);
        return DQ_EFORMAT;
    }
    if (dq_get_le64(p + total - 8) != dq_fnv1a64(p, total - 8, DQ_FNV1A64_INIT)) {
        snprintf(why, whylen, "%s: checksum mismatch", path);
        return DQ_ECHECKSUM;
    }
    return DQ_OK;
}

int learner_ckpt_load(const char *path, dq_qnet_t *online, dq_qnet_t *target,
                      learner_progress_t *prog, char *why, size_t whylen)
{
    void *data = NULL;
    size_t len = 0, n = online->n_params;
    size_t max_hdr = 12 + DQ_QNET_SHAPE_MAX_BYTES + 24;
    int rc = dq_file_read_all(path, max_hdr + 16 * n + 8 + 1, &data, &len, why, whylen);
    if (rc == DQ_ETOOBIG) {
        snprintf(why, whylen, "%s: larger than a checkpoint of the configured network", path);
        return DQ_EFORMAT;
    }
    if (rc < 0) return rc;
    const unsigned char *p = data;
    size_t hdr = 0;
    rc = check_ckpt(p, len, path, online, &hdr, why, whylen);
    if (rc == DQ_OK) {
        prog->updates = dq_get_le64(p + hdr - 24);
        prog->version = dq_get_le64(p + hdr - 16);
        prog->adam_t = dq_get_le64(p + hdr - 8);
        dq_get_floats(online->params, p + hdr, n);
        dq_get_floats(target->params, p + hdr + 4 * n, n);
        dq_get_floats(online->m, p + hdr + 8 * n, n);
        dq_get_floats(online->v, p + hdr + 12 * n, n);
    }
    free(data);
    return rc;
}
