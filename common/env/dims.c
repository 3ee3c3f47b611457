/* dims.c - see dims.h. The LM observation size comes from lmenv.h's layout
 * enum (a header constant, no code) and the action count from lm.actions. */
#include "dims.h"

#include <float.h>
#include <stdio.h>
#include <string.h>

#include "chainenv.h"
#include "err.h"
#include "lm/lmenv.h"

int dq_env_dims(const dq_config_t *cfg, int *obs_dim, int *n_actions, char *why, size_t whylen)
{
    if (strcmp(cfg->env_name, "lm") == 0) {
        double mult[LMENV_MAX_LIST];
        int n = 0;
        if (dq_parse_real_list(cfg->lm_actions, DBL_MIN, DBL_MAX, mult, LMENV_MAX_LIST, &n) < 0 ||
            n == 0) {
            snprintf(why, whylen,
                     "lm.actions = '%.200s': expected a list of positive multipliers (at most %d)",
                     cfg->lm_actions, LMENV_MAX_LIST);
            return DQ_ECONFIG;
        }
        *obs_dim = LMENV_OBS_DIM;
        *n_actions = n;
        return DQ_OK;
    }
    if (strcmp(cfg->env_name, "chain") == 0) {
        *obs_dim = (int)cfg->env_chain_length;
        *n_actions = CHAINENV_N_ACTIONS;
        return DQ_OK;
    }
    snprintf(why, whylen, "env.name = %s: no such environment", cfg->env_name);
    return DQ_ECONFIG;
}

int dq_env_obs_version(const char *env_name)
{
    if (strcmp(env_name, "lm") == 0) return LMENV_OBS_VERSION;
    if (strcmp(env_name, "chain") == 0) return CHAINENV_OBS_VERSION;
    return 0;
}
