/* learner_main.c - dqnlm-learner: the MPI learner group.
 *
 *   mpirun -np 2 dqnlm-learner --config job.ini
 *
 * Every rank holds an identical replica of the online and target Q-networks.
 * Per update, rank r takes its share of learner.batch from the replay server
 * (keeping learner.inflight SAMPLE requests outstanding so the network round
 * trip overlaps compute), computes the double-DQN gradient of its share, and
 * MPI_Allreduce sums the gradients (each already divided by the whole batch
 * size, so the sum is the batch mean). Every rank then applies the same
 * clipped Adam step, so the replicas stay identical. Rank 0 publishes the
 * online weights every learner.publish_every updates, copies online to target
 * every learner.target_sync updates, writes metrics and, at the end, the
 * Q-network to RUN_DIR/qnet.bin.
 *
 * A stop signal reaches ranks at different moments; the per-update allreduce
 * carries a stop flag so all ranks leave the loop after the same update.
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
#include "cli.h"
#include "config.h"
#include "dqn.h"
#include "envs.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "qnet.h"
#include "rng.h"
#include "wire.h"

/* Exit-on-error wrapper for MPI calls; only used in this main file. */
#define MPI_CHECK(call)                                                                     \
    do {                                                                                    \
        int mpi_rc_ = (call);                                                               \
        if (mpi_rc_ != MPI_SUCCESS) {                                                       \
            char mpi_msg_[MPI_MAX_ERROR_STRING];                                            \
            int mpi_len_ = 0;                                                               \
            MPI_Error_string(mpi_rc_, mpi_msg_, &mpi_len_);                                 \
            DQ_ERROR("%s:%d: %s failed: %s", __FILE__, __LINE__, #call, mpi_msg_);          \
            MPI_Abort(MPI_COMM_WORLD, 1);                                                   \
        }                                                                                   \
    } while (0)

/* Fields of the per-update allreduce besides the gradients. */
enum { ST_LOSS, ST_Q, ST_ABS_TD, ST_COUNT, ST_STOP, ST_INVALID, ST_N };

typedef struct {
    const dq_config_t *cfg;
    int rank, size;
    int share;                 /* transitions this rank samples per update */
    dq_qnet_t online, target;
    dqn_work_t work;
    dq_adam_t adam;
    uint64_t updates, version;
    void *zctx, *replay, *pub;
    dq_buf_t buf;
    uint64_t next_id;          /* id of the next SAMPLE request */
    int inflight;              /* SAMPLE requests outstanding */
    double replay_size, replay_inserts; /* from the last STATS reply (rank 0) */
    double t_wait, t_compute, t_allreduce;
    dq_metrics_t *metrics;
} learner_t;

static int build_nets(learner_t *L, char *why, size_t whylen)
{
    const dq_config_t *cfg = L->cfg;
    dq_env_t env;
    int rc = actor_env_open(&env, cfg, "train", 0, why, whylen);
    if (rc < 0) return rc;
    int obs_dim = env.obs_dim, n_actions = env.n_actions;
    dq_env_close(&env);

    int sizes[DQ_QNET_MAX_LAYERS + 1], n_layers;
    if (dq_qnet_sizes(cfg->dqn_hidden, obs_dim, n_actions, sizes, &n_layers) < 0) {
        snprintf(why, whylen, "dqn.hidden = '%.64s' is not a list of positive widths", cfg->dqn_hidden);
        return DQ_ECONFIG;
    }
    /* Same seed on every rank: identical replicas from the start. */
    dq_rng_t rng;
    dq_rng_seed(&rng, dq_rng_mix((uint64_t)cfg->run_seed, 0x1ea7, 0));
    rc = dq_qnet_init(&L->online, sizes, n_layers, &rng);
    if (rc == DQ_OK) rc = dq_qnet_init(&L->target, sizes, n_layers, &rng);
    if (rc == DQ_OK) rc = dq_qnet_copy_params(&L->target, &L->online);
    if (rc == DQ_OK) rc = dqn_work_init(&L->work, &L->online, L->share);
    if (rc < 0) snprintf(why, whylen, "Q-network: %s", dq_strerror(rc));
    return rc;
}

static int open_sockets(learner_t *L, char *why, size_t whylen)
{
    const dq_config_t *cfg = L->cfg;
    size_t max_bytes = (size_t)cfg->run_max_message_bytes;
    L->zctx = zmq_ctx_new();
    L->replay = L->zctx ? zmq_socket(L->zctx, ZMQ_DEALER) : NULL;
    if (!L->replay || dq_net_configure(L->replay, max_bytes) < 0 ||
        zmq_connect(L->replay, cfg->replay_endpoint) != 0) {
        snprintf(why, whylen, "cannot connect to replay.endpoint=%s: %s", cfg->replay_endpoint,
                 zmq_strerror(zmq_errno()));
        return DQ_ENET;
    }
    if (L->rank != 0) return DQ_OK;
    L->pub = zmq_socket(L->zctx, ZMQ_PUB);
    char record[DQ_CONFIG_STR_MAX + 32], bound[256];
    snprintf(record, sizeof record, "%s/weights.endpoint", cfg->run_dir);
    if (!L->pub || dq_net_configure(L->pub, max_bytes) < 0 ||
        dq_net_bind(L->pub, cfg->learner_weights_endpoint, record, bound, sizeof bound) < 0) {
        snprintf(why, whylen, "cannot bind learner.weights_endpoint=%s: %s",
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
    dq_metrics_close(&L->metrics);
    if (L->replay) zmq_close(L->replay);
    if (L->pub) zmq_close(L->pub);
    if (L->zctx) zmq_ctx_term(L->zctx);
}

static int send_request(learner_t *L, dq_msg_type_t type)
{
    dq_msg_t m = {.type = type};
    if (type == DQ_MSG_SAMPLE) {
        snprintf(m.u.sample.table, sizeof m.u.sample.table, "main");
        m.u.sample.n = (uint32_t)L->share;
        m.u.sample.id = L->next_id++;
        L->inflight++;
    } else {
        m.u.stats.id = L->next_id++;
    }
    return dq_net_send(L->replay, &m, &L->buf, 0);
}

static void note_stats(learner_t *L, const dq_stats_reply_t *r)
{
    for (uint32_t i = 0; i < r->count; i++) {
        if (!strcmp(r->stats[i].name, "size")) L->replay_size = r->stats[i].value;
        if (!strcmp(r->stats[i].name, "inserts")) L->replay_inserts = r->stats[i].value;
    }
}

/* Waits for the next ITEMS reply (handling STATS replies on the way) and
 * refills the pipeline. Returns DQ_OK with *items filled, or DQ_EINTERRUPTED
 * on a stop request. */
static int next_items(learner_t *L, dq_msg_t *items)
{
    double t0 = dq_now(), warned = t0;
    while (L->inflight < (int)L->cfg->learner_inflight) send_request(L, DQ_MSG_SAMPLE);
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
        int rc = dq_net_recv(L->replay, items, (size_t)L->cfg->run_max_message_bytes,
                             ZMQ_DONTWAIT, why, sizeof why);
        if (rc == DQ_ETIMEOUT || rc == DQ_EINTERRUPTED) continue;
        if (rc < 0) {
            DQ_WARN("rank %d: bad reply from the replay server: %s: %s", L->rank, dq_errname(rc), why);
            continue;
        }
        if (items->type == DQ_MSG_ITEMS) {
            L->inflight--;
            send_request(L, DQ_MSG_SAMPLE);
            L->t_wait += dq_now() - t0;
            return DQ_OK;
        }
        if (items->type == DQ_MSG_STATS_REPLY) note_stats(L, &items->u.stats_reply);
        if (items->type == DQ_MSG_ERROR) {
            /* e.g. an empty table after a replay restart: ask again shortly. */
            DQ_WARN("rank %d: replay server: %s: %s", L->rank, items->u.error.name,
                    items->u.error.message);
            L->inflight--;
            usleep(100000);
            send_request(L, DQ_MSG_SAMPLE);
        }
        dq_msg_clear(items);
    }
}

/* Rank 0 waits until the replay server holds learner.min_replay items; the
 * result (go or stop) is broadcast to every rank. */
static int wait_for_replay(learner_t *L)
{
    int go = 1;
    if (L->rank == 0) {
        double t0 = dq_now(), last_log = 0;
        for (;;) {
            if (dq_cli_stop_requested()) {
                go = 0;
                break;
            }
            send_request(L, DQ_MSG_STATS);
            zmq_pollitem_t item = {L->replay, 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&item, 1, 1000) > 0) {
                dq_msg_t m;
                char why[256];
                if (dq_net_recv(L->replay, &m, (size_t)L->cfg->run_max_message_bytes,
                                ZMQ_DONTWAIT, why, sizeof why) == DQ_OK) {
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
            (void)t0;
        }
    }
    MPI_CHECK(MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD));
    return go ? DQ_OK : DQ_EINTERRUPTED;
}

static void publish(learner_t *L)
{
    if (L->rank != 0) return;
    dq_msg_t m = {.type = DQ_MSG_WEIGHTS};
    L->version++;
    dq_qnet_to_weights(&L->online, L->version, L->updates, &m.u.weights);
    int rc = dq_net_send(L->pub, &m, &L->buf, ZMQ_DONTWAIT);
    if (rc < 0 && rc != DQ_ETIMEOUT) DQ_WARN("cannot publish weights: %s", dq_strerror(rc));
}

static int learner_run(learner_t *L)
{
    const dq_config_t *cfg = L->cfg;
    const uint64_t max_updates = (uint64_t)cfg->learner_updates;
    const float norm = (float)cfg->learner_batch;
    double t_start = dq_now(), t_row = t_start;
    uint64_t row_updates = 0;
    double acc[ST_N] = {0};
    int rc = wait_for_replay(L);
    if (rc < 0) return DQ_OK;
    if (L->rank == 0) DQ_INFO("training: batch %ld over %d rank(s), lr %g, target sync every %ld",
                              cfg->learner_batch, L->size, cfg->learner_lr, cfg->learner_target_sync);
    publish(L);

    while (max_updates == 0 || L->updates < max_updates) {
        dq_msg_t items = {0};
        double stats[ST_N] = {0};
        rc = next_items(L, &items);
        double t0 = dq_now();
        dq_qnet_zero_grad(&L->online);
        if (rc == DQ_OK) {
            dqn_stats_t st;
            dqn_loss_grad(&L->online, &L->target, &L->work, &items.u.items.batch, NULL,
                          (float)cfg->learner_huber_delta, norm, NULL, &st);
            stats[ST_LOSS] = st.loss_sum;
            stats[ST_Q] = st.q_sum;
            stats[ST_ABS_TD] = st.abs_td_sum;
            stats[ST_COUNT] = items.u.items.batch.count;
            stats[ST_INVALID] = st.invalid;
        } else {
            stats[ST_STOP] = 1;
        }
        dq_msg_clear(&items);
        double t1 = dq_now();
        MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, L->online.grads, (int)L->online.n_params, MPI_FLOAT,
                                MPI_SUM, MPI_COMM_WORLD));
        MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, stats, ST_N, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
        double t2 = dq_now();
        if (stats[ST_STOP] > 0) break;
        float gnorm = dq_qnet_clip_grad(&L->online, (float)cfg->learner_grad_clip);
        L->updates++;
        dq_adam_step(L->online.params, L->online.grads, L->online.m, L->online.v,
                     L->online.n_params, &L->adam, L->updates);
        if (L->updates % (uint64_t)cfg->learner_target_sync == 0)
            dq_qnet_copy_params(&L->target, &L->online);
        if (L->updates % (uint64_t)cfg->learner_publish_every == 0) publish(L);
        L->t_compute += (t1 - t0) + (dq_now() - t2);
        L->t_allreduce += t2 - t1;
        for (int k = 0; k < ST_N; k++) acc[k] += stats[k];

        if (L->updates % (uint64_t)cfg->learner_metrics_every == 0) {
            if (L->rank == 0) {
                double now = dq_now(), dt = now - t_row;
                double ups = (double)(L->updates - row_updates) / dt;
                double n = acc[ST_COUNT] > 0 ? acc[ST_COUNT] : 1;
                dq_metrics_row(L->metrics, "%.3f,%" PRIu64 ",%.6g,%.6g,%.6g,%.2f,%.1f,%.0f,%.0f,%.4f,%.4f,%.4f,%" PRIu64 ",%.4g,%.0f",
                               now - t_start, L->updates, acc[ST_LOSS] / n, acc[ST_Q] / n,
                               acc[ST_ABS_TD] / n, ups, ups * (double)cfg->learner_batch,
                               L->replay_size, L->replay_inserts, L->t_wait, L->t_compute,
                               L->t_allreduce, L->version, (double)gnorm, acc[ST_INVALID]);
                DQ_INFO("update %" PRIu64 ": loss %.4g, mean Q %.4g, %.1f updates/s, replay %.0f items (%.0f inserted), weights v%" PRIu64,
                        L->updates, acc[ST_LOSS] / n, acc[ST_Q] / n, ups, L->replay_size,
                        L->replay_inserts, L->version);
                send_request(L, DQ_MSG_STATS);
                t_row = now;
                row_updates = L->updates;
            }
            memset(acc, 0, sizeof acc);
        }
    }
    publish(L);
    rc = DQ_OK;
    if (L->rank == 0) {
        char path[DQ_CONFIG_STR_MAX + 32];
        snprintf(path, sizeof path, "%s/qnet.bin", cfg->run_dir);
        rc = dq_qnet_save(&L->online, path);
        if (rc < 0) DQ_ERROR("cannot save the Q-network to %s: %s", path, dq_strerror(rc));
        else DQ_INFO("saved the Q-network after %" PRIu64 " updates to %s", L->updates, path);
        double total = dq_now() - t_start;
        DQ_INFO("done: %" PRIu64 " updates in %.1f s; time waiting for samples %.1f s, compute %.1f s, allreduce %.1f s",
                L->updates, total, L->t_wait, L->t_compute, L->t_allreduce);
    }
    return rc;
}

