/* actor_main.c - dqnlm-actor: steps environments with an epsilon-greedy
 * policy and streams n-step transitions to the replay server.
 *
 *   dqnlm-actor --config job.ini --id 3
 *
 * One process drives actor.envs environments round-robin; their Q-values come
 * from one batched forward pass of the local Q-network copy, which is replaced
 * by the newest WEIGHTS the learner publishes (checked between env steps).
 * Transitions go out in INSERT messages of actor.batch items over a DEALER
 * socket; at most actor.max_unacked INSERTs are unacknowledged at a time, so a
 * slow replay server slows the actor down instead of growing a queue.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "blasenv.h"
#include "cli.h"
#include "config.h"
#include "envs.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "nstep.h"
#include "qnet.h"
#include "rng.h"
#include "wire.h"

typedef struct {
    const dq_config_t *cfg;
    uint32_t id;
    int n_envs, obs_dim, n_actions;
    dq_env_t *envs;
    nstep_t *nsteps;
    float *obs;           /* (n_envs, obs_dim) current observations */
    float *next_obs;      /* (obs_dim) */
    float *q;             /* (n_envs, n_actions) */
    double *ep_return;    /* (n_envs) */
    dq_qnet_t net;
    dq_qnet_ws_t ws;
    uint64_t weights_version, learner_version;
    dq_rng_t rng;

    void *zctx, *replay, *weights;
    dq_buf_t buf;
    dq_batch_t batch;     /* transitions waiting to be sent; capacity actor.batch + n_step */
    uint64_t seq;         /* next INSERT sequence number */
    int unacked;
    uint64_t acked_items, sent_items;

    uint64_t env_steps, episodes;
    dq_metrics_t *metrics;
} actor_t;

static int build_qnet(actor_t *a, char *why, size_t whylen)
{
    int sizes[DQ_QNET_MAX_LAYERS + 1], n_layers;
    if (dq_qnet_sizes(a->cfg->dqn_hidden, a->obs_dim, a->n_actions, sizes, &n_layers) < 0) {
        snprintf(why, whylen, "dqn.hidden = '%.64s' is not a list of positive widths", a->cfg->dqn_hidden);
        return DQ_ECONFIG;
    }
    int rc = dq_qnet_init(&a->net, sizes, n_layers, &a->rng);
    if (rc == DQ_OK) rc = dq_qnet_ws_init(&a->ws, &a->net, a->n_envs);
    if (rc < 0) snprintf(why, whylen, "Q-network: %s", dq_strerror(rc));
    return rc;
}

static int open_sockets(actor_t *a, char *why, size_t whylen)
{
    size_t max_bytes = (size_t)a->cfg->run_max_message_bytes;
    a->zctx = zmq_ctx_new();
    a->replay = a->zctx ? zmq_socket(a->zctx, ZMQ_DEALER) : NULL;
    a->weights = a->zctx ? zmq_socket(a->zctx, ZMQ_SUB) : NULL;
    if (!a->replay || !a->weights) goto fail;
    int one = 1;
    if (dq_net_configure(a->replay, max_bytes) < 0 || dq_net_configure(a->weights, max_bytes) < 0 ||
        zmq_setsockopt(a->weights, ZMQ_CONFLATE, &one, sizeof one) != 0 ||
        zmq_setsockopt(a->weights, ZMQ_SUBSCRIBE, "", 0) != 0)
        goto fail;
    if (zmq_connect(a->replay, a->cfg->replay_endpoint) != 0) {
        snprintf(why, whylen, "cannot connect to replay.endpoint=%s: %s", a->cfg->replay_endpoint,
                 zmq_strerror(zmq_errno()));
        return DQ_ENET;
    }
    if (zmq_connect(a->weights, a->cfg->learner_weights_endpoint) != 0) {
        snprintf(why, whylen, "cannot connect to learner.weights_endpoint=%s: %s",
                 a->cfg->learner_weights_endpoint, zmq_strerror(zmq_errno()));
        return DQ_ENET;
    }
    return DQ_OK;
fail:
    snprintf(why, whylen, "cannot set up ZeroMQ sockets: %s", zmq_strerror(zmq_errno()));
    return DQ_ENET;
}

