/* actor.c - see actor.h. */
#include "actor.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cli.h"
#include "registry.h"
#include "err.h"
#include "explore.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "nstep.h"
#include "outbox.h"
#include "qnet.h"
#include "rng.h"
#include "wire.h"
#include "actor_metrics.h"

#define PRIORITY_FLOOR 1e-3f
#define POLL_EVERY_S 0.002

struct actor {
    const dq_config_t *cfg;
    uint32_t id, n_actors;
    int n_envs, obs_dim, n_actions;
    dq_env_t *envs;
    nstep_t *nsteps;
    dq_explore_state_t *xstate; /* (n_envs) */
    float *obs;                 /* (n_envs, obs_dim) current observations */
    float *next_obs;            /* (obs_dim) */
    float *q;                   /* (n_envs, n_actions) */
    double *ep_return;          /* (n_envs) */
    uint64_t *ep_steps;         /* (n_envs) */
    dq_explore_t explore;
    dq_qnet_t net;
    dq_qnet_ws_t ws;                       /* rows: n_envs */
    dq_qnet_ws_t ws_batch;                 /* rows: batch capacity (priorities) */
    float *q_batch, *q_next;               /* (batch cap, n_actions) */
    uint64_t weights_run, weights_version; /* the weights the policy uses (0, 0: initial) */
    uint64_t learner_run, learner_version; /* the newest publication seen */
    dq_rng_t rng;

    void *zctx, *weights;
    outbox_t *outbox; /* NULL when actor.send = false */
    dq_batch_t batch; /* capacity actor.batch + n_step */
    uint32_t batch_cap;

    uint64_t env_steps, episodes, transitions, content_hash, explored_steps;
    uint64_t unsent; /* assembled but never handed to the outbox (stopped with it full) */
    uint64_t steps0; /* env_steps when this process started (actor.resume: the last row's) */
    double t0, t_end, param_now;
    struct { /* what a resumed run's earlier processes wrote last (metric offsets) */
        double t;
        uint64_t sent, acked, resent, disconnects;
    } base;
    dq_metrics_t *metrics, *episodes_csv;
};

/* The same shape as the learner's (dqn.hidden, dqn.dueling), so published
 * weights load; a dueling net's WEIGHTS carry n_actions + 1 outputs in the
 * last layer, which a non-dueling actor refuses as a shape mismatch. */
static int build_qnet(actor_t *a, char *why, size_t whylen)
{
    int rc = dq_qnet_build(&a->net, a->cfg->dqn_hidden, a->cfg->dqn_dueling, a->obs_dim,
                           a->n_actions, &a->rng, why, whylen);
    if (rc < 0) return rc;
    rc = dq_qnet_ws_init(&a->ws, &a->net, a->n_envs);
    if (rc == DQ_OK && a->cfg->actor_priorities) {
        rc = dq_qnet_ws_init(&a->ws_batch, &a->net, (int)a->batch_cap);
        a->q_batch = calloc((size_t)a->batch_cap * a->n_actions, sizeof(float));
        a->q_next = calloc((size_t)a->batch_cap * a->n_actions, sizeof(float));
        if (rc == DQ_OK && (!a->q_batch || !a->q_next)) rc = DQ_ENOMEM;
    }
    if (rc < 0) snprintf(why, whylen, "Q-network buffers: %s", dq_strerror(rc));
    return rc;
}

