/* test_fileio.c - atomic writes leave the old or the new content and never a
 * mix (abort, a crash before rename, a failing rename), whole-file reads with
 * a size cap, and FNV-1a against published test vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "err.h"
#include "fileio.h"

static char why[512];
static char path[96], tmp[128];

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/dqnlm-test-fileio-%d", (int)getpid());
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    unlink(path);
    rmdir(path);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    rmdir(path);
    unlink(tmp);
    return 0;
}

static void assert_content(const char *want)
{
    void *d;
    size_t n;
    assert_int_equal(dq_file_read_all(path, 1 << 20, &d, &n, why, sizeof why), DQ_OK);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(d, want, n);
    assert_int_equal(((char *)d)[n], '\0');
    free(d);
}

static void test_fnv1a_vectors(void **state)
{
    (void)state;
    /* From the FNV reference test suite (Fowler, Noll, Vo). */
    assert_true(dq_fnv1a64("", 0, DQ_FNV1A64_INIT) == 0xcbf29ce484222325ULL);
    assert_true(dq_fnv1a64("a", 1, DQ_FNV1A64_INIT) == 0xaf63dc4c8601ec8cULL);
    assert_true(dq_fnv1a64("foobar", 6, DQ_FNV1A64_INIT) == 0x85944171f73967e8ULL);
    assert_true(dq_fnv1a64("123456789", 9, DQ_FNV1A64_INIT) == 0x06d5573923c6cdfcULL);
    /* Incremental equals one shot. */
    uint64_t h = dq_fnv1a64("foo", 3, DQ_FNV1A64_INIT);
    assert_true(dq_fnv1a64("bar", 3, h) == 0x85944171f73967e8ULL);
}

static void test_write_and_replace(void **state)
{
    (void)state;
    assert_int_equal(dq_file_write_atomic(path, "old content", 11), DQ_OK);
    assert_content("old content");
    assert_int_equal(dq_file_write_atomic(path, "new", 3), DQ_OK);
    assert_content("new");
    assert_int_equal(access(tmp, F_OK), -1); /* no temporary left */

    dq_atomic_file_t af;
    assert_int_equal(dq_atomic_open(&af, path), DQ_OK);
    assert_int_equal(dq_atomic_write(&af, "foo", 3), DQ_OK);
    assert_int_equal(dq_atomic_write(&af, "bar", 3), DQ_OK);
    assert_true(af.hash == 0x85944171f73967e8ULL);
    assert_int_equal(af.bytes, 6);
    assert_int_equal(dq_atomic_commit(&af), DQ_OK);
    assert_null(af.f);
    dq_atomic_abort(&af); /* no-op after commit */
    assert_content("foobar");
    assert_int_equal(dq_file_write_atomic(path, "", 0), DQ_OK);
    assert_content("");
}

/* The checksummed trailer: the bytes, then their FNV-1a as a little-endian u64. */
static void test_commit_hashed(void **state)
{
    (void)state;
    dq_atomic_file_t af;
    assert_int_equal(dq_atomic_open(&af, path), DQ_OK);
    assert_int_equal(dq_atomic_write(&af, "foobar", 6), DQ_OK);
    assert_int_equal(dq_atomic_commit_hashed(&af), DQ_OK);
    void *data = NULL;
    size_t len = 0;
    assert_int_equal(dq_file_read_all(path, 1024, &data, &len, why, sizeof why), DQ_OK);
    assert_int_equal(len, 14);
    assert_memory_equal(data, "foobar", 6);
    assert_true(dq_get_le64((const unsigned char *)data + 6) == 0x85944171f73967e8ULL);
    free(data);
}

static void test_abort_keeps_old(void **state)
{
    (void)state;
    assert_int_equal(dq_file_write_atomic(path, "old content", 11), DQ_OK);
    dq_atomic_file_t af;
    assert_int_equal(dq_atomic_open(&af, path), DQ_OK);
    assert_int_equal(dq_atomic_write(&af, "half of the new", 15), DQ_OK);
    assert_int_equal(access(tmp, F_OK), 0);
    assert_content("old content");
    dq_atomic_abort(&af);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_content("old content");
}

/* A process that dies between write and rename leaves the old file intact. */
static void test_crash_before_rename_keeps_old(void **state)
{
    (void)state;
    assert_int_equal(dq_file_write_atomic(path, "old content", 11), DQ_OK);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dq_atomic_file_t af;
        if (dq_atomic_open(&af, path) < 0) _exit(1);
        if (dq_atomic_write(&af, "the new content, never committed", 32) < 0) _exit(2);
        fflush(af.f);
        _exit(0); /* dies without commit */
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_content("old content");
    char child_tmp[160];
    snprintf(child_tmp, sizeof child_tmp, "%s.tmp.%d", path, (int)pid);
    assert_int_equal(access(child_tmp, F_OK), 0); /* the stale temporary */
    unlink(child_tmp);
}

/* rename over a directory fails: the temporary is removed, the target kept. */
static void test_failed_rename(void **state)
{
    (void)state;
    assert_int_equal(mkdir(path, 0755), 0);
    dq_atomic_file_t af;
    assert_int_equal(dq_atomic_open(&af, path), DQ_OK);
    assert_int_equal(dq_atomic_write(&af, "x", 1), DQ_OK);
    assert_int_equal(dq_atomic_commit(&af), DQ_EIO);
    assert_non_null(strstr(af.err, "rename"));
    assert_null(af.f);
    assert_int_equal(access(tmp, F_OK), -1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(rmdir(path), 0);

    /* Missing directory: open fails with a reason, nothing to free. */
    assert_int_equal(dq_atomic_open(&af, "/nonexistent/dir/f"), DQ_EIO);
    assert_non_null(strstr(af.err, "/nonexistent/dir/f.tmp."));
    dq_atomic_abort(&af);
    assert_int_equal(dq_file_write_atomic("/nonexistent/dir/f", "x", 1), DQ_EIO);
    assert_int_equal(dq_atomic_open(&af, ""), DQ_EINVAL);
}

static void test_read_all_cap(void **state)
{
    (void)state;
    char data[100];
    memset(data, 'z', sizeof data);
    assert_int_equal(dq_file_write_atomic(path, data, sizeof data), DQ_OK);
    void *d = (void *)1;
    size_t n = 1;
    assert_int_equal(dq_file_read_all(path, 99, &d, &n, why, sizeof why), DQ_ETOOBIG);
    assert_null(d);
    assert_int_equal(n, 0);
    assert_non_null(strstr(why, "limit"));
    assert_int_equal(dq_file_read_all(path, 100, &d, &n, why, sizeof why), DQ_OK);
    assert_int_equal(n, 100);
    assert_memory_equal(d, data, 100);
    free(d);
    assert_int_equal(dq_file_read_all("/nonexistent/f", 100, &d, &n, why, sizeof why), DQ_EIO);
    assert_non_null(strstr(why, "/nonexistent/f"));
    /* Files whose size stat does not tell (procfs) are capped while reading. */
    assert_int_equal(dq_file_read_all("/proc/self/status", 10, &d, &n, why, sizeof why),
                     DQ_ETOOBIG);
    assert_int_equal(dq_file_read_all("/proc/self/status", 1 << 20, &d, &n, why, sizeof why),
                     DQ_OK);
    assert_true(n > 10);
    assert_non_null(strstr(d, "Name:"));
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv1a_vectors),
        cmocka_unit_test_setup_teardown(test_write_and_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_hashed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_keeps_old, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_before_rename_keeps_old, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_all_cap, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
