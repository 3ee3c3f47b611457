/* chainenv.c - see chainenv.h. */
#include "chainenv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

typedef struct {
    int length, max_steps;
    int state, t;
} chain_t;

static void write_obs(const chain_t *c, float *obs)
{
    memset(obs, 0, (size_t)c->length * sizeof *obs);
    obs[c->state] = 1.0f;
}

static int chain_reset(void *self, float *obs)
{
    chain_t *c = self;
    c->state = 0;
    c->t = 0;
    write_obs(c, obs);
    return DQ_OK;
}

static int chain_step(void *self, int action, float *obs, dq_step_t *out)
{
    chain_t *c = self;
    if (action < 0 || action > 1) return DQ_ERANGE;
    out->reward = 0.0f;
    out->terminated = 0;
    out->final_metric = NAN;
    if (action == 1) {
        if (c->state == c->length - 1) {
            out->reward = 1.0f;
            out->terminated = 1;
        } else {
            c->state++;
        }
    } else if (c->state > 0) {
        c->state--;
    }
    c->t++;
    out->truncated = !out->terminated && c->t >= c->max_steps;
    write_obs(c, obs);
    return DQ_OK;
}

static void chain_destroy(void *self) { free(self); }

static const dq_env_ops_t chain_ops = {"chain", chain_reset, chain_step, chain_destroy};

int chainenv_init(dq_env_t *env, int length, int max_steps)
{
    if (length < 2 || max_steps < 1) return DQ_EINVAL;
    chain_t *c = calloc(1, sizeof *c);
    if (!c) return DQ_ENOMEM;
    c->length = length;
    c->max_steps = max_steps;
    env->ops = &chain_ops;
    env->self = c;
    env->obs_dim = length;
    env->n_actions = CHAINENV_N_ACTIONS;
    return DQ_OK;
}

double chainenv_optimal_q(int length, double gamma, int state, int action)
{
    if (action == 1) return pow(gamma, length - 1 - state);
    int prev = state > 0 ? state - 1 : 0;
    return gamma * pow(gamma, length - 1 - prev);
}
