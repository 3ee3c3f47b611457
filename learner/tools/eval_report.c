/* eval_report.c - see eval_report.h. */
#include "eval_report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "gnuplot.h"
#include "log.h"
#include "rlstats.h"

#define LN2 0.6931471805599453
#define MAX_STRATA 16

static FILE *open_out(const char *out_dir, const char *name)
{
    char path[DQ_CONFIG_STR_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    FILE *f = fopen(path, "w");
    if (!f) DQ_ERROR("cannot write %s", path);
    return f;
}

/* ---- summary ------------------------------------------------------------ */

/* A balanced (runs, tasks) layout: tasks = distinct model sizes (strata),
 * runs = the smallest number of instances of a size; idx[r * tasks + t] is
 * the instance at that place. */
typedef struct {
    int runs, tasks;
    int *idx;
} layout_t;

static int make_layout(const eval_instance_t *inst, int n_inst, layout_t *L)
{
    char sizes[MAX_STRATA][48];
    int n_sizes = 0, count[MAX_STRATA] = {0}, used[MAX_STRATA] = {0};
    int *stratum = calloc((size_t)n_inst, sizeof *stratum);
    L->idx = calloc((size_t)n_inst, sizeof *L->idx);
    if (!stratum || !L->idx) {
        free(stratum);
        return DQ_ENOMEM;
    }
    for (int i = 0; i < n_inst; i++) {
        int s = 0;
        while (s < n_sizes && strcmp(sizes[s], inst[i].size)) s++;
        if (s == n_sizes && n_sizes < MAX_STRATA)
            snprintf(sizes[n_sizes++], 48, "%s", inst[i].size);
        stratum[i] = s < MAX_STRATA ? s : MAX_STRATA - 1;
        count[stratum[i]]++;
    }
    L->tasks = n_sizes;
    L->runs = n_inst;
    for (int s = 0; s < n_sizes; s++)
        if (count[s] < L->runs) L->runs = count[s];
    for (int i = 0; i < n_inst; i++) {
        int s = stratum[i];
        if (used[s] < L->runs) L->idx[used[s]++ * L->tasks + s] = i;
    }
    free(stratum);
    return DQ_OK;
}

/* The method's scores in the layout; 0 when one of them is unfinished. */
static int scores_of(const eval_method_t *m, const layout_t *L, double *out)
{
    int finished = 1;
    for (int j = 0; j < L->runs * L->tasks; j++) {
        out[j] = m->eps[L->idx[j]].final_bpb;
        finished &= !isnan(out[j]);
    }
    return finished;
}

static void summary_header(FILE *o, const dq_config_t *cfg, const layout_t *L)
{
    fprintf(o,
            "\nFinal validation bits per byte on %d %s instances (%d size stratum/strata x %d), "
            "lower is better.\n"
            "IQM = interquartile mean; [95%% stratified-bootstrap interval, %ld resamples];\n"
            "P = probability that the controller ends lower than the method on the same "
            "instance (|difference| <= %g bits/byte counts one half).\n\n",
            L->runs * L->tasks, cfg->eval_set, L->tasks, L->runs, cfg->eval_boot, cfg->eval_tie);
    fprintf(o, "| method | LR | IQM bits/byte | 95%% CI | P(controller better) | 95%% CI |\n"
               "|---|---|---|---|---|---|\n");
}

typedef struct {
    int finished;
    double iqm, lo, hi, p, plo, phi;
} row_t;

static row_t summary_row(const dq_config_t *cfg, const layout_t *L, const double *x, int x_finished,
                         const double *ctrl, int ctrl_finished, int is_ctrl, dq_rng_t *rng)
{
    row_t r = {x_finished, NAN, NAN, NAN, NAN, NAN, NAN};
    if (!x_finished) return r;
    int n = L->runs * L->tasks;
    r.iqm = rl_iqm(x, (size_t)n);
    rl_iqm_ci(x, L->runs, L->tasks, (int)cfg->eval_boot, 0.05, rng, &r.lo, &r.hi);
    if (!is_ctrl && ctrl_finished) {
        r.p = rl_paired_prob_improvement(ctrl, x, L->runs, L->tasks, cfg->eval_tie,
                                         RL_LOWER_IS_BETTER);
        rl_paired_prob_improvement_ci(ctrl, x, L->runs, L->tasks, cfg->eval_tie, RL_LOWER_IS_BETTER,
                                      (int)cfg->eval_boot, 0.05, rng, &r.plo, &r.phi);
    }
    return r;
}

static void print_row(FILE *o, const eval_method_t *m, const row_t *r, int is_ctrl)
{
    if (!r->finished) {
        fprintf(o, "| %s | %s | unfinished | | | |\n", m->name, m->lr);
        return;
    }
    fprintf(o, "| %s | %s | %.4f | [%.4f, %.4f] |", m->name, m->lr, r->iqm, r->lo, r->hi);
    if (is_ctrl)
        fprintf(o, " - | - |\n");
    else
        fprintf(o, " %.2f | [%.2f, %.2f] |\n", r->p, r->plo, r->phi);
}

int eval_report_summary(const dq_config_t *cfg, const eval_method_t *m, int n_methods,
                        const eval_instance_t *inst, int n_inst, int tuning_runs,
                        const char *out_dir)
{
    layout_t L = {0};
    int rc = make_layout(inst, n_inst, &L);
    int n = L.runs * L.tasks;
    double *ctrl = malloc((size_t)n * sizeof *ctrl), *x = malloc((size_t)n * sizeof *x);
    FILE *csv = open_out(out_dir, "summary.csv"), *md = open_out(out_dir, "summary.md");
    if (rc == DQ_OK && (!ctrl || !x)) rc = DQ_ENOMEM;
    if (rc == DQ_OK && (!csv || !md)) rc = DQ_EIO;
    if (rc == DQ_OK) {
        fprintf(csv, "method,lr,iqm_bpb,ci_low,ci_high,p_controller_better,p_ci_low,p_ci_high,"
                     "runs,strata\n");
        FILE *outs[2] = {md, stdout};
        for (int o = 0; o < 2; o++) summary_header(outs[o], cfg, &L);
        dq_rng_t rng;
        dq_rng_seed(&rng, (uint64_t)cfg->eval_seed);
        int ctrl_finished = scores_of(&m[0], &L, ctrl), unfinished = 0;
        for (int k = 0; k < n_methods; k++) {
            int fin = scores_of(&m[k], &L, x);
            for (int j = 0; j < n_inst; j++) unfinished += isnan(m[k].eps[j].final_bpb);
            row_t r = summary_row(cfg, &L, x, fin, ctrl, ctrl_finished, k == 0, &rng);
            fprintf(csv, "\"%s\",\"%s\",%.6f,%.6f,%.6f,%.4f,%.4f,%.4f,%d,%d\n", m[k].name, m[k].lr,
                    r.iqm, r.lo, r.hi, r.p, r.plo, r.phi, L.runs, L.tasks);
            for (int o = 0; o < 2; o++) print_row(outs[o], &m[k], &r, k == 0);
        }
        for (int o = 0; tuning_runs && o < 2; o++)
            fprintf(outs[o],
                    "\nTuned LRs: each baseline's best of eval.lr_grid by its mean on %ld "
                    "training instances; the tuning cost %d training runs (the controller: "
                    "none, one run per instance).\n",
                    cfg->eval_tune_instances, tuning_runs);
        for (int o = 0; unfinished && o < 2; o++)
            fprintf(outs[o],
                    "\n%d episode(s) did not finish (interrupted or failed); their methods are "
                    "marked unfinished.\n",
                    unfinished);
    }
    if (csv) fclose(csv);
    if (md) fclose(md);
    free(ctrl);
    free(x);
    free(L.idx);
    return rc;
}

/* ---- per-episode and per-decision records ------------------------------- */

int eval_report_episodes(const eval_method_t *m, int n_methods, const eval_instance_t *inst,
                         int n_inst, const char *out_dir)
{
    FILE *f = open_out(out_dir, "episodes.csv");
    if (!f) return DQ_EIO;
    fprintf(f, "method,lr_setting,lr,instance_seed,size,final_bpb,diverged\n");
    for (int k = 0; k < n_methods; k++)
        for (int i = 0; i < n_inst; i++) {
            const eval_episode_t *e = &m[k].eps[i];
            fprintf(f, "\"%s\",%s,%g,%llu,%s,%.6f,%d\n", k == 0 ? "controller" : m[k].name,
                    m[k].setting, e->lr_init, (unsigned long long)inst[i].seed, inst[i].size,
                    e->final_bpb, e->diverged);
        }
    return fclose(f) == 0 ? DQ_OK : DQ_EIO;
}

/* G_t for every decision of one episode: the discounted sum of the rewards
 * that followed decision t. */
static void returns_to_go(const eval_decision_t *s, int n, double gamma, double *g)
{
    double acc = 0;
    for (int t = n - 1; t >= 0; t--) {
        g[t] = acc;
        acc = s[t].reward + gamma * acc;
    }
}

int eval_report_trajectories(const dq_config_t *cfg, const eval_method_t *m, int n_methods,
                             const eval_instance_t *inst, int n_inst, const char *out_dir)
{
    FILE *f = open_out(out_dir, "trajectories.csv");
    if (!f) return DQ_EIO;
    fprintf(f, "method,lr_setting,instance_seed,size,t,opt_step,lr,action,train_loss,val_bpb,q,"
               "return_to_go\n");
    double g[EVAL_MAX_DECISIONS];
    for (int k = 0; k < n_methods; k++)
        for (int i = 0; i < n_inst; i++) {
            const eval_decision_t *s = m[k].steps + (size_t)i * EVAL_MAX_DECISIONS;
            int n = m[k].eps[i].n_decisions;
            returns_to_go(s, n, cfg->dqn_gamma, g);
            for (int t = 0; t < n; t++)
                fprintf(f, "\"%s\",%s,%llu,%s,%d,%ld,%.6g,%d,%.6f,%.6f,%.6g,%.6g\n",
                        k == 0 ? "controller" : m[k].name, m[k].setting,
                        (unsigned long long)inst[i].seed, inst[i].size, t, s[t].opt_step,
                        (double)s[t].lr, s[t].action, (double)s[t].train_loss, s[t].val_loss / LN2,
                        (double)s[t].q, g[t]);
        }
    return fclose(f) == 0 ? DQ_OK : DQ_EIO;
}

int eval_report_calibration(const dq_config_t *cfg, const eval_method_t *ctrl, int n_inst,
                            const char *out_dir)
{
    double sq[EVAL_MAX_DECISIONS] = {0}, sg[EVAL_MAX_DECISIONS] = {0};
    double sabs[EVAL_MAX_DECISIONS] = {0}, g[EVAL_MAX_DECISIONS];
    int cnt[EVAL_MAX_DECISIONS] = {0}, T = 0;
    for (int i = 0; i < n_inst; i++) {
        if (isnan(ctrl->eps[i].final_bpb)) continue;
        const eval_decision_t *s = ctrl->steps + (size_t)i * EVAL_MAX_DECISIONS;
        int n = ctrl->eps[i].n_decisions;
        returns_to_go(s, n, cfg->dqn_gamma, g);
        for (int t = 0; t + 1 < n; t++) {
            if (isnan(s[t].q)) continue;
            sq[t] += s[t].q;
            sg[t] += g[t];
            sabs[t] += fabs(s[t].q - g[t]);
            cnt[t]++;
            if (t + 1 > T) T = t + 1;
        }
    }
    FILE *csv = open_out(out_dir, "calibration.csv"), *md = open_out(out_dir, "calibration.md");
    if (!csv || !md) {
        if (csv) fclose(csv);
        if (md) fclose(md);
        return DQ_EIO;
    }
    fprintf(csv, "t,episodes,mean_q,mean_return_to_go,mean_abs_error\n");
    fprintf(md,
            "\nCalibration of the controller: Q(s_t, a_t) against the return it realised "
            "from decision t on (gamma %g), mean over the finished episodes.\n\n"
            "| t | episodes | mean Q | mean return-to-go | mean abs error |\n"
            "|---|---|---|---|---|\n",
            cfg->dqn_gamma);
    for (int t = 0; t < T; t++) {
        if (!cnt[t]) continue;
        double c = cnt[t];
        fprintf(csv, "%d,%d,%.6f,%.6f,%.6f\n", t, cnt[t], sq[t] / c, sg[t] / c, sabs[t] / c);
        fprintf(md, "| %d | %d | %.4f | %.4f | %.4f |\n", t, cnt[t], sq[t] / c, sg[t] / c,
                sabs[t] / c);
    }
    int bad = fclose(csv) != 0; /* both files closed, whatever the first gives */
    bad |= fclose(md) != 0;
    return bad ? DQ_EIO : DQ_OK;
}

/* ---- figures ------------------------------------------------------------ */

/* Which methods a figure shows: the controller, then constant and cosine at
 * the instance LR and at their tuned LR (the schedules a user would try). */
static int plotted(const eval_method_t *m, int k)
{
    return k == 0 || strncmp(m[k].name, "constant", 8) == 0 || strncmp(m[k].name, "cosine", 6) == 0;
}

typedef struct {
    double bpb;
    int i;
} ranked_t;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked_t *x = a, *y = b;
    return (x->bpb > y->bpb) - (x->bpb < y->bpb);
}

