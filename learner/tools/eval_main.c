/* eval_main.c - dqnlm-eval: does the learned controller train language models
 * better than the schedules people already use?
 *
 *   dqnlm-eval --qnet RUN_DIR/qnet.bin     # with the configuration it was trained with
 *   dqnlm-eval --config RUN_DIR/config.ini            # reads RUN_DIR/qnet.bin
 *
 * 1. Tuning: every baseline schedule (eval.baselines) runs on eval.tune_instances
 *    training instances at every LR of eval.lr_grid; its best LR is the one with
 *    the lowest mean final validation bits per byte. The cost (training runs)
 *    is logged.
 * 2. Evaluation: on eval.instances instances of eval.set (held-out sizes and
 *    seeds, or fresh seeds of the training sizes; the same instance seeds,
 *    hence the same model, data and initial LR for every method) run
 *      - the greedy controller (argmax Q every decision) from the instance's LR,
 *      - every baseline at the instance's initial LR,
 *      - every baseline at its tuned LR.
 * 3. Report (eval_report.h): summary tables, episodes, every decision of every
 *    episode, the controller's calibration and the trajectory figures, in
 *    eval.out (default RUN_DIR/eval); the table also on stdout.
 *
 * Episodes run in eval.workers forked processes (eval_run.h). Ctrl-C stops
 * the workers; unfinished episodes are listed.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "ctl_open.h"
#include "err.h"
#include "eval_report.h"
#include "eval_run.h"
#include "lmenv.h"
#include "log.h"
#include "qnet.h"
#include "schedule.h"

#define MAX_BASELINES 16
#define MAX_GRID 16

typedef struct {
    char spec[128];
    lm_schedule_t sched;
    double tuned_lr;
} baseline_t;

typedef struct {
    const dq_config_t *cfg;
    baseline_t base[MAX_BASELINES];
    int n_base;
    double grid[MAX_GRID];
    int n_grid;
    int keep_action; /* index of the x1 action, for baselines */
    int failed;      /* a tuning episode failed: the evaluation goes on, then exits 1 */
    dq_qnet_t net;
} eval_t;

/* Draws n instances of a set: the instance seeds the environment itself
 * samples, so the train/held-out disjointness of lmenv holds. */
static int draw_instances(const dq_config_t *cfg, const char *set, uint64_t seed, int n,
                          eval_instance_t *out)
{
    dq_env_t env;
    char why[512];
    float obs[LMENV_OBS_DIM];
    if (lmenv_init(&env, cfg, set, seed, why, sizeof why) < 0) {
        DQ_ERROR("%s", why);
        return DQ_ECONFIG;
    }
    DQ_INFO("%s", lmenv_describe_corpus(&env));
    int rc = DQ_OK;
    for (int i = 0; i < n && rc == DQ_OK; i++) {
        lmenv_info_t info;
        rc = env.ops->reset(env.self, obs);
        if (rc == DQ_OK) rc = lmenv_get_info(&env, &info);
        if (rc < 0) break;
        out[i].seed = info.instance_seed;
        snprintf(out[i].size, sizeof out[i].size, "%dx%dx%dx%d", info.layers, info.channels,
                 info.heads, info.context);
    }
    dq_env_close(&env);
    return rc;
}

static int parse_baselines(eval_t *E, char *why, size_t whylen)
{
    char specs[DQ_CONFIG_STR_MAX];
    snprintf(specs, sizeof specs, "%.255s", E->cfg->eval_baselines);
    for (char *save = NULL, *tok = strtok_r(specs, " \t", &save); tok;
         tok = strtok_r(NULL, " \t", &save)) {
        if (E->n_base == MAX_BASELINES) {
            snprintf(why, whylen, "eval.baselines: more than %d schedules", MAX_BASELINES);
            return DQ_ECONFIG;
        }
        baseline_t *b = &E->base[E->n_base++];
        snprintf(b->spec, sizeof b->spec, "%s", tok);
        char w[256];
        if (schedule_parse(&b->sched, tok, w, sizeof w) < 0) {
            snprintf(why, whylen, "eval.baselines: '%s': %s", tok, w);
            return DQ_ECONFIG;
        }
    }
    return DQ_OK;
}

/* The x1 action the baselines hold the LR with; its index (0 when there are
 * no baselines) or DQ_ECONFIG. */
