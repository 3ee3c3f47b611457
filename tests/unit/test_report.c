/* test_report.c - dqnlm-report on synthetic ablation folders with known
 * answers: the statistics it prints are checked against hand-worked values.
 *
 *   test_report PATH/TO/dqnlm-report
 *
 * Each test writes an ablation folder as deploy/ablate.sh would (manifest.tsv,
 * runs/NAME/seed-S/ with config.ini, actor-0-episodes.csv, DONE, and for the
 * LM env eval/episodes.csv, learner.csv and snapshots/), runs the program and
 * reads its CSV tables and report.md back.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

static const char *report_bin;

#define assert_close(a, b, eps)                                                            \
    do {                                                                                   \
        double a_ = (a), b_ = (b);                                                         \
        if (!(fabs(a_ - b_) <= (eps))) fail_msg("%s = %.15g, expected %.15g", #a, a_, b_); \
    } while (0)

static void put(const char *dir, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void put(const char *dir, const char *name, const char *fmt, ...)
{
    char path[1024], cmd[1100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *slash = strrchr(path, '/');
    *slash = 0;
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    assert_int_equal(system(cmd), 0);
    *slash = '/';
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

static char *slurp(const char *dir, const char *name)
{
    char path[2200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot read %s", path);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return strdup(buf);
}

/* The numeric field `col` (0-based) of the CSV row whose first fields are
 * `key` (e.g. "\"good\"" or "\"good\",\"bad\""). */
static double csv_value(const char *dir, const char *name, const char *key, int col)
{
    char *text = slurp(dir, name), *save = NULL;
    double v = NAN;
    size_t kl = strlen(key);
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, key, kl) || line[kl] != ',') continue;
        int c = 0, q = 0;
        for (char *p = line; *p; p++) {
            if (*p == '"') q = !q;
            if (*p == ',' && !q && ++c == col) {
                v = strtod(p + 1, NULL);
                break;
            }
        }
        break;
    }
    free(text);
    if (isnan(v) && strcmp(key, "")) {
        /* a real NAN is allowed only when the test expects it */
    }
    return v;
}

static char *new_dir(void)
{
    char tmpl[] = "/tmp/dqnlm-report-test.XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void rm_dir(char *dir)
{
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(dir);
}

static void run_report(const char *dir, const char *extra)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' --dir '%s' --set run.log_level=warn %s", report_bin, dir,
             extra);
    assert_int_equal(system(cmd), 0);
}

/* A finished chain run with n episodes of 10 steps each; episode i (1-based)
 * has return ret(i). */
static void chain_run(const char *dir, const char *rel, int n, double (*ret)(int, double), double c)
{
    char name[600], buf[1 << 16];
    size_t o = 0;
    o += (size_t)snprintf(
        buf + o, sizeof buf - o,
        "time_s,env,episode,steps,return,final_metric,explore_param,weights_version\n");
    for (int i = 1; i <= n; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%d,0,%d,10,%.6f,nan,0.1,1\n", i, i,
                              ret(i, c));
    snprintf(name, sizeof name, "%s/actor-0-episodes.csv", rel);
    put(dir, name, "%s", buf);
    snprintf(name, sizeof name, "%s/config.ini", rel);
    put(dir, name,
        "[run]\nseed = 1\n\n[env]\nname = chain\n\n[learner]\nupdates = 100\n\n[actor]\ncount = "
        "1\n");
    snprintf(name, sizeof name, "%s/DONE", rel);
    put(dir, name, "wall_s=3\n");
}

static double constant(int i, double c)
{
    (void)i;
    return c;
}
static double ramp(int i, double c) { return c * i / 20.0; }

/* A schedule that beats another in every run has P(improvement) = 1; the IQM
 * of constant runs is the constant with a degenerate interval; sample
 * efficiency on a hand-worked ramp; missing, failed and unfinished runs are
 * listed and left out. */
