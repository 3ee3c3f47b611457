/* make_qnet.c - writes a randomly initialised Q-network file (for tests of
 * programs that read one), with the description of the configuration the
 * --set options give (defaults otherwise; ctldesc.h) and the net's own
 * widths, or with none (--bare, as a file of format 2 reads).
 *
 *   make_qnet OUT OBS_DIM N_ACTIONS HIDDEN SEED [--bare] [--dueling]
 *             [--obs-version V] [--set SECTION.KEY=VALUE ...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctldesc.h"
#include "err.h"
#include "qnet.h"

static int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s OUT OBS_DIM N_ACTIONS HIDDEN SEED [--bare] [--dueling] [--obs-version V] "
            "[--set SECTION.KEY=VALUE ...]\n",
            prog);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 6) return usage(argv[0]);
    static dq_config_t cfg;
    dq_config_defaults(&cfg);
    int bare = 0, dueling = 0, obs_version = -1;
    char why[512];
    for (int i = 6; i < argc; i++) {
        if (!strcmp(argv[i], "--bare")) {
            bare = 1;
        } else if (!strcmp(argv[i], "--dueling")) {
            dueling = 1;
        } else if (!strcmp(argv[i], "--obs-version") && i + 1 < argc) {
            obs_version = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--set") && i + 1 < argc) {
            if (dq_config_set(&cfg, argv[++i], "--set", why, sizeof why) < 0) {
                fprintf(stderr, "%s\n", why);
                return 2;
            }
        } else {
            return usage(argv[0]);
        }
    }
    dq_rng_t rng;
    dq_rng_seed(&rng, strtoull(argv[5], NULL, 10));
    dq_qnet_t net;
    if (dq_qnet_build(&net, argv[4], dueling, atoi(argv[2]), atoi(argv[3]), &rng, why, sizeof why) <
        0) {
        fprintf(stderr, "%s\n", why);
        return 1;
    }
    dq_ctldesc_t d;
    char *text = NULL;
    int rc = bare ? DQ_OK : dq_ctldesc_of_config(&cfg, &d, why, sizeof why);
    if (rc == DQ_OK && !bare) {
        d.obs_dim = net.sizes[0];
        d.n_actions = dq_qnet_n_actions(&net);
        if (obs_version >= 0) d.obs_version = obs_version;
        text = dq_ctldesc_format(&d, &cfg);
        if (!text) rc = DQ_ENOMEM;
    }
    if (rc == DQ_OK) rc = dq_qnet_save_desc(&net, text, argv[1]);
    if (rc < 0) fprintf(stderr, "%s: %s\n", argv[1], bare ? dq_strerror(rc) : why);
    free(text);
    dq_qnet_free(&net);
    return rc < 0;
}
