/* report_main.c - dqnlm-report: the statistics, tables and figures of an
 * ablation of exploration schedules (docs/exploration.md, "Ablations").
 *
 *   dqnlm-report --dir runs/ablation-NAME            # writes DIR/report/
 *   dqnlm-report --config RUN/config.ini --set ablation.snapshot=CKPT \
 *                --set ablation.snapshot_qnet=OUT    # prints the updates
 *   dqnlm-report --set actor.exploration=SPEC        # checks a schedule string
 *
 * Reads what deploy/ablate.sh wrote: DIR/manifest.tsv (index, schedule,
 * exploration, seed, run folder) and every run folder: DONE (finished),
 * FAILED, config.ini, actor-*-episodes.csv, learner.csv, eval/episodes.csv and
 * snapshots/UPDATES/episodes.csv (LM env). A run without DONE is listed as
 * missing, failed or unfinished and left out of the statistics, never dropped
 * silently. Per schedule it writes
 *   - learning curves against env steps: training-episode return, and with
 *     the LM env the final validation bits per byte of the training episodes
 *     and of the greedy policy on held-out instances; each run's curve is
 *     smoothed (trailing window) and interpolated onto a common grid, and the
 *     band is a 95% bootstrap interval of the IQM across seeds;
 *   - final performance: IQM and 95% stratified-bootstrap interval (rlstats.h);
 *   - probability of improvement between every ordered pair;
 *   - sample efficiency: env steps until the return curve reaches a fraction
 *     of the best final return;
 *   - performance profiles: the fraction of scores better than tau, over tau;
 * as CSV and Markdown tables, gnuplot figures (PNG and SVG) and report.md.
 */
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "cli.h"
#include "config.h"
#include "envs.h"
#include "err.h"
#include "explore.h"
#include "log.h"
#include "qnet.h"
#include "rlstats.h"

#define LN2 0.6931471805599453
#define MAX_SNAP 64
#define MAX_INST 1024
#define LINE_MAX_ 4096
#define RUNDIR_MAX 800 /* ablation.dir (256) + "/" + a manifest run path (512) */
#define PATH_MAX_ 1024

typedef enum { RUN_DONE = 0, RUN_MISSING, RUN_UNFINISHED, RUN_FAILED } run_status_t;
static const char *status_name[] = {"done", "missing", "unfinished", "failed"};

typedef struct {
    double x;   /* estimated job env steps at the episode's end */
    double ret; /* episode return */
    double bpb; /* final validation bits per byte (LM), NAN otherwise */
} episode_t;

typedef struct {
    int index;
    char schedule[64], expl[256], rel[512];
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
    int n_snap;
    double snap_x[MAX_SNAP], snap_mean[MAX_SNAP]; /* env steps, mean held-out bpb */
    long snap_u[MAX_SNAP];
    char **cfg; /* "section.key = value" lines of config.ini, run folder replaced by RUN */
    int n_cfg;
} run_t;

typedef struct {
    char name[64], expl[256];
    int *runs; /* indices into runs[] of every manifest row */
    int n, n_done;
    double *score; /* (n_done, tasks) primary score */
    double *ret;   /* (n_done) final return */
} sched_t;

typedef struct {
    const dq_config_t *cfg;
    char dir[DQ_CONFIG_STR_MAX], out[DQ_CONFIG_STR_MAX + 16];
    run_t *runs;
    int n_runs;
    sched_t *sch;
    int n_sch;
    int lm;     /* LM environment: held-out greedy scores exist */
    int tasks;  /* strata of the primary score: held-out instances, or 1 */
    unsigned long long inst_seed[MAX_INST];
    rl_direction_t dir_primary;
    const char *primary_name;
    double window; /* W: env steps averaged into the curves */
    double grid_lo, grid_hi;
    dq_rng_t rng;
    char png_term[64];
    FILE *md;
} report_t;

/* ------------------------------------------------------------ small helpers */

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        DQ_ERROR("out of memory");
        exit(1);
    }
    return p;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_episode(const void *a, const void *b)
{
    return cmp_double(&((const episode_t *)a)->x, &((const episode_t *)b)->x);
}

/* Splits a CSV line in place into at most max fields (double quotes group). */
static int csv_split(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    line[strcspn(line, "\r\n")] = 0;
    while (n < max) {
        if (*p == '"') {
            f[n++] = ++p;
            while (*p && *p != '"') p++;
            if (*p) *p++ = 0;
            if (*p == ',') p++;
            else if (!*p) break;
        } else {
            f[n++] = p;
            p += strcspn(p, ",");
            if (!*p) break;
            *p++ = 0;
        }
    }
    return n;
}

static int csv_col(char **f, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(f[i], name)) return i;
    return -1;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void read_first_line(const char *path, char *out, size_t len)
{
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) return;
    if (fgets(out, (int)len, f)) out[strcspn(out, "\r\n")] = 0;
    fclose(f);
}

/* IQM and 95% bootstrap interval of the finite values among x[0..n). */
static int iqm_band(report_t *R, const double *x, int n, double *m, double *lo, double *hi)
{
    double v[4096];
    int k = 0;
    for (int i = 0; i < n && k < 4096; i++)
        if (isfinite(x[i])) v[k++] = x[i];
    *m = *lo = *hi = NAN;
    if (k == 0) return 0;
    *m = rl_iqm(v, (size_t)k);
    rl_iqm_ci(v, k, 1, (int)R->cfg->ablation_boot, 0.05, &R->rng, lo, hi);
    return k;
}

/* ------------------------------------------------------------ snapshots */

/* Converts a learner checkpoint into a Q-network file; prints its updates. */
static int snapshot_to_qnet(const dq_config_t *cfg)
{
    char why[512];
    dq_env_t env;
    if (actor_env_open(&env, cfg, "train", 0, why, sizeof why) < 0) {
        DQ_ERROR("%s", why);
        return 2;
    }
    int obs_dim = env.obs_dim, n_actions = env.n_actions;
    dq_env_close(&env);
    dq_qnet_t online = {0}, target = {0};
    dq_rng_t rng;
    dq_rng_seed(&rng, 1);
    learner_progress_t prog;
    int rc = dq_qnet_build(&online, cfg->dqn_hidden, cfg->dqn_dueling, obs_dim, n_actions, &rng, why, sizeof why);
    if (rc == DQ_OK) rc = dq_qnet_build(&target, cfg->dqn_hidden, cfg->dqn_dueling, obs_dim, n_actions, &rng, why, sizeof why);
    if (rc == DQ_OK) rc = learner_ckpt_load(cfg->ablation_snapshot, &online, &target, &prog, why, sizeof why);
    if (rc == DQ_OK && !cfg->ablation_snapshot_qnet[0]) {
        snprintf(why, sizeof why, "ablation.snapshot_qnet is empty");
        rc = DQ_ECONFIG;
    }
    if (rc == DQ_OK && (rc = dq_qnet_save(&online, cfg->ablation_snapshot_qnet)) < 0)
        snprintf(why, sizeof why, "cannot write %s", cfg->ablation_snapshot_qnet);
    dq_qnet_free(&online);
    dq_qnet_free(&target);
    if (rc < 0) {
        DQ_ERROR("%s: %s", cfg->ablation_snapshot, why);
        return 1;
    }
    printf("%llu\n", (unsigned long long)prog.updates);
    return 0;
}

/* ------------------------------------------------------------ reading runs */