static int open_sockets(actor_t *a, char *why, size_t whylen)
{
    const dq_config_t *cfg = a->cfg;
    a->zctx = zmq_ctx_new();
    a->weights = a->zctx ? zmq_socket(a->zctx, ZMQ_SUB) : NULL;
    int one = 1;
    if (!a->weights || dq_net_configure(a->weights, (size_t)cfg->run_max_message_bytes) < 0 ||
        zmq_setsockopt(a->weights, ZMQ_CONFLATE, &one, sizeof one) != 0 ||
        zmq_setsockopt(a->weights, ZMQ_SUBSCRIBE, "", 0) != 0) {
        snprintf(why, whylen, "cannot set up ZeroMQ sockets: %s", zmq_strerror(zmq_errno()));
        return DQ_ENET;
    }
    if (zmq_connect(a->weights, cfg->learner_weights_endpoint) != 0) {
        snprintf(why, whylen, "cannot connect to learner.weights_endpoint=%s: %s",
                 cfg->learner_weights_endpoint, zmq_strerror(zmq_errno()));
        return DQ_ENET;
    }
    if (!cfg->actor_send) return DQ_OK;
    if (cfg->replay_curve &&
        (!cfg->replay_curve_public_key[0] || !cfg->replay_curve_client_key[0])) {
        snprintf(why, whylen,
                 "replay.curve is on: an actor needs replay.curve_public_key (the "
                 "server's) and replay.curve_client_key (its own secret)");
        return DQ_ECONFIG;
    }
    outbox_config_t oc = {.actor = a->id,
                          .max_unacked = (int)cfg->actor_max_unacked,
                          .ack_timeout_s = cfg->actor_ack_timeout,
                          .drain_timeout_s = cfg->actor_drain_timeout,
                          .max_bytes = (size_t)cfg->run_max_message_bytes,
                          .curve_server_public =
                              cfg->replay_curve ? cfg->replay_curve_public_key : NULL,
                          .curve_client_secret = cfg->replay_curve_client_key};
    a->outbox = outbox_new(a->zctx, cfg->replay_endpoint, &oc, why, whylen);
    return a->outbox ? DQ_OK : DQ_ENET;
}

/* The last row of a metric file of a resumed run (NAN where absent): 1 when
 * there is one; a torn last line is cut. */
static int last_row(const char *path, const char *counter, const char *const *names, double *v,
                    int n)
{
    char why[512];
    for (int k = 0; k < n; k++) v[k] = NAN;
    int rc = dq_metrics_resume(path, counter, INFINITY, names, v, n, why, sizeof why);
    if (rc < 0) DQ_WARN("actor.resume: %s does not continue: %s", path, why);
    return rc == 1;
}

static uint64_t count_of(double v) { return isfinite(v) && v > 0 ? (uint64_t)v : 0; }

/* actor.resume: this process continues the metric files of the run's earlier
 * actor with this id, so that time_s, env_steps, episodes and the counters
 * go on from their last rows (env_steps also drives the exploration schedule
 * and actor.max_steps). */
static void continue_metrics(actor_t *a, const char *csv, const char *episodes_csv)
{
    static const char *const names[] = {"time_s", "env_steps", "episodes",   "sent",
                                        "acked",  "resent",    "disconnects"};
    static const char *const ep_names[] = {"time_s", "episode"};
    double v[7], e[2];
    int have = last_row(csv, "env_steps", names, v, 7);
    int have_ep = last_row(episodes_csv, "episode", ep_names, e, 2);
    if (!have && !have_ep) return;
    a->base.t = fmax(isfinite(v[0]) ? v[0] : 0, isfinite(e[0]) ? e[0] : 0);
    a->env_steps = a->steps0 = count_of(v[1]);
    a->episodes = count_of(v[2]) > count_of(e[1]) ? count_of(v[2]) : count_of(e[1]);
    a->base.sent = count_of(v[3]);
    a->base.acked = count_of(v[4]);
    a->base.resent = count_of(v[5]);
    a->base.disconnects = count_of(v[6]);
    DQ_INFO("actor %u: actor.resume: metrics continue at time_s %.3f, env step %" PRIu64
            ", episode %" PRIu64,
            a->id, a->base.t, a->env_steps, a->episodes);
}

static int open_metrics(actor_t *a)
{
    char path[DQ_CONFIG_STR_MAX + 64], ep_path[DQ_CONFIG_STR_MAX + 64];
    dq_mkdir_p(a->cfg->run_dir);
    snprintf(path, sizeof path, "%s/actor-%u.csv", a->cfg->run_dir, a->id);
    snprintf(ep_path, sizeof ep_path, "%s/actor-%u-episodes.csv", a->cfg->run_dir, a->id);
    if (a->cfg->actor_resume) continue_metrics(a, path, ep_path);
    a->metrics = dq_metrics_open(path, DQ_METRICS_HEADER(ACTOR_METRIC_COLS));
    if (!a->metrics) DQ_WARN("cannot write metrics to %s", path);
    a->episodes_csv = dq_metrics_open(ep_path, DQ_METRICS_HEADER(ACTOR_EPISODE_COLS));
    if (!a->episodes_csv) DQ_WARN("cannot write episode metrics to %s", ep_path);
    return DQ_OK;
}