/* The controller's median, best and worst instance (distinct; fewer when
 * fewer finished). Returns how many. */
static int pick_instances(const eval_method_t *ctrl, int n_inst, int *pick, const char **label)
{
    ranked_t *order = malloc((size_t)n_inst * sizeof *order);
    if (!order) return 0;
    int n = 0;
    for (int i = 0; i < n_inst; i++)
        if (!isnan(ctrl->eps[i].final_bpb)) order[n++] = (ranked_t){ctrl->eps[i].final_bpb, i};
    qsort(order, (size_t)n, sizeof *order, cmp_ranked);
    static const char *names[] = {"median", "best", "worst"};
    const int cand[3] = {n / 2, 0, n - 1};
    int k = 0;
    for (int c = 0; c < 3 && n > 0; c++) {
        int i = order[cand[c]].i, dup = 0;
        for (int j = 0; j < k; j++) dup |= pick[j] == i;
        if (dup) continue;
        pick[k] = i;
        label[k++] = names[c];
    }
    free(order);
    return k;
}

static int write_traj_dat(const eval_method_t *m, int n_methods, int i, const char *out_dir,
                          const char *label)
{
    char name[64];
    snprintf(name, sizeof name, "traj-%s.dat", label);
    FILE *f = open_out(out_dir, name);
    if (!f) return DQ_EIO;
    fprintf(f, "# opt_step lr val_bpb   (one block per method, in the order of the key)\n");
    for (int k = 0; k < n_methods; k++) {
        if (!plotted(m, k)) continue;
        const eval_decision_t *s = m[k].steps + (size_t)i * EVAL_MAX_DECISIONS;
        fprintf(f, "# %s (%s)\n", m[k].name, m[k].lr);
        for (int t = 0; t < m[k].eps[i].n_decisions; t++)
            fprintf(f, "%ld %.6g %.6f\n", s[t].opt_step, (double)s[t].lr, s[t].val_loss / LN2);
        fprintf(f, "\n\n");
    }
    return fclose(f) == 0 ? DQ_OK : DQ_EIO;
}

