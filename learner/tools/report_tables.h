/* report_tables.h - the tables and report.md of dqnlm-report: final
 * performance (final.csv/.md), probability of improvement (improvement.csv/.md),
 * sample efficiency (efficiency.csv/.md), every run (runs.csv), and report.md
 * that embeds the tables, links the figures and lists missing runs and any
 * configuration that differs between runs.
 */
#ifndef DQNLM_REPORT_TABLES_H
#define DQNLM_REPORT_TABLES_H

#include "report_data.h"

/* Writes report.md into R->md (open) and, on the way, the final, improvement
 * and efficiency tables and the final-score figure (report_plot_final).
 * figs_ok: return, training bpb, held-out bpb and profile figures drawn
 * (nonzero), and [4] < 0 when no run finished (no final-score figure). */
void report_tables_write(report_t *R, int figs_ok[5]);

/* Writes runs.csv: every manifest row with its status, reason and numbers. */
void report_tables_runs_csv(report_t *R);

#endif
