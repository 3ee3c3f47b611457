/* dims.h - the observation size and action count of the configured
 * environment, from the configuration alone: no corpus is read, no model
 * built, no environment code linked. The learner group and dqnlm-report size
 * their Q-networks with it; tests/unit/test_lmenv.c checks that it agrees with
 * the environments dq_env_open() builds.
 *
 *   int obs_dim, n_actions;
 *   if (dq_env_dims(cfg, &obs_dim, &n_actions, why, sizeof why) < 0) ...
 */
#ifndef DQ_ENV_DIMS_H
#define DQ_ENV_DIMS_H

#include <stddef.h>

#include "config.h"

int dq_env_dims(const dq_config_t *cfg, int *obs_dim, int *n_actions, char *why, size_t whylen);
/* The observation version of environment env_name (LMENV_OBS_VERSION,
 * CHAINENV_OBS_VERSION), 0 for an unknown name. */
int dq_env_obs_version(const char *env_name);

#endif
