/* registry.c - see registry.h. */
#include "registry.h"

#include <stdio.h>
#include <string.h>

#include "chainenv.h"
#include "err.h"
#include "lmenv.h"

int dq_env_open(dq_env_t *env, const dq_config_t *cfg, const char *instance_set, uint64_t seed,
                char *why, size_t whylen)
{
    if (strcmp(cfg->env_name, "lm") == 0)
        return lmenv_init(env, cfg, instance_set, seed, why, whylen);
    if (strcmp(cfg->env_name, "chain") == 0) {
        int rc = chainenv_init(env, (int)cfg->env_chain_length, (int)cfg->env_chain_max_steps);
        if (rc < 0) snprintf(why, whylen, "chain environment: %s", dq_strerror(rc));
        return rc;
    }
    snprintf(why, whylen, "env.name = %s: no such environment", cfg->env_name);
    return DQ_ECONFIG;
}

const char *dq_env_describe(const dq_env_t *env) { return lmenv_describe_corpus(env); }
