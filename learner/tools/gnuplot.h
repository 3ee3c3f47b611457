/* gnuplot.h - the one gnuplot probe of the offline tools (dqnlm-eval's and
 * dqnlm-report's figures): which PNG terminal the configured program accepts.
 *
 *   const char *term = tools_png_terminal(cfg->eval_gnuplot);   // NULL: no figures
 */
#ifndef DQNLM_TOOLS_GNUPLOT_H
#define DQNLM_TOOLS_GNUPLOT_H

/* "pngcairo" or "png", whichever `gnuplot -e 'set terminal T'` accepts; NULL
 * when gnuplot is empty, contains a quote, is absent or accepts neither. */
const char *tools_png_terminal(const char *gnuplot);

#endif
