/* lstate.c - see lstate.h: building, connecting, resuming and closing one
 * learner rank. */
#include "lstate.h"

#include <inttypes.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "curve.h"
#include "dims.h"
#include "err.h"
#include "log.h"
#include "net.h"

int learner_mpi_rc(int mpi_rc, const char *what)
{
    if (mpi_rc == MPI_SUCCESS) return DQ_OK;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(mpi_rc, msg, &len);
    DQ_ERROR("%s failed: %s", what, msg);
    return DQ_ENET;
}

int learner_configure(learner_t *L, char *why, size_t whylen)
{
    const dq_config_t *cfg = L->cfg;
    L->share =
        (int)(cfg->learner_batch / L->size) + (L->rank < (int)(cfg->learner_batch % L->size));
    L->adam = (dq_adam_t){(float)cfg->learner_lr, (float)cfg->learner_adam_beta1,
                          (float)cfg->learner_adam_beta2, (float)cfg->learner_adam_eps};
    snprintf(L->ckpt_path, sizeof L->ckpt_path, "%s/learner.ckpt", cfg->run_dir);
    if (L->share <= 0) {
        snprintf(why, whylen, "learner.batch = %ld is smaller than the %d ranks",
                 cfg->learner_batch, L->size);
        return DQ_ECONFIG;
    }
    if (cfg->learner_inflight > LEARNER_MAX_INFLIGHT) {
        snprintf(why, whylen, "learner.inflight = %ld exceeds %d", cfg->learner_inflight,
                 LEARNER_MAX_INFLIGHT);
        return DQ_ECONFIG;
    }
    return DQ_OK;
}

/* Deterministic mode: the scatter buffers and per-rank record counts. */
static int build_scatter(learner_t *L, int obs_dim)
{
    const int B = (int)L->cfg->learner_batch,
              rec = (int)dq_transition_floats((uint32_t)obs_dim) + 1;
    L->shares = calloc((size_t)L->size, sizeof(int));
    L->displs = calloc((size_t)L->size, sizeof(int));
    L->pack = malloc((size_t)B * rec * sizeof(float));
    L->unpack = malloc((size_t)L->share * rec * sizeof(float));
    if (!L->shares || !L->displs || !L->pack || !L->unpack ||
        dq_batch_alloc(&L->mine, (uint32_t)L->share, (uint32_t)obs_dim, 0) < 0)
        return DQ_ENOMEM;
    for (int r = 0, off = 0; r < L->size; r++) {
        L->shares[r] = (B / L->size + (r < B % L->size)) * rec;
        L->displs[r] = off;
        off += L->shares[r];
    }
    return DQ_OK;
}

int learner_build(learner_t *L, char *why, size_t whylen)
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
    if (rc == DQ_OK && learner_deterministic(L)) rc = build_scatter(L, obs_dim);
    if (rc < 0) snprintf(why, whylen, "learner buffers: %s", dq_strerror(rc));
    return rc;
}

int learner_open_sockets(learner_t *L, char *why, size_t whylen)
{
    const dq_config_t *cfg = L->cfg;
    size_t max_bytes = (size_t)cfg->run_max_message_bytes;
    L->zctx = zmq_ctx_new();
    if (!learner_deterministic(L) || L->rank == 0) {
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

void learner_close(learner_t *L)
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

void learner_save_checkpoint(const learner_t *L)
{
    if (L->rank != 0) return;
    int rc = learner_ckpt_save(L->ckpt_path, &L->online, &L->target, &L->prog);
    if (rc < 0)
        DQ_ERROR("cannot write checkpoint %s: %s", L->ckpt_path, dq_strerror(rc));
    else
        DQ_INFO("checkpoint after %" PRIu64 " updates: %s", L->prog.updates, L->ckpt_path);
}

/* Rank 0: 0 fresh start (no checkpoint), 1 resumed, -1 refused. */
static int load_on_rank0(learner_t *L)
{
    if (access(L->ckpt_path, F_OK) != 0) {
        DQ_INFO("learner.resume: no checkpoint at %s, starting fresh", L->ckpt_path);
        return 0;
    }
    char why[512];
    if (learner_ckpt_load(L->ckpt_path, &L->online, &L->target, &L->prog, why, sizeof why) < 0) {
        DQ_ERROR("cannot resume: %s", why);
        return -1;
    }
    DQ_INFO("resumed from %s at update %" PRIu64 ", weights version %" PRIu64, L->ckpt_path,
            L->prog.updates, L->prog.version);
    return 1;
}

int learner_resume(learner_t *L)
{
    int status = L->rank == 0 ? load_on_rank0(L) : 0;
    int rc = LEARNER_MPI(MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (rc < 0) return rc;
    if (status <= 0) return status < 0 ? DQ_EFORMAT : DQ_OK;
    int n = (int)L->online.n_params;
    float *state[] = {L->online.params, L->target.params, L->online.m, L->online.v};
    for (size_t i = 0; rc == DQ_OK && i < sizeof state / sizeof state[0]; i++)
        rc = LEARNER_MPI(MPI_Bcast(state[i], n, MPI_FLOAT, 0, MPI_COMM_WORLD));
    if (rc == DQ_OK)
        rc = LEARNER_MPI(MPI_Bcast(&L->prog, (int)sizeof L->prog, MPI_BYTE, 0, MPI_COMM_WORLD));
    return rc;
}
