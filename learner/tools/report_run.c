/* report_run.c - dqnlm-report on one run folder (report_run.h): the metric
 * CSVs of the learner and the actors read by column name, written as gnuplot
 * data, drawn, and summed up in summary.md.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "err.h"
#include "log.h"
#include "report_plot.h"
#include "report_run.h"

#define LN2 0.6931471805599453
#define MAX_ACTORS 256
#define PLOT_ACTORS 16 /* actors drawn in a figure (every one is in the data) */
#define TRAIL 20       /* episodes in an actor's trailing mean */
#define PATH_MAX_ 1100

/* Rows of chosen columns of a metrics CSV (NAN where a column is absent). */
typedef struct {
    int n, cols;
    double *v; /* (n, cols) */
} table_t;

typedef struct {
    int id;
    table_t m;  /* actor-ID.csv: env_steps time_s policy_lag return_mean final_metric_mean */
    table_t ep; /* actor-ID-episodes.csv: steps return final_metric */
} actor_t;

typedef struct {
    report_t *R;
    run_t cfg; /* config.ini only */
    table_t L; /* learner.csv: updates time_s loss q_mean replay_size replay_inserts */
    actor_t *a;
    int n_a, lm, bpb_any;
    double batch;
} runrep_t;

static double at(const table_t *t, int row, int col) { return t->v[(size_t)row * t->cols + col]; }

/* Reads the columns `names` of the CSV at path: complete lines only (a file
 * being written may end in half a row), rows with too few fields skipped.
 * Returns the rows, or -1 when the file or its header is missing. */
static int read_table(const char *path, const char *const *names, int ncols, table_t *t)
{
    memset(t, 0, sizeof *t);
    t->cols = ncols;
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[REPORT_LINE_MAX];
    int col[16], width = 0, cap = 256;
    if (!fgets(line, sizeof line, f) || !report_line_complete(line)) {
        fclose(f);
        return -1;
    }
    char *fld[64];
    int n = report_csv_split(line, fld, 64);
    for (int c = 0; c < ncols; c++) {
        col[c] = report_csv_col(fld, n, names[c]);
        if (col[c] + 1 > width) width = col[c] + 1;
    }
    t->v = report_calloc((size_t)cap * ncols, sizeof *t->v);
    while (fgets(line, sizeof line, f) && report_line_complete(line)) {
        n = report_csv_split(line, fld, 64);
        if (n < width) continue;
        if (t->n == cap) {
            cap *= 2;
            t->v = realloc(t->v, (size_t)cap * ncols * sizeof *t->v);
            if (!t->v) exit(1);
        }
        for (int c = 0; c < ncols; c++)
            t->v[(size_t)t->n * ncols + c] = col[c] < 0 ? NAN : strtod(fld[col[c]], NULL);
        t->n++;
    }
    fclose(f);
    return t->n;
}

static int cmp_actor(const void *a, const void *b)
{
    return ((const actor_t *)a)->id - ((const actor_t *)b)->id;
}

/* Every actor-ID.csv / actor-ID-episodes.csv of the folder. */
static void read_actors(runrep_t *X)
{
    static const char *const mcols[] = {"env_steps", "time_s", "policy_lag", "return_mean",
                                        "final_metric_mean"};
    static const char *const ecols[] = {"steps", "return", "final_metric"};
    X->a = report_calloc(MAX_ACTORS, sizeof *X->a);
    DIR *d = opendir(X->R->dir);
    struct dirent *de;
    while (d && (de = readdir(d)) && X->n_a < MAX_ACTORS) {
        int id, len = 0;
        if (sscanf(de->d_name, "actor-%d.csv%n", &id, &len) != 1 || de->d_name[len]) continue;
        actor_t *A = &X->a[X->n_a++];
        A->id = id;
        char path[PATH_MAX_];
        snprintf(path, sizeof path, "%s/actor-%d.csv", X->R->dir, id);
        read_table(path, mcols, 5, &A->m);
        snprintf(path, sizeof path, "%s/actor-%d-episodes.csv", X->R->dir, id);
        read_table(path, ecols, 3, &A->ep);
    }
    if (d) closedir(d);
    qsort(X->a, (size_t)X->n_a, sizeof *X->a, cmp_actor);
}

