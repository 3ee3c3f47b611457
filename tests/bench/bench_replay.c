/* bench_replay.c - the replay server over tcp loopback, against raw ZeroMQ in
 * the same run:
 *   1. raw PUSH/PULL: two pusher processes send the very INSERT frames of step
 *      2 (256 transitions of obs_dim 16), one puller receives them; and one
 *      pusher with ITEMS-sized frames (the bytes of step 3's replies);
 *   2. inserts: two producer processes (DEALER, 32 INSERTs in flight each)
 *      fill a 1M-capacity table: transitions/s until every ACK is back;
 *   3. samples: one DEALER client, batch 256, 8 requests in flight, decoding
 *      every ITEMS reply: transitions/s;
 *   4. resident memory of the server process per stored transition at 1M
 *      capacity (RSS after the fill minus RSS before the server existed),
 *      against the payload (8 * obs_dim + 20 bytes).
 * Steps 2-4 run for a uniform and a prioritized table. Then
 *   5. durability: step 2's inserts (capacity / 4 of them) into a server with
 *      replay.checkpoint set, without the write-ahead log and with it under
 *      each replay.fsync policy (none, group, always): transitions/s as a
 *      ratio to no log, fdatasyncs, and the log's bytes per transition.
 *
 *   meson test -C build --benchmark replay -v       (or build/tests/bench_replay [capacity])
 *   build/tests/bench_replay 1000000 4000 durability    (step 5 only)
 * Reports ratios, never fails on timings.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "config.h"
#include "err.h"
#include "log.h"
#include "net.h"
#include "server.h"
#include "wire.h"

enum { OBS_DIM = 16, BATCH = 256, INFLIGHT_IN = 32, INFLIGHT_OUT = 8 };
#define SEQ_MARK 0x0123456789abcdefULL /* encoded as uint64: patched per message */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, rss = 0;
    if (!f) return 0;
    if (fscanf(f, "%lu %lu", &size, &rss) != 2) rss = 0;
    fclose(f);
    return (double)rss * (double)sysconf(_SC_PAGESIZE);
}

static void die(const char *what)
{
    fprintf(stderr, "bench_replay: %s: %s\n", what, zmq_strerror(zmq_errno()));
    exit(1);
}

/* An encoded INSERT of BATCH transitions with seq = SEQ_MARK; *seq_at is the
 * offset of the 8 big-endian seq bytes. */
static void make_insert(dq_buf_t *buf, uint32_t actor, size_t *seq_at)
{
    dq_msg_t m = {.type = DQ_MSG_INSERT};
    m.u.insert.actor = actor;
    m.u.insert.seq = SEQ_MARK;
    dq_batch_t *b = &m.u.insert.batch;
    if (dq_batch_alloc(b, BATCH, OBS_DIM, 0) < 0) exit(1);
    for (uint32_t i = 0; i < BATCH; i++) {
        for (uint32_t d = 0; d < OBS_DIM; d++) {
            b->obs[i * OBS_DIM + d] = (float)(i + d) * 0.01f;
            b->next_obs[i * OBS_DIM + d] = (float)(i + d) * 0.02f;
        }
        b->action[i] = (int32_t)(i % 5);
        b->reward[i] = 0.5f;
        b->discount[i] = 0.9f;
        b->epsilon[i] = 0.1f;
        b->version[i] = 3;
    }
    if (dq_msg_encode(&m, buf) < 0) exit(1);
    dq_batch_free(b);
    unsigned char mark[9] = {0xcf};
    for (int k = 0; k < 8; k++) mark[1 + k] = (unsigned char)(SEQ_MARK >> (56 - 8 * k));
    for (size_t i = 0; i + 9 <= buf->len; i++)
        if (memcmp(buf->data + i, mark, 9) == 0) {
            *seq_at = i + 1;
            return;
        }
    fprintf(stderr, "bench_replay: seq not found in the encoded INSERT\n");
    exit(1);
}

static void set_seq(dq_buf_t *buf, size_t at, uint64_t seq)
{
    for (int k = 0; k < 8; k++) buf->data[at + (size_t)k] = (char)(seq >> (56 - 8 * k));
}