actor_t *actor_new(const dq_config_t *cfg, char *why, size_t whylen)
{
    actor_t *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    a->cfg = cfg;
    a->id = (uint32_t)cfg->actor_id;
    a->n_actors = (uint32_t)cfg->actor_count;
    a->n_envs = (int)cfg->actor_envs;
    a->batch_cap = (uint32_t)cfg->actor_batch + (uint32_t)cfg->dqn_n_step;
    int rc = dq_explore_parse(&a->explore, cfg->actor_exploration, why, whylen);
    if (rc < 0) goto fail;
    dq_rng_seed(&a->rng, dq_rng_mix((uint64_t)cfg->run_seed, 1 + a->id, 0));
    a->envs = calloc((size_t)a->n_envs, sizeof *a->envs);
    a->nsteps = calloc((size_t)a->n_envs, sizeof *a->nsteps);
    a->xstate = calloc((size_t)a->n_envs, sizeof *a->xstate);
    a->ep_return = calloc((size_t)a->n_envs, sizeof *a->ep_return);
    a->ep_steps = calloc((size_t)a->n_envs, sizeof *a->ep_steps);
    rc = DQ_ENOMEM;
    if (!a->envs || !a->nsteps || !a->xstate || !a->ep_return || !a->ep_steps) goto nomem;
    for (int e = 0; e < a->n_envs; e++) {
        uint64_t seed = dq_rng_mix((uint64_t)cfg->run_seed, 1 + a->id, 1 + (uint64_t)e);
        rc = dq_env_open(&a->envs[e], cfg, "train", seed, why, whylen);
        if (rc < 0) goto fail;
    }
    if (dq_env_describe(&a->envs[0])) DQ_INFO("%s", dq_env_describe(&a->envs[0]));
    a->obs_dim = a->envs[0].obs_dim;
    a->n_actions = a->envs[0].n_actions;
    a->obs = calloc((size_t)a->n_envs * a->obs_dim, sizeof(float));
    a->next_obs = calloc((size_t)a->obs_dim, sizeof(float));
    a->q = calloc((size_t)a->n_envs * a->n_actions, sizeof(float));
    if (!a->obs || !a->next_obs || !a->q) goto nomem;
    for (int e = 0; e < a->n_envs; e++) {
        rc = nstep_init(&a->nsteps[e], (int)cfg->dqn_n_step, (float)cfg->dqn_gamma,
                        (uint32_t)a->obs_dim);
        if (rc == DQ_OK)
            rc = a->envs[e].ops->reset(a->envs[e].self, a->obs + (size_t)e * a->obs_dim);
        if (rc < 0) {
            snprintf(why, whylen, "environment %d: %s", e, dq_strerror(rc));
            goto fail;
        }
    }
    if (dq_batch_alloc(&a->batch, a->batch_cap, (uint32_t)a->obs_dim, cfg->actor_priorities) < 0)
        goto nomem;
    a->batch.count = 0;
    if ((rc = build_qnet(a, why, whylen)) < 0) goto fail;
    if ((rc = open_sockets(a, why, whylen)) < 0) goto fail;
    open_metrics(a);
    return a;
nomem:
    snprintf(why, whylen, "out of memory");
fail:
    actor_destroy(&a);
    return NULL;
}

void actor_destroy(actor_t **self_p)
{
    if (!self_p || !*self_p) return;
    actor_t *a = *self_p;
    for (int e = 0; a->envs && e < a->n_envs; e++) dq_env_close(&a->envs[e]);
    for (int e = 0; a->nsteps && e < a->n_envs; e++) nstep_free(&a->nsteps[e]);
    free(a->envs);
    free(a->nsteps);
    free(a->xstate);
    free(a->ep_return);
    free(a->ep_steps);
    free(a->obs);
    free(a->next_obs);
    free(a->q);
    free(a->q_batch);
    free(a->q_next);
    dq_qnet_ws_free(&a->ws);
    dq_qnet_ws_free(&a->ws_batch);
    dq_qnet_free(&a->net);
    dq_batch_free(&a->batch);
    dq_metrics_close(&a->metrics);
    dq_metrics_close(&a->episodes_csv);
    outbox_destroy(&a->outbox);
    if (a->weights) zmq_close(a->weights);
    if (a->zctx) zmq_ctx_term(a->zctx);
    free(a);
    *self_p = NULL;
}

/* Versions the policy is behind the newest publication seen: all of the
 * current learner run's when the weights in use are from an earlier run. */