/* learner.dat: updates time_s loss q_mean replay_size replay_inserts and the
 * samples per insert since the previous row (updates x batch / inserts). */
static void write_learner(runrep_t *X)
{
    FILE *f = report_open_out(X->R, "learner.dat");
    if (!f) return;
    fprintf(f, "# updates time_s loss q_mean replay_size replay_inserts samples_per_insert   "
               "(learner.csv; samples per insert since the previous row)\n");
    for (int i = 0; i < X->L.n; i++) {
        double spi = NAN;
        if (i > 0 && at(&X->L, i, 5) > at(&X->L, i - 1, 5))
            spi = (at(&X->L, i, 0) - at(&X->L, i - 1, 0)) * X->batch /
                  (at(&X->L, i, 5) - at(&X->L, i - 1, 5));
        fprintf(f, "%.0f %.3f %.6g %.6g %.0f %.0f %.6g\n", at(&X->L, i, 0), at(&X->L, i, 1),
                at(&X->L, i, 2), at(&X->L, i, 3), at(&X->L, i, 4), at(&X->L, i, 5), spi);
    }
    fclose(f);
}

/* actors.dat and episodes.dat: one block per actor (gnuplot index = the
 * actor's position). Episodes: the actor's env steps at the episode's end,
 * return, final validation bits per byte, and their trailing means. */
static void write_actors(runrep_t *X)
{
    FILE *m = report_open_out(X->R, "actors.dat"), *e = report_open_out(X->R, "episodes.dat");
    if (!m || !e) goto done;
    fprintf(m, "# env_steps time_s policy_lag return_mean bpb_mean   (actor-ID.csv; one block "
               "per actor)\n");
    fprintf(e,
            "# env_steps return bpb return_trailing bpb_trailing   (actor-ID-episodes.csv; "
            "trailing means over %d episodes; one block per actor)\n",
            TRAIL);
    for (int k = 0; k < X->n_a; k++) {
        const actor_t *A = &X->a[k];
        fprintf(m, "# actor %d\n", A->id);
        for (int i = 0; i < A->m.n; i++)
            fprintf(m, "%.0f %.3f %.0f %.6g %.6g\n", at(&A->m, i, 0), at(&A->m, i, 1),
                    at(&A->m, i, 2), at(&A->m, i, 3), at(&A->m, i, 4) / LN2);
        if (A->m.n == 0) fprintf(m, "nan nan nan nan nan\n");
        fprintf(m, "\n\n");
        fprintf(e, "# actor %d\n", A->id);
        double steps = 0;
        for (int i = 0; i < A->ep.n; i++) {
            double sr = 0, sb = 0;
            int nr = 0, nb = 0;
            for (int j = i; j >= 0 && j > i - TRAIL; j--) {
                sr += at(&A->ep, j, 1), nr++;
                if (isfinite(at(&A->ep, j, 2))) sb += at(&A->ep, j, 2) / LN2, nb++;
            }
            steps += at(&A->ep, i, 0);
            double bpb = at(&A->ep, i, 2) / LN2;
            X->bpb_any |= isfinite(bpb);
            fprintf(e, "%.0f %.6g %.6g %.6g %.6g\n", steps, at(&A->ep, i, 1), bpb, sr / nr,
                    nb ? sb / nb : NAN);
        }
        if (A->ep.n == 0) fprintf(e, "nan nan nan nan nan\n");
        fprintf(e, "\n\n");
    }
done:
    if (m) fclose(m);
    if (e) fclose(e);
}

/* The plot clause drawing column `ycol` of every actor's block of `dat`
 * (points, and with `trail` > 0 that column as a line). */
static void actor_clause(const runrep_t *X, char *buf, size_t len, const char *dat, int xcol,
                         int ycol, int trail, const char *style)
{
    size_t o = 0;
    buf[0] = 0;
    for (int k = 0; k < X->n_a && k < PLOT_ACTORS && o < len - 400; k++) {
        o += (size_t)snprintf(buf + o, len - o,
                              "%s'%s' index %d using %d:%d with %s lc %d title 'actor %d'",
                              k ? ", " : "", dat, k, xcol, ycol, style, k + 1, X->a[k].id);
        if (trail)
            o += (size_t)snprintf(buf + o, len - o,
                                  ", '%s' index %d using %d:%d with lines lw 2 lc %d notitle", dat,
                                  k, xcol, trail, k + 1);
    }
}

