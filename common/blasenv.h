/* blasenv.h - run OpenBLAS with the right kernel for this CPU.
 *
 * OpenBLAS 0.3.21 does not recognise recent Xeons and falls back to its
 * oldest x86-64 kernel ("Prescott"), 4-5x slower than the AVX-512 one. The
 * kernel can only be chosen through OPENBLAS_CORETYPE in the environment
 * before the library loads, so every main() starts with
 *
 *   int main(int argc, char **argv) {
 *       dq_blas_select_kernel(argc, argv);  // may re-exec this program once
 *       ... dq_cli_parse(...) ...           // logging is set up here
 *       dq_blas_log_kernel();               // one INFO line: what was chosen
 *
 * If OPENBLAS_CORETYPE is unset and the running core is a fallback while the
 * CPU supports a faster one (avx512f -> SkylakeX, avx2 -> Haswell), it sets
 * OPENBLAS_CORETYPE and re-executes /proc/self/exe with the same argv;
 * DQNLM_BLAS_REEXEC guards against loops. A value the user set is never
 * overridden. (DQNLM_BLAS_ASSUME_CORE=NAME makes it treat the running kernel
 * as NAME, so tests can exercise the re-exec on CPUs OpenBLAS recognises.)
 * It also pins OpenBLAS to one thread unless OPENBLAS_NUM_THREADS
 * or OMP_NUM_THREADS is set (processes, not BLAS threads, fill the cores).
 */
#ifndef DQ_BLASENV_H
#define DQ_BLASENV_H

void dq_blas_select_kernel(int argc, char **argv);
/* Logs (INFO) the kernel in use and how it was chosen. */
void dq_blas_log_kernel(void);

/* The fastest kernel this CPU supports among those handled ("SkylakeX",
 * "Haswell"), or NULL. */
const char *dq_blas_best_core(void);
/* Whether an OpenBLAS core name is one of the old kernels (no AVX2) that a
 * newer CPU should not run. */
int dq_blas_core_is_fallback(const char *core);

/* openblas_set_num_threads(1) unless OPENBLAS_NUM_THREADS or
 * OMP_NUM_THREADS is set in the environment (dq_blas_select_kernel calls it;
 * programs that do not, such as tests and benchmarks, call it themselves). */
void dq_blas_single_thread(void);

#endif
