/* actor_metrics.h - the columns of the actor's metric files, one list each.
 *
 * X(name, fmt, expr) as common/metrics.h describes: the header and the row
 * writer of each file are generated from its list. The names are read by
 * learner/tools/report_data.c, deploy/run-local.sh and deploy/cluster-lib.sh
 * (by name, never by position): renaming a column breaks them.
 *
 * RUN_DIR/actor-ID.csv, a row every actor.metrics_every seconds; the
 * expressions are evaluated in actor.c's metrics_row, over the actor a, the
 * window w since the last row, the outbox statistics os, steps (env steps in
 * the window) and now (dq_now()).
 */
#ifndef ACTOR_METRICS_H
#define ACTOR_METRICS_H

#include <inttypes.h>
#include <math.h>

/* clang-format off */
#define ACTOR_METRIC_COLS(X)                                                                       \
    X(time_s,            "%.3f",       a->base.t + now - a->t0)                                    \
    X(env_steps,         "%" PRIu64,   a->env_steps)                                               \
    X(episodes,          "%" PRIu64,   a->episodes)                                                \
    X(steps_per_s,       "%.1f",       (double)steps / (now - w->t))                               \
    X(return_mean,       "%.6g",       w->ret_n ? w->ret_sum / (double)w->ret_n : NAN)             \
    X(final_metric_mean, "%.6g",       w->metric_n ? w->metric_sum / (double)w->metric_n : NAN)    \
    X(explore_param,     "%.6g",       a->param_now)                                               \
    X(explored_frac,     "%.4f",                                                                   \
      steps ? (double)(a->explored_steps - w->explored) / (double)steps : NAN)                     \
    X(weights_version,   "%" PRIu64,   a->weights_version)                                         \
    X(policy_lag,        "%" PRIu64,   policy_lag(a))                                              \
    X(send_queue,        "%d",         os.unacked)                                                 \
    X(sent,              "%" PRIu64,   a->base.sent + os.pushed_items)                             \
    X(acked,             "%" PRIu64,   a->base.acked + os.acked_items)                             \
    X(resent,            "%" PRIu64,   a->base.resent + os.resent_msgs)                            \
    X(disconnects,       "%" PRIu64,   a->base.disconnects + os.disconnects)
/* clang-format on */

/* RUN_DIR/actor-ID-episodes.csv, a row per finished episode; evaluated in
 * actor.c's step_env over the actor a, the env index e and its last step st. */
/* clang-format off */
#define ACTOR_EPISODE_COLS(X)                                                                      \
    X(time_s,          "%.3f",     a->base.t + dq_now() - a->t0)                                   \
    X(env,             "%d",       e)                                                              \
    X(episode,         "%" PRIu64, a->episodes)                                                    \
    X(steps,           "%" PRIu64, a->ep_steps[e])                                                 \
    X(return,          "%.6g",     a->ep_return[e])                                                \
    X(final_metric,    "%.6g",     st.final_metric)                                                \
    X(explore_param,   "%.6g",     a->param_now)                                                   \
    X(weights_version, "%" PRIu64, a->weights_version)
/* clang-format on */

#endif
