/* actor_replay_check.c - reads back everything a replay server holds and
 * prints its size and content hash, for the exactly-once tests.
 *
 *   actor_replay_check ENDPOINT [MAX_BYTES]
 *   -> "size 40000 distinct 40000 hash 0123456789abcdef samples 532480"
 *   actor_replay_check ENDPOINT --resend ACTOR RUN_HEX SEQ OBS_DIM
 *   -> "ack duplicate 1 count 0 duplicates 3 4 size 40000 40000"
 *
 * --resend sends one INSERT (one transition) as actor ACTOR's stream RUN_HEX
 * with sequence number SEQ, as a resend after a lost ack would, and prints
 * the ACK's duplicate flag and count with the server's duplicates counter
 * and size before and after (exit 1 on any other reply).
 *
 * Asks STATS for the table size, then SAMPLEs (uniform, with replacement)
 * until it has seen as many distinct item keys as the table holds, and sums
 * outbox_content_hash over the distinct items: the same multiset hash the
 * actors log over every transition they generated. Exits 1 if the table
 * cannot be read completely (the caller compares the numbers). Only useful
 * while nothing else inserts or samples, and when nothing was evicted.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "err.h"
#include "net.h"
#include "outbox.h"
#include "wire.h"

#define SAMPLE_N 4096
#define MAX_ROUNDS 2000

static int request(void *sock, dq_msg_t *req, dq_msg_t *rep, size_t max_bytes)
{
    dq_buf_t buf = {0};
    char why[256];
    int rc = dq_net_send(sock, req, &buf, 0);
    dq_buf_free(&buf);
    if (rc < 0) {
        fprintf(stderr, "actor_replay_check: cannot send '%s': %s\n", dq_msg_type_name(req->type),
                dq_strerror(rc));
        return rc;
    }
    rc = dq_net_recv(sock, rep, max_bytes, 0, why, sizeof why);
    if (rc < 0) fprintf(stderr, "actor_replay_check: %s: %s\n", dq_errname(rc), why);
    return rc;
}

/* STATS value NAME, or -1 when absent or unanswered. */
static double stat_of(void *sock, const char *name, size_t max_bytes)
{
    dq_msg_t req = {.type = DQ_MSG_STATS, .u.stats.id = 2}, rep;
    double v = -1;
    if (request(sock, &req, &rep, max_bytes) < 0) return -1;
    for (uint32_t i = 0; rep.type == DQ_MSG_STATS_REPLY && i < rep.u.stats_reply.count; i++)
        if (strcmp(rep.u.stats_reply.stats[i].name, name) == 0)
            v = rep.u.stats_reply.stats[i].value;
    dq_msg_clear(&rep);
    return v;
}

