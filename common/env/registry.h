/* registry.h - opens the environment named by env.name (actors, evaluation,
 * dqnlm-lmtrain). The learner and the report never open an environment: they
 * ask dq_env_dims() (dims.h), which reads only the configuration.
 *
 *   dq_env_t env;
 *   if (dq_env_open(&env, cfg, "train", seed, why, sizeof why) < 0) ...
 */
#ifndef DQ_ENV_REGISTRY_H
#define DQ_ENV_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "env.h"

/* instance_set: "train" or "heldout" (used by environments that have
 * instance distributions). */
int dq_env_open(dq_env_t *env, const dq_config_t *cfg, const char *instance_set, uint64_t seed,
                char *why, size_t whylen);

/* What an opened environment read at start (the LM environment: its corpus,
 * slice and splits; lmenv_describe_corpus), for the program to log once;
 * NULL when there is nothing to say (the chain). */
const char *dq_env_describe(const dq_env_t *env);

#endif
