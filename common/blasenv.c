/* blasenv.c - see blasenv.h. */
#include "blasenv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cblas.h>

#include "log.h"

#define GUARD_VAR "DQNLM_BLAS_REEXEC"

/* Written once by dq_blas_select_kernel, read by dq_blas_log_kernel. */
static char kernel_note[320];
static int kernel_note_warn;

const char *dq_blas_best_core(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "SkylakeX";
    if (__builtin_cpu_supports("avx2")) return "Haswell";
#endif
    return NULL;
}

int dq_blas_core_is_fallback(const char *core)
{
    static const char *const old[] = {"Prescott",     "Katmai",      "Coppermine",  "Northwood",
                                      "Banias",       "Atom",        "Core2",       "Penryn",
                                      "Dunnington",   "Nehalem",     "Sandybridge", "Opteron",
                                      "Opteron_SSE3", "Barcelona",   "Bobcat",      "Bulldozer",
                                      "Piledriver",   "Steamroller", "Excavator",   "Nano"};
    if (!core) return 0;
    for (size_t i = 0; i < sizeof old / sizeof old[0]; i++)
        if (!strcasecmp(core, old[i])) return 1;
    return 0;
}

void dq_blas_select_kernel(int argc, char **argv)
{
    (void)argc;
    const char *core = openblas_get_corename();
    const char *assumed = getenv("DQNLM_BLAS_ASSUME_CORE"); /* tests only, see blasenv.h */
    if (assumed && !getenv(GUARD_VAR)) core = assumed;
    const char *user = getenv("OPENBLAS_CORETYPE");
    const char *guard = getenv(GUARD_VAR);
    if (guard) {
        /* We are the re-executed process. */
        snprintf(kernel_note, sizeof kernel_note,
                 "OpenBLAS kernel %s (dqnlm set OPENBLAS_CORETYPE=%s; OpenBLAS chose %s by itself)",
                 core, user ? user : "?", guard);
        kernel_note_warn = dq_blas_core_is_fallback(core);
        unsetenv(GUARD_VAR); /* children make their own choice (they inherit the type) */
    } else if (user) {
        snprintf(kernel_note, sizeof kernel_note,
                 "OpenBLAS kernel %s (OPENBLAS_CORETYPE=%s from the environment, kept)", core,
                 user);
    } else {
        const char *best = dq_blas_best_core();
        if (best && dq_blas_core_is_fallback(core)) {
            char was[64];
            snprintf(was, sizeof was, "%s", core);
            if (setenv("OPENBLAS_CORETYPE", best, 1) == 0 && setenv(GUARD_VAR, was, 1) == 0) {
                fflush(NULL);
                execv("/proc/self/exe", argv);
            }
            int e = errno;
            unsetenv("OPENBLAS_CORETYPE");
            unsetenv(GUARD_VAR);
            snprintf(kernel_note, sizeof kernel_note,
                     "OpenBLAS runs the fallback kernel %s although the CPU supports %s; "
                     "re-executing with OPENBLAS_CORETYPE=%s failed: %s (set it yourself)",
                     was, best, best, strerror(e));
            kernel_note_warn = 1;
        } else {
            snprintf(kernel_note, sizeof kernel_note, "OpenBLAS kernel %s", core);
        }
    }
    dq_blas_single_thread();
}

void dq_blas_single_thread(void)
{
    const char *a = getenv("OPENBLAS_NUM_THREADS"), *b = getenv("OMP_NUM_THREADS");
    if ((a && *a) || (b && *b)) return;
    openblas_set_num_threads(1);
}

void dq_blas_log_kernel(void)
{
    if (!kernel_note[0]) return;
    if (kernel_note_warn)
        DQ_WARN("%s", kernel_note);
    else
        DQ_INFO("%s", kernel_note);
}
