/* eval_run.h - runs evaluation episodes of the LM environment: the greedy
 * controller or a baseline schedule on one instance, recording every
 * decision, in forked worker processes that return their results through
 * shared memory (dqnlm-eval, dqnlm-lmtrain --qnet).
 *
 *   eval_job_t job = {.cfg = cfg, .net = &net, .keep_action = k, .set = "heldout",
 *                     .inst_seed = seed};
 *   eval_episode_t ep;
 *   eval_decision_t steps[EVAL_MAX_DECISIONS];
 *   eval_run_episode(&job, &ep, steps);
 */
#ifndef DQNLM_EVAL_RUN_H
#define DQNLM_EVAL_RUN_H

#include <stdint.h>

#include "config.h"
#include "qnet.h"
#include "schedule.h"

/* Most decisions an episode records (lm.episode_steps is capped by the
 * configuration's range; longer episodes keep their first ones). */
#define EVAL_MAX_DECISIONS 256

/* One episode to run. net != NULL and sched == NULL: the greedy controller;
 * otherwise the baseline schedule sched, holding the LR with keep_action. */
typedef struct {
    const dq_config_t *cfg;
    const dq_qnet_t *net;
    const lm_schedule_t *sched;
    int keep_action; /* index of the x1 action */
    const char *set; /* "train" or "heldout" */
    uint64_t inst_seed;
    double lr; /* initial LR; 0 = the instance's own (lm.lr if set, else its draw) */
} eval_job_t;

/* Decision t (0 = the state at reset): the LR of the optimizer steps that led
 * here, the action chosen here, and the losses measured here. q is the
 * controller's Q(s_t, a_t) (NAN for baselines and at the last state); reward is
 * r_t = the reward of the env step that led here (0 at t = 0). */
typedef struct {
    long opt_step;
    float lr, train_loss, val_loss, q, reward;
    int action;
} eval_decision_t;

typedef struct {
    double final_bpb; /* final validation bits per byte; NAN if unfinished */
    double lr_init;   /* the LR the episode started from */
    int n_decisions;  /* entries of the decision record (states 0..T) */
    int diverged;
} eval_episode_t;

/* Runs one episode; 0, or a negative dq_err_t (the reason is logged). */
int eval_run_episode(const eval_job_t *job, eval_episode_t *ep, eval_decision_t *steps);

/* Runs jobs in `workers` forked processes with a progress line on stderr;
 * eps[j] and steps[j * EVAL_MAX_DECISIONS ...] receive job j's episode
 * (final_bpb NAN when unfinished). DQ_EINTERRUPTED after a stop signal,
 * DQ_EIO when an episode failed (the others are still filled in). */
int eval_run_jobs(const eval_job_t *jobs, int n, int workers, const char *what, eval_episode_t *eps,
                  eval_decision_t *steps);

#endif