static uint64_t policy_lag(const actor_t *a)
{
    if (a->weights_run != a->learner_run) return a->learner_version;
    return a->learner_version - a->weights_version;
}

/* Notes the newest publication and loads w if it supersedes the weights in
 * use (dq_weights_supersede: another learner run, or a higher version). */
static void take_weights(actor_t *a, const dq_weights_t *w)
{
    if (w->run != a->learner_run) {
        a->learner_run = w->run;
        a->learner_version = w->version;
    } else if (w->version > a->learner_version) {
        a->learner_version = w->version;
    }
    if (!dq_weights_supersede(a->weights_run, a->weights_version, w)) return;
    int rc = dq_qnet_from_weights(&a->net, w);
    if (rc < 0) {
        DQ_WARN("weights version %" PRIu64 " of learner run %016" PRIx64
                " do not fit this Q-network (%s); kept version %" PRIu64,
                w->version, w->run, dq_strerror(rc), a->weights_version);
        return;
    }
    if (w->run != a->weights_run)
        DQ_INFO("weights of learner run %016" PRIx64 " from version %" PRIu64
                "%s (had run %016" PRIx64 " version %" PRIu64 ")",
                w->run, w->version, a->weights_version == 0 ? ", the first" : ", a new run",
                a->weights_run, a->weights_version);
    a->weights_run = w->run;
    a->weights_version = w->version;
}

/* Takes the newest published weights, if any arrived (CONFLATE keeps one). */
static void poll_weights(actor_t *a)
{
    dq_msg_t m;
    char why[256];
    int rc = dq_net_recv(a->weights, &m, (size_t)a->cfg->run_max_message_bytes, ZMQ_DONTWAIT, why,
                         sizeof why);
    if (rc == DQ_ETIMEOUT || rc == DQ_EINTERRUPTED) return;
    if (rc < 0) {
        DQ_WARN("ignored a bad weights message: %s: %s", dq_errname(rc), why);
        return;
    }
    if (m.type != DQ_MSG_WEIGHTS)
        DQ_WARN("ignored a '%s' message on the weights socket", dq_msg_type_name(m.type));
    else
        take_weights(a, &m.u.weights);
    dq_msg_clear(&m);
}

/* Initial priorities |r + discount max_a Q(next) - Q(obs, action)| + floor
 * from the actor's copy of the online network. */
static void set_priorities(actor_t *a)
{
    dq_batch_t *b = &a->batch;
    int n = (int)b->count, k = a->n_actions;
    dq_qnet_forward(&a->net, &a->ws_batch, b->obs, n, a->q_batch);
    dq_qnet_forward(&a->net, &a->ws_batch, b->next_obs, n, a->q_next);
    for (int i = 0; i < n; i++) {
        const float *qn = a->q_next + (size_t)i * k;
        float best = qn[0];
        for (int j = 1; j < k; j++) best = qn[j] > best ? qn[j] : best;
        float td = b->reward[i] + b->discount[i] * best - a->q_batch[(size_t)i * k + b->action[i]];
        float p = fabsf(td) + PRIORITY_FLOOR;
        b->priority[i] = isfinite(p) ? p : 1.0f;
    }
}

/* Hands the batch to the outbox; only what it took counts as sent (and goes
 * into the content hash). A batch it could not take by the drain deadline is
 * counted in a->unsent and dropped, and DQ_ETIMEOUT returned. */
static int flush_batch(actor_t *a)
{
    if (a->batch.count == 0) return DQ_OK;
    int rc = DQ_OK;
    if (a->outbox) {
        if (a->cfg->actor_priorities) set_priorities(a);
        rc = outbox_push(a->outbox, &a->batch);
        if (rc < 0 && rc != DQ_ETIMEOUT) DQ_ERROR("cannot send an INSERT: %s", dq_strerror(rc));
    }
    if (rc == DQ_OK) {
        a->content_hash += outbox_content_hash(&a->batch);
        a->transitions += a->batch.count;
    } else {
        a->unsent += a->batch.count;
    }
    a->batch.count = 0;
    return rc;
}

typedef struct {
    double t, ret_sum, metric_sum, explore_sum;
    uint64_t steps, ret_n, metric_n, explored;
} window_t;

static void metrics_row(actor_t *a, window_t *w)
{
    double now = dq_now();
    outbox_stats_t os = {0};
    if (a->outbox) outbox_stats(a->outbox, &os);
    uint64_t steps = a->env_steps - w->steps;
    if (a->metrics) DQ_METRICS_WRITE(a->metrics, ACTOR_METRIC_COLS);
    *w = (window_t){.t = now, .steps = a->env_steps, .explored = a->explored_steps};
}