static int read_manifest(report_t *R)
{
    char path[DQ_CONFIG_STR_MAX + 32], line[LINE_MAX_];
    snprintf(path, sizeof path, "%s/manifest.tsv", R->dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        DQ_ERROR("%s: cannot read (is ablation.dir an ablation folder written by deploy/ablate.sh?)", path);
        return DQ_EIO;
    }
    int cap = 64;
    R->runs = xcalloc((size_t)cap, sizeof *R->runs);
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        if (lineno++ == 0) continue;
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0]) continue;
        char *fld[5], *p = line;
        int n = 0;
        while (n < 5) {
            fld[n++] = p;
            p = strchr(p, '\t');
            if (!p) break;
            *p++ = 0;
        }
        if (n != 5) {
            DQ_ERROR("%s:%d: expected 5 tab-separated fields", path, lineno);
            fclose(f);
            return DQ_EFORMAT;
        }
        if (R->n_runs == cap) {
            cap *= 2;
            R->runs = realloc(R->runs, (size_t)cap * sizeof *R->runs);
            if (!R->runs) exit(1);
        }
        run_t *r = &R->runs[R->n_runs++];
        memset(r, 0, sizeof *r);
        r->index = atoi(fld[0]);
        snprintf(r->schedule, sizeof r->schedule, "%s", fld[1]);
        snprintf(r->expl, sizeof r->expl, "%s", fld[2]);
        r->seed = atol(fld[3]);
        snprintf(r->rel, sizeof r->rel, "%s", fld[4]);
        r->final_ret = NAN;
        r->x_end = NAN;
        r->wall_s = NAN;
    }
    fclose(f);
    if (R->n_runs == 0) {
        DQ_ERROR("%s lists no runs", path);
        return DQ_EFORMAT;
    }
    return DQ_OK;
}

static void read_config(run_t *r, const char *rundir)
{
    char path[PATH_MAX_], line[LINE_MAX_], sec[64] = "";
    snprintf(path, sizeof path, "%s/config.ini", rundir);
    FILE *f = fopen(path, "r");
    if (!f) return;
    int cap = 256;
    r->cfg = xcalloc((size_t)cap, sizeof *r->cfg);
    size_t dl = strlen(rundir);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == '[') {
            snprintf(sec, sizeof sec, "%.*s", (int)strcspn(line + 1, "]"), line + 1);
            continue;
        }
        if (!strchr(line, '=') || line[0] == ';' || line[0] == '#') continue;
        char norm[LINE_MAX_ + 80], *o = norm;
        o += snprintf(norm, sizeof norm, "%s.", sec);
        for (const char *p = line; *p && o < norm + sizeof norm - 8;) {
            if (!strncmp(p, rundir, dl)) {
                o += sprintf(o, "RUN");
                p += dl;
            } else *o++ = *p++;
        }
        *o = 0;
        if (r->n_cfg == cap) {
            cap *= 2;
            r->cfg = realloc(r->cfg, (size_t)cap * sizeof *r->cfg);
            if (!r->cfg) exit(1);
        }
        r->cfg[r->n_cfg++] = strdup(norm);
    }
    fclose(f);
}

static const char *cfg_get(const run_t *r, const char *key)
{
    size_t kl = strlen(key);
    for (int i = 0; i < r->n_cfg; i++)
        if (!strncmp(r->cfg[i], key, kl) && !strncmp(r->cfg[i] + kl, " = ", 3)) return r->cfg[i] + kl + 3;
    return "";
}

/* Episodes of every actor; an actor's env steps at an episode's end are the
 * sum of its finished episodes' lengths, the job's that times the actor count
 * (the same estimate the schedules use). */
static int read_episodes(run_t *r, const char *rundir)
{
    DIR *d = opendir(rundir);
    if (!d) return DQ_EIO;
    struct dirent *de;
    static char names[256][256]; /* d_name holds at most 255 bytes */
    int n_files = 0;
    while ((de = readdir(d)) && n_files < 256) {
        size_t l = strlen(de->d_name);
        if (!strncmp(de->d_name, "actor-", 6) && l > 13 && !strcmp(de->d_name + l - 13, "-episodes.csv"))
            snprintf(names[n_files++], sizeof names[0], "%s", de->d_name);
    }
    closedir(d);
    int cap = 1024;
    r->ep = xcalloc((size_t)cap, sizeof *r->ep);
    for (int a = 0; a < n_files; a++) {
        char path[PATH_MAX_], line[LINE_MAX_];
        snprintf(path, sizeof path, "%.800s/%.63s", rundir, names[a]);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        int c_steps = -1, c_ret = -1, c_fm = -1;
        double cum = 0;
        while (fgets(line, sizeof line, f)) {
            char *fld[32];
            int n = csv_split(line, fld, 32);
            if (c_steps < 0) {
                c_steps = csv_col(fld, n, "steps");
                c_ret = csv_col(fld, n, "return");
                c_fm = csv_col(fld, n, "final_metric");
                if (c_steps < 0 || c_ret < 0) break;
                continue;
            }
            if (n <= c_steps || n <= c_ret) continue;
            cum += atof(fld[c_steps]);
            if (r->n_ep == cap) {
                cap *= 2;
                r->ep = realloc(r->ep, (size_t)cap * sizeof *r->ep);
                if (!r->ep) exit(1);
            }
            double fm = c_fm >= 0 && c_fm < n ? atof(fld[c_fm]) : NAN;
            r->ep[r->n_ep++] = (episode_t){cum * n_files, atof(fld[c_ret]), isfinite(fm) ? fm / LN2 : NAN};
        }
        fclose(f);
    }
    if (r->n_ep == 0) return DQ_EFORMAT;
    qsort(r->ep, (size_t)r->n_ep, sizeof *r->ep, cmp_episode);
    r->x_end = r->ep[r->n_ep - 1].x;
    return DQ_OK;
}

/* The controller's final bits per byte on each held-out instance of an
 * eval/episodes.csv (dqnlm-eval); seeds receives the instance seeds. */
static int read_eval(const char *path, double *bpb, unsigned long long *seeds, int max)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[LINE_MAX_];
    int n = 0, c_m = -1, c_seed = -1, c_bpb = -1, header = 1;
    while (fgets(line, sizeof line, f)) {
        char *fld[16];
        int k = csv_split(line, fld, 16);
        if (header) {
            c_m = csv_col(fld, k, "method");
            c_seed = csv_col(fld, k, "instance_seed");
            c_bpb = csv_col(fld, k, "final_bpb");
            header = 0;
            if (c_m < 0 || c_seed < 0 || c_bpb < 0) break;
            continue;
        }
        if (k <= c_bpb || strcmp(fld[c_m], "controller") || n == max) continue;
        seeds[n] = strtoull(fld[c_seed], NULL, 10);
        bpb[n++] = strtod(fld[c_bpb], NULL);
    }
    fclose(f);
    return n;
}

/* Env steps when the learner reached `updates`: transitions inserted into
 * replay by then (learner.csv), interpolated between metric rows. */
