/* envs.h - opens the environment named by env.name for an actor or evaluator.
 *
 *   dq_env_t env;
 *   if (actor_env_open(&env, cfg, "train", seed, why, sizeof why) < 0) ...
 */
#ifndef DQ_ACTOR_ENVS_H
#define DQ_ACTOR_ENVS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "env.h"

/* instance_set: "train" or "heldout" (used by environments that have
 * instance distributions). */
int actor_env_open(dq_env_t *env, const dq_config_t *cfg, const char *instance_set,
                   uint64_t seed, char *why, size_t whylen);

#endif