static int resend(void *sock, char **argv, size_t max_bytes)
{
    uint32_t dim = (uint32_t)strtoul(argv[6], NULL, 10);
    dq_msg_t m = {.type = DQ_MSG_INSERT}, rep;
    m.u.insert.actor = (uint32_t)strtoul(argv[3], NULL, 10);
    m.u.insert.run = strtoull(argv[4], NULL, 16);
    m.u.insert.seq = strtoull(argv[5], NULL, 10);
    if (dim == 0 || dq_batch_alloc(&m.u.insert.batch, 1, dim, 0) < 0) return 2;
    dq_batch_t *b = &m.u.insert.batch;
    b->count = 1;
    memset(b->obs, 0, dim * sizeof(float));
    memset(b->next_obs, 0, dim * sizeof(float));
    b->action[0] = 0, b->reward[0] = 0.0f, b->version[0] = 0;
    b->discount[0] = 0.5f, b->epsilon[0] = 0.1f;
    double dup0 = stat_of(sock, "duplicates", max_bytes), size0 = stat_of(sock, "size", max_bytes);
    int rc = request(sock, &m, &rep, max_bytes);
    dq_batch_free(b);
    if (rc < 0) return 1;
    if (rep.type != DQ_MSG_ACK) {
        fprintf(stderr, "actor_replay_check: INSERT answered with '%s'%s%s\n",
                dq_msg_type_name(rep.type), rep.type == DQ_MSG_ERROR ? ": " : "",
                rep.type == DQ_MSG_ERROR ? rep.u.error.message : "");
        dq_msg_clear(&rep);
        return 1;
    }
    printf("ack duplicate %d count %" PRIu32 " duplicates %.0f %.0f size %.0f %.0f\n",
           rep.u.ack.duplicate, rep.u.ack.count, dup0, stat_of(sock, "duplicates", max_bytes),
           size0, stat_of(sock, "size", max_bytes));
    dq_msg_clear(&rep);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: actor_replay_check ENDPOINT [MAX_BYTES]\n"
                        "       actor_replay_check ENDPOINT --resend ACTOR RUN_HEX SEQ OBS_DIM\n");
        return 2;
    }
    int resending = argc == 7 && strcmp(argv[2], "--resend") == 0;
    size_t max_bytes =
        argc > 2 && !resending ? (size_t)strtoull(argv[2], NULL, 10) : (size_t)64 << 20;
    void *ctx = zmq_ctx_new(), *sock = zmq_socket(ctx, ZMQ_DEALER);
    int timeout = 20000, rc = 1;
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    dq_net_configure(sock, max_bytes);
    if (zmq_connect(sock, argv[1]) != 0) {
        fprintf(stderr, "actor_replay_check: cannot connect to %s\n", argv[1]);
        return 2;
    }
    if (resending) {
        rc = resend(sock, argv, max_bytes);
        zmq_close(sock);
        zmq_ctx_term(ctx);
        return rc;
    }
    dq_msg_t req = {.type = DQ_MSG_STATS, .u.stats.id = 1}, rep;
    if (request(sock, &req, &rep, max_bytes) < 0 || rep.type != DQ_MSG_STATS_REPLY) {
        fprintf(stderr, "actor_replay_check: no STATS reply\n");
        return 2;
    }
    uint64_t size = 0;
    for (uint32_t i = 0; i < rep.u.stats_reply.count; i++)
        if (strcmp(rep.u.stats_reply.stats[i].name, "size") == 0)
            size = (uint64_t)rep.u.stats_reply.stats[i].value;
    dq_msg_clear(&rep);

    /* Open-addressing set of seen keys (key + 1 stored, 0 = empty). */
    size_t cap = 16;
    while (cap < 2 * size + 16) cap *= 2;
    uint64_t *seen = calloc(cap, sizeof *seen);
    uint64_t distinct = 0, hash = 0, samples = 0;
    if (!seen) return 2;
    for (int round = 0; round < MAX_ROUNDS && distinct < size; round++) {
        dq_msg_t s = {.type = DQ_MSG_SAMPLE};
        snprintf(s.u.sample.table, sizeof s.u.sample.table, "main");
        s.u.sample.n = SAMPLE_N;
        s.u.sample.id = 100 + (uint64_t)round;
        if (request(sock, &s, &rep, max_bytes) < 0) break;
        if (rep.type != DQ_MSG_ITEMS) {
            fprintf(stderr, "actor_replay_check: SAMPLE answered with '%s'%s%s\n",
                    dq_msg_type_name(rep.type), rep.type == DQ_MSG_ERROR ? ": " : "",
                    rep.type == DQ_MSG_ERROR ? rep.u.error.message : "");
            dq_msg_clear(&rep);
            break;
        }
        const dq_items_t *it = &rep.u.items;
        samples += it->batch.count;
        for (uint32_t i = 0; i < it->batch.count; i++) {
            uint64_t k = it->keys[i] + 1;
            size_t h = (size_t)((k * 0x9e3779b97f4a7c15ULL) >> 20) & (cap - 1);
            while (seen[h] && seen[h] != k) h = (h + 1) & (cap - 1);
            if (seen[h]) continue;
            seen[h] = k;
            distinct++;
            const dq_batch_t *b = &it->batch;
            size_t d = b->obs_dim;
            dq_batch_t one = {.count = 1,
                              .obs_dim = b->obs_dim,
                              .obs = b->obs + i * d,
                              .next_obs = b->next_obs + i * d,
                              .action = b->action + i,
                              .reward = b->reward + i,
                              .discount = b->discount + i,
                              .epsilon = b->epsilon + i,
                              .version = b->version + i};
            hash += outbox_content_hash(&one);
        }
        dq_msg_clear(&rep);
    }
    printf("size %" PRIu64 " distinct %" PRIu64 " hash %016" PRIx64 " samples %" PRIu64 "\n", size,
           distinct, hash, samples);
    rc = distinct == size ? 0 : 1;
    free(seen);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return rc;
}
