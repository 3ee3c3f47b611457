/* sampler.c - see sampler.h. */
#include "sampler.h"

#include <inttypes.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "err.h"
#include "log.h"
#include "net.h"

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

int sampler_request_stats(learner_t *L) { return send_request(L, DQ_MSG_STATS, 0); }

/* Whether the replay server has been silent for learner.replay_timeout
 * seconds (counted from the last reply, or from since if that is later);
 * logs the ERROR once and marks this rank as having lost it. */
static int replay_gone(learner_t *L, double since)
{
    double limit = L->cfg->learner_replay_timeout, last = L->t_last_reply;
    if (since > last) last = since;
    if (limit <= 0 || dq_now() - last < limit) return 0;
    DQ_ERROR("rank %d: no reply from the replay server at %s for %.0f s "
             "(learner.replay_timeout = %g s); giving up",
             L->rank, L->cfg->replay_endpoint, dq_now() - last, limit);
    L->replay_lost = 1;
    return 1;
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

/* One reply from the replay server in L->items: returns 1 if it is the
 * awaited batch of n items (kept), 0 otherwise (handled; caller clears it). */
static int take_reply(learner_t *L, uint32_t n)
{
    const dq_msg_t *m = &L->items;
    if (m->type == DQ_MSG_ITEMS && retire_sample(L, m->u.items.id)) {
        if (m->u.items.batch.count == n) return 1;
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
    return 0;
}

/* Waits for the next ITEMS reply (handling other replies on the way) into
 * L->items, keeping `want` requests of n items outstanding. Returns DQ_OK,
 * DQ_EINTERRUPTED on a stop request, or DQ_ETIMEOUT when the replay server
 * was silent for learner.replay_timeout (L->replay_lost set). */
static int next_items(learner_t *L, int want, uint32_t n)
{
    double t0 = dq_now(), warned = t0;
    dq_msg_clear(&L->items);
    while (L->inflight < want) send_request(L, DQ_MSG_SAMPLE, n);
    for (;;) {
        if (dq_cli_stop_requested()) return DQ_EINTERRUPTED;
        zmq_pollitem_t item = {L->replay, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 200) <= 0) {
            if (replay_gone(L, t0)) return DQ_ETIMEOUT;
            if (dq_now() - warned > 30.0) {
                DQ_WARN("rank %d: no reply from the replay server at %s for %.0f s", L->rank,
                        L->cfg->replay_endpoint, dq_now() - t0);
                warned = dq_now();
            }
            continue;
        }
        char why[256];
        int rc = dq_net_recv(L->replay, &L->items, (size_t)L->cfg->run_max_message_bytes,
                             ZMQ_DONTWAIT, why, sizeof why);
        if (rc == DQ_ETIMEOUT || rc == DQ_EINTERRUPTED) continue;
        L->t_last_reply = dq_now();
        if (rc < 0) {
            DQ_WARN("rank %d: bad reply from the replay server: %s: %s", L->rank, dq_errname(rc),
                    why);
            continue;
        }
        if (take_reply(L, n)) {
            L->t_wait += dq_now() - t0;
            return DQ_OK;
        }
        dq_msg_clear(&L->items);
        while (L->inflight < want) send_request(L, DQ_MSG_SAMPLE, n);
    }
}

/* Importance weights w_i = (size * prob_i)^-beta, normalised by the largest
 * weight of the whole batch across ranks. Outside deterministic mode every
 * rank must call it every update (it is collective), with count 0 when it has
 * no batch. */
static int importance_weights(learner_t *L, const dq_items_t *it, uint32_t count, float *w)
{
    double beta = L->cfg->learner_per_beta, local_max = 0, global_max = 0;
    for (uint32_t i = 0; i < count; i++) {
        w[i] = beta > 0 ? (float)pow((double)it->size * it->prob[i], -beta) : 1.0f;
        if (w[i] > local_max) local_max = w[i];
    }
    if (beta <= 0) return DQ_OK;
    if (learner_deterministic(L)) {
        global_max = local_max; /* rank 0 holds the whole batch */
    } else {
        int rc = LEARNER_MPI(
            MPI_Allreduce(&local_max, &global_max, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD));
        if (rc < 0) return rc;
    }
    for (uint32_t i = 0; i < count; i++) w[i] = (float)(w[i] / global_max);
    return DQ_OK;
}

/* Rank 0, deterministic mode: the whole batch as records into L->pack. */
static int pack_batch(learner_t *L)
{
    const int rec = learner_record_floats(L);
    const dq_batch_t *b = &L->items.u.items.batch;
    int rc = importance_weights(L, &L->items.u.items, b->count, L->weights);
    dq_batch_pack(b, 0, b->count, (size_t)rec, L->pack);
    for (uint32_t i = 0; i < b->count; i++) L->pack[(size_t)i * rec + rec - 1] = L->weights[i];
    return rc;
}

/* Deterministic mode: rank 0's whole batch is cut into per-rank records (the
 * transition columns of common/transition_cols.h, then the importance weight)
 * and scattered into L->mine and L->weights. */
static int scatter_batch(learner_t *L)
{
    const int rec = learner_record_floats(L);
    int rc = L->rank == 0 ? pack_batch(L) : DQ_OK;
    if (rc < 0) return rc;
    rc = LEARNER_MPI(MPI_Scatterv(L->pack, L->shares, L->displs, MPI_FLOAT, L->unpack,
                                  L->share * rec, MPI_FLOAT, 0, MPI_COMM_WORLD));
    if (rc < 0) return rc;
    dq_batch_unpack(&L->mine, 0, (uint32_t)L->share, (size_t)rec, L->unpack);
    L->mine.count = (uint32_t)L->share;
    for (int i = 0; i < L->share; i++) L->weights[i] = L->unpack[(size_t)i * rec + rec - 1];
    return DQ_OK;
}

/* Rank 0: polls the replay server's STATS until it holds learner.min_replay
 * items; returns 0 on a stop request, -1 when the server was silent for
 * learner.replay_timeout, 1 otherwise. */
static int poll_replay_size(learner_t *L)
{
    double last_log = 0, t0 = dq_now();
    while (L->replay_size < (double)L->cfg->learner_min_replay) {
        if (dq_cli_stop_requested()) return 0;
        if (replay_gone(L, t0)) return -1;
        send_request(L, DQ_MSG_STATS, 0);
        zmq_pollitem_t item = {L->replay, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 1000) > 0) {
            dq_msg_t m;
            char why[256];
            if (dq_net_recv(L->replay, &m, (size_t)L->cfg->run_max_message_bytes, ZMQ_DONTWAIT, why,
                            sizeof why) == DQ_OK) {
                L->t_last_reply = dq_now();
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
    return 1;
}

int sampler_wait_for_replay(learner_t *L)
{
    int go = L->rank == 0 ? poll_replay_size(L) : 1;
    int rc = LEARNER_MPI(MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (rc < 0) return rc;
    if (go < 0) L->replay_lost = 1; /* every rank: the group gives up together */
    return go > 0 ? DQ_OK : go == 0 ? DQ_EINTERRUPTED : DQ_ETIMEOUT;
}

int sampler_fetch(learner_t *L, const dq_batch_t **out)
{
    *out = NULL;
    if (!learner_deterministic(L)) {
        int have = next_items(L, (int)L->cfg->learner_inflight, (uint32_t)L->share) == DQ_OK;
        int rc = importance_weights(L, &L->items.u.items, have ? L->items.u.items.batch.count : 0,
                                    L->weights);
        if (rc == DQ_OK && have) *out = &L->items.u.items.batch;
        return rc;
    }
    int have = 1;
    if (L->rank == 0) have = next_items(L, 1, (uint32_t)L->cfg->learner_batch) == DQ_OK;
    int rc = LEARNER_MPI(MPI_Bcast(&have, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (rc < 0 || !have) return rc;
    rc = scatter_batch(L);
    if (rc == DQ_OK) *out = &L->mine;
    return rc;
}