static int keep_action(const dq_config_t *cfg, int n_base, int *n_mult, char *why, size_t whylen)
{
    double mult[LMENV_MAX_LIST];
    if (lmenv_parse_actions(cfg->lm_actions, mult, LMENV_MAX_LIST, n_mult) < 0) {
        snprintf(why, whylen, "lm.actions = '%.200s' is not a list of multipliers",
                 cfg->lm_actions);
        return DQ_ECONFIG;
    }
    if (n_base == 0) return 0;
    if (strcmp(cfg->lm_action_kind, "set") == 0) {
        snprintf(why, whylen,
                 "lm.action_kind = set: actions are LRs, so the baselines cannot hold theirs; "
                 "evaluate with eval.baselines empty");
        return DQ_ECONFIG;
    }
    for (int k = 0; k < *n_mult; k++)
        if (mult[k] == 1.0) return k;
    snprintf(why, whylen, "lm.actions = '%.200s' has no x1 action for the baselines to hold the LR",
             cfg->lm_actions);
    return DQ_ECONFIG;
}

/* The Q-network to evaluate (eval.qnet, else RUN_DIR/qnet.bin), which may
 * bring its training configuration (ctl_open.h). */
static int open_qnet(eval_t *E, const dq_cli_spec_t *spec, int argc, char **argv, dq_config_t *cfg,
                     char *why, size_t whylen)
{
    char path[DQ_CONFIG_STR_MAX + 16];
    if (cfg->eval_qnet[0])
        snprintf(path, sizeof path, "%.255s", cfg->eval_qnet);
    else
        snprintf(path, sizeof path, "%.255s/qnet.bin", cfg->run_dir);
    return tools_open_controller(spec, argc, argv, cfg, path, &E->net, why, whylen);
}

static int parse_setup(eval_t *E, char *why, size_t whylen)
{
    const dq_config_t *cfg = E->cfg;
    if (strcmp(cfg->eval_set, "heldout") != 0 && strcmp(cfg->eval_set, "train") != 0) {
        snprintf(why, whylen, "eval.set = '%.100s': expected heldout or train", cfg->eval_set);
        return DQ_ECONFIG;
    }
    int rc = parse_baselines(E, why, whylen);
    if (rc < 0) return rc;
    if (dq_parse_real_list(cfg->eval_lr_grid, DBL_MIN, DBL_MAX, E->grid, MAX_GRID, &E->n_grid) <
        0) {
        snprintf(why, whylen,
                 "eval.lr_grid = '%.200s': expected positive LRs separated by commas (at most %d)",
                 cfg->eval_lr_grid, MAX_GRID);
        return DQ_ECONFIG;
    }
    int n_mult = 0;
    E->keep_action = keep_action(cfg, E->n_base, &n_mult, why, whylen);
    return E->keep_action < 0 ? E->keep_action : DQ_OK;
}

static eval_job_t job_for(const eval_t *E, int b, const char *set, uint64_t seed, double lr)
{
    return (eval_job_t){E->cfg, &E->net, b < 0 ? NULL : &E->base[b].sched, E->keep_action, set,
                        seed,   lr};
}

/* The tuned LR of baseline b: the grid point with the lowest mean over the
 * tuning instances, every one of which finished (NAN if none did). */
static double best_lr(const eval_t *E, int b, int n_inst, const eval_episode_t *eps, double *mean)
{
    double lr = NAN;
    *mean = INFINITY;
    for (int g = 0; g < E->n_grid; g++) {
        double s = 0;
        int k = 0;
        for (int i = 0; i < n_inst; i++) {
            double v = eps[(b * E->n_grid + g) * n_inst + i].final_bpb;
            if (!isnan(v)) {
                s += v;
                k++;
            }
        }
        if (k == n_inst && s / k < *mean) {
            *mean = s / k;
            lr = E->grid[g];
        }
    }
    return lr;
}

