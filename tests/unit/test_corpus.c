/* test_corpus.c - corpus loading and its errors (each naming the path),
 * record splitting, slice and validation-split determinism and
 * disjointness, and window sampling. */
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

#include "corpus.h"
#include "err.h"
#include "rng.h"

#define FORTUNES "/usr/share/games/fortunes"

static char why[1024];
static char dir[128];

static const char *tmp_file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void expect_error(const char *paths, int code, const char *needle)
{
    corpus_t *c = (corpus_t *)1;
    why[0] = '\0';
    assert_int_equal(corpus_load(&c, paths, why, sizeof why), code);
    assert_null(c);
    if (!strstr(why, needle)) fail_msg("error '%s' lacks '%s'", why, needle);
}

static void test_load_errors_name_the_path(void **state)
{
    (void)state;
    char p[300];
    snprintf(p, sizeof p, "%s/does-not-exist.txt", dir);
    expect_error(p, DQ_EIO, p);
    expect_error(p, DQ_EIO, "No such file");
    snprintf(p, sizeof p, "%s", tmp_file("empty.txt", ""));
    expect_error(p, DQ_EEMPTY, p);
    expect_error(p, DQ_EEMPTY, "empty");
    /* Unreadable: /proc/self/mem opens but cannot be read at offset 0 (works as
     * root, where permission bits would not stop us). */
    expect_error("/proc/self/mem", DQ_EIO, "/proc/self/mem");
    if (geteuid() != 0) {
        snprintf(p, sizeof p, "%s", tmp_file("secret.txt", "hidden\n"));
        chmod(p, 0);
        expect_error(p, DQ_EIO, p);
    }
    /* A folder without text files (only index files). */
    char sub[256];
    snprintf(sub, sizeof sub, "%s/onlydat", dir);
    mkdir(sub, 0755);
    tmp_file("onlydat/x.dat", "binary");
    expect_error(sub, DQ_EEMPTY, sub);
    /* Only "%" lines: no text. */
    snprintf(p, sizeof p, "%s", tmp_file("percent.txt", "%\n%\n%\n"));
    expect_error(p, DQ_EEMPTY, p);
    expect_error("", DQ_EINVAL, "no path");
}

/* Writes n bytes (NUL bytes allowed) to a file of the test folder. */
static const char *tmp_bytes(const char *name, const void *bytes, size_t n)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    fclose(f);
    return path;
}

/* Issue 13: a file that is not text is refused with its path, given alone or
 * inside a folder; text with a few control characters and UTF-8 passes. */
static void test_refuses_binary(void **state)
{
    (void)state;
    char p[300], text[2000];
    static const char with_nul[] = "hello\nwor\0ld\n";
    snprintf(p, sizeof p, "%s", tmp_bytes("nul.txt", with_nul, sizeof with_nul - 1));
    expect_error(p, DQ_EFORMAT, p);
    expect_error(p, DQ_EFORMAT, "NUL byte at offset 9");
    /* No NUL, but one byte in four is a control character. */
    for (size_t i = 0; i < sizeof text; i++) text[i] = (char)(i % 4 ? 'a' + i % 26 : 1 + i % 8);
    snprintf(p, sizeof p, "%s", tmp_bytes("controls.txt", text, sizeof text));
    expect_error(p, DQ_EFORMAT, p);
    expect_error(p, DQ_EFORMAT, "500 of its 2000 bytes are control characters");
    /* Inside a folder: the error names the file, not only the folder. */
    char sub[256];
    snprintf(sub, sizeof sub, "%s/mixed", dir);
    mkdir(sub, 0755);
    tmp_bytes("mixed/a.txt", "fine text\n", 10);
    tmp_bytes("mixed/b.bin", with_nul, sizeof with_nul - 1);
    snprintf(p, sizeof p, "%s/b.bin", sub);
    expect_error(sub, DQ_EFORMAT, p);
    if (access("/usr/bin/ls", R_OK) == 0) expect_error("/usr/bin/ls", DQ_EFORMAT, "/usr/bin/ls");
    /* Text: UTF-8, tabs, CR LF and one backspace in 40 bytes pass. */
    static const char ok_text[] = "caf\xc3\xa9 \t tab\r\nline two with a back\bspace\n%\nnext\n";
    snprintf(p, sizeof p, "%s", tmp_bytes("ok.txt", ok_text, sizeof ok_text - 1));
    corpus_t *c = NULL;
    assert_int_equal(corpus_load(&c, p, why, sizeof why), DQ_OK);
    assert_int_equal(corpus_records(c), 2);
    corpus_destroy(&c);
}