/* Draws the figures; figs[i] nonzero when figure i was drawn. */
static void draw(runrep_t *X, int figs[7])
{
    report_t *R = X->R;
    char c[8192];
    int la = X->n_a > 0, ll = X->L.n > 0;
    if (ll)
        figs[0] =
            report_plot_lines(R, "loss", "Learner loss (mean over each metrics row)",
                              "learner updates", "loss (log scale)", 1,
                              "'learner.dat' using 1:3 with lines lw 2 lc 1 title 'loss'") == 0;
    if (ll)
        figs[1] = report_plot_lines(
                      R, "q_mean", "Mean Q of the sampled batches", "learner updates", "mean Q", 0,
                      "'learner.dat' using 1:4 with lines lw 2 lc 1 title 'mean Q'") == 0;
    actor_clause(X, c, sizeof c, "episodes.dat", 1, 2, 4, "points pt 7 ps 0.6");
    if (la)
        figs[2] = report_plot_lines(R, "return",
                                    "Episode return (points; lines: trailing mean of 20 episodes)",
                                    "env steps of the actor", "episode return", 0, c) == 0;
    actor_clause(X, c, sizeof c, "episodes.dat", 1, 3, 5, "points pt 7 ps 0.6");
    if (la && X->bpb_any)
        figs[3] =
            report_plot_lines(
                R, "train_bpb", "Final validation bits per byte of the LM of each training episode",
                "env steps of the actor", "bits per byte (lower is better)", 0, c) == 0;
    actor_clause(X, c, sizeof c, "actors.dat", 2, 3, 0, "lines lw 2");
    if (la)
        figs[4] =
            report_plot_lines(R, "policy_lag", "Policy lag (weights versions behind the learner)",
                              "seconds since the actor started", "weights versions", 0, c) == 0;
    if (ll)
        figs[5] = report_plot_lines(R, "replay_size", "Replay: items held and inserted",
                                    "learner updates", "transitions", 0,
                                    "'learner.dat' using 1:5 with lines lw 2 lc 1 title 'size', "
                                    "'learner.dat' using 1:6 with lines lw 2 lc 2 title "
                                    "'inserted (total)'") == 0;
    snprintf(c, sizeof c,
             "'learner.dat' using 1:7 with linespoints pt 7 ps 0.5 lw 2 lc 1 title 'measured "
             "(updates x learner.batch / inserts)', %s with lines dt 2 lc 3 title "
             "'replay.samples_per_insert = %s'",
             report_cfg_get(&X->cfg, "replay.samples_per_insert")[0]
                 ? report_cfg_get(&X->cfg, "replay.samples_per_insert")
                 : "NaN",
             report_cfg_get(&X->cfg, "replay.samples_per_insert"));
    if (ll)
        figs[6] =
            report_plot_lines(R, "samples_per_insert", "Samples per insert between metrics rows",
                              "learner updates", "samples per inserted transition", 0, c) == 0;
}

/* "stopped (exit 0)" from a status file, or "" when there is none. */
static void status_of(const char *path, char *out, size_t len)
{
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[256], state[64] = "?", ex[64] = "?";
    while (fgets(line, sizeof line, f)) {
        sscanf(line, "state = %63s", state);
        sscanf(line, "exit = %63s", ex);
    }
    fclose(f);
    snprintf(out, len, "%s (exit %s)", state, ex);
}

static void write_state(runrep_t *X, FILE *md)
{
    char path[PATH_MAX_], st[160], line[512] = "";
    snprintf(path, sizeof path, "%s/replay.status", X->R->dir);
    status_of(path, st, sizeof st);
    int n_stopped = 0;
    for (int k = 0; k < X->n_a; k++) {
        char a[160];
        snprintf(path, sizeof path, "%s/actor-%d.status", X->R->dir, X->a[k].id);
        status_of(path, a, sizeof a);
        n_stopped += a[0] != 0;
    }
    snprintf(path, sizeof path, "%s/FAILED", X->R->dir);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(line, sizeof line, f)) line[0] = 0;
        line[strcspn(line, "\n")] = 0;
        fclose(f);
    }
    time_t now = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
    if (line[0])
        fprintf(md, "State: **failed**: %s\n\n", line);
    else if (st[0])
        fprintf(md, "State: **ended**: replay server %s, %d of %d actors wrote their status.\n\n",
                st, n_stopped, X->n_a);
    else
        fprintf(md,
                "State: **running** (or ended without its status files): no replay.status yet; "
                "these are the rows written by %s (a row being written is left out).\n\n",
                when);
}

