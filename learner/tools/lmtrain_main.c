/* lmtrain_main.c - dqnlm-lmtrain: train one language model, without RL or
 * under a trained controller.
 *
 * Runs one episode of the LM environment in the same code path the agent
 * uses, driven by one of
 *   - a baseline LR schedule (lm.schedule; the default, constant),
 *   - a fixed action sequence (lm.action_seq),
 *   - a trained controller (--qnet FILE: argmax Q at every decision; the
 *     configuration it was trained with applies unless --config is given),
 * and writes the loss curve as CSV
 *   step,lr,action,train_loss,val_loss,val_bpb,q
 * (one row per decision, step = optimizer steps so far; action and q are the
 * choice made there, -1 and nan at the end) with progress on stderr.
 * --instance SEED reproduces an evaluation instance (instance_seed in
 * dqnlm-eval's episodes.csv; --instance-set heldout for held-out ones).
 * Ctrl-C stops after the current decision and keeps the CSV (exit 130); a run
 * that diverged exits 3, configuration errors 2.
 *
 *   dqnlm-lmtrain --schedule cosine:warmup=0.05 --lr 3e-3 --curve curve.csv
 *   dqnlm-lmtrain --qnet RUN/qnet.bin --instance-set heldout --instance 3855295499
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctl_open.h"
#include "err.h"
#include "explore.h"
#include "lmenv.h"
#include "log.h"
#include "qnet.h"
#include "schedule.h"

#define MAX_SEQ 4096

/* What drives the run: a schedule with the x1 action, a fixed sequence, or a
 * controller. */
typedef struct {
    lm_schedule_t sched;
    int seq[MAX_SEQ], n_seq;
    int unit; /* index of the x1 action, -1 if none */
    dq_qnet_t net;
    dq_qnet_ws_t ws;
    int controller;
} driver_t;

static int load_controller(driver_t *d)
{
    d->controller = 1;
    return dq_qnet_ws_init(&d->ws, &d->net, 1);
}

static int setup_driver(driver_t *d, const dq_config_t *cfg, int n_actions)
{
    char why[512];
    if (schedule_parse(&d->sched, cfg->lm_schedule, why, sizeof why) < 0) {
        fprintf(stderr, "dqnlm-lmtrain: lm.schedule: %s\n", why);
        return DQ_ECONFIG;
    }
    double mults[LMENV_MAX_LIST];
    int n_mults = 0;
    d->unit = -1;
    lmenv_parse_actions(cfg->lm_actions, mults, LMENV_MAX_LIST, &n_mults);
    for (int i = 0; i < n_mults; i++)
        if (mults[i] == 1.0 && d->unit < 0) d->unit = i;
    if (dq_parse_int_range_list(cfg->lm_action_seq, 0, n_actions - 1, d->seq, MAX_SEQ, &d->n_seq) <
        0) {
        fprintf(stderr, "dqnlm-lmtrain: lm.action_seq = '%s': expected action indices in [0, %d)\n",
                cfg->lm_action_seq, n_actions);
        return DQ_ECONFIG;
    }
    if (cfg->eval_qnet[0]) return load_controller(d);
    if (d->n_seq == 0 && d->unit < 0) {
        fprintf(stderr, "dqnlm-lmtrain: lm.actions has no multiplier 1; give lm.action_seq\n");
        return DQ_ECONFIG;
    }
    return DQ_OK;
}

/* The action at decision t, and the controller's Q of it (NAN otherwise). */
static int choose(driver_t *d, const float *obs, int n_actions, int t, float *qa)
{
    *qa = NAN;
    if (d->controller) {
        float q[64];
        dq_qnet_forward(&d->net, &d->ws, obs, 1, q);
        int a = dq_argmax(q, n_actions);
        *qa = q[a];
        char line[64 * 12] = "";
        for (int k = 0, len = 0; k < n_actions && len < (int)sizeof line - 12; k++)
            len += snprintf(line + len, sizeof line - (size_t)len, " %.4f", (double)q[k]);
        DQ_INFO("decision %d: Q =%s -> action %d", t, line, a);
        return a;
    }
    if (d->n_seq) return d->seq[t < d->n_seq ? t : d->n_seq - 1];
    return d->unit;
}