static int actor_open(actor_t *a, const dq_config_t *cfg, char *why, size_t whylen)
{
    memset(a, 0, sizeof *a);
    a->cfg = cfg;
    a->id = (uint32_t)cfg->actor_id;
    a->n_envs = (int)cfg->actor_envs;
    dq_rng_seed(&a->rng, dq_rng_mix((uint64_t)cfg->run_seed, 1 + a->id, 0));
    a->envs = calloc((size_t)a->n_envs, sizeof *a->envs);
    a->nsteps = calloc((size_t)a->n_envs, sizeof *a->nsteps);
    a->ep_return = calloc((size_t)a->n_envs, sizeof *a->ep_return);
    if (!a->envs || !a->nsteps || !a->ep_return) return DQ_ENOMEM;
    for (int e = 0; e < a->n_envs; e++) {
        uint64_t seed = dq_rng_mix((uint64_t)cfg->run_seed, 1 + a->id, 1 + (uint64_t)e);
        int rc = actor_env_open(&a->envs[e], cfg, "train", seed, why, whylen);
        if (rc < 0) return rc;
    }
    a->obs_dim = a->envs[0].obs_dim;
    a->n_actions = a->envs[0].n_actions;
    a->obs = calloc((size_t)a->n_envs * a->obs_dim, sizeof(float));
    a->next_obs = calloc((size_t)a->obs_dim, sizeof(float));
    a->q = calloc((size_t)a->n_envs * a->n_actions, sizeof(float));
    if (!a->obs || !a->next_obs || !a->q) return DQ_ENOMEM;
    for (int e = 0; e < a->n_envs; e++) {
        int rc = nstep_init(&a->nsteps[e], (int)cfg->dqn_n_step, (float)cfg->dqn_gamma,
                            (uint32_t)a->obs_dim);
        if (rc == DQ_OK) rc = a->envs[e].ops->reset(a->envs[e].self, a->obs + (size_t)e * a->obs_dim);
        if (rc < 0) {
            snprintf(why, whylen, "environment %d: %s", e, dq_strerror(rc));
            return rc;
        }
    }
    int cap = (int)cfg->actor_batch + (int)cfg->dqn_n_step;
    if (dq_batch_alloc(&a->batch, (uint32_t)cap, (uint32_t)a->obs_dim, 0) < 0) return DQ_ENOMEM;
    a->batch.count = 0;
    int rc = build_qnet(a, why, whylen);
    if (rc < 0) return rc;
    rc = open_sockets(a, why, whylen);
    if (rc < 0) return rc;

    char path[DQ_CONFIG_STR_MAX + 64];
    dq_mkdir_p(cfg->run_dir);
    snprintf(path, sizeof path, "%s/actor-%u.csv", cfg->run_dir, a->id);
    a->metrics = dq_metrics_open(path, "time_s,env_steps,episodes,return_mean,final_metric_mean,"
                                       "steps_per_s,epsilon,weights_version,policy_lag,unacked");
    if (!a->metrics) DQ_WARN("cannot write metrics to %s", path);
    return DQ_OK;
}

static void actor_close(actor_t *a)
{
    for (int e = 0; a->envs && e < a->n_envs; e++) dq_env_close(&a->envs[e]);
    for (int e = 0; a->nsteps && e < a->n_envs; e++) nstep_free(&a->nsteps[e]);
    free(a->envs);
    free(a->nsteps);
    free(a->ep_return);
    free(a->obs);
    free(a->next_obs);
    free(a->q);
    dq_qnet_ws_free(&a->ws);
    dq_qnet_free(&a->net);
    dq_batch_free(&a->batch);
    dq_buf_free(&a->buf);
    dq_metrics_close(&a->metrics);
    if (a->replay) zmq_close(a->replay);
    if (a->weights) zmq_close(a->weights);
    if (a->zctx) zmq_ctx_term(a->zctx);
}

