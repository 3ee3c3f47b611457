/* learner_main.c - dqnlm-learner: the MPI learner group.
 *
 *   mpirun -np 2 dqnlm-learner --config job.ini
 *
 * Every rank holds an identical replica of the online and target Q-networks.
 * Per update, rank r takes its share of learner.batch from the replay server
 * (keeping learner.inflight SAMPLE requests outstanding so the round trip
 * overlaps compute), computes the double-DQN n-step Huber gradient of its
 * share with importance weights, and MPI_Allreduce sums the gradients (each
 * already divided by the whole batch size, so the sum is the batch mean).
 * Every rank applies the same clipped Adam step, so the replicas stay
 * identical. Each rank sends the new priorities (|TD| + eps) of its items.
 * Rank 0 publishes the online weights every learner.publish_every updates,
 * updates the target network (copy every learner.target_sync updates, or
 * Polyak averaging), writes metrics, checkpoints (RUN_DIR/learner.ckpt) and,
 * at the end, the Q-network (RUN_DIR/qnet.bin).
 *
 * learner.deterministic: rank 0 alone samples each whole batch, only when it
 * is needed, scatters the shares with MPI_Scatterv and sends the priorities;
 * with a fixed replay content the run then does not depend on timing or on
 * the number of ranks, and a resumed run continues exactly.
 *
 * A stop signal reaches ranks at different moments; the per-update allreduce
 * carries a stop flag so every rank leaves after the same update.
 */
#include <inttypes.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "blasenv.h"
#include "checkpoint.h"
#include "cli.h"
#include "config.h"
#include "curve.h"
#include "dqn.h"
#include "dims.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "qnet.h"
#include "wire.h"

