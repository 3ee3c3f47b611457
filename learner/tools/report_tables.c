/* report_tables.c - tables and report.md of dqnlm-report (report_tables.h).
 * Every table goes to a CSV, a Markdown file and report.md; the intervals and
 * probabilities come from rlstats.h with R->rng.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "report_plot.h"
#include "report_stats.h"
#include "report_tables.h"

static void fmt_ci(char *buf, size_t len, double m, double lo, double hi, int digits)
{
    if (isnan(m))
        snprintf(buf, len, "no finished runs");
    else
        snprintf(buf, len, "%.*f [%.*f, %.*f]", digits, m, digits, lo, digits, hi);
}

/* The diverged held-out scores of a schedule, "-" with the chain env. */
static void fmt_div(const report_t *R, const sched_t *S, char *buf, size_t len)
{
    if (!R->lm)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%d of %d (%d of %d runs)", S->div_scores, S->n_done * R->tasks,
                 S->div_runs, S->n_done);
}

static void final_table(report_t *R)
{
    FILE *csv = report_open_out(R, "final.csv"), *md = report_open_out(R, "final.md");
    if (!csv || !md) goto done;
    fprintf(csv,
            "schedule,%s,runs_done,runs_planned,%s_iqm,ci_low,ci_high,final_return_iqm,"
            "ret_ci_low,ret_ci_high,diverged_scores,diverged_runs\n",
            R->settings ? "settings" : "exploration", R->lm ? "heldout_bpb" : "final_return");
    const char *what = R->settings ? "settings" : "exploration";
    FILE *outs[2] = {md, R->md};
    for (int o = 0; o < 2; o++) {
        if (R->lm)
            fprintf(outs[o],
                    "| variant | %s | runs | held-out bits/byte (greedy), IQM "
                    "[95%% CI] | diverged (scores, runs) | final return, IQM [95%% CI] "
                    "|\n|---|---|---|---|---|---|\n",
                    what);
        else
            fprintf(outs[o],
                    "| variant | %s | runs | final return, IQM [95%% CI] "
                    "|\n|---|---|---|---|\n",
                    what);
    }
    for (int s = 0; s < R->n_sch; s++) {
        sched_t *S = &R->sch[s];
        double rm, rlo, rhi;
        report_stats_iqm_band(R, S->ret, S->n_done, &rm, &rlo, &rhi);
        fprintf(csv, "\"%s\",\"%s\",%d,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%d,%d\n", S->name, S->expl,
                S->n_done, S->n, S->fin_m, S->fin_lo, S->fin_hi, rm, rlo, rhi, S->div_scores,
                S->div_runs);
        char a[96], b[96], d[96];
        fmt_ci(a, sizeof a, S->fin_m, S->fin_lo, S->fin_hi, 4);
        fmt_ci(b, sizeof b, rm, rlo, rhi, 4);
        fmt_div(R, S, d, sizeof d);
        for (int o = 0; o < 2; o++) {
            if (R->lm)
                fprintf(outs[o], "| %s | `%s` | %d/%d | %s | %s | %s |\n", S->name, S->expl,
                        S->n_done, S->n, a, d, b);
            else
                fprintf(outs[o], "| %s | `%s` | %d/%d | %s |\n", S->name, S->expl, S->n_done, S->n,
                        b);
        }
    }
done:
    if (csv) fclose(csv);
    if (md) fclose(md);
}

/* The warnings under the final table: too few seeds for the intervals, and
 * diverged held-out scores (they sit at the cap, not at a loss reached). */
static void final_warnings(report_t *R)
{
    int few = 0;
    for (int s = 0; s < R->n_sch; s++) {
        const sched_t *S = &R->sch[s];
        if (S->n_done > 0 && S->n_done < 5) {
            if (!few++) fprintf(R->md, "\n");
            fprintf(R->md,
                    "**Warning:** %s has %d finished seed%s: with fewer than 5 seeds the "
                    "bootstrap intervals are not meaningful (a resample can only repeat the "
                    "few runs there are); read the intervals as a range of the runs, not as a "
                    "confidence interval.\n\n",
                    S->name, S->n_done, S->n_done == 1 ? "" : "s");
            DQ_WARN("%s: %d finished seed(s); bootstrap intervals need at least 5", S->name,
                    S->n_done);
        }
    }
    if (!R->lm) return;
    int div = 0;
    for (int s = 0; s < R->n_sch; s++) div += R->sch[s].div_scores;
    fprintf(R->md,
            "\nDiverged: %d held-out score%s in all (column above; also in the figures' "
            "keys). A diverged episode (validation loss above `lm.diverge_factor` x the "
            "instance's initial loss, or not finite) ends at once and scores that cap, "
            "`lm.diverge_factor` x L0 in bits per byte (common/env/lm/lmenv.c), so it counts "
            "as a bad score in the IQM rather than being dropped.\n",
            div, div == 1 ? "" : "s");
}