/* Takes the newest published weights, if any arrived. */
static void poll_weights(actor_t *a)
{
    dq_msg_t m;
    char why[256];
    int rc = dq_net_recv(a->weights, &m, (size_t)a->cfg->run_max_message_bytes, ZMQ_DONTWAIT,
                         why, sizeof why);
    if (rc == DQ_ETIMEOUT || rc == DQ_EINTERRUPTED) return;
    if (rc < 0) {
        DQ_WARN("ignored a bad weights message: %s: %s", dq_errname(rc), why);
        return;
    }
    if (m.type != DQ_MSG_WEIGHTS) {
        DQ_WARN("ignored a '%s' message on the weights socket", dq_msg_type_name(m.type));
    } else if (m.u.weights.version > a->weights_version) {
        rc = dq_qnet_from_weights(&a->net, &m.u.weights);
        if (rc < 0)
            DQ_WARN("weights version %" PRIu64 " do not fit this Q-network (%s); kept version %" PRIu64,
                    m.u.weights.version, dq_strerror(rc), a->weights_version);
        else {
            if (a->weights_version == 0) DQ_INFO("first weights received: version %" PRIu64, m.u.weights.version);
            a->weights_version = m.u.weights.version;
        }
    }
    if (m.type == DQ_MSG_WEIGHTS && m.u.weights.version > a->learner_version)
        a->learner_version = m.u.weights.version;
    dq_msg_clear(&m);
}

/* Reads acknowledgements; waits up to timeout_ms for the first one. */
static int read_acks(actor_t *a, int timeout_ms)
{
    zmq_pollitem_t item = {a->replay, 0, ZMQ_POLLIN, 0};
    int got = 0;
    while (zmq_poll(&item, 1, got ? 0 : timeout_ms) > 0) {
        dq_msg_t m;
        char why[256];
        int rc = dq_net_recv(a->replay, &m, (size_t)a->cfg->run_max_message_bytes, ZMQ_DONTWAIT,
                             why, sizeof why);
        if (rc == DQ_ETIMEOUT) break;
        if (rc < 0) {
            DQ_WARN("bad reply from the replay server: %s: %s", dq_errname(rc), why);
            continue;
        }
        if (m.type == DQ_MSG_ACK) {
            a->acked_items += m.u.ack.count;
            a->unacked--;
            got++;
        } else if (m.type == DQ_MSG_ERROR) {
            DQ_ERROR("replay server refused INSERT %" PRIu64 ": %s: %s", m.u.error.id,
                     m.u.error.name, m.u.error.message);
            a->unacked--;
            got++;
        }
        dq_msg_clear(&m);
    }
    return got;
}

static int flush_batch(actor_t *a)
{
    if (a->batch.count == 0) return DQ_OK;
    while (a->unacked >= (int)a->cfg->actor_max_unacked && !dq_cli_stop_requested())
        read_acks(a, 200);
    dq_msg_t m = {.type = DQ_MSG_INSERT};
    m.u.insert.actor = a->id;
    m.u.insert.seq = a->seq;
    m.u.insert.batch = a->batch;
    int rc = dq_net_send(a->replay, &m, &a->buf, 0);
    if (rc < 0) {
        DQ_ERROR("cannot send INSERT %" PRIu64 ": %s", a->seq, dq_strerror(rc));
        return rc;
    }
    a->seq++;
    a->unacked++;
    a->sent_items += a->batch.count;
    a->batch.count = 0;
    return DQ_OK;
}

