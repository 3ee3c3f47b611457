/* lmobs_replay.c - runs the LM environment's observation code (lmobs.h) and
 * the Q-network forward (qnet.h) on a recorded sequence of training figures
 * and prints, for every decision, the observation, the Q-values, the greedy
 * action and the LR it leads to: the C reference that deploy/python's
 * controller is compared with (tests/integration/controller_py.py).
 *
 *   lmobs_replay QNET.bin FIGURES.txt
 *
 * FIGURES.txt, one record per line (what dqnlm.Controller(record=...) writes):
 *   T_env N                         decisions in the budget
 *   lr_init MIN MAX                 lm.lr_init_min, lm.lr_init_max
 *   lr_clamp MIN MAX                lm.lr_min, lm.lr_max
 *   actions multiply|set A0,A1,...  lm.action_kind, lm.actions
 *   reset LR0 L0 G0 ALIGN0 RATIO0   the start of the run (docs/lmenv.md)
 *   step GRAD_NORM COS UPDATE_RATIO one optimizer step (COS may be nan)
 *   val L                           the validation loss that ends an interval
 * Output, per decision t (values %.9g, LRs %.17g):
 *   obs t o_0 ... o_8
 *   q t q_0 ... q_{n-1}
 *   act t a lr                      (a = -1 and the LR kept after the last)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "explore.h"
#include "lmobs.h"
#include "qnet.h"

typedef struct {
    int T_env, set_lr, n_actions, t, started;
    double actions[LMENV_MAX_LIST];
    double lr_min, lr_max;
    double lr;  /* the controlled LR (the constant schedule's lr_agent) */
    double val; /* L_{t-1} */
    lmobs_src_t src;
    lmobs_interval_t iv;
    dq_qnet_t net;
    dq_qnet_ws_t ws;
} replay_t;

/* Prints decision t's observation and Q, applies the greedy action. */
static void decide(replay_t *r)
{
    float obs[LMENV_OBS_DIM], q[LMENV_MAX_LIST + 1];
    lmobs_write(&r->src, obs);
    printf("obs %d", r->t);
    for (int i = 0; i < LMENV_OBS_DIM; i++) printf(" %.9g", (double)obs[i]);
    dq_qnet_forward(&r->net, &r->ws, obs, 1, q);
    printf("\nq %d", r->t);
    for (int a = 0; a < r->n_actions; a++) printf(" %.9g", (double)q[a]);
    int a = -1;
    if (r->t < r->T_env) {
        a = dq_argmax(q, r->n_actions);
        r->lr = lmobs_act(r->actions, a, r->set_lr, r->lr_min, r->lr_max, r->lr, &r->src.last_mult);
    }
    printf("\nact %d %d %.17g\n", r->t, a, r->lr);
    memset(&r->iv, 0, sizeof r->iv);
}

static int record(replay_t *r, const char *kind, const char *rest)
{
    double a = NAN, b = NAN, c = NAN, d = NAN, e = NAN;
    char word[16], list[DQ_CONFIG_STR_MAX];
    if (!strcmp(kind, "T_env")) return sscanf(rest, "%d", &r->T_env) == 1 ? 0 : -1;
    if (!strcmp(kind, "lr_init"))
        return sscanf(rest, "%lf %lf", &r->src.lr_init_min, &r->src.lr_init_max) == 2 ? 0 : -1;
    if (!strcmp(kind, "lr_clamp"))
        return sscanf(rest, "%lf %lf", &r->lr_min, &r->lr_max) == 2 ? 0 : -1;
    if (!strcmp(kind, "actions")) {
        if (sscanf(rest, "%15s %255s", word, list) != 2) return -1;
        r->set_lr = !strcmp(word, "set");
        return dq_parse_real_list(list, 0, 1e300, r->actions, LMENV_MAX_LIST, &r->n_actions);
    }
    if (!strcmp(kind, "reset")) {
        if (sscanf(rest, "%lf %lf %lf %lf %lf", &a, &b, &c, &d, &e) != 5) return -1;
        r->src.T_env = r->T_env;
        r->src.t = r->t = 0;
        r->src.lr = r->src.lr0 = r->lr = a;
        r->src.val = r->src.prev_val = r->src.val0 = r->val = b;
        r->src.gn = r->src.gn0 = c;
        r->src.align = d;
        r->src.ratio = e;
        r->src.last_mult = 1.0;
        r->started = 1;
        decide(r);
        return 0;
    }
    if (!r->started) return -1;
    if (!strcmp(kind, "step")) {
        if (sscanf(rest, "%lf %lf %lf", &a, &b, &c) != 3) return -1;
        lmobs_interval_add(&r->iv, a, b, c);
        r->src.lr = r->lr; /* the LR of the last optimizer step */
        return 0;
    }
    if (!strcmp(kind, "val")) {
        if (sscanf(rest, "%lf", &a) != 1) return -1;
        r->src.prev_val = r->val;
        r->src.val = r->val = a;
        r->src.t = ++r->t;
        lmobs_interval_means(&r->iv, &r->src);
        decide(r);
        return 0;
    }
    return -1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s QNET.bin FIGURES.txt\n", argv[0]);
        return 2;
    }
    static replay_t r;
    char why[512], line[1024];
    if (dq_qnet_load(&r.net, argv[1], why, sizeof why) < 0 ||
        dq_qnet_ws_init(&r.ws, &r.net, 1) < 0) {
        fprintf(stderr, "%s\n", why);
        return 1;
    }
    FILE *f = fopen(argv[2], "r");
    int rc = f ? 0 : 1, n = 0;
    while (rc == 0 && f && fgets(line, sizeof line, f)) {
        char kind[16];
        int used = 0;
        n++;
        if (sscanf(line, "%15s %n", kind, &used) < 1) continue;
        if (record(&r, kind, line + used) < 0) {
            fprintf(stderr, "%s:%d: bad record: %s", argv[2], n, line);
            rc = 1;
        }
        if (r.n_actions && r.n_actions != dq_qnet_n_actions(&r.net)) {
            fprintf(stderr, "%s: %d actions, the Q-network has %d\n", argv[2], r.n_actions,
                    dq_qnet_n_actions(&r.net));
            rc = 1;
        }
    }
    if (!f) fprintf(stderr, "cannot read %s\n", argv[2]);
    if (f) fclose(f);
    dq_qnet_ws_free(&r.ws);
    dq_qnet_free(&r.net);
    return rc;
}