static FILE *open_curve(const dq_config_t *cfg, char *path, size_t len)
{
    if (cfg->lm_curve[0]) {
        snprintf(path, len, "%s", cfg->lm_curve);
    } else {
        if (dq_mkdir_p(cfg->run_dir) < 0) {
            fprintf(stderr, "dqnlm-lmtrain: cannot create run folder '%s'\n", cfg->run_dir);
            return NULL;
        }
        snprintf(path, len, "%s/lmtrain.csv", cfg->run_dir);
    }
    FILE *csv = fopen(path, "w");
    if (!csv) fprintf(stderr, "dqnlm-lmtrain: cannot write '%s'\n", path);
    return csv;
}

static void row(FILE *csv, const lmenv_info_t *info, double lr, int action, float q)
{
    fprintf(csv, "%ld,%.6g,%d,%.6f,%.6f,%.6f,%.6g\n", info->opt_steps, lr, action, info->train_loss,
            info->val_loss, info->val_loss / M_LN2, (double)q);
}

static void describe(const dq_config_t *cfg, const driver_t *d, const lmenv_info_t *info)
{
    char how[DQ_CONFIG_STR_MAX + 16];
    if (d->controller)
        snprintf(how, sizeof how, "controller %s", cfg->eval_qnet);
    else if (d->n_seq)
        snprintf(how, sizeof how, "fixed action sequence");
    else
        schedule_format(&d->sched, how, sizeof how);
    DQ_INFO("instance %llu (%s): %d layers, width %d, %d heads, context %d, batch %d, %zu "
            "parameters, lr %.3g, %s; %ld decisions x %ld AdamW steps",
            (unsigned long long)info->instance_seed, cfg->lm_instance_set, info->layers,
            info->channels, info->heads, info->context, info->batch, info->num_params,
            info->lr_init, how, cfg->lm_episode_steps, cfg->lm_opt_steps);
}

/* The decision loop: writes one CSV row per decision; 1 if interrupted. */
static int train(const dq_config_t *cfg, dq_env_t *env, driver_t *d, FILE *csv, float *obs,
                 lmenv_info_t *info, int *rc)
{
    double t0 = dq_now(), last_print = t0;
    double lr = info->lr_init;
    for (int t = 0;; t++) {
        float q;
        int a = choose(d, obs, env->n_actions, t, &q);
        row(csv, info, lr, a, q);
        if (dq_cli_stop_requested()) return 1;
        dq_step_t st;
        if ((*rc = env->ops->step(env->self, a, obs, &st)) < 0) {
            fprintf(stderr, "dqnlm-lmtrain: step: %s\n", dq_strerror(*rc));
            return 0;
        }
        lmenv_get_info(env, info);
        lr = info->lr;
        double now = dq_now();
        int end = st.terminated || st.truncated;
        if (now - last_print > 2.0 || end) {
            fprintf(stderr,
                    "dqnlm-lmtrain: step %ld/%ld  lr %.3g  train %.4f  val %.4f bits/byte  "
                    "%.2f decisions/s\n",
                    info->opt_steps, cfg->lm_episode_steps * cfg->lm_opt_steps, info->lr,
                    info->train_loss / M_LN2, info->val_loss / M_LN2, (t + 1) / (now - t0));
            last_print = now;
        }
        if (end) {
            row(csv, info, lr, -1, NAN);
            return 0;
        }
    }
}

static int finish(const dq_config_t *cfg, dq_env_t *env, const lmenv_info_t *info, const char *path,
                  int interrupted, int rc)
{
    if (info->diverged)
        DQ_WARN("training diverged at step %ld (lr %.3g); curve in %s", info->opt_steps, info->lr,
                path);
    else
        DQ_INFO("%s after %ld AdamW steps: validation %.4f bits/byte (from %.4f); curve in %s",
                interrupted ? "stopped" : "done", info->opt_steps, info->val_loss / M_LN2,
                info->val_loss0 / M_LN2, path);
    if (cfg->lm_save[0] && rc >= 0) {
        char why[512];
        if (lmenv_save_model(env, cfg->lm_save, why, sizeof why) < 0) {
            fprintf(stderr, "dqnlm-lmtrain: saving '%s': %s\n", cfg->lm_save, why);
            return 1;
        }
        DQ_INFO("LM checkpoint written to %s", cfg->lm_save);
    }
    if (interrupted) return 130;
    if (rc < 0) return 1;
    return info->diverged ? 3 : 0;
}