static void test_chain_known_answers(void **state)
{
    (void)state;
    char *dir = new_dir();
    put(dir, "manifest.tsv",
        "index\tschedule\texploration\tseed\trun\n"
        "0\tgood\t0.1\t1\truns/good/seed-1\n1\tgood\t0.1\t2\truns/good/"
        "seed-2\n2\tgood\t0.1\t3\truns/good/seed-3\n"
        "3\tbad\t0.5\t1\truns/bad/seed-1\n4\tbad\t0.5\t2\truns/bad/seed-2\n5\tbad\t0.5\t3\truns/"
        "bad/seed-3\n"
        "6\tramp\tlinear:start=1,end=0.05,steps=100\t1\truns/ramp/seed-1\n"
        "7\tramp\tlinear:start=1,end=0.05,steps=100\t2\truns/ramp/seed-2\n"
        "8\tramp\tlinear:start=1,end=0.05,steps=100\t3\truns/ramp/seed-3\n");
    for (int s = 1; s <= 3; s++) {
        char rel[64];
        snprintf(rel, sizeof rel, "runs/good/seed-%d", s);
        chain_run(dir, rel, 20, constant, 1.0);
        snprintf(rel, sizeof rel, "runs/bad/seed-%d", s);
        chain_run(dir, rel, 20, constant, 0.0);
    }
    chain_run(dir, "runs/ramp/seed-1", 20, ramp, 1.0);
    /* seed 2: failed with a reason; seed 3: never started */
    put(dir, "runs/ramp/seed-2/FAILED", "training failed (exit 1); see logs\n");
    run_report(dir, "--set ablation.gnuplot=");
    char out[1100];
    snprintf(out, sizeof out, "%s/report", dir);

    /* final.csv: schedule,exploration,runs_done,runs_planned,iqm,lo,hi,... */
    assert_close(csv_value(out, "final.csv", "\"good\"", 4), 1.0, 1e-9);
    assert_close(csv_value(out, "final.csv", "\"good\"", 5), 1.0, 1e-9);
    assert_close(csv_value(out, "final.csv", "\"good\"", 6), 1.0, 1e-9);
    assert_close(csv_value(out, "final.csv", "\"bad\"", 4), 0.0, 1e-9);
    assert_close(csv_value(out, "final.csv", "\"good\"", 2), 3, 0);
    assert_close(csv_value(out, "final.csv", "\"ramp\"", 2), 1, 0);
    assert_close(csv_value(out, "final.csv", "\"ramp\"", 3), 3, 0);
    /* ramp: the last 10% of 200 env steps holds episodes 19 and 20 */
    assert_close(csv_value(out, "final.csv", "\"ramp\"", 4), (0.95 + 1.0) / 2, 1e-9);

    /* improvement.csv: x,y,p,lo,hi */
    assert_close(csv_value(out, "improvement.csv", "\"good\",\"bad\"", 2), 1.0, 0);
    assert_close(csv_value(out, "improvement.csv", "\"good\",\"bad\"", 3), 1.0, 0);
    assert_close(csv_value(out, "improvement.csv", "\"good\",\"bad\"", 4), 1.0, 0);
    assert_close(csv_value(out, "improvement.csv", "\"bad\",\"good\"", 2), 0.0, 0);
    /* ramp's one run (0.975) beats every bad run and loses to every good run */
    assert_close(csv_value(out, "improvement.csv", "\"ramp\",\"bad\"", 2), 1.0, 0);
    assert_close(csv_value(out, "improvement.csv", "\"ramp\",\"good\"", 2), 0.0, 0);

    /* efficiency.csv: schedule,threshold,reached,done,median,min,max. Best
     * final return 1 -> threshold 0.9. Window 20 env steps: ramp's smoothed
     * return at episode i is (2i - 1)/40 >= 0.9 first at i = 19 (x = 190);
     * good reaches it at its first episode (x = 10); bad never. */
    assert_close(csv_value(out, "efficiency.csv", "\"ramp\"", 1), 0.9, 1e-9);
    assert_close(csv_value(out, "efficiency.csv", "\"ramp\"", 4), 190, 1e-9);
    assert_close(csv_value(out, "efficiency.csv", "\"good\"", 4), 10, 1e-9);
    assert_close(csv_value(out, "efficiency.csv", "\"bad\"", 2), 0, 0);

    /* the missing runs are listed with their reasons */
    char *md = slurp(out, "report.md");
    assert_non_null(strstr(md, "2 of 9 planned runs are left out"));
    assert_non_null(strstr(
        md, "| runs/ramp/seed-2 | ramp | 2 | failed | training failed (exit 1); see logs |"));
    assert_non_null(strstr(md, "| runs/ramp/seed-3 | ramp | 3 | missing | not started |"));
    assert_non_null(strstr(md, "Held fixed: every configuration key of the 7 finished runs"));
    free(md);
    char *runs = slurp(out, "runs.csv");
    assert_non_null(strstr(runs, "\"runs/ramp/seed-3\",missing"));
    assert_non_null(strstr(runs, "\"runs/ramp/seed-2\",failed"));
    free(runs);

    /* a run folder without DONE (interrupted) is unfinished, not used */
    put(dir, "runs/ramp/seed-3/actor-0-episodes.csv",
        "time_s,env,episode,steps,return,final_metric,explore_param,weights_version\n1,0,1,10,5,"
        "nan,0.1,1\n");
    run_report(dir, "--set ablation.gnuplot=");
    md = slurp(out, "report.md");
    assert_non_null(strstr(md, "| runs/ramp/seed-3 | ramp | 3 | unfinished |"));
    free(md);
    assert_close(csv_value(out, "final.csv", "\"ramp\"", 4), 0.975, 1e-9);
    rm_dir(dir);
}

