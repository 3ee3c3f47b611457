/* lmetrics.c - see lmetrics.h. */
#include "lmetrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "sampler.h"

void lmetrics_open(learner_t *L)
{
    if (L->rank != 0) return;
    char path[DQ_CONFIG_STR_MAX + 32];
    snprintf(path, sizeof path, "%s/learner.csv", L->cfg->run_dir);
    L->metrics =
        dq_metrics_open(path, "time_s,updates,loss,q_mean,abs_td_mean,abs_td_max,updates_per_s,"
                              "samples_per_s,replay_size,replay_inserts,wait_s,"
                              "compute_s,allreduce_s,weights_version,grad_norm,invalid");
}

void lmetrics_start(lmetrics_t *M, const learner_t *L)
{
    memset(M, 0, sizeof *M);
    M->t_start = M->t_row = dq_now();
    M->row_updates = L->prog.updates;
}

static void write_row(lmetrics_t *M, learner_t *L, float grad_norm)
{
    const double *acc = M->acc;
    double now = dq_now(), dt = now - M->t_row;
    double ups = (double)(L->prog.updates - M->row_updates) / dt;
    double n = acc[UPD_COUNT] > 0 ? acc[UPD_COUNT] : 1;
    dq_metrics_row(L->metrics,
                   "%.3f,%" PRIu64
                   ",%.6g,%.6g,%.6g,%.6g,%.2f,%.1f,%.0f,%.0f,%.4f,%.4f,%.4f,%" PRIu64 ",%.4g,%.0f",
                   now - M->t_start, L->prog.updates, acc[UPD_LOSS] / n, acc[UPD_Q] / n,
                   acc[UPD_ABS_TD] / n, acc[UPD_MAX_TD], ups, ups * (double)L->cfg->learner_batch,
                   L->replay_size, L->replay_inserts, L->t_wait, L->t_compute, L->t_allreduce,
                   L->prog.version, (double)grad_norm, acc[UPD_INVALID]);
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
