/* actor_main.c - dqnlm-actor: steps environments with an exploration
 * schedule and streams n-step transitions to the replay server, losslessly.
 *
 *   dqnlm-actor --config job.ini --id 3
 *   dqnlm-actor --set actor.exploration='ez:0.1' --set actor.envs=8 --max-steps 100000
 *
 * The work is in actor/actor.c (environments, policy, n-step assembly) and
 * actor/outbox.c (sequence numbers, acknowledgements, resends); docs/exploration.md
 * describes both.
 */
#include <stdio.h>

#include "actor.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "qnet.h"

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
    actor_destroy(&a);
    return rc < 0 ? 1 : 0;
}
