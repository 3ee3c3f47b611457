/* fuzz_qnet.c - libFuzzer target: the Q-network file reader with its
 * description (dq_ctl_load: dq_qnet_load_desc and the description's INI
 * parser, what dqnlm-eval and dqnlm-lmtrain read) through a scratch file, with the
 * trailer rewritten to the right checksum so mutations reach the checks
 * behind it. A refusal must name the file and leave the net zeroed; a net
 * that loads must run a forward pass of one row. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctldesc.h"
#include "err.h"
#include "fuzz_util.h"
#include "qnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void forward_one(const dq_qnet_t *net)
{
    dq_qnet_ws_t ws;
    if (dq_qnet_ws_init(&ws, net, 1) < 0) abort();
    float *x = calloc((size_t)net->sizes[0], sizeof(float));
    float *q = calloc((size_t)net->sizes[net->n_layers], sizeof(float));
    if (!x || !q || dq_qnet_forward(net, &ws, x, 1, q) < 0) abort();
    free(x);
    free(q);
    dq_qnet_ws_free(&ws);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *path;
    if (!path) path = fuzz_scratch_path("qnet");
    unsigned char *buf = malloc(size + 1);
    if (!buf) abort();
    memcpy(buf, data, size);
    fuzz_fix_trailer(buf, size);
    fuzz_write_file(path, buf, size);
    free(buf);
    dq_qnet_t net;
    dq_ctldesc_t desc;
    static dq_config_t trained;
    int described = 0;
    char why[512] = "";
    if (dq_ctl_load(&net, path, &desc, &trained, &described, why, sizeof why) < 0) {
        static const dq_qnet_t zero;
        if (!strstr(why, path) || memcmp(&net, &zero, sizeof net) != 0) {
            fprintf(stderr, "fuzz_qnet: bad refusal (net not zeroed or no file name): '%s'\n", why);
            abort();
        }
        return 0;
    }
    forward_one(&net);
    dq_qnet_free(&net);
    return 0;
}