static void test_records(void **state)
{
    (void)state;
    corpus_t *c;
    const char *p = tmp_file("rec.txt", "a\n%\nbb\n%\n%\nccc\n%notasep\n");
    assert_int_equal(corpus_load(&c, p, why, sizeof why), DQ_OK);
    assert_int_equal(corpus_records(c), 3);
    size_t len;
    const uint8_t *r = corpus_record(c, 1, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(r, "bb\n", 3);
    r = corpus_record(c, 2, &len);
    assert_int_equal(len, strlen("ccc\n%notasep\n"));
    corpus_destroy(&c);
    assert_null(c);

    /* A long record (a file without separators) is cut at line boundaries. */
    static char big[3 * CORPUS_MAX_RECORD];
    size_t n = 0;
    while (n + 40 < sizeof big - 1) {
        memcpy(big + n, "the quick brown fox jumps over the dog\n", 39);
        n += 39;
    }
    big[n] = '\0';
    p = tmp_file("big.txt", big);
    assert_int_equal(corpus_load(&c, p, why, sizeof why), DQ_OK);
    assert_true(corpus_records(c) >= 3);
    size_t total = 0;
    for (size_t i = 0; i < corpus_records(c); i++) {
        r = corpus_record(c, i, &len);
        assert_true(len <= CORPUS_MAX_RECORD);
        assert_int_equal(r[len - 1], '\n');
        total += len;
    }
    assert_int_equal(total, n);
    corpus_destroy(&c);
}

static void test_too_short_for_context(void **state)
{
    (void)state;
    corpus_t *c;
    const char *p = tmp_file("short.txt", "one\n%\ntwo\n%\nthree\n%\nfour\n");
    assert_int_equal(corpus_load(&c, p, why, sizeof why), DQ_OK);
    corpus_slice_t *s = (corpus_slice_t *)1;
    assert_int_equal(corpus_slice_new(&s, c, 0, 1, 0.5, 7, 65, why, sizeof why), DQ_EEMPTY);
    assert_null(s);
    if (!strstr(why, p) || !strstr(why, "context window"))
        fail_msg("error '%s' lacks path or reason", why);
    corpus_destroy(&c);
}

static corpus_t *fortunes(void)
{
    corpus_t *c = NULL;
    if (access(FORTUNES, R_OK) != 0) return NULL;
    assert_int_equal(corpus_load(&c, FORTUNES, why, sizeof why), DQ_OK);
    return c;
}

static void test_default_corpus(void **state)
{
    (void)state;
    corpus_t *c = fortunes();
    if (!c) skip();
    assert_true(corpus_records(c) > 5000);
    /* No .dat index was read: those hold NUL bytes, the texts none. */
    size_t len;
    for (size_t r = 0; r < corpus_records(c); r++) {
        const uint8_t *p = corpus_record(c, r, &len);
        assert_null(memchr(p, 0, len));
    }
    corpus_destroy(&c);
}

static void test_split_deterministic_and_disjoint(void **state)
{
    (void)state;
    corpus_t *c = fortunes();
    if (!c) skip();
    corpus_slice_t *a, *b, *h, *o;
    assert_int_equal(corpus_slice_new(&a, c, 0, 0.7, 0.1, 3, 65, why, sizeof why), DQ_OK);
    assert_int_equal(corpus_slice_new(&b, c, 0, 0.7, 0.1, 3, 65, why, sizeof why), DQ_OK);
    assert_int_equal(corpus_slice_new(&h, c, 0.7, 1, 0.1, 3, 65, why, sizeof why), DQ_OK);
    assert_int_equal(corpus_slice_new(&o, c, 0, 0.7, 0.1, 4, 65, why, sizeof why), DQ_OK);
    for (int v = 0; v < 2; v++) {
        size_t la, lb, lo;
        const uint8_t *da = corpus_split_data(a, (corpus_split_t)v, &la);
        const uint8_t *db = corpus_split_data(b, (corpus_split_t)v, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(da, db, la);
        const uint8_t *dother = corpus_split_data(o, (corpus_split_t)v, &lo);
        assert_true(lo != la || memcmp(dother, da, la) != 0); /* another seed, another split */
    }
    /* Record by record: slices partition the corpus, splits partition a slice. */
    size_t n = corpus_records(c), in_a[2] = {0, 0}, in_h[2] = {0, 0}, bytes_a[2] = {0, 0};
    for (size_t r = 0; r < n; r++) {
        int sa = corpus_in_slice(3, r, 0, 0.7), sh = corpus_in_slice(3, r, 0.7, 1);
        assert_int_equal(sa + sh, 1);
        int v = corpus_is_val(3, r, 0.1);
        size_t len;
        corpus_record(c, r, &len);
        if (sa) {
            in_a[v]++;
            bytes_a[v] += len;
        } else {
            in_h[v]++;
        }
    }
    for (int v = 0; v < 2; v++) {
        size_t len;
        corpus_split_data(a, (corpus_split_t)v, &len);
        assert_int_equal(len, bytes_a[v]);
        assert_int_equal(corpus_split_records(a, (corpus_split_t)v), in_a[v]);
        assert_int_equal(corpus_split_records(h, (corpus_split_t)v), in_h[v]);
    }
    double frac_h = (double)(in_h[0] + in_h[1]) / (double)n;
    double frac_v = (double)in_a[1] / (double)(in_a[0] + in_a[1]);
    assert_true(frac_h > 0.27 && frac_h < 0.33);
    assert_true(frac_v > 0.08 && frac_v < 0.12);
    /* English text's byte unigram entropy (about 4.3 bits = 3 nats) is far
     * below that of uniform bytes, ln 256 = 5.55 nats. */
    double hu = corpus_unigram_entropy(a, CORPUS_VAL);
    assert_true(hu > 2.5 && hu < 3.5);
    corpus_slice_destroy(&a);
    corpus_slice_destroy(&b);
    corpus_slice_destroy(&h);
    corpus_slice_destroy(&o);
    corpus_destroy(&c);
}

static void test_sampling(void **state)
{
    (void)state;
    corpus_t *c;
    char text[4096];
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "rec %02d\n%%\n", i);
    const char *p = tmp_file("sample.txt", text);
    assert_int_equal(corpus_load(&c, p, why, sizeof why), DQ_OK);
    corpus_slice_t *s;
    assert_int_equal(corpus_slice_new(&s, c, 0, 1, 0.2, 1, 9, why, sizeof why), DQ_OK);
    corpus_destroy(&c); /* the slice owns its bytes */
    uint8_t w1[4 * 9], w2[4 * 9];
    dq_rng_t r1, r2;
    dq_rng_seed(&r1, 5);
    dq_rng_seed(&r2, 5);
    assert_int_equal(corpus_sample(s, CORPUS_TRAIN, &r1, 4, 8, w1), DQ_OK);
    assert_int_equal(corpus_sample(s, CORPUS_TRAIN, &r2, 4, 8, w2), DQ_OK);
    assert_memory_equal(w1, w2, sizeof w1);
    size_t len;
    const uint8_t *d = corpus_split_data(s, CORPUS_TRAIN, &len);
    for (int b = 0; b < 4; b++) {
        int found = 0;
        for (size_t i = 0; i + 9 <= len && !found; i++) found = !memcmp(d + i, w1 + b * 9, 9);
        assert_true(found);
    }
    assert_int_equal(corpus_sample(s, CORPUS_VAL, &r1, 1, (int)len + 5, w1), DQ_EINVAL);
    corpus_slice_destroy(&s);
    assert_null(s);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/dqnlm-test-corpus-%d", (int)getpid());
    return mkdir(dir, 0755);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_errors_name_the_path),
        cmocka_unit_test(test_refuses_binary),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_too_short_for_context),
        cmocka_unit_test(test_default_corpus),
        cmocka_unit_test(test_split_deterministic_and_disjoint),
        cmocka_unit_test(test_sampling),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
