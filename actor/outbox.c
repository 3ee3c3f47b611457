/* outbox.c - see outbox.h. */
#include "outbox.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "curve.h"
#include "err.h"
#include "fileio.h"
#include "log.h"
#include "net.h"
#include "rng.h"

typedef enum { SLOT_EMPTY = 0, SLOT_PENDING, SLOT_SENT, SLOT_ACKED } slot_state_t;

typedef struct {
    dq_buf_t bytes; /* the encoded INSERT */
    uint64_t seq;
    uint32_t items;
    slot_state_t state;
    uint32_t sends; /* times handed to ZeroMQ */
} slot_t;

struct outbox {
    outbox_config_t cfg;
    uint64_t run; /* random id of this process's stream (INSERT.run) */
    void *zctx, *sock, *mon;
    char endpoint[256], mon_addr[64];
    unsigned mon_gen; /* a fresh monitor address per reopen */
    slot_t *ring;     /* (cfg.max_unacked) indexed by seq % max_unacked */
    uint64_t base;    /* oldest seq not yet released (acked seqs below it are freed) */
    uint64_t next;    /* seq of the next INSERT */
    int connected;
    int failed;            /* a reconnect failed (no sockets): every later poll returns it */
    double last_progress;  /* last reply, (re)connect, or start of waiting */
    double drain_deadline; /* INFINITY until the drain starts (a stop, or outbox_start_drain) */
    outbox_stats_t st;
};

static slot_t *slot_of(outbox_t *o, uint64_t seq)
{
    return &o->ring[seq % (uint64_t)o->cfg.max_unacked];
}

static void close_sockets(outbox_t *o)
{
    if (o->sock) zmq_close(o->sock);
    if (o->mon) zmq_close(o->mon);
    o->sock = o->mon = NULL;
    o->connected = 0;
}

/* Creates the DEALER, its monitor and connects. Messages are queued only on a
 * completed connection (ZMQ_IMMEDIATE), so nothing new slips onto a dead one;
 * heartbeats turn a silent peer into a disconnect. */