int main(int argc, char **argv)
{
    dq_blas_select_kernel(argc, argv); /* may re-exec once, so before MPI_Init */
    MPI_Init(&argc, &argv);
    learner_t L;
    memset(&L, 0, sizeof L);
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
    int rc = dq_cli_parse(&spec, argc, argv, &cfg);
    if (rc != 0) {
        MPI_Finalize();
        return rc > 0 ? 0 : 2;
    }
    char tag[32];
    snprintf(tag, sizeof tag, "learner.%d", L.rank);
    dq_log_init(tag, (dq_log_level_t)dq_log_level_parse(cfg.run_log_level));
    dq_cli_install_stop_handlers();
    dq_blas_single_thread();
    if (L.rank == 0) dq_blas_log_kernel();

    L.cfg = &cfg;
    L.share = (int)(cfg.learner_batch / L.size) + (L.rank < (int)(cfg.learner_batch % L.size));
    L.adam = (dq_adam_t){(float)cfg.learner_lr, (float)cfg.learner_adam_beta1,
                         (float)cfg.learner_adam_beta2, (float)cfg.learner_adam_eps};
    char why[512] = "";
    rc = L.share > 0 ? build_nets(&L, why, sizeof why) : DQ_ECONFIG;
    if (L.share <= 0)
        snprintf(why, sizeof why, "learner.batch = %ld is smaller than the %d ranks", cfg.learner_batch, L.size);
    if (rc == DQ_OK && dq_mkdir_p(cfg.run_dir) < 0) {
        snprintf(why, sizeof why, "cannot create run.dir=%s", cfg.run_dir);
        rc = DQ_EIO;
    }
    if (rc == DQ_OK) rc = open_sockets(&L, why, sizeof why);
    if (rc == DQ_OK && L.rank == 0) {
        char path[DQ_CONFIG_STR_MAX + 32];
        dq_mkdir_p(cfg.run_dir);
        snprintf(path, sizeof path, "%s/learner.csv", cfg.run_dir);
        L.metrics = dq_metrics_open(path, "time_s,updates,loss,q_mean,abs_td_mean,updates_per_s,"
                                          "samples_per_s,replay_size,replay_inserts,wait_s,"
                                          "compute_s,allreduce_s,weights_version,grad_norm,invalid");
    }
    /* Every rank must agree before the collective loop starts. */
    int ok = rc == DQ_OK, all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
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
