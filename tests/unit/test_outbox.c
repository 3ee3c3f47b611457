/* test_outbox.c - the actor's INSERT stream against a scripted fake replay
 * server (a ROUTER in a thread, on a kernel-chosen loopback port) that keeps
 * the contract's per-actor next-expected seq and injects failures:
 *   - defers and then times out INSERTs (ERROR TIMEOUT, id = seq),
 *   - goes away without acknowledging (socket closed) and comes back on the
 *     same port, having processed some INSERTs whose acks were lost,
 *   - withholds acks (backpressure: the actor must wait, not drop).
 * Every transition must be inserted exactly once and never out of order (an
 * insert with seq above the expected one would be a gap, i.e. a loss).
 * Every wait is bounded (the drain deadline, started up front): a server
 * that stops answering fails the test with what was outstanding, fast.
 * A second test holds every ack back: a push finds no slot by the drain
 * deadline and takes nothing, and the drain reports what is outstanding. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <zmq.h>

#include "cli.h"
#include "err.h"
#include "net.h"
#include "outbox.h"
#include "wire.h"

#define N_MSGS 40

typedef struct {
    void *ctx;
    char endpoint[256];
    int inserted[N_MSGS]; /* times each seq was inserted */
    int gaps, duplicates, timeouts_sent;
    uint64_t expected;
    uint64_t hash; /* content hash of what was inserted */
    volatile int done;
} fake_t;

static void *bind_router(fake_t *f, const char *ep)
{
    void *s = zmq_socket(f->ctx, ZMQ_ROUTER);
    int linger = 0, rcv = 20;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &rcv, sizeof rcv);
    char bound[256];
    if (dq_net_bind(s, ep, NULL, bound, sizeof bound) < 0) return NULL;
    snprintf(f->endpoint, sizeof f->endpoint, "%s", bound);
    return s;
}

static void reply(void *s, const dq_peer_t *p, dq_msg_t *m)
{
    dq_buf_t buf = {0};
    dq_net_send_routed(s, p, m, &buf);
    dq_buf_free(&buf);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Script by seq: 5..8 are deferred and timed out once; after inserting 15
 * and 16 (their acks lost) the server restarts; 25..28 wait 300 ms for acks. */
static void *serve(void *arg)
{
    fake_t *f = arg;
    void *s = bind_router(f, "tcp://127.0.0.1:*");
    int timed_out_once[N_MSGS] = {0}, restarted = 0;
    while (!f->done) {
        dq_peer_t p;
        dq_msg_t m;
        char why[256];
        int rc = dq_net_recv_routed(s, &p, &m, 1 << 20, NULL, why, sizeof why);
        if (rc < 0) continue;
        if (m.type != DQ_MSG_INSERT || m.u.insert.seq >= N_MSGS) {
            dq_msg_clear(&m);
            continue;
        }
        uint64_t seq = m.u.insert.seq;
        if (seq >= 5 && seq <= 8 && !timed_out_once[seq]) {
            timed_out_once[seq] = 1;
            sleep_ms(20);
            dq_msg_t e;
            dq_msg_error(&e, DQ_ETIMEOUT, seq, "deferred insert timed out");
            reply(s, &p, &e);
            f->timeouts_sent++;
            dq_msg_clear(&m);
            continue;
        }
        dq_msg_t ack = {.type = DQ_MSG_ACK, .u.ack = {.seq = seq, .count = m.u.insert.batch.count}};
        if (seq < f->expected) {
            f->duplicates++;
            ack.u.ack.duplicate = 1;
            ack.u.ack.count = 0;
        } else {
            if (seq > f->expected) f->gaps++;
            f->inserted[seq]++;
            f->hash += outbox_content_hash(&m.u.insert.batch);
            f->expected = seq + 1;
        }
        dq_msg_clear(&m);
        if (seq == 16 && !restarted) {
            /* Processed 15 and 16 but never acknowledged them: go away. */
            restarted = 1;
            char ep[256];
            snprintf(ep, sizeof ep, "%s", f->endpoint);
            zmq_close(s);
            sleep_ms(300);
            s = bind_router(f, ep);
            assert_non_null(s);
            continue;
        }
        if (seq >= 25 && seq <= 28) sleep_ms(75); /* slow acks: backpressure */
        reply(s, &p, &ack);
    }
    zmq_close(s);
    return NULL;
}

static void test_exactly_once_in_order(void **state)
{
    (void)state;
    fake_t f = {.ctx = zmq_ctx_new()};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, serve, &f), 0);
    for (int i = 0; i < 200 && !f.endpoint[0]; i++) sleep_ms(5);
    assert_true(f.endpoint[0] != '\0');

    void *ctx = zmq_ctx_new();
    char why[256];
    outbox_config_t cfg = {.actor = 3,
                           .max_unacked = 4,
                           .ack_timeout_s = 5,
                           .drain_timeout_s = 20,
                           .max_bytes = 1 << 20};
    outbox_t *o = outbox_new(ctx, f.endpoint, &cfg, why, sizeof why);
    assert_non_null(o);
    outbox_start_drain(o); /* every wait below ends within 20 s */
    dq_batch_t b;
    assert_int_equal(dq_batch_alloc(&b, 2, 3, 0), DQ_OK);
    uint64_t hash = 0;
    for (int i = 0; i < N_MSGS; i++) {
        for (uint32_t k = 0; k < 2; k++) {
            for (int j = 0; j < 3; j++)
                b.obs[k * 3 + j] = b.next_obs[k * 3 + j] = (float)(i * 10 + j);
            b.action[k] = (int32_t)k;
            b.reward[k] = (float)i;
            b.discount[k] = 0.9f;
            b.epsilon[k] = 0.1f;
            b.version[k] = (uint32_t)i;
        }
        hash += outbox_content_hash(&b);
        outbox_stats_t st;
        if (outbox_push(o, &b) != DQ_OK) {
            outbox_stats(o, &st);
            f.done = 1;
            pthread_join(th, NULL);
            fail_msg("INSERT %d not taken within 20 s: %d outstanding, %llu acked, %llu resent, "
                     "%llu disconnects",
                     i, st.unacked, (unsigned long long)st.acked_msgs,
                     (unsigned long long)st.resent_msgs, (unsigned long long)st.disconnects);
        }
        outbox_stats(o, &st);
        assert_true(st.unacked <= 4); /* bounded: the push waited instead */
    }
    int drained = outbox_drain(o);
    outbox_stats_t st;
    outbox_stats(o, &st);
    if (drained != DQ_OK) {
        f.done = 1;
        pthread_join(th, NULL);
        fail_msg("not every INSERT acknowledged within 20 s: %d outstanding, %llu of %d acked",
                 st.unacked, (unsigned long long)st.acked_msgs, N_MSGS);
    }
    f.done = 1;
    pthread_join(th, NULL);
    printf("    resent %llu, disconnects %llu, server timeouts %llu, duplicate acks %llu, waited "
           "%.2f s\n",
           (unsigned long long)st.resent_msgs, (unsigned long long)st.disconnects,
           (unsigned long long)st.server_timeouts, (unsigned long long)st.duplicate_acks,
           st.blocked_s);
    for (int i = 0; i < N_MSGS; i++) assert_int_equal(f.inserted[i], 1);
    assert_int_equal(f.gaps, 0);
    assert_int_equal(f.hash, hash);
    assert_int_equal(st.acked_msgs, N_MSGS);
    assert_int_equal(st.acked_items, 2 * N_MSGS);
    assert_int_equal(st.server_timeouts, (uint64_t)f.timeouts_sent);
    assert_true(st.disconnects >= 1);
    assert_true(f.duplicates >= 1); /* 16 (and 15 if its ack was lost) resent after the restart */
    assert_true(st.blocked_s > 0.1);
    dq_batch_free(&b);
    outbox_destroy(&o);
    zmq_ctx_term(ctx);
    zmq_ctx_term(f.ctx);
}