static void improvement_table(report_t *R)
{
    FILE *csv = report_open_out(R, "improvement.csv"), *md = report_open_out(R, "improvement.md");
    if (!csv || !md) goto done;
    int T = R->tasks;
    fprintf(csv, "x,y,p_x_better,ci_low,ci_high,runs_x,runs_y\n");
    FILE *outs[2] = {md, R->md};
    for (int o = 0; o < 2; o++) {
        fprintf(outs[o], "| P(row better than column) |");
        for (int s = 0; s < R->n_sch; s++) fprintf(outs[o], " %s |", R->sch[s].name);
        fprintf(outs[o], "\n|---|");
        for (int s = 0; s < R->n_sch; s++) fprintf(outs[o], "---|");
        fprintf(outs[o], "\n");
    }
    for (int x = 0; x < R->n_sch; x++) {
        for (int o = 0; o < 2; o++) fprintf(outs[o], "| **%s** |", R->sch[x].name);
        for (int y = 0; y < R->n_sch; y++) {
            sched_t *X = &R->sch[x], *Y = &R->sch[y];
            char cell[96] = "-";
            if (x != y && X->n_done > 0 && Y->n_done > 0) {
                double p = rl_prob_improvement(X->score, X->n_done, Y->score, Y->n_done, T,
                                               R->dir_primary),
                       lo, hi;
                rl_prob_improvement_ci(X->score, X->n_done, Y->score, Y->n_done, T, R->dir_primary,
                                       (int)R->cfg->ablation_boot, 0.05, &R->rng, &lo, &hi);
                fprintf(csv, "\"%s\",\"%s\",%.4f,%.4f,%.4f,%d,%d\n", X->name, Y->name, p, lo, hi,
                        X->n_done, Y->n_done);
                snprintf(cell, sizeof cell, "%.2f [%.2f, %.2f]", p, lo, hi);
            } else if (x != y) {
                fprintf(csv, "\"%s\",\"%s\",nan,nan,nan,%d,%d\n", X->name, Y->name, X->n_done,
                        Y->n_done);
                snprintf(cell, sizeof cell, "no finished runs");
            }
            for (int o = 0; o < 2; o++) fprintf(outs[o], " %s |", cell);
        }
        for (int o = 0; o < 2; o++) fprintf(outs[o], "\n");
    }
done:
    if (csv) fclose(csv);
    if (md) fclose(md);
}

static int cmp_double_inf(const void *a, const void *b) { return report_cmp_double(a, b); }

static void efficiency_table(report_t *R)
{
    FILE *csv = report_open_out(R, "efficiency.csv"), *md = report_open_out(R, "efficiency.md");
    if (!csv || !md) goto done;
    double f = R->cfg->ablation_efficiency, best = -INFINITY;
    const char *best_name = "";
    for (int s = 0; s < R->n_sch; s++) {
        if (R->sch[s].n_done == 0) continue;
        double m = rl_iqm(R->sch[s].ret, (size_t)R->sch[s].n_done);
        if (m > best) best = m, best_name = R->sch[s].name;
    }
    double thr = f * best;
    FILE *outs[2] = {md, R->md};
    fprintf(csv, "schedule,threshold,runs_reached,runs_done,median_steps,min_steps,max_steps\n");
    for (int o = 0; o < 2; o++) {
        if (!(best > 0)) {
            fprintf(outs[o], "Not defined: the best final return (%.4g) is not positive.\n", best);
            continue;
        }
        fprintf(outs[o],
                "Threshold: %.0f%% of the best final return (IQM %.4f, %s) = %.4f. A run reaches "
                "it at the first "
                "episode whose smoothed return (trailing window of %.0f env steps) is at least "
                "that.\n\n",
                100 * f, best, best_name, thr, R->window);
        fprintf(outs[o], "| variant | runs that reached it | median env steps | range (runs that "
                         "reached it) |\n|---|---|---|---|\n");
    }
    if (!(best > 0)) goto done;
    for (int s = 0; s < R->n_sch; s++) {
        sched_t *S = &R->sch[s];
        double st[4096];
        int n = 0, reached = 0;
        for (int j = 0; j < S->n; j++) {
            run_t *r = &R->runs[S->runs[j]];
            if (r->status != RUN_DONE) continue;
            double x = INFINITY;
            for (int k = 0; k < r->n_ep; k++)
                if (r->ep[k].x >= R->grid_lo && r->sm_ret[k] >= thr) {
                    x = r->ep[k].x;
                    break;
                }
            reached += isfinite(x);
            st[n++] = x;
        }
        qsort(st, (size_t)n, sizeof *st, cmp_double_inf);
        double med = n == 0 ? NAN : n % 2 ? st[n / 2] : 0.5 * (st[n / 2 - 1] + st[n / 2]);
        double mn = reached ? st[0] : NAN, mx = reached ? st[reached - 1] : NAN;
        fprintf(csv, "\"%s\",%.6f,%d,%d,%.1f,%.1f,%.1f\n", S->name, thr, reached, n, med, mn, mx);
        char a[64], b[96];
        if (n == 0)
            snprintf(a, sizeof a, "no finished runs");
        else if (isinf(med))
            snprintf(a, sizeof a, "not reached");
        else
            snprintf(a, sizeof a, "%.0f", med);
        if (reached)
            snprintf(b, sizeof b, "%.0f - %.0f", mn, mx);
        else
            snprintf(b, sizeof b, "-");
        for (int o = 0; o < 2; o++)
            fprintf(outs[o], "| %s | %d/%d | %s | %s |\n", S->name, reached, n, a, b);
    }
done:
    if (csv) fclose(csv);
    if (md) fclose(md);
}