static int open_sockets(outbox_t *o, char *why, size_t whylen)
{
    int one = 1, zero = 0, hb_ivl = 1000, hb_timeout = 5000;
    o->sock = zmq_socket(o->zctx, ZMQ_DEALER);
    if (!o->sock || dq_net_configure(o->sock, o->cfg.max_bytes) < 0 ||
        zmq_setsockopt(o->sock, ZMQ_IMMEDIATE, &one, sizeof one) != 0 ||
        zmq_setsockopt(o->sock, ZMQ_SNDHWM, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(o->sock, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl) != 0 ||
        zmq_setsockopt(o->sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout) != 0)
        goto fail;
    snprintf(o->mon_addr, sizeof o->mon_addr, "inproc://dq-outbox-%p-%u", (void *)o, o->mon_gen++);
    if (zmq_socket_monitor(o->sock, o->mon_addr,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED) != 0)
        goto fail;
    o->mon = zmq_socket(o->zctx, ZMQ_PAIR);
    if (!o->mon || zmq_connect(o->mon, o->mon_addr) != 0) goto fail;
    if (o->cfg.curve_server_public) {
        int rc = curve_client_keys(o->sock, o->cfg.curve_server_public, o->cfg.curve_client_secret,
                                   why, whylen);
        if (rc < 0) {
            close_sockets(o);
            return rc;
        }
    }
    if (zmq_connect(o->sock, o->endpoint) != 0) {
        snprintf(why, whylen, "cannot connect to replay.endpoint=%s: %s", o->endpoint,
                 zmq_strerror(zmq_errno()));
        close_sockets(o);
        return DQ_ENET;
    }
    return DQ_OK;
fail:
    snprintf(why, whylen, "cannot set up the replay socket: %s", zmq_strerror(zmq_errno()));
    close_sockets(o);
    return DQ_ENET;
}

outbox_t *outbox_new(void *zctx, const char *endpoint, const outbox_config_t *cfg, char *why,
                     size_t whylen)
{
    outbox_t *o = calloc(1, sizeof *o);
    /* A restarted actor process with the same actor id gets a new run id,
     * and the server restarts its sequence numbers. */
    if (o) o->run = dq_fresh_id();
    if (!o || cfg->max_unacked < 1 || strlen(endpoint) >= sizeof o->endpoint) {
        snprintf(why, whylen, o ? "bad outbox configuration" : "out of memory");
        free(o);
        return NULL;
    }
    o->cfg = *cfg;
    o->zctx = zctx;
    snprintf(o->endpoint, sizeof o->endpoint, "%s", endpoint);
    o->ring = calloc((size_t)cfg->max_unacked, sizeof *o->ring);
    if (!o->ring) {
        snprintf(why, whylen, "out of memory");
        free(o);
        return NULL;
    }
    if (open_sockets(o, why, whylen) < 0) {
        outbox_destroy(&o);
        return NULL;
    }
    o->last_progress = dq_now();
    o->drain_deadline = INFINITY;
    return o;
}

void outbox_destroy(outbox_t **self_p)
{
    if (!self_p || !*self_p) return;
    outbox_t *o = *self_p;
    close_sockets(o);
    for (int i = 0; o->ring && i < o->cfg.max_unacked; i++) dq_buf_free(&o->ring[i].bytes);
    free(o->ring);
    free(o);
    *self_p = NULL;
}

/* Sends every PENDING slot in seq order; stops at the first that ZeroMQ
 * cannot take now (no connection), so order is kept. */
static void send_pending(outbox_t *o)
{
    if (!o->connected) return;
    for (uint64_t s = o->base; s < o->next; s++) {
        slot_t *sl = slot_of(o, s);
        if (sl->state != SLOT_PENDING) continue;
        if (zmq_send(o->sock, sl->bytes.data, sl->bytes.len, ZMQ_DONTWAIT) < 0) return;
        if (sl->sends++ > 0) o->st.resent_msgs++;
        sl->state = SLOT_SENT;
    }
}

/* Everything sent on the old connection may be lost: send it again. */
static void mark_all_unsent(outbox_t *o)
{
    for (uint64_t s = o->base; s < o->next; s++) {
        slot_t *sl = slot_of(o, s);
        if (sl->state == SLOT_SENT) sl->state = SLOT_PENDING;
    }
}

static void release_acked(outbox_t *o)
{
    while (o->base < o->next && slot_of(o, o->base)->state == SLOT_ACKED) {
        slot_of(o, o->base)->state = SLOT_EMPTY;
        o->base++;
    }
}

static void on_reply(outbox_t *o, const dq_msg_t *m)
{
    o->last_progress = dq_now();
    if (m->type == DQ_MSG_ACK) {
        uint64_t s = m->u.ack.seq;
        if (s < o->base || s >= o->next) return; /* a late ack of a resent duplicate */
        slot_t *sl = slot_of(o, s);
        if (sl->state == SLOT_ACKED || sl->state == SLOT_EMPTY) return;
        sl->state = SLOT_ACKED;
        o->st.acked_msgs++;
        o->st.acked_items += sl->items;
        o->st.duplicate_acks += m->u.ack.duplicate ? 1 : 0;
        o->st.unacked--;
        release_acked(o);
    } else if (m->type == DQ_MSG_ERROR) {
        uint64_t s = m->u.error.id;
        int in_window = s >= o->base && s < o->next;
        slot_t *sl = in_window ? slot_of(o, s) : NULL;
        if (!sl || sl->state == SLOT_ACKED || sl->state == SLOT_EMPTY) {
            DQ_WARN("replay server: %s: %s (request %" PRIu64 ", not outstanding)", m->u.error.name,
                    m->u.error.message, s);
            return;
        }
        if (m->u.error.code == DQ_ETIMEOUT) {
            /* A deferred insert that the server gave up on: send it again. */
            o->st.server_timeouts++;
            sl->state = SLOT_PENDING;
            return;
        }
        /* A refusal of the content itself: resending cannot help. */
        DQ_ERROR("replay server refused INSERT %" PRIu64 " (%u transitions): %s: %s", s, sl->items,
                 m->u.error.name, m->u.error.message);
        o->st.refused++;
        o->st.refused_items += sl->items;
        sl->state = SLOT_ACKED;
        o->st.unacked--;
        release_acked(o);
    } else {
        DQ_WARN("ignored a '%s' message from the replay server", dq_msg_type_name(m->type));
    }
}

static void read_monitor(outbox_t *o)
{
    for (;;) {
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, o->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        uint16_t event = 0;
        if (zmq_msg_size(&ev) >= 2) memcpy(&event, zmq_msg_data(&ev), 2);
        int more = zmq_msg_more(&ev);
        zmq_msg_close(&ev);
        while (more) { /* the endpoint frame */
            zmq_msg_init(&addr);
            more = zmq_msg_recv(&addr, o->mon, 0) >= 0 && zmq_msg_more(&addr);
            zmq_msg_close(&addr);
        }
        if (event == ZMQ_EVENT_DISCONNECTED) {
            if (o->connected)
                DQ_WARN("replay server connection lost; %d INSERT(s) unacknowledged",
                        o->st.unacked);
            o->connected = 0;
            o->last_progress = dq_now();
            o->st.disconnects++;
            mark_all_unsent(o);
        } else if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            if (o->st.disconnects || o->st.reopens)
                DQ_INFO("replay server connected; resending %d INSERT(s) in order", o->st.unacked);
            o->connected = 1;
            o->last_progress = dq_now();
            mark_all_unsent(o);
        }
    }
}

static void read_replies(outbox_t *o)
{
    for (;;) {
        dq_msg_t m;
        char why[256];
        int rc = dq_net_recv(o->sock, &m, o->cfg.max_bytes, ZMQ_DONTWAIT, why, sizeof why);
        if (rc == DQ_ETIMEOUT || rc == DQ_EINTERRUPTED || rc == DQ_ENET) return;
        if (rc < 0) {
            DQ_WARN("bad reply from the replay server: %s: %s", dq_errname(rc), why);
            continue;
        }
        on_reply(o, &m);
        dq_msg_clear(&m);
    }
}