static double steps_at_update(const char *rundir, double updates)
{
    char path[PATH_MAX_], line[LINE_MAX_];
    snprintf(path, sizeof path, "%s/learner.csv", rundir);
    FILE *f = fopen(path, "r");
    if (!f) return NAN;
    int c_u = -1, c_i = -1, header = 1;
    double pu = 0, pi = 0, out = NAN, last = NAN;
    while (fgets(line, sizeof line, f)) {
        char *fld[32];
        int n = csv_split(line, fld, 32);
        if (header) {
            c_u = csv_col(fld, n, "updates");
            c_i = csv_col(fld, n, "replay_inserts");
            header = 0;
            if (c_u < 0 || c_i < 0) break;
            continue;
        }
        if (n <= c_u || n <= c_i) continue;
        double u = atof(fld[c_u]), ins = atof(fld[c_i]);
        last = ins;
        if (u >= updates && isnan(out)) out = u > pu ? pi + (ins - pi) * (updates - pu) / (u - pu) : ins;
        pu = u;
        pi = ins;
    }
    fclose(f);
    return isnan(out) ? last : out;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static void read_snapshots(report_t *R, run_t *r, const char *rundir)
{
    char path[PATH_MAX_];
    snprintf(path, sizeof path, "%s/snapshots", rundir);
    DIR *d = opendir(path);
    long us[MAX_SNAP];
    int n = 0;
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) && n < MAX_SNAP - 1) {
            char *end;
            long u = strtol(de->d_name, &end, 10);
            if (end != de->d_name && !*end) us[n++] = u;
        }
        closedir(d);
    }
    qsort(us, (size_t)n, sizeof *us, cmp_long);
    us[n++] = atol(cfg_get(r, "learner.updates")); /* the final Q-network: eval/ */
    static double bpb[MAX_INST];
    static unsigned long long seeds[MAX_INST];
    for (int k = 0; k < n; k++) {
        if (k < n - 1) snprintf(path, sizeof path, "%s/snapshots/%ld/episodes.csv", rundir, us[k]);
        else snprintf(path, sizeof path, "%s/eval/episodes.csv", rundir);
        int m = read_eval(path, bpb, seeds, MAX_INST);
        if (m <= 0) continue;
        double s = 0;
        for (int i = 0; i < m; i++) s += bpb[i];
        r->snap_u[r->n_snap] = us[k];
        r->snap_x[r->n_snap] = steps_at_update(rundir, (double)us[k]);
        r->snap_mean[r->n_snap++] = s / m;
    }
    (void)R;
}

static void read_run(report_t *R, run_t *r)
{
    char rundir[RUNDIR_MAX], path[PATH_MAX_];
    snprintf(rundir, sizeof rundir, "%s/%s", R->dir, r->rel);
    snprintf(path, sizeof path, "%s/DONE", rundir);
    if (!file_exists(rundir)) {
        r->status = RUN_MISSING;
        snprintf(r->why, sizeof r->why, "not started");
        return;
    }
    if (!file_exists(path)) {
        snprintf(path, sizeof path, "%s/FAILED", rundir);
        if (file_exists(path)) {
            r->status = RUN_FAILED;
            read_first_line(path, r->why, sizeof r->why);
        } else {
            r->status = RUN_UNFINISHED;
            snprintf(path, sizeof path, "%s/STOPPED", rundir);
            snprintf(r->why, sizeof r->why, "%s", file_exists(path) ? "stopped by a signal before it finished; rerun by the next ablate.sh"
                                                                     : "no DONE marker (still running, or its runner was killed)");
        }
        return;
    }
    char done[256];
    read_first_line(path, done, sizeof done);
    r->wall_s = strncmp(done, "wall_s=", 7) ? NAN : atof(done + 7);
    read_config(r, rundir);
    if (read_episodes(r, rundir) < 0) {
        r->status = RUN_FAILED;
        snprintf(r->why, sizeof r->why, "marked DONE but has no actor-*-episodes.csv rows");
        return;
    }
    if (!strcmp(cfg_get(r, "env.name"), "lm")) {
        static double bpb[MAX_INST];
        static unsigned long long seeds[MAX_INST];
        snprintf(path, sizeof path, "%s/eval/episodes.csv", rundir);
        int n = read_eval(path, bpb, seeds, MAX_INST);
        int bad = n <= 0;
        for (int i = 0; i < n; i++) bad |= !isfinite(bpb[i]);
        if (bad) {
            r->status = RUN_FAILED;
            snprintf(r->why, sizeof r->why, "marked DONE but eval/episodes.csv is missing or has unfinished episodes");
            return;
        }
        if (R->tasks == 0) {
            R->tasks = n;
            memcpy(R->inst_seed, seeds, (size_t)n * sizeof *seeds);
        } else if (n != R->tasks || memcmp(seeds, R->inst_seed, (size_t)n * sizeof *seeds)) {
            r->status = RUN_FAILED;
            snprintf(r->why, sizeof r->why, "evaluated on other held-out instances than the other runs");
            return;
        }
        r->heldout = xcalloc((size_t)n, sizeof *r->heldout);
        memcpy(r->heldout, bpb, (size_t)n * sizeof *bpb);
        read_snapshots(R, r, rundir);
    }
    r->status = RUN_DONE;
}

/* ------------------------------------------------------------ statistics */

/* Trailing-window mean of v over the episodes in (x_i - W, x_i]. */
static double *smooth(const run_t *r, int use_bpb, double W)
{
    double *out = xcalloc((size_t)r->n_ep, sizeof *out);
    double s = 0;
    int n = 0, j = 0;
    for (int i = 0; i < r->n_ep; i++) {
        double v = use_bpb ? r->ep[i].bpb : r->ep[i].ret;
        if (isfinite(v)) s += v, n++;
        while (r->ep[j].x <= r->ep[i].x - W) {
            double w = use_bpb ? r->ep[j].bpb : r->ep[j].ret;
            if (isfinite(w)) s -= w, n--;
            j++;
        }
        out[i] = n > 0 ? s / n : NAN;
    }
    return out;
}

/* Linear interpolation of a run's smoothed curve at x; NAN outside it. */
static double interp(const run_t *r, const double *v, double x)
{
    if (r->n_ep == 0 || x < r->ep[0].x || x > r->ep[r->n_ep - 1].x) return NAN;
    int lo = 0, hi = r->n_ep - 1;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (r->ep[mid].x <= x) lo = mid;
        else hi = mid;
    }
    double x0 = r->ep[lo].x, x1 = r->ep[hi].x;
    if (x1 <= x0) return v[hi];
    return v[lo] + (v[hi] - v[lo]) * (x - x0) / (x1 - x0);
}

static void build_schedules(report_t *R)
{
    R->sch = xcalloc((size_t)R->n_runs, sizeof *R->sch);
    for (int i = 0; i < R->n_runs; i++) {
        run_t *r = &R->runs[i];
        int s = 0;
        while (s < R->n_sch && strcmp(R->sch[s].name, r->schedule)) s++;
        if (s == R->n_sch) {
            snprintf(R->sch[s].name, sizeof R->sch[s].name, "%s", r->schedule);
            snprintf(R->sch[s].expl, sizeof R->sch[s].expl, "%s", r->expl);
            R->sch[s].runs = xcalloc((size_t)R->n_runs, sizeof(int));
            R->n_sch++;
        }
        R->sch[s].runs[R->sch[s].n++] = i;
        if (r->status == RUN_DONE) R->sch[s].n_done++;
    }
}

