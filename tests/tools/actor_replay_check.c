/* actor_replay_check.c - reads back everything a replay server holds and
 * prints its size and content hash, for the exactly-once tests.
 *
 *   actor_replay_check ENDPOINT [MAX_BYTES]
 *   -> "size 40000 distinct 40000 hash 0123456789abcdef samples 532480"
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
    if (rc < 0) return rc;
    rc = dq_net_recv(sock, rep, max_bytes, 0, why, sizeof why);
    if (rc < 0) fprintf(stderr, "actor_replay_check: %s: %s\n", dq_errname(rc), why);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: actor_replay_check ENDPOINT [MAX_BYTES]\n");
        return 2;
    }
    size_t max_bytes = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : (size_t)64 << 20;
    void *ctx = zmq_ctx_new(), *sock = zmq_socket(ctx, ZMQ_DEALER);
    int timeout = 20000, rc = 1;
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    dq_net_configure(sock, max_bytes);
    if (zmq_connect(sock, argv[1]) != 0) {
        fprintf(stderr, "actor_replay_check: cannot connect to %s\n", argv[1]);
        return 2;
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