int outbox_poll(outbox_t *o, int timeout_ms)
{
    if (o->failed) return o->failed;
    zmq_pollitem_t items[2] = {{o->sock, 0, ZMQ_POLLIN, 0}, {o->mon, 0, ZMQ_POLLIN, 0}};
    /* With nothing outstanding and connected, a 0-timeout poll is the hot path:
     * one zmq_poll call. */
    int n = zmq_poll(items, 2, timeout_ms);
    if (n > 0) {
        if (items[1].revents & ZMQ_POLLIN) read_monitor(o);
        if (items[0].revents & ZMQ_POLLIN) read_replies(o);
    }
    double now = dq_now();
    if (o->connected && o->st.unacked > 0 && now - o->last_progress > o->cfg.ack_timeout_s) {
        DQ_WARN("no reply from the replay server for %.1f s with %d INSERT(s) outstanding; "
                "reconnecting to resend them",
                now - o->last_progress, o->st.unacked);
        char why[256];
        close_sockets(o);
        if (open_sockets(o, why, sizeof why) < 0) {
            DQ_ERROR("%s", why);
            o->failed = DQ_ENET;
            return DQ_ENET;
        }
        o->st.reopens++;
        mark_all_unsent(o);
        o->last_progress = now;
    }
    send_pending(o);
    return DQ_OK;
}

void outbox_start_drain(outbox_t *o)
{
    if (isinf(o->drain_deadline)) o->drain_deadline = dq_now() + o->cfg.drain_timeout_s;
}

/* The moment waiting must end: none before the drain starts; a stop request
 * starts it. */
static double wait_deadline(outbox_t *o)
{
    if (dq_cli_stop_requested()) outbox_start_drain(o);
    return o->drain_deadline;
}

int outbox_push(outbox_t *o, const dq_batch_t *b)
{
    if (o->next - o->base >= (uint64_t)o->cfg.max_unacked) {
        double t0 = dq_now();
        while (o->next - o->base >= (uint64_t)o->cfg.max_unacked) {
            if (dq_now() >= wait_deadline(o)) {
                o->st.blocked_s += dq_now() - t0;
                return DQ_ETIMEOUT;
            }
            int rc = outbox_poll(o, 50);
            if (rc < 0) return rc;
        }
        o->st.blocked_s += dq_now() - t0;
    }
    slot_t *sl = slot_of(o, o->next);
    dq_msg_t m = {.type = DQ_MSG_INSERT};
    m.u.insert.actor = o->cfg.actor;
    m.u.insert.seq = o->next;
    m.u.insert.run = o->run;
    m.u.insert.batch = *b;
    int rc = dq_msg_encode(&m, &sl->bytes);
    if (rc < 0) return rc;
    if (sl->bytes.len > o->cfg.max_bytes) return DQ_ETOOBIG;
    sl->seq = o->next;
    sl->items = b->count;
    sl->sends = 0;
    sl->state = SLOT_PENDING;
    if (o->st.unacked == 0) o->last_progress = dq_now();
    o->next++;
    o->st.unacked++;
    o->st.pushed_msgs++;
    o->st.pushed_items += b->count;
    /* The INSERT is taken (and counts as handed over): a socket failure here
     * is sticky, so the actor's next poll ends its loop and the drain
     * reports the INSERT as unacknowledged. */
    outbox_poll(o, 0);
    return DQ_OK;
}

int outbox_drain(outbox_t *o)
{
    outbox_start_drain(o);
    while (o->st.unacked > 0 && dq_now() < o->drain_deadline)
        if (outbox_poll(o, 50) < 0) break; /* no sockets left: nothing more comes */
    return o->st.unacked > 0 ? DQ_ETIMEOUT : DQ_OK;
}

uint64_t outbox_run(const outbox_t *o) { return o->run; }

void outbox_stats(const outbox_t *o, outbox_stats_t *s)
{
    *s = o->st;
    s->connected = o->connected;
}

/* Word-wise multiply-xorshift over 32-bit words: every field is 4 bytes. */
static uint64_t hash_words(uint64_t h, const void *p, size_t n_words)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n_words; i++) {
        uint32_t w;
        memcpy(&w, c + 4 * i, 4);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    return h;
}

uint64_t outbox_content_hash(const dq_batch_t *b)
{
    uint64_t sum = 0;
    size_t d = b->obs_dim;
    for (uint32_t i = 0; i < b->count; i++) {
        uint64_t h = DQ_FNV1A64_INIT;
        h = hash_words(h, b->obs + i * d, d);
        h = hash_words(h, &b->action[i], 1);
        h = hash_words(h, &b->reward[i], 1);
        h = hash_words(h, &b->discount[i], 1);
        h = hash_words(h, b->next_obs + i * d, d);
        h = hash_words(h, &b->epsilon[i], 1);
        h = hash_words(h, &b->version[i], 1);
        sum += dq_mix64(h);
    }
    return sum;
}
