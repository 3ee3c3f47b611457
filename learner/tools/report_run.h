/* report_run.h - dqnlm-report on one run folder (deploy/run-local.sh, a
 * cluster job, one run of an ablation), finished or still running: the
 * training figures and a Markdown summary in RUN/report/ (or ablation.out).
 *
 *   dqnlm-report --dir runs/RUN           # RUN has config.ini, no manifest.tsv
 *
 * It reads learner.csv (loss, mean Q, replay size and inserts, updates),
 * actor-*.csv (policy lag, env steps), actor-*-episodes.csv (episode return,
 * final validation bits per byte with the LM env), the *.status files the
 * programs write when they stop, config.ini and eval/summary.md. A file being
 * written may end in half a row: a line without its newline is not read.
 */
#ifndef DQNLM_REPORT_RUN_H
#define DQNLM_REPORT_RUN_H

#include "report_data.h"

/* Nonzero when R->dir looks like one run folder (config.ini or learner.csv,
 * no manifest.tsv). */
int report_is_run_dir(const report_t *R);

/* Writes R->out/summary.md, the .dat files, the gnuplot scripts and their
 * PNG and SVG figures; DQ_OK, or an error code after logging why. */
int report_run(report_t *R);

#endif
