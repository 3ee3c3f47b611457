/* lmetrics.c - see lmetrics.h. */
#include "lmetrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "metrics.h"
#include "sampler.h"

/* The columns of RUN_DIR/learner.csv, a row every learner.metrics_every
 * updates (X(name, fmt, expr) as common/metrics.h describes), over the learner
 * L, the accumulated update statistics acc (n updates), the row's time now,
 * its updates per second ups and the gradient norm. The names are read by
 * dqnlm-report and the deploy scripts, by name. */
/* clang-format off */
#define LEARNER_METRIC_COLS(X)                                                                     \
    X(time_s,          "%.3f",     M->base[0] + now - M->t_start)                                               \
    X(updates,         "%" PRIu64, L->prog.updates)                                                \
    X(loss,            "%.6g",     acc[UPD_LOSS] / n)                                              \
    X(q_mean,          "%.6g",     acc[UPD_Q] / n)                                                 \
    X(abs_td_mean,     "%.6g",     acc[UPD_ABS_TD] / n)                                            \
    X(abs_td_max,      "%.6g",     acc[UPD_MAX_TD])                                                \
    X(updates_per_s,   "%.2f",     ups)                                                            \
    X(samples_per_s,   "%.1f",     ups * (double)L->cfg->learner_batch)                            \
    X(replay_size,     "%.0f",     L->replay_size)                                                 \
    X(replay_inserts,  "%.0f",     L->replay_inserts)                                              \
    X(wait_s,          "%.4f",     M->base[1] + L->t_wait)                                         \
    X(compute_s,       "%.4f",     M->base[2] + L->t_compute)                                      \
    X(allreduce_s,     "%.4f",     M->base[3] + L->t_allreduce)                                    \
    X(weights_version, "%" PRIu64, L->prog.version)                                                \
    X(grad_norm,       "%.4g",     (double)grad_norm)                                              \
    X(invalid,         "%.0f",     acc[UPD_INVALID])
/* clang-format on */

void lmetrics_open(learner_t *L)
{
    if (L->rank != 0) return;
    char path[DQ_CONFIG_STR_MAX + 32];
    snprintf(path, sizeof path, "%s/learner.csv", L->cfg->run_dir);
    L->metrics = dq_metrics_open(path, DQ_METRICS_HEADER(LEARNER_METRIC_COLS));
}

/* A resumed learner continues learner.csv: time_s and the cumulative timers
 * go on from the last row at or before the checkpoint's update, and rows
 * written after the checkpoint (by a learner killed before its next one)
 * are cut, so updates, time_s and the timers never go backwards. */
static void continue_csv(lmetrics_t *M, const learner_t *L)
{
    static const char *const names[] = {"time_s", "wait_s", "compute_s", "allreduce_s"};
    char path[DQ_CONFIG_STR_MAX + 32], why[512];
    snprintf(path, sizeof path, "%s/learner.csv", L->cfg->run_dir);
    double v[4];
    int rc =
        dq_metrics_resume(path, "updates", (double)L->prog.updates, names, v, 4, why, sizeof why);
    if (rc < 0) {
        DQ_WARN("learner.csv does not continue: %s", why);
        return;
    }
    if (rc == 0) return;
    for (int k = 0; k < 4; k++) M->base[k] = isfinite(v[k]) ? v[k] : 0.0;
    DQ_INFO("learner.csv continues after update %" PRIu64 " at time_s %.3f", L->prog.updates,
            M->base[0]);
}

void lmetrics_start(lmetrics_t *M, const learner_t *L)
{
    memset(M, 0, sizeof *M);
    M->t_start = M->t_row = dq_now();
    M->row_updates = L->prog.updates;
    /* with no checkpoint found (updates 0) the rows of before are cut too: the
     * file never goes backwards */
    if (L->rank == 0 && L->cfg->learner_resume) continue_csv(M, L);
}

static void write_row(lmetrics_t *M, learner_t *L, float grad_norm)
{
    const double *acc = M->acc;
    double now = dq_now(), dt = now - M->t_row;
    double ups = (double)(L->prog.updates - M->row_updates) / dt;
    double n = acc[UPD_COUNT] > 0 ? acc[UPD_COUNT] : 1;
    DQ_METRICS_WRITE(L->metrics, LEARNER_METRIC_COLS);
    DQ_INFO("update %" PRIu64 ": loss %.4g, mean Q %.4g, |TD| %.3g, %.1f updates/s, replay "
            "%.0f items (%.0f inserted), weights v%" PRIu64,
            L->prog.updates, acc[UPD_LOSS] / n, acc[UPD_Q] / n, acc[UPD_ABS_TD] / n, ups,
            L->replay_size, L->replay_inserts, L->prog.version);
    M->t_row = now;
}

void lmetrics_add(lmetrics_t *M, learner_t *L, const double *stats, float grad_norm)
{
    for (int k = 0; k < UPD_N; k++)
        M->acc[k] = k == UPD_MAX_TD ? fmax(M->acc[k], stats[k]) : M->acc[k] + stats[k];
    if (L->prog.updates % (uint64_t)L->cfg->learner_metrics_every != 0 || L->rank != 0) return;
    write_row(M, L, grad_norm);
    sampler_request_stats(L);
    M->row_updates = L->prog.updates;
    memset(M->acc, 0, sizeof M->acc);
}
