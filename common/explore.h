/* explore.h - exploration schedules: how an actor turns Q-values into actions.
 *
 * A schedule is a value parsed from one string (grammar in docs/exploration.md):
 * a policy (epsilon-greedy, ez-greedy, Boltzmann) and the schedule of its
 * parameter (epsilon, or the temperature tau) over the global env step t, the
 * actor index i and the actor count N:
 *
 *   0.1                                  epsilon-greedy, constant epsilon
 *   linear:start=1,end=0.05,steps=20000  eps(t) = start + (end-start) min(t/steps, 1)
 *   exp:start=1,end=0.01,half_life=5000  eps(t) = end + (start-end) 2^(-t/half_life)
 *   piecewise:0=1,10000=0.1,50000=0.01   linear between (t, eps) points, flat outside
 *   ladder:eps=0.4,alpha=7               eps_i = eps^(1 + alpha i/(N-1))   (Ape-X)
 *   ez:0.1  ez(mu=2,max=10000):ladder:eps=0.4,alpha=7
 *                                        ez-greedy: with probability eps start a
 *                                        random action held n ~ zeta(mu) steps
 *   boltzmann:exp:start=2,end=0.1,half_life=5000
 *                                        softmax over Q/tau, tau from the schedule
 *
 *   dq_explore_t x;
 *   if (dq_explore_parse(&x, cfg->actor_exploration, why, sizeof why) < 0) ...
 *   double p = dq_explore_param(&x, actor, n_actors, t);      // eps or tau now
 *   dq_explore_state_t st = {0};                              // one per env
 *   int a = dq_explore_act(&x, &st, p, q, n_actions, &rng, NULL);
 *   dq_explore_reset(&st);                                    // at episode end
 *
 * Schedules are plain values (no allocation); the per-env state of ez-greedy
 * is a small struct the caller owns; random state is passed in.
 */
#ifndef DQ_EXPLORE_H
#define DQ_EXPLORE_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

#define DQ_EXPLORE_MAX_POINTS 16
#define DQ_EXPLORE_SPEC_MAX 256

typedef enum {
    DQ_POLICY_EPS_GREEDY = 0, /* uniform random action with probability eps, else greedy */
    DQ_POLICY_EZ_GREEDY,      /* eps-greedy whose random actions last n ~ zeta(mu) steps */
    DQ_POLICY_BOLTZMANN,      /* sample from softmax(Q / tau) */
} dq_policy_t;

typedef enum {
    DQ_SCHED_CONSTANT = 0,
    DQ_SCHED_LINEAR,
    DQ_SCHED_EXP,
    DQ_SCHED_PIECEWISE,
    DQ_SCHED_LADDER,
} dq_sched_kind_t;

typedef struct {
    dq_sched_kind_t kind;
    double start, end; /* constant: start; linear, exp: both ends; ladder: start = eps */
    double span;       /* linear: steps; exp: half_life; ladder: alpha */
    int n_points;      /* piecewise: points sorted by t, at least 1 */
    double pt_t[DQ_EXPLORE_MAX_POINTS], pt_v[DQ_EXPLORE_MAX_POINTS];
} dq_sched_t;

typedef struct {
    dq_policy_t policy;
    double mu;         /* ez-greedy: zeta exponent, > 1 (default 2) */
    uint64_t max_hold; /* ez-greedy: longest hold, steps (default 10000) */
    dq_sched_t sched;  /* epsilon (in [0, 1]) or tau (> 0) */
} dq_explore_t;

/* Per-environment state of a policy (ez-greedy's current random action). */
typedef struct {
    int32_t action; /* the held random action */
    uint64_t left;  /* steps it is still held for; 0 = none */
} dq_explore_state_t;

/* Parses spec; returns 0 or DQ_ECONFIG with the reason in why. */
int dq_explore_parse(dq_explore_t *x, const char *spec, char *why, size_t whylen);
/* Writes a canonical description ("ez(mu=2,max=10000):linear:start=1,...") into
 * out, for logs. */
void dq_explore_describe(const dq_explore_t *x, char *out, size_t outlen);
/* The schedule's value at global env step t for actor i of n (n >= 1). */
double dq_sched_value(const dq_sched_t *s, uint32_t actor, uint32_t n_actors, uint64_t t);
/* The policy parameter now: eps, or tau (clamped to >= 1e-6). */
double dq_explore_param(const dq_explore_t *x, uint32_t actor, uint32_t n_actors, uint64_t t);
/* Chooses an action from q (n_actions values) with parameter p (eps or tau).
 * *explored (may be NULL) is set to 1 when the action came from exploration
 * (a random or held random action; for Boltzmann, a non-greedy one).
 * Ties in the greedy choice go to the lowest index. */
int dq_explore_act(const dq_explore_t *x, dq_explore_state_t *st, double p, const float *q,
                   int n_actions, dq_rng_t *rng, int *explored);
/* The exploration probability a transition records: eps for the greedy
 * policies; for Boltzmann, 1 - pi(greedy action), the chance the softmax picks a
 * non-greedy action (the wire's epsilon field is a probability in [0, 1]). */
double dq_explore_recorded(const dq_explore_t *x, double p, const float *q, int n_actions);
/* Forgets a held action (call at episode end). */
void dq_explore_reset(dq_explore_state_t *st);

/* A draw from the zeta (Zipf) distribution P(n) = n^-mu / zeta(mu), n >= 1,
 * mu > 1 (Devroye's rejection method), capped at max_n. */
uint64_t dq_zeta_sample(dq_rng_t *rng, double mu, uint64_t max_n);
/* Softmax of q / tau into p (n values), max-subtracted for stability. */
void dq_softmax(double *p, const float *q, int n, double tau);

/* The greedy action: the first index of the largest of q[0, n). */
int dq_argmax(const float *q, int n);

#endif