/* Mean of the last TRAIL values of column col (finite only) of every actor's
 * episodes; *n gets the episodes used. */
static double last_episodes(const runrep_t *X, int col, double scale, int *n)
{
    double s = 0;
    *n = 0;
    for (int k = 0; k < X->n_a; k++)
        for (int i = X->a[k].ep.n - 1; i >= 0 && i >= X->a[k].ep.n - TRAIL; i--)
            if (isfinite(at(&X->a[k].ep, i, col))) s += at(&X->a[k].ep, i, col) / scale, (*n)++;
    return *n ? s / *n : NAN;
}

static void write_numbers(runrep_t *X, FILE *md)
{
    const table_t *L = &X->L;
    double budget = atof(report_cfg_get(&X->cfg, "learner.updates"));
    fprintf(md, "| quantity | value |\n|---|---|\n");
    if (L->n > 0) {
        int e = L->n - 1;
        if (budget > 0)
            fprintf(md, "| learner updates | %.0f of %.0f (%.0f%%) after %.1f s |\n", at(L, e, 0),
                    budget, 100 * at(L, e, 0) / budget, at(L, e, 1));
        else
            fprintf(md,
                    "| learner updates | %.0f after %.1f s (no budget: learner.updates = 0) |\n",
                    at(L, e, 0), at(L, e, 1));
        fprintf(md, "| learner loss, last row | %.4g |\n| mean Q, last row | %.4g |\n", at(L, e, 2),
                at(L, e, 3));
        fprintf(md, "| replay size, last row | %.0f (%.0f inserted) |\n", at(L, e, 4), at(L, e, 5));
        fprintf(md,
                "| samples per insert, whole run | %.3g (updates x learner.batch %.0f / inserts, "
                "the fill before the first update included); target replay.samples_per_insert = "
                "%s |\n",
                at(L, e, 5) > 0 ? at(L, e, 0) * X->batch / at(L, e, 5) : NAN, X->batch,
                report_cfg_get(&X->cfg, "replay.samples_per_insert"));
    } else
        fprintf(md, "| learner | no learner.csv rows yet |\n");
    double steps = 0, lag_max = 0, lag_last = 0;
    int eps = 0;
    for (int k = 0; k < X->n_a; k++) {
        const table_t *m = &X->a[k].m;
        eps += X->a[k].ep.n;
        if (m->n) steps += at(m, m->n - 1, 0), lag_last = fmax(lag_last, at(m, m->n - 1, 2));
        for (int i = 0; i < m->n; i++) lag_max = fmax(lag_max, at(m, i, 2));
    }
    fprintf(md, "| actors | %d; %.0f env steps, %d episodes (actor-ID.csv, episodes.csv) |\n",
            X->n_a, steps, eps);
    int n;
    double r = last_episodes(X, 1, 1, &n);
    fprintf(md, "| episode return, mean of the last %d episodes per actor | %.4g (%d episodes) |\n",
            TRAIL, r, n);
    if (X->bpb_any) {
        r = last_episodes(X, 2, LN2, &n);
        fprintf(md,
                "| final validation bits/byte of the training episodes, mean of the last %d per "
                "actor | %.4f (%d episodes) |\n",
                TRAIL, r, n);
    }
    fprintf(md, "| policy lag (weights versions), last row / largest | %.0f / %.0f |\n\n", lag_last,
            lag_max);
}

static void write_figures(runrep_t *X, FILE *md, const int figs[7])
{
    static const char *const names[] = {
        "loss", "q_mean", "return", "train_bpb", "policy_lag", "replay_size", "samples_per_insert"};
    static const char *const titles[] = {
        "Learner loss",      "Mean Q",
        "Episode return",    "Final validation bits per byte of the training episodes",
        "Policy lag",        "Replay size",
        "Samples per insert"};
    fprintf(md, "## Figures\n\n");
    for (int i = 0; i < 7; i++) {
        if (i == 3 && !X->bpb_any) continue;
        const char *dat = i == 2 || i == 3 ? "episodes.dat" : i == 4 ? "actors.dat" : "learner.dat";
        if (figs[i])
            fprintf(md, "### %s\n\n![%s](%s.png)\n\n[SVG](%s.svg), data [%s](%s), script %s.gp\n\n",
                    titles[i], names[i], names[i], names[i], dat, dat, names[i]);
        else
            fprintf(md,
                    "### %s\n\nNo figure (no rows yet, or gnuplot unavailable: see "
                    "gnuplot.log); data [%s](%s), script %s.gp\n\n",
                    titles[i], dat, dat, names[i]);
    }
}

