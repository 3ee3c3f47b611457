/* report_stats.c - per-schedule statistics of dqnlm-report (report_stats.h):
 * trailing-window smoothing of each run's episodes, interpolation onto the
 * common grid, IQM bands across seeds, snapshot curves and performance
 * profiles. The estimators themselves are rlstats.h's.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_stats.h"

/* IQM and 95% bootstrap interval of the finite values among x[0..n). */
int report_stats_iqm_band(report_t *R, const double *x, int n, double *m, double *lo, double *hi)
{
    double v[4096];
    int k = 0;
    for (int i = 0; i < n && k < 4096; i++)
        if (isfinite(x[i])) v[k++] = x[i];
    *m = *lo = *hi = NAN;
    if (k == 0) return 0;
    *m = rl_iqm(v, (size_t)k);
    rl_iqm_ci(v, k, 1, (int)R->cfg->ablation_boot, 0.05, &R->rng, lo, hi);
    return k;
}

/* ------------------------------------------------------------ scores */

/* Trailing-window mean of v over the episodes in (x_i - W, x_i]. */
static double *smooth(const run_t *r, int use_bpb, double W)
{
    double *out = report_calloc((size_t)r->n_ep, sizeof *out);
    double s = 0;
    int n = 0, j = 0;
    for (int i = 0; i < r->n_ep; i++) {
        double v = use_bpb ? r->ep[i].bpb : r->ep[i].ret;
        if (isfinite(v)) s += v, n++;
        while (r->ep[j].x <= r->ep[i].x - W) {
            double w = use_bpb ? r->ep[j].bpb : r->ep[j].ret;
            if (isfinite(w)) s -= w, n--;
            j++;
        }
        out[i] = n > 0 ? s / n : NAN;
    }
    return out;
}

/* Linear interpolation of a run's smoothed curve at x; NAN outside it. */
static double interp(const run_t *r, const double *v, double x)
{
    if (r->n_ep == 0 || x < r->ep[0].x || x > r->ep[r->n_ep - 1].x) return NAN;
    int lo = 0, hi = r->n_ep - 1;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (r->ep[mid].x <= x)
            lo = mid;
        else
            hi = mid;
    }
    double x0 = r->ep[lo].x, x1 = r->ep[hi].x;
    if (x1 <= x0) return v[hi];
    return v[lo] + (v[hi] - v[lo]) * (x - x0) / (x1 - x0);
}

void report_stats_schedules(report_t *R)
{
    R->sch = report_calloc((size_t)R->n_runs, sizeof *R->sch);
    for (int i = 0; i < R->n_runs; i++) {
        run_t *r = &R->runs[i];
        int s = 0;
        while (s < R->n_sch && strcmp(R->sch[s].name, r->schedule)) s++;
        if (s == R->n_sch) {
            snprintf(R->sch[s].name, sizeof R->sch[s].name, "%s", r->schedule);
            snprintf(R->sch[s].expl, sizeof R->sch[s].expl, "%s", r->expl);
            R->sch[s].runs = report_calloc((size_t)R->n_runs, sizeof(int));
            R->n_sch++;
        }
        R->sch[s].runs[R->sch[s].n++] = i;
        if (r->status == RUN_DONE) R->sch[s].n_done++;
    }
}

/* The one aggregation of a primary score (tables, figures, curves): the IQM
 * over all (n runs x R->tasks) scores, and its 95% stratified-bootstrap
 * interval (tasks are the strata, runs are resampled within each). */
static void final_score(report_t *R, const double *score, int n, double *m, double *lo, double *hi)
{
    *m = *lo = *hi = NAN;
    if (n <= 0) return;
    *m = rl_iqm(score, (size_t)n * (size_t)R->tasks);
    rl_iqm_ci(score, n, R->tasks, (int)R->cfg->ablation_boot, 0.05, &R->rng, lo, hi);
}