/* Exit-on-error wrapper for MPI calls; only used in this main file. */
#define MPI_CHECK(call)                                                            \
    do {                                                                           \
        int mpi_rc_ = (call);                                                      \
        if (mpi_rc_ != MPI_SUCCESS) {                                              \
            char mpi_msg_[MPI_MAX_ERROR_STRING];                                   \
            int mpi_len_ = 0;                                                      \
            MPI_Error_string(mpi_rc_, mpi_msg_, &mpi_len_);                        \
            DQ_ERROR("%s:%d: %s failed: %s", __FILE__, __LINE__, #call, mpi_msg_); \
            MPI_Abort(MPI_COMM_WORLD, 1);                                          \
        }                                                                          \
    } while (0)

#define MAX_INFLIGHT 64

/* Fields of the per-update allreduce besides the gradients. */
enum { ST_LOSS, ST_Q, ST_ABS_TD, ST_MAX_TD, ST_COUNT, ST_STOP, ST_INVALID, ST_N };

typedef struct {
    const dq_config_t *cfg;
    int rank, size;
    int share;            /* transitions this rank trains on per update */
    int *shares, *displs; /* deterministic mode: per-rank counts and offsets (items) */
    dq_qnet_t online, target;
    dqn_work_t work;
    dq_adam_t adam;
    learner_progress_t prog;
    void *zctx, *replay, *pub;
    dq_buf_t buf;
    uint64_t next_id;                  /* id of the next request */
    uint64_t sample_ids[MAX_INFLIGHT]; /* outstanding SAMPLE ids */
    int inflight;
    dq_msg_t items;  /* the current batch as received (rank 0 in deterministic mode) */
    dq_batch_t mine; /* deterministic mode: this rank's share after the scatter */
    float *weights;  /* (batch) importance weights of this rank's items */
    float *td;       /* (batch) TD errors of this rank's items */
    float *pack;     /* deterministic mode: scatter buffers */
    float *unpack;
    double replay_size, replay_inserts; /* from the last STATS reply (rank 0) */
    double t_wait, t_compute, t_allreduce;
    dq_metrics_t *metrics;
    char ckpt_path[DQ_CONFIG_STR_MAX + 32];
} learner_t;

static int deterministic(const learner_t *L) { return L->cfg->learner_deterministic; }

static int build(learner_t *L, char *why, size_t whylen)
{
    const dq_config_t *cfg = L->cfg;
    int obs_dim, n_actions;
    int rc = dq_env_dims(cfg, &obs_dim, &n_actions, why, whylen);
    if (rc < 0) return rc;
    /* Same seed on every rank: identical replicas from the start. */
    dq_rng_t rng;
    dq_rng_seed(&rng, dq_rng_mix((uint64_t)cfg->run_seed, 0x1ea7, 0));
    rc = dq_qnet_build(&L->online, cfg->dqn_hidden, cfg->dqn_dueling, obs_dim, n_actions, &rng, why,
                       whylen);
    if (rc == DQ_OK)
        rc = dq_qnet_build(&L->target, cfg->dqn_hidden, cfg->dqn_dueling, obs_dim, n_actions, &rng,
                           why, whylen);
    if (rc < 0) return rc;
    rc = dq_qnet_copy_params(&L->target, &L->online);
    int B = (int)cfg->learner_batch;
    if (rc == DQ_OK) rc = dqn_work_init(&L->work, &L->online, L->share);
    L->weights = malloc((size_t)B * sizeof(float));
    L->td = malloc((size_t)B * sizeof(float));
    if (rc == DQ_OK && (!L->weights || !L->td)) rc = DQ_ENOMEM;
    if (rc == DQ_OK && deterministic(L)) {
        int rec = 2 * obs_dim + 4;
        L->shares = calloc((size_t)L->size, sizeof(int));
        L->displs = calloc((size_t)L->size, sizeof(int));
        L->pack = malloc((size_t)B * rec * sizeof(float));
        L->unpack = malloc((size_t)L->share * rec * sizeof(float));
        if (!L->shares || !L->displs || !L->pack || !L->unpack ||
            dq_batch_alloc(&L->mine, (uint32_t)L->share, (uint32_t)obs_dim, 0) < 0)
            rc = DQ_ENOMEM;
        for (int r = 0, off = 0; rc == DQ_OK && r < L->size; r++) {
            L->shares[r] = (B / L->size + (r < B % L->size)) * rec;
            L->displs[r] = off;
            off += L->shares[r];
        }
    }
    if (rc < 0) snprintf(why, whylen, "learner buffers: %s", dq_strerror(rc));
    return rc;
}

static int open_sockets(learner_t *L, char *why, size_t whylen)
{
    const dq_config_t *cfg = L->cfg;
    size_t max_bytes = (size_t)cfg->run_max_message_bytes;
    L->zctx = zmq_ctx_new();
    if (!deterministic(L) || L->rank == 0) {
        L->replay = L->zctx ? zmq_socket(L->zctx, ZMQ_DEALER) : NULL;
        if (L->replay && curve_client_setup(L->replay, cfg, why, whylen) < 0) return DQ_ECONFIG;
        if (!L->replay || dq_net_configure(L->replay, max_bytes) < 0 ||
            zmq_connect(L->replay, cfg->replay_endpoint) != 0) {
            snprintf(why, whylen, "cannot connect to replay.endpoint=%.200s: %s",
                     cfg->replay_endpoint, zmq_strerror(zmq_errno()));
            return DQ_ENET;
        }
    }
    if (L->rank != 0) return DQ_OK;
    L->pub = zmq_socket(L->zctx, ZMQ_PUB);
    char record[DQ_CONFIG_STR_MAX + 32], bound[256];
    snprintf(record, sizeof record, "%s/weights.endpoint", cfg->run_dir);
    if (!L->pub || dq_net_configure(L->pub, max_bytes) < 0 ||
        dq_net_bind(L->pub, cfg->learner_weights_endpoint, record, bound, sizeof bound) < 0) {
        snprintf(why, whylen, "cannot bind learner.weights_endpoint=%.200s: %s",
                 cfg->learner_weights_endpoint, zmq_strerror(zmq_errno()));
        return DQ_ENET;
    }
    DQ_INFO("publishing weights on %s", bound);
    return DQ_OK;
}

static void learner_close(learner_t *L)
{
    dqn_work_free(&L->work);
    dq_qnet_free(&L->online);
    dq_qnet_free(&L->target);
    dq_buf_free(&L->buf);
    dq_msg_clear(&L->items);
    dq_batch_free(&L->mine);
    free(L->weights);
    free(L->td);
    free(L->pack);
    free(L->unpack);
    free(L->shares);
    free(L->displs);
    dq_metrics_close(&L->metrics);
    if (L->replay) zmq_close(L->replay);
    if (L->pub) zmq_close(L->pub);
    if (L->zctx) zmq_ctx_term(L->zctx);
}

static int send_request(learner_t *L, dq_msg_type_t type, uint32_t n)
{
    dq_msg_t m = {.type = type};
    uint64_t id = L->next_id++;
    if (type == DQ_MSG_SAMPLE) {
        snprintf(m.u.sample.table, sizeof m.u.sample.table, "main");
        m.u.sample.n = n;
        m.u.sample.id = id;
        L->sample_ids[L->inflight++] = id;
    } else {
        m.u.stats.id = id;
    }
    return dq_net_send(L->replay, &m, &L->buf, 0);
}

/* Forgets an outstanding SAMPLE id; returns 1 if it was one. */
static int retire_sample(learner_t *L, uint64_t id)
{
    for (int i = 0; i < L->inflight; i++)
        if (L->sample_ids[i] == id) {
            L->sample_ids[i] = L->sample_ids[--L->inflight];
            return 1;
        }
    return 0;
}

static void note_stats(learner_t *L, const dq_stats_reply_t *r)
{
    for (uint32_t i = 0; i < r->count; i++) {
        if (!strcmp(r->stats[i].name, "size")) L->replay_size = r->stats[i].value;
        if (!strcmp(r->stats[i].name, "inserts")) L->replay_inserts = r->stats[i].value;
    }
}

/* Waits for the next ITEMS reply (handling other replies on the way) into
 * L->items, keeping `want` requests of n items outstanding. Returns DQ_OK or
 * DQ_EINTERRUPTED on a stop request. */
static int next_items(learner_t *L, int want, uint32_t n)
{
    double t0 = dq_now(), warned = t0;
    dq_msg_clear(&L->items);
    while (L->inflight < want) send_request(L, DQ_MSG_SAMPLE, n);
    for (;;) {
        if (dq_cli_stop_requested()) return DQ_EINTERRUPTED;
        zmq_pollitem_t item = {L->replay, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 200) <= 0) {
            if (dq_now() - warned > 30.0) {
                DQ_WARN("rank %d: no reply from the replay server at %s for %.0f s", L->rank,
                        L->cfg->replay_endpoint, dq_now() - t0);
                warned = dq_now();
            }
            continue;
        }
        char why[256];
        dq_msg_t *m = &L->items;
        int rc = dq_net_recv(L->replay, m, (size_t)L->cfg->run_max_message_bytes, ZMQ_DONTWAIT, why,
                             sizeof why);
        if (rc == DQ_ETIMEOUT || rc == DQ_EINTERRUPTED) continue;
        if (rc < 0) {
            DQ_WARN("rank %d: bad reply from the replay server: %s: %s", L->rank, dq_errname(rc),
                    why);
            continue;
        }
        if (m->type == DQ_MSG_ITEMS && retire_sample(L, m->u.items.id)) {
            if (m->u.items.batch.count == n) {
                L->t_wait += dq_now() - t0;
                return DQ_OK;
            }
            DQ_WARN("rank %d: replay server sent %u items, asked for %u", L->rank,
                    m->u.items.batch.count, n);
        } else if (m->type == DQ_MSG_STATS_REPLY) {
            note_stats(L, &m->u.stats_reply);
        } else if (m->type == DQ_MSG_ERROR) {
            int was_sample = retire_sample(L, m->u.error.id);
            DQ_WARN("rank %d: replay server refused %s %" PRIu64 ": %s: %s", L->rank,
                    was_sample ? "SAMPLE" : "request", m->u.error.id, m->u.error.name,
                    m->u.error.message);
            if (was_sample) usleep(100000); /* e.g. a restarted, empty server */
        }
        dq_msg_clear(m);
        while (L->inflight < want) send_request(L, DQ_MSG_SAMPLE, n);
    }
}

