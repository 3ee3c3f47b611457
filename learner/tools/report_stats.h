/* report_stats.h - the per-schedule statistics of dqnlm-report, built on
 * rlstats.h (IQM, stratified bootstrap): scores per schedule, learning curves
 * smoothed and interpolated onto a common grid with bootstrap bands, the
 * held-out curve at the learner's snapshots, and performance profiles. The
 * curve and profile functions write the .dat files the figures draw.
 *
 * All draw from R->rng, so the order of the calls fixes the numbers: schedules,
 * scores, then curves and profiles, then the tables (report_tables.h).
 */
#ifndef DQNLM_REPORT_STATS_H
#define DQNLM_REPORT_STATS_H

#include "report_data.h"

/* Groups R->runs by schedule name, in manifest order, into R->sch. */
void report_stats_schedules(report_t *R);

/* Sets the common window and grid (from the shortest finished run), each
 * finished run's smoothed curves and final return, and every schedule's
 * (n_done, tasks) primary scores and final returns. */
void report_stats_scores(report_t *R);

/* IQM (*m) and 95% bootstrap interval (*lo, *hi) of the finite values among
 * x[0..n); returns their count (0: all three NAN). */
int report_stats_iqm_band(report_t *R, const double *x, int n, double *m, double *lo, double *hi);

/* Writes NAME.dat: learning curve `what` (0 return, 1 training-episode bpb),
 * one block per schedule of grid points: env steps, IQM, CI, runs. */
int report_stats_curve(report_t *R, int what, const char *name);

/* Writes curve_heldout_bpb.dat: the greedy policy's held-out bits per byte at
 * the learner's snapshots, one block per schedule. */
int report_stats_heldout_curve(report_t *R);

/* Writes profile.dat: per schedule, the fraction of scores better than tau
 * over a tau grid, with a stratified-bootstrap band. */
int report_stats_profiles(report_t *R);

#endif
