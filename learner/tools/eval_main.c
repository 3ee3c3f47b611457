/* eval_main.c - dqnlm-eval: does the learned controller train language models
 * better than the schedules people already use?
 *
 *   dqnlm-eval --config RUN_DIR/config.ini            # reads RUN_DIR/qnet.bin
 *
 * 1. Tuning: every baseline schedule (eval.baselines) runs on eval.tune_instances
 *    training instances at every LR of eval.lr_grid; its best LR is the one with
 *    the lowest mean final validation bits per byte.
 * 2. Evaluation: on eval.instances held-out instances (the same instance seeds,
 *    hence the same model, data and initial LR for every method) run
 *      - the greedy controller (argmax Q every env step) from the instance's LR,
 *      - every baseline at the instance's initial LR,
 *      - every baseline at its tuned LR.
 * 3. Report: per method, the interquartile mean of the final validation bits per
 *    byte with a 95% stratified-bootstrap interval (strata = held-out model
 *    sizes), and the probability that the controller beats it, as CSV and
 *    Markdown in eval.out (default RUN_DIR/eval), and the table on stdout.
 *
 * Episodes run in eval.workers forked processes; results travel back through
 * shared memory. Ctrl-C stops the workers; unfinished episodes are listed.
 */
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "err.h"
#include "lmenv.h"
#include "log.h"
#include "qnet.h"
#include "rlstats.h"
#include "schedule.h"

#define MAX_BASELINES 16
#define MAX_GRID 16
#define LN2 0.6931471805599453

typedef struct {
    char spec[128];
    lm_schedule_t sched;
    double tuned_lr;
} baseline_t;

typedef struct {
    uint64_t seed;
    char size[48]; /* "LxCxHxT", the stratum */
} instance_t;

/* One episode to run: method < 0 is the controller, else a baseline index. */
typedef struct {
    int method;
    const char *set;
    uint64_t inst_seed;
    double lr; /* 0 = the instance's own initial LR */
} job_t;

typedef struct {
    const dq_config_t *cfg;
    baseline_t base[MAX_BASELINES];
    int n_base;
    double grid[MAX_GRID];
    int n_grid;
    int keep_action; /* index of the x1 action, for baselines */
    dq_qnet_t net;
} eval_t;

static int argmax(const float *q, int n)
{
    int best = 0;
    for (int k = 1; k < n; k++)
        if (q[k] > q[best]) best = k;
    return best;
}

/* Runs one episode and returns its final validation bits per byte, NAN if it
 * could not run or was interrupted. */
static double run_episode(eval_t *E, const job_t *job)
{
    dq_config_t cfg = *E->cfg;
    cfg.lm_lr = job->lr;
    dq_env_t env = {0};
    char why[512];
    double result = NAN;
    float obs[LMENV_OBS_DIM], q[64];
    dq_qnet_ws_t ws = {0};
    if (lmenv_init(&env, &cfg, job->set, job->inst_seed, why, sizeof why) < 0) {
        DQ_ERROR("%s", why);
        return NAN;
    }
    lmenv_set_instance_seed(&env, job->inst_seed);
    if (job->method >= 0)
        lmenv_set_schedule(&env, &E->base[job->method].sched);
    else if (dq_qnet_ws_init(&ws, &E->net, 1) < 0)
        goto done;
    if (env.ops->reset(env.self, obs) < 0) goto done;
    while (!dq_cli_stop_requested()) {
        int action = E->keep_action;
        if (job->method < 0) {
            dq_qnet_forward(&E->net, &ws, obs, 1, q);
            action = argmax(q, env.n_actions);
        }
        dq_step_t st;
        if (env.ops->step(env.self, action, obs, &st) < 0) break;
        if (st.terminated || st.truncated) {
            result = st.final_metric / LN2;
            break;
        }
    }
done:
    dq_qnet_ws_free(&ws);
    dq_env_close(&env);
    return result;
}

/* Runs jobs in `workers` forked processes; out[j] receives job j's result
 * (NAN when unfinished). */
