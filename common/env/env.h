/* env.h - the environment interface that actors drive.
 *
 * An environment is a value with a vtable. Observations are float32 vectors of
 * obs_dim entries, actions are integers in [0, n_actions). A step ends the
 * episode in one of two ways that the learner must tell apart:
 *   terminated - the MDP reached a terminal state; the target does not bootstrap;
 *   truncated  - the episode was cut (time limit); the target bootstraps from
 *                the next observation as usual.
 * Implementations must never return non-finite observations or rewards.
 *
 *   dq_env_t env;
 *   chainenv_init(&env, &cfg->env, rng_seed);      // or lmenv_init(...)
 *   env.ops->reset(env.self, obs);
 *   env.ops->step(env.self, a, obs, &step);
 *   dq_env_close(&env);
 */
#ifndef DQ_ENV_H
#define DQ_ENV_H

typedef struct {
    float reward;
    int terminated; /* terminal state reached: no bootstrap */
    int truncated;  /* time limit: bootstrap from the next observation */
    /* Optional per-episode figure an env reports at episode end (for the LM
     * environment, the final validation loss); NAN when not applicable. */
    double final_metric;
} dq_step_t;

typedef struct {
    const char *name;
    /* Starts a new episode and writes the first observation. Returns 0 or a
     * negative dq_err_t. */
    int (*reset)(void *self, float *obs);
    /* Applies action and writes the next observation and the step result. */
    int (*step)(void *self, int action, float *obs, dq_step_t *out);
    void (*destroy)(void *self);
} dq_env_ops_t;

typedef struct {
    const dq_env_ops_t *ops;
    void *self;
    int obs_dim;
    int n_actions;
} dq_env_t;

/* Destroys the environment's state and clears the value; safe to repeat. */
void dq_env_close(dq_env_t *env);

#endif
