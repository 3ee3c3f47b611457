/* report_plot.h - the gnuplot figures of dqnlm-report: a script NAME.gp next
 * to each NAME.dat in the report folder, drawn into NAME.png and NAME.svg by
 * ablation.gnuplot when it has a PNG terminal (errors go to gnuplot.log). The
 * scripts are written either way, so the figures can be drawn later.
 */
#ifndef DQNLM_REPORT_PLOT_H
#define DQNLM_REPORT_PLOT_H

#include "report_data.h"

/* Sets R->png_term to "pngcairo" or "png", whichever ablation.gnuplot
 * accepts, or "" when it is unset, absent or unusable (no figures drawn). */
void report_plot_detect(report_t *R);

/* Writes NAME.gp that draws NAME.dat (index s = schedule s: x, mid, lo, hi)
 * as lines with bands (points != 0: points with error bars) and runs it;
 * 0 when the figures were drawn. */
int report_plot_bands(report_t *R, const char *name, const char *title, const char *xlabel,
                      const char *ylabel, const char *key_pos, int points);

/* Writes NAME.gp that draws `plot` (the clause after gnuplot's "plot", e.g.
 * "'learner.dat' using 1:3 with lines title 'loss'") into NAME.png and
 * NAME.svg (logy: a logarithmic y axis) and runs it; 0 when drawn. */
int report_plot_lines(report_t *R, const char *name, const char *title, const char *xlabel,
                      const char *ylabel, int logy, const char *plot);

/* Writes final.dat from final.csv (report_tables.h) and final.gp, an interval
 * plot of every schedule's IQM and CI, and runs it; 0 when drawn. */
int report_plot_final(report_t *R);

#endif