/* IQM and intervals on hand-worked sets: {1, 2, 3, 10} has IQM (2 + 3)/2;
 * {0, 0, 1, 1}: a resample's IQM is 0, 0.5 or 1 with probabilities 5/16,
 * 6/16, 5/16, so the 95% percentile interval is [0, 1]; a config value that
 * differs between runs is reported. */
static void test_iqm_and_intervals(void **state)
{
    (void)state;
    char *dir = new_dir();
    put(dir, "manifest.tsv",
        "index\tschedule\texploration\tseed\trun\n"
        "0\tiqm\t0.1\t1\truns/iqm/seed-1\n1\tiqm\t0.1\t2\truns/iqm/seed-2\n"
        "2\tiqm\t0.1\t3\truns/iqm/seed-3\n3\tiqm\t0.1\t4\truns/iqm/seed-4\n"
        "4\ttwo\t0.2\t1\truns/two/seed-1\n5\ttwo\t0.2\t2\truns/two/seed-2\n"
        "6\ttwo\t0.2\t3\truns/two/seed-3\n7\ttwo\t0.2\t4\truns/two/seed-4\n");
    double iqm_set[] = {10, 2, 1, 3}, two_set[] = {0, 1, 0, 1};
    for (int s = 0; s < 4; s++) {
        char rel[64];
        snprintf(rel, sizeof rel, "runs/iqm/seed-%d", s + 1);
        chain_run(dir, rel, 20, constant, iqm_set[s]);
        snprintf(rel, sizeof rel, "runs/two/seed-%d", s + 1);
        chain_run(dir, rel, 20, constant, two_set[s]);
    }
    /* one run trained with another batch size: not held fixed */
    put(dir, "runs/two/seed-4/config.ini",
        "[run]\nseed = 4\n\n[env]\nname = chain\n\n[learner]\nupdates = 100\nbatch = "
        "32\n\n[actor]\ncount = 1\n");
    run_report(dir, "--set ablation.gnuplot= --set ablation.boot=4000");
    char out[1100];
    snprintf(out, sizeof out, "%s/report", dir);
    assert_close(csv_value(out, "final.csv", "\"iqm\"", 4), 2.5, 1e-9);
    double lo = csv_value(out, "final.csv", "\"iqm\"", 5),
           hi = csv_value(out, "final.csv", "\"iqm\"", 6);
    assert_true(lo >= 1.0 && lo <= 2.5 && hi >= 2.5 && hi <= 10.0 && hi > lo);
    assert_close(csv_value(out, "final.csv", "\"two\"", 4), 0.5, 1e-9);
    assert_close(csv_value(out, "final.csv", "\"two\"", 5), 0.0, 1e-9);
    assert_close(csv_value(out, "final.csv", "\"two\"", 6), 1.0, 1e-9);
    /* P(iqm better than two): every iqm run (>= 1) beats the 0s and beats or
     * ties the 1s: (4*2 + (3*2 + 1*2*0.5)) / 16 = 15/16 */
    assert_close(csv_value(out, "improvement.csv", "\"iqm\",\"two\"", 2), 15.0 / 16.0, 1e-4);
    char *md = slurp(out, "report.md");
    assert_non_null(strstr(md, "**differs**"));
    assert_non_null(strstr(md, "learner.batch = 32"));
    free(md);
    rm_dir(dir);
}

/* LM env: the primary score is held-out bits per byte, stratified by
 * instance, lower is better; snapshot env steps come from learner.csv. */
