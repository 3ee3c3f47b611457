/* test_config.c - configuration: defaults, INI files, --set, and every error
 * message naming the file, line and key; docs/config.md documents every key. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "err.h"

static char err[768];

static const char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/dqnlm-test-config-%d.ini", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_defaults_are_valid(void **state)
{
    (void)state;
    size_t n;
    const dq_config_key_t *keys = dq_config_keys(&n);
    assert_true(n > 20);
    dq_config_t cfg;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(dq_config_set_value(&cfg, keys[i].section, keys[i].key, keys[i].dflt,
                                             "default", err, sizeof err),
                         DQ_OK);
    dq_config_defaults(&cfg);
    assert_int_equal(cfg.env_chain_length, 8);
    assert_string_equal(cfg.replay_endpoint, "tcp://127.0.0.1:5555");
    assert_true(cfg.learner_lr > 0.0009 && cfg.learner_lr < 0.0011);
}

static void test_file_and_set(void **state)
{
    (void)state;
    dq_config_t cfg;
    dq_config_defaults(&cfg);
    const char *p =
        write_tmp("; comment\n[learner]\nlr = 3e-4\nbatch = 128\n\n[env]\nname = \"lm\"\n");
    assert_int_equal(dq_config_load_file(&cfg, p, err, sizeof err), DQ_OK);
    assert_int_equal(cfg.learner_batch, 128);
    assert_string_equal(cfg.env_name, "lm");
    assert_int_equal(dq_config_set(&cfg, "learner.batch=32", "--set", err, sizeof err), DQ_OK);
    assert_int_equal(cfg.learner_batch, 32);
    remove(p);
}

static void expect_file_error(const char *text, const char *needle1, const char *needle2)
{
    dq_config_t cfg;
    dq_config_defaults(&cfg);
    const char *p = write_tmp(text);
    assert_int_equal(dq_config_load_file(&cfg, p, err, sizeof err), DQ_ECONFIG);
    if (!strstr(err, needle1) || !strstr(err, needle2) || !strstr(err, p))
        fail_msg("error '%s' lacks '%s' / '%s' / path", err, needle1, needle2);
    remove(p);
}

static void test_file_errors_name_line_and_key(void **state)
{
    (void)state;
    expect_file_error("[learner]\nlr = 1e-3\n[bogus]\nx = 1\n", ":4", "unknown section [bogus]");
    expect_file_error("[learner]\n\nlearning_rate = 1\n", ":3", "unknown key 'learning_rate'");
    expect_file_error("[learner]\nbatch = 12x\n", ":2", "learner.batch: '12x' is not an integer");
    expect_file_error("[dqn]\ngamma = 1.5\n", ":2", "out of range");
    expect_file_error("[dqn]\ngamma = nan\n", ":2", "not a finite number");
    expect_file_error("[env]\nname = gridworld\n", ":2", "not one of [chain|lm");
    expect_file_error("lr = 1\n", ":1", "before any [section]");
    expect_file_error("[learner\nlr = 1\n", ":1", "syntax error");
}

/* A key given twice, a section given twice, an indented line (which inih
 * would join to the previous value) and an over-long line are errors naming
 * the line; keys of the same name in different sections are not repeats. */
static void test_repeats_are_errors(void **state)
{
    (void)state;
    expect_file_error("[learner]\nlr = 1e-3\nbatch = 8\nlr = 2e-3\n", ":4",
                      "duplicate key learner.lr (first set on line 2)");
    expect_file_error("[learner]\nlr = 1e-3\n\n[env]\nname = chain\n[learner]\nbatch = 8\n", ":6",
                      "section [learner] appears again (first on line 1)");
    /* a repeated section is refused even when it holds no keys */
    expect_file_error("[dqn]\ngamma = 0.5\n[dqn]\n", ":3", "section [dqn] appears again");
    expect_file_error("[learner]\nlr = 1e-3\n  2e-3\n", ":3",
                      "indented line continues the value of learner.lr");
    char longline[400];
    snprintf(longline, sizeof longline, "[run]\ndir = /tmp/%0300d\n", 7);
    expect_file_error(longline, ":2", "line longer than");
    dq_config_t cfg;
    dq_config_defaults(&cfg);
    const char *p = write_tmp("[learner]\nbatch = 16\n[actor]\nbatch = 4\n");
    assert_int_equal(dq_config_load_file(&cfg, p, err, sizeof err), DQ_OK);
    assert_int_equal(cfg.learner_batch, 16);
    assert_int_equal(cfg.actor_batch, 4);
    /* the same key in two files (or a file and --set) is an override, not a repeat */
    assert_int_equal(dq_config_load_file(&cfg, p, err, sizeof err), DQ_OK);
    remove(p);
}

