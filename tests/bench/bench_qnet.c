/* bench_qnet.c - updates/s of one DQN learner update on the Q-network of
 * qnet.h: MLP 16->256->256->5 at batch 256, double DQN (online net on s and s',
 * target net on s'), Huber loss, backward, gradient clipping and Adam, through
 * learner/dqn.c's dqn_loss_grad as the learner runs it. Prints
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
#include "dqn.h"
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
    "rates, cpu = [], []\n"
    "for _ in range(runs):\n"
    "    n, t0, c0 = 0, time.perf_counter(), time.process_time()\n"
    "    while time.perf_counter() - t0 < secs:\n"
    "        update(); n += 1\n"
    "    rates.append(n / (time.perf_counter() - t0))\n"
    "    cpu.append(n / max(time.process_time() - c0, 1e-9))\n"
    "rates.sort()\n"
    "print('%.3f %.3f %.3f %.3f' % (rates[len(rates) // 2], rates[0], rates[-1], max(cpu)))\n";

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }
/* CPU time of this process: on a shared machine the rate per CPU second is
 * what the code costs; wall-clock rates include time spent descheduled. */
static double cpu_now(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

typedef struct {
    dq_qnet_t net, tgt;
    dqn_work_t work;
    dq_adam_t adam;
    uint64_t t;
    float s[B * OBS], s2[B * OBS], r[B], d[B];
    int32_t a[B];
    dq_batch_t batch;
} bench_t;

/* One learner update as learner/update.c runs it on one rank: zero the
 * gradients, dqn_loss_grad (double DQN: the online net on s and s' in one
 * forward of 2B rows, the target net on s'; Huber loss, mean over the batch;
 * backward), clip at 10, Adam. */
static int update(bench_t *bn)
{
    dqn_stats_t st;
    dq_qnet_zero_grad(&bn->net);
    dqn_loss_grad(&bn->net, &bn->tgt, &bn->work, &bn->batch, NULL, 1.0f, (float)B, NULL, &st);
    if (st.invalid > 0) return DQ_EINVAL;
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

static void torch_compare(double secs, double c_rate, double c_cpu_rate)
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
    double med, lo, hi, cpu;
    if (!ok || strncmp(line, "SKIP", 4) == 0 ||
        sscanf(line, "%lf %lf %lf %lf", &med, &lo, &hi, &cpu) != 4) {
        printf("pytorch: skipped (/usr/bin/python3 cannot import torch)\n");
        return;
    }
    printf("pytorch (1 thread): %.1f updates/s [%.1f-%.1f], best %.1f per CPU second\n", med, lo,
           hi, cpu);
    printf("ratio C / pytorch: %.2f (median wall-clock rates), %.2f (best per CPU second)\n",
           c_rate / med, c_cpu_rate / cpu);
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
    if (rc == DQ_OK) rc = dqn_work_init(&bn.work, &bn.net, B);
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
    bn.batch = (dq_batch_t){.count = B,
                            .obs_dim = OBS,
                            .obs = bn.s,
                            .next_obs = bn.s2,
                            .action = bn.a,
                            .reward = bn.r,
                            .discount = bn.d};
    /* Matrix-product FLOPs: three forwards, dW of every layer, dX of all but
     * the first. */
    double wsum = 0;
    for (int l = 0; l < 3; l++) wsum += (double)sizes[l] * sizes[l + 1];
    double flops = 2.0 * B * (3 * wsum + wsum + (wsum - (double)sizes[0] * sizes[1]));

    for (int i = 0; i < 20; i++)
        if (update(&bn) < 0) return 1;
    double rates[RUNS], cpu_best = 0.0;
    for (int k = 0; k < RUNS; k++) {
        long n = 0;
        double t0 = now(), c0 = cpu_now(), t;
        do {
            if (update(&bn) < 0) return 1;
            n++;
        } while ((t = now() - t0) < secs);
        rates[k] = (double)n / t;
        const double c = (double)n / (cpu_now() - c0);
        if (c > cpu_best) cpu_best = c;
    }
    qsort(rates, RUNS, sizeof rates[0], cmp_double);
    double med = rates[RUNS / 2];
    const char *core = openblas_get_corename();
    printf("qnet update, MLP 16-256-256-5, batch %d, OpenBLAS core %s, "
           "OPENBLAS_CORETYPE=%s\n",
           B, core ? core : "?", getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "");
    printf("C: %.1f updates/s [%.1f-%.1f], %.2f ms/update, %.1f GFLOP/s (%.1f MFLOP/update)\n", med,
           rates[0], rates[RUNS - 1], 1e3 / med, med * flops * 1e-9, flops * 1e-6);
    printf("C: best %.1f updates per CPU second (%.3f ms of CPU per update)\n", cpu_best,
           1e3 / cpu_best);
    if (!isfinite(bn.net.params[0])) {
        fprintf(stderr, "bench_qnet: parameters diverged\n");
        return 1;
    }
    torch_compare(secs, med, cpu_best);
    dqn_work_free(&bn.work);
    dq_qnet_free(&bn.net);
    dq_qnet_free(&bn.tgt);
    return 0;
}