/* Waits for a byte on fd (the start signal). */
static void wait_go(int fd)
{
    char c;
    if (read(fd, &c, 1) != 1) _exit(2);
}

/* ---- 1. raw ZeroMQ ---- */

static void raw_pusher(const char *ep, size_t bytes, long n, int go)
{
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_PUSH);
    if (zmq_connect(s, ep) != 0) _exit(1);
    char *frame = calloc(1, bytes);
    wait_go(go);
    for (long i = 0; i < n; i++) zmq_send(s, frame, bytes, 0);
    free(frame);
    zmq_close(s); /* default linger: everything is delivered */
    zmq_ctx_term(ctx);
    _exit(0);
}

/* msgs/s of n frames of `bytes` from `pushers` processes to one PULL. */
static double raw_rate(size_t bytes, long n_each, int pushers)
{
    void *ctx = zmq_ctx_new(), *pull = zmq_socket(ctx, ZMQ_PULL);
    char ep[256];
    size_t len = sizeof ep;
    if (zmq_bind(pull, "tcp://127.0.0.1:*") != 0) die("bind");
    zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, ep, &len);
    int go[2];
    if (pipe(go) != 0) exit(1);
    pid_t pid[2];
    for (int p = 0; p < pushers; p++) {
        pid[p] = fork();
        if (pid[p] == 0) raw_pusher(ep, bytes, n_each, go[0]);
    }
    usleep(200000); /* let them connect */
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    double t0 = now_s();
    if (write(go[1], "gg", (size_t)pushers) != pushers) exit(1);
    for (long i = 0; i < n_each * pushers; i++)
        if (zmq_msg_recv(&msg, pull, 0) < 0) die("recv");
    double dt = now_s() - t0;
    zmq_msg_close(&msg);
    for (int p = 0; p < pushers; p++) waitpid(pid[p], NULL, 0);
    close(go[0]);
    close(go[1]);
    zmq_close(pull);
    zmq_ctx_term(ctx);
    return (double)(n_each * pushers) / dt;
}

/* ---- 2. the server and its producers ---- */

/* extra: NULL-terminated "key=value" settings (may be NULL). */
static pid_t start_server(const char *run_dir, long capacity, const char *sampler,
                          const char *const *extra)
{
    pid_t pid = fork();
    if (pid != 0) return pid;
    dq_config_t cfg;
    dq_config_defaults(&cfg);
    char why[512], set[400];
    snprintf(set, sizeof set, "run.dir=%s", run_dir);
    dq_config_set(&cfg, set, "bench", why, sizeof why);
    dq_config_set(&cfg, "replay.endpoint=tcp://127.0.0.1:*", "bench", why, sizeof why);
    snprintf(set, sizeof set, "replay.capacity=%ld", capacity);
    dq_config_set(&cfg, set, "bench", why, sizeof why);
    snprintf(set, sizeof set, "replay.sampler=%s", sampler);
    dq_config_set(&cfg, set, "bench", why, sizeof why);
    for (int i = 0; extra && extra[i]; i++) {
        const char *x = extra[i];
        if (!strncmp(x, "replay.checkpoint=", 18)) {
            snprintf(set, sizeof set, "replay.checkpoint=%s/%s", run_dir, x + 18);
            x = set;
        }
        if (dq_config_set(&cfg, x, "bench", why, sizeof why) < 0) {
            fprintf(stderr, "bench_replay: %s\n", why);
            _exit(1);
        }
    }
    dq_log_init("replay", DQ_LOG_WARN);
    dq_cli_install_stop_handlers();
    /* The baseline for the memory figure: this process before the server. */
    char path[600];
    snprintf(path, sizeof path, "%s/rss0", run_dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "%.0f\n", rss_bytes());
        fclose(f);
    }
    replay_server_t *srv = replay_server_new(&cfg, why, sizeof why);
    if (!srv) {
        fprintf(stderr, "bench_replay: %s\n", why);
        _exit(1);
    }
    replay_server_run(srv);
    replay_server_destroy(&srv);
    _exit(0);
}