/* "`a`, `b`": the keys the variants set. */
static const char *varied_list(const report_t *R)
{
    static char buf[2048];
    size_t o = 0;
    buf[0] = 0;
    for (int v = 0; v < R->n_varied && o < sizeof buf - 100; v++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s`%s`", v ? ", " : "", R->varied[v]);
    return buf;
}

/* Everything but the seed and what the variants set must agree between
 * finished runs. */
static void held_fixed(report_t *R)
{
    static const char *fixed_varied[] = {"run.seed", "replay.endpoint", "learner.weights_endpoint",
                                         NULL};
    const run_t *ref = NULL;
    int n_done = 0, n_diff = 0;
    for (int i = 0; i < R->n_runs; i++) {
        const run_t *r = &R->runs[i];
        if (r->status != RUN_DONE) continue;
        n_done++;
        if (!ref) {
            ref = r;
            continue;
        }
        int n = r->n_cfg > ref->n_cfg ? r->n_cfg : ref->n_cfg;
        for (int k = 0; k < n; k++) {
            const char *a = k < ref->n_cfg ? ref->cfg[k] : "(none)",
                       *b = k < r->n_cfg ? r->cfg[k] : "(none)";
            if (!strcmp(a, b)) continue;
            int skip = 0;
            for (int v = 0; fixed_varied[v]; v++) {
                size_t l = strlen(fixed_varied[v]);
                skip |= !strncmp(a, fixed_varied[v], l) && a[l] == ' ';
            }
            for (int v = 0; v < R->n_varied; v++) {
                size_t l = strlen(R->varied[v]);
                skip |= !strncmp(a, R->varied[v], l) && a[l] == ' ';
            }
            if (skip) continue;
            if (n_diff++ < 20)
                fprintf(R->md, "- **differs**: %s has `%s`, %s has `%s`\n", ref->rel, a, r->rel, b);
        }
    }
    if (!ref) return;
    if (n_diff == 0)
        fprintf(
            R->md,
            "Held fixed: every configuration key of the %d finished runs' config.ini agrees except "
            "`run.seed` and what the variants set (%s; and the kernel-chosen loopback endpoints). "
            "The base configuration is [base.ini](../base.ini).\n",
            n_done, varied_list(R));
    else
        fprintf(R->md,
                "\n**Warning:** %d configuration values differ between finished runs beyond the "
                "seed and the variants' settings (listed above).\n",
                n_diff);
}

/* Title and the one-paragraph account of the folder. */
static void write_intro(report_t *R)
{
    FILE *md = R->md;
    int n_done = 0, seeds = 0;
    double wall = 0;
    const run_t *any = NULL;
    for (int i = 0; i < R->n_runs; i++)
        if (R->runs[i].status == RUN_DONE) {
            n_done++;
            if (isfinite(R->runs[i].wall_s)) wall += R->runs[i].wall_s;
            if (!any) any = &R->runs[i];
        }
    for (int s = 0; s < R->n_sch; s++) seeds = R->sch[s].n > seeds ? R->sch[s].n : seeds;

    fprintf(md, "# Ablation: %s\n\n", varied_list(R));
    fprintf(md,
            "Folder `%s`: %d variants x up to %d seeds = %d planned runs; **%d finished**, %d not "
            "(listed below). Written by `dqnlm-report` from the run folders.\n\n",
            R->dir, R->n_sch, seeds, R->n_runs, n_done, R->n_runs - n_done);
    if (any)
        fprintf(md,
                "Environment `%s`; %s learner updates per run, %s actor(s); %.0f s of run time in "
                "total.\n\n",
                report_cfg_get(any, "env.name"), report_cfg_get(any, "learner.updates"),
                report_cfg_get(any, "actor.count"), wall);
}

static void write_setup(report_t *R)
{
    FILE *md = R->md;
    fprintf(md, "## Setup\n\n| variant | %s | seeds (run.seed) | finished |\n|---|---|---|---|\n",
            R->settings ? "settings" : "exploration (actor.exploration)");
    for (int s = 0; s < R->n_sch; s++) {
        sched_t *S = &R->sch[s];
        fprintf(md, "| %s | `%s` | ", S->name, S->expl);
        for (int j = 0; j < S->n; j++)
            fprintf(md, "%s%ld", j ? ", " : "", R->runs[S->runs[j]].seed);
        fprintf(md, " | %d/%d |\n", S->n_done, S->n);
    }
    fprintf(md, "\n");
    held_fixed(R);
}

static void write_missing(report_t *R)
{
    FILE *md = R->md;
    fprintf(md, "\n## Missing and unfinished runs\n\n");
    int missing = 0;
    for (int i = 0; i < R->n_runs; i++)
        if (R->runs[i].status != RUN_DONE) missing++;
    if (!missing)
        fprintf(md, "None: every planned run finished and is in the statistics.\n");
    else {
        fprintf(md,
                "%d of %d planned runs are left out of every statistic below (also in "
                "[runs.csv](runs.csv)):\n\n"
                "| run | variant | seed | status | why |\n|---|---|---|---|---|\n",
                missing, R->n_runs);
        for (int i = 0; i < R->n_runs; i++) {
            const run_t *r = &R->runs[i];
            if (r->status != RUN_DONE)
                fprintf(md, "| %s | %s | %ld | %s | %s |\n", r->rel, r->schedule, r->seed,
                        report_status_name[r->status], r->why);
        }
    }
}

static void write_final(report_t *R, const int figs_ok[5])
{
    FILE *md = R->md;
    fprintf(md, "\n## Final performance\n\n");
    if (R->lm)
        fprintf(md,
                "Primary score: the greedy policy's final validation **bits per byte** on the same "
                "%d held-out LM instances "
                "for every run (lower is better); IQM over seeds x instances, 95%% "
                "stratified-bootstrap interval "
                "(instances are the strata, seeds are resampled within each; %ld resamples). "
                "Final return: mean return of the training episodes in the last %.0f%% of a run's "
                "env steps; "
                "IQM across seeds with a bootstrap interval. ([final.csv](final.csv))\n\n",
                R->tasks, R->cfg->ablation_boot, 100 * R->cfg->ablation_window);
    else
        fprintf(md,
                "Score: final return = mean return of the training episodes in the last %.0f%% of "
                "a run's env steps "
                "(higher is better); IQM across seeds, 95%% bootstrap interval (%ld resamples). "
                "([final.csv](final.csv))\n\n",
                100 * R->cfg->ablation_window, R->cfg->ablation_boot);
    final_table(R);
    final_warnings(R);
    if (figs_ok[4] >= 0 && report_plot_final(R) == 0)
        fprintf(md, "\n![final scores](final.png) ([SVG](final.svg))\n");
}

static void write_improvement_efficiency(report_t *R)
{
    FILE *md = R->md;
    fprintf(md,
            "\n## Probability of improvement\n\n"
            "P(row better than column) on the %s: the probability that a random run of the row's "
            "variant "
            "scores better than a random run of the column's%s (ties count one half), with a 95%% "
            "stratified-bootstrap interval. 0.5 = no difference; an interval excluding 0.5 is a "
            "difference beyond seed noise. ([improvement.csv](improvement.csv))\n\n",
            R->primary_name,
            R->lm ? " on the same held-out instance, averaged over instances" : "");
    improvement_table(R);

    fprintf(md, "\n## Sample efficiency\n\n");
    efficiency_table(R);
    fprintf(md, "\n([efficiency.csv](efficiency.csv))\n");
}

static void write_curves(report_t *R, const int figs_ok[5])
{
    FILE *md = R->md;
    fprintf(md,
            "\n## Learning curves\n\n"
            "x: env steps of the whole job (an actor's steps times the actor count). Each run's "
            "curve is the "
            "mean over a trailing window of %.0f env steps (%.0f%% of the shortest run), linearly "
            "interpolated "
            "onto %ld common grid points from %.0f to %.0f env steps; the line is the IQM across "
            "seeds, the "
            "band its 95%% bootstrap interval.\n\n",
            R->window, 100 * R->cfg->ablation_window, R->cfg->ablation_grid, R->grid_lo,
            R->grid_hi);
    if (figs_ok[0])
        fprintf(md, "![return](curve_return.png)\n\n[SVG](curve_return.svg), data "
                    "[curve_return.dat](curve_return.dat)\n\n");
    else
        fprintf(md, "Episode return: data in [curve_return.dat](curve_return.dat) (no figure: "
                    "gnuplot unavailable or failed, see gnuplot.log).\n\n");
    if (R->lm) {
        fprintf(md, "Final validation bits per byte of the LM each training episode trained "
                    "(behaviour policy, with exploration):\n\n");
        if (figs_ok[1])
            fprintf(md, "![training bpb](curve_train_bpb.png)\n\n[SVG](curve_train_bpb.svg), data "
                        "[curve_train_bpb.dat](curve_train_bpb.dat)\n\n");
        else
            fprintf(md, "data in [curve_train_bpb.dat](curve_train_bpb.dat)\n\n");
        fprintf(md, "Evaluation: the greedy policy of the learner's snapshots (same update counts "
                    "in every run) on the "
                    "held-out instances; x is the median env steps at the snapshot, the point the "
                    "IQM over seeds x instances and the bar its 95%% stratified-bootstrap "
                    "interval, the same aggregation as the final table (the last point is the "
                    "final table's number):\n\n");
        if (figs_ok[2])
            fprintf(md, "![held-out bpb](curve_heldout_bpb.png)\n\n[SVG](curve_heldout_bpb.svg), "
                        "data [curve_heldout_bpb.dat](curve_heldout_bpb.dat)\n\n");
        else
            fprintf(md, "data in [curve_heldout_bpb.dat](curve_heldout_bpb.dat)\n\n");
    }
}

static void write_profiles(report_t *R, const int figs_ok[5])
{
    FILE *md = R->md;
    fprintf(md,
            "## Performance profiles\n\n"
            "For every threshold tau, the fraction of a variant's scores (%s) %s than tau, with a "
            "95%% "
            "stratified-bootstrap band. A curve %s another everywhere is better at every "
            "threshold.\n\n",
            R->lm ? "one per seed and held-out instance: final bits per byte"
                  : "one per seed: final return",
            R->dir_primary == RL_LOWER_IS_BETTER ? "lower" : "higher",
            R->dir_primary == RL_LOWER_IS_BETTER ? "above" : "above");
    if (figs_ok[3])
        fprintf(
            md,
            "![profiles](profile.png)\n\n[SVG](profile.svg), data [profile.dat](profile.dat)\n");
    else
        fprintf(md, "data in [profile.dat](profile.dat)\n");
    fprintf(md, "\nEvery run: [runs.csv](runs.csv). Tables: final.md, improvement.md, "
                "efficiency.md (and .csv).\n");
}

void report_tables_write(report_t *R, int figs_ok[5])
{
    write_intro(R);
    write_setup(R);
    write_missing(R);
    write_final(R, figs_ok);
    write_improvement_efficiency(R);
    write_curves(R, figs_ok);
    write_profiles(R, figs_ok);
}

void report_tables_runs_csv(report_t *R)
{
    FILE *f = report_open_out(R, "runs.csv");
    if (!f) return;
    fprintf(
        f,
        "index,schedule,seed,run,status,why,env_steps,episodes,final_return,heldout_bpb,wall_s\n");
    for (int i = 0; i < R->n_runs; i++) {
        const run_t *r = &R->runs[i];
        double h = NAN;
        if (r->heldout) {
            h = 0;
            for (int t = 0; t < R->tasks; t++) h += r->heldout[t] / R->tasks;
        }
        fprintf(f, "%d,\"%s\",%ld,\"%s\",%s,\"%s\",%.0f,%d,%.6f,%.6f,%.0f\n", r->index, r->schedule,
                r->seed, r->rel, report_status_name[r->status], r->why, r->x_end, r->n_ep,
                r->final_ret, h, r->wall_s);
    }
    fclose(f);
}
