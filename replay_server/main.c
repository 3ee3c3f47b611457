/* main.c - dqnlm-replay: the replay server program (docs/replay.md).
 *
 *   dqnlm-replay --config job.ini --set replay.endpoint=tcp://127.0.0.1:6000
 *   dqnlm-replay --capacity 1000000 --sampler prioritized \
 *                --checkpoint runs/x/replay.ckpt --restore true
 *
 * Exits 0 after SIGTERM/SIGINT (having written the final checkpoint when one
 * is configured), 1 when it cannot start (bad checkpoint, bind failure, bad
 * keys), 2 on a configuration error.
 */
#include <stdio.h>

#include "cli.h"
#include "config.h"
#include "log.h"
#include "server.h"

int main(int argc, char **argv)
{
    static const dq_cli_alias_t aliases[] = {
        {"--endpoint", "replay.endpoint", "ZeroMQ endpoint to bind"},
        {"--capacity", "replay.capacity", "transitions held"},
        {"--sampler", "replay.sampler", "uniform or prioritized"},
        {"--checkpoint", "replay.checkpoint", "checkpoint file"},
        {"--restore", "replay.restore", "restore from the checkpoint at start (true/false)"},
        {NULL, NULL, NULL},
    };
    dq_cli_spec_t spec = {"dqnlm-replay",
                          "Replay server: stores transitions from actors and serves samples "
                          "to learners over ZeroMQ.",
                          aliases};
    dq_config_t cfg;
    int rc = dq_cli_parse(&spec, argc, argv, &cfg);
    if (rc != 0) return rc > 0 ? 0 : 2;
    dq_cli_install_stop_handlers();

    char why[512];
    replay_server_t *srv = replay_server_new(&cfg, why, sizeof why);
    if (!srv) {
        DQ_ERROR("%s", why);
        return 1;
    }
    rc = replay_server_run(srv);
    replay_server_destroy(&srv);
    return rc < 0 ? 1 : 0;
}