static void write_summary(runrep_t *X, const int figs[7])
{
    FILE *md = report_open_out(X->R, "summary.md");
    if (!md) return;
    fprintf(md,
            "# Run report\n\nFolder `%s`: environment `%s`, %s actor(s), seed %s, "
            "learner.batch %.0f; configuration [config.ini](../config.ini). Written by "
            "`dqnlm-report --dir`.\n\n",
            X->R->dir, report_cfg_get(&X->cfg, "env.name"), report_cfg_get(&X->cfg, "actor.count"),
            report_cfg_get(&X->cfg, "run.seed"), X->batch);
    write_state(X, md);
    write_numbers(X, md);
    write_figures(X, md, figs);
    char path[PATH_MAX_];
    snprintf(path, sizeof path, "%s/eval/summary.md", X->R->dir);
    FILE *ev = fopen(path, "r");
    if (ev) {
        fprintf(md, "## Evaluation (eval/summary.md)\n\n");
        char line[REPORT_LINE_MAX];
        while (fgets(line, sizeof line, ev)) fputs(line, md);
        fclose(ev);
    } else if (X->lm)
        fprintf(md, "## Evaluation\n\nNo eval/summary.md yet (dqnlm-eval runs after training).\n");
    fclose(md);
}

int report_is_run_dir(const report_t *R)
{
    char path[DQ_CONFIG_STR_MAX + 32];
    struct stat st;
    snprintf(path, sizeof path, "%s/manifest.tsv", R->dir);
    if (stat(path, &st) == 0) return 0;
    snprintf(path, sizeof path, "%s/config.ini", R->dir);
    if (stat(path, &st) == 0) return 1;
    snprintf(path, sizeof path, "%s/learner.csv", R->dir);
    return stat(path, &st) == 0;
}

int report_run(report_t *R)
{
    static const char *const lcols[] = {"updates", "time_s",      "loss",
                                        "q_mean",  "replay_size", "replay_inserts"};
    runrep_t X = {.R = R};
    report_read_config(&X.cfg, R->dir);
    X.lm = !strcmp(report_cfg_get(&X.cfg, "env.name"), "lm");
    X.batch = atof(report_cfg_get(&X.cfg, "learner.batch"));
    char path[PATH_MAX_];
    snprintf(path, sizeof path, "%s/learner.csv", R->dir);
    read_table(path, lcols, 6, &X.L);
    read_actors(&X);
    if (X.L.n == 0 && X.n_a == 0) {
        DQ_ERROR("%s: no learner.csv rows and no actor-*.csv: not a run folder with metrics "
                 "(nor an ablation folder: no manifest.tsv)",
                 R->dir);
        return DQ_EFORMAT;
    }
    if (dq_mkdir_p(R->out) < 0) {
        DQ_ERROR("cannot create %s", R->out);
        return DQ_EIO;
    }
    snprintf(path, sizeof path, "%s/gnuplot.log", R->out);
    remove(path);
    report_plot_detect(R);
    if (!R->png_term[0]) DQ_WARN("no gnuplot with a PNG terminal: summary and data only");
    write_learner(&X);
    write_actors(&X);
    int figs[7] = {0};
    draw(&X, figs);
    write_summary(&X, figs);
    DQ_INFO("run report: %s/summary.md (%.0f learner updates, %d actors)", R->out,
            X.L.n ? at(&X.L, X.L.n - 1, 0) : 0.0, X.n_a);
    free(X.L.v);
    for (int k = 0; k < X.n_a; k++) free(X.a[k].m.v), free(X.a[k].ep.v);
    free(X.a);
    for (int i = 0; i < X.cfg.n_cfg; i++) free(X.cfg.cfg[i]);
    free(X.cfg.cfg);
    return DQ_OK;
}
