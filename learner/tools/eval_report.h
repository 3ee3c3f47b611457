/* eval_report.h - what dqnlm-eval writes into its output folder:
 *   summary.csv, summary.md  IQM of final validation bits per byte per method
 *                            with 95% stratified-bootstrap intervals, and the
 *                            paired P(controller better) (also on stdout);
 *   episodes.csv             one row per (method, instance);
 *   trajectories.csv         one row per decision of every episode;
 *   calibration.csv/.md      the controller's Q(s_t, a_t) against the return
 *                            it then realised, per decision index;
 *   traj-N-lr.png/.svg, traj-N-bpb.png/.svg   the LR and the validation bits
 *                            per byte against optimizer steps, controller vs
 *                            constant and cosine (instance and tuned LR), for
 *                            the controller's median, best and worst instance.
 * docs/evaluation.md explains how to read them.
 */
#ifndef DQNLM_EVAL_REPORT_H
#define DQNLM_EVAL_REPORT_H

#include <stdint.h>

#include "config.h"
#include "eval_run.h"

typedef struct {
    uint64_t seed;
    char size[48]; /* "LxCxHxT": the stratum */
} eval_instance_t;

/* One row of the table: method 0 is the controller. eps and steps point at
 * this method's n_inst episodes (same instance order for every method) and
 * their n_inst * EVAL_MAX_DECISIONS decision records. */
typedef struct {
    char name[160];   /* "controller (greedy Q)" or the baseline's spec */
    char lr[48];      /* "instance", "tuned: 0.003", "untunable: instance" */
    char setting[16]; /* "instance" or "tuned" (CSV column lr_setting) */
    const eval_episode_t *eps;
    const eval_decision_t *steps;
} eval_method_t;

/* tuning_runs: the training runs the baselines' LR tuning cost (0 = none). */
int eval_report_summary(const dq_config_t *cfg, const eval_method_t *m, int n_methods,
                        const eval_instance_t *inst, int n_inst, int tuning_runs,
                        const char *out_dir);
int eval_report_episodes(const eval_method_t *m, int n_methods, const eval_instance_t *inst,
                         int n_inst, const char *out_dir);
int eval_report_trajectories(const dq_config_t *cfg, const eval_method_t *m, int n_methods,
                             const eval_instance_t *inst, int n_inst, const char *out_dir);
int eval_report_calibration(const dq_config_t *cfg, const eval_method_t *ctrl, int n_inst,
                            const char *out_dir);
/* The figures; 0 when drawn, 1 when skipped (no gnuplot), < 0 on error. */
int eval_report_figures(const dq_config_t *cfg, const eval_method_t *m, int n_methods,
                        const eval_instance_t *inst, int n_inst, const char *out_dir);

#endif