static void compute_scores(report_t *R)
{
    /* Common window: a share of the shortest finished run. */
    double xmin = INFINITY, xfirst = 0;
    for (int i = 0; i < R->n_runs; i++) {
        run_t *r = &R->runs[i];
        if (r->status != RUN_DONE) continue;
        if (r->x_end < xmin) xmin = r->x_end;
        if (r->ep[0].x > xfirst) xfirst = r->ep[0].x;
    }
    if (!isfinite(xmin)) return;
    R->window = R->cfg->ablation_window * xmin;
    R->grid_lo = xfirst;
    R->grid_hi = xmin;
    for (int i = 0; i < R->n_runs; i++) {
        run_t *r = &R->runs[i];
        if (r->status != RUN_DONE) continue;
        r->sm_ret = smooth(r, 0, R->window);
        if (R->lm) r->sm_bpb = smooth(r, 1, R->window);
        double s = 0;
        int n = 0;
        for (int k = 0; k < r->n_ep; k++)
            if (r->ep[k].x > r->x_end - R->cfg->ablation_window * r->x_end) s += r->ep[k].ret, n++;
        r->final_ret = n ? s / n : NAN;
    }
    int T = R->tasks;
    for (int s = 0; s < R->n_sch; s++) {
        sched_t *S = &R->sch[s];
        S->score = xcalloc((size_t)S->n_done * (size_t)T, sizeof(double));
        S->ret = xcalloc((size_t)S->n_done, sizeof(double));
        int k = 0;
        for (int j = 0; j < S->n; j++) {
            run_t *r = &R->runs[S->runs[j]];
            if (r->status != RUN_DONE) continue;
            S->ret[k] = r->final_ret;
            for (int t = 0; t < T; t++) S->score[k * T + t] = R->lm ? r->heldout[t] : r->final_ret;
            k++;
        }
    }
}

/* ------------------------------------------------------------ output */

static FILE *open_out(report_t *R, const char *name)
{
    char path[DQ_CONFIG_STR_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", R->out, name);
    FILE *f = fopen(path, "w");
    if (!f) DQ_ERROR("cannot write %s", path);
    return f;
}

static void fmt_ci(char *buf, size_t len, double m, double lo, double hi, int digits)
{
    if (isnan(m)) snprintf(buf, len, "no finished runs");
    else snprintf(buf, len, "%.*f [%.*f, %.*f]", digits, m, digits, lo, digits, hi);
}

/* Runs a gnuplot script in the report folder; 0 when the figures were drawn. */
static int gnuplot(report_t *R, const char *script)
{
    if (!R->cfg->ablation_gnuplot[0] || !R->png_term[0]) return -1;
    char cmd[DQ_CONFIG_STR_MAX * 2 + 128];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' '%s' 2>>gnuplot.log", R->out, R->cfg->ablation_gnuplot, script);
    return system(cmd) == 0 ? 0 : -1;
}

static void detect_gnuplot(report_t *R)
{
    R->png_term[0] = 0;
    const char *g = R->cfg->ablation_gnuplot;
    if (!g[0] || strchr(g, '\'') || strchr(R->out, '\'')) return;
    char cmd[DQ_CONFIG_STR_MAX + 64];
    snprintf(cmd, sizeof cmd, "'%s' -e 'set terminal pngcairo' >/dev/null 2>&1", g);
    if (system(cmd) == 0) snprintf(R->png_term, sizeof R->png_term, "pngcairo");
    else {
        snprintf(cmd, sizeof cmd, "'%s' -e 'set terminal png' >/dev/null 2>&1", g);
        if (system(cmd) == 0) snprintf(R->png_term, sizeof R->png_term, "png");
    }
}

/* Writes NAME.gp that draws NAME.dat (index s = schedule s: x, mid, lo, hi)
 * as lines with bands, into NAME.png and NAME.svg. */
static int plot_bands(report_t *R, const char *name, const char *title, const char *xlabel,
                      const char *ylabel, const char *key_pos, int points)
{
    char file[96];
    snprintf(file, sizeof file, "%s.gp", name);
    FILE *g = open_out(R, file);
    if (!g) return -1;
    fprintf(g, "# %s.gp - drawn by dqnlm-report from %s.dat; run: gnuplot %s.gp\n", name, name, name);
    fprintf(g, "set title '%s' noenhanced\nset xlabel '%s' noenhanced\nset ylabel '%s' noenhanced\n", title, xlabel, ylabel);
    fprintf(g, "set key %s noenhanced\nset grid\nset style fill transparent solid 0.18 noborder\n", key_pos);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0) fprintf(g, "set terminal %s size 960,600 font 'sans,11'\nset output '%s.png'\n", R->png_term, name);
        else fprintf(g, "set terminal svg size 960,600 font 'sans,11' background '#ffffff'\nset output '%s.svg'\n", name);
        fprintf(g, "plot ");
        int first = 1;
        for (int s = 0; s < R->n_sch; s++) {
            if (R->sch[s].n_done == 0) continue;
            fprintf(g, "%s'%s.dat' index %d using %s lc %d notitle, \\\n", first ? "" : ", ", name, s,
                    points ? "1:2:3:4 with yerrorbars pt 7 ps 0.6" : "1:3:4 with filledcurves", s + 1);
            fprintf(g, "     '%s.dat' index %d using 1:2 with %s lw 2 lc %d title '%s (%d runs)'", name, s,
                    points ? "linespoints pt 7 ps 0.8" : "lines", s + 1, R->sch[s].name, R->sch[s].n_done);
            first = 0;
        }
        fprintf(g, "\n");
    }
    fclose(g);
    return gnuplot(R, file);
}

/* Learning curve `what` (0 return, 1 training-episode bpb): per schedule and
 * grid point, the IQM across seeds of the runs' interpolated curves and its
 * bootstrap interval. */
static int curves(report_t *R, int what, const char *name)
{
    char file[96];
    snprintf(file, sizeof file, "%s.dat", name);
    FILE *f = open_out(R, file);
    if (!f) return -1;
    int G = (int)R->cfg->ablation_grid;
    fprintf(f, "# env_steps iqm ci_low ci_high runs   (one block per schedule; window %.0f env steps)\n", R->window);
    for (int s = 0; s < R->n_sch; s++) {
        sched_t *S = &R->sch[s];
        fprintf(f, "# schedule %s: %s\n", S->name, S->expl);
        double *v = xcalloc((size_t)S->n, sizeof *v);
        for (int gi = 0; gi < G && S->n_done > 0; gi++) {
            double x = R->grid_lo + (R->grid_hi - R->grid_lo) * gi / (G - 1);
            int n = 0;
            for (int j = 0; j < S->n; j++) {
                run_t *r = &R->runs[S->runs[j]];
                if (r->status == RUN_DONE) v[n++] = interp(r, what ? r->sm_bpb : r->sm_ret, x);
            }
            double m, lo, hi;
            int k = iqm_band(R, v, n, &m, &lo, &hi);
            if (k > 0) fprintf(f, "%.1f %.6g %.6g %.6g %d\n", x, m, lo, hi, k);
        }
        if (S->n_done == 0) fprintf(f, "nan nan nan nan 0\n");
        fprintf(f, "\n\n");
        free(v);
    }
    fclose(f);
    return 0;
}

/* Held-out greedy bits per byte at the learner's snapshots: snapshot k of
 * every run is at the same update count; x = the median env steps there. */