/* Sends the batch if the next step could take it past actor.batch: one step
 * adds up to dqn.n_step transitions (the n-step tail at an episode's end),
 * and an INSERT of more than actor.batch is refused by a server whose
 * replay.max_insert_batch is actor.batch. */
static int make_room(actor_t *a)
{
    if (a->batch.count + (uint32_t)a->cfg->dqn_n_step <= (uint32_t)a->cfg->actor_batch)
        return DQ_OK;
    return flush_batch(a);
}

/* One env step of env e with action chosen already; handles the episode end. */
static int step_env(actor_t *a, int e, int action, float recorded, window_t *w)
{
    float *obs = a->obs + (size_t)e * a->obs_dim;
    dq_step_t st;
    int rc = a->envs[e].ops->step(a->envs[e].self, action, a->next_obs, &st);
    if (rc < 0) {
        DQ_ERROR("environment %d step failed: %s", e, dq_strerror(rc));
        return rc;
    }
    a->env_steps++;
    a->ep_steps[e]++;
    a->ep_return[e] += st.reward;
    int room = make_room(a); /* a failure ends the loop after this step is recorded */
    nstep_push(&a->nsteps[e], obs, action, recorded, (uint32_t)a->weights_version, st.reward,
               a->next_obs, st.terminated, st.truncated, &a->batch);
    if (st.terminated || st.truncated) {
        a->episodes++;
        w->ret_sum += a->ep_return[e];
        w->ret_n++;
        if (isfinite(st.final_metric)) {
            w->metric_sum += st.final_metric;
            w->metric_n++;
        }
        if (a->episodes_csv) DQ_METRICS_WRITE(a->episodes_csv, ACTOR_EPISODE_COLS);
        a->ep_return[e] = 0;
        a->ep_steps[e] = 0;
        dq_explore_reset(&a->xstate[e]);
        rc = a->envs[e].ops->reset(a->envs[e].self, obs);
        if (rc < 0) return rc;
    } else {
        memcpy(obs, a->next_obs, (size_t)a->obs_dim * sizeof(float));
    }
    if (room < 0) return room;
    if (a->batch.count >= (uint32_t)a->cfg->actor_batch) return flush_batch(a);
    return DQ_OK;
}

static void log_summary(const actor_t *a, const outbox_stats_t *os)
{
    DQ_INFO("actor %u: %" PRIu64 " env steps, %" PRIu64 " episodes, %" PRIu64
            " transitions sent, %" PRIu64 " acknowledged%s; %.1f env steps/s",
            a->id, a->env_steps, a->episodes, a->transitions, os->acked_items,
            os->unacked ? " (replay server stopped answering)" : "",
            (double)(a->env_steps - a->steps0) / (a->t_end - a->t0));
    DQ_INFO("actor %u: content hash %016" PRIx64 " over %" PRIu64 " transitions; %" PRIu64
            " INSERTs, %" PRIu64 " resent, %" PRIu64 " duplicate acks, %" PRIu64
            " disconnects, %" PRIu64 " reopens, %" PRIu64 " server timeouts, %" PRIu64
            " refused, %.2f s waiting for acks",
            a->id, a->content_hash, a->transitions, os->pushed_msgs, os->resent_msgs,
            os->duplicate_acks, os->disconnects, os->reopens, os->server_timeouts, os->refused,
            os->blocked_s);
}

/* Transitions assembled and not acknowledged: never handed over, still
 * outstanding, or refused by the server. */
static uint64_t lost_transitions(const actor_t *a, const outbox_stats_t *os)
{
    return a->outbox ? a->unsent + (os->pushed_items - os->acked_items) : 0;
}

/* The end of a run, however it ended: close unfinished n-step windows as
 * truncations (bootstrapping from the current observation), hand over what
 * is left and wait, up to actor.drain_timeout, for every acknowledgement.
 * DQ_ETIMEOUT (after an ERROR naming the count) when anything assembled was
 * not acknowledged. */