static void read_endpoint(const char *run_dir, char *ep, size_t len)
{
    char path[600];
    snprintf(path, sizeof path, "%s/replay.endpoint", run_dir);
    for (int i = 0; i < 300; i++) {
        FILE *f = fopen(path, "r");
        if (f) {
            int ok = fgets(ep, (int)len, f) != NULL;
            fclose(f);
            if (ok && ep[0]) {
                ep[strcspn(ep, "\n")] = '\0';
                return;
            }
        }
        usleep(20000);
    }
    fprintf(stderr, "bench_replay: the server did not start\n");
    exit(1);
}

static void producer(const char *ep, uint32_t actor, long n_msgs, int go)
{
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(s, ep) != 0) _exit(1);
    dq_buf_t buf = {0};
    size_t seq_at;
    make_insert(&buf, actor, &seq_at);
    wait_go(go);
    long sent = 0, acked = 0;
    char reply[256];
    while (acked < n_msgs) {
        while (sent < n_msgs && sent - acked < INFLIGHT_IN) {
            set_seq(&buf, seq_at, (uint64_t)sent);
            if (zmq_send(s, buf.data, buf.len, 0) < 0) _exit(1);
            sent++;
        }
        if (zmq_recv(s, reply, sizeof reply, 0) < 0) _exit(1);
        acked++;
    }
    dq_buf_free(&buf);
    zmq_close(s);
    zmq_ctx_term(ctx);
    _exit(0);
}

static int stats_of(void *s, dq_stats_reply_t *out)
{
    dq_msg_t m = {.type = DQ_MSG_STATS, .u.stats = {.id = 1}};
    dq_buf_t buf = {0};
    char why[256];
    int rc = dq_net_send(s, &m, &buf, 0);
    dq_buf_free(&buf);
    if (rc < 0) return rc;
    dq_msg_t r;
    rc = dq_net_recv(s, &r, 1u << 26, 0, why, sizeof why);
    if (rc < 0) return rc;
    if (r.type != DQ_MSG_STATS_REPLY) return DQ_EINVAL;
    *out = r.u.stats_reply;
    dq_msg_clear(&r);
    return DQ_OK;
}

static double stat(const dq_stats_reply_t *r, const char *name)
{
    for (uint32_t i = 0; i < r->count; i++)
        if (!strcmp(r->stats[i].name, name)) return r->stats[i].value;
    return -1;
}

typedef struct {
    double in_rate, out_rate, bytes_per_item, payload, items;
} result_t;

static result_t run_table(const char *sampler, long capacity, long sample_msgs)
{
    result_t res = {0};
    char run_dir[] = "/tmp/dqnlm-bench-replay.XXXXXX";
    if (!mkdtemp(run_dir)) exit(1);
    pid_t srv = start_server(run_dir, capacity, sampler, NULL);
    char ep[256];
    read_endpoint(run_dir, ep, sizeof ep);

    /* Inserts: two producers fill the table. */
    long per = (capacity + 2L * BATCH - 1) / (2L * BATCH);
    int go[2];
    if (pipe(go) != 0) exit(1);
    pid_t prod[2];
    for (int p = 0; p < 2; p++) {
        prod[p] = fork();
        if (prod[p] == 0) producer(ep, (uint32_t)p, per, go[0]);
    }
    usleep(200000);
    double t0 = now_s();
    if (write(go[1], "gg", 2) != 2) exit(1);
    for (int p = 0; p < 2; p++) waitpid(prod[p], NULL, 0);
    double dt = now_s() - t0;
    close(go[0]);
    close(go[1]);
    res.in_rate = (double)(2 * per * BATCH) / dt;

    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(s, ep) != 0) die("connect");
    dq_stats_reply_t st;
    if (stats_of(s, &st) < 0) die("stats");
    char path[600];
    snprintf(path, sizeof path, "%s/rss0", run_dir);
    FILE *f = fopen(path, "r");
    double rss0 = 0;
    if (f) {
        if (fscanf(f, "%lf", &rss0) != 1) rss0 = 0;
        fclose(f);
        unlink(path);
    }
    res.items = stat(&st, "size");
    res.payload = stat(&st, "bytes_per_item");
    res.bytes_per_item = (stat(&st, "rss_bytes") - rss0) / res.items;

    /* Samples: batch 256, INFLIGHT_OUT in flight, each reply decoded. */
    dq_msg_t req = {.type = DQ_MSG_SAMPLE, .u.sample = {.table = "main", .n = BATCH}};
    dq_buf_t buf = {0};
    long sent = 0, got = 0;
    t0 = now_s();
    while (got < sample_msgs) {
        while (sent < sample_msgs && sent - got < INFLIGHT_OUT) {
            req.u.sample.id = (uint64_t)sent++;
            if (dq_net_send(s, &req, &buf, 0) < 0) die("send");
        }
        dq_msg_t r;
        char why[256];
        int rc = dq_net_recv(s, &r, 1u << 26, 0, why, sizeof why);
        if (rc < 0 || r.type != DQ_MSG_ITEMS || r.u.items.batch.count != BATCH) {
            fprintf(stderr, "bench_replay: bad sample reply: %s\n", why);
            exit(1);
        }
        dq_msg_clear(&r);
        got++;
    }
    res.out_rate = (double)(sample_msgs * BATCH) / (now_s() - t0);
    dq_buf_free(&buf);
    zmq_close(s);
    zmq_ctx_term(ctx);
    kill(srv, SIGTERM);
    waitpid(srv, NULL, 0);
    snprintf(path, sizeof path, "%s/replay.endpoint", run_dir);
    unlink(path);
    rmdir(run_dir);
    return res;
}