static int write_traj_gp(const eval_method_t *m, int n_methods, const eval_instance_t *in,
                         const char *out_dir, const char *label, const char *term, int lr_plot)
{
    char name[64];
    snprintf(name, sizeof name, "traj-%s-%s.gp", label, lr_plot ? "lr" : "bpb");
    FILE *g = open_out(out_dir, name);
    if (!g) return DQ_EIO;
    fprintf(g, "# %s - drawn by dqnlm-eval from traj-%s.dat; run: gnuplot %s\n", name, label, name);
    fprintf(g, "set title '%s: %s instance %llu (%s)' noenhanced\n",
            lr_plot ? "learning rate" : "validation bits per byte", label,
            (unsigned long long)in->seed, in->size);
    fprintf(g,
            "set xlabel 'optimizer step'\nset ylabel '%s'\nset format y '%%g'\nset grid\nset key "
            "outside right "
            "noenhanced\n%s",
            lr_plot ? "LR" : "bits/byte", lr_plot ? "set logscale y\n" : "");
    const char *outs[2][2] = {{term, "png"}, {"svg", "svg"}};
    for (int o = 0; o < 2; o++) {
        fprintf(g,
                "set terminal %s size 1100,540 font 'sans,11'\nset output 'traj-%s-%s.%s'\nplot ",
                outs[o][0], label, lr_plot ? "lr" : "bpb", outs[o][1]);
        int block = 0, first = 1;
        for (int k = 0; k < n_methods; k++) {
            if (!plotted(m, k)) continue;
            /* the loss before training (about 8 bits/byte for every method) would
             * squash the rest of the bits/byte figure: it starts after decision 0 */
            fprintf(g,
                    "%s'traj-%s.dat' index %d every ::%d using 1:%d with fsteps lw %d title "
                    "'%s (%s)'",
                    first ? "" : ", \\\n     ", label, block++, lr_plot ? 0 : 1, lr_plot ? 2 : 3,
                    k == 0 ? 3 : 1, m[k].name, m[k].lr);
            first = 0;
        }
        fprintf(g, "\n");
    }
    return fclose(g) == 0 ? DQ_OK : DQ_EIO;
}

