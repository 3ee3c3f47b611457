/* server.c - see server.h. */
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "curve.h"
#include "err.h"
#include "log.h"
#include "net.h"
#include "replay.h"
#include "wal.h"
#include "wire.h"

/* A request the rate limiter deferred. */
typedef struct {
    dq_peer_t peer;
    double deadline;
    union {
        dq_insert_t ins;
        dq_sample_t smp;
    } u;
} pending_t;

/* A reply to an INSERT held until the log is synced: an ACK (code 0) or an
 * ERROR queued behind one, so that replies keep the order of the requests. */
typedef struct {
    dq_peer_t peer;
    dq_ack_t ack;
    int code;
    char *why; /* (code < 0) the ERROR's message */
} held_t;

typedef struct {
    held_t *v;
    size_t len, cap;
} held_list_t;

/* A growable ring buffer of pending_t. */
typedef struct {
    pending_t *v;
    size_t head, len, cap, max;
} fifo_t;

struct replay_server {
    const dq_config_t *cfg;
    replay_t *r;
    void *zctx, *sock;
    curve_server_t *curve;
    dq_buf_t buf;
    size_t max_bytes;
    double wait_s;
    fifo_t inserts, samples;
    double started, next_checkpoint;
    wal_t *wal;                           /* NULL without replay.log */
    char wal_path[DQ_CONFIG_STR_MAX + 8]; /* CHECKPOINT.wal */
    held_list_t held;                     /* replies waiting for the log's sync */
    double sync_deadline;                 /* when the held replies' group is synced */
    uint64_t durable_key;                 /* items with smaller keys are durable */
    int log_on;                           /* replay.checkpoint and replay.log */
    wal_fsync_t log_mode;                 /* replay.fsync */
    int fresh;            /* replay.restore off over an old checkpoint: replace it at start */
    int fatal;            /* the log failed: stop serving */
    double size_retry_at; /* after a failed log-size checkpoint, no retry before this */
    int ran;              /* the loop ran: a final checkpoint is worth writing */
    double last_insert;   /* when the last INSERT arrived (the stop grace's quiet time) */
    char bound[256];      /* the endpoint actually bound (resolves a wildcard port) */
};

static int fifo_push(fifo_t *q, const pending_t *p)
{
    if (q->len >= q->max) return DQ_ERANGE;
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        if (cap > q->max) cap = q->max;
        pending_t *v = malloc(cap * sizeof *v);
        if (!v) return DQ_ENOMEM;
        for (size_t i = 0; i < q->len; i++) v[i] = q->v[(q->head + i) % q->cap];
        free(q->v);
        q->v = v;
        q->cap = cap;
        q->head = 0;
    }
    q->v[(q->head + q->len) % q->cap] = *p;
    q->len++;
    return DQ_OK;
}

static pending_t *fifo_head(fifo_t *q) { return q->len ? &q->v[q->head] : NULL; }

static void fifo_pop(fifo_t *q)
{
    q->head = (q->head + 1) % q->cap;
    q->len--;
}

static void reply_error(replay_server_t *srv, const dq_peer_t *peer, int code, uint64_t id,
                        const char *why)
{
    replay_count_reject(srv->r, code);
    DQ_DEBUG("rejected request %" PRIu64 ": %s: %s", id, dq_errname(code), why);
    dq_msg_t m;
    dq_msg_error(&m, code, id, why);
    dq_net_send_routed(srv->sock, peer, &m, &srv->buf);
}

static void send_ack(replay_server_t *srv, const dq_peer_t *peer, const dq_ack_t *ack)
{
    dq_msg_t m = {.type = DQ_MSG_ACK, .u.ack = *ack};
    dq_net_send_routed(srv->sock, peer, &m, &srv->buf);
}