static int heldout_curve(report_t *R)
{
    FILE *f = open_out(R, "curve_heldout_bpb.dat");
    if (!f) return -1;
    fprintf(f, "# env_steps iqm ci_low ci_high runs updates   (greedy policy, held-out instances)\n");
    for (int s = 0; s < R->n_sch; s++) {
        sched_t *S = &R->sch[s];
        fprintf(f, "# schedule %s: %s\n", S->name, S->expl);
        int n_snap = MAX_SNAP;
        for (int j = 0; j < S->n; j++) {
            run_t *r = &R->runs[S->runs[j]];
            if (r->status == RUN_DONE && r->n_snap < n_snap) n_snap = r->n_snap;
        }
        if (S->n_done == 0) n_snap = 0;
        for (int k = 0; k < n_snap; k++) {
            double xs[4096], v[4096];
            int n = 0;
            long u = 0;
            for (int j = 0; j < S->n; j++) {
                run_t *r = &R->runs[S->runs[j]];
                if (r->status != RUN_DONE) continue;
                /* the last point of every run is its final evaluation */
                int kk = k == n_snap - 1 ? r->n_snap - 1 : k;
                xs[n] = r->snap_x[kk];
                v[n++] = r->snap_mean[kk];
                u = r->snap_u[kk];
            }
            qsort(xs, (size_t)n, sizeof *xs, cmp_double);
            double m, lo, hi;
            iqm_band(R, v, n, &m, &lo, &hi);
            fprintf(f, "%.1f %.6g %.6g %.6g %d %ld\n", n % 2 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]),
                    m, lo, hi, n, u);
        }
        if (n_snap == 0) fprintf(f, "nan nan nan nan 0 0\n");
        fprintf(f, "\n\n");
    }
    fclose(f);
    return 0;
}

/* Fraction of a schedule's (run, task) scores better than tau. */
static double frac_better(const double *x, int n, double tau, rl_direction_t dir)
{
    int k = 0;
    for (int i = 0; i < n; i++) k += dir == RL_LOWER_IS_BETTER ? x[i] < tau : x[i] > tau;
    return n ? (double)k / n : NAN;
}

static int profiles(report_t *R)
{
    FILE *f = open_out(R, "profile.dat");
    if (!f) return -1;
    int T = R->tasks, P = 101, B = (int)R->cfg->ablation_boot;
    double lo = INFINITY, hi = -INFINITY;
    for (int s = 0; s < R->n_sch; s++)
        for (int i = 0; i < R->sch[s].n_done * T; i++) {
            lo = fmin(lo, R->sch[s].score[i]);
            hi = fmax(hi, R->sch[s].score[i]);
        }
    if (!(hi > lo)) hi = lo + 1;
    double pad = 0.02 * (hi - lo);
    lo -= pad;
    hi += pad;
    fprintf(f, "# tau fraction_better ci_low ci_high   (%s; one block per schedule)\n", R->primary_name);
    double *boot = xcalloc((size_t)B * P, sizeof *boot);
    for (int s = 0; s < R->n_sch; s++) {
        sched_t *S = &R->sch[s];
        fprintf(f, "# schedule %s: %s\n", S->name, S->expl);
        int n = S->n_done;
        if (n == 0) {
            fprintf(f, "nan nan nan nan\n\n\n");
            continue;
        }
        /* stratified bootstrap: per task, n runs drawn with replacement */
        double *res = xcalloc((size_t)n * T, sizeof *res);
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++)
                for (int i = 0; i < n; i++) res[i * T + t] = S->score[(int)dq_rng_below(&R->rng, (uint64_t)n) * T + t];
            for (int p = 0; p < P; p++) boot[p * B + b] = frac_better(res, n * T, lo + (hi - lo) * p / (P - 1), R->dir_primary);
        }
        for (int p = 0; p < P; p++) {
            double tau = lo + (hi - lo) * p / (P - 1);
            double *col = boot + (size_t)p * B;
            qsort(col, (size_t)B, sizeof *col, cmp_double);
            fprintf(f, "%.6g %.4f %.4f %.4f\n", tau, frac_better(S->score, n * T, tau, R->dir_primary),
                    col[(int)floor(0.025 * (B - 1))], col[(int)ceil(0.975 * (B - 1))]);
        }
        fprintf(f, "\n\n");
        free(res);
    }
    free(boot);
    fclose(f);
    return 0;
}

static void final_table(report_t *R)
{
    FILE *csv = open_out(R, "final.csv"), *md = open_out(R, "final.md");
    if (!csv || !md) goto done;
    int T = R->tasks;
    fprintf(csv, "schedule,exploration,runs_done,runs_planned,%s_iqm,ci_low,ci_high,final_return_iqm,ret_ci_low,ret_ci_high\n",
            R->lm ? "heldout_bpb" : "final_return");
    FILE *outs[2] = {md, R->md};
    for (int o = 0; o < 2; o++) {
        if (R->lm)
            fprintf(outs[o], "| schedule | exploration | runs | held-out bits/byte (greedy), IQM [95%% CI] | final return, IQM [95%% CI] |\n|---|---|---|---|---|\n");
        else
            fprintf(outs[o], "| schedule | exploration | runs | final return, IQM [95%% CI] |\n|---|---|---|---|\n");
    }
    for (int s = 0; s < R->n_sch; s++) {
        sched_t *S = &R->sch[s];
        double m = NAN, lo = NAN, hi = NAN, rm, rlo, rhi;
        if (S->n_done > 0) {
            m = rl_iqm(S->score, (size_t)S->n_done * T);
            rl_iqm_ci(S->score, S->n_done, T, (int)R->cfg->ablation_boot, 0.05, &R->rng, &lo, &hi);
        }
        iqm_band(R, S->ret, S->n_done, &rm, &rlo, &rhi);
        fprintf(csv, "\"%s\",\"%s\",%d,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n", S->name, S->expl, S->n_done, S->n,
                m, lo, hi, rm, rlo, rhi);
        char a[96], b[96];
        fmt_ci(a, sizeof a, m, lo, hi, 4);
        fmt_ci(b, sizeof b, rm, rlo, rhi, 4);
        for (int o = 0; o < 2; o++) {
            if (R->lm) fprintf(outs[o], "| %s | `%s` | %d/%d | %s | %s |\n", S->name, S->expl, S->n_done, S->n, a, b);
            else fprintf(outs[o], "| %s | `%s` | %d/%d | %s |\n", S->name, S->expl, S->n_done, S->n, b);
        }
    }
done:
    if (csv) fclose(csv);
    if (md) fclose(md);
}