static int run(const dq_config_t *cfg, dq_env_t *env, driver_t *d)
{
    char path[1024];
    FILE *csv = open_curve(cfg, path, sizeof path);
    if (!csv) return 1;
    float obs[LMENV_OBS_DIM];
    int rc = env->ops->reset(env->self, obs);
    if (rc < 0) {
        fprintf(stderr, "dqnlm-lmtrain: reset: %s\n", dq_strerror(rc));
        fclose(csv);
        return 1;
    }
    lmenv_info_t info;
    lmenv_get_info(env, &info);
    describe(cfg, d, &info);
    fprintf(csv, "step,lr,action,train_loss,val_loss,val_bpb,q\n");
    int interrupted = train(cfg, env, d, csv, obs, &info, &rc);
    fclose(csv);
    return finish(cfg, env, &info, path, interrupted, rc);
}

int main(int argc, char **argv)
{
    static const dq_cli_alias_t aliases[] = {
        {"--schedule", "lm.schedule",
         "baseline LR schedule (constant, cosine:..., step:..., invsqrt:..., plateau:...)"},
        {"--actions", "lm.action_seq",
         "fixed action indices instead, e.g. 2,2,4,1 (last repeated)"},
        {"--qnet", "eval.qnet", "a trained controller chooses the actions instead (FILE)"},
        {"--lr", "lm.lr", "initial learning rate (0 = sample from the instance distribution)"},
        {"--size", "lm.sizes", "model size LAYERSxWIDTHxHEADSxCONTEXT"},
        {"--batch", "lm.batch_sizes", "batch size"},
        {"--steps", "lm.episode_steps", "decisions (each lm.opt_steps AdamW steps)"},
        {"--instance-set", "lm.instance_set", "instance set: train or heldout"},
        {"--instance", "lm.instance_seed",
         "reproduce this instance seed (dqnlm-eval's episodes.csv)"},
        {"--seed", "run.seed", "seed of the instance stream"},
        {"--curve", "lm.curve", "CSV path for the loss curve"},
        {"--save", "lm.save", "write the trained LM checkpoint here"},
        {NULL, NULL, NULL}};
    dq_cli_spec_t spec = {"dqnlm-lmtrain",
                          "Trains one byte-level LM under a baseline LR schedule, a fixed action "
                          "sequence or a trained controller and writes its loss curve (CSV).",
                          aliases};
    static dq_config_t cfg;
    int rc = dq_program_start(&spec, argc, argv, &cfg);
    if (rc != 0) return rc > 0 ? 0 : 2;

    char why[1024];
    static driver_t d;
    if (cfg.eval_qnet[0] && tools_open_controller(&spec, argc, argv, &cfg, cfg.eval_qnet, &d.net,
                                                  why, sizeof why) < 0) {
        fprintf(stderr, "dqnlm-lmtrain: --qnet: %s\n", why);
        return 2;
    }
    dq_env_t env;
    if (lmenv_init(&env, &cfg, cfg.lm_instance_set, (uint64_t)cfg.run_seed, why, sizeof why) < 0) {
        fprintf(stderr, "dqnlm-lmtrain: %s\n", why);
        dq_qnet_free(&d.net);
        return 2;
    }
    DQ_INFO("%s", lmenv_describe_corpus(&env));
    rc = setup_driver(&d, &cfg, env.n_actions);
    if (rc == DQ_OK && cfg.lm_instance_seed >= 0)
        lmenv_set_instance_seed(&env, (uint64_t)cfg.lm_instance_seed);
    if (rc == DQ_OK && !d.controller && !d.n_seq) lmenv_set_schedule(&env, &d.sched);
    int code = rc == DQ_OK ? run(&cfg, &env, &d) : 2;
    dq_qnet_ws_free(&d.ws);
    dq_qnet_free(&d.net);
    dq_env_close(&env);
    return code;
}