/* Importance weights w_i = (size * prob_i)^-beta, normalised by the largest
 * weight of the whole batch across ranks. Outside deterministic mode every
 * rank must call it every update (it is collective), with count 0 when it has
 * no batch. */
static void importance_weights(learner_t *L, const dq_items_t *it, uint32_t count, float *w)
{
    double beta = L->cfg->learner_per_beta, local_max = 0, global_max = 0;
    for (uint32_t i = 0; i < count; i++) {
        w[i] = beta > 0 ? (float)pow((double)it->size * it->prob[i], -beta) : 1.0f;
        if (w[i] > local_max) local_max = w[i];
    }
    if (beta <= 0) return;
    if (deterministic(L))
        global_max = local_max; /* rank 0 holds the whole batch */
    else
        MPI_CHECK(MPI_Allreduce(&local_max, &global_max, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD));
    for (uint32_t i = 0; i < count; i++) w[i] = (float)(w[i] / global_max);
}

static void send_priorities(learner_t *L, const uint64_t *keys, const float *td, uint32_t n)
{
    dq_msg_t m = {.type = DQ_MSG_UPDATE_PRIORITIES};
    dq_update_priorities_t *u = &m.u.update_priorities;
    snprintf(u->table, sizeof u->table, "main");
    float *prio = malloc((size_t)n * sizeof *prio);
    if (!prio) return;
    for (uint32_t i = 0; i < n; i++) prio[i] = fabsf(td[i]) + (float)L->cfg->learner_priority_eps;
    u->count = n;
    u->keys = (uint64_t *)keys;
    u->priority = prio;
    int rc = dq_net_send(L->replay, &m, &L->buf, 0);
    if (rc < 0) DQ_WARN("rank %d: cannot send priorities: %s", L->rank, dq_strerror(rc));
    free(prio);
}