static void improvement_table(report_t *R)
{
    FILE *csv = open_out(R, "improvement.csv"), *md = open_out(R, "improvement.md");
    if (!csv || !md) goto done;
    int T = R->tasks;
    fprintf(csv, "x,y,p_x_better,ci_low,ci_high,runs_x,runs_y\n");
    FILE *outs[2] = {md, R->md};
    for (int o = 0; o < 2; o++) {
        fprintf(outs[o], "| P(row better than column) |");
        for (int s = 0; s < R->n_sch; s++) fprintf(outs[o], " %s |", R->sch[s].name);
        fprintf(outs[o], "\n|---|");
        for (int s = 0; s < R->n_sch; s++) fprintf(outs[o], "---|");
        fprintf(outs[o], "\n");
    }
    for (int x = 0; x < R->n_sch; x++) {
        for (int o = 0; o < 2; o++) fprintf(outs[o], "| **%s** |", R->sch[x].name);
        for (int y = 0; y < R->n_sch; y++) {
            sched_t *X = &R->sch[x], *Y = &R->sch[y];
            char cell[96] = "-";
            if (x != y && X->n_done > 0 && Y->n_done > 0) {
                double p = rl_prob_improvement(X->score, X->n_done, Y->score, Y->n_done, T, R->dir_primary), lo, hi;
                rl_prob_improvement_ci(X->score, X->n_done, Y->score, Y->n_done, T, R->dir_primary,
                                       (int)R->cfg->ablation_boot, 0.05, &R->rng, &lo, &hi);
                fprintf(csv, "\"%s\",\"%s\",%.4f,%.4f,%.4f,%d,%d\n", X->name, Y->name, p, lo, hi, X->n_done, Y->n_done);
                snprintf(cell, sizeof cell, "%.2f [%.2f, %.2f]", p, lo, hi);
            } else if (x != y) {
                fprintf(csv, "\"%s\",\"%s\",nan,nan,nan,%d,%d\n", X->name, Y->name, X->n_done, Y->n_done);
                snprintf(cell, sizeof cell, "no finished runs");
            }
            for (int o = 0; o < 2; o++) fprintf(outs[o], " %s |", cell);
        }
        for (int o = 0; o < 2; o++) fprintf(outs[o], "\n");
    }
done:
    if (csv) fclose(csv);
    if (md) fclose(md);
}

static int cmp_double_inf(const void *a, const void *b) { return cmp_double(a, b); }

static void efficiency_table(report_t *R)
{
    FILE *csv = open_out(R, "efficiency.csv"), *md = open_out(R, "efficiency.md");
    if (!csv || !md) goto done;
    double f = R->cfg->ablation_efficiency, best = -INFINITY;
    const char *best_name = "";
    for (int s = 0; s < R->n_sch; s++) {
        if (R->sch[s].n_done == 0) continue;
        double m = rl_iqm(R->sch[s].ret, (size_t)R->sch[s].n_done);
        if (m > best) best = m, best_name = R->sch[s].name;
    }
    double thr = f * best;
    FILE *outs[2] = {md, R->md};
    fprintf(csv, "schedule,threshold,runs_reached,runs_done,median_steps,min_steps,max_steps\n");
    for (int o = 0; o < 2; o++) {
        if (!(best > 0)) {
            fprintf(outs[o], "Not defined: the best final return (%.4g) is not positive.\n", best);
            continue;
        }
        fprintf(outs[o], "Threshold: %.0f%% of the best final return (IQM %.4f, %s) = %.4f. A run reaches it at the first "
                         "episode whose smoothed return (trailing window of %.0f env steps) is at least that.\n\n",
                100 * f, best, best_name, thr, R->window);
        fprintf(outs[o], "| schedule | runs that reached it | median env steps | range (runs that reached it) |\n|---|---|---|---|\n");
    }
    if (!(best > 0)) goto done;
    for (int s = 0; s < R->n_sch; s++) {
        sched_t *S = &R->sch[s];
        double st[4096];
        int n = 0, reached = 0;
        for (int j = 0; j < S->n; j++) {
            run_t *r = &R->runs[S->runs[j]];
            if (r->status != RUN_DONE) continue;
            double x = INFINITY;
            for (int k = 0; k < r->n_ep; k++)
                if (r->ep[k].x >= R->grid_lo && r->sm_ret[k] >= thr) {
                    x = r->ep[k].x;
                    break;
                }
            reached += isfinite(x);
            st[n++] = x;
        }
        qsort(st, (size_t)n, sizeof *st, cmp_double_inf);
        double med = n == 0 ? NAN : n % 2 ? st[n / 2] : 0.5 * (st[n / 2 - 1] + st[n / 2]);
        double mn = reached ? st[0] : NAN, mx = reached ? st[reached - 1] : NAN;
        fprintf(csv, "\"%s\",%.6f,%d,%d,%.1f,%.1f,%.1f\n", S->name, thr, reached, n, med, mn, mx);
        char a[64], b[96];
        if (n == 0) snprintf(a, sizeof a, "no finished runs");
        else if (isinf(med)) snprintf(a, sizeof a, "not reached");
        else snprintf(a, sizeof a, "%.0f", med);
        if (reached) snprintf(b, sizeof b, "%.0f - %.0f", mn, mx);
        else snprintf(b, sizeof b, "-");
        for (int o = 0; o < 2; o++) fprintf(outs[o], "| %s | %d/%d | %s | %s |\n", S->name, reached, n, a, b);
    }
done:
    if (csv) fclose(csv);
    if (md) fclose(md);
}

/* Everything but the seed and the schedule must agree between finished runs. */
static void held_fixed(report_t *R)
{
    static const char *varied[] = {"run.seed", "actor.exploration", "replay.endpoint", "learner.weights_endpoint", NULL};
    const run_t *ref = NULL;
    int n_done = 0, n_diff = 0;
    for (int i = 0; i < R->n_runs; i++) {
        const run_t *r = &R->runs[i];
        if (r->status != RUN_DONE) continue;
        n_done++;
        if (!ref) {
            ref = r;
            continue;
        }
        int n = r->n_cfg > ref->n_cfg ? r->n_cfg : ref->n_cfg;
        for (int k = 0; k < n; k++) {
            const char *a = k < ref->n_cfg ? ref->cfg[k] : "(none)", *b = k < r->n_cfg ? r->cfg[k] : "(none)";
            if (!strcmp(a, b)) continue;
            int skip = 0;
            for (int v = 0; varied[v]; v++) {
                size_t l = strlen(varied[v]);
                skip |= !strncmp(a, varied[v], l) && a[l] == ' ';
            }
            if (skip) continue;
            if (n_diff++ < 20) fprintf(R->md, "- **differs**: %s has `%s`, %s has `%s`\n", ref->rel, a, r->rel, b);
        }
    }
    if (!ref) return;
    if (n_diff == 0)
        fprintf(R->md, "Held fixed: every configuration key of the %d finished runs' config.ini agrees except "
                       "`run.seed` and `actor.exploration` (and the kernel-chosen loopback endpoints). "
                       "The base configuration is [base.ini](../base.ini).\n",
                n_done);
    else
        fprintf(R->md, "\n**Warning:** %d configuration values differ between finished runs beyond the seed and the schedule (listed above).\n", n_diff);
}

/* Interval plot of the final scores: IQM and CI per schedule. */
static int final_plot(report_t *R)
{
    FILE *f = open_out(R, "final.dat");
    if (!f) return -1;
    fprintf(f, "# row iqm ci_low ci_high   (%s)\n", R->primary_name);
    FILE *c = NULL;
    char path[DQ_CONFIG_STR_MAX + 64], line[LINE_MAX_];
    snprintf(path, sizeof path, "%s/final.csv", R->out);
    c = fopen(path, "r");
    int row = 0;
    while (c && fgets(line, sizeof line, c)) {
        char *fld[12];
        int n = csv_split(line, fld, 12);
        if (row++ == 0 || n < 7) continue;
        fprintf(f, "%d %s %s %s \"%s\"\n", row - 1, fld[4], fld[5], fld[6], fld[0]);
    }
    if (c) fclose(c);
    fclose(f);
    FILE *g = open_out(R, "final.gp");
    if (!g) return -1;
    fprintf(g, "# final.gp - drawn by dqnlm-report from final.dat; run: gnuplot final.gp\n");
    fprintf(g, "set title 'Score per schedule (%s): IQM and 95%% stratified-bootstrap interval' noenhanced\n", R->primary_name);
    fprintf(g, "set xlabel '%s' noenhanced\nset ytics noenhanced\nset yrange [0.5:%d.5]\nset grid x\nunset key\n",
            R->primary_name, R->n_sch);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0) fprintf(g, "set terminal %s size 900,%d font 'sans,11'\nset output 'final.png'\n", R->png_term, 200 + 50 * R->n_sch);
        else fprintf(g, "set terminal svg size 900,%d font 'sans,11' background '#ffffff'\nset output 'final.svg'\n", 200 + 50 * R->n_sch);
        fprintf(g, "plot 'final.dat' using 2:1:3:4:ytic(5) with xerrorbars pt 7 ps 1.2 lw 2 lc 1\n");
    }
    fclose(g);
    return gnuplot(R, "final.gp");
}