/* Tunes each baseline's LR on training instances. */
static int tune(eval_t *E)
{
    int n_inst = (int)E->cfg->eval_tune_instances;
    for (int b = 0; b < E->n_base; b++) E->base[b].tuned_lr = NAN;
    if (n_inst == 0 || E->n_grid == 0 || E->n_base == 0) return DQ_OK;
    int n = E->n_base * E->n_grid * n_inst;
    DQ_INFO("tuning: %d baselines x %d LRs x %d training instances = %d training runs", E->n_base,
            E->n_grid, n_inst, n);
    eval_instance_t *inst = calloc((size_t)n_inst, sizeof *inst);
    eval_job_t *jobs = calloc((size_t)n, sizeof *jobs);
    eval_episode_t *eps = calloc((size_t)n, sizeof *eps);
    int rc = (!inst || !jobs || !eps) ? DQ_ENOMEM : DQ_OK;
    if (rc == DQ_OK)
        rc = draw_instances(E->cfg, "train", (uint64_t)E->cfg->eval_seed + 1, n_inst, inst);
    for (int j = 0; rc == DQ_OK && j < n; j++) {
        int b = j / (E->n_grid * n_inst), g = (j / n_inst) % E->n_grid, i = j % n_inst;
        jobs[j] = job_for(E, b, "train", inst[i].seed, E->grid[g]);
    }
    if (rc == DQ_OK)
        rc = eval_run_jobs(jobs, n, (int)E->cfg->eval_workers, "tuning baseline LRs", eps, NULL);
    if (rc == DQ_EIO) { /* the baselines concerned are labelled untunable */
        E->failed = 1;
        rc = DQ_OK;
    }
    for (int b = 0; rc == DQ_OK && b < E->n_base; b++) {
        double mean;
        E->base[b].tuned_lr = best_lr(E, b, n_inst, eps, &mean);
        DQ_INFO("baseline %s: tuned LR %g (mean %.4f bits/byte on %d training instances)",
                E->base[b].spec, E->base[b].tuned_lr, mean, n_inst);
    }
    free(inst);
    free(jobs);
    free(eps);
    return rc;
}

/* Names method k: 0 = the controller, 1..n_base = baselines at the instance
 * LR, then the same baselines at their tuned LR. */
static void name_method(const eval_t *E, int k, eval_method_t *m)
{
    int b = k == 0 ? -1 : (k - 1) % E->n_base, tuned = k > E->n_base;
    snprintf(m->name, sizeof m->name, "%s", b < 0 ? "controller (greedy Q)" : E->base[b].spec);
    snprintf(m->setting, sizeof m->setting, "%s", tuned ? "tuned" : "instance");
    if (tuned && isnan(E->base[b].tuned_lr))
        snprintf(m->lr, sizeof m->lr, "untunable: instance");
    else if (tuned)
        snprintf(m->lr, sizeof m->lr, "tuned: %g", E->base[b].tuned_lr);
    else
        snprintf(m->lr, sizeof m->lr, "instance");
}

static int write_reports(const eval_t *E, const eval_method_t *m, int n_methods,
                         const eval_instance_t *inst, int n_inst, const char *out_dir)
{
    int rc = eval_report_episodes(m, n_methods, inst, n_inst, out_dir);
    int r2 = eval_report_trajectories(E->cfg, m, n_methods, inst, n_inst, out_dir);
    int r3 = eval_report_calibration(E->cfg, &m[0], n_inst, out_dir);
    int r4 = eval_report_figures(E->cfg, m, n_methods, inst, n_inst, out_dir);
    int tuned = E->cfg->eval_tune_instances > 0 && E->n_grid > 0 && E->n_base > 0;
    int tuning_runs = tuned ? E->n_base * E->n_grid * (int)E->cfg->eval_tune_instances : 0;
    int r5 = eval_report_summary(E->cfg, m, n_methods, inst, n_inst, tuning_runs, out_dir);
    if (r4 == 1) DQ_INFO("no figures drawn (eval.gnuplot); their scripts are in %s", out_dir);
    if (rc == DQ_OK) rc = r2;
    if (rc == DQ_OK) rc = r3;
    if (rc == DQ_OK && r4 < 0) rc = r4;
    return rc == DQ_OK ? r5 : rc;
}