static int held_push(held_list_t *h, const dq_peer_t *peer, const dq_ack_t *ack, int code,
                     const char *why)
{
    if (h->len == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        held_t *v = realloc(h->v, cap * sizeof *v);
        if (!v) return DQ_ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    held_t *x = &h->v[h->len];
    *x = (held_t){.peer = *peer, .ack = *ack, .code = code};
    if (code < 0 && !(x->why = strdup(why))) return DQ_ENOMEM;
    h->len++;
    return DQ_OK;
}

/* Sends (or, while the log holds unsynced records, queues) the reply to an
 * INSERT: ACK when code is 0, else ERROR code with id ack->seq. */
static void insert_reply(replay_server_t *srv, const dq_peer_t *peer, const dq_ack_t *ack, int code,
                         const char *why)
{
    if (srv->held.len > 0) {
        if (code < 0) replay_count_reject(srv->r, code);
        if (held_push(&srv->held, peer, ack, code, why) == DQ_OK) return;
        DQ_ERROR("out of memory holding an insert reply: the reply is dropped (the client "
                 "resends)");
        return;
    }
    if (code < 0)
        reply_error(srv, peer, code, ack->seq, why);
    else
        send_ack(srv, peer, ack);
}

static void log_failed(replay_server_t *srv, const char *why)
{
    if (!srv->fatal)
        DQ_ERROR("%s; stopping: no insert is acknowledged that is not in the log", why);
    srv->fatal = 1;
}

/* Syncs the log, then sends the held replies in order (or, if the log
 * failed, drops them: those inserts were never acknowledged). */
static void release_held(replay_server_t *srv)
{
    char why[600];
    int ok = !srv->fatal;
    if (ok && srv->wal && wal_sync(srv->wal, why, sizeof why) < 0) {
        log_failed(srv, why);
        ok = 0;
    }
    for (size_t i = 0; i < srv->held.len; i++) {
        held_t *x = &srv->held.v[i];
        if (ok && x->code < 0) {
            dq_msg_t m;
            dq_msg_error(&m, x->code, x->ack.seq, x->why);
            dq_net_send_routed(srv->sock, &x->peer, &m, &srv->buf);
        } else if (ok) {
            send_ack(srv, &x->peer, &x->ack);
        }
        free(x->why);
    }
    srv->held.len = 0;
    if (ok) srv->durable_key = replay_table_next_key(replay_table(srv->r));
}

/* Logs a stored insert and sends or holds its ACK, as replay.fsync says. */
static void log_and_ack(replay_server_t *srv, const dq_peer_t *peer, const dq_insert_t *ins,
                        const dq_ack_t *ack)
{
    char why[600];
    if (srv->fatal || !srv->wal) return; /* never acknowledged: resent to the next server */
    if (wal_append(srv->wal, ins, why, sizeof why) < 0) {
        log_failed(srv, why);
        return;
    }
    switch (wal_mode(srv->wal)) {
    case WAL_FSYNC_GROUP:
        if (srv->held.len == 0)
            srv->sync_deadline = dq_now() + (double)srv->cfg->replay_group_commit_ms / 1000.0;
        if (held_push(&srv->held, peer, ack, 0, NULL) < 0)
            log_failed(srv, "out of memory holding an ACK");
        return;
    case WAL_FSYNC_ALWAYS:
        release_held(srv); /* syncs */
        if (srv->fatal) return;
        break;
    case WAL_FSYNC_NONE: break; /* written by wal_append */
    }
    srv->durable_key = replay_table_next_key(replay_table(srv->r));
    send_ack(srv, peer, ack);
}

static void send_items(replay_server_t *srv, const dq_peer_t *peer, dq_items_t *items)
{
    dq_msg_t m = {.type = DQ_MSG_ITEMS, .u.items = *items};
    int rc = dq_msg_encode(&m, &srv->buf);
    if (rc == DQ_OK && srv->buf.len > srv->max_bytes) rc = DQ_ETOOBIG;
    if (rc < 0) {
        char why[160];
        snprintf(why, sizeof why,
                 "the reply of %" PRIu32 " items would exceed "
                 "run.max_message_bytes = %zu",
                 items->batch.count, srv->max_bytes);
        reply_error(srv, peer, rc, items->id, why);
    } else {
        zmq_send(srv->sock, peer->data, peer->len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        if (peer->envelope) zmq_send(srv->sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(srv->sock, srv->buf.data, srv->buf.len, ZMQ_DONTWAIT);
    }
    dq_msg_clear(&m);
    memset(items, 0, sizeof *items);
}

static double rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0.0;
    unsigned long size = 0, rss = 0;
    int n = fscanf(f, "%lu %lu", &size, &rss);
    fclose(f);
    return n == 2 ? (double)rss * (double)sysconf(_SC_PAGESIZE) : 0.0;
}

/* After a checkpoint of generation gen is in place: an empty log of that
 * generation replaces the old one (with replay.log), or the log is removed. */
static void rotate_log(replay_server_t *srv, uint64_t gen)
{
    char why[600];
    if (!srv->log_on) {
        if (unlink(srv->wal_path) == 0) DQ_INFO("removed %s (replay.log is off)", srv->wal_path);
        return;
    }
    wal_t *w = wal_create(srv->wal_path, gen, srv->log_mode, why, sizeof why);
    if (!w) {
        log_failed(srv, why);
        return;
    }
    wal_close(&srv->wal);
    srv->wal = w;
}

static int write_checkpoint(replay_server_t *srv, const char *reason)
{
    replay_counters_t *c = replay_counters(srv->r);
    char why[600];
    release_held(srv);          /* everything logged is durable and acknowledged first */
    int was_fatal = srv->fatal; /* after a log failure, a checkpoint still saves all */
    double t0 = dq_now();
    uint64_t gen = replay_log_generation(srv->r);
    replay_set_log_generation(srv->r, gen + 1);
    c->checkpoints++; /* counted before writing, so the file holds its own count */
    int rc = replay_save(srv->r, srv->cfg->replay_checkpoint, NULL, NULL, why, sizeof why);
    double dt = dq_now() - t0;
    if (rc < 0) {
        replay_set_log_generation(srv->r, gen); /* the log still continues the old file */
        c->checkpoints--;
        c->checkpoint_failures++;
        DQ_ERROR("%s", why);
        return rc;
    }
    rotate_log(srv, gen + 1);
    c->checkpoint_seconds = dt;
    DQ_INFO("checkpoint (%s): %zu items written to %s in %.2f s", reason,
            replay_table_size(replay_table(srv->r)), srv->cfg->replay_checkpoint, dt);
    return srv->fatal && !was_fatal ? DQ_EIO : DQ_OK;
}

/* The state from the checkpoint (replay.restore, when the file exists) or
 * empty. */
static int load_state(replay_server_t *srv, int exists, char *why, size_t whylen)
{
    const dq_config_t *cfg = srv->cfg;
    if (cfg->replay_restore && exists) {
        srv->r = replay_load(cfg, cfg->replay_checkpoint, why, whylen);
        if (!srv->r) return DQ_EFORMAT;
        const replay_table_t *t = replay_table(srv->r);
        DQ_INFO("restored %zu items (next key %" PRIu64 ") from %s", replay_table_size(t),
                replay_table_next_key(t), cfg->replay_checkpoint);
        return DQ_OK;
    }
    if (cfg->replay_restore)
        DQ_INFO("replay.restore: %s does not exist yet, starting empty", cfg->replay_checkpoint);
    else if (exists)
        DQ_WARN("%s exists and replay.restore is off: starting empty%s", cfg->replay_checkpoint,
                cfg->replay_log ? ", and an empty checkpoint replaces it now"
                                : ", and the next checkpoint replaces it");
    srv->r = replay_new(cfg, why, whylen);
    return srv->r ? DQ_OK : DQ_ECONFIG;
}

/* replay.restore: the log continues the restored checkpoint (or an empty
 * state when there is none): apply it and keep appending to it. */
static int recover_log(replay_server_t *srv, wal_fsync_t mode, char *why, size_t whylen)
{
    wal_scan_t sc;
    uint64_t gen = replay_log_generation(srv->r);
    int rc = wal_recover(srv->r, srv->wal_path, gen, &sc, why, whylen);
    if (rc < 0) return rc;
    if (!sc.found || sc.stale) {
        if (sc.stale)
            DQ_INFO("%s (generation %" PRIu64 ") is older than the checkpoint (generation "
                    "%" PRIu64 "), which holds it already: replaced by an empty log",
                    srv->wal_path, sc.generation, gen);
        srv->wal = wal_create(srv->wal_path, gen, mode, why, whylen);
        return srv->wal ? DQ_OK : DQ_EIO;
    }
    const replay_table_t *t = replay_table(srv->r);
    DQ_INFO("replayed %" PRIu64 " inserts (%" PRIu64 " transitions) from %s; %zu items held, "
            "next key %" PRIu64,
            sc.records, sc.items, srv->wal_path, replay_table_size(t), replay_table_next_key(t));
    if (sc.duplicates)
        DQ_WARN("%s: %" PRIu64 " records were already held and were skipped", srv->wal_path,
                sc.duplicates);
    if (sc.dropped_bytes)
        DQ_WARN("%s: a torn last record (%" PRIu64 " bytes at byte %" PRIu64
                ", never acknowledged) was dropped and cut off",
                srv->wal_path, sc.dropped_bytes, sc.good_bytes);
    srv->wal = wal_open(srv->wal_path, gen, sc.good_bytes, mode, why, whylen);
    return srv->wal ? DQ_OK : DQ_EIO;
}

/* replay.restore off. Without a checkpoint: a new empty log (generation 0,
 * that of an empty state). Over an old checkpoint: no log until the loop
 * starts and replaces the checkpoint by the empty state (a failed start
 * leaves it alone), with a generation above the old log's, so that a crash
 * before the new log is in place leaves an old one that is skipped. */
static int fresh_log(replay_server_t *srv, int exists, char *why, size_t whylen)
{
    if (!exists) {
        srv->wal = wal_create(srv->wal_path, 0, srv->log_mode, why, whylen);
        return srv->wal ? DQ_OK : DQ_EIO;
    }
    uint64_t old = 0;
    char err[600];
    if (access(srv->wal_path, F_OK) == 0 &&
        wal_peek_generation(srv->wal_path, &old, err, sizeof err) < 0)
        old = 0;
    replay_set_log_generation(srv->r, old); /* the checkpoint at start writes old + 1 */
    srv->fresh = 1;
    return DQ_OK;
}

/* The state and, with replay.checkpoint and replay.log, the log. */
static int open_state(replay_server_t *srv, char *why, size_t whylen)
{
    const dq_config_t *cfg = srv->cfg;
    const char *ck = cfg->replay_checkpoint;
    int exists = ck[0] && access(ck, F_OK) == 0;
    if (ck[0]) wal_remove_stale_temps(ck);
    int rc = load_state(srv, exists, why, whylen);
    if (rc < 0 || !ck[0]) return rc;
    snprintf(srv->wal_path, sizeof srv->wal_path, "%s.wal", ck);
    if (!cfg->replay_log) {
        if (access(srv->wal_path, F_OK) == 0)
            DQ_WARN("replay.log is off: %s is not replayed, and the next checkpoint removes it",
                    srv->wal_path);
        return DQ_OK;
    }
    int mode = wal_fsync_parse(cfg->replay_fsync);
    if (mode < 0) {
        snprintf(why, whylen, "replay.fsync = %s: expected always, group or none",
                 cfg->replay_fsync);
        return DQ_ECONFIG;
    }
    srv->log_on = 1;
    srv->log_mode = (wal_fsync_t)mode;
    rc = cfg->replay_restore ? recover_log(srv, srv->log_mode, why, whylen)
                             : fresh_log(srv, exists, why, whylen);
    if (rc == DQ_OK) srv->durable_key = replay_table_next_key(replay_table(srv->r));
    return rc;
}

replay_server_t *replay_server_new(const dq_config_t *cfg, char *why, size_t whylen)
{
    replay_server_t *srv = calloc(1, sizeof *srv);
    if (!srv) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    srv->cfg = cfg;
    srv->max_bytes = (size_t)cfg->run_max_message_bytes;
    srv->wait_s = (double)cfg->replay_wait_timeout_ms / 1000.0;
    srv->inserts.max = srv->samples.max = (size_t)cfg->replay_max_waiting;
    if (cfg->replay_restore && !cfg->replay_checkpoint[0]) {
        snprintf(why, whylen, "replay.restore is on but replay.checkpoint names no file");
        goto fail;
    }
    if (open_state(srv, why, whylen) < 0) goto fail;
    srv->zctx = zmq_ctx_new();
    if (!srv->zctx) {
        snprintf(why, whylen, "cannot create the ZeroMQ context");
        goto fail;
    }
    srv->sock = zmq_socket(srv->zctx, ZMQ_ROUTER);
    if (!srv->sock || dq_net_configure(srv->sock, srv->max_bytes) < 0) {
        snprintf(why, whylen, "cannot create the ROUTER socket: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (cfg->replay_curve) {
        srv->curve = curve_server_new(srv->zctx, srv->sock, cfg, why, whylen);
        if (!srv->curve) goto fail;
    } else if (!strstr(cfg->replay_endpoint, "127.0.0.1") &&
               !strstr(cfg->replay_endpoint, "localhost") &&
               strncmp(cfg->replay_endpoint, "ipc://", 6) != 0 &&
               strncmp(cfg->replay_endpoint, "inproc://", 9) != 0) {
        DQ_WARN("replay.endpoint=%s is reachable from other hosts and replay.curve is off: any "
                "peer that can connect can insert and sample",
                cfg->replay_endpoint);
    }
    char record[DQ_CONFIG_STR_MAX + 32];
    snprintf(record, sizeof record, "%s/replay.endpoint", cfg->run_dir);
    if (dq_mkdir_p(cfg->run_dir) < 0 ||
        dq_net_bind(srv->sock, cfg->replay_endpoint, record, srv->bound, sizeof srv->bound) < 0) {
        snprintf(why, whylen, "cannot bind replay.endpoint=%s (or record it in %s): %s",
                 cfg->replay_endpoint, record, zmq_strerror(zmq_errno()));
        goto fail;
    }
    srv->started = dq_now();
    srv->next_checkpoint = srv->started + cfg->replay_checkpoint_every;
    return srv;
fail:
    replay_server_destroy(&srv);
    return NULL;
}

static void drop_waiting(replay_server_t *srv, const char *why)
{
    pending_t *p;
    while ((p = fifo_head(&srv->inserts))) {
        dq_ack_t ack = {.seq = p->u.ins.seq};
        if (srv->sock) insert_reply(srv, &p->peer, &ack, DQ_ETIMEOUT, why);
        dq_batch_free(&p->u.ins.batch);
        fifo_pop(&srv->inserts);
    }
    while ((p = fifo_head(&srv->samples))) {
        if (srv->sock) reply_error(srv, &p->peer, DQ_ETIMEOUT, p->u.smp.id, why);
        fifo_pop(&srv->samples);
    }
}

int replay_server_destroy(replay_server_t **self_p)
{
    if (!self_p || !*self_p) return DQ_OK;
    replay_server_t *srv = *self_p;
    int rc = DQ_OK;
    if (srv->r) drop_waiting(srv, "the replay server is stopping; resend after it restarts");
    if (srv->r) release_held(srv);
    /* Not after a failed start: that would replace a good checkpoint. */
    if (srv->ran && srv->cfg->replay_checkpoint[0]) {
        rc = write_checkpoint(srv, "stop");
        if (rc < 0)
            DQ_ERROR("the final checkpoint failed: %s",
                     srv->log_on ? "every acknowledged insert since the last checkpoint is in "
                                   "the log (restart with replay.restore)"
                                 : "what was stored since the last checkpoint is lost");
    }
    wal_close(&srv->wal);
    free(srv->held.v);
    curve_server_destroy(&srv->curve);
    if (srv->sock) zmq_close(srv->sock);
    if (srv->zctx) zmq_ctx_term(srv->zctx);
    replay_destroy(&srv->r);
    free(srv->inserts.v);
    free(srv->samples.v);
    dq_buf_free(&srv->buf);
    free(srv);
    *self_p = NULL;
    return rc;
}

/* Serves the insert, or reports REPLAY_WAIT (then *ins is left to the caller). */
static int try_insert(replay_server_t *srv, const dq_peer_t *peer, dq_insert_t *ins)
{
    char why[256] = "";
    dq_ack_t ack;
    int rc = replay_insert(srv->r, ins, &ack, why, sizeof why);
    if (rc == REPLAY_WAIT) return rc;
    if (rc == DQ_OK && !ack.duplicate && srv->log_on) {
        log_and_ack(srv, peer, ins, &ack);
        return rc;
    }
    insert_reply(srv, peer, &ack, rc, why);
    return rc;
}

static int try_sample(replay_server_t *srv, const dq_peer_t *peer, const dq_sample_t *smp)
{
    char why[256] = "";
    dq_items_t items;
    int rc = replay_sample(srv->r, smp, &items, why, sizeof why);
    if (rc == REPLAY_WAIT) return rc;
    if (rc < 0) {
        reply_error(srv, peer, rc, smp->id, why);
        return rc;
    }
    /* An item whose insert is not durable yet would, after a crash, be gone
     * and its key given to another item: sync before handing its key out. */
    if (srv->held.len > 0)
        for (uint32_t i = 0; i < items.batch.count; i++)
            if (items.keys[i] >= srv->durable_key) {
                release_held(srv);
                break;
            }
    send_items(srv, peer, &items);
    return rc;
}

/* Retries the heads of both FIFOs until neither makes progress. */
static void serve_waiting(replay_server_t *srv)
{
    int progress = 1;
    while (progress) {
        progress = 0;
        pending_t *p;
        while ((p = fifo_head(&srv->inserts)) &&
               try_insert(srv, &p->peer, &p->u.ins) != REPLAY_WAIT) {
            dq_batch_free(&p->u.ins.batch);
            fifo_pop(&srv->inserts);
            progress = 1;
        }
        while ((p = fifo_head(&srv->samples)) &&
               try_sample(srv, &p->peer, &p->u.smp) != REPLAY_WAIT) {
            fifo_pop(&srv->samples);
            progress = 1;
        }
    }
}

/* Answers TIMEOUT to the waiting requests whose deadline has passed. */
static void expire_waiting(replay_server_t *srv, double now)
{
    replay_counters_t *c = replay_counters(srv->r);
    pending_t *p;
    int expired = 0;
    char why[200];
    while ((p = fifo_head(&srv->inserts)) && p->deadline <= now) {
        snprintf(why, sizeof why,
                 "insert seq %" PRIu64 " of actor %" PRIu32 " waited %.3f s for the rate "
                 "limiter (the learner is behind); resend it",
                 p->u.ins.seq, p->u.ins.actor, srv->wait_s);
        replay_insert_timed_out(srv->r, p->u.ins.actor, p->u.ins.run, p->u.ins.seq);
        dq_ack_t ack = {.seq = p->u.ins.seq};
        insert_reply(srv, &p->peer, &ack, DQ_ETIMEOUT, why);
        c->insert_timeouts++;
        dq_batch_free(&p->u.ins.batch);
        fifo_pop(&srv->inserts);
        expired = 1;
    }
    while ((p = fifo_head(&srv->samples)) && p->deadline <= now) {
        snprintf(why, sizeof why,
                 "sample id %" PRIu64 " waited %.3f s for the rate limiter (too few inserts, or "
                 "below replay.min_size_to_sample)",
                 p->u.smp.id, srv->wait_s);
        reply_error(srv, &p->peer, DQ_ETIMEOUT, p->u.smp.id, why);
        c->sample_timeouts++;
        fifo_pop(&srv->samples);
        expired = 1;
    }
    if (expired) serve_waiting(srv);
}

static void defer(replay_server_t *srv, fifo_t *q, const dq_peer_t *peer, dq_msg_t *m)
{
    replay_counters_t *c = replay_counters(srv->r);
    pending_t p = {.peer = *peer, .deadline = dq_now() + srv->wait_s};
    int is_insert = m->type == DQ_MSG_INSERT;
    if (is_insert)
        p.u.ins = m->u.insert;
    else
        p.u.smp = m->u.sample;
    if (fifo_push(q, &p) < 0) {
        c->overflows++;
        char why[160];
        snprintf(why, sizeof why,
                 "%zu %s requests are already waiting for the rate limiter "
                 "(replay.max_waiting); resend later",
                 q->len, is_insert ? "insert" : "sample");
        if (is_insert) {
            dq_ack_t ack = {.seq = m->u.insert.seq};
            insert_reply(srv, peer, &ack, DQ_ETIMEOUT, why);
        } else {
            reply_error(srv, peer, DQ_ETIMEOUT, m->u.sample.id, why);
        }
        return; /* the caller frees m */
    }
    if (is_insert)
        c->insert_waits++;
    else
        c->sample_waits++;
    memset(&m->u, 0, sizeof m->u); /* the FIFO owns the arrays now */
}

static void handle_checkpoint(replay_server_t *srv, const dq_peer_t *peer, uint64_t id)
{
    if (!srv->cfg->replay_checkpoint[0]) {
        reply_error(srv, peer, DQ_EUNSUPPORTED, id,
                    "this server keeps no checkpoints (replay.checkpoint is empty)");
        return;
    }
    int rc = write_checkpoint(srv, "requested");
    if (rc < 0) {
        reply_error(srv, peer, rc, id, "writing the checkpoint failed (see the server log)");
        return;
    }
    dq_ack_t ack = {.seq = id};
    send_ack(srv, peer, &ack);
}

static void handle_stats(replay_server_t *srv, const dq_peer_t *peer, const dq_stats_t *req)
{
    dq_msg_t m = {.type = DQ_MSG_STATS_REPLY};
    dq_stats_reply_t *s = &m.u.stats_reply;
    replay_counters(srv->r)->stats_msgs++;
    /* What STATS reports (size, inserts, next_key) is durable: it never goes
     * back after a crash. */
    if (srv->held.len > 0) release_held(srv);
    if (req->paged) {
        replay_stat_add(s, "actors", (double)replay_actor_count(srv->r));
        replay_stats_actors(srv->r, s, req->actor_from);
        dq_net_send_routed(srv->sock, peer, &m, &srv->buf);
        return;
    }
    replay_stats(srv->r, s, rss_bytes(), dq_now() - srv->started,
                 srv->inserts.len + srv->samples.len);
    replay_stat_add(s, "log.enabled", srv->wal != NULL);
    if (srv->wal) {
        replay_stat_add(s, "log.generation", (double)wal_generation(srv->wal));
        replay_stat_add(s, "log.bytes", (double)wal_bytes(srv->wal));
        replay_stat_add(s, "log.records", (double)wal_records(srv->wal));
        replay_stat_add(s, "log.syncs", (double)wal_syncs(srv->wal));
        replay_stat_add(s, "log.held", (double)srv->held.len);
    }
    if (srv->curve) {
        replay_stat_add(s, "curve.accepted", (double)curve_server_accepted(srv->curve));
        replay_stat_add(s, "curve.denied", (double)curve_server_denied(srv->curve));
    }
    replay_stats_actors(srv->r, s, 0);
    dq_net_send_routed(srv->sock, peer, &m, &srv->buf);
}

static void handle_one(replay_server_t *srv)
{
    dq_peer_t peer;
    dq_msg_t m;
    uint64_t id;
    char why[256] = "";
    int rc = dq_net_recv_routed(srv->sock, &peer, &m, srv->max_bytes, &id, why, sizeof why);
    if (rc == DQ_ETIMEOUT || rc == DQ_ENET || rc == DQ_EINTERRUPTED) return;
    if (rc < 0) {
        reply_error(srv, &peer, rc, id, why);
        return;
    }
    switch (m.type) {
    case DQ_MSG_INSERT:
        srv->last_insert = dq_now();
        if (srv->inserts.len > 0 || try_insert(srv, &peer, &m.u.insert) == REPLAY_WAIT)
            defer(srv, &srv->inserts, &peer, &m);
        else
            serve_waiting(srv);
        break;
    case DQ_MSG_SAMPLE:
        if (srv->samples.len > 0 || try_sample(srv, &peer, &m.u.sample) == REPLAY_WAIT)
            defer(srv, &srv->samples, &peer, &m);
        else
            serve_waiting(srv);
        break;
    case DQ_MSG_UPDATE_PRIORITIES: {
        dq_ack_t ack;
        rc = replay_update_priorities(srv->r, &m.u.update_priorities, &ack, why, sizeof why);
        if (rc < 0)
            reply_error(srv, &peer, rc, 0, why);
        else
            send_ack(srv, &peer, &ack);
        break;
    }
    case DQ_MSG_STATS: handle_stats(srv, &peer, &m.u.stats); break;
    case DQ_MSG_CHECKPOINT: handle_checkpoint(srv, &peer, m.u.checkpoint.id); break;
    default: {
        char what[96];
        snprintf(what, sizeof what, "'%s' is not a request the replay server serves",
                 dq_msg_type_name(m.type));
        reply_error(srv, &peer, DQ_EUNKNOWN_TYPE, 0, what);
    }
    }
    dq_msg_clear(&m);
}

/* The log's size limit (replay.log_max_mb; 0 = a full table, at least 64 MiB). */
static uint64_t log_limit(const replay_server_t *srv)
{
    if (srv->cfg->replay_log_max_mb > 0) return (uint64_t)srv->cfg->replay_log_max_mb << 20;
    const replay_table_t *t = replay_table(srv->r);
    uint64_t full = (uint64_t)replay_table_capacity(t) * replay_table_item_bytes(t);
    return full > (64u << 20) ? full : 64u << 20;
}

/* Deadlines: waiting requests, the group commit, checkpoints. */
static void run_timers(replay_server_t *srv, double now)
{
    const dq_config_t *cfg = srv->cfg;
    expire_waiting(srv, now);
    if (srv->held.len > 0 && now >= srv->sync_deadline) release_held(srv);
    if (cfg->replay_checkpoint[0] && cfg->replay_checkpoint_every > 0 &&
        now >= srv->next_checkpoint) {
        write_checkpoint(srv, "periodic");
        srv->next_checkpoint = dq_now() + cfg->replay_checkpoint_every;
    } else if (srv->wal && !srv->fatal && wal_bytes(srv->wal) > log_limit(srv) &&
               now >= srv->size_retry_at) {
        if (write_checkpoint(srv, "log size") < 0) srv->size_retry_at = dq_now() + 10.0;
    }
}

/* When the loop must wake up next at the latest. */
static double next_wake(const replay_server_t *srv, double now)
{
    double wake = now + 0.2;
    const pending_t *hi = fifo_head((fifo_t *)&srv->inserts),
                    *hs = fifo_head((fifo_t *)&srv->samples);
    if (hi && hi->deadline < wake) wake = hi->deadline;
    if (hs && hs->deadline < wake) wake = hs->deadline;
    if (srv->held.len > 0 && srv->sync_deadline < wake) wake = srv->sync_deadline;
    return wake;
}

/* Waits for requests until wake (or a signal), serves what is queued and
 * runs the timers. DQ_ENET when polling fails. */
static int poll_once(replay_server_t *srv, double wake)
{
    zmq_pollitem_t items[2] = {{srv->sock, 0, ZMQ_POLLIN, 0}, {NULL, 0, ZMQ_POLLIN, 0}};
    int n_items = 1;
    if (srv->curve) items[n_items++].socket = curve_server_socket(srv->curve);
    double now = dq_now();
    long timeout_ms = wake > now ? (long)((wake - now) * 1000.0) + 1 : 0;
    int n = zmq_poll(items, n_items, timeout_ms);
    if (n < 0 && zmq_errno() != EINTR) {
        DQ_ERROR("zmq_poll: %s", zmq_strerror(zmq_errno()));
        return DQ_ENET;
    }
    if (n > 0 && n_items > 1 && (items[1].revents & ZMQ_POLLIN)) curve_server_handle(srv->curve);
    /* Drain what is queued, bounded so that timers still run. */
    if (n > 0 && (items[0].revents & ZMQ_POLLIN)) {
        for (int i = 0; i < 1000 && !srv->fatal; i++) {
            handle_one(srv);
            int ev = 0;
            size_t sz = sizeof ev;
            if (zmq_getsockopt(srv->sock, ZMQ_EVENTS, &ev, &sz) != 0 || !(ev & ZMQ_POLLIN)) break;
        }
    }
    run_timers(srv, dq_now());
    return DQ_OK;
}

/* A stop signal that comes this long after the first ends the grace; one
 * sooner is the same stop delivered twice (scancel signals a task directly
 * and through deploy/cluster-task.sh). */
#define GRACE_SECOND_SIGNAL_S 1.0

/* Why the grace ends now, or NULL while it goes on. */
static const char *grace_over(const replay_server_t *srv, double t0, int *signals)
{
    const dq_config_t *cfg = srv->cfg;
    double now = dq_now();
    if (srv->fatal) return "the log failed";
    if (now < t0 + GRACE_SECOND_SIGNAL_S)
        *signals = dq_cli_stop_signals();
    else if (dq_cli_stop_signals() > *signals)
        return "a second stop signal";
    if (now >= t0 + cfg->replay_stop_grace) return "replay.stop_grace is over";
    if (now - srv->last_insert >= cfg->replay_stop_quiet) return "no INSERT for replay.stop_quiet";
    return NULL;
}

/* The stop grace (replay.stop_grace > 0): the inserts waiting for the rate
 * limiter are stored, and INSERTs are taken without it until none has come
 * for replay.stop_quiet s, the grace is over or a second stop signal comes.
 * ACKs go out as always, once the log holds the inserts durably. */
static int stop_grace(replay_server_t *srv)
{
    const dq_config_t *cfg = srv->cfg;
    if (cfg->replay_stop_grace <= 0.0 || srv->fatal) return DQ_OK;
    const replay_counters_t *c = replay_counters(srv->r);
    uint64_t msgs0 = c->insert_msgs, items0 = c->inserts;
    size_t waiting = srv->inserts.len;
    double t0 = dq_now();
    int signals = dq_cli_stop_signals(), rc = DQ_OK;
    DQ_INFO("stopping: storing the %zu insert(s) waiting for the rate limiter, then taking "
            "INSERTs for up to %g s (replay.stop_grace) until none comes for %g s",
            waiting, cfg->replay_stop_grace, cfg->replay_stop_quiet);
    replay_set_stopping(srv->r);
    serve_waiting(srv);
    srv->last_insert = t0;
    const char *why;
    while (!(why = grace_over(srv, t0, &signals))) {
        double now = dq_now(), wake = next_wake(srv, now);
        double end = t0 + cfg->replay_stop_grace, quiet = srv->last_insert + cfg->replay_stop_quiet;
        if (end < wake) wake = end;
        if (quiet < wake) wake = quiet;
        if (now < t0 + GRACE_SECOND_SIGNAL_S && t0 + GRACE_SECOND_SIGNAL_S < wake)
            wake = t0 + GRACE_SECOND_SIGNAL_S;
        if ((rc = poll_once(srv, wake)) < 0) break;
    }
    release_held(srv);
    DQ_INFO("stopping: %" PRIu64 " inserts (%" PRIu64 " items, %zu of them had waited for the "
            "rate limiter) taken in the grace of %.2f s; it ended: %s",
            c->insert_msgs - msgs0, c->inserts - items0, waiting, dq_now() - t0,
            rc < 0 ? "polling failed" : why);
    return rc;
}

int replay_server_run(replay_server_t *srv)
{
    const dq_config_t *cfg = srv->cfg;
    replay_table_t *t = replay_table(srv->r);
    DQ_INFO("serving table 'main' (capacity %zu, %s, FIFO, rate limiter %s%s%s%s) on %s",
            replay_table_capacity(t), cfg->replay_sampler, cfg->replay_rate_limit ? "on" : "off",
            cfg->replay_curve ? ", CURVE" : "", srv->wal ? ", log fsync " : "",
            srv->wal ? cfg->replay_fsync : "", srv->bound);
    const replay_counters_t *c = replay_counters(srv->r);
    srv->ran = 1;
    if (srv->fresh && write_checkpoint(srv, "start, replay.restore off") < 0)
        log_failed(srv, "cannot replace the old checkpoint by the empty state");
    double last_log = dq_now();
    uint64_t last_inserts = c->inserts, last_samples = c->samples;
    while (!dq_cli_stop_requested() && !srv->fatal) {
        if (poll_once(srv, next_wake(srv, dq_now())) < 0) return DQ_ENET;
        double now = dq_now();
        if (now - last_log >= 10.0) {
            double dt = now - last_log;
            DQ_INFO("size %zu/%zu, inserts %.0f/s, samples %.0f/s, duplicates %" PRIu64
                    ", waiting %zu, rejects %" PRIu64,
                    replay_table_size(t), replay_table_capacity(t),
                    (double)(c->inserts - last_inserts) / dt,
                    (double)(c->samples - last_samples) / dt, c->duplicates,
                    srv->inserts.len + srv->samples.len, c->rejects);
            last_log = now;
            last_inserts = c->inserts;
            last_samples = c->samples;
        }
    }
    int rc = srv->fatal ? DQ_OK : stop_grace(srv);
    DQ_INFO("stopping: %" PRIu64 " items inserted, %" PRIu64 " sampled, %" PRIu64
            " duplicates dropped, %" PRIu64 " rejected",
            c->inserts, c->samples, c->duplicates, c->rejects);
    return srv->fatal ? DQ_EIO : rc;
}
