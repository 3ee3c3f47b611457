/* report_plot.c - gnuplot figures of dqnlm-report (report_plot.h): detecting a
 * PNG terminal, writing the band and interval scripts, running gnuplot in the
 * report folder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gnuplot.h"
#include "report_plot.h"

/* Runs a gnuplot script in the report folder; 0 when the figures were drawn.
 * Script names are at most 95 bytes (NAME.gp in a char[96]); the bound and the
 * buffer let the compiler see that the command always fits. */
static int gnuplot(report_t *R, const char *script)
{
    if (!R->cfg->ablation_gnuplot[0] || !R->png_term[0]) return -1;
    char cmd[DQ_CONFIG_STR_MAX * 2 + 256];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' '%.95s' 2>>gnuplot.log", R->out,
             R->cfg->ablation_gnuplot, script);
    return system(cmd) == 0 ? 0 : -1;
}

void report_plot_detect(report_t *R)
{
    R->png_term[0] = 0;
    if (strchr(R->out, '\'')) return;
    const char *term = tools_png_terminal(R->cfg->ablation_gnuplot);
    if (term) snprintf(R->png_term, sizeof R->png_term, "%s", term);
}

/* Writes NAME.gp that draws NAME.dat (index s = schedule s: x, mid, lo, hi)
 * as lines with bands, into NAME.png and NAME.svg. */
int report_plot_bands(report_t *R, const char *name, const char *title, const char *xlabel,
                      const char *ylabel, const char *key_pos, int points)
{
    char file[96];
    snprintf(file, sizeof file, "%s.gp", name);
    FILE *g = report_open_out(R, file);
    if (!g) return -1;
    fprintf(g, "# %s.gp - drawn by dqnlm-report from %s.dat; run: gnuplot %s.gp\n", name, name,
            name);
    fprintf(g,
            "set title '%s' noenhanced\nset xlabel '%s' noenhanced\nset ylabel '%s' noenhanced\n",
            title, xlabel, ylabel);
    fprintf(g, "set key %s noenhanced\nset grid\nset style fill transparent solid 0.18 noborder\n",
            key_pos);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0)
            fprintf(g, "set terminal %s size 960,600 font 'sans,11'\nset output '%s.png'\n",
                    R->png_term, name);
        else
            fprintf(g,
                    "set terminal svg size 960,600 font 'sans,11' background '#ffffff'\nset output "
                    "'%s.svg'\n",
                    name);
        fprintf(g, "plot ");
        int first = 1;
        for (int s = 0; s < R->n_sch; s++) {
            if (R->sch[s].n_done == 0) continue;
            fprintf(g, "%s'%s.dat' index %d using %s lc %d notitle, \\\n", first ? "" : ", ", name,
                    s, points ? "1:2:3:4 with yerrorbars pt 7 ps 0.6" : "1:3:4 with filledcurves",
                    s + 1);
            fprintf(g, "     '%s.dat' index %d using 1:2 with %s lw 2 lc %d title '%s (%d runs)'",
                    name, s, points ? "linespoints pt 7 ps 0.8" : "lines", s + 1, R->sch[s].name,
                    R->sch[s].n_done);
            first = 0;
        }
        fprintf(g, "\n");
    }
    fclose(g);
    return gnuplot(R, file);
}

int report_plot_lines(report_t *R, const char *name, const char *title, const char *xlabel,
                      const char *ylabel, int logy, const char *plot)
{
    char file[96];
    snprintf(file, sizeof file, "%s.gp", name);
    FILE *g = report_open_out(R, file);
    if (!g) return -1;
    fprintf(g, "# %s.gp - drawn by dqnlm-report; run: gnuplot %s.gp\n", name, name);
    fprintf(g,
            "set title '%s' noenhanced\nset xlabel '%s' noenhanced\nset ylabel '%s' noenhanced\n"
            "set key top right noenhanced\nset grid\n%s",
            title, xlabel, ylabel, logy ? "set logscale y\n" : "");
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0)
            fprintf(g, "set terminal %s size 960,600 font 'sans,11'\nset output '%s.png'\n",
                    R->png_term[0] ? R->png_term : "pngcairo", name);
        else
            fprintf(g,
                    "set terminal svg size 960,600 font 'sans,11' background '#ffffff'\nset output "
                    "'%s.svg'\n",
                    name);
        fprintf(g, "plot %s\n", plot);
    }
    fclose(g);
    return gnuplot(R, file);
}

/* Interval plot of the final scores: IQM and CI per schedule. */
int report_plot_final(report_t *R)
{
    FILE *f = report_open_out(R, "final.dat");
    if (!f) return -1;
    fprintf(f, "# row iqm ci_low ci_high   (%s)\n", R->primary_name);
    FILE *c = NULL;
    char path[DQ_CONFIG_STR_MAX + 64], line[REPORT_LINE_MAX];
    snprintf(path, sizeof path, "%s/final.csv", R->out);
    c = fopen(path, "r");
    int row = 0;
    while (c && fgets(line, sizeof line, c)) {
        char *fld[12];
        int n = report_csv_split(line, fld, 12);
        if (row++ == 0 || n < 7) continue;
        if (R->lm && n > 10 && atoi(fld[10]) > 0)
            fprintf(f, "%d %s %s %s \"%s (%s diverged)\"\n", row - 1, fld[4], fld[5], fld[6],
                    fld[0], fld[10]);
        else
            fprintf(f, "%d %s %s %s \"%s\"\n", row - 1, fld[4], fld[5], fld[6], fld[0]);
    }
    if (c) fclose(c);
    fclose(f);
    FILE *g = report_open_out(R, "final.gp");
    if (!g) return -1;
    fprintf(g, "# final.gp - drawn by dqnlm-report from final.dat; run: gnuplot final.gp\n");
    fprintf(g,
            "set title 'Score per variant (%s): IQM and 95%% stratified-bootstrap interval' "
            "noenhanced\n",
            R->primary_name);
    fprintf(g,
            "set xlabel '%s' noenhanced\nset ytics noenhanced\nset yrange [0.5:%d.5]\nset grid "
            "x\nunset key\n",
            R->primary_name, R->n_sch);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0)
            fprintf(g, "set terminal %s size 900,%d font 'sans,11'\nset output 'final.png'\n",
                    R->png_term, 200 + 50 * R->n_sch);
        else
            fprintf(g,
                    "set terminal svg size 900,%d font 'sans,11' background '#ffffff'\nset output "
                    "'final.svg'\n",
                    200 + 50 * R->n_sch);
        fprintf(g,
                "plot 'final.dat' using 2:1:3:4:ytic(5) with xerrorbars pt 7 ps 1.2 lw 2 lc 1\n");
    }
    fclose(g);
    return gnuplot(R, "final.gp");
}
