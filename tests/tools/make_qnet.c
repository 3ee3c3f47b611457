/* make_qnet.c - writes a randomly initialised Q-network file (for tests of
 * programs that read one).
 *
 *   make_qnet OUT OBS_DIM N_ACTIONS HIDDEN SEED
 */
#include <stdio.h>
#include <stdlib.h>

#include "qnet.h"

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s OUT OBS_DIM N_ACTIONS HIDDEN SEED\n", argv[0]);
        return 2;
    }
    dq_rng_t rng;
    dq_rng_seed(&rng, strtoull(argv[5], NULL, 10));
    dq_qnet_t net;
    char why[256];
    if (dq_qnet_build(&net, argv[4], 0, atoi(argv[2]), atoi(argv[3]), &rng, why, sizeof why) < 0) {
        fprintf(stderr, "%s\n", why);
        return 1;
    }
    int rc = dq_qnet_save(&net, argv[1]);
    dq_qnet_free(&net);
    return rc < 0;
}