void report_stats_scores(report_t *R)
{
    /* Common window: a share of the shortest finished run. */
    double xmin = INFINITY, xfirst = 0;
    for (int i = 0; i < R->n_runs; i++) {
        run_t *r = &R->runs[i];
        if (r->status != RUN_DONE) continue;
        if (r->x_end < xmin) xmin = r->x_end;
        if (r->ep[0].x > xfirst) xfirst = r->ep[0].x;
    }
    for (int s = 0; s < R->n_sch; s++) /* no finished run: no score (not 0) */
        R->sch[s].fin_m = R->sch[s].fin_lo = R->sch[s].fin_hi = NAN;
    if (!isfinite(xmin)) return;
    R->window = R->cfg->ablation_window * xmin;
    R->grid_lo = xfirst;
    R->grid_hi = xmin;
    for (int i = 0; i < R->n_runs; i++) {
        run_t *r = &R->runs[i];
        if (r->status != RUN_DONE) continue;
        r->sm_ret = smooth(r, 0, R->window);
        if (R->lm) r->sm_bpb = smooth(r, 1, R->window);
        double s = 0;
        int n = 0;
        for (int k = 0; k < r->n_ep; k++)
            if (r->ep[k].x > r->x_end - R->cfg->ablation_window * r->x_end) s += r->ep[k].ret, n++;
        r->final_ret = n ? s / n : NAN;
    }
    int T = R->tasks;
    for (int s = 0; s < R->n_sch; s++) {
        sched_t *S = &R->sch[s];
        S->score = report_calloc((size_t)S->n_done * (size_t)T, sizeof(double));
        S->ret = report_calloc((size_t)S->n_done, sizeof(double));
        int k = 0;
        for (int j = 0; j < S->n; j++) {
            run_t *r = &R->runs[S->runs[j]];
            if (r->status != RUN_DONE) continue;
            S->ret[k] = r->final_ret;
            for (int t = 0; t < T; t++) S->score[k * T + t] = R->lm ? r->heldout[t] : r->final_ret;
            S->div_scores += r->n_div;
            S->div_runs += r->n_div > 0;
            k++;
        }
        final_score(R, S->score, S->n_done, &S->fin_m, &S->fin_lo, &S->fin_hi);
    }
}
/* ------------------------------------------------------------ curves and profiles */

/* Learning curve `what` (0 return, 1 training-episode bpb): per schedule and
 * grid point, the IQM across seeds of the runs' interpolated curves and its
 * bootstrap interval. */
int report_stats_curve(report_t *R, int what, const char *name)
{
    char file[96];
    snprintf(file, sizeof file, "%s.dat", name);
    FILE *f = report_open_out(R, file);
    if (!f) return -1;
    int G = (int)R->cfg->ablation_grid;
    fprintf(
        f,
        "# env_steps iqm ci_low ci_high runs   (one block per schedule; window %.0f env steps)\n",
        R->window);
    for (int s = 0; s < R->n_sch; s++) {
        sched_t *S = &R->sch[s];
        fprintf(f, "# schedule %s: %s\n", S->name, S->expl);
        double *v = report_calloc((size_t)S->n, sizeof *v);
        for (int gi = 0; gi < G && S->n_done > 0; gi++) {
            double x = R->grid_lo + (R->grid_hi - R->grid_lo) * gi / (G - 1);
            int n = 0;
            for (int j = 0; j < S->n; j++) {
                run_t *r = &R->runs[S->runs[j]];
                if (r->status == RUN_DONE) v[n++] = interp(r, what ? r->sm_bpb : r->sm_ret, x);
            }
            double m, lo, hi;
            int k = report_stats_iqm_band(R, v, n, &m, &lo, &hi);
            if (k > 0) fprintf(f, "%.1f %.6g %.6g %.6g %d\n", x, m, lo, hi, k);
        }
        if (S->n_done == 0) fprintf(f, "nan nan nan nan 0\n");
        fprintf(f, "\n\n");
        free(v);
    }
    fclose(f);
    return 0;
}

/* Held-out greedy bits per byte at the learner's snapshots: snapshot k of
 * every run is at the same update count; x = the median env steps there; the
 * value is the same aggregation as the final table's (final_score) over the
 * runs' (seed, instance) scores at the snapshot, and the last point is the
 * final table's number itself. */
static void heldout_point(report_t *R, FILE *f, sched_t *S, int k, int n_snap)
{
    int T = R->tasks, n = 0, nd = 0;
    long u = 0;
    double *xs = report_calloc((size_t)S->n, sizeof *xs);
    double *v = report_calloc((size_t)S->n * (size_t)T, sizeof *v);
    for (int j = 0; j < S->n; j++) {
        run_t *r = &R->runs[S->runs[j]];
        if (r->status != RUN_DONE) continue;
        /* the last point of every run is its final evaluation */
        int kk = k == n_snap - 1 ? r->n_snap - 1 : k;
        xs[n] = r->snap_x[kk];
        memcpy(v + (size_t)n * T, r->snap_bpb[kk], (size_t)T * sizeof *v);
        nd += r->snap_div[kk];
        u = r->snap_u[kk];
        n++;
    }
    qsort(xs, (size_t)n, sizeof *xs, report_cmp_double);
    double m = S->fin_m, lo = S->fin_lo, hi = S->fin_hi;
    if (k < n_snap - 1) final_score(R, v, n, &m, &lo, &hi);
    fprintf(f, "%.1f %.6g %.6g %.6g %d %ld %d\n",
            n % 2 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]), m, lo, hi, n, u, nd);
    free(xs);
    free(v);
}

