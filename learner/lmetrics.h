/* lmetrics.h - the learner's progress: RUN_DIR/learner.csv (rank 0) and a log
 * line every learner.metrics_every updates, from the per-update stats of
 * update.h accumulated since the last row.
 */
#ifndef DQ_LEARNER_LMETRICS_H
#define DQ_LEARNER_LMETRICS_H

#include <stddef.h>
#include <stdint.h>

#include "lstate.h"
#include "update.h"

typedef struct {
    double t_start, t_row; /* when training began, when the last row was written */
    uint64_t row_updates;  /* updates at the last row */
    double acc[UPD_N];     /* stats since the last row: sums, UPD_MAX_TD a maximum */
    double base[4]; /* a resumed run: time_s, wait_s, compute_s, allreduce_s it continues from */
} lmetrics_t;

/* Rank 0 opens RUN_DIR/learner.csv into L->metrics (a failure to open is
 * logged by metrics.c and leaves rows unwritten). */
void lmetrics_open(learner_t *L);
/* On a resumed run (learner.resume, a checkpoint loaded), rank 0 continues
 * learner.csv from the checkpoint's update (dq_metrics_resume). */
void lmetrics_start(lmetrics_t *M, const learner_t *L);
/* Adds one update's stats; writes a row (rank 0) when one is due and then
 * asks the replay server for fresh STATS. */
void lmetrics_add(lmetrics_t *M, learner_t *L, const double *stats, float grad_norm);

#endif
