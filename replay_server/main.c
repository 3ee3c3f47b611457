/* main.c - dqnlm-replay: the replay server program (docs/replay.md).
 *
 *   dqnlm-replay --config job.ini --set replay.endpoint=tcp://127.0.0.1:6000
 *   dqnlm-replay --capacity 1000000 --sampler prioritized \
 *                --checkpoint runs/x/replay.ckpt --restore true
 *
 * Exits 0 after SIGTERM/SIGINT (having written the final checkpoint when one
 * is configured), 1 when it cannot start (bad checkpoint or log, bind
 * failure, bad keys), when the write-ahead log fails while serving, or when
 * the final checkpoint cannot be written (an ERROR says why), 2 on a
 * configuration error. Once it has stopped serving (and saved
 * the final checkpoint) it writes RUN_DIR/replay.status, an INI file the
 * deploy scripts read instead of the log:
 *
 *   [replay]
 *   state = stopped
 *   exit = 0                         ; this program's exit status
 *   stopped_at = 1712345678.123456   ; wall clock, seconds since the epoch
 */
#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "fileio.h"
#include "log.h"
#include "server.h"

/* RUN_DIR/replay.status, written atomically (docs/deploy.md, "Status files"). */
static void write_status(const dq_config_t *cfg, int exit_code)
{
    char path[DQ_CONFIG_STR_MAX + 32], text[256];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(path, sizeof path, "%s/replay.status", cfg->run_dir);
    int n = snprintf(text, sizeof text,
                     "[replay]\nstate = stopped\nexit = %d\nstopped_at = %lld.%06ld\n", exit_code,
                     (long long)ts.tv_sec, ts.tv_nsec / 1000);
    if (dq_file_write_atomic(path, text, (size_t)n) < 0) DQ_WARN("cannot write %s", path);
}

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
    int final = replay_server_destroy(&srv); /* the final checkpoint; logged on failure */
    int code = rc < 0 || final < 0 ? 1 : 0;
    write_status(&cfg, code);
    return code;
}