/* Deterministic mode: rank 0's whole batch is cut into per-rank records
 * (obs, next_obs, reward, discount, weight, action) and scattered. */
static void scatter_batch(learner_t *L, int have)
{
    const int D = L->online.sizes[0], rec = 2 * D + 4;
    if (L->rank == 0 && have) {
        const dq_batch_t *b = &L->items.u.items.batch;
        importance_weights(L, &L->items.u.items, b->count, L->weights);
        for (uint32_t i = 0; i < b->count; i++) {
            float *r = L->pack + (size_t)i * rec;
            memcpy(r, b->obs + (size_t)i * D, (size_t)D * sizeof(float));
            memcpy(r + D, b->next_obs + (size_t)i * D, (size_t)D * sizeof(float));
            r[2 * D] = b->reward[i];
            r[2 * D + 1] = b->discount[i];
            r[2 * D + 2] = L->weights[i];
            r[2 * D + 3] = (float)b->action[i]; /* small integers are exact in float */
        }
    }
    MPI_CHECK(MPI_Scatterv(L->pack, L->shares, L->displs, MPI_FLOAT, L->unpack, L->share * rec,
                           MPI_FLOAT, 0, MPI_COMM_WORLD));
    dq_batch_t *m = &L->mine;
    m->count = (uint32_t)L->share;
    for (int i = 0; i < L->share; i++) {
        const float *r = L->unpack + (size_t)i * rec;
        memcpy(m->obs + (size_t)i * D, r, (size_t)D * sizeof(float));
        memcpy(m->next_obs + (size_t)i * D, r + D, (size_t)D * sizeof(float));
        m->reward[i] = r[2 * D];
        m->discount[i] = r[2 * D + 1];
        L->weights[i] = r[2 * D + 2];
        m->action[i] = (int32_t)r[2 * D + 3];
    }
}