/* ---- 5. the cost of durability ---- */

/* Transitions/s of two producers (INFLIGHT_IN each) inserting per_msgs
 * INSERTs each into a uniform server with the settings extra; *log_bytes and
 * *syncs from its STATS afterwards (0 without a log). */
static double ingest_rate(const char *const *extra, long capacity, long per_msgs, double *log_bytes,
                          double *syncs)
{
    char run_dir[] = "/var/tmp/dqnlm-bench-durable.XXXXXX"; /* on disk, not tmpfs */
    if (!mkdtemp(run_dir)) exit(1);
    pid_t srv = start_server(run_dir, capacity, "uniform", extra);
    char ep[256];
    read_endpoint(run_dir, ep, sizeof ep);
    int go[2];
    if (pipe(go) != 0) exit(1);
    pid_t prod[2];
    for (int p = 0; p < 2; p++) {
        prod[p] = fork();
        if (prod[p] == 0) producer(ep, (uint32_t)p, per_msgs, go[0]);
    }
    usleep(200000);
    double t0 = now_s();
    if (write(go[1], "gg", 2) != 2) exit(1);
    for (int p = 0; p < 2; p++) waitpid(prod[p], NULL, 0);
    double rate = (double)(2 * per_msgs * BATCH) / (now_s() - t0);
    close(go[0]);
    close(go[1]);
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(s, ep) != 0) die("connect");
    dq_stats_reply_t st;
    if (stats_of(s, &st) < 0) die("stats");
    *log_bytes = stat(&st, "log.bytes");
    *syncs = stat(&st, "log.syncs");
    if (stat(&st, "inserts") != (double)(2 * per_msgs * BATCH)) {
        fprintf(stderr, "bench_replay: the server holds %.0f transitions, sent %ld\n",
                stat(&st, "inserts"), 2 * per_msgs * BATCH);
        exit(1);
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    kill(srv, SIGTERM);
    waitpid(srv, NULL, 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", run_dir);
    if (system(cmd) != 0) fprintf(stderr, "bench_replay: cannot remove %s\n", run_dir);
    return rate;
}

/* Inserts with replay.checkpoint set: without the log, and with it under each
 * replay.fsync policy, as a ratio to no log. */
static void durability(long capacity, long transitions)
{
    long per = (transitions + 2L * BATCH - 1) / (2L * BATCH);
    static const char *const no_log[] = {"replay.checkpoint=replay.ckpt", "replay.log=false", NULL};
    static const char *const policies[3][4] = {
        {"replay.checkpoint=replay.ckpt", "replay.fsync=none", NULL},
        {"replay.checkpoint=replay.ckpt", "replay.fsync=group", "replay.group_commit_ms=2", NULL},
        {"replay.checkpoint=replay.ckpt", "replay.fsync=always", NULL},
    };
    static const char *const names[3] = {"fsync none", "fsync group (2 ms)", "fsync always"};
    double lb, sy;
    printf("durability: %ld transitions inserted (2 producers, %d in flight, batch %d), "
           "checkpoint in /var/tmp\n",
           2 * per * BATCH, INFLIGHT_IN, BATCH);
    double base = ingest_rate(no_log, capacity, per, &lb, &sy);
    printf("  no log (replay.log=false): %.3f M transitions/s = 1.00\n", base / 1e6);
    for (int k = 0; k < 3; k++) {
        double r = ingest_rate(policies[k], capacity, per, &lb, &sy);
        char syncs[64] = "no fdatasync";
        if (sy > 0)
            snprintf(syncs, sizeof syncs, "%.0f fdatasyncs (%.1f INSERTs each)", sy,
                     (double)(2 * per) / sy);
        printf("  %-19s %.3f M transitions/s = %.2f of no log; %s; log %.1f B per transition "
               "(payload %zu B)\n",
               names[k], r / 1e6, r / base, syncs, lb / (double)(2 * per * BATCH),
               dq_transition_bytes(OBS_DIM));
    }
}

int main(int argc, char **argv)
{
    long capacity = argc > 1 ? atol(argv[1]) : 1000000;
    long sample_msgs = argc > 2 ? atol(argv[2]) : 4000;
    if (capacity < BATCH) capacity = BATCH;
    signal(SIGPIPE, SIG_IGN);
    if (argc > 3 && !strcmp(argv[3], "durability")) {
        durability(capacity, capacity / 4);
        return 0;
    }

    dq_buf_t ins = {0};
    size_t at;
    make_insert(&ins, 0, &at);
    size_t insert_bytes = ins.len;
    dq_buf_free(&ins);
    size_t items_bytes = insert_bytes + BATCH * 13; /* + keys and prob (protocol.md §4) */
    long raw_n = (capacity + 2L * BATCH - 1) / (2L * BATCH);
    double raw_in = raw_rate(insert_bytes, raw_n, 2);
    double raw_out = raw_rate(items_bytes, sample_msgs, 1);

    printf("replay server over tcp://127.0.0.1, batch %d, obs_dim %d, capacity %ld\n", BATCH,
           OBS_DIM, capacity);
    printf("raw ZeroMQ PUSH/PULL, INSERT frames (%zu B) from 2 pushers: %.0f msg/s = %.2f M "
           "transitions/s (%.0f MB/s)\n",
           insert_bytes, raw_in, raw_in * BATCH / 1e6, raw_in * (double)insert_bytes / 1e6);
    printf("raw ZeroMQ PUSH/PULL, ITEMS-sized frames (%zu B) from 1 pusher: %.0f msg/s = %.2f M "
           "transitions/s\n",
           items_bytes, raw_out, raw_out * BATCH / 1e6);
    const char *samplers[2] = {"uniform", "prioritized"};
    for (int k = 0; k < 2; k++) {
        result_t r = run_table(samplers[k], capacity, sample_msgs);
        printf("%-11s inserts (2 producers, %d in flight): %.2f M transitions/s = %.0f%% of raw "
               "[aim >= 1M/s: %s]\n",
               samplers[k], INFLIGHT_IN, r.in_rate / 1e6, 100.0 * r.in_rate / (raw_in * BATCH),
               r.in_rate >= 1e6 ? "met" : "NOT met");
        printf("%-11s samples (batch %d, %d in flight): %.2f M transitions/s = %.0f%% of raw "
               "[aim >= 500K/s: %s]\n",
               samplers[k], BATCH, INFLIGHT_OUT, r.out_rate / 1e6,
               100.0 * r.out_rate / (raw_out * BATCH), r.out_rate >= 5e5 ? "met" : "NOT met");
        printf("%-11s memory: %.1f resident bytes per stored transition (%.0f items) vs "
               "payload %.0f B = %.2fx [aim <= 1.25x: %s]\n",
               samplers[k], r.bytes_per_item, r.items, r.payload, r.bytes_per_item / r.payload,
               r.bytes_per_item <= 1.25 * r.payload ? "met" : "NOT met");
    }
    durability(capacity, capacity / 4);
    return 0;
}
