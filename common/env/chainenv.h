/* chainenv.h - the chain: a small environment whose optimal Q-values are
 * known in closed form, kept as the permanent test of the learning machinery.
 *
 * States 0..N-1 (N = env.chain_length), start in state 0, actions 0 = left,
 * 1 = right. Left moves to max(s-1, 0); right moves to s+1. Stepping right from
 * the last state gives reward 1 and terminates; every other step gives 0. An
 * episode is truncated (not terminated) after env.chain_max_steps steps.
 * Observation: one-hot of the state (N floats).
 *
 * With discount gamma, the optimal values are
 *   Q*(s, right) = gamma^(N-1-s)
 *   Q*(s, left)  = gamma * Q*(max(s-1, 0), right)
 * so the optimal policy is "always right".
 */
#ifndef DQ_CHAINENV_H
#define DQ_CHAINENV_H

#include "env.h"

/* Actions: 0 = left, 1 = right. */
#define CHAINENV_N_ACTIONS 2
/* Version of the observation (the one-hot of the state). */
#define CHAINENV_OBS_VERSION 1

int chainenv_init(dq_env_t *env, int length, int max_steps);
/* Closed-form Q*(s, a) for the chain. */
double chainenv_optimal_q(int length, double gamma, int state, int action);

#endif