static int actor_run(actor_t *a)
{
    const dq_config_t *cfg = a->cfg;
    const float eps = (float)cfg->actor_epsilon;
    const uint64_t max_steps = (uint64_t)cfg->actor_max_steps;
    double t0 = dq_now(), last_t = t0;
    uint64_t last_steps = 0;
    double ret_sum = 0, metric_sum = 0;
    uint64_t ret_n = 0, metric_n = 0;
    DQ_INFO("actor %u: %d %s env(s), obs_dim %d, %d actions, epsilon %.3f, replay %s",
            a->id, a->n_envs, a->envs[0].ops->name, a->obs_dim, a->n_actions, eps,
            cfg->replay_endpoint);

    while (!dq_cli_stop_requested() && (max_steps == 0 || a->env_steps < max_steps)) {
        poll_weights(a);
        dq_qnet_forward(&a->net, &a->ws, a->obs, a->n_envs, a->q);
        for (int e = 0; e < a->n_envs; e++) {
            float *obs = a->obs + (size_t)e * a->obs_dim;
            const float *q = a->q + (size_t)e * a->n_actions;
            int action;
            if (dq_rng_uniform(&a->rng) < eps) {
                action = (int)dq_rng_below(&a->rng, (uint64_t)a->n_actions);
            } else {
                action = 0;
                for (int k = 1; k < a->n_actions; k++)
                    if (q[k] > q[action]) action = k;
            }
            dq_step_t st;
            int rc = a->envs[e].ops->step(a->envs[e].self, action, a->next_obs, &st);
            if (rc < 0) {
                DQ_ERROR("environment %d step failed: %s", e, dq_strerror(rc));
                return rc;
            }
            a->env_steps++;
            a->ep_return[e] += st.reward;
            nstep_push(&a->nsteps[e], obs, action, eps, (uint32_t)a->weights_version, st.reward,
                       a->next_obs, st.terminated, st.truncated, &a->batch);
            if (st.terminated || st.truncated) {
                a->episodes++;
                ret_sum += a->ep_return[e];
                ret_n++;
                if (isfinite(st.final_metric)) {
                    metric_sum += st.final_metric;
                    metric_n++;
                }
                a->ep_return[e] = 0;
                rc = a->envs[e].ops->reset(a->envs[e].self, obs);
                if (rc < 0) return rc;
            } else {
                memcpy(obs, a->next_obs, (size_t)a->obs_dim * sizeof(float));
            }
            if (a->batch.count >= (uint32_t)cfg->actor_batch) {
                rc = flush_batch(a);
                if (rc < 0) return rc;
            }
        }
        read_acks(a, 0);
        if (a->env_steps - last_steps >= (uint64_t)cfg->actor_metrics_every) {
            double now = dq_now();
            double rate = (double)(a->env_steps - last_steps) / (now - last_t);
            dq_metrics_row(a->metrics, "%.3f,%" PRIu64 ",%" PRIu64 ",%.6g,%.6g,%.1f,%.4f,%" PRIu64
                                       ",%" PRIu64 ",%d",
                           now - t0, a->env_steps, a->episodes,
                           ret_n ? ret_sum / (double)ret_n : NAN,
                           metric_n ? metric_sum / (double)metric_n : NAN, rate, eps,
                           a->weights_version, a->learner_version - a->weights_version, a->unacked);
            last_t = now;
            last_steps = a->env_steps;
            ret_sum = metric_sum = 0;
            ret_n = metric_n = 0;
        }
    }
    /* Send what is left and wait (bounded) for every acknowledgement. */
    int rc = flush_batch(a);
    double deadline = dq_now() + 10.0;
    while (rc == DQ_OK && a->unacked > 0 && dq_now() < deadline) read_acks(a, 100);
    DQ_INFO("actor %u: %" PRIu64 " env steps, %" PRIu64 " episodes, %" PRIu64 " transitions sent, %" PRIu64
            " acknowledged%s",
            a->id, a->env_steps, a->episodes, a->sent_items, a->acked_items,
            a->unacked ? " (replay server stopped answering)" : "");
    return rc;
}

int main(int argc, char **argv)
{
    dq_blas_select_kernel(argc, argv);
    static const dq_cli_alias_t aliases[] = {
        {"--id", "actor.id", "index of this actor"},
        {"--max-steps", "actor.max_steps", "env steps before exiting"},
        {NULL, NULL, NULL},
    };
    dq_cli_spec_t spec = {"dqnlm-actor",
                          "Actor: steps environments with an epsilon-greedy Q-network policy and "
                          "streams transitions to the replay server.",
                          aliases};
    dq_config_t cfg;
    int rc = dq_cli_parse(&spec, argc, argv, &cfg);
    if (rc != 0) return rc > 0 ? 0 : 2;
    dq_cli_install_stop_handlers();
    dq_blas_single_thread();
    dq_blas_log_kernel();

    actor_t a;
    char why[512] = "";
    rc = actor_open(&a, &cfg, why, sizeof why);
    if (rc < 0) {
        DQ_ERROR("%s", why[0] ? why : dq_strerror(rc));
        actor_close(&a);
        return 1;
    }
    rc = actor_run(&a);
    actor_close(&a);
    return rc < 0 ? 1 : 0;
}