/* A server that takes INSERTs and never acknowledges them (the rate limiter
 * holding them): once the window is full and the drain has started, a push
 * gives up at the deadline without taking its batch, and the drain reports
 * every transition outstanding. */
static void *never_ack(void *arg)
{
    fake_t *f = arg;
    void *s = bind_router(f, "tcp://127.0.0.1:*");
    while (!f->done) {
        dq_peer_t p;
        dq_msg_t m;
        char why[256];
        if (dq_net_recv_routed(s, &p, &m, 1 << 20, NULL, why, sizeof why) < 0) continue;
        if (m.type == DQ_MSG_INSERT && m.u.insert.seq < N_MSGS) f->inserted[m.u.insert.seq]++;
        dq_msg_clear(&m);
    }
    zmq_close(s);
    return NULL;
}

static void test_drain_deadline(void **state)
{
    (void)state;
    fake_t f = {.ctx = zmq_ctx_new()};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, never_ack, &f), 0);
    for (int i = 0; i < 200 && !f.endpoint[0]; i++) sleep_ms(5);
    assert_true(f.endpoint[0] != '\0');
    void *ctx = zmq_ctx_new();
    char why[256];
    outbox_config_t cfg = {.actor = 1,
                           .max_unacked = 3,
                           .ack_timeout_s = 60,
                           .drain_timeout_s = 0.5,
                           .max_bytes = 1 << 20};
    outbox_t *o = outbox_new(ctx, f.endpoint, &cfg, why, sizeof why);
    assert_non_null(o);
    dq_batch_t b;
    assert_int_equal(dq_batch_alloc(&b, 5, 2, 0), DQ_OK);
    for (uint32_t k = 0; k < 5; k++) {
        b.obs[2 * k] = b.obs[2 * k + 1] = b.next_obs[2 * k] = b.next_obs[2 * k + 1] = (float)k;
        b.action[k] = 0;
        b.reward[k] = 1.0f;
        b.discount[k] = 0.9f;
        b.epsilon[k] = 0.1f;
        b.version[k] = 1;
    }
    for (int i = 0; i < 3; i++) assert_int_equal(outbox_push(o, &b), DQ_OK); /* the window */
    double t0 = dq_now();
    outbox_start_drain(o);
    assert_int_equal(outbox_push(o, &b), DQ_ETIMEOUT); /* no slot by the deadline */
    double waited = dq_now() - t0;
    assert_int_equal(outbox_drain(o), DQ_ETIMEOUT);
    outbox_stats_t st;
    outbox_stats(o, &st);
    assert_true(waited >= 0.45 && waited < 5.0);
    assert_int_equal(st.pushed_msgs, 3); /* the refused push took nothing */
    assert_int_equal(st.pushed_items, 15);
    assert_int_equal(st.acked_items, 0);
    assert_int_equal(st.unacked, 3);
    f.done = 1;
    pthread_join(th, NULL);
    for (int i = 0; i < 3; i++) assert_true(f.inserted[i] >= 1); /* sent, never acknowledged */
    dq_batch_free(&b);
    outbox_destroy(&o);
    zmq_ctx_term(ctx);
    zmq_ctx_term(f.ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_exactly_once_in_order),
                                       cmocka_unit_test(test_drain_deadline)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
