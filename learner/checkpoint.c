/* checkpoint.c - see checkpoint.h. */
#include "checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fileio.h"

static size_t header_bytes(int n_layers)
{
    return 8 + 4 + 4 + 4 + 4 * ((size_t)n_layers + 1) + 8 + 3 * 8;
}

int learner_ckpt_save(const char *path, const dq_qnet_t *online, const dq_qnet_t *target,
                      const learner_progress_t *prog)
{
    unsigned char hdr[8 + 4 + 4 + 4 + 4 * (DQ_QNET_MAX_LAYERS + 1) + 8 + 3 * 8];
    size_t h = 8;
    memcpy(hdr, LEARNER_CKPT_MAGIC, 8);
    dq_put_le32(hdr + h, LEARNER_CKPT_VERSION), h += 4;
    dq_put_le32(hdr + h, online->dueling ? DQ_QNET_FLAG_DUELING : 0u), h += 4;
    dq_put_le32(hdr + h, (uint32_t)online->n_layers), h += 4;
    for (int l = 0; l <= online->n_layers; l++)
        dq_put_le32(hdr + h, (uint32_t)online->sizes[l]), h += 4;
    dq_put_le64(hdr + h, online->n_params), h += 8;
    dq_put_le64(hdr + h, prog->updates), h += 8;
    dq_put_le64(hdr + h, prog->version), h += 8;
    dq_put_le64(hdr + h, prog->adam_t), h += 8;

    dq_atomic_file_t af;
    int rc = dq_atomic_open(&af, path);
    if (rc < 0) return rc;
    size_t n = online->n_params;
    rc = dq_atomic_write(&af, hdr, h);
    if (rc == DQ_OK) rc = dq_atomic_write_floats(&af, online->params, n);
    if (rc == DQ_OK) rc = dq_atomic_write_floats(&af, target->params, n);
    if (rc == DQ_OK) rc = dq_atomic_write_floats(&af, online->m, n);
    if (rc == DQ_OK) rc = dq_atomic_write_floats(&af, online->v, n);
    if (rc == DQ_OK) {
        unsigned char sum[8];
        dq_put_le64(sum, af.hash);
        rc = dq_atomic_write(&af, sum, 8);
    }
    if (rc < 0) {
        dq_atomic_abort(&af);
        return rc;
    }
    return dq_atomic_commit(&af);
}

int learner_ckpt_load(const char *path, dq_qnet_t *online, dq_qnet_t *target,
                      learner_progress_t *prog, char *why, size_t whylen)
{
    void *data = NULL;
    size_t len = 0;
    size_t n = online->n_params;
    size_t hdr = header_bytes(online->n_layers), total = hdr + 16 * n + 8;
    int rc = dq_file_read_all(path, total + 1, &data, &len, why, whylen);
    if (rc == DQ_ETOOBIG) {
        snprintf(why, whylen, "%s: larger than a checkpoint of the configured network", path);
        return DQ_EFORMAT;
    }
    if (rc < 0) return rc;
    const unsigned char *p = data;
    rc = DQ_EFORMAT;
    if (len < 20 || memcmp(p, LEARNER_CKPT_MAGIC, 8) != 0) {
        snprintf(why, whylen, "%s: not a learner checkpoint (bad magic or truncated)", path);
        goto done;
    }
    if (dq_get_le32(p + 8) != LEARNER_CKPT_VERSION) {
        snprintf(why, whylen, "%s: unsupported checkpoint version %u (this build reads %u)", path,
                 (unsigned)dq_get_le32(p + 8), LEARNER_CKPT_VERSION);
        goto done;
    }
    int same = dq_get_le32(p + 12) == (online->dueling ? DQ_QNET_FLAG_DUELING : 0u) &&
               dq_get_le32(p + 16) == (uint32_t)online->n_layers && len >= hdr;
    for (int l = 0; same && l <= online->n_layers; l++)
        same = dq_get_le32(p + 20 + 4 * l) == (uint32_t)online->sizes[l];
    if (same) same = dq_get_le64(p + 20 + 4 * (online->n_layers + 1)) == n;
    if (!same) {
        snprintf(why, whylen,
                 "%s: the checkpoint's Q-network shape differs from the configured one "
                 "(dqn.hidden, dqn.dueling, environment)",
                 path);
        rc = DQ_ESHAPE;
        goto done;
    }
    if (len != total) {
        snprintf(why, whylen, "%s: %zu bytes, expected %zu (truncated or padded)", path, len,
                 total);
        goto done;
    }
    if (dq_get_le64(p + total - 8) != dq_fnv1a64(p, total - 8, DQ_FNV1A64_INIT)) {
        snprintf(why, whylen, "%s: checksum mismatch", path);
        rc = DQ_ECHECKSUM;
        goto done;
    }
    size_t off = hdr - 24;
    prog->updates = dq_get_le64(p + off);
    prog->version = dq_get_le64(p + off + 8);
    prog->adam_t = dq_get_le64(p + off + 16);
    dq_get_floats(online->params, p + hdr, n);
    dq_get_floats(target->params, p + hdr + 4 * n, n);
    dq_get_floats(online->m, p + hdr + 8 * n, n);
    dq_get_floats(online->v, p + hdr + 12 * n, n);
    rc = DQ_OK;
done:
    free(data);
    return rc;
}
