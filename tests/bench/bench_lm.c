/* bench_lm.c - training and validation speed of the transformer LM
 * (common/env/lm/lm_model.c) and decisions per second of the LM environment.
 *
 *   OPENBLAS_CORETYPE=SkylakeX build/tests/bench_lm [tests/unit/lm_torch_check.py]
 *       [--profile deploy/profiles/quick.ini] [--quick] [--size I] [--attn-both] [--shapes]
 *       [--no-validation]
 *
 * For each model size: one AdamW step (forward + backward + clip + AdamW) in
 * steps/s and per CPU second, its forward / backward / optimizer parts, the
 * validation pass (lm_eval_loss on lm.val_batches x lm.val_batch_size
 * sequences, the fixed validation set an environment step evaluates) and its
 * share of one decision (lm.opt_steps steps + one validation); the achieved
 * GFLOP/s (3 x forward matmul+attention FLOPs per token) against sgemm
 * measured in the same run at the model's own GEMM shapes: the main shape
 * (N x C -> 4C, the MLP up-projection) and every product of the step (the
 * time the step's products take as standalone sgemm calls, as a share of the
 * step); and, when the PyTorch script is given and torch imports, the same
 * step in PyTorch on one thread (ratios by wall clock and per CPU second).
 * --profile: LM-environment decisions per CPU second with that profile over
 * the built-in defaults (one episode of the "train" instance set).
 * A summary table at the end has one line per size. --attn-both also times
 * both attention variants; --quick skips the largest size; --size I runs only
 * size I (0-2); --shapes prints each product's sgemm rate; --no-validation
 * skips the validation pass (to profile training steps alone). One BLAS thread unless OPENBLAS_NUM_THREADS is set.
 * OpenBLAS 0.3.21 picks a slow fallback kernel on recent Xeons unless
 * OPENBLAS_CORETYPE is set before the process starts: the core is printed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "config.h"
#include "lm_kernels.h"
#include "lm_model.h"
#include "lmenv.h"
#include "rng.h"

/* OpenBLAS extensions (declared in its cblas.h, repeated for other headers). */
extern char *openblas_get_corename(void);
extern void openblas_set_num_threads(int);

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }
/* CPU time of this process: on a shared machine, time spent descheduled is
 * not the code's cost. */
static double cpu_now(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

#define MAX_SHAPES (15 + 3 * 4096 / LM_ATTN_BLOCK)

static int g_verbose; /* --shapes: print every product's sgemm rate */
static int g_no_val;  /* --no-validation: training steps only (for profiling) */

/* One sgemm shape of the step: C (M,N) = op(A) op(B), K inner; ta/tb:
 * A / B transposed; count: calls per step. */
typedef struct {
    int ta, tb, M, N, K;
    double count;
} shape_t;

/* Best-of-3 GFLOP/s of one shape in CPU time (row-major, beta 1). */
static double sgemm_gflops(const shape_t *s)
{
    const size_t na = (size_t)s->M * s->K, nb = (size_t)s->K * s->N, nc = (size_t)s->M * s->N;
    float *a = malloc(sizeof(float) * na), *b = malloc(sizeof(float) * nb);
    float *c = calloc(nc, sizeof(float));
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        return 0.0;
    }
    for (size_t i = 0; i < na; i++) a[i] = (float)(i % 7) * 0.01f;
    for (size_t i = 0; i < nb; i++) b[i] = (float)(i % 5) * 0.01f;
    const double flop = 2.0 * s->M * s->N * s->K;
    const int reps = (int)(5e7 / flop) + 1; /* ~0.3-1 ms per repeat */
    const int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
    double best = 0.0;
    for (int r = 0; r < 4; r++) {
        const double t0 = cpu_now();
        for (int i = 0; i < reps; i++)
            cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
                        s->tb ? CblasTrans : CblasNoTrans, s->M, s->N, s->K, 1.0f, a, lda, b, ldb,
                        1.0f, c, s->N);
        const double g = flop * reps / (cpu_now() - t0) / 1e9;
        if (r > 0 && g > best) /* first repeat is warm-up */
            best = g;
    }
    free(a), free(b), free(c);
    return best;
}

/* The products of one training step, as lm_model.c and lm_kernels.c issue
 * them (sgemm attention). Returns the number of shapes written to s (at most
 * MAX_SHAPES). */
