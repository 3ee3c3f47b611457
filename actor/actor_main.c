/* actor_main.c - dqnlm-actor: steps environments with an exploration
 * schedule and streams n-step transitions to the replay server, losslessly.
 *
 *   dqnlm-actor --config job.ini --id 3
 *   dqnlm-actor --set actor.exploration='ez:0.1' --set actor.envs=8 --max-steps 100000
 *
 * The work is in actor/actor.c (environments, policy, n-step assembly) and
 * actor/outbox.c (sequence numbers, acknowledgements, resends); docs/exploration.md
 * describes both.
 *
 * On SIGTERM/SIGINT (or at actor.max_steps) it stops stepping, hands over
 * what it holds and waits up to actor.drain_timeout seconds for every
 * acknowledgement. Exit status 0 when every transition it assembled was
 * acknowledged; 1 (after an ERROR naming the count) when any was not, or on
 * any other failure; 2 for a bad command line or configuration. Then it
 * writes RUN_DIR/actor-ID.status, an INI file the deploy scripts read instead
 * of the log:
 *
 *   [actor]
 *   id = 3
 *   state = stopped
 *   exit = 0                         ; this program's exit status
 *   env_steps = 20000
 *   episodes = 812
 *   transitions = 20000              ; handed over to be sent (all assembled if actor.send = false)
 *   acknowledged = 20000             ; acknowledged by the replay server
 *   stopped_at = 1712345678.123456   ; wall clock, seconds since the epoch
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "actor.h"
#include "cli.h"
#include "config.h"
#include "fileio.h"
#include "log.h"
#include "qnet.h"

/* RUN_DIR/actor-ID.status, written atomically (docs/deploy.md, "Status files"). */
static void write_status(const dq_config_t *cfg, const actor_summary_t *s, int exit_code)
{
    char path[DQ_CONFIG_STR_MAX + 32], text[512];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(path, sizeof path, "%s/actor-%ld.status", cfg->run_dir, cfg->actor_id);
    int n = snprintf(text, sizeof text,
                     "[actor]\nid = %ld\nstate = stopped\nexit = %d\nenv_steps = %" PRIu64
                     "\nepisodes = %" PRIu64 "\ntransitions = %" PRIu64 "\nacknowledged = %" PRIu64
                     "\nunacknowledged = %" PRIu64 "\nstopped_at = %lld.%06ld\n",
                     cfg->actor_id, exit_code, s->env_steps, s->episodes, s->transitions, s->acked,
                     s->unacknowledged, (long long)ts.tv_sec, ts.tv_nsec / 1000);
    if (dq_file_write_atomic(path, text, (size_t)n) < 0) DQ_WARN("cannot write %s", path);
}

int main(int argc, char **argv)
{
    static const dq_cli_alias_t aliases[] = {
        {"--id", "actor.id", "index of this actor"},
        {"--max-steps", "actor.max_steps", "env steps before exiting"},
        {"--exploration", "actor.exploration", "exploration schedule (docs/exploration.md)"},
        {NULL, NULL, NULL},
    };
    dq_cli_spec_t spec = {"dqnlm-actor",
                          "Actor: steps environments with an exploration schedule over a Q-network "
                          "and streams transitions to the replay server.",
                          aliases};
    dq_config_t cfg;
    int rc = dq_program_start(&spec, argc, argv, &cfg);
    if (rc != 0) return rc > 0 ? 0 : 2;

    char why[512] = "";
    actor_t *a = actor_new(&cfg, why, sizeof why);
    if (!a) {
        DQ_ERROR("%s", why[0] ? why : "cannot start the actor");
        return 1;
    }
    rc = actor_run(a);
    actor_summary_t summary;
    actor_summary(a, &summary);
    actor_destroy(&a);
    write_status(&cfg, &summary, rc < 0 ? 1 : 0);
    return rc < 0 ? 1 : 0;
}