int eval_report_figures(const dq_config_t *cfg, const eval_method_t *m, int n_methods,
                        const eval_instance_t *inst, int n_inst, const char *out_dir)
{
    int pick[3];
    const char *label[3];
    int n = pick_instances(&m[0], n_inst, pick, label);
    const char *term = tools_png_terminal(cfg->eval_gnuplot);
    int rc = DQ_OK;
    for (int p = 0; p < n && rc == DQ_OK; p++) {
        rc = write_traj_dat(m, n_methods, pick[p], out_dir, label[p]);
        for (int lr_plot = 0; lr_plot < 2 && rc == DQ_OK; lr_plot++)
            rc = write_traj_gp(m, n_methods, &inst[pick[p]], out_dir, label[p], term ? term : "png",
                               lr_plot);
    }
    if (rc < 0) return rc;
    if (!term || strchr(out_dir, '\'')) return 1;
    for (int p = 0; p < n; p++)
        for (int lr_plot = 0; lr_plot < 2; lr_plot++) {
            char cmd[2 * DQ_CONFIG_STR_MAX + 128];
            snprintf(cmd, sizeof cmd, "cd '%s' && '%s' 'traj-%s-%s.gp' 2>>gnuplot.log", out_dir,
                     cfg->eval_gnuplot, label[p], lr_plot ? "lr" : "bpb");
            if (system(cmd) != 0) {
                DQ_WARN("gnuplot failed on traj-%s; see %s/gnuplot.log", label[p], out_dir);
                return 1;
            }
        }
    return DQ_OK;
}
