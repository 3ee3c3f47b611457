/* lmobs.h - the LM environment's observation (the table of docs/lmenv.md)
 * from the figures any training loop has: losses, gradient norms, the cosine
 * of consecutive gradients, update/parameter RMS ratios and the LR, and the
 * action semantics that move the LR. lmenv.c computes its observation with
 * it; tests/tools/lmobs_replay.c runs it on a recorded sequence of figures,
 * the reference that deploy/python's controller is checked against
 * (docs/controller.md).
 *
 *   lmobs_interval_t iv = {0};
 *   for each optimizer step k of the decision interval:
 *       lmobs_interval_add(&iv, grad_norm_k, cos(g_k, g_{k-1}), update_ratio_k);
 *   lmobs_src_t src = {.t = t, .T_env = T, ..., .val = L_t, .prev_val = L_{t-1}};
 *   lmobs_interval_means(&iv, &src);
 *   lmobs_write(&src, obs);                      // LMENV_OBS_DIM floats
 */
#ifndef DQ_LMOBS_H
#define DQ_LMOBS_H

#include "lmenv.h"

/* Sums over the optimizer steps of one decision interval. */
typedef struct {
    int steps;   /* steps taken */
    int n_align; /* steps with a finite cosine */
    double gn_sum, ratio_sum, align_sum;
} lmobs_interval_t;

/* One optimizer step: grad_norm is the global gradient norm before clipping,
 * align the cosine of this step's gradient with the previous one (NaN when
 * undefined: it is then left out of the mean), update_ratio the RMS of the
 * update over the RMS of the parameters before it. */
void lmobs_interval_add(lmobs_interval_t *iv, double grad_norm, double align, double update_ratio);

/* Everything an observation is computed from. */
typedef struct {
    int t, T_env;                    /* decisions taken, decisions in the budget */
    double lr;                       /* LR of the last optimizer step (at reset: the first one's) */
    double lr0;                      /* the run's initial LR */
    double lr_init_min, lr_init_max; /* lm.lr_init_min, lm.lr_init_max */
    double val, prev_val, val0;      /* L_t, L_{t-1}, L_0 (validation, nats) */
    double ratio, align, gn;         /* interval means (at reset: see docs/lmenv.md) */
    double gn0;                      /* G_0 */
    double last_mult;                /* LR multiplier of the last action (1 at reset) */
} lmobs_src_t;

/* src->ratio, src->align and src->gn become the interval's means (NaN for a
 * mean over no step). */
void lmobs_interval_means(const lmobs_interval_t *iv, lmobs_src_t *src);
/* Writes the LMENV_OBS_DIM entries; each non-finite one becomes 0 and each
 * is clamped to [-LMENV_OBS_CLAMP, LMENV_OBS_CLAMP]. */
void lmobs_write(const lmobs_src_t *src, float *obs);

/* Action a on the controlled LR lr: multiplies it by actions[a] (set_lr = 0,
 * lm.action_kind = multiply) or sets it to actions[a] (set_lr = 1), clamped
 * to [lr_min, lr_max]; returns the new LR and the multiplier that amounted
 * to in *last_mult (actions[a] itself when multiplying). */
double lmobs_act(const double *actions, int a, int set_lr, double lr_min, double lr_max, double lr,
                 double *last_mult);

/* x clamped to [lo, hi] (the LR clamp and the feature clamp of both files). */
static inline double lmobs_clampd(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

#endif