static int actor_drain(actor_t *a)
{
    const dq_config_t *cfg = a->cfg;
    if (a->outbox) outbox_start_drain(a->outbox);
    for (int e = 0; e < a->n_envs; e++) {
        make_room(a);
        nstep_truncate(&a->nsteps[e], a->obs + (size_t)e * a->obs_dim, &a->batch);
        if (a->batch.count >= (uint32_t)cfg->actor_batch) flush_batch(a);
    }
    flush_batch(a);
    outbox_stats_t os = {0};
    if (a->outbox) {
        outbox_drain(a->outbox);
        outbox_stats(a->outbox, &os);
    }
    uint64_t lost = lost_transitions(a, &os);
    log_summary(a, &os);
    if (lost == 0) return DQ_OK;
    DQ_ERROR("actor %u: %" PRIu64 " transition(s) not acknowledged by the replay server within "
             "actor.drain_timeout = %g s: %" PRIu64 " never handed over (the send window was "
             "full), %" PRIu64 " in %d unacknowledged INSERT(s), %" PRIu64 " refused",
             a->id, lost, cfg->actor_drain_timeout, a->unsent,
             os.pushed_items - os.acked_items - os.refused_items, os.unacked, os.refused_items);
    return DQ_ETIMEOUT;
}

int actor_run(actor_t *a)
{
    const dq_config_t *cfg = a->cfg;
    const uint64_t max_steps = (uint64_t)cfg->actor_max_steps;
    char desc[256];
    dq_explore_describe(&a->explore, desc, sizeof desc);
    a->t0 = dq_now();
    window_t w = {.t = a->t0, .steps = a->env_steps, .explored = a->explored_steps};
    double last_poll = 0;
    int rc = DQ_OK;
    DQ_INFO(
        "actor %u/%u: %d %s env(s), obs_dim %d, %d actions, exploration %s (now %.4g), replay %s%s",
        a->id, a->n_actors, a->n_envs, a->envs[0].ops->name, a->obs_dim, a->n_actions, desc,
        dq_explore_param(&a->explore, a->id, a->n_actors, 0), cfg->replay_endpoint,
        a->outbox ? "" : " (sending off)");
    if (a->outbox) DQ_INFO("actor %u: INSERT stream run %016" PRIx64, a->id, outbox_run(a->outbox));

    while (rc == DQ_OK && !dq_cli_stop_requested() &&
           (max_steps == 0 || a->env_steps < max_steps)) {
        /* Weights and replies are checked between rounds, at most every
         * POLL_EVERY_S: each check is a system call, and a round of cheap envs
         * takes microseconds (acks are also read at every INSERT). */
        double now = dq_now();
        if (now - last_poll >= POLL_EVERY_S) {
            poll_weights(a);
            if (a->outbox) rc = outbox_poll(a->outbox, 0);
            last_poll = now;
        }
        /* The schedule's clock is the job's env step, estimated as this
         * actor's steps times the actor count. */
        a->param_now =
            dq_explore_param(&a->explore, a->id, a->n_actors, a->env_steps * a->n_actors);
        dq_qnet_forward(&a->net, &a->ws, a->obs, a->n_envs, a->q);
        for (int e = 0; e < a->n_envs && rc == DQ_OK; e++) {
            if (max_steps && a->env_steps >= max_steps) break;
            const float *q = a->q + (size_t)e * a->n_actions;
            int explored;
            int action = dq_explore_act(&a->explore, &a->xstate[e], a->param_now, q, a->n_actions,
                                        &a->rng, &explored);
            a->explored_steps += (uint64_t)explored;
            float recorded = (float)dq_explore_recorded(&a->explore, a->param_now, q, a->n_actions);
            rc = step_env(a, e, action, recorded, &w);
        }
        if (a->env_steps - w.steps >= (uint64_t)cfg->actor_metrics_every) metrics_row(a, &w);
    }
    a->t_end = dq_now();
    int drain_rc = actor_drain(a);
    metrics_row(a, &w);
    return rc < 0 ? rc : drain_rc;
}

void actor_summary(const actor_t *a, actor_summary_t *s)
{
    outbox_stats_t os = {0};
    if (a->outbox) outbox_stats(a->outbox, &os);
    double end = a->t_end > 0 ? a->t_end : dq_now();
    *s = (actor_summary_t){.env_steps = a->env_steps,
                           .episodes = a->episodes,
                           .transitions = a->transitions,
                           .content_hash = a->content_hash,
                           .acked = os.acked_items,
                           .unacknowledged = lost_transitions(a, &os),
                           .steps_per_s = (double)(a->env_steps - a->steps0) / (end - a->t0)};
}