static int step_shapes(const lm_config_t *c, shape_t *s)
{
    const int N = c->max_batch * c->max_seq, C = c->channels, T = c->max_seq;
    const int hs = C / c->heads, V = c->vocab;
    const double L = c->layers, BH = (double)c->max_batch * c->heads;
    const int lin[5][2] = {{C, 3 * C}, {C, C}, {C, 4 * C}, {4 * C, C}, {C, V}}; /* IC, OC */
    int n = 0;
    for (int i = 0; i < 5; i++) {
        const int IC = lin[i][0], OC = lin[i][1];
        const double cnt = i < 4 ? L : 1.0;
        s[n++] = (shape_t){0, 1, N, OC, IC, cnt}; /* forward: inp . w^T */
        s[n++] = (shape_t){0, 0, N, IC, OC, cnt}; /* dinp = dout . w */
        s[n++] = (shape_t){1, 0, OC, IC, N, cnt}; /* dw = dout^T . inp */
    }
    /* attention per (batch, head) and causal block of queries [r0, r1) (keys
     * [0, r1)): forward S = Q K^T, O = A V; backward dA = dO V^T, dQ = dS K;
     * and per block of keys [r0, r1) (queries [r0, T)): dV = A^T dO, dK = dS^T Q */
    for (int r0 = 0; r0 < T; r0 += LM_ATTN_BLOCK) {
        const int r1 = r0 + LM_ATTN_BLOCK < T ? r0 + LM_ATTN_BLOCK : T;
        s[n++] = (shape_t){0, 1, r1 - r0, r1, hs, 2 * L * BH};
        s[n++] = (shape_t){0, 0, r1 - r0, hs, r1, 2 * L * BH};
        s[n++] = (shape_t){1, 0, r1 - r0, hs, T - r0, 2 * L * BH};
    }
    return n;
}

typedef struct {
    double sps, cpu_sps, fwd, bwd, opt; /* steps/s (wall), per CPU second; ms (CPU) */
    double val_ms, val_share;           /* validation pass (CPU ms), its share of a decision */
    double gflops, main_peak, gemm_share;
    double torch_sps, torch_cpu_sps;
} result_t;

/* Training step timing: best of 3 timed repeats after a warm-up. */
static void time_steps(lm_model_t *m, const uint8_t *tok, const uint8_t *tgt, int steps,
                       result_t *res)
{
    const int B = m->cfg.max_batch;
    lm_adamw_config_t opt = lm_adamw_default();
    res->sps = res->cpu_sps = 0.0;
    for (int rep = 0; rep < 4; rep++) { /* rep 0 is warm-up */
        double sf = 0, sb = 0, so = 0;
        const double t0 = now(), c0 = cpu_now();
        for (int s = 0; s < steps; s++) {
            const double a = cpu_now();
            lm_forward(m, tok, tgt, B, NULL);
            const double b = cpu_now();
            lm_backward(m);
            const double c = cpu_now();
            lm_clip_grad_norm(m, 1.0f);
            lm_adamw_step(m, &opt, 1e-3f, NULL);
            const double d = cpu_now();
            sf += b - a, sb += c - b, so += d - c;
        }
        const double sps = steps / (now() - t0), cps = steps / (cpu_now() - c0);
        if (rep > 0 && sps > res->sps) res->sps = sps;
        if (rep > 0 && cps > res->cpu_sps) {
            res->cpu_sps = cps;
            res->fwd = 1e3 * sf / steps, res->bwd = 1e3 * sb / steps, res->opt = 1e3 * so / steps;
        }
    }
}

/* Validation pass on nval sequences: best CPU ms of 3 after a warm-up. */
static double time_validation(lm_model_t *m, int nval, dq_rng_t *r)
{
    const size_t n = (size_t)nval * (size_t)m->cfg.max_seq;
    uint8_t *tok = malloc(n), *tgt = malloc(n);
    if (!tok || !tgt) {
        free(tok), free(tgt);
        return 0.0;
    }
    for (size_t i = 0; i < n; i++) {
        tok[i] = (uint8_t)dq_rng_below(r, 256);
        tgt[i] = (uint8_t)dq_rng_below(r, 256);
    }
    double best = 1e30, loss;
    for (int rep = 0; rep < 4; rep++) {
        const double c0 = cpu_now();
        lm_eval_loss(m, tok, tgt, nval, &loss);
        const double ms = 1e3 * (cpu_now() - c0);
        if (rep > 0 && ms < best) best = ms;
    }
    free(tok), free(tgt);
    return best;
}

