/* bench_lm.c - training speed of the transformer LM (actor/lm_model.c).
 *
 *   OPENBLAS_CORETYPE=SkylakeX build/tests/bench_lm [tests/lm_torch_check.py] [--quick]
 *                                                   [--attn-both]
 *
 * For each model size: AdamW steps/s (forward + backward + clip + AdamW) and
 * tokens/s, the achieved GFLOP/s (3 x forward matmul+attention FLOPs per
 * token) against a plain single-thread sgemm of the model's largest matrix
 * product shape measured in the same run, and, when the PyTorch script is
 * given and torch imports, the same step in PyTorch (one thread) for the
 * ratio. --attn-both also times both attention variants (loops, sgemm); the
 * default line uses the model's own choice. --quick skips the largest size.
 * Uses one BLAS thread unless OPENBLAS_NUM_THREADS is set.
 * OpenBLAS 0.3.21 picks a slow fallback kernel on recent Xeons unless
 * OPENBLAS_CORETYPE is set before the process starts: the core name is printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "lm_model.h"
#include "rng.h"

/* OpenBLAS extensions (declared in its cblas.h, repeated for other headers). */
extern char *openblas_get_corename(void);
extern void openblas_set_num_threads(int);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Best-of-3 GFLOP/s of out (M,N) = a (M,K) . b^T (N,K), as lm_matmul_forward. */
static double sgemm_gflops(int M, int K, int N)
{
    float *a = malloc(sizeof(float) * (size_t)M * K), *b = malloc(sizeof(float) * (size_t)N * K);
    float *c = malloc(sizeof(float) * (size_t)M * N);
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        return 0.0;
    }
    for (size_t i = 0; i < (size_t)M * K; i++) a[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)N * K; i++) b[i] = (float)(i % 5) * 0.1f;
    const double flop = 2.0 * M * N * K;
    const int reps = (int)(2e8 / flop) + 1; /* ~0.002-0.01 s per repeat */
    double best = 0.0;
    for (int r = 0; r < 4; r++) {
        const double t0 = now();
        for (int i = 0; i < reps; i++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a, K, b, K, 0.0f, c,
                        N);
        const double g = flop * reps / (now() - t0) / 1e9;
        if (r > 0 && g > best) /* first repeat is warm-up */
            best = g;
    }
    free(a), free(b), free(c);
    return best;
}

static double torch_steps(const char *script, const lm_config_t *c, int steps)
{
    if (!script) return 0.0;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' --bench %d %d %d %d %d %d 2>/dev/null", script,
             c->layers, c->channels, c->heads, c->max_seq, c->max_batch, steps);
    FILE *p = popen(cmd, "r");
    if (!p) return 0.0;
    char line[256];
    double v = 0.0;
    while (fgets(line, sizeof line, p))
        if (sscanf(line, "steps_per_s %lf", &v) == 1) break;
    int rc = pclose(p);
    return rc == 0 ? v : 0.0;
}

static int bench_one(const lm_config_t *cfg, int steps, const char *script, int attn_gemm)
{
    dq_rng_t r;
    dq_rng_seed(&r, 1);
    lm_model_t m;
    dq_err_t rc = lm_init(&m, cfg, &r);
    if (rc != DQ_OK) {
        fprintf(stderr, "lm_init: %s\n", dq_strerror(rc));
        return 1;
    }
    if (attn_gemm >= 0) m.attn_gemm = attn_gemm;
    const int B = cfg->max_batch, T = cfg->max_seq, n = B * T;
    uint8_t *tok = malloc((size_t)n), *tgt = malloc((size_t)n);
    if (!tok || !tgt) {
        free(tok), free(tgt), lm_free(&m);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        tok[i] = (uint8_t)dq_rng_below(&r, 256);
        tgt[i] = (uint8_t)dq_rng_below(&r, 256);
    }
    lm_adamw_config_t opt = lm_adamw_default();
    double best = 0.0, tf = 1e30, tb = 1e30, to = 1e30;
    for (int rep = 0; rep < 4; rep++) { /* rep 0 is warm-up */
        double sf = 0, sb = 0, so = 0;
        const double t0 = now();
        for (int s = 0; s < steps; s++) {
            const double a = now();
            lm_forward(&m, tok, tgt, B, NULL);
            const double b = now();
            lm_backward(&m);
            const double c = now();
            lm_clip_grad_norm(&m, 1.0f);
            lm_adamw_step(&m, &opt, 1e-3f, NULL);
            const double d = now();
            sf += b - a, sb += c - b, so += d - c;
        }
        const double sps = steps / (now() - t0);
        if (rep > 0 && sps > best) {
            best = sps;
            tf = sf / steps, tb = sb / steps, to = so / steps;
        }
    }
    const double flops = 3.0 * lm_flops_per_token(cfg) * n * best / 1e9;
    const double peak = sgemm_gflops(n, cfg->channels, 4 * cfg->channels);
    printf("L=%d C=%d NH=%d T=%d B=%d (%zu params) attn=%s: %8.1f steps/s %9.0f tokens/s | "
           "fwd %.3f bwd %.3f opt %.3f ms | %.1f GFLOP/s = %.0f%% of sgemm (%dx%dx%d) %.1f GFLOP/s",
           cfg->layers, cfg->channels, cfg->heads, T, B, m.num_params,
           m.attn_gemm ? "sgemm" : "loops", best, best * n, tf * 1e3, tb * 1e3, to * 1e3, flops,
           100.0 * flops / peak, n, cfg->channels, 4 * cfg->channels, peak);
    fflush(stdout);
    const double pt = attn_gemm < 0 ? torch_steps(script, cfg, steps) : 0.0;
    if (pt > 0.0)
        printf(" | PyTorch %.1f steps/s, C/PyTorch %.2fx\n", pt, best / pt);
    else
        printf(" | PyTorch: not run\n");
    free(tok), free(tgt);
    lm_free(&m);
    return 0;
}

int main(int argc, char **argv)
{
    const char *script = NULL;
    int quick = 0, both = 0, only = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
            only = atoi(argv[++i]);
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--attn-both") == 0)
            both = 1;
        else
            script = argv[i];
    }
    if (!getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1);
    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("OpenBLAS core: %s (OPENBLAS_CORETYPE=%s)\n", openblas_get_corename(),
           ct ? ct : "unset");
    const struct {
        int L, C, NH, T, B, steps;
    } sizes[] = {{1, 32, 4, 32, 8, 200}, {2, 64, 4, 64, 16, 30}, {4, 128, 4, 128, 16, 4}};
    const int ns = quick ? 2 : 3;
    int rc = 0;
    for (int i = 0; i < ns; i++) {
        if (only >= 0 && i != only) continue;
        lm_config_t c = {.vocab = 256,
                         .max_seq = sizes[i].T,
                         .channels = sizes[i].C,
                         .layers = sizes[i].L,
                         .heads = sizes[i].NH,
                         .max_batch = sizes[i].B};
        if (both) {
            rc |= bench_one(&c, sizes[i].steps, NULL, 0);
            rc |= bench_one(&c, sizes[i].steps, NULL, 1);
        }
        rc |= bench_one(&c, sizes[i].steps, script, -1);
    }
    return rc;
}