/* --config on a folder is refused with its path; so is a file that cannot be read. */
static void test_folder_is_refused(void **state)
{
    (void)state;
    dq_config_t cfg;
    dq_config_defaults(&cfg);
    assert_int_equal(dq_config_load_file(&cfg, "/tmp", err, sizeof err), DQ_EIO);
    if (!strstr(err, "/tmp: is a folder, not a config file")) fail_msg("error '%s'", err);
}

static void test_set_errors(void **state)
{
    (void)state;
    dq_config_t cfg;
    dq_config_defaults(&cfg);
    assert_int_equal(dq_config_set(&cfg, "learner.lr", "--set", err, sizeof err), DQ_ECONFIG);
    assert_non_null(strstr(err, "expected section.key=value"));
    assert_int_equal(dq_config_set(&cfg, "learner.batch=0", "--set", err, sizeof err), DQ_ECONFIG);
    assert_non_null(strstr(err, "--set: learner.batch = 0 is out of range"));
    assert_int_equal(dq_config_set(&cfg, "nope.x=1", "--set", err, sizeof err), DQ_ECONFIG);
    assert_non_null(strstr(err, "unknown section [nope]"));
    assert_int_equal(cfg.learner_batch, 64); /* a failed set changes nothing */
}

static void test_missing_file(void **state)
{
    (void)state;
    dq_config_t cfg;
    dq_config_defaults(&cfg);
    assert_int_equal(dq_config_load_file(&cfg, "/nonexistent/x.ini", err, sizeof err), DQ_EIO);
    assert_non_null(strstr(err, "/nonexistent/x.ini"));
}

static void test_write_round_trip(void **state)
{
    (void)state;
    dq_config_t a, b;
    dq_config_defaults(&a);
    assert_int_equal(dq_config_set(&a, "learner.lr=0.000123", "--set", err, sizeof err), DQ_OK);
    assert_int_equal(dq_config_set(&a, "run.dir=/tmp/some dir", "--set", err, sizeof err), DQ_OK);
    const char *p = write_tmp("");
    FILE *f = fopen(p, "w");
    assert_int_equal(dq_config_write(&a, f), DQ_OK);
    fclose(f);
    dq_config_defaults(&b);
    assert_int_equal(dq_config_load_file(&b, p, err, sizeof err), DQ_OK);
    assert_memory_equal(&a, &b, sizeof a);
    /* Reals are written in their shortest exact form (issue 14: not
     * 0.98999999999999999), and a value that needs 17 digits keeps them. */
    assert_int_equal(dq_config_set(&a, "dqn.gamma=0.99", "--set", err, sizeof err), DQ_OK);
    assert_int_equal(dq_config_set(&a, "lm.lr_min=0.30000000000000004", "--set", err, sizeof err),
                     DQ_OK);
    f = fopen(p, "w");
    assert_int_equal(dq_config_write(&a, f), DQ_OK);
    fclose(f);
    char text[32768];
    f = fopen(p, "r");
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    if (!strstr(text, "\ngamma = 0.99\n") || !strstr(text, "\nlr = 0.000123\n") ||
        !strstr(text, "\nlr_min = 0.30000000000000004\n") ||
        !strstr(text, "\nlr_init_min = 0.0001\n"))
        fail_msg("reals not written in their shortest exact form:\n%s", text);
    dq_config_defaults(&b);
    assert_int_equal(dq_config_load_file(&b, p, err, sizeof err), DQ_OK);
    assert_memory_equal(&a, &b, sizeof a);
    remove(p);
}

/* Found by fuzzing (tests/fuzz/fuzz_config; reproducers in
 * tests/fuzz/corpus/config/regress_*): a line longer than libinih's buffer
 * was read as two lines, so its tail could set another key; a NUL byte cut a
 * line silently; a value starting with ';' (or with outer blanks or quotes)
 * was written to the run folder's config.ini in a form that reads back as
 * something else, and so was one holding ' ;' (from --set, or from a
 * continuation line: inih keeps ' ;' there); a --set value of 256 characters
 * overflowed its field. */