static void write_report(report_t *R, int figs_ok[5])
{
    FILE *md = R->md;
    int n_done = 0, n_sch_done = 0;
    double wall = 0;
    for (int i = 0; i < R->n_runs; i++)
        if (R->runs[i].status == RUN_DONE) {
            n_done++;
            if (isfinite(R->runs[i].wall_s)) wall += R->runs[i].wall_s;
        }
    for (int s = 0; s < R->n_sch; s++) n_sch_done += R->sch[s].n_done > 0;
    int seeds = 0;
    for (int s = 0; s < R->n_sch; s++) seeds = R->sch[s].n > seeds ? R->sch[s].n : seeds;
    const run_t *any = NULL;
    for (int i = 0; i < R->n_runs && !any; i++)
        if (R->runs[i].status == RUN_DONE) any = &R->runs[i];

    fprintf(md, "# Ablation of exploration schedules\n\n");
    fprintf(md, "Folder `%s`: %d schedules x up to %d seeds = %d planned runs; **%d finished**, %d not "
                "(listed below). Written by `dqnlm-report` from the run folders.\n\n",
            R->dir, R->n_sch, seeds, R->n_runs, n_done, R->n_runs - n_done);
    if (any)
        fprintf(md, "Environment `%s`; %s learner updates per run, %s actor(s); %.0f s of run time in total.\n\n",
                cfg_get(any, "env.name"), cfg_get(any, "learner.updates"), cfg_get(any, "actor.count"), wall);

    fprintf(md, "## Setup\n\n| schedule | exploration (actor.exploration) | seeds (run.seed) | finished |\n|---|---|---|---|\n");
    for (int s = 0; s < R->n_sch; s++) {
        sched_t *S = &R->sch[s];
        fprintf(md, "| %s | `%s` | ", S->name, S->expl);
        for (int j = 0; j < S->n; j++) fprintf(md, "%s%ld", j ? ", " : "", R->runs[S->runs[j]].seed);
        fprintf(md, " | %d/%d |\n", S->n_done, S->n);
    }
    fprintf(md, "\n");
    held_fixed(R);

    fprintf(md, "\n## Missing and unfinished runs\n\n");
    int missing = 0;
    for (int i = 0; i < R->n_runs; i++)
        if (R->runs[i].status != RUN_DONE) missing++;
    if (!missing) fprintf(md, "None: every planned run finished and is in the statistics.\n");
    else {
        fprintf(md, "%d of %d planned runs are left out of every statistic below (also in [runs.csv](runs.csv)):\n\n"
                    "| run | schedule | seed | status | why |\n|---|---|---|---|---|\n",
                missing, R->n_runs);
        for (int i = 0; i < R->n_runs; i++) {
            const run_t *r = &R->runs[i];
            if (r->status != RUN_DONE)
                fprintf(md, "| %s | %s | %ld | %s | %s |\n", r->rel, r->schedule, r->seed, status_name[r->status], r->why);
        }
    }

    fprintf(md, "\n## Final performance\n\n");
    if (R->lm)
        fprintf(md, "Primary score: the greedy policy's final validation **bits per byte** on the same %d held-out LM instances "
                    "for every run (lower is better); IQM over seeds x instances, 95%% stratified-bootstrap interval "
                    "(instances are the strata, seeds are resampled within each; %ld resamples). "
                    "Final return: mean return of the training episodes in the last %.0f%% of a run's env steps; "
                    "IQM across seeds with a bootstrap interval. ([final.csv](final.csv))\n\n",
                R->tasks, R->cfg->ablation_boot, 100 * R->cfg->ablation_window);
    else
        fprintf(md, "Score: final return = mean return of the training episodes in the last %.0f%% of a run's env steps "
                    "(higher is better); IQM across seeds, 95%% bootstrap interval (%ld resamples). ([final.csv](final.csv))\n\n",
                100 * R->cfg->ablation_window, R->cfg->ablation_boot);
    final_table(R);
    if (figs_ok[4] >= 0 && final_plot(R) == 0) fprintf(md, "\n![final scores](final.png) ([SVG](final.svg))\n");

    fprintf(md, "\n## Probability of improvement\n\n"
                "P(row better than column) on the %s: the probability that a random run of the row's schedule "
                "scores better than a random run of the column's%s (ties count one half), with a 95%% "
                "stratified-bootstrap interval. 0.5 = no difference; an interval excluding 0.5 is a "
                "difference beyond seed noise. ([improvement.csv](improvement.csv))\n\n",
            R->primary_name, R->lm ? " on the same held-out instance, averaged over instances" : "");
    improvement_table(R);

    fprintf(md, "\n## Sample efficiency\n\n");
    efficiency_table(R);
    fprintf(md, "\n([efficiency.csv](efficiency.csv))\n");

    fprintf(md, "\n## Learning curves\n\n"
                "x: env steps of the whole job (an actor's steps times the actor count). Each run's curve is the "
                "mean over a trailing window of %.0f env steps (%.0f%% of the shortest run), linearly interpolated "
                "onto %ld common grid points from %.0f to %.0f env steps; the line is the IQM across seeds, the "
                "band its 95%% bootstrap interval.\n\n",
            R->window, 100 * R->cfg->ablation_window, R->cfg->ablation_grid, R->grid_lo, R->grid_hi);
    if (figs_ok[0]) fprintf(md, "![return](curve_return.png)\n\n[SVG](curve_return.svg), data [curve_return.dat](curve_return.dat)\n\n");
    else fprintf(md, "Episode return: data in [curve_return.dat](curve_return.dat) (no figure: gnuplot unavailable or failed, see gnuplot.log).\n\n");
    if (R->lm) {
        fprintf(md, "Final validation bits per byte of the LM each training episode trained (behaviour policy, with exploration):\n\n");
        if (figs_ok[1]) fprintf(md, "![training bpb](curve_train_bpb.png)\n\n[SVG](curve_train_bpb.svg), data [curve_train_bpb.dat](curve_train_bpb.dat)\n\n");
        else fprintf(md, "data in [curve_train_bpb.dat](curve_train_bpb.dat)\n\n");
        fprintf(md, "Evaluation: the greedy policy of the learner's snapshots (same update counts in every run) on the "
                    "held-out instances; x is the median env steps at the snapshot, the bar the 95%% bootstrap "
                    "interval of the IQM across seeds of each run's mean bits per byte:\n\n");
        if (figs_ok[2]) fprintf(md, "![held-out bpb](curve_heldout_bpb.png)\n\n[SVG](curve_heldout_bpb.svg), data [curve_heldout_bpb.dat](curve_heldout_bpb.dat)\n\n");
        else fprintf(md, "data in [curve_heldout_bpb.dat](curve_heldout_bpb.dat)\n\n");
    }

    fprintf(md, "## Performance profiles\n\n"
                "For every threshold tau, the fraction of a schedule's scores (%s) %s than tau, with a 95%% "
                "stratified-bootstrap band. A curve %s another everywhere is better at every threshold.\n\n",
            R->lm ? "one per seed and held-out instance: final bits per byte" : "one per seed: final return",
            R->dir_primary == RL_LOWER_IS_BETTER ? "lower" : "higher",
            R->dir_primary == RL_LOWER_IS_BETTER ? "above" : "above");
    if (figs_ok[3]) fprintf(md, "![profiles](profile.png)\n\n[SVG](profile.svg), data [profile.dat](profile.dat)\n");
    else fprintf(md, "data in [profile.dat](profile.dat)\n");
    fprintf(md, "\nEvery run: [runs.csv](runs.csv). Tables: final.md, improvement.md, efficiency.md (and .csv).\n");
}