static void torch_steps(const char *script, const lm_config_t *c, int steps, result_t *res)
{
    res->torch_sps = res->torch_cpu_sps = 0.0;
    if (!script) return;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' --bench %d %d %d %d %d %d 2>/dev/null", script,
             c->layers, c->channels, c->heads, c->max_seq, c->max_batch, steps);
    FILE *p = popen(cmd, "r");
    if (!p) return;
    char line[256];
    double v = 0.0, cv = 0.0;
    while (fgets(line, sizeof line, p)) {
        sscanf(line, "steps_per_s %lf", &v);
        sscanf(line, "cpu_steps_per_s %lf", &cv);
    }
    if (pclose(p) == 0) res->torch_sps = v, res->torch_cpu_sps = cv;
}

/* The sgemm figures: main-shape GFLOP/s, and the share of the step the
 * step's products would take as standalone sgemm calls. */

static void gemm_figures(const lm_config_t *cfg, result_t *res)
{
    shape_t s[MAX_SHAPES];
    const int n = step_shapes(cfg, s);
    double t = 0.0;
    for (int i = 0; i < n; i++) {
        const double g = sgemm_gflops(&s[i]);
        if (i == 6) res->main_peak = g; /* forward N x C -> 4C */
        const double ti = g > 0 ? s[i].count * 2.0 * s[i].M * s[i].N * s[i].K / (g * 1e9) : 0.0;
        t += ti;
        if (g_verbose)
            printf("  sgemm %c%c M=%d N=%d K=%d x%g: %.1f GFLOP/s, %.3f ms per step\n",
                   s[i].ta ? 'T' : 'N', s[i].tb ? 'T' : 'N', s[i].M, s[i].N, s[i].K, s[i].count, g,
                   1e3 * ti);
    }
    res->gemm_share = t * res->cpu_sps;
}

static int bench_one(const lm_config_t *cfg, int steps, const char *script, int attn_gemm,
                     const dq_config_t *dc, result_t *res)
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
    const int n = cfg->max_batch * cfg->max_seq;
    uint8_t *tok = malloc((size_t)n), *tgt = malloc((size_t)n);
    if (!tok || !tgt) {
        free(tok), free(tgt), lm_free(&m);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        tok[i] = (uint8_t)dq_rng_below(&r, 256);
        tgt[i] = (uint8_t)dq_rng_below(&r, 256);
    }
    memset(res, 0, sizeof *res);
    time_steps(&m, tok, tgt, steps, res);
    const int nval = (int)(dc->lm_val_batches * dc->lm_val_batch_size);
    res->val_ms = g_no_val ? 0.0 : time_validation(&m, nval, &r);
    const double K = (double)dc->lm_opt_steps, step_ms = 1e3 / res->cpu_sps;
    res->val_share = res->val_ms / (K * step_ms + res->val_ms);
    res->gflops = 3.0 * lm_flops_per_token(cfg) * n * res->cpu_sps / 1e9;
    gemm_figures(cfg, res);
    printf("L=%d C=%d NH=%d T=%d B=%d (%zu params) attn=%s: %.1f steps/s, %.1f per CPU s | "
           "fwd %.3f bwd %.3f opt %.3f ms | validation %d seqs %.2f ms (%.1f%% of a decision of "
           "%g steps) | %.1f GFLOP/s = %.0f%% of sgemm at %dx%d->%d (%.1f GFLOP/s); the step's "
           "products as sgemm calls: %.0f%% of the step",
           cfg->layers, cfg->channels, cfg->heads, cfg->max_seq, cfg->max_batch, m.num_params,
           m.attn_gemm ? "sgemm" : "loops", res->sps, res->cpu_sps, res->fwd, res->bwd, res->opt,
           nval, res->val_ms, 100.0 * res->val_share, K, res->gflops,
           100.0 * res->gflops / res->main_peak, n, cfg->channels, 4 * cfg->channels,
           res->main_peak, 100.0 * res->gemm_share);
    fflush(stdout);
    if (attn_gemm < 0) torch_steps(script, cfg, steps, res);
    if (res->torch_sps > 0.0)
        printf(" | PyTorch %.1f steps/s (%.1f per CPU s), C/PyTorch %.2fx wall, %.2fx CPU\n",
               res->torch_sps, res->torch_cpu_sps, res->sps / res->torch_sps,
               res->torch_cpu_sps > 0 ? res->cpu_sps / res->torch_cpu_sps : 0.0);
    else
        printf(" | PyTorch: not run\n");
    free(tok), free(tgt);
    lm_free(&m);
    return 0;
}

/* Decisions per CPU second of the LM environment under a profile: one
 * episode (lm.episode_steps decisions) of the "train" set, action "x1". */
