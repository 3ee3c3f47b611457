/* lmtrain.c - dqnlm-lmtrain: train one language model without any RL.
 *
 * Runs one episode of the LM environment under a baseline LR schedule
 * (lm.schedule) or a fixed action sequence (lm.action_seq), in the same code
 * path the agent uses, and writes the loss curve as CSV
 *   step,lr,train_loss,val_loss,val_bpb
 * (one row per env step, step = optimizer steps so far) with progress on
 * stderr. Ctrl-C stops after the current env step and keeps the CSV (exit
 * 130); a run that diverged exits 3, configuration errors 2.
 *
 *   dqnlm-lmtrain --schedule cosine:warmup=0.05 --lr 3e-3 --steps 64 --out curve.csv
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "lmenv.h"
#include "log.h"
#include "schedule.h"

#define MAX_SEQ 4096

static int parse_seq(const char *s, int n_actions, int *out, int *n)
{
    return dq_parse_int_range_list(s, 0, n_actions - 1, out, MAX_SEQ, n);
}

int main(int argc, char **argv)
{
    static const dq_cli_alias_t aliases[] = {
        {"--schedule", "lm.schedule",
         "baseline LR schedule (constant, cosine:..., step:..., invsqrt:..., plateau:...)"},
        {"--actions", "lm.action_seq",
         "fixed action indices instead, e.g. 2,2,4,1 (last repeated)"},
        {"--lr", "lm.lr", "initial learning rate (0 = sample from the instance distribution)"},
        {"--size", "lm.sizes", "model size LAYERSxWIDTHxHEADSxCONTEXT"},
        {"--batch", "lm.batch_sizes", "batch size"},
        {"--steps", "lm.episode_steps", "environment steps (each lm.opt_steps AdamW steps)"},
        {"--instances", "lm.instances", "instance set: train or heldout"},
        {"--seed", "run.seed", "seed of the instance stream"},
        {"--out", "lm.curve", "CSV path for the loss curve"},
        {"--save", "lm.save", "write the trained LM checkpoint here"},
        {NULL, NULL, NULL}};
    dq_cli_spec_t spec = {"dqnlm-lmtrain",
                          "Trains one byte-level LM under a baseline LR schedule or a fixed "
                          "action sequence and writes its loss curve (CSV).",
                          aliases};
    static dq_config_t cfg;
    int rc = dq_program_start(&spec, argc, argv, &cfg);
    if (rc != 0) return rc > 0 ? 0 : 2;

    char why[1024];
    lm_schedule_t sched;
    if (schedule_parse(&sched, cfg.lm_schedule, why, sizeof why) < 0) {
        fprintf(stderr, "dqnlm-lmtrain: lm.schedule: %s\n", why);
        return 2;
    }
    dq_env_t env;
    if ((rc = lmenv_init(&env, &cfg, cfg.lm_instances, (uint64_t)cfg.run_seed, why, sizeof why)) <
        0) {
        fprintf(stderr, "dqnlm-lmtrain: %s\n", why);
        return 2;
    }
    static int seq[MAX_SEQ];
    int n_seq = 0, unit = -1;
    double mults[16];
    int n_mults;
    lmenv_parse_actions(cfg.lm_actions, mults, 16, &n_mults);
    for (int i = 0; i < n_mults; i++)
        if (mults[i] == 1.0 && unit < 0) unit = i;
    if (parse_seq(cfg.lm_action_seq, env.n_actions, seq, &n_seq) < 0) {
        fprintf(stderr, "dqnlm-lmtrain: lm.action_seq = '%s': expected action indices in [0, %d)\n",
                cfg.lm_action_seq, env.n_actions);
        dq_env_close(&env);
        return 2;
    }
    if (n_seq == 0 && unit < 0) {
        fprintf(stderr, "dqnlm-lmtrain: lm.actions has no multiplier 1; give lm.action_seq\n");
        dq_env_close(&env);
        return 2;
    }
    lmenv_set_schedule(&env, &sched);

    char path[1024];
    if (cfg.lm_curve[0]) {
        snprintf(path, sizeof path, "%s", cfg.lm_curve);
    } else {
        if (dq_mkdir_p(cfg.run_dir) < 0) {
            fprintf(stderr, "dqnlm-lmtrain: cannot create run folder '%s'\n", cfg.run_dir);
            dq_env_close(&env);
            return 1;
        }
        snprintf(path, sizeof path, "%s/lmtrain.csv", cfg.run_dir);
    }
    FILE *csv = fopen(path, "w");
    if (!csv) {
        fprintf(stderr, "dqnlm-lmtrain: cannot write '%s'\n", path);
        dq_env_close(&env);
        return 1;
    }

    float obs[LMENV_OBS_DIM];
    if ((rc = env.ops->reset(env.self, obs)) < 0) {
        fprintf(stderr, "dqnlm-lmtrain: reset: %s\n", dq_strerror(rc));
        fclose(csv);
        dq_env_close(&env);
        return 1;
    }
    lmenv_info_t info;
    lmenv_get_info(&env, &info);
    char sched_s[128];
    schedule_format(&sched, sched_s, sizeof sched_s);
    DQ_INFO("instance %llu (%s): %d layers, width %d, %d heads, context %d, batch %d, %zu "
            "parameters, lr %.3g, %s; %ld env steps x %ld AdamW steps",
            (unsigned long long)info.instance_seed, cfg.lm_instances, info.layers, info.channels,
            info.heads, info.context, info.batch, info.num_params, info.lr_init,
            n_seq ? "fixed action sequence" : sched_s, cfg.lm_episode_steps, cfg.lm_opt_steps);
    fprintf(csv, "step,lr,train_loss,val_loss,val_bpb\n");
    fprintf(csv, "0,%.6g,%.6f,%.6f,%.6f\n", info.lr, info.val_loss, info.val_loss,
            info.val_loss / M_LN2);

    double t0 = dq_now(), last_print = t0;
    int steps = 0, interrupted = 0;
    dq_step_t st = {0};
    for (;;) {
        if (dq_cli_stop_requested()) {
            interrupted = 1;
            break;
        }
        int a = n_seq ? seq[steps < n_seq ? steps : n_seq - 1] : unit;
        if ((rc = env.ops->step(env.self, a, obs, &st)) < 0) {
            fprintf(stderr, "dqnlm-lmtrain: step: %s\n", dq_strerror(rc));
            break;
        }
        steps++;
        lmenv_get_info(&env, &info);
        fprintf(csv, "%ld,%.6g,%.6f,%.6f,%.6f\n", info.opt_steps, info.lr, info.train_loss,
                info.val_loss, info.val_loss / M_LN2);
        double now = dq_now();
        if (now - last_print > 2.0 || st.terminated || st.truncated) {
            fprintf(stderr,
                    "dqnlm-lmtrain: step %ld/%ld  lr %.3g  train %.4f  val %.4f nats "
                    "(%.4f bits/byte)  %.1f env steps/s\n",
                    info.opt_steps, cfg.lm_episode_steps * cfg.lm_opt_steps, info.lr,
                    info.train_loss, info.val_loss, info.val_loss / M_LN2, steps / (now - t0));
            last_print = now;
        }
        if (st.terminated || st.truncated) break;
    }
    fclose(csv);
    double secs = dq_now() - t0;
    if (info.diverged)
        DQ_WARN("training diverged at step %ld (lr %.3g); curve in %s", info.opt_steps, info.lr,
                path);
    else
        DQ_INFO("%s after %ld AdamW steps: val loss %.4f nats/byte = %.4f bits/byte (from %.4f); "
                "%.2f env steps/s; curve in %s",
                interrupted ? "stopped" : "done", info.opt_steps, info.val_loss,
                info.val_loss / M_LN2, info.val_loss0, steps / (secs > 0 ? secs : 1), path);
    if (cfg.lm_save[0] && rc >= 0) {
        if (lmenv_save_model(&env, cfg.lm_save, why, sizeof why) < 0) {
            fprintf(stderr, "dqnlm-lmtrain: saving '%s': %s\n", cfg.lm_save, why);
            rc = -1;
        } else {
            DQ_INFO("LM checkpoint written to %s", cfg.lm_save);
        }
    }
    dq_env_close(&env);
    if (interrupted) return 130;
    if (rc < 0) return 1;
    return info.diverged ? 3 : 0;
}
