/* keygen.c - dqnlm-replay-keygen: writes a ZeroMQ CURVE key pair.
 *
 *   dqnlm-replay-keygen keys/server     # keys/server.key (secret, 0600), keys/server.pub
 *   dqnlm-replay-keygen keys/actor0
 *
 * The server uses replay.curve_secret_key = keys/server.key; clients use
 * replay.curve_public_key = keys/server.pub and replay.curve_client_key =
 * keys/actor0.key; keys/actor0.pub goes into the file replay.curve_clients
 * names.
 */
#include <stdio.h>
#include <string.h>

#include "curve.h"

int main(int argc, char **argv)
{
    if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(stderr,
                "usage: dqnlm-replay-keygen PREFIX\n"
                "Writes a CURVE key pair: PREFIX.key (secret, mode 0600) and PREFIX.pub.\n");
        return argc == 2 ? 0 : 2;
    }
    char why[512];
    if (curve_keygen(argv[1], why, sizeof why) < 0) {
        fprintf(stderr, "dqnlm-replay-keygen: %s\n", why);
        return 1;
    }
    printf("%s.key %s.pub\n", argv[1], argv[1]);
    return 0;
}
