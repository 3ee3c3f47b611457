/* report_data.h - the data of dqnlm-report: the runs of an ablation folder,
 * its schedules and the report's state, and reading them from the run folders
 * that deploy/ablate.sh wrote (manifest.tsv, DONE/FAILED/STOPPED, config.ini,
 * actor-*-episodes.csv, learner.csv, eval/ and snapshots/).
 *
 *   report_t R = {.cfg = &cfg, ...};
 *   report_read_runs(&R);      // R.runs, R.lm, R.tasks, R.dir_primary
 *   report_stats_schedules(&R); report_stats_scores(&R);   (report_stats.h)
 *
 * Also the small helpers every report module shares: CSV splitting, output
 * files in the report folder, an allocation that exits when memory runs out
 * (dqnlm-report is a program, not a library).
 */
#ifndef DQNLM_REPORT_DATA_H
#define DQNLM_REPORT_DATA_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "rlstats.h"
#include "rng.h"

#define MAX_SNAP 64
#define MAX_INST 1024
#define REPORT_LINE_MAX 4096

typedef enum { RUN_DONE = 0, RUN_MISSING, RUN_UNFINISHED, RUN_FAILED } run_status_t;

/* Names of run_status_t, indexed by it: "done", "missing", ... */
extern const char *const report_status_name[];

typedef struct {
    double x;   /* estimated job env steps at the episode's end */
    double ret; /* episode return */
    double bpb; /* final validation bits per byte (LM), NAN otherwise */
} episode_t;

typedef struct {
    int index;
    char schedule[64], expl[256], rel[512]; /* variant, settings, folder */
    long seed;
    run_status_t status;
    char why[512];
    double wall_s;
    episode_t *ep; /* sorted by x */
    int n_ep;
    double x_end;
    double *sm_ret, *sm_bpb; /* trailing-window means at each episode */
    double final_ret;
    double *heldout; /* (n_inst) final greedy bpb per held-out instance */
    int n_div;       /* held-out instances whose final episode diverged */
    int n_snap;
    double snap_x[MAX_SNAP];    /* env steps at the snapshot */
    double *snap_bpb[MAX_SNAP]; /* (n_inst) greedy bpb per held-out instance */
    int snap_div[MAX_SNAP];     /* diverged instances at the snapshot */
    long snap_u[MAX_SNAP];
    char **cfg; /* "section.key = value" lines of config.ini, run folder replaced by RUN */
    int n_cfg;
} run_t;

typedef struct {
    char name[64], expl[256]; /* variant name, its settings (or exploration) */
    int *runs;                /* indices into runs[] of every manifest row */
    int n, n_done;
    double *score; /* (n_done, tasks) primary score */
    double *ret;   /* (n_done) final return */
    /* The final primary score, computed once (report_stats_scores) and used
     * by the table, the final figure and the last point of the held-out
     * curve: IQM over every (seed, task) score, stratified-bootstrap CI. */
    double fin_m, fin_lo, fin_hi;
    int div_scores, div_runs; /* diverged held-out scores, runs with any */
} sched_t;

typedef struct {
    const dq_config_t *cfg;
    char dir[DQ_CONFIG_STR_MAX], out[DQ_CONFIG_STR_MAX + 16];
    run_t *runs;
    int n_runs;
    sched_t *sch;
    int n_sch;
    int settings;        /* manifest column 3 is "settings" (KEY=VALUE ...), not "exploration" */
    char varied[32][96]; /* the configuration keys the variants set */
    int n_varied;
    int lm;    /* LM environment: held-out greedy scores exist */
    int tasks; /* strata of the primary score: held-out instances, or 1 */
    unsigned long long inst_seed[MAX_INST];
    rl_direction_t dir_primary;
    const char *primary_name;
    double window; /* W: env steps averaged into the curves */
    double grid_lo, grid_hi;
    dq_rng_t rng;
    char png_term[64];
    FILE *md;
} report_t;

/* Nonzero when a line read by fgets is complete (ends in a newline): a file
 * being written may end in half a row, which readers skip. */
int report_line_complete(const char *line);

/* Reads R->dir/manifest.tsv and every run folder it lists into R->runs; sets
 * R->lm, R->tasks (held-out instances, or 1), R->dir_primary and
 * R->primary_name. A run that did not finish keeps its status and reason.
 * DQ_OK, or an error code after logging why (no or malformed manifest). */
int report_read_runs(report_t *R);

/* Reads RUNDIR/config.ini into r->cfg ("section.key = value" lines, the
 * folder's path replaced by RUN); nothing when it is absent. */
void report_read_config(run_t *r, const char *rundir);

/* The value of "section.key" in a run's config.ini, or "" when absent. */
const char *report_cfg_get(const run_t *r, const char *key);

/* Splits a CSV line in place into at most max fields (double quotes group);
 * returns the field count. */
int report_csv_split(char *line, char **f, int max);

/* Index of the field equal to name among f[0..n), or -1. */
int report_csv_col(char **f, int n, const char *name);

/* Opens R->out/NAME for writing; NULL after logging the error. */
FILE *report_open_out(report_t *R, const char *name);

/* calloc (at least one element) that exits the program when out of memory. */
void *report_calloc(size_t n, size_t size);

/* qsort comparison of doubles, ascending (infinities sort to the ends). */
int report_cmp_double(const void *a, const void *b);

#endif
