/* lmobs.c - see lmobs.h; the formulas are the table of docs/lmenv.md. */
#include "lmobs.h"

#include <math.h>

static float fin(double x)
{
    if (!isfinite(x)) return 0.0f;
    return (float)lmobs_clampd(x, -LMENV_OBS_CLAMP, LMENV_OBS_CLAMP);
}

void lmobs_interval_add(lmobs_interval_t *iv, double grad_norm, double align, double update_ratio)
{
    if (isfinite(align)) {
        iv->align_sum += align;
        iv->n_align++;
    }
    iv->gn_sum += grad_norm;
    iv->ratio_sum += update_ratio;
    iv->steps++;
}

void lmobs_interval_means(const lmobs_interval_t *iv, lmobs_src_t *src)
{
    src->ratio = iv->steps > 0 ? iv->ratio_sum / iv->steps : NAN;
    src->align = iv->n_align > 0 ? iv->align_sum / iv->n_align : NAN;
    src->gn = iv->steps > 0 ? iv->gn_sum / iv->steps : NAN;
}

/* Position of ln lr in the instance LR range: -1 at lm.lr_init_min, +1 at
 * lm.lr_init_max (a span of at least ln 2 when the range is a point). */
static double lr_position(const lmobs_src_t *s, double lr)
{
    double lo = log(s->lr_init_min), span = log(s->lr_init_max) - lo;
    if (span < M_LN2) {
        lo += 0.5 * span - 0.5 * M_LN2;
        span = M_LN2;
    }
    return 2.0 * (log(lr) - lo) / span - 1.0;
}

void lmobs_write(const lmobs_src_t *s, float *obs)
{
    obs[LMENV_OBS_PROGRESS] = fin((double)s->t / s->T_env);
    obs[LMENV_OBS_LR_POSITION] = fin(lr_position(s, s->lr));
    obs[LMENV_OBS_LR_CHANGE] = fin(log2(s->lr / s->lr0) / 4.0);
    obs[LMENV_OBS_VAL_RATIO] = fin(log(s->val / s->val0));
    obs[LMENV_OBS_VAL_CHANGE] = fin(log(s->val / s->prev_val) * s->T_env);
    obs[LMENV_OBS_UPDATE_RATIO] = fin(log10(s->ratio + 1e-12) + 3.0);
    obs[LMENV_OBS_GRAD_ALIGN] = fin(s->align);
    obs[LMENV_OBS_GRAD_NORM] = fin(s->gn > 0 ? log(s->gn / s->gn0) : NAN);
    obs[LMENV_OBS_LAST_ACTION] = fin(log2(s->last_mult));
}

double lmobs_act(const double *actions, int a, int set_lr, double lr_min, double lr_max, double lr,
                 double *last_mult)
{
    if (set_lr) {
        double next = lmobs_clampd(actions[a], lr_min, lr_max);
        *last_mult = next / lr;
        return next;
    }
    *last_mult = actions[a];
    return lmobs_clampd(lr * actions[a], lr_min, lr_max);
}