static int bench_env(const char *profile)
{
    dq_config_t cfg;
    dq_config_defaults(&cfg);
    char why[512];
    if (dq_config_load_file(&cfg, profile, why, sizeof why) < 0) {
        fprintf(stderr, "bench_lm: %s\n", why);
        return 1;
    }
    dq_env_t env;
    if (lmenv_init(&env, &cfg, "train", 1, why, sizeof why) < 0) {
        fprintf(stderr, "bench_lm: lmenv_init: %s\n", why);
        return 1;
    }
    float obs[LMENV_OBS_DIM];
    int rc = env.ops->reset(env.self, obs), steps = 0;
    const int keep = env.n_actions / 2; /* the middle action: x1 with the default 0.5,1,2 */
    const double c0 = cpu_now();
    dq_step_t st = {0};
    while (rc == 0 && !st.terminated && !st.truncated && steps < 1000) {
        rc = env.ops->step(env.self, keep, obs, &st);
        steps++;
    }
    const double cpu = cpu_now() - c0;
    lmenv_info_t info;
    lmenv_get_info(&env, &info);
    if (rc == 0)
        printf("LM environment (%s): instance %dx%dx%dx%d batch %d, %d decisions of %ld steps: "
               "%.2f decisions per CPU second (%.1f ms each)\n",
               profile, info.layers, info.channels, info.heads, info.context, info.batch, steps,
               cfg.lm_opt_steps, steps / cpu, 1e3 * cpu / steps);
    dq_env_close(&env);
    return rc == 0 ? 0 : 1;
}

static void summary(const lm_config_t *c, const result_t *r, int n)
{
    printf("\nsummary (CPU time; ratios per CPU second)\n");
    printf("| size LxCxNHxT B | steps/s | fwd ms | bwd ms | opt ms | validation ms | "
           "%% of sgemm main shape | products at sgemm speed | C/PyTorch |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < n; i++) {
        char ratio[32] = "not run";
        if (r[i].torch_cpu_sps > 0)
            snprintf(ratio, sizeof ratio, "%.2fx", r[i].cpu_sps / r[i].torch_cpu_sps);
        printf("| %dx%dx%dx%d B%d | %.1f | %.3f | %.3f | %.3f | %.2f (%.1f%%) | %.0f%% | %.0f%% | "
               "%s |\n",
               c[i].layers, c[i].channels, c[i].heads, c[i].max_seq, c[i].max_batch, r[i].cpu_sps,
               r[i].fwd, r[i].bwd, r[i].opt, r[i].val_ms, 100.0 * r[i].val_share,
               100.0 * r[i].gflops / r[i].main_peak, 100.0 * r[i].gemm_share, ratio);
    }
}

int main(int argc, char **argv)
{
    const char *script = NULL, *profile = NULL;
    int quick = 0, both = 0, only = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
            only = atoi(argv[++i]);
        else if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc)
            profile = argv[++i];
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--attn-both") == 0)
            both = 1;
        else if (strcmp(argv[i], "--shapes") == 0)
            g_verbose = 1;
        else if (strcmp(argv[i], "--no-validation") == 0)
            g_no_val = 1;
        else
            script = argv[i];
    }
    if (!getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1);
    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("OpenBLAS core: %s (OPENBLAS_CORETYPE=%s)\n", openblas_get_corename(),
           ct ? ct : "unset");
    dq_config_t dc;
    dq_config_defaults(&dc);
    const struct {
        int L, C, NH, T, B, steps;
    } sizes[] = {{1, 32, 4, 32, 8, 200}, {2, 64, 4, 64, 16, 30}, {4, 128, 4, 128, 16, 4}};
    const int ns = quick ? 2 : 3;
    lm_config_t cs[3];
    result_t rs[3];
    int rc = 0, nr = 0;
    for (int i = 0; i < ns; i++) {
        if (only >= 0 && i != only) continue;
        lm_config_t c = {.vocab = 256,
                         .max_seq = sizes[i].T,
                         .channels = sizes[i].C,
                         .layers = sizes[i].L,
                         .heads = sizes[i].NH,
                         .max_batch = sizes[i].B};
        result_t tmp;
        if (both) {
            rc |= bench_one(&c, sizes[i].steps, NULL, 0, &dc, &tmp);
            rc |= bench_one(&c, sizes[i].steps, NULL, 1, &dc, &tmp);
        }
        rc |= bench_one(&c, sizes[i].steps, script, -1, &dc, &rs[nr]);
        cs[nr++] = c;
    }
    if (profile) rc |= bench_env(profile);
    summary(cs, rs, nr);
    return rc;
}
