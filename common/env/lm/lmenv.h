/* lmenv.h - the LM-training environment: an agent sets the learning rate of
 * a tiny transformer really trained on text (DESIGN §2, docs/lmenv.md).
 *
 * One env step = lm.opt_steps AdamW steps at the current LR, then the
 * observation below. Action a multiplies the LR by lm.actions[a] (clamped to
 * [lm.lr_min, lm.lr_max]). Reward r_t = ln L_{t-1} - ln L_t with L the loss on
 * a fixed validation batch set, so an episode's return is ln L_0 - ln L_T.
 * Divergence (a non-finite loss or gradient, or a loss above
 * lm.diverge_factor x L_0) terminates with
 *   r_t = ln L_{t-1} - ln(lm.diverge_factor x L_0) - lm.diverge_penalty,
 * and reaching the budget of lm.episode_steps env steps also terminates: the
 * objective is the validation loss when the budget runs out, so there is
 * nothing to bootstrap past it (the env never truncates; with gamma = 1 the
 * return is exactly ln L_0 - ln L_T). Each reset draws a new instance
 * (seed, model size, batch, initial LR) from the "train" or "heldout" set;
 * the two sets are disjoint by seed range, model sizes and corpus slice.
 *
 *   dq_env_t env;
 *   if (lmenv_init(&env, &cfg, "train", seed, why, sizeof why) < 0) ...
 *   float obs[LMENV_OBS_DIM];
 *   env.ops->reset(env.self, obs);
 *   env.ops->step(env.self, action, obs, &st);
 *   dq_env_close(&env);
 */
#ifndef DQ_LMENV_H
#define DQ_LMENV_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "env.h"
#include "schedule.h"

/* Observation layout (float32, every entry finite and clamped to
 * [-LMENV_OBS_CLAMP, LMENV_OBS_CLAMP]). Scale-free (ratios and logs, no
 * absolute loss or norm, so the same controller reads any model size or
 * corpus) and low-noise (means over the whole decision interval, validation
 * on a fixed set). Each entry also has its meaning at reset; the reasons for
 * each are in docs/lmenv.md. "Interval" = the K optimizer steps just taken. */
enum {
    LMENV_OBS_PROGRESS = 0, /* t / T_env: budget used */
    LMENV_OBS_LR_POSITION,  /* ln lr in the instance LR range: -1 at lm.lr_init_min, +1 at max */
    LMENV_OBS_LR_CHANGE,    /* log2(lr / lr_0) / 4: the controller's net move so far */
    LMENV_OBS_VAL_RATIO,    /* ln(L_t / L_0), validation loss */
    LMENV_OBS_VAL_CHANGE,   /* ln(L_t / L_{t-1}) x T_env (0 at reset: no interval yet) */
    LMENV_OBS_UPDATE_RATIO, /* log10(mean update RMS / param RMS over the interval) + 3 */
    LMENV_OBS_GRAD_ALIGN,   /* mean cosine of consecutive gradients over the interval */
    LMENV_OBS_GRAD_NORM,    /* ln(mean gradient norm over the interval / at reset) */
    LMENV_OBS_LAST_ACTION,  /* log2 of the last action's LR multiplier (0 at reset) */
    LMENV_OBS_DIM
};
#define LMENV_OBS_CLAMP 10.0f
/* Version of the observation above: raised whenever an entry's meaning,
 * formula or order changes, so that a Q-network trained on another version
 * is refused (ctldesc.h) instead of misread. */
#define LMENV_OBS_VERSION 1

/* Most entries of lm.actions, lm.sizes and the other [lm] lists. */
#define LMENV_MAX_LIST 16

/* Name of observation entry i ("progress", ...), NULL out of range. */
const char *lmenv_obs_name(int i);

/* Builds the environment from cfg's [lm] section for instance_set "train" or
 * "heldout", seeding its instance stream from seed. Loads the corpus (or
 * the finetune corpus and checkpoint) once. Returns 0, or a negative dq_err_t
 * with a one-line reason in why. */
int lmenv_init(dq_env_t *env, const dq_config_t *cfg, const char *instance_set, uint64_t seed,
               char *why, size_t whylen);

/* The current episode's instance and figures (for dqnlm-lmtrain, logs). */
typedef struct {
    uint64_t instance_seed;
    int layers, channels, heads, context, batch;
    size_t num_params;
    double lr_init;    /* sampled initial LR */
    double lr;         /* LR of the last optimizer step */
    long opt_steps;    /* optimizer steps so far this episode */
    int t;             /* env steps so far */
    double train_loss; /* mean training loss of the last env step's K steps (nats) */
    double val_loss;   /* validation loss now (nats per byte) */
    double val_loss0;  /* validation loss at reset */
    int diverged;
} lmenv_info_t;

int lmenv_get_info(const dq_env_t *env, lmenv_info_t *info);

/* What lmenv_init read, in one line for the programs to log once at start:
 * the corpus's paths, bytes and records, the instance set's slice and the
 * records and bytes of its training and validation splits. NULL when env is
 * not an LM environment. */
const char *lmenv_describe_corpus(const dq_env_t *env);

/* Multiplies the LR by s's factor at every optimizer step from now on (a
 * baseline schedule; the agent's own control is the constant schedule). The
 * schedule is copied and reset at each episode start. */
int lmenv_set_schedule(dq_env_t *env, const lm_schedule_t *s);

/* Forces the next episodes' instance seed (tests, reproducing an instance);
 * pass UINT64_MAX to return to sampling. */
int lmenv_set_instance_seed(dq_env_t *env, uint64_t instance_seed);

/* Writes the current model as an LM checkpoint (lm_save format). */
int lmenv_save_model(const dq_env_t *env, const char *path, char *why, size_t whylen);

/* Parses a comma-separated list of LR multipliers (> 0) into out[0..max). */
int lmenv_parse_actions(const char *s, double *out, int max, int *n);

#endif
