/* report_data.c - reading an ablation folder for dqnlm-report (report_data.h):
 * the manifest, each run folder's status markers, config.ini, the actors'
 * episode CSVs and, with the LM env, the held-out evaluations of the final
 * Q-network and of the learner's snapshots. A run without DONE is kept with
 * its status and reason, never dropped silently.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "log.h"
#include "report_data.h"

#define LN2 0.6931471805599453
#define RUNDIR_MAX 800 /* ablation.dir (256) + "/" + a manifest run path (512) */
#define PATH_MAX_ 1024

const char *const report_status_name[] = {"done", "missing", "unfinished", "failed"};

/* ------------------------------------------------------------ small helpers */

void *report_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        DQ_ERROR("out of memory");
        exit(1);
    }
    return p;
}

int report_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_episode(const void *a, const void *b)
{
    return report_cmp_double(&((const episode_t *)a)->x, &((const episode_t *)b)->x);
}

/* Splits a CSV line in place into at most max fields (double quotes group). */
int report_csv_split(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    line[strcspn(line, "\r\n")] = 0;
    while (n < max) {
        if (*p == '"') {
            f[n++] = ++p;
            while (*p && *p != '"') p++;
            if (*p) *p++ = 0;
            if (*p == ',')
                p++;
            else if (!*p)
                break;
        } else {
            f[n++] = p;
            p += strcspn(p, ",");
            if (!*p) break;
            *p++ = 0;
        }
    }
    return n;
}

int report_line_complete(const char *line)
{
    size_t n = strlen(line);
    return n > 0 && line[n - 1] == '\n';
}

int report_csv_col(char **f, int n, const char *name)
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

FILE *report_open_out(report_t *R, const char *name)
{
    char path[DQ_CONFIG_STR_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", R->out, name);
    FILE *f = fopen(path, "w");
    if (!f) DQ_ERROR("cannot write %s", path);
    return f;
}

/* ------------------------------------------------------------ reading runs */

/* Adds the keys of a variant's settings ("section.key=value ...", or an
 * exploration string in an older manifest) to R->varied. */
static void note_varied(report_t *R, const char *settings)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", R->settings ? settings : "actor.exploration=");
    for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        t[strcspn(t, "=")] = 0;
        int k = 0;
        while (k < R->n_varied && strcmp(R->varied[k], t)) k++;
        if (k == R->n_varied && k < 32)
            snprintf(R->varied[R->n_varied++], sizeof R->varied[0], "%s", t);
    }
}