static void runs_csv(report_t *R)
{
    FILE *f = open_out(R, "runs.csv");
    if (!f) return;
    fprintf(f, "index,schedule,seed,run,status,why,env_steps,episodes,final_return,heldout_bpb,wall_s\n");
    for (int i = 0; i < R->n_runs; i++) {
        const run_t *r = &R->runs[i];
        double h = NAN;
        if (r->heldout) {
            h = 0;
            for (int t = 0; t < R->tasks; t++) h += r->heldout[t] / R->tasks;
        }
        fprintf(f, "%d,\"%s\",%ld,\"%s\",%s,\"%s\",%.0f,%d,%.6f,%.6f,%.0f\n", r->index, r->schedule, r->seed, r->rel,
                status_name[r->status], r->why, r->x_end, r->n_ep, r->final_ret, h, r->wall_s);
    }
    fclose(f);
}

static int report(report_t *R)
{
    int rc = read_manifest(R);
    if (rc < 0) return rc;
    for (int i = 0; i < R->n_runs; i++) {
        run_t *r = &R->runs[i];
        char rundir[RUNDIR_MAX];
        snprintf(rundir, sizeof rundir, "%s/%s", R->dir, r->rel);
        read_run(R, r);
        if (r->status == RUN_DONE && !strcmp(cfg_get(r, "env.name"), "lm")) R->lm = 1;
    }
    if (R->lm) /* the primary score needs the held-out scores of every run */
        for (int i = 0; i < R->n_runs; i++)
            if (R->runs[i].status == RUN_DONE && !R->runs[i].heldout) {
                R->runs[i].status = RUN_FAILED;
                snprintf(R->runs[i].why, sizeof R->runs[i].why, "not an LM-environment run (no held-out scores)");
            }
    if (!R->lm) R->tasks = 1;
    R->dir_primary = R->lm ? RL_LOWER_IS_BETTER : RL_HIGHER_IS_BETTER;
    R->primary_name = R->lm ? "held-out bits per byte" : "final return";
    build_schedules(R);
    compute_scores(R);
    if (dq_mkdir_p(R->out) < 0) {
        DQ_ERROR("cannot create %s", R->out);
        return DQ_EIO;
    }
    char path[DQ_CONFIG_STR_MAX + 64];
    snprintf(path, sizeof path, "%s/gnuplot.log", R->out);
    remove(path);
    detect_gnuplot(R);
    if (!R->png_term[0]) DQ_WARN("no gnuplot with a PNG terminal: tables and data only");
    snprintf(path, sizeof path, "%s/report.md", R->out);
    R->md = fopen(path, "w");
    if (!R->md) {
        DQ_ERROR("cannot write %s", path);
        return DQ_EIO;
    }
    int any_done = 0;
    for (int s = 0; s < R->n_sch; s++) any_done |= R->sch[s].n_done > 0;
    int figs[5] = {0};
    if (any_done) {
        curves(R, 0, "curve_return");
        figs[0] = plot_bands(R, "curve_return", "Training-episode return (IQM across seeds, 95% bootstrap band)",
                             "env steps", "episode return", "bottom right", 0) == 0;
        if (R->lm) {
            curves(R, 1, "curve_train_bpb");
            figs[1] = plot_bands(R, "curve_train_bpb", "Training episodes: final validation bits per byte (IQM, 95% band)",
                                 "env steps", "bits per byte (lower is better)", "top right", 0) == 0;
            heldout_curve(R);
            figs[2] = plot_bands(R, "curve_heldout_bpb", "Greedy policy on held-out instances (IQM across seeds, 95% CI)",
                                 "env steps", "final validation bits per byte (lower is better)", "top right", 1) == 0;
        }
        profiles(R);
        figs[3] = plot_bands(R, "profile", R->lm ? "Performance profile: held-out bits per byte" : "Performance profile: final return",
                             R->lm ? "tau (bits per byte)" : "tau (final return)",
                             R->lm ? "fraction of (seed, instance) scores below tau" : "fraction of runs above tau",
                             R->lm ? "bottom right" : "top right", 0) == 0;
    }
    figs[4] = any_done ? 0 : -1;
    runs_csv(R);
    write_report(R, figs);
    fclose(R->md);
    R->md = NULL;
    int n_done = 0;
    for (int i = 0; i < R->n_runs; i++) n_done += R->runs[i].status == RUN_DONE;
    DQ_INFO("%d of %d runs finished; report in %s/report.md", n_done, R->n_runs, R->out);
    return DQ_OK;
}

int main(int argc, char **argv)
{
    static const dq_cli_alias_t aliases[] = {
        {"--dir", "ablation.dir", "ablation folder (deploy/ablate.sh)"},
        {"--out", "ablation.out", "report folder"},
        {NULL, NULL, NULL},
    };
    dq_cli_spec_t spec = {"dqnlm-report",
                          "Ablation report: learning curves with bootstrap bands, IQM tables, probability of "
                          "improvement, sample efficiency and performance profiles from an ablation folder.",
                          aliases};
    dq_config_t cfg;
    int rc = dq_cli_parse(&spec, argc, argv, &cfg);
    if (rc != 0) return rc > 0 ? 0 : 2;
    if (cfg.ablation_snapshot[0]) return snapshot_to_qnet(&cfg);
    if (!cfg.ablation_dir[0]) {
        /* No folder: check actor.exploration (the runner checks every
         * schedule of a spec this way before anything runs). */
        dq_explore_t x;
        char why[512], desc[512];
        if (dq_explore_parse(&x, cfg.actor_exploration, why, sizeof why) < 0) {
            DQ_ERROR("%s", why);
            return 2;
        }
        dq_explore_describe(&x, desc, sizeof desc);
        printf("exploration '%s' = %s; give an ablation folder with --dir DIR for a report\n", cfg.actor_exploration, desc);
        return 0;
    }
    static report_t R;
    R.cfg = &cfg;
    snprintf(R.dir, sizeof R.dir, "%s", cfg.ablation_dir);
    if (cfg.ablation_out[0]) snprintf(R.out, sizeof R.out, "%s", cfg.ablation_out);
    else snprintf(R.out, sizeof R.out, "%s/report", cfg.ablation_dir);
    dq_rng_seed(&R.rng, (uint64_t)cfg.ablation_seed);
    rc = report(&R);
    return rc == DQ_OK ? 0 : 1;
}