static void test_fuzz_regressions(void **state)
{
    (void)state;
    char line[400];
    snprintf(line, sizeof line,
             "[run]\ndir = %0193d"
             "seed = 5\n",
             0);
    expect_file_error(line, ":2", "line longer than 198 characters");
    const char nul[] = "[run]\nseed = 7\0zz\nlog_level = debug\n";
    const char *p = write_tmp("");
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(nul, 1, sizeof nul - 1, f), sizeof nul - 1);
    fclose(f);
    dq_config_t a, b;
    dq_config_defaults(&a);
    assert_int_equal(dq_config_load_file(&a, p, err, sizeof err), DQ_ECONFIG);
    assert_non_null(strstr(err, ":2: NUL byte in the line"));
    assert_int_equal(a.run_seed, 1); /* nothing from that line */
    const char *values[] = {"run.dir=;\b", "run.dir=\" a b \"", "run.dir='\"x\"'"};
    const char *want[] = {";\b", " a b ", "\"x\""};
    for (int i = 0; i < 3; i++) {
        dq_config_defaults(&a);
        assert_int_equal(dq_config_set(&a, values[i], "--set", err, sizeof err), DQ_OK);
        assert_string_equal(a.run_dir, want[i]);
        f = fopen(p, "w");
        assert_int_equal(dq_config_write(&a, f), DQ_OK);
        fclose(f);
        dq_config_defaults(&b);
        assert_int_equal(dq_config_load_file(&b, p, err, sizeof err), DQ_OK);
        assert_string_equal(b.run_dir, want[i]);
    }
    assert_int_equal(dq_config_set(&a, "run.dir=a ;b", "--set", err, sizeof err), DQ_ECONFIG);
    assert_non_null(strstr(err, "--set: run.dir: ' ;' in a value"));
    /* a continuation line (refused here for its ' ;'; a repeated key is an error too) */
    expect_file_error("[run]\ndir =\n\n \"x ; y\n", ":4", "dir");
    char big[300] = "run.dir=";
    memset(big + 8, 'x', 256);
    big[8 + 256] = '\0';
    assert_int_equal(dq_config_set(&a, big, "--set", err, sizeof err), DQ_ECONFIG);
    assert_non_null(strstr(err, "run.dir: value of 256 characters; at most 190 fit"));
    big[8 + 191] = '\0';
    assert_int_equal(dq_config_set(&a, big, "--set", err, sizeof err), DQ_ECONFIG);
    big[8 + 190] = '\0';
    assert_int_equal(dq_config_set(&a, big, "--set", err, sizeof err), DQ_OK);
    assert_int_equal(strlen(a.run_dir), 190);
    f = fopen(p, "w");
    assert_int_equal(dq_config_write(&a, f), DQ_OK);
    fclose(f);
    dq_config_defaults(&b);
    assert_int_equal(dq_config_load_file(&b, p, err, sizeof err), DQ_OK);
    assert_string_equal(b.run_dir, a.run_dir);
    remove(p);
}

static void test_int_list(void **state)
{
    (void)state;
    int v[8], n;
    assert_int_equal(dq_config_parse_int_list("64, 32,16", v, 8, &n), DQ_OK);
    assert_int_equal(n, 3);
    assert_int_equal(v[1], 32);
    assert_int_equal(dq_config_parse_int_list("64,,", v, 8, &n), DQ_ECONFIG);
    assert_int_equal(dq_config_parse_int_list("64,-1", v, 8, &n), DQ_ECONFIG);
}

/* Every profile in deploy/profiles/ loads under the strict rules (no key or
 * section given twice). */
static void test_profiles_load(void **state)
{
    (void)state;
    const char *src = getenv("DQNLM_SRC");
    if (!src) skip();
    char dir[1024], path[1400];
    snprintf(dir, sizeof dir, "%s/deploy/profiles", src);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".ini") != 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        dq_config_t cfg;
        dq_config_defaults(&cfg);
        if (dq_config_load_file(&cfg, path, err, sizeof err) != DQ_OK) fail_msg("%s", err);
        n++;
    }
    closedir(d);
    assert_true(n >= 3);
}

static void test_docs_cover_every_key(void **state)
{
    (void)state;
    const char *src = getenv("DQNLM_SRC");
    if (!src) skip();
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/config.md", src);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char doc[1 << 20];
    size_t len = fread(doc, 1, sizeof doc - 1, f);
    doc[len] = '\0';
    fclose(f);
    size_t n;
    const dq_config_key_t *keys = dq_config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        char name[160];
        snprintf(name, sizeof name, "`%s.%s`", keys[i].section, keys[i].key);
        if (!strstr(doc, name)) fail_msg("docs/config.md does not document %s", name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_valid),
        cmocka_unit_test(test_file_and_set),
        cmocka_unit_test(test_file_errors_name_line_and_key),
        cmocka_unit_test(test_repeats_are_errors),
        cmocka_unit_test(test_folder_is_refused),
        cmocka_unit_test(test_set_errors),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_write_round_trip),
        cmocka_unit_test(test_fuzz_regressions),
        cmocka_unit_test(test_int_list),
        cmocka_unit_test(test_profiles_load),
        cmocka_unit_test(test_docs_cover_every_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
