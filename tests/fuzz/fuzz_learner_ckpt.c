/* fuzz_learner_ckpt.c - libFuzzer target: the learner checkpoint reader
 * (learner_ckpt_load) through a scratch file, into nets of the shape
 * fuzz_util.h fixes (plain or dueling, as the file's flags word says, so both
 * are parsed past the shape check), with the trailer rewritten to the right
 * checksum so mutations reach the checks behind it. A refusal must name the
 * file; a refused load must leave the nets as they were. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "err.h"
#include "fuzz_util.h"
#include "rng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    dq_qnet_t online, target;
    float *saved; /* (2 * n_params) online then target parameters at build */
} nets_t;

static void build(nets_t *n, int dueling)
{
    dq_rng_t rng;
    dq_rng_seed(&rng, 5);
    char why[256];
    if (dq_qnet_build(&n->online, FUZZ_QNET_HIDDEN, dueling, FUZZ_QNET_OBS, FUZZ_QNET_ACTIONS, &rng,
                      why, sizeof why) < 0 ||
        dq_qnet_build(&n->target, FUZZ_QNET_HIDDEN, dueling, FUZZ_QNET_OBS, FUZZ_QNET_ACTIONS, &rng,
                      why, sizeof why) < 0)
        abort();
    size_t np = n->online.n_params;
    n->saved = malloc(2 * np * sizeof(float));
    if (!n->saved) abort();
    memcpy(n->saved, n->online.params, np * sizeof(float));
    memcpy(n->saved + np, n->target.params, np * sizeof(float));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static nets_t nets[2];
    static const char *path;
    if (!path) {
        build(&nets[0], 0);
        build(&nets[1], 1);
        path = fuzz_scratch_path("learner_ckpt");
    }
    unsigned char *buf = malloc(size + 1);
    if (!buf) abort();
    memcpy(buf, data, size);
    fuzz_fix_trailer(buf, size);
    int dueling = size >= 16 && (buf[12] & 1); /* the shape block's flags word */
    fuzz_write_file(path, buf, size);
    free(buf);
    nets_t *n = &nets[dueling];
    learner_progress_t prog = {0};
    char why[512] = "";
    int rc = learner_ckpt_load(path, &n->online, &n->target, &prog, why, sizeof why);
    size_t np = n->online.n_params;
    if (rc < 0) {
        if (!strstr(why, path)) {
            fprintf(stderr, "fuzz_learner_ckpt: refusal does not name the file: '%s'\n", why);
            abort();
        }
        if (memcmp(n->saved, n->online.params, np * sizeof(float)) != 0 ||
            memcmp(n->saved + np, n->target.params, np * sizeof(float)) != 0) {
            fprintf(stderr, "fuzz_learner_ckpt: a refused load changed the nets (%s)\n", why);
            abort();
        }
        return 0;
    }
    /* Loaded: restore the nets, so the next refusal is checked against them. */
    memcpy(n->online.params, n->saved, np * sizeof(float));
    memcpy(n->target.params, n->saved + np, np * sizeof(float));
    return 0;
}
