/* rlstats.c - see rlstats.h. */
#include "rlstats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* IQM of x, sorting x in place. */
static double iqm_inplace(double *x, size_t n)
{
    if (n == 0) return NAN;
    qsort(x, n, sizeof *x, cmp_double);
    size_t k = n / 4;
    double s = 0;
    for (size_t i = k; i < n - k; i++) s += x[i];
    return s / (double)(n - 2 * k);
}

double rl_iqm(const double *x, size_t n)
{
    if (n == 0) return NAN;
    double *tmp = malloc(n * sizeof *tmp);
    if (!tmp) return NAN;
    memcpy(tmp, x, n * sizeof *tmp);
    double r = iqm_inplace(tmp, n);
    free(tmp);
    return r;
}

/* Percentile of sorted values with linear interpolation (numpy's default). */
static double percentile(const double *sorted, int n, double q)
{
    double pos = q * (double)(n - 1);
    int i = (int)floor(pos);
    if (i >= n - 1) return sorted[n - 1];
    double f = pos - (double)i;
    return sorted[i] * (1 - f) + sorted[i + 1] * f;
}

static void resample(const double *scores, int runs, int tasks, dq_rng_t *rng, double *out)
{
    for (int t = 0; t < tasks; t++)
        for (int r = 0; r < runs; r++)
            out[r * tasks + t] = scores[(int)dq_rng_below(rng, (uint64_t)runs) * tasks + t];
}

int rl_iqm_ci(const double *scores, int runs, int tasks, int n_boot, double alpha, dq_rng_t *rng,
              double *lo, double *hi)
{
    if (runs < 1 || tasks < 1 || n_boot < 1 || !(alpha > 0 && alpha < 1)) return DQ_EINVAL;
    size_t n = (size_t)runs * (size_t)tasks;
    double *buf = malloc(n * sizeof *buf), *stat = malloc((size_t)n_boot * sizeof *stat);
    if (!buf || !stat) {
        free(buf);
        free(stat);
        return DQ_ENOMEM;
    }
    for (int b = 0; b < n_boot; b++) {
        resample(scores, runs, tasks, rng, buf);
        stat[b] = iqm_inplace(buf, n);
    }
    qsort(stat, (size_t)n_boot, sizeof *stat, cmp_double);
    *lo = percentile(stat, n_boot, alpha / 2);
    *hi = percentile(stat, n_boot, 1 - alpha / 2);
    free(buf);
    free(stat);
    return DQ_OK;
}

double rl_prob_improvement(const double *x, int runs_x, const double *y, int runs_y, int tasks,
                           rl_direction_t dir)
{
    if (runs_x < 1 || runs_y < 1 || tasks < 1) return NAN;
    double total = 0;
    for (int t = 0; t < tasks; t++) {
        double wins = 0;
        for (int i = 0; i < runs_x; i++)
            for (int j = 0; j < runs_y; j++) {
                double a = x[i * tasks + t], b = y[j * tasks + t];
                if (a == b)
                    wins += 0.5;
                else if ((dir == RL_LOWER_IS_BETTER) ? a < b : a > b)
                    wins += 1;
            }
        total += wins / ((double)runs_x * runs_y);
    }
    return total / tasks;
}

int rl_prob_improvement_ci(const double *x, int runs_x, const double *y, int runs_y, int tasks,
                           rl_direction_t dir, int n_boot, double alpha, dq_rng_t *rng, double *lo,
                           double *hi)
{
    if (runs_x < 1 || runs_y < 1 || tasks < 1 || n_boot < 1 || !(alpha > 0 && alpha < 1))
        return DQ_EINVAL;
    double *bx = malloc((size_t)runs_x * tasks * sizeof *bx);
    double *by = malloc((size_t)runs_y * tasks * sizeof *by);
    double *stat = malloc((size_t)n_boot * sizeof *stat);
    if (!bx || !by || !stat) {
        free(bx);
        free(by);
        free(stat);
        return DQ_ENOMEM;
    }
    for (int b = 0; b < n_boot; b++) {
        resample(x, runs_x, tasks, rng, bx);
        resample(y, runs_y, tasks, rng, by);
        stat[b] = rl_prob_improvement(bx, runs_x, by, runs_y, tasks, dir);
    }
    qsort(stat, (size_t)n_boot, sizeof *stat, cmp_double);
    *lo = percentile(stat, n_boot, alpha / 2);
    *hi = percentile(stat, n_boot, 1 - alpha / 2);
    free(bx);
    free(by);
    free(stat);
    return DQ_OK;
}

/* 1 when a beats b by more than tie in direction dir, 0.5 within tie, else 0. */
static double paired_win(double a, double b, double tie, rl_direction_t dir)
{
    double d = dir == RL_LOWER_IS_BETTER ? b - a : a - b;
    if (fabs(d) <= tie) return 0.5;
    return d > 0 ? 1.0 : 0.0;
}

double rl_paired_prob_improvement(const double *x, const double *y, int runs, int tasks, double tie,
                                  rl_direction_t dir)
{
    if (runs < 1 || tasks < 1) return NAN;
    double total = 0;
    for (int t = 0; t < tasks; t++) {
        double wins = 0;
        for (int r = 0; r < runs; r++)
            wins += paired_win(x[r * tasks + t], y[r * tasks + t], tie, dir);
        total += wins / runs;
    }
    return total / tasks;
}

int rl_paired_prob_improvement_ci(const double *x, const double *y, int runs, int tasks, double tie,
                                  rl_direction_t dir, int n_boot, double alpha, dq_rng_t *rng,
                                  double *lo, double *hi)
{
    if (runs < 1 || tasks < 1 || n_boot < 1 || !(alpha > 0 && alpha < 1)) return DQ_EINVAL;
    double *stat = malloc((size_t)n_boot * sizeof *stat);
    if (!stat) return DQ_ENOMEM;
    for (int b = 0; b < n_boot; b++) {
        /* the same resampled instances for both methods, stratum by stratum */
        double total = 0;
        for (int t = 0; t < tasks; t++) {
            double wins = 0;
            for (int r = 0; r < runs; r++) {
                int k = (int)dq_rng_below(rng, (uint64_t)runs) * tasks + t;
                wins += paired_win(x[k], y[k], tie, dir);
            }
            total += wins / runs;
        }
        stat[b] = total / tasks;
    }
    qsort(stat, (size_t)n_boot, sizeof *stat, cmp_double);
    *lo = percentile(stat, n_boot, alpha / 2);
    *hi = percentile(stat, n_boot, 1 - alpha / 2);
    free(stat);
    return DQ_OK;
}