static int read_manifest(report_t *R)
{
    char path[DQ_CONFIG_STR_MAX + 32], line[REPORT_LINE_MAX];
    snprintf(path, sizeof path, "%s/manifest.tsv", R->dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        DQ_ERROR(
            "%s: cannot read (is ablation.dir an ablation folder written by deploy/ablate.sh?)",
            path);
        return DQ_EIO;
    }
    int cap = 64;
    R->runs = report_calloc((size_t)cap, sizeof *R->runs);
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        if (lineno++ == 0) {
            /* index variant settings seed run (deploy/ablate.sh), or the older
             * index schedule exploration seed run */
            R->settings = strstr(line, "\tsettings\t") != NULL;
            continue;
        }
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
        note_varied(R, fld[2]);
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

void report_read_config(run_t *r, const char *rundir)
{
    char path[PATH_MAX_], line[REPORT_LINE_MAX], sec[64] = "";
    snprintf(path, sizeof path, "%s/config.ini", rundir);
    FILE *f = fopen(path, "r");
    if (!f) return;
    int cap = 256;
    r->cfg = report_calloc((size_t)cap, sizeof *r->cfg);
    size_t dl = strlen(rundir);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == '[') {
            snprintf(sec, sizeof sec, "%.*s", (int)strcspn(line + 1, "]"), line + 1);
            continue;
        }
        if (!strchr(line, '=') || line[0] == ';' || line[0] == '#') continue;
        char norm[REPORT_LINE_MAX + 80], *o = norm;
        o += snprintf(norm, sizeof norm, "%s.", sec);
        for (const char *p = line; *p && o < norm + sizeof norm - 8;) {
            if (!strncmp(p, rundir, dl)) {
                o += sprintf(o, "RUN");
                p += dl;
            } else
                *o++ = *p++;
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

const char *report_cfg_get(const run_t *r, const char *key)
{
    size_t kl = strlen(key);
    for (int i = 0; i < r->n_cfg; i++)
        if (!strncmp(r->cfg[i], key, kl) && !strncmp(r->cfg[i] + kl, " = ", 3))
            return r->cfg[i] + kl + 3;
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
        if (!strncmp(de->d_name, "actor-", 6) && l > 13 &&
            !strcmp(de->d_name + l - 13, "-episodes.csv"))
            snprintf(names[n_files++], sizeof names[0], "%s", de->d_name);
    }
    closedir(d);
    int cap = 1024;
    r->ep = report_calloc((size_t)cap, sizeof *r->ep);
    for (int a = 0; a < n_files; a++) {
        char path[PATH_MAX_], line[REPORT_LINE_MAX];
        snprintf(path, sizeof path, "%.800s/%.63s", rundir, names[a]);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        int c_steps = -1, c_ret = -1, c_fm = -1;
        double cum = 0;
        while (fgets(line, sizeof line, f) && report_line_complete(line)) {
            char *fld[32];
            int n = report_csv_split(line, fld, 32);
            if (c_steps < 0) {
                c_steps = report_csv_col(fld, n, "steps");
                c_ret = report_csv_col(fld, n, "return");
                c_fm = report_csv_col(fld, n, "final_metric");
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
            r->ep[r->n_ep++] =
                (episode_t){cum * n_files, atof(fld[c_ret]), isfinite(fm) ? fm / LN2 : NAN};
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
static int read_eval(const char *path, double *bpb, int *div, unsigned long long *seeds, int max)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[REPORT_LINE_MAX];
    int n = 0, c_m = -1, c_seed = -1, c_bpb = -1, c_div = -1, header = 1;
    while (fgets(line, sizeof line, f)) {
        char *fld[16];
        int k = report_csv_split(line, fld, 16);
        if (header) {
            c_m = report_csv_col(fld, k, "method");
            c_seed = report_csv_col(fld, k, "instance_seed");
            c_bpb = report_csv_col(fld, k, "final_bpb");
            c_div = report_csv_col(fld, k, "diverged");
            header = 0;
            if (c_m < 0 || c_seed < 0 || c_bpb < 0) break;
            continue;
        }
        if (k <= c_bpb || strcmp(fld[c_m], "controller") || n == max) continue;
        seeds[n] = strtoull(fld[c_seed], NULL, 10);
        div[n] = c_div >= 0 && c_div < k && atoi(fld[c_div]) != 0;
        bpb[n++] = strtod(fld[c_bpb], NULL);
    }
    fclose(f);
    return n;
}

/* Env steps when the learner reached `updates`: transitions inserted into
 * replay by then (learner.csv), interpolated between metric rows. */
static double steps_at_update(const char *rundir, double updates)
{
    char path[PATH_MAX_], line[REPORT_LINE_MAX];
    snprintf(path, sizeof path, "%s/learner.csv", rundir);
    FILE *f = fopen(path, "r");
    if (!f) return NAN;
    int c_u = -1, c_i = -1, header = 1;
    double pu = 0, pi = 0, out = NAN, last = NAN;
    while (fgets(line, sizeof line, f)) {
        char *fld[32];
        int n = report_csv_split(line, fld, 32);
        if (header) {
            c_u = report_csv_col(fld, n, "updates");
            c_i = report_csv_col(fld, n, "replay_inserts");
            header = 0;
            if (c_u < 0 || c_i < 0) break;
            continue;
        }
        if (n <= c_u || n <= c_i) continue;
        double u = atof(fld[c_u]), ins = atof(fld[c_i]);
        last = ins;
        if (u >= updates && isnan(out))
            out = u > pu ? pi + (ins - pi) * (updates - pu) / (u - pu) : ins;
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
    us[n++] = atol(report_cfg_get(r, "learner.updates")); /* the final Q-network: eval/ */
    static double bpb[MAX_INST];
    static int div[MAX_INST];
    static unsigned long long seeds[MAX_INST];
    for (int k = 0; k < n; k++) {
        if (k < n - 1)
            snprintf(path, sizeof path, "%s/snapshots/%ld/episodes.csv", rundir, us[k]);
        else
            snprintf(path, sizeof path, "%s/eval/episodes.csv", rundir);
        int m = read_eval(path, bpb, div, seeds, MAX_INST);
        /* every snapshot on the instances of the final evaluation */
        if (m != R->tasks || memcmp(seeds, R->inst_seed, (size_t)m * sizeof *seeds)) continue;
        int nd = 0;
        for (int i = 0; i < m; i++) nd += div[i];
        r->snap_u[r->n_snap] = us[k];
        r->snap_x[r->n_snap] = steps_at_update(rundir, (double)us[k]);
        r->snap_div[r->n_snap] = nd;
        r->snap_bpb[r->n_snap] = report_calloc((size_t)m, sizeof(double));
        memcpy(r->snap_bpb[r->n_snap++], bpb, (size_t)m * sizeof *bpb);
    }
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
            snprintf(r->why, sizeof r->why, "%s",
                     file_exists(path)
                         ? "stopped by a signal before it finished; rerun by the next ablate.sh"
                         : "no DONE marker (still running, or its runner was killed)");
        }
        return;
    }
    char done[256];
    read_first_line(path, done, sizeof done);
    r->wall_s = strncmp(done, "wall_s=", 7) ? NAN : atof(done + 7);
    report_read_config(r, rundir);
    if (read_episodes(r, rundir) < 0) {
        r->status = RUN_FAILED;
        snprintf(r->why, sizeof r->why, "marked DONE but has no actor-*-episodes.csv rows");
        return;
    }
    if (!strcmp(report_cfg_get(r, "env.name"), "lm")) {
        static double bpb[MAX_INST];
        static int div[MAX_INST];
        static unsigned long long seeds[MAX_INST];
        snprintf(path, sizeof path, "%s/eval/episodes.csv", rundir);
        int n = read_eval(path, bpb, div, seeds, MAX_INST);
        int bad = n <= 0;
        for (int i = 0; i < n; i++) bad |= !isfinite(bpb[i]);
        if (bad) {
            r->status = RUN_FAILED;
            snprintf(r->why, sizeof r->why,
                     "marked DONE but eval/episodes.csv is missing or has unfinished episodes");
            return;
        }
        if (R->tasks == 0) {
            R->tasks = n;
            memcpy(R->inst_seed, seeds, (size_t)n * sizeof *seeds);
        } else if (n != R->tasks || memcmp(seeds, R->inst_seed, (size_t)n * sizeof *seeds)) {
            r->status = RUN_FAILED;
            snprintf(r->why, sizeof r->why,
                     "evaluated on other held-out instances than the other runs");
            return;
        }
        r->heldout = report_calloc((size_t)n, sizeof *r->heldout);
        memcpy(r->heldout, bpb, (size_t)n * sizeof *bpb);
        for (int i = 0; i < n; i++) r->n_div += div[i];
        read_snapshots(R, r, rundir);
    }
    r->status = RUN_DONE;
}

int report_read_runs(report_t *R)
{
    int rc = read_manifest(R);
    if (rc < 0) return rc;
    for (int i = 0; i < R->n_runs; i++) {
        run_t *r = &R->runs[i];
        read_run(R, r);
        if (r->status == RUN_DONE && !strcmp(report_cfg_get(r, "env.name"), "lm")) R->lm = 1;
    }
    if (R->lm) /* the primary score needs the held-out scores of every run */
        for (int i = 0; i < R->n_runs; i++)
            if (R->runs[i].status == RUN_DONE && !R->runs[i].heldout) {
                R->runs[i].status = RUN_FAILED;
                snprintf(R->runs[i].why, sizeof R->runs[i].why,
                         "not an LM-environment run (no held-out scores)");
            }
    if (!R->lm) R->tasks = 1;
    R->dir_primary = R->lm ? RL_LOWER_IS_BETTER : RL_HIGHER_IS_BETTER;
    R->primary_name = R->lm ? "held-out bits per byte" : "final return";
    return DQ_OK;
}