int report_stats_heldout_curve(report_t *R)
{
    FILE *f = report_open_out(R, "curve_heldout_bpb.dat");
    if (!f) return -1;
    fprintf(f, "# env_steps iqm ci_low ci_high runs updates diverged   (greedy policy, held-out "
               "instances; IQM over seeds x instances, stratified-bootstrap CI)\n");
    for (int s = 0; s < R->n_sch; s++) {
        sched_t *S = &R->sch[s];
        fprintf(f, "# schedule %s: %s\n", S->name, S->expl);
        int n_snap = MAX_SNAP;
        for (int j = 0; j < S->n; j++) {
            run_t *r = &R->runs[S->runs[j]];
            if (r->status == RUN_DONE && r->n_snap < n_snap) n_snap = r->n_snap;
        }
        if (S->n_done == 0) n_snap = 0;
        for (int k = 0; k < n_snap; k++) heldout_point(R, f, S, k, n_snap);
        if (n_snap == 0) fprintf(f, "nan nan nan nan 0 0 0\n");
        fprintf(f, "\n\n");
    }
    fclose(f);
    return 0;
}

/* Fraction of a schedule's (run, task) scores better than tau. */
static double frac_better(const double *x, int n, double tau, rl_direction_t dir)
{
    int k = 0;
    for (int i = 0; i < n; i++) k += dir == RL_LOWER_IS_BETTER ? x[i] < tau : x[i] > tau;
    return n ? (double)k / n : NAN;
}

int report_stats_profiles(report_t *R)
{
    FILE *f = report_open_out(R, "profile.dat");
    if (!f) return -1;
    int T = R->tasks, P = 101, B = (int)R->cfg->ablation_boot;
    double lo = INFINITY, hi = -INFINITY;
    for (int s = 0; s < R->n_sch; s++)
        for (int i = 0; i < R->sch[s].n_done * T; i++) {
            lo = fmin(lo, R->sch[s].score[i]);
            hi = fmax(hi, R->sch[s].score[i]);
        }
    if (!(hi > lo)) hi = lo + 1;
    double pad = 0.02 * (hi - lo);
    lo -= pad;
    hi += pad;
    fprintf(f, "# tau fraction_better ci_low ci_high   (%s; one block per schedule)\n",
            R->primary_name);
    double *boot = report_calloc((size_t)B * P, sizeof *boot);
    for (int s = 0; s < R->n_sch; s++) {
        sched_t *S = &R->sch[s];
        fprintf(f, "# schedule %s: %s\n", S->name, S->expl);
        int n = S->n_done;
        if (n == 0) {
            fprintf(f, "nan nan nan nan\n\n\n");
            continue;
        }
        /* stratified bootstrap: per task, n runs drawn with replacement */
        double *res = report_calloc((size_t)n * T, sizeof *res);
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++)
                for (int i = 0; i < n; i++)
                    res[i * T + t] = S->score[(int)dq_rng_below(&R->rng, (uint64_t)n) * T + t];
            for (int p = 0; p < P; p++)
                boot[p * B + b] =
                    frac_better(res, n * T, lo + (hi - lo) * p / (P - 1), R->dir_primary);
        }
        for (int p = 0; p < P; p++) {
            double tau = lo + (hi - lo) * p / (P - 1);
            double *col = boot + (size_t)p * B;
            qsort(col, (size_t)B, sizeof *col, report_cmp_double);
            fprintf(f, "%.6g %.4f %.4f %.4f\n", tau,
                    frac_better(S->score, n * T, tau, R->dir_primary),
                    col[(int)floor(0.025 * (B - 1))], col[(int)ceil(0.975 * (B - 1))]);
        }
        fprintf(f, "\n\n");
        free(res);
    }
    free(boot);
    fclose(f);
    return 0;
}