static int evaluate(eval_t *E, const char *out_dir)
{
    int rc = tune(E);
    if (rc < 0) return rc;
    int n_inst = (int)E->cfg->eval_instances;
    /* The controller, the baselines at the instance LR and, when tuning ran,
     * at their tuned LR. */
    int tuned = E->cfg->eval_tune_instances > 0 && E->n_grid > 0 && E->n_base > 0;
    int n_methods = 1 + (tuned ? 2 : 1) * E->n_base, n = n_methods * n_inst;
    eval_instance_t *inst = calloc((size_t)n_inst, sizeof *inst);
    eval_job_t *jobs = calloc((size_t)n, sizeof *jobs);
    eval_episode_t *eps = calloc((size_t)n, sizeof *eps);
    eval_decision_t *steps = calloc((size_t)n * EVAL_MAX_DECISIONS, sizeof *steps);
    eval_method_t *m = calloc((size_t)n_methods, sizeof *m);
    if (!inst || !jobs || !eps || !steps || !m) rc = DQ_ENOMEM;
    const char *set = E->cfg->eval_set;
    uint64_t seed = (uint64_t)E->cfg->eval_seed + (strcmp(set, "train") == 0 ? 2 : 0);
    if (rc == DQ_OK) rc = draw_instances(E->cfg, set, seed, n_inst, inst);
    for (int j = 0; rc == DQ_OK && j < n; j++) {
        int k = j / n_inst, i = j % n_inst;
        int b = k == 0 ? -1 : (k - 1) % E->n_base;
        double lr = k > E->n_base ? E->base[b].tuned_lr : 0.0;
        if (isnan(lr))
            lr = 0.0; /* every tuning run failed: the instance LR, and the table says so */
        jobs[j] = job_for(E, b, set, inst[i].seed, lr);
    }
    if (rc == DQ_OK)
        rc = eval_run_jobs(jobs, n, (int)E->cfg->eval_workers, "evaluating", eps, steps);
    for (int k = 0; m && k < n_methods; k++) {
        name_method(E, k, &m[k]);
        m[k].eps = eps + (size_t)k * n_inst;
        m[k].steps = steps + (size_t)k * n_inst * EVAL_MAX_DECISIONS;
    }
    if (rc == DQ_OK || rc == DQ_EINTERRUPTED || rc == DQ_EIO) { /* what finished is kept */
        int rrc = write_reports(E, m, n_methods, inst, n_inst, out_dir);
        if (rc == DQ_OK) rc = rrc;
    }
    free(inst);
    free(jobs);
    free(eps);
    free(steps);
    free(m);
    return rc == DQ_OK && E->failed ? DQ_EIO : rc;
}

int main(int argc, char **argv)
{
    static const dq_cli_alias_t aliases[] = {
        {"--qnet", "eval.qnet", "Q-network file to evaluate"},
        {"--instances", "eval.instances", "held-out instances"},
        {"--out", "eval.out", "output folder"},
        {NULL, NULL, NULL},
    };
    dq_cli_spec_t spec = {"dqnlm-eval",
                          "Evaluation: the greedy learned LR controller against baseline schedules "
                          "on held-out LM-training instances (IQM, bootstrap CIs, P(improvement)).",
                          aliases};
    dq_config_t cfg;
    int rc = dq_program_start(&spec, argc, argv, &cfg);
    if (rc != 0) return rc > 0 ? 0 : 2;

    static eval_t E;
    E.cfg = &cfg;
    char why[768] = "";
    rc = open_qnet(&E, &spec, argc, argv, &cfg, why, sizeof why);
    if (rc == DQ_OK) rc = parse_setup(&E, why, sizeof why);
    if (rc < 0) {
        DQ_ERROR("%s", why);
        dq_qnet_free(&E.net);
        return 2;
    }
    char out_dir[DQ_CONFIG_STR_MAX + 16];
    if (cfg.eval_out[0])
        snprintf(out_dir, sizeof out_dir, "%s", cfg.eval_out);
    else
        snprintf(out_dir, sizeof out_dir, "%s/eval", cfg.run_dir);
    if (dq_mkdir_p(out_dir) < 0) {
        DQ_ERROR("cannot create eval.out=%s", out_dir);
        return 1;
    }
    DQ_INFO("evaluating on %ld %s instances: controller, %d baselines at instance and tuned "
            "LR; %ld workers",
            cfg.eval_instances, cfg.eval_set, E.n_base, cfg.eval_workers);
    rc = evaluate(&E, out_dir);
    dq_qnet_free(&E.net);
    if (rc == DQ_OK)
        DQ_INFO("tables in %s/summary.md and summary.csv; episodes.csv, trajectories.csv, "
                "calibration.md and the traj-*.png figures beside them",
                out_dir);
    return rc == DQ_OK ? 0 : 1;
}