/* Rank 0 waits until the replay server holds learner.min_replay items; the
 * result (go or stop) is broadcast to every rank. */
static int wait_for_replay(learner_t *L)
{
    int go = 1;
    if (L->rank == 0) {
        double last_log = 0;
        while (L->replay_size < (double)L->cfg->learner_min_replay) {
            if (dq_cli_stop_requested()) {
                go = 0;
                break;
            }
            send_request(L, DQ_MSG_STATS, 0);
            zmq_pollitem_t item = {L->replay, 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&item, 1, 1000) > 0) {
                dq_msg_t m;
                char why[256];
                if (dq_net_recv(L->replay, &m, (size_t)L->cfg->run_max_message_bytes, ZMQ_DONTWAIT,
                                why, sizeof why) == DQ_OK) {
                    if (m.type == DQ_MSG_STATS_REPLY) note_stats(L, &m.u.stats_reply);
                    dq_msg_clear(&m);
                }
            }
            if (L->replay_size >= (double)L->cfg->learner_min_replay) break;
            if (dq_now() - last_log > 5.0) {
                DQ_INFO("waiting for the replay server to hold %ld transitions (has %.0f)",
                        L->cfg->learner_min_replay, L->replay_size);
                last_log = dq_now();
            }
            usleep(200000);
        }
    }
    MPI_CHECK(MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD));
    return go ? DQ_OK : DQ_EINTERRUPTED;
}

static void publish(learner_t *L)
{
    if (L->rank != 0) return;
    dq_msg_t m = {.type = DQ_MSG_WEIGHTS};
    L->prog.version++;
    dq_qnet_to_weights(&L->online, L->prog.version, L->prog.updates, &m.u.weights);
    int rc = dq_net_send(L->pub, &m, &L->buf, ZMQ_DONTWAIT);
    if (rc < 0 && rc != DQ_ETIMEOUT) DQ_WARN("cannot publish weights: %s", dq_strerror(rc));
}

static void update_target(learner_t *L)
{
    double tau = L->cfg->learner_target_tau;
    if (tau > 0) {
        float *t = L->target.params;
        const float *o = L->online.params;
        for (size_t i = 0; i < L->online.n_params; i++) t[i] += (float)tau * (o[i] - t[i]);
    } else if (L->prog.updates % (uint64_t)L->cfg->learner_target_sync == 0) {
        dq_qnet_copy_params(&L->target, &L->online);
    }
}

static void save_checkpoint(learner_t *L)
{
    if (L->rank != 0) return;
    int rc = learner_ckpt_save(L->ckpt_path, &L->online, &L->target, &L->prog);
    if (rc < 0)
        DQ_ERROR("cannot write checkpoint %s: %s", L->ckpt_path, dq_strerror(rc));
    else
        DQ_INFO("checkpoint after %" PRIu64 " updates: %s", L->prog.updates, L->ckpt_path);
}

