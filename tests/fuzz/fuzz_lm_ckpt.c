/* fuzz_lm_ckpt.c - libFuzzer target: the LM checkpoint reader, the way the
 * LM environment's fine-tune mode uses it (lmenv.c load_sizes): read the
 * shape from the header (lm_checkpoint_config), build a model of that shape
 * (lm_init), load the parameters (lm_load); and lm_load into a model of the
 * seed shape (FUZZ_LM_* below), as a caller with a configured shape does. The
 * file goes through a scratch file, its trailer rewritten to the right
 * checksum so mutations reach the checks behind it. A refusal must name the
 * file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz_util.h"
#include "lm_model.h"
#include "rng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_refusal(const char *why, const char *path)
{
    if (!strstr(why, path)) {
        fprintf(stderr, "fuzz_lm_ckpt: refusal does not name the file: '%s'\n", why);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *path;
    static lm_model_t fixed;
    dq_rng_t rng;
    dq_rng_seed(&rng, 1);
    if (!path) {
        lm_config_t c = FUZZ_LM_CONFIG;
        if (lm_init(&fixed, &c, &rng) != DQ_OK) abort();
        path = fuzz_scratch_path("lm_ckpt");
    }
    unsigned char *buf = malloc(size + 1);
    if (!buf) abort();
    memcpy(buf, data, size);
    fuzz_fix_trailer(buf, size);
    fuzz_write_file(path, buf, size);
    free(buf);
    char why[512] = "";
    if (lm_load(&fixed, path, why, sizeof why) != DQ_OK) check_refusal(why, path);
    lm_config_t cc;
    why[0] = '\0';
    dq_err_t rc = lm_checkpoint_config(path, &cc, why, sizeof why);
    if (rc != DQ_OK) {
        check_refusal(why, path);
        return 0;
    }
    lm_model_t m = {0};
    rc = lm_init(&m, &cc, &rng);
    if (rc == DQ_OK) {
        why[0] = '\0';
        if (lm_load(&m, path, why, sizeof why) != DQ_OK) check_refusal(why, path);
    }
    lm_free(&m);
    return 0;
}
