/* rlstats.h - the statistics dqnlm reports: interquartile mean, stratified
 * bootstrap confidence intervals and probability of improvement, following
 * Agarwal et al., "Deep RL at the Edge of the Statistical Precipice" (2021).
 *
 * Scores are laid out (runs, tasks) row-major: scores[r * tasks + t] is run r
 * on task t. A "task" is a stratum (for evaluation, a held-out LM instance;
 * for ablations, a configuration), "runs" are its repetitions (seeds).
 *
 *   double iqm = rl_iqm(scores, runs * tasks);
 *   rl_iqm_ci(scores, runs, tasks, 2000, 0.05, &rng, &lo, &hi);
 *   double p = rl_prob_improvement(x, runs_x, y, runs_y, tasks, RL_LOWER_IS_BETTER);
 */
#ifndef DQ_RLSTATS_H
#define DQ_RLSTATS_H

#include <stddef.h>

#include "rng.h"

typedef enum { RL_HIGHER_IS_BETTER = 0, RL_LOWER_IS_BETTER = 1 } rl_direction_t;

/* Mean of the middle half: sort, drop floor(n/4) values from each end, average
 * the rest (scipy.stats.trim_mean(x, 0.25)). NAN for n == 0. */
double rl_iqm(const double *x, size_t n);

/* Percentile interval [lo, hi] at level 1 - alpha of the IQM over n_boot
 * stratified bootstrap resamples: each resample draws, independently for every
 * task, `runs` runs with replacement from that task's runs. Returns 0 or
 * DQ_EINVAL / DQ_ENOMEM. */
int rl_iqm_ci(const double *scores, int runs, int tasks, int n_boot, double alpha, dq_rng_t *rng,
              double *lo, double *hi);

/* P(X better than Y): for every task, the probability that a random run of X
 * beats a random run of Y (ties count one half; the Mann-Whitney statistic),
 * averaged over tasks. x is (runs_x, tasks), y is (runs_y, tasks). */
double rl_prob_improvement(const double *x, int runs_x, const double *y, int runs_y, int tasks,
                           rl_direction_t dir);

/* Same with a stratified bootstrap percentile interval. */
int rl_prob_improvement_ci(const double *x, int runs_x, const double *y, int runs_y, int tasks,
                           rl_direction_t dir, int n_boot, double alpha, dq_rng_t *rng, double *lo,
                           double *hi);

/* Paired P(X better than Y), for methods run on the same instances: x and y
 * are (runs, tasks) with the same instance at the same place. Per task, the
 * fraction of its runs where x beats y by more than tie (|x - y| <= tie counts
 * one half), averaged over tasks. */
double rl_paired_prob_improvement(const double *x, const double *y, int runs, int tasks, double tie,
                                  rl_direction_t dir);

/* Same with a stratified bootstrap percentile interval that resamples the
 * instances of each task (the same ones for x and y). */
int rl_paired_prob_improvement_ci(const double *x, const double *y, int runs, int tasks, double tie,
                                  rl_direction_t dir, int n_boot, double alpha, dq_rng_t *rng,
                                  double *lo, double *hi);

#endif
