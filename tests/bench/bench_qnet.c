/* bench_qnet.c - updates/s of one DQN learner update on the Q-network of
 * qnet.h: MLP 16->256->256->5 at batch 256, double DQN (online net on s and s',
 * target net on s'), Huber loss, backward, gradient clipping and Adam. Prints
 * updates/s and GFLOP/s (matrix products only); if /usr/bin/python3 imports
 * torch, runs the same update in PyTorch on one thread and prints the ratio.
 *
 *   meson test -C build --benchmark qnet_update -v
 *   OPENBLAS_CORETYPE=SkylakeX build/tests/bench_qnet [seconds per run]
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blasenv.h"
#include "err.h"
#include "qnet.h"
#include "rng.h"

#define B 256
#define OBS 16
#define ACT 5
#define RUNS 5

static const char *torch_script =
    "import sys, time\n"
    "try:\n"
    "    import torch\n"
    "except Exception:\n"
    "    print('SKIP'); sys.exit(0)\n"
    "torch.set_num_threads(1)\n"
    "B, secs, runs = 256, float(sys.argv[1]), int(sys.argv[2])\n"
    "def mlp():\n"
    "    return torch.nn.Sequential(torch.nn.Linear(16, 256), torch.nn.ReLU(),\n"
    "        torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 5))\n"
    "net, tgt = mlp(), mlp()\n"
    "opt = torch.optim.Adam(net.parameters(), lr=1e-4)\n"
    "s, s2 = torch.randn(B, 16), torch.randn(B, 16)\n"
    "a = torch.randint(0, 5, (B,))\n"
    "r, d = torch.randn(B), torch.full((B,), 0.99)\n"
    "def update():\n"
    "    with torch.no_grad():\n"
    "        a2 = net(s2).argmax(1)\n"
    "        y = r + d * tgt(s2).gather(1, a2[:, None])[:, 0]\n"
    "    q = net(s).gather(1, a[:, None])[:, 0]\n"
    "    loss = torch.nn.functional.huber_loss(q, y)\n"
    "    opt.zero_grad(set_to_none=False)\n"
    "    loss.backward()\n"
    "    torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)\n"
    "    opt.step()\n"
    "for _ in range(20): update()\n"
    "rates = []\n"
    "for _ in range(runs):\n"
    "    n, t0 = 0, time.perf_counter()\n"
    "    while time.perf_counter() - t0 < secs:\n"
    "        update(); n += 1\n"
    "    rates.append(n / (time.perf_counter() - t0))\n"
    "rates.sort()\n"
    "print('%.3f %.3f %.3f' % (rates[len(rates) // 2], rates[0], rates[-1]))\n";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    dq_qnet_t net, tgt;
    dq_qnet_ws_t ws, ws2, wst;
    dq_adam_t adam;
    uint64_t t;
    float s[B * OBS], s2[B * OBS], r[B], d[B], q[B * ACT], q2[B * ACT], qt[B * ACT], dq[B * ACT];
    int a[B];
} bench_t;

static int update(bench_t *bn)
{
    int rc;
    /* Double DQN: online net picks a' on s', target net evaluates it. */
    if ((rc = dq_qnet_forward(&bn->net, &bn->ws2, bn->s2, B, bn->q2)) < 0) return rc;
    if ((rc = dq_qnet_forward(&bn->tgt, &bn->wst, bn->s2, B, bn->qt)) < 0) return rc;
    if ((rc = dq_qnet_forward(&bn->net, &bn->ws, bn->s, B, bn->q)) < 0) return rc;
    memset(bn->dq, 0, sizeof bn->dq);
    for (int i = 0; i < B; i++) {
        const float *row = bn->q2 + i * ACT;
        int best = 0;
        for (int j = 1; j < ACT; j++)
            if (row[j] > row[best]) best = j;
        float y = bn->r[i] + bn->d[i] * bn->qt[i * ACT + best];
        float td = bn->q[i * ACT + bn->a[i]] - y;
        /* Huber (delta 1), mean over the batch. */
        bn->dq[i * ACT + bn->a[i]] = (td > 1.0f ? 1.0f : td < -1.0f ? -1.0f : td) / B;
    }
    dq_qnet_zero_grad(&bn->net);
    if ((rc = dq_qnet_backward(&bn->net, &bn->ws, bn->dq, B)) < 0) return rc;
    dq_qnet_clip_grad(&bn->net, 10.0f);
    dq_adam_step(bn->net.params, bn->net.grads, bn->net.m, bn->net.v, bn->net.n_params, &bn->adam,
                 ++bn->t);
    return DQ_OK;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static void torch_compare(double secs, double c_rate)
{
    char script[64], cmd[256];
    snprintf(script, sizeof script, "/tmp/dqnlm-bench-qnet-%d.py", (int)getpid());
    FILE *f = fopen(script, "w");
    if (!f) {
        printf("pytorch: skipped (cannot write %s)\n", script);
        return;
    }
    fputs(torch_script, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %g %d 2>/dev/null", script, secs, RUNS);
    FILE *p = access("/usr/bin/python3", X_OK) == 0 ? popen(cmd, "r") : NULL;
    char line[256] = "";
    int ok = p && fgets(line, sizeof line, p) != NULL;
    if (p) ok = (pclose(p) == 0) && ok;
    unlink(script);
    double med, lo, hi;
    if (!ok || strncmp(line, "SKIP", 4) == 0 || sscanf(line, "%lf %lf %lf", &med, &lo, &hi) != 3) {
        printf("pytorch: skipped (/usr/bin/python3 cannot import torch)\n");
        return;
    }
    printf("pytorch (1 thread): %.1f updates/s [%.1f-%.1f]\n", med, lo, hi);
    printf("ratio C / pytorch: %.2f\n", c_rate / med);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    if (!(secs > 0)) secs = 1.0;
    dq_blas_single_thread();
    static bench_t bn;
    dq_rng_t rng;
    dq_rng_seed(&rng, 42);
    int sizes[] = {OBS, 256, 256, ACT};
    int rc = dq_qnet_init(&bn.net, sizes, 3, &rng);
    if (rc == DQ_OK) rc = dq_qnet_init(&bn.tgt, sizes, 3, &rng);
    if (rc == DQ_OK) rc = dq_qnet_ws_init(&bn.ws, &bn.net, B);
    if (rc == DQ_OK) rc = dq_qnet_ws_init(&bn.ws2, &bn.net, B);
    if (rc == DQ_OK) rc = dq_qnet_ws_init(&bn.wst, &bn.tgt, B);
    if (rc < 0) {
        fprintf(stderr, "bench_qnet: %s\n", dq_strerror(rc));
        return 1;
    }
    bn.adam = (dq_adam_t){.lr = 1e-4f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    for (int i = 0; i < B * OBS; i++) {
        bn.s[i] = (float)dq_rng_normal(&rng);
        bn.s2[i] = (float)dq_rng_normal(&rng);
    }
    for (int i = 0; i < B; i++) {
        bn.a[i] = (int)dq_rng_below(&rng, ACT);
        bn.r[i] = (float)dq_rng_normal(&rng);
        bn.d[i] = 0.99f;
    }
    /* Matrix-product FLOPs: three forwards, dW of every layer, dX of all but
     * the first. */
    double wsum = 0;
    for (int l = 0; l < 3; l++) wsum += (double)sizes[l] * sizes[l + 1];
    double flops = 2.0 * B * (3 * wsum + wsum + (wsum - (double)sizes[0] * sizes[1]));

    for (int i = 0; i < 20; i++)
        if (update(&bn) < 0) return 1;
    double rates[RUNS];
    for (int k = 0; k < RUNS; k++) {
        long n = 0;
        double t0 = now(), t;
        do {
            if (update(&bn) < 0) return 1;
            n++;
        } while ((t = now() - t0) < secs);
        rates[k] = (double)n / t;
    }
    qsort(rates, RUNS, sizeof rates[0], cmp_double);
    double med = rates[RUNS / 2];
    const char *core = openblas_get_corename();
    printf("qnet update, MLP 16-256-256-5, batch %d, OpenBLAS core %s, "
           "OPENBLAS_CORETYPE=%s\n",
           B, core ? core : "?", getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "");
    printf("C: %.1f updates/s [%.1f-%.1f], %.2f ms/update, %.1f GFLOP/s (%.1f MFLOP/update)\n", med,
           rates[0], rates[RUNS - 1], 1e3 / med, med * flops * 1e-9, flops * 1e-6);
    if (!isfinite(bn.net.params[0])) {
        fprintf(stderr, "bench_qnet: parameters diverged\n");
        return 1;
    }
    torch_compare(secs, med);
    dq_qnet_ws_free(&bn.ws);
    dq_qnet_ws_free(&bn.ws2);
    dq_qnet_ws_free(&bn.wst);
    dq_qnet_free(&bn.net);
    dq_qnet_free(&bn.tgt);
    return 0;
}