static void lm_run(const char *dir, const char *rel, long seed, double base)
{
    char name[600], buf[4096];
    snprintf(name, sizeof name, "%s/config.ini", rel);
    put(dir, name,
        "[run]\nseed = %ld\n\n[env]\nname = lm\n\n[learner]\nupdates = 100\n\n[actor]\ncount = 1\n",
        seed);
    size_t o = (size_t)snprintf(
        buf, sizeof buf,
        "time_s,env,episode,steps,return,final_metric,explore_param,weights_version\n");
    for (int i = 1; i <= 20; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%d,0,%d,10,0.5,%.6f,0.1,1\n", i, i,
                              3.0 * 0.6931471805599453);
    snprintf(name, sizeof name, "%s/actor-0-episodes.csv", rel);
    put(dir, name, "%s", buf);
    snprintf(name, sizeof name, "%s/learner.csv", rel);
    put(dir, name, "time_s,updates,replay_inserts\n1,25,100\n2,75,300\n3,100,400\n");
    snprintf(name, sizeof name, "%s/eval/episodes.csv", rel);
    put(dir, name,
        "method,lr_setting,lr,instance_seed,size,final_bpb\n"
        "\"controller\",instance,0,11,2x48x4x32,%.6f\n\"controller\",instance,0,12,2x48x4x32,%.6f\n"
        "\"controller\",instance,0,13,2x48x4x32,%.6f\n",
        base, base + 0.1, base + 0.2);
    snprintf(name, sizeof name, "%s/snapshots/50/episodes.csv", rel);
    put(dir, name,
        "method,lr_setting,lr,instance_seed,size,final_bpb\n"
        "\"controller\",instance,0,11,2x48x4x32,%.6f\n\"controller\",instance,0,12,2x48x4x32,%.6f\n"
        "\"controller\",instance,0,13,2x48x4x32,%.6f\n",
        base + 1, base + 1, base + 1);
    snprintf(name, sizeof name, "%s/DONE", rel);
    put(dir, name, "wall_s=60\n");
}

static void test_lm_heldout(void **state)
{
    (void)state;
    char *dir = new_dir();
    put(dir, "manifest.tsv",
        "index\tschedule\texploration\tseed\trun\n"
        "0\tx\t0.1\t1\truns/x/seed-1\n1\tx\t0.1\t2\truns/x/seed-2\n"
        "2\ty\tez:0.1\t1\truns/y/seed-1\n3\ty\tez:0.1\t2\truns/y/seed-2\n");
    lm_run(dir, "runs/x/seed-1", 1, 2.0);
    lm_run(dir, "runs/x/seed-2", 2, 2.0);
    lm_run(dir, "runs/y/seed-1", 1, 3.0);
    lm_run(dir, "runs/y/seed-2", 2, 3.0);
    int figures = system("gnuplot -e 'set terminal svg' >/dev/null 2>&1") == 0;
    run_report(dir, figures ? "--set ablation.boot=200" : "--set ablation.gnuplot=");
    char out[1100];
    snprintf(out, sizeof out, "%s/report", dir);
    /* x: {2.0, 2.1, 2.2} twice; drop one from each end -> mean(2.0, 2.1, 2.1, 2.2) */
    assert_close(csv_value(out, "final.csv", "\"x\"", 4), 2.1, 1e-6);
    assert_close(csv_value(out, "final.csv", "\"y\"", 4), 3.1, 1e-6);
    assert_close(csv_value(out, "improvement.csv", "\"x\",\"y\"", 2), 1.0, 0);
    assert_close(csv_value(out, "improvement.csv", "\"y\",\"x\"", 2), 0.0, 0);
    /* held-out curve: snapshot at update 50 = 200 env steps (between the
     * learner rows 25 -> 100 and 75 -> 300), the final one at 400 */
    char *dat = slurp(out, "curve_heldout_bpb.dat");
    assert_non_null(
        strstr(dat, "# schedule x: 0.1\n200.0 3 3 3 2 50 0\n400.0 2.1 2.1 2.1 2 100 0\n"));
    free(dat);
    char *md = slurp(out, "report.md");
    assert_non_null(strstr(md, "held-out bits per byte"));
    assert_non_null(strstr(md, "None: every planned run finished"));
    free(md);
    if (figures) {
        struct stat st;
        const char *figs[] = {
            "curve_return.svg", "curve_train_bpb.svg", "curve_heldout_bpb.svg", "profile.svg",
            "final.svg",        "curve_return.png",    "profile.png",           NULL};
        for (int i = 0; figs[i]; i++) {
            char path[1200];
            snprintf(path, sizeof path, "%s/%s", out, figs[i]);
            if (stat(path, &st) != 0 || st.st_size < 1000) fail_msg("%s was not drawn", path);
        }
    }
    rm_dir(dir);
}