static int run_jobs(eval_t *E, const job_t *jobs, int n, const char *what, double *out)
{
    int workers = (int)E->cfg->eval_workers;
    if (workers > n) workers = n;
    double *shared = mmap(NULL, (size_t)n * sizeof *shared, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) return DQ_ENOMEM;
    for (int j = 0; j < n; j++) shared[j] = NAN;
    pid_t pids[256];
    int started = 0;
    for (int w = 0; w < workers; w++) {
        pid_t pid = fork();
        if (pid < 0) break;
        if (pid == 0) {
            for (int j = w; j < n && !dq_cli_stop_requested(); j += workers)
                shared[j] = run_episode(E, &jobs[j]);
            _exit(0);
        }
        pids[started++] = pid;
    }
    int alive = started, last_done = -1;
    while (alive > 0) {
        for (int w = 0; w < started; w++)
            if (pids[w] > 0 && waitpid(pids[w], NULL, WNOHANG) == pids[w]) {
                pids[w] = 0;
                alive--;
            }
        int done = 0;
        for (int j = 0; j < n; j++) done += !isnan(shared[j]);
        /* A terminal gets one updating line; a log file a line per tenth. */
        if (done != last_done && (isatty(2) || done == n || done * 10 / n != last_done * 10 / n)) {
            fprintf(stderr, isatty(2) ? "\r%s: %d/%d episodes" : "%s: %d/%d episodes\n", what, done,
                    n);
            last_done = done;
        }
        if (alive > 0) usleep(200000);
    }
    if (isatty(2)) fprintf(stderr, "\n");
    memcpy(out, shared, (size_t)n * sizeof *out);
    munmap(shared, (size_t)n * sizeof *shared);
    return dq_cli_stop_requested() ? DQ_EINTERRUPTED : DQ_OK;
}

/* Draws n instances of a set: the instance seeds the environment itself
 * samples, so the train/held-out disjointness of lmenv holds. */
