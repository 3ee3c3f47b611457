/* test_blasenv.c - OpenBLAS kernel selection: a child started without
 * OPENBLAS_CORETYPE ends up on a non-fallback kernel when the CPU supports a
 * faster one, a user-set value is kept, and the loop guard stops re-exec.
 *
 * The program runs itself as the child: "test_blasenv --child" calls
 * dq_blas_select_kernel() (which may re-exec) and prints what it got. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <cblas.h>

#include "blasenv.h"

static int child_main(int argc, char **argv)
{
    dq_blas_select_kernel(argc, argv);
    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("core=%s coretype=%s guard=%s\n", openblas_get_corename(), ct ? ct : "-",
           getenv("DQNLM_BLAS_REEXEC") ? "set" : "-");
    return 0;
}

/* Runs "self --child" with OPENBLAS_CORETYPE = coretype (NULL: unset) and the
 * loop guard set or not; returns its stdout line in out. */
static void run_child_assuming(const char *coretype, int guard, const char *assume, char *out,
                               size_t len)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        if (coretype)
            setenv("OPENBLAS_CORETYPE", coretype, 1);
        else
            unsetenv("OPENBLAS_CORETYPE");
        if (guard)
            setenv("DQNLM_BLAS_REEXEC", "Prescott", 1);
        else
            unsetenv("DQNLM_BLAS_REEXEC");
        if (assume)
            setenv("DQNLM_BLAS_ASSUME_CORE", assume, 1);
        else
            unsetenv("DQNLM_BLAS_ASSUME_CORE");
        char *args[] = {"test_blasenv", "--child", NULL};
        execv("/proc/self/exe", args);
        _exit(127);
    }
    close(fd[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < len && (r = read(fd[0], out + n, len - 1 - n)) > 0) n += (size_t)r;
    out[n] = '\0';
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void run_child(const char *coretype, int guard, char *out, size_t len)
{
    run_child_assuming(coretype, guard, NULL, out, len);
}

static void test_unset_gets_fast_kernel(void **state)
{
    (void)state;
    char out[256], core[64];
    run_child(NULL, 0, out, sizeof out);
    assert_int_equal(sscanf(out, "core=%63s", core), 1);
    const char *best = dq_blas_best_core();
    print_message("CPU's best handled kernel: %s; child runs %s\n", best ? best : "none", out);
    if (best) {
        if (dq_blas_core_is_fallback(core)) fail_msg("child still on fallback kernel: %s", out);
    }
    assert_non_null(strstr(out, "guard=-")); /* the guard does not leak */
}

static void test_user_value_kept(void **state)
{
    (void)state;
    char out[256];
    run_child("Haswell", 0, out, sizeof out);
    assert_non_null(strstr(out, "coretype=Haswell"));
    assert_non_null(strstr(out, "core=Haswell"));
    run_child("Prescott", 0, out, sizeof out);
    assert_non_null(strstr(out, "coretype=Prescott"));
    assert_non_null(strstr(out, "core=Prescott"));
}

/* Whatever this CPU is, pretend OpenBLAS chose Prescott: the child must
 * re-exec itself onto the best kernel the CPU supports. */
static void test_reexec_from_fallback(void **state)
{
    (void)state;
    const char *best = dq_blas_best_core();
    if (!best) skip();
    char out[256], want[128];
    run_child_assuming(NULL, 0, "Prescott", out, sizeof out);
    snprintf(want, sizeof want, "core=%s coretype=%s guard=-", best, best);
    if (!strstr(out, want)) fail_msg("got '%s', want '%s'", out, want);
    /* A user value wins even over a fallback. */
    run_child_assuming("Prescott", 0, "Prescott", out, sizeof out);
    assert_non_null(strstr(out, "core=Prescott coretype=Prescott"));
}

static void test_guard_stops_loops(void **state)
{
    (void)state;
    char out[256];
    /* Guard set, type unset: must not exec again (and must not hang). */
    run_child_assuming(NULL, 1, "Prescott", out, sizeof out);
    assert_non_null(strstr(out, "coretype=-"));
}

static void test_fallback_table(void **state)
{
    (void)state;
    assert_true(dq_blas_core_is_fallback("Prescott"));
    assert_true(dq_blas_core_is_fallback("prescott"));
    assert_true(dq_blas_core_is_fallback("Sandybridge"));
    assert_false(dq_blas_core_is_fallback("SkylakeX"));
    assert_false(dq_blas_core_is_fallback("Haswell"));
    assert_false(dq_blas_core_is_fallback("Zen"));
    assert_false(dq_blas_core_is_fallback(NULL));
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--child")) return child_main(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unset_gets_fast_kernel), cmocka_unit_test(test_user_value_kept),
        cmocka_unit_test(test_reexec_from_fallback),   cmocka_unit_test(test_guard_stops_loops),
        cmocka_unit_test(test_fallback_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
