/* server.c - see server.h. */
#include "server.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cli.h"
#include "err.h"
#include "log.h"
#include "net.h"
#include "rng.h"
#include "table.h"
#include "wire.h"

#define N_ERR_CODES 32 /* > number of entries in DQ_ERRNO_MAP */

typedef struct {
    uint64_t inserts, insert_msgs;
    uint64_t samples, sample_msgs;
    uint64_t stats_msgs;
    uint64_t rejects;
    uint64_t rejects_by_code[N_ERR_CODES];
    uint64_t *per_actor;     /* items inserted, indexed by actor id */
    size_t n_actors;
} counters_t;

struct replay_server {
    const dq_config_t *cfg;
    void *zctx, *sock;
    replay_table_t *table;
    dq_rng_t rng;
    counters_t c;
    dq_buf_t buf;
    size_t max_bytes;
    char bound[256];   /* the endpoint actually bound (resolves a wildcard port) */
};

replay_server_t *replay_server_new(const dq_config_t *cfg, char *why, size_t whylen)
{
    replay_server_t *srv = calloc(1, sizeof *srv);
    if (!srv) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    srv->cfg = cfg;
    srv->max_bytes = (size_t)cfg->run_max_message_bytes;
    dq_rng_seed(&srv->rng, dq_rng_mix((uint64_t)cfg->run_seed, 0x7e91a7, 0));
    srv->table = replay_table_new("main", (size_t)cfg->replay_capacity);
    srv->zctx = zmq_ctx_new();
    if (!srv->table || !srv->zctx) {
        snprintf(why, whylen, "cannot create the table or the ZeroMQ context");
        goto fail;
    }
    srv->sock = zmq_socket(srv->zctx, ZMQ_ROUTER);
    if (!srv->sock || dq_net_configure(srv->sock, srv->max_bytes) < 0) {
        snprintf(why, whylen, "cannot create the ROUTER socket: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    char record[DQ_CONFIG_STR_MAX + 32];
    snprintf(record, sizeof record, "%s/replay.endpoint", cfg->run_dir);
    if (dq_mkdir_p(cfg->run_dir) < 0 ||
        dq_net_bind(srv->sock, cfg->replay_endpoint, record, srv->bound, sizeof srv->bound) < 0) {
        snprintf(why, whylen, "cannot bind replay.endpoint=%s (or record it in %s): %s",
                 cfg->replay_endpoint, record, zmq_strerror(zmq_errno()));
        goto fail;
    }
    return srv;
fail:
    replay_server_destroy(&srv);
    return NULL;
}

void replay_server_destroy(replay_server_t **self_p)
{
    if (!self_p || !*self_p) return;
    replay_server_t *srv = *self_p;
    if (srv->sock) zmq_close(srv->sock);
    if (srv->zctx) zmq_ctx_term(srv->zctx);
    replay_table_destroy(&srv->table);
    free(srv->c.per_actor);
    dq_buf_free(&srv->buf);
    free(srv);
    *self_p = NULL;
}

static void count_reject(replay_server_t *srv, int code)
{
    srv->c.rejects++;
    int i = -code;
    if (i > 0 && i < N_ERR_CODES) srv->c.rejects_by_code[i]++;
}

static void reply_error(replay_server_t *srv, const dq_peer_t *peer, int code, uint64_t id,
                        const char *why)
{
    count_reject(srv, code);
    DQ_DEBUG("rejected request %" PRIu64 ": %s: %s", id, dq_errname(code), why);
    dq_msg_t m;
    dq_msg_error(&m, code, id, why);
    dq_net_send_routed(srv->sock, peer, &m, &srv->buf);
}

static int count_actor(counters_t *c, uint32_t actor, uint32_t n)
{
    if (actor >= c->n_actors) {
        size_t want = (size_t)actor + 1;
        if (want > 1u << 20) return DQ_ERANGE;
        uint64_t *p = realloc(c->per_actor, want * sizeof *p);
        if (!p) return DQ_ENOMEM;
        memset(p + c->n_actors, 0, (want - c->n_actors) * sizeof *p);
        c->per_actor = p;
        c->n_actors = want;
    }
    c->per_actor[actor] += n;
    return DQ_OK;
}

static void handle_insert(replay_server_t *srv, const dq_peer_t *peer, const dq_insert_t *ins)
{
    char why[256];
    int rc = count_actor(&srv->c, ins->actor, 0);
    if (rc < 0) {
        reply_error(srv, peer, rc, ins->seq, "actor id too large");
        return;
    }
    rc = replay_table_insert(srv->table, &ins->batch, ins->actor, why, sizeof why);
    if (rc < 0) {
        reply_error(srv, peer, rc, ins->seq, why);
        return;
    }
    count_actor(&srv->c, ins->actor, ins->batch.count);
    srv->c.inserts += ins->batch.count;
    srv->c.insert_msgs++;
    dq_msg_t ack = {.type = DQ_MSG_ACK, .u.ack = {.seq = ins->seq, .count = ins->batch.count}};
    dq_net_send_routed(srv->sock, peer, &ack, &srv->buf);
}

static void handle_sample(replay_server_t *srv, const dq_peer_t *peer, const dq_sample_t *req)
{
    if (strcmp(req->table, replay_table_name(srv->table)) != 0) {
        char why[96];
        snprintf(why, sizeof why, "unknown table '%s' (this server has 'main')", req->table);
        reply_error(srv, peer, DQ_EINVAL, req->id, why);
        return;
    }
    dq_msg_t reply = {.type = DQ_MSG_ITEMS};
    int rc = replay_table_sample(srv->table, req->n, &srv->rng, &reply.u.items);
    if (rc < 0) {
        reply_error(srv, peer, rc, req->id, rc == DQ_EEMPTY ? "table is empty" : dq_strerror(rc));
        return;
    }
    reply.u.items.id = req->id;
    rc = dq_net_send_routed(srv->sock, peer, &reply, &srv->buf);
    if (rc == DQ_ETOOBIG || rc == DQ_ERANGE)
        reply_error(srv, peer, rc, req->id, "reply would exceed the maximum message size");
    srv->c.samples += req->n;
    srv->c.sample_msgs++;
    dq_msg_clear(&reply);
}

static void add_stat(dq_stats_reply_t *r, const char *name, double value)
{
    if (r->count >= DQ_STATS_MAX) return;
    snprintf(r->stats[r->count].name, DQ_STAT_NAME_MAX, "%s", name);
    r->stats[r->count].value = value;
    r->count++;
}

static void handle_stats(replay_server_t *srv, const dq_peer_t *peer)
{
    dq_msg_t m = {.type = DQ_MSG_STATS_REPLY};
    dq_stats_reply_t *r = &m.u.stats_reply;
    const counters_t *c = &srv->c;
    add_stat(r, "size", (double)replay_table_size(srv->table));
    add_stat(r, "capacity", (double)replay_table_capacity(srv->table));
    add_stat(r, "obs_dim", (double)replay_table_obs_dim(srv->table));
    add_stat(r, "bytes_per_item", (double)replay_table_item_bytes(srv->table));
    add_stat(r, "inserts", (double)c->inserts);
    add_stat(r, "insert_msgs", (double)c->insert_msgs);
    add_stat(r, "samples", (double)c->samples);
    add_stat(r, "sample_msgs", (double)c->sample_msgs);
    add_stat(r, "rejects", (double)c->rejects);
    for (int i = 1; i < N_ERR_CODES; i++) {
        if (!c->rejects_by_code[i]) continue;
        char name[DQ_STAT_NAME_MAX];
        snprintf(name, sizeof name, "rejects.%s", dq_errname(-i));
        add_stat(r, name, (double)c->rejects_by_code[i]);
    }
    for (size_t a = 0; a < c->n_actors; a++) {
        char name[DQ_STAT_NAME_MAX];
        snprintf(name, sizeof name, "actor.%zu.inserts", a);
        add_stat(r, name, (double)c->per_actor[a]);
    }
    srv->c.stats_msgs++;
    dq_net_send_routed(srv->sock, peer, &m, &srv->buf);
}

static void handle_one(replay_server_t *srv)
{
    dq_peer_t peer;
    dq_msg_t m;
    char why[256] = "";
    int rc = dq_net_recv_routed(srv->sock, &peer, &m, srv->max_bytes, why, sizeof why);
    if (rc == DQ_ETIMEOUT || rc == DQ_EINTERRUPTED || rc == DQ_ENET) return;
    if (rc < 0) {
        reply_error(srv, &peer, rc, 0, why);
        return;
    }
    switch (m.type) {
    case DQ_MSG_INSERT: handle_insert(srv, &peer, &m.u.insert); break;
    case DQ_MSG_SAMPLE: handle_sample(srv, &peer, &m.u.sample); break;
    case DQ_MSG_STATS: handle_stats(srv, &peer); break;
    case DQ_MSG_UPDATE_PRIORITIES: {
        /* The uniform table has no priorities: acknowledge, update nothing. */
        dq_msg_t ack = {.type = DQ_MSG_ACK, .u.ack = {.count = 0}};
        dq_net_send_routed(srv->sock, &peer, &ack, &srv->buf);
        break;
    }
    case DQ_MSG_CHECKPOINT:
        reply_error(srv, &peer, DQ_EUNSUPPORTED, m.u.checkpoint.id,
                    "this server keeps no checkpoints");
        break;
    default: {
        char what[96];
        snprintf(what, sizeof what, "'%s' is not a request the replay server serves",
                 dq_msg_type_name(m.type));
        reply_error(srv, &peer, DQ_EUNKNOWN_TYPE, 0, what);
    }
    }
    dq_msg_clear(&m);
}

int replay_server_run(replay_server_t *srv)
{
    DQ_INFO("serving table 'main' (capacity %zu, uniform, FIFO) on %s",
            replay_table_capacity(srv->table), srv->bound);
    double last_log = dq_now();
    uint64_t last_inserts = 0, last_samples = 0;
    while (!dq_cli_stop_requested()) {
        zmq_pollitem_t item = {srv->sock, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&item, 1, 200);
        if (n < 0 && zmq_errno() != EINTR) {
            DQ_ERROR("zmq_poll: %s", zmq_strerror(zmq_errno()));
            return DQ_ENET;
        }
        /* Drain what is queued, bounded so the periodic log still runs. */
        for (int i = 0; n > 0 && i < 1000; i++) {
            handle_one(srv);
            zmq_pollitem_t again = {srv->sock, 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&again, 1, 0) <= 0) break;
        }
        double now = dq_now();
        if (now - last_log >= 10.0) {
            double dt = now - last_log;
            DQ_INFO("size %zu/%zu, inserts %.0f/s, samples %.0f/s, rejects %" PRIu64,
                    replay_table_size(srv->table), replay_table_capacity(srv->table),
                    (double)(srv->c.inserts - last_inserts) / dt,
                    (double)(srv->c.samples - last_samples) / dt, srv->c.rejects);
            last_log = now;
            last_inserts = srv->c.inserts;
            last_samples = srv->c.samples;
        }
    }
    DQ_INFO("stopping: %" PRIu64 " items inserted, %" PRIu64 " sampled, %" PRIu64 " rejected",
            srv->c.inserts, srv->c.samples, srv->c.rejects);
    return DQ_OK;
}