static int draw_instances(const dq_config_t *cfg, const char *set, uint64_t seed, int n,
                          instance_t *out)
{
    dq_env_t env;
    char why[512];
    float obs[LMENV_OBS_DIM];
    if (lmenv_init(&env, cfg, set, seed, why, sizeof why) < 0) {
        DQ_ERROR("%s", why);
        return DQ_ECONFIG;
    }
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

static int parse_setup(eval_t *E, char *why, size_t whylen)
{
    const dq_config_t *cfg = E->cfg;
    char specs[DQ_CONFIG_STR_MAX];
    snprintf(specs, sizeof specs, "%.255s", cfg->eval_baselines);
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
    if (dq_parse_real_list(cfg->eval_lr_grid, DBL_MIN, DBL_MAX, E->grid, MAX_GRID, &E->n_grid) <
        0) {
        snprintf(why, whylen,
                 "eval.lr_grid = '%.200s': expected positive LRs separated by commas (at most %d)",
                 cfg->eval_lr_grid, MAX_GRID);
        return DQ_ECONFIG;
    }
    double mult[64];
    int n_mult;
    if (lmenv_parse_actions(cfg->lm_actions, mult, 64, &n_mult) < 0) {
        snprintf(why, whylen, "lm.actions = '%.200s' is not a list of multipliers",
                 cfg->lm_actions);
        return DQ_ECONFIG;
    }
    E->keep_action = -1;
    for (int k = 0; k < n_mult; k++)
        if (mult[k] == 1.0) E->keep_action = k;
    if (E->keep_action < 0) {
        snprintf(why, whylen,
                 "lm.actions = '%.200s' has no x1 action for the baselines to hold the LR",
                 cfg->lm_actions);
        return DQ_ECONFIG;
    }
    char path[DQ_CONFIG_STR_MAX + 16];
    if (cfg->eval_qnet[0])
        snprintf(path, sizeof path, "%.255s", cfg->eval_qnet);
    else
        snprintf(path, sizeof path, "%.255s/qnet.bin", cfg->run_dir);
    char w[256];
    if (dq_qnet_load(&E->net, path, w, sizeof w) < 0) {
        snprintf(why, whylen, "%s: %s", path, w);
        return DQ_EFORMAT;
    }
    /* Q-values per row: a dueling net's last layer has one more output. */
    if (E->net.sizes[0] != LMENV_OBS_DIM || dq_qnet_n_actions(&E->net) != n_mult) {
        snprintf(why, whylen, "%s: Q-network maps %d -> %d, the LM environment needs %d -> %d",
                 path, E->net.sizes[0], dq_qnet_n_actions(&E->net), LMENV_OBS_DIM, n_mult);
        return DQ_ESHAPE;
    }
    return DQ_OK;
}

/* Tunes each baseline's LR on training instances. */
static int tune(eval_t *E)
{
    int n_inst = (int)E->cfg->eval_tune_instances;
    if (n_inst == 0 || E->n_grid == 0) {
        for (int b = 0; b < E->n_base; b++) E->base[b].tuned_lr = NAN;
        return DQ_OK;
    }
    instance_t *inst = calloc((size_t)n_inst, sizeof *inst);
    int n = E->n_base * E->n_grid * n_inst;
    job_t *jobs = calloc((size_t)n, sizeof *jobs);
    double *res = calloc((size_t)n, sizeof *res);
    int rc = (!inst || !jobs || !res) ? DQ_ENOMEM : DQ_OK;
    if (rc == DQ_OK)
        rc = draw_instances(E->cfg, "train", (uint64_t)E->cfg->eval_seed + 1, n_inst, inst);
    for (int j = 0; rc == DQ_OK && j < n; j++) {
        int b = j / (E->n_grid * n_inst), g = (j / n_inst) % E->n_grid, i = j % n_inst;
        jobs[j] = (job_t){b, "train", inst[i].seed, E->grid[g]};
    }
    if (rc == DQ_OK) rc = run_jobs(E, jobs, n, "tuning baseline LRs", res);
    for (int b = 0; rc == DQ_OK && b < E->n_base; b++) {
        double best = INFINITY;
        E->base[b].tuned_lr = NAN;
        for (int g = 0; g < E->n_grid; g++) {
            double s = 0;
            int k = 0;
            for (int i = 0; i < n_inst; i++) {
                double v = res[(b * E->n_grid + g) * n_inst + i];
                if (!isnan(v)) {
                    s += v;
                    k++;
                }
            }
            if (k == n_inst && s / k < best) {
                best = s / k;
                E->base[b].tuned_lr = E->grid[g];
            }
        }
        DQ_INFO("baseline %s: tuned LR %g (mean %.4f bits/byte on %d training instances)",
                E->base[b].spec, E->base[b].tuned_lr, best, n_inst);
    }
    free(inst);
    free(jobs);
    free(res);
    return rc;
}

typedef struct {
    char name[160];
    char lr[48];
    double *scores; /* (runs, tasks) */
} method_t;

static int report(eval_t *E, const instance_t *inst, int n_inst, const double *res, int n_methods,
                  const char *out_dir)
{
    const dq_config_t *cfg = E->cfg;
    /* Strata: distinct model sizes; a balanced design keeps the first R
     * instances of each, R = the smallest count. */
    char sizes[16][48];
    int n_sizes = 0, count[16] = {0};
    int *stratum = calloc((size_t)n_inst, sizeof *stratum);
    if (!stratum) return DQ_ENOMEM;
    for (int i = 0; i < n_inst; i++) {
        int s = 0;
        while (s < n_sizes && strcmp(sizes[s], inst[i].size)) s++;
        if (s == n_sizes && n_sizes < 16) snprintf(sizes[n_sizes++], 48, "%s", inst[i].size);
        stratum[i] = s < 16 ? s : 15;
        count[stratum[i]]++;
    }
    int runs = n_inst;
    for (int s = 0; s < n_sizes; s++)
        if (count[s] < runs) runs = count[s];
    int tasks = n_sizes;

    method_t *m = calloc((size_t)n_methods, sizeof *m);
    int unfinished = 0;
    for (int k = 0; k < n_methods && m; k++) {
        m[k].scores = calloc((size_t)runs * tasks, sizeof(double));
        int b = k == 0 ? -1 : (k - 1) % E->n_base, tuned = k > E->n_base;
        snprintf(m[k].name, sizeof m[k].name, "%s",
                 b < 0 ? "controller (greedy Q)" : E->base[b].spec);
        if (tuned && isnan(E->base[b].tuned_lr))
            snprintf(m[k].lr, sizeof m[k].lr, "untunable: instance");
        else if (tuned)
            snprintf(m[k].lr, sizeof m[k].lr, "tuned: %g", E->base[b].tuned_lr);
        else
            snprintf(m[k].lr, sizeof m[k].lr, "instance");
        int used[16] = {0};
        for (int i = 0; i < n_inst; i++) {
            int s = stratum[i];
            if (used[s] >= runs) continue;
            double v = res[k * n_inst + i];
            if (isnan(v)) unfinished++;
            m[k].scores[used[s]++ * tasks + s] = v;
        }
    }
    if (!m) return DQ_ENOMEM;

    char path[DQ_CONFIG_STR_MAX + 32];
    snprintf(path, sizeof path, "%s/summary.csv", out_dir);
    FILE *csv = fopen(path, "w");
    snprintf(path, sizeof path, "%s/summary.md", out_dir);
    FILE *md = fopen(path, "w");
    if (!csv || !md) {
        DQ_ERROR("cannot write %s", path);
        if (csv) fclose(csv);
        if (md) fclose(md);
        return DQ_EIO;
    }
    fprintf(
        csv,
        "method,lr,iqm_bpb,ci_low,ci_high,p_controller_better,p_ci_low,p_ci_high,runs,strata\n");
    FILE *outs[2] = {md, stdout};
    for (int o = 0; o < 2; o++) {
        fprintf(outs[o],
                "\nFinal validation bits per byte on %d held-out instances (%d size stratum/strata "
                "x %d), lower is better.\n"
                "IQM = interquartile mean; [95%% stratified-bootstrap interval, %ld resamples];\n"
                "P = probability that the controller ends lower than the method on the same "
                "instance.\n\n",
                runs * tasks, tasks, runs, cfg->eval_boot);
        fprintf(outs[o], "| method | LR | IQM bits/byte | 95%% CI | P(controller better) | 95%% CI "
                         "|\n|---|---|---|---|---|---|\n");
    }
    dq_rng_t rng;
    dq_rng_seed(&rng, (uint64_t)cfg->eval_seed);
    for (int k = 0; k < n_methods; k++) {
        int finished = 1;
        for (int j = 0; j < runs * tasks; j++) finished &= !isnan(m[k].scores[j]);
        double iqm = NAN, lo = NAN, hi = NAN, p = NAN, plo = NAN, phi = NAN;
        if (finished) {
            iqm = rl_iqm(m[k].scores, (size_t)runs * tasks);
            rl_iqm_ci(m[k].scores, runs, tasks, (int)cfg->eval_boot, 0.05, &rng, &lo, &hi);
            if (k > 0) {
                int both = 1;
                for (int j = 0; j < runs * tasks; j++) both &= !isnan(m[0].scores[j]);
                if (both) {
                    p = rl_prob_improvement(m[0].scores, runs, m[k].scores, runs, tasks,
                                            RL_LOWER_IS_BETTER);
                    rl_prob_improvement_ci(m[0].scores, runs, m[k].scores, runs, tasks,
                                           RL_LOWER_IS_BETTER, (int)cfg->eval_boot, 0.05, &rng,
                                           &plo, &phi);
                }
            }
        }
        fprintf(csv, "\"%s\",\"%s\",%.6f,%.6f,%.6f,%.4f,%.4f,%.4f,%d,%d\n", m[k].name, m[k].lr, iqm,
                lo, hi, p, plo, phi, runs, tasks);
        for (int o = 0; o < 2; o++) {
            if (!finished) {
                fprintf(outs[o], "| %s | %s | unfinished | | | |\n", m[k].name, m[k].lr);
                continue;
            }
            fprintf(outs[o], "| %s | %s | %.4f | [%.4f, %.4f] |", m[k].name, m[k].lr, iqm, lo, hi);
            if (k == 0)
                fprintf(outs[o], " - | - |\n");
            else
                fprintf(outs[o], " %.2f | [%.2f, %.2f] |\n", p, plo, phi);
        }
    }
    if (unfinished) {
        for (int o = 0; o < 2; o++)
            fprintf(outs[o],
                    "\n%d episode(s) did not finish (interrupted or failed); their methods are "
                    "marked unfinished.\n",
                    unfinished);
    }
    fclose(csv);
    fclose(md);
    for (int k = 0; k < n_methods; k++) free(m[k].scores);
    free(m);
    free(stratum);
    return DQ_OK;
}

static int evaluate(eval_t *E, const char *out_dir)
{
    int rc = tune(E);
    if (rc < 0) return rc;
    int n_inst = (int)E->cfg->eval_instances;
    /* The controller, the baselines at the instance LR and, when tuning ran,
     * at their tuned LR. */
    int tuned = E->cfg->eval_tune_instances > 0 && E->n_grid > 0;
    int n_methods = 1 + (tuned ? 2 : 1) * E->n_base;
    int n = n_methods * n_inst;
    instance_t *inst = calloc((size_t)n_inst, sizeof *inst);
    job_t *jobs = calloc((size_t)n, sizeof *jobs);
    double *res = calloc((size_t)n, sizeof *res);
    if (!inst || !jobs || !res) rc = DQ_ENOMEM;
    if (rc == DQ_OK)
        rc = draw_instances(E->cfg, "heldout", (uint64_t)E->cfg->eval_seed, n_inst, inst);
    for (int j = 0; rc == DQ_OK && j < n; j++) {
        int k = j / n_inst, i = j % n_inst;
        int b = k == 0 ? -1 : (k - 1) % E->n_base;
        double lr = k > E->n_base ? E->base[b].tuned_lr : 0.0;
        if (isnan(lr))
            lr = 0.0; /* every tuning run failed: the instance LR, and the table says so */
        jobs[j] = (job_t){b, "heldout", inst[i].seed, lr};
    }
    if (rc == DQ_OK) rc = run_jobs(E, jobs, n, "evaluating on held-out instances", res);
    if (rc == DQ_OK || rc == DQ_EINTERRUPTED) {
        char path[DQ_CONFIG_STR_MAX + 32];
        snprintf(path, sizeof path, "%s/episodes.csv", out_dir);
        FILE *f = fopen(path, "w");
        if (f) {
            fprintf(f, "method,lr_setting,lr,instance_seed,size,final_bpb\n");
            for (int j = 0; j < n; j++) {
                int k = j / n_inst;
                fprintf(f, "\"%s\",%s,%g,%llu,%s,%.6f\n",
                        k == 0 ? "controller" : E->base[jobs[j].method].spec,
                        k > E->n_base ? "tuned" : "instance", jobs[j].lr,
                        (unsigned long long)jobs[j].inst_seed, inst[j % n_inst].size, res[j]);
            }
            fclose(f);
        }
        int rrc = report(E, inst, n_inst, res, n_methods, out_dir);
        if (rc == DQ_OK) rc = rrc;
    }
    free(inst);
    free(jobs);
    free(res);
    return rc;
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
    rc = parse_setup(&E, why, sizeof why);
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
    DQ_INFO("evaluating on %ld held-out instances: controller, %d baselines at instance and tuned "
            "LR; %ld workers",
            cfg.eval_instances, E.n_base, cfg.eval_workers);
    rc = evaluate(&E, out_dir);
    dq_qnet_free(&E.net);
    if (rc == DQ_OK)
        DQ_INFO("tables in %s/summary.md and summary.csv, episodes in episodes.csv", out_dir);
    return rc == DQ_OK ? 0 : 1;
}