/* One aggregation everywhere: a variant over a non-exploration key (the
 * manifest's settings column), 2 seeds x 3 held-out instances, one of them
 * diverged (at the cap). Seed 1 scores {2, 2, 7.44}, seed 2 {2, 3, 3}: the IQM
 * over the 6 (seed, instance) scores is mean(2, 2, 3, 3) = 2.5, where "mean
 * per run, then IQM" would say 3.24. The table, the final figure's data and
 * the last point of the held-out curve must all say 2.5 with the same
 * interval; the diverged score is counted; 2 seeds draw the warning. */
static void test_one_aggregation(void **state)
{
    (void)state;
    char *dir = new_dir();
    put(dir, "manifest.tsv",
        "index\tvariant\tsettings\tseed\trun\n"
        "0\tg9\tdqn.gamma=0.9\t1\truns/g9/seed-1\n1\tg9\tdqn.gamma=0.9\t2\truns/g9/seed-2\n");
    const double sc[2][3] = {{2, 2, 7.44}, {2, 3, 3}};
    for (int k = 0; k < 2; k++) {
        char rel[64], name[128];
        snprintf(rel, sizeof rel, "runs/g9/seed-%d", k + 1);
        lm_run(dir, rel, k + 1, 2.0);
        snprintf(name, sizeof name, "%s/config.ini", rel);
        put(dir, name,
            "[run]\nseed = %d\n\n[env]\nname = lm\n\n[dqn]\ngamma = 0.9\n\n[learner]\nupdates = "
            "100\n\n[actor]\ncount = 1\n",
            k + 1);
        snprintf(name, sizeof name, "%s/eval/episodes.csv", rel);
        put(dir, name,
            "method,lr_setting,lr,instance_seed,size,final_bpb,diverged\n"
            "\"controller\",instance,0,11,2x48x4x32,%.6f,0\n"
            "\"controller\",instance,0,12,2x48x4x32,%.6f,0\n"
            "\"controller\",instance,0,13,2x48x4x32,%.6f,%d\n",
            sc[k][0], sc[k][1], sc[k][2], sc[k][2] > 7);
    }
    run_report(dir, "--set ablation.gnuplot= --set ablation.boot=500");
    char out[1100];
    snprintf(out, sizeof out, "%s/report", dir);
    double m = csv_value(out, "final.csv", "\"g9\"", 4),
           lo = csv_value(out, "final.csv", "\"g9\"", 5),
           hi = csv_value(out, "final.csv", "\"g9\"", 6);
    assert_close(m, 2.5, 1e-9);
    assert_true(lo <= m && m <= hi);
    assert_close(csv_value(out, "final.csv", "\"g9\"", 10), 1, 0); /* diverged scores */
    assert_close(csv_value(out, "final.csv", "\"g9\"", 11), 1, 0); /* runs with one */
    /* the held-out curve's last point (the final evaluation, update 100) */
    char *dat = slurp(out, "curve_heldout_bpb.dat"), *p = strstr(dat, "# schedule g9");
    assert_non_null(p);
    p = strstr(p, "\n400.0 ");
    assert_non_null(p);
    double cm, clo, chi;
    int n, u, nd;
    assert_int_equal(sscanf(p + 7, "%lf %lf %lf %d %d %d", &cm, &clo, &chi, &n, &u, &nd), 6);
    assert_close(cm, m, 1e-6);
    assert_close(clo, lo, 1e-5);
    assert_close(chi, hi, 1e-5);
    assert_int_equal(n, 2);
    assert_int_equal(u, 100);
    assert_int_equal(nd, 1);
    free(dat);
    /* the final figure's data: the same numbers */
    char *fin = slurp(out, "final.dat");
    char want[128];
    snprintf(want, sizeof want, "1 %.6f %.6f %.6f \"g9 (1 diverged)\"", m, lo, hi);
    if (!strstr(fin, want)) fail_msg("final.dat lacks '%s':\n%s", want, fin);
    free(fin);
    char *md = slurp(out, "report.md");
    assert_non_null(strstr(md, "| 2/2 | 2.5000 ["));
    assert_non_null(strstr(md, "| 1 of 6 (1 of 2 runs) |"));
    assert_non_null(strstr(md, "**Warning:** g9 has 2 finished seeds"));
    assert_non_null(strstr(md, "Diverged: 1 held-out score in all"));
    assert_non_null(strstr(md, "what the variants set (`dqn.gamma`"));
    assert_null(strstr(md, "**differs**"));
    free(md);
    rm_dir(dir);
}