/* learner.resume: rank 0 reads the checkpoint and broadcasts it. */
static int resume(learner_t *L)
{
    int status = 0; /* 0 fresh start, 1 resumed, -1 refused */
    if (L->rank == 0 && access(L->ckpt_path, F_OK) == 0) {
        char why[512];
        if (learner_ckpt_load(L->ckpt_path, &L->online, &L->target, &L->prog, why, sizeof why) <
            0) {
            DQ_ERROR("cannot resume: %s", why);
            status = -1;
        } else {
            DQ_INFO("resumed from %s at update %" PRIu64 ", weights version %" PRIu64, L->ckpt_path,
                    L->prog.updates, L->prog.version);
            status = 1;
        }
    } else if (L->rank == 0) {
        DQ_INFO("learner.resume: no checkpoint at %s, starting fresh", L->ckpt_path);
    }
    MPI_CHECK(MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (status <= 0) return status < 0 ? DQ_EFORMAT : DQ_OK;
    int n = (int)L->online.n_params;
    MPI_CHECK(MPI_Bcast(L->online.params, n, MPI_FLOAT, 0, MPI_COMM_WORLD));
    MPI_CHECK(MPI_Bcast(L->target.params, n, MPI_FLOAT, 0, MPI_COMM_WORLD));
    MPI_CHECK(MPI_Bcast(L->online.m, n, MPI_FLOAT, 0, MPI_COMM_WORLD));
    MPI_CHECK(MPI_Bcast(L->online.v, n, MPI_FLOAT, 0, MPI_COMM_WORLD));
    MPI_CHECK(MPI_Bcast(&L->prog, (int)sizeof L->prog, MPI_BYTE, 0, MPI_COMM_WORLD));
    return DQ_OK;
}

/* One update's data: this rank's batch and weights. Returns NULL on stop. */
static const dq_batch_t *fetch(learner_t *L)
{
    if (!deterministic(L)) {
        int have = next_items(L, (int)L->cfg->learner_inflight, (uint32_t)L->share) == DQ_OK;
        importance_weights(L, &L->items.u.items, have ? L->items.u.items.batch.count : 0,
                           L->weights);
        return have ? &L->items.u.items.batch : NULL;
    }
    int have = 1;
    if (L->rank == 0) have = next_items(L, 1, (uint32_t)L->cfg->learner_batch) == DQ_OK;
    MPI_CHECK(MPI_Bcast(&have, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (!have) return NULL;
    scatter_batch(L, have);
    return &L->mine;
}

/* Sends the new priorities of this update's items. */
static void report_priorities(learner_t *L)
{
    if (!deterministic(L)) {
        send_priorities(L, L->items.u.items.keys, L->td, L->items.u.items.batch.count);
        return;
    }
    const int B = (int)L->cfg->learner_batch, rec = 2 * L->online.sizes[0] + 4;
    int *counts = malloc((size_t)L->size * sizeof(int)),
        *displs = malloc((size_t)L->size * sizeof(int));
    float *all = L->rank == 0 ? malloc((size_t)B * sizeof(float)) : NULL;
    if (!counts || !displs || (L->rank == 0 && !all)) MPI_Abort(MPI_COMM_WORLD, 1);
    for (int r = 0; r < L->size; r++) {
        counts[r] = L->shares[r] / rec;
        displs[r] = L->displs[r] / rec;
    }
    MPI_CHECK(
        MPI_Gatherv(L->td, L->share, MPI_FLOAT, all, counts, displs, MPI_FLOAT, 0, MPI_COMM_WORLD));
    if (L->rank == 0) send_priorities(L, L->items.u.items.keys, all, (uint32_t)B);
    free(all);
    free(counts);
    free(displs);
}

static int learner_run(learner_t *L)
{
    const dq_config_t *cfg = L->cfg;
    const uint64_t max_updates = (uint64_t)cfg->learner_updates;
    const float norm = (float)cfg->learner_batch;
    double t_start = dq_now(), t_row = t_start;
    uint64_t row_updates = L->prog.updates;
    double acc[ST_N] = {0};
    float gnorm = 0;
    if (wait_for_replay(L) < 0) return DQ_OK;
    if (L->rank == 0)
        DQ_INFO("training: batch %ld over %d rank(s)%s, lr %g, %s target, per_beta %g",
                cfg->learner_batch, L->size, deterministic(L) ? " (deterministic)" : "",
                cfg->learner_lr, cfg->learner_target_tau > 0 ? "Polyak" : "periodic",
                cfg->learner_per_beta);
    publish(L);

    while (max_updates == 0 || L->prog.updates < max_updates) {
        double stats[ST_N] = {0};
        const dq_batch_t *b = fetch(L);
        double t0 = dq_now();
        dq_qnet_zero_grad(&L->online);
        if (b) {
            dqn_stats_t st;
            dqn_loss_grad(&L->online, &L->target, &L->work, b, L->weights,
                          (float)cfg->learner_huber_delta, norm, L->td, &st);
            stats[ST_LOSS] = st.loss_sum;
            stats[ST_Q] = st.q_sum;
            stats[ST_ABS_TD] = st.abs_td_sum;
            stats[ST_COUNT] = b->count;
            stats[ST_INVALID] = st.invalid;
            for (uint32_t i = 0; i < b->count; i++)
                if (fabsf(L->td[i]) > stats[ST_MAX_TD]) stats[ST_MAX_TD] = fabsf(L->td[i]);
        } else {
            stats[ST_STOP] = 1;
        }
        double t1 = dq_now();
        MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, L->online.grads, (int)L->online.n_params, MPI_FLOAT,
                                MPI_SUM, MPI_COMM_WORLD));
        double max_td = stats[ST_MAX_TD];
        MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, stats, ST_N, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
        MPI_CHECK(
            MPI_Allreduce(&max_td, &stats[ST_MAX_TD], 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD));
        double t2 = dq_now();
        if (stats[ST_STOP] > 0) break;
        report_priorities(L);
        gnorm = dq_qnet_clip_grad(&L->online, (float)cfg->learner_grad_clip);
        L->prog.updates++;
        L->prog.adam_t++;
        dq_adam_step(L->online.params, L->online.grads, L->online.m, L->online.v,
                     L->online.n_params, &L->adam, L->prog.adam_t);
        update_target(L);
        if (L->prog.updates % (uint64_t)cfg->learner_publish_every == 0) publish(L);
        if (cfg->learner_checkpoint_every > 0 &&
            L->prog.updates % (uint64_t)cfg->learner_checkpoint_every == 0)
            save_checkpoint(L);
        L->t_compute += (t1 - t0) + (dq_now() - t2);
        L->t_allreduce += t2 - t1;
        for (int k = 0; k < ST_N; k++)
            acc[k] = k == ST_MAX_TD ? fmax(acc[k], stats[k]) : acc[k] + stats[k];

        if (L->prog.updates % (uint64_t)cfg->learner_metrics_every == 0 && L->rank == 0) {
            double now = dq_now(), dt = now - t_row;
            double ups = (double)(L->prog.updates - row_updates) / dt;
            double n = acc[ST_COUNT] > 0 ? acc[ST_COUNT] : 1;
            dq_metrics_row(
                L->metrics,
                "%.3f,%" PRIu64 ",%.6g,%.6g,%.6g,%.6g,%.2f,%.1f,%.0f,%.0f,%.4f,%.4f,%.4f,%" PRIu64
                ",%.4g,%.0f",
                now - t_start, L->prog.updates, acc[ST_LOSS] / n, acc[ST_Q] / n, acc[ST_ABS_TD] / n,
                acc[ST_MAX_TD], ups, ups * (double)cfg->learner_batch, L->replay_size,
                L->replay_inserts, L->t_wait, L->t_compute, L->t_allreduce, L->prog.version,
                (double)gnorm, acc[ST_INVALID]);
            DQ_INFO("update %" PRIu64 ": loss %.4g, mean Q %.4g, |TD| %.3g, %.1f updates/s, replay "
                    "%.0f items (%.0f inserted), weights v%" PRIu64,
                    L->prog.updates, acc[ST_LOSS] / n, acc[ST_Q] / n, acc[ST_ABS_TD] / n, ups,
                    L->replay_size, L->replay_inserts, L->prog.version);
            send_request(L, DQ_MSG_STATS, 0);
            t_row = now;
            row_updates = L->prog.updates;
            memset(acc, 0, sizeof acc);
        }
    }
    publish(L);
    int rc = DQ_OK;
    if (L->rank == 0) {
        save_checkpoint(L);
        char path[DQ_CONFIG_STR_MAX + 32];
        snprintf(path, sizeof path, "%s/qnet.bin", cfg->run_dir);
        rc = dq_qnet_save(&L->online, path);
        if (rc < 0)
            DQ_ERROR("cannot save the Q-network to %s: %s", path, dq_strerror(rc));
        else
            DQ_INFO("saved the Q-network after %" PRIu64 " updates to %s", L->prog.updates, path);
        DQ_INFO("done: %" PRIu64
                " updates in %.1f s; waiting for samples %.1f s, compute %.1f s, allreduce %.1f s",
                L->prog.updates, dq_now() - t_start, L->t_wait, L->t_compute, L->t_allreduce);
    }
    return rc;
}

int main(int argc, char **argv)
{
    dq_blas_select_kernel(argc, argv); /* may re-exec once, so before MPI_Init */
    MPI_Init(&argc, &argv);
    static learner_t L;
    MPI_Comm_rank(MPI_COMM_WORLD, &L.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &L.size);
    static const dq_cli_alias_t aliases[] = {
        {"--updates", "learner.updates", "updates before exiting"},
        {NULL, NULL, NULL},
    };
    dq_cli_spec_t spec = {"dqnlm-learner",
                          "Learner group (run under mpirun): samples from the replay server, "
                          "trains the Q-network with double DQN, publishes weights.",
                          aliases};
    dq_config_t cfg;
    int rc = dq_program_start(&spec, argc, argv, &cfg);
    if (rc != 0) {
        MPI_Finalize();
        return rc > 0 ? 0 : 2;
    }
    char tag[32];
    snprintf(tag, sizeof tag, "learner.%d", L.rank);
    dq_log_init(tag, (dq_log_level_t)dq_log_level_parse(cfg.run_log_level));

    L.cfg = &cfg;
    L.share = (int)(cfg.learner_batch / L.size) + (L.rank < (int)(cfg.learner_batch % L.size));
    L.adam = (dq_adam_t){(float)cfg.learner_lr, (float)cfg.learner_adam_beta1,
                         (float)cfg.learner_adam_beta2, (float)cfg.learner_adam_eps};
    snprintf(L.ckpt_path, sizeof L.ckpt_path, "%s/learner.ckpt", cfg.run_dir);
    char why[512] = "";
    rc = DQ_OK;
    if (L.share <= 0) {
        snprintf(why, sizeof why, "learner.batch = %ld is smaller than the %d ranks",
                 cfg.learner_batch, L.size);
        rc = DQ_ECONFIG;
    } else if (cfg.learner_inflight > MAX_INFLIGHT) {
        snprintf(why, sizeof why, "learner.inflight = %ld exceeds %d", cfg.learner_inflight,
                 MAX_INFLIGHT);
        rc = DQ_ECONFIG;
    }
    if (rc == DQ_OK) rc = build(&L, why, sizeof why);
    if (rc == DQ_OK && dq_mkdir_p(cfg.run_dir) < 0) {
        snprintf(why, sizeof why, "cannot create run.dir=%.200s", cfg.run_dir);
        rc = DQ_EIO;
    }
    if (rc == DQ_OK) rc = open_sockets(&L, why, sizeof why);
    if (rc == DQ_OK && L.rank == 0) {
        char path[DQ_CONFIG_STR_MAX + 32];
        snprintf(path, sizeof path, "%s/learner.csv", cfg.run_dir);
        L.metrics =
            dq_metrics_open(path, "time_s,updates,loss,q_mean,abs_td_mean,abs_td_max,updates_per_s,"
                                  "samples_per_s,replay_size,replay_inserts,wait_s,"
                                  "compute_s,allreduce_s,weights_version,grad_norm,invalid");
    }
    /* Every rank must agree before the collective loop starts. */
    int ok = rc == DQ_OK, all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (all_ok && cfg.learner_resume) all_ok = resume(&L) == DQ_OK;
    if (!all_ok) {
        if (rc < 0) DQ_ERROR("%s", why[0] ? why : dq_strerror(rc));
        learner_close(&L);
        MPI_Finalize();
        return 1;
    }
    rc = learner_run(&L);
    learner_close(&L);
    MPI_Finalize();
    return rc < 0 ? 1 : 0;
}