/* One run folder (no manifest.tsv), as if still running: no status files,
 * learner.csv ending in half a row. Samples per insert between rows 1 and 2:
 * (30 - 10) updates x batch 4 / (60 - 20) inserts = 2; over the run 30 x 4 /
 * 60 = 2. Episodes' final_metric in nats: 2 ln 2 and 4 ln 2 nats are 2 and 4
 * bits per byte, their trailing mean 3. */
static void test_run_folder(void **state)
{
    (void)state;
    char *dir = new_dir();
    put(dir, "config.ini",
        "[run]\nseed = 7\n\n[env]\nname = lm\n\n[replay]\nsamples_per_insert = 2\n\n"
        "[learner]\nupdates = 100\nbatch = 4\n\n[actor]\ncount = 1\n");
    put(dir, "learner.csv",
        "time_s,updates,loss,q_mean,updates_per_s,replay_size,replay_inserts\n"
        "1.000,10,0.5,1,10,20,20\n2.000,30,0.25,1.5,20,40,60\n3.0,50,0.1");
    put(dir, "actor-0.csv",
        "time_s,env_steps,episodes,return_mean,final_metric_mean,policy_lag\n"
        "1.0,64,2,0.5,2.0794415,3\n2.0,128,4,0.5,2.0794415,1\n");
    put(dir, "actor-0-episodes.csv",
        "time_s,env,episode,steps,return,final_metric,explore_param,weights_version\n"
        "1,0,1,32,0.25,1.3862944,0.1,1\n1,0,2,32,0.75,2.7725887,0.1,1\n2,0,3,32,0.5,nan");
    run_report(dir, "--set ablation.gnuplot=");
    char out[1100];
    snprintf(out, sizeof out, "%s/report", dir);
    char *dat = slurp(out, "learner.dat");
    assert_non_null(strstr(dat, "\n10 1.000 0.5 1 20 20 nan\n30 2.000 0.25 1.5 40 60 2\n"));
    assert_null(strstr(dat, "\n50 "));
    free(dat);
    dat = slurp(out, "episodes.dat");
    assert_non_null(strstr(dat, "# actor 0\n32 0.25 2 0.25 2\n64 0.75 4 0.5 3\n\n"));
    free(dat);
    dat = slurp(out, "actors.dat");
    assert_non_null(strstr(dat, "# actor 0\n64 1.000 3 0.5 3\n128 2.000 1 0.5 3\n"));
    free(dat);
    char *md = slurp(out, "summary.md");
    assert_non_null(strstr(md, "State: **running**"));
    assert_non_null(strstr(md, "| learner updates | 30 of 100 (30%) after 2.0 s |"));
    assert_non_null(strstr(md, "| samples per insert, whole run | 2 ("));
    assert_non_null(strstr(md, "target replay.samples_per_insert = 2 |"));
    assert_non_null(strstr(md, "| actors | 1; 128 env steps, 2 episodes"));
    assert_non_null(strstr(md, "actor | 3.0000 (2 episodes) |"));
    assert_non_null(strstr(md, "| policy lag (weights versions), last row / largest | 1 / 3 |"));
    assert_non_null(strstr(md, "### Final validation bits per byte of the training episodes"));
    free(md);
    /* ended: the status files say so */
    put(dir, "replay.status", "[replay]\nstate = stopped\nexit = 0\n");
    put(dir, "actor-0.status", "[actor]\nid = 0\nstate = stopped\nexit = 0\n");
    run_report(dir, "--set ablation.gnuplot=");
    md = slurp(out, "summary.md");
    assert_non_null(strstr(md, "State: **ended**: replay server stopped (exit 0), 1 of 1 actors"));
    free(md);
    rm_dir(dir);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_report PATH/TO/dqnlm-report\n");
        return 2;
    }
    report_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_known_answers), cmocka_unit_test(test_iqm_and_intervals),
        cmocka_unit_test(test_lm_heldout),          cmocka_unit_test(test_one_aggregation),
        cmocka_unit_test(test_run_folder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
