/* test_replay_state.c - the replay server's state without sockets
 * (replay_server/replay.h, table.h, ckpt.h):
 *   - exactly-once inserts: duplicates dropped and counted, gaps counted, the
 *     block after a TIMEOUT until the timed-out seq is resent;
 *   - prioritized tables: sampling probabilities are leaf / total, priority
 *     updates by key, keys of evicted items ignored and counted;
 *   - the rate limiter deferring inserts and samples (REPLAY_WAIT);
 *   - checkpoint round trip: the restored state holds exactly the same items,
 *     priorities, per-actor sequence numbers and limiter counters, and carries
 *     on identically (same samples from the same seed);
 *   - a process SIGKILLed while writing a checkpoint leaves the previous one
 *     valid; corrupt, truncated and mismatched checkpoints are refused with a
 *     message that says so, never half-loaded;
 *   - the counters (REPLAY_COUNTERS): every one restored by name from a
 *     checkpoint and reported in STATS under its name; a version-2 checkpoint
 *     (the raw counters struct) refused with the version in the message;
 *   - the write-ahead log (wal.h): checkpoint + log restores the state the
 *     log was written from, item keys included (they continue, never
 *     reused); a torn tail (cut short, bad last checksum, zeros) is dropped
 *     and cut off, never half-applied; a bad checksum in the middle is
 *     refused; generations keep a checkpoint from being applied its own log
 *     twice; temporaries of dead writers are removed, a live one's kept;
 *   - seq 2^64-1 refused; per-actor STATS paged for any number of actors;
 *     table_bytes equal to what the table and sum-tree allocate;
 *   - stopping: inserts the limiter holds are stored and counted, the
 *     exactly-once rules unchanged, and the checkpoint of it loads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "err.h"
#include "log.h"
#include "replay.h"
#include "rng.h"
#include "table.h"
#include "wal.h"

static char why[1024];
static char path[128];
static char wal_path[160];

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/dqnlm-test-replay-%d.ckpt", (int)getpid());
    snprintf(wal_path, sizeof wal_path, "%s.wal", path);
    unlink(path);
    unlink(wal_path);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    unlink(wal_path);
    return 0;
}

static void base_config(dq_config_t *cfg, long capacity, const char *sampler)
{
    dq_config_defaults(cfg);
    cfg->replay_capacity = capacity;
    snprintf(cfg->replay_sampler, sizeof cfg->replay_sampler, "%s", sampler);
}

/* An INSERT of n transitions whose every float encodes (actor, seq, i). */
static void make_insert(dq_insert_t *ins, uint32_t actor, uint64_t seq, uint32_t n,
                        uint32_t obs_dim, int with_priority)
{
    memset(ins, 0, sizeof *ins);
    ins->actor = actor;
    ins->seq = seq;
    assert_int_equal(dq_batch_alloc(&ins->batch, n, obs_dim, with_priority), DQ_OK);
    dq_batch_t *b = &ins->batch;
    for (uint32_t i = 0; i < n; i++) {
        float tag = (float)(actor * 100000 + seq * 100 + i);
        for (uint32_t d = 0; d < obs_dim; d++) {
            b->obs[i * obs_dim + d] = tag + 0.001f * (float)d;
            b->next_obs[i * obs_dim + d] = -tag - 0.001f * (float)d;
        }
        b->action[i] = (int32_t)(i % 5);
        b->reward[i] = tag * 0.5f;
        b->discount[i] = (i % 3) ? 0.9f : 0.0f;
        b->epsilon[i] = 0.1f * (float)(i % 10);
        b->version[i] = (uint32_t)seq;
        if (with_priority) b->priority[i] = 0.5f + (float)(i % 7);
    }
}

static int insert(replay_t *r, uint32_t actor, uint64_t seq, uint32_t n, int with_priority,
                  dq_ack_t *ack)
{
    dq_insert_t ins;
    make_insert(&ins, actor, seq, n, 4, with_priority);
    int rc = replay_insert(r, &ins, ack, why, sizeof why);
    dq_batch_free(&ins.batch);
    return rc;
}

static void test_exactly_once(void **state)
{
    (void)state;
    dq_config_t cfg;
    base_config(&cfg, 1000, "uniform");
    replay_t *r = replay_new(&cfg, why, sizeof why);
    assert_non_null(r);
    dq_ack_t ack;
    for (uint64_t s = 0; s < 5; s++) {
        assert_int_equal(insert(r, 3, s, 10, 0, &ack), DQ_OK);
        assert_int_equal(ack.seq, s);
        assert_int_equal(ack.count, 10);
        assert_int_equal(ack.duplicate, 0);
    }
    /* A resend of 2..4 after a reconnect: all duplicates. */
    for (uint64_t s = 2; s < 5; s++) {
        assert_int_equal(insert(r, 3, s, 10, 0, &ack), DQ_OK);
        assert_int_equal(ack.duplicate, 1);
        assert_int_equal(ack.count, 0);
    }
    /* Skipping ahead is stored and counted as a gap. */
    assert_int_equal(insert(r, 3, 9, 10, 0, &ack), DQ_OK);
    assert_int_equal(ack.duplicate, 0);
    const replay_actor_t *a = replay_actor(r, 3);
    assert_non_null(a);
    assert_int_equal(a->next_seq, 10);
    assert_int_equal(a->duplicates, 3);
    assert_int_equal(a->gaps, 1);
    assert_int_equal(a->inserts, 60);
    assert_null(replay_actor(r, 2));
    replay_counters_t *c = replay_counters(r);
    assert_int_equal(c->inserts, 60);
    assert_int_equal(c->duplicates, 3);
    assert_int_equal(c->duplicate_items, 30);
    assert_int_equal(replay_table_size(replay_table(r)), 60);

    /* Seq 10 timed out: 11 and 12 (sent before the actor knew) are refused,
     * 10's resend is stored, then 11 and 12 are. Nothing lost, nothing twice. */
    replay_insert_timed_out(r, 3, 0, 10);
    assert_int_equal(insert(r, 3, 11, 10, 0, &ack), DQ_ETIMEOUT);
    assert_int_equal(insert(r, 3, 12, 10, 0, &ack), DQ_ETIMEOUT);
    assert_int_equal(insert(r, 3, 10, 10, 0, &ack), DQ_OK);
    assert_int_equal(ack.count, 10);
    assert_int_equal(insert(r, 3, 11, 10, 0, &ack), DQ_OK);
    assert_int_equal(insert(r, 3, 12, 10, 0, &ack), DQ_OK);
    assert_int_equal(replay_actor(r, 3)->gaps, 1);
    assert_int_equal(replay_table_size(replay_table(r)), 90);

    /* 13 and 14 timed out, and 15 was refused while blocked. Once 13's resend
     * is stored, 16 (sent before the actor read those replies) must not be
     * taken ahead of 14 and 15's resends: it would make them look like
     * duplicates and lose them. */
    replay_insert_timed_out(r, 3, 0, 13);
    replay_insert_timed_out(r, 3, 0, 14);
    assert_int_equal(insert(r, 3, 15, 10, 0, &ack), DQ_ETIMEOUT);
    assert_int_equal(insert(r, 3, 13, 10, 0, &ack), DQ_OK);
    assert_int_equal(insert(r, 3, 16, 10, 0, &ack), DQ_ETIMEOUT);
    assert_int_equal(insert(r, 3, 14, 10, 0, &ack), DQ_OK);
    /* 15's resend has a bad shape: refused in its turn, for good. */
    dq_insert_t bad;
    make_insert(&bad, 3, 15, 10, 5, 0);
    assert_int_equal(replay_insert(r, &bad, &ack, why, sizeof why), DQ_ESHAPE);
    dq_batch_free(&bad.batch);
    assert_int_equal(insert(r, 3, 16, 10, 0, &ack), DQ_OK);
    assert_int_equal(ack.duplicate, 0);
    assert_int_equal(insert(r, 3, 17, 10, 0, &ack), DQ_OK);
    a = replay_actor(r, 3);
    assert_int_equal(a->duplicates, 3);
    assert_int_equal(a->gaps, 2); /* 16 after the refused 15 */
    assert_int_equal(a->blocked, 0);
    assert_int_equal(replay_table_size(replay_table(r)), 130);

    /* Out-of-range actor and batch size. */
    cfg.replay_max_actors = 4;
    replay_destroy(&r);
    r = replay_new(&cfg, why, sizeof why);
    assert_int_equal(insert(r, 4, 0, 1, 0, &ack), DQ_ERANGE);
    assert_non_null(strstr(why, "max_actors"));
    replay_destroy(&r);
}

/* A restarted actor process (new run id, same actor id) starts its sequence
 * numbers over; its first INSERTs are stored, not taken for duplicates. */
static void test_actor_restart(void **state)
{
    (void)state;
    dq_config_t cfg;
    base_config(&cfg, 1000, "uniform");
    replay_t *r = replay_new(&cfg, why, sizeof why);
    assert_non_null(r);
    dq_ack_t ack;
    dq_insert_t ins;
    for (uint64_t s = 0; s < 3; s++) {
        make_insert(&ins, 5, s, 4, 4, 0);
        ins.run = 111;
        assert_int_equal(replay_insert(r, &ins, &ack, why, sizeof why), DQ_OK);
        dq_batch_free(&ins.batch);
    }
    make_insert(&ins, 5, 0, 4, 4, 0);
    ins.run = 222;
    assert_int_equal(replay_insert(r, &ins, &ack, why, sizeof why), DQ_OK);
    assert_int_equal(ack.duplicate, 0);
    assert_int_equal(ack.count, 4);
    /* The new run's own resend is a duplicate again. */
    assert_int_equal(replay_insert(r, &ins, &ack, why, sizeof why), DQ_OK);
    assert_int_equal(ack.duplicate, 1);
    dq_batch_free(&ins.batch);
    const replay_actor_t *a = replay_actor(r, 5);
    assert_int_equal(a->restarts, 1);
    assert_int_equal(a->inserts, 16);
    assert_int_equal(a->next_seq, 1);
    replay_destroy(&r);
}

static void test_prioritized(void **state)
{
    (void)state;
    dq_config_t cfg;
    base_config(&cfg, 8, "prioritized");
    cfg.replay_alpha = 1.0;
    cfg.replay_priority_eps = 0.0;
    replay_t *r = replay_new(&cfg, why, sizeof why);
    assert_non_null(r);
    dq_ack_t ack;
    assert_int_equal(insert(r, 0, 0, 4, 1, &ack), DQ_OK); /* priorities 0.5, 1.5, 2.5, 3.5 */
    dq_sample_t req = {.table = "main", .n = 4000, .id = 7};
    dq_items_t it;
    assert_int_equal(replay_sample(r, &req, &it, why, sizeof why), DQ_OK);
    assert_int_equal(it.id, 7);
    assert_int_equal(it.size, 4);
    int hits[4] = {0};
    for (uint32_t i = 0; i < it.batch.count; i++) {
        assert_true(it.keys[i] < 4);
        hits[it.keys[i]]++;
        double want = (0.5 + (double)it.keys[i]) / 8.0;
        assert_true(fabs(it.prob[i] - want) < 1e-6);
        /* The row matches the key's transition. */
        assert_true(it.batch.obs[i * 4] == (float)it.keys[i]);
    }
    for (int k = 0; k < 4; k++) /* expected 250, 750, 1250, 1750 */
        assert_true(fabs(hits[k] - 4000.0 * (0.5 + k) / 8.0) < 120.0);
    dq_batch_free(&it.batch);
    free(it.keys);
    free(it.prob);

    /* Update by key; evict keys 0..3 by inserting 8 more, then update them. */
    dq_update_priorities_t up = {.table = "main", .count = 2};
    uint64_t keys[2] = {1, 3};
    float prio[2] = {10.0f, 0.0f};
    up.keys = keys;
    up.priority = prio;
    assert_int_equal(replay_update_priorities(r, &up, &ack, why, sizeof why), DQ_OK);
    assert_int_equal(ack.count, 2);
    double leaf;
    dq_batch_t one;
    assert_int_equal(dq_batch_alloc(&one, 1, 4, 0), DQ_OK);
    assert_int_equal(replay_table_get(replay_table(r), 1, &one, 0, &leaf), DQ_OK);
    assert_true(leaf == 10.0);
    /* New items without priorities get the largest leaf so far. */
    assert_int_equal(insert(r, 0, 1, 8, 0, &ack), DQ_OK);
    assert_int_equal(replay_table_get(replay_table(r), 11, &one, 0, &leaf), DQ_OK);
    assert_true(leaf == 10.0);
    assert_int_equal(replay_table_get(replay_table(r), 3, &one, 0, &leaf), DQ_ERANGE);
    assert_int_equal(replay_update_priorities(r, &up, &ack, why, sizeof why), DQ_OK);
    assert_int_equal(ack.count, 0);
    assert_int_equal(replay_counters(r)->prio_updated, 2);
    assert_int_equal(replay_counters(r)->prio_evicted, 2);
    assert_int_equal(replay_counters(r)->evictions, 4);
    dq_batch_free(&one);
    replay_destroy(&r);
}

static void test_limiter_defers(void **state)
{
    (void)state;
    dq_config_t cfg;
    base_config(&cfg, 1000, "uniform");
    cfg.replay_rate_limit = 1;
    cfg.replay_samples_per_insert = 1.0;
    cfg.replay_min_size_to_sample = 10;
    cfg.replay_max_insert_batch = 10;
    cfg.replay_max_sample_batch = 10;
    replay_t *r = replay_new(&cfg, why, sizeof why);
    assert_non_null(r);
    dq_sample_t req = {.table = "main", .n = 10, .id = 1};
    dq_items_t it;
    /* Below min_size: the sample waits (it is not EMPTY). */
    assert_int_equal(replay_sample(r, &req, &it, why, sizeof why), REPLAY_WAIT);
    dq_ack_t ack;
    assert_int_equal(insert(r, 0, 0, 10, 0, &ack), DQ_OK);
    /* Inserts run ahead until the error buffer is used up, then wait. */
    int stored = 0, rc;
    for (uint64_t s = 1; (rc = insert(r, 0, s, 10, 0, &ack)) == DQ_OK; s++) stored++;
    assert_int_equal(rc, REPLAY_WAIT);
    assert_true(stored >= 1);
    uint64_t size = replay_table_size(replay_table(r));
    /* A sample frees room for an insert. */
    assert_int_equal(replay_sample(r, &req, &it, why, sizeof why), DQ_OK);
    dq_batch_free(&it.batch);
    free(it.keys);
    free(it.prob);
    assert_int_equal(insert(r, 0, (uint64_t)stored + 1, 10, 0, &ack), DQ_OK);
    assert_int_equal(replay_table_size(replay_table(r)), size + 10);
    /* Too large a batch is refused up front, not deferred forever. */
    req.n = 11;
    assert_int_equal(replay_sample(r, &req, &it, why, sizeof why), DQ_ERANGE);
    replay_destroy(&r);

    /* A configuration that could wait forever is refused at start. */
    cfg.replay_error_buffer = 1.0;
    assert_null(replay_new(&cfg, why, sizeof why));
    assert_non_null(strstr(why, "error_buffer"));
}

/* Stopping (the server's stop grace): inserts the limiter holds are stored,
 * its counters still match the table, the exactly-once rules hold, samples
 * are still decided by the limiter, and the checkpoint of it loads, with
 * inserts held again until samples catch up. */
static void test_stopping_takes_held_inserts(void **state)
{
    (void)state;
    dq_config_t cfg;
    base_config(&cfg, 1000, "uniform");
    cfg.replay_rate_limit = 1;
    cfg.replay_samples_per_insert = 1.0;
    cfg.replay_min_size_to_sample = 10;
    cfg.replay_max_insert_batch = 10;
    cfg.replay_max_sample_batch = 10;
    replay_t *r = replay_new(&cfg, why, sizeof why);
    assert_non_null(r);
    dq_ack_t ack;
    uint64_t s = 0;
    int rc;
    while ((rc = insert(r, 0, s, 10, 0, &ack)) == DQ_OK) s++;
    assert_int_equal(rc, REPLAY_WAIT);
    uint64_t size = replay_table_size(replay_table(r));
    replay_set_stopping(r);
    for (uint64_t i = 0; i < 5; i++) {
        assert_int_equal(insert(r, 0, s + i, 10, 0, &ack), DQ_OK);
        assert_int_equal(ack.duplicate, 0);
    }
    assert_int_equal(insert(r, 0, s, 10, 0, &ack), DQ_OK); /* a resend: a duplicate */
    assert_int_equal(ack.duplicate, 1);
    assert_int_equal(replay_table_size(replay_table(r)), size + 50);
    const ratelimiter_t *rl = replay_limiter(r);
    assert_int_equal(ratelimiter_size(rl), size + 50);
    assert_true(ratelimiter_diff(rl) > rl->max_diff);
    /* The TIMEOUT block still holds: later seqs wait for the one timed out. */
    replay_insert_timed_out(r, 1, 0, 0);
    assert_int_equal(insert(r, 1, 1, 10, 0, &ack), DQ_ETIMEOUT);
    assert_int_equal(insert(r, 1, 0, 10, 0, &ack), DQ_OK);
    dq_sample_t req = {.table = "main", .n = 10, .id = 1};
    dq_items_t it;
    assert_int_equal(replay_sample(r, &req, &it, why, sizeof why), DQ_OK);
    dq_batch_free(&it.batch);
    free(it.keys);
    free(it.prob);
    assert_int_equal(replay_save(r, path, NULL, NULL, why, sizeof why), DQ_OK);
    replay_t *b = replay_load(&cfg, path, why, sizeof why);
    if (!b) fail_msg("%s", why);
    assert_int_equal(replay_table_size(replay_table(b)), size + 60);
    assert_int_equal(insert(b, 0, s + 5, 10, 0, &ack), REPLAY_WAIT); /* not stopping */
    replay_destroy(&b);
    replay_destroy(&r);
}

/* Fills a state with items, priorities, duplicates and samples. */
static replay_t *busy_state(dq_config_t *cfg)
{
    base_config(cfg, 500, "prioritized");
    cfg->replay_rate_limit = 1;
    cfg->replay_samples_per_insert = 2.0;
    cfg->replay_min_size_to_sample = 20;
    cfg->replay_max_insert_batch = 64;
    cfg->replay_max_sample_batch = 64;
    replay_t *r = replay_new(cfg, why, sizeof why);
    assert_non_null(r);
    dq_ack_t ack;
    uint64_t seq[3] = {0};
    dq_rng_t rng;
    dq_rng_seed(&rng, 99);
    for (int round = 0; round < 60; round++) {
        uint32_t actor = (uint32_t)dq_rng_below(&rng, 3);
        int rc = insert(r, actor, seq[actor], 1 + (uint32_t)dq_rng_below(&rng, 20),
                        (int)(round % 2), &ack);
        if (rc == DQ_OK) seq[actor]++;
        if (round % 7 == 0) insert(r, actor, 0, 3, 0, &ack); /* a duplicate */
        dq_sample_t req = {.table = "main", .n = 32, .id = (uint64_t)round};
        dq_items_t it;
        if (replay_sample(r, &req, &it, why, sizeof why) == DQ_OK) {
            float *p = malloc(it.batch.count * sizeof *p);
            for (uint32_t i = 0; i < it.batch.count; i++) p[i] = (float)dq_rng_uniform(&rng) * 5;
            dq_update_priorities_t up = {
                .table = "main", .count = it.batch.count, .keys = it.keys, .priority = p};
            replay_update_priorities(r, &up, &ack, why, sizeof why);
            free(p);
            dq_batch_free(&it.batch);
            free(it.keys);
            free(it.prob);
        }
    }
    replay_insert_timed_out(r, 2, 0, seq[2]);
    assert_true(replay_table_size(replay_table(r)) == 500); /* wrapped around */
    return r;
}

static void assert_same_state(replay_t *a, replay_t *b)
{
    replay_table_t *ta = replay_table(a), *tb = replay_table(b);
    assert_int_equal(replay_table_size(ta), replay_table_size(tb));
    assert_int_equal(replay_table_next_key(ta), replay_table_next_key(tb));
    assert_int_equal(replay_table_obs_dim(ta), replay_table_obs_dim(tb));
    uint32_t d = replay_table_obs_dim(ta);
    dq_batch_t x, y;
    assert_int_equal(dq_batch_alloc(&x, 1, d, 0), DQ_OK);
    assert_int_equal(dq_batch_alloc(&y, 1, d, 0), DQ_OK);
    uint64_t end = replay_table_next_key(ta);
    for (uint64_t k = end - replay_table_size(ta); k < end; k++) {
        double la, lb;
        assert_int_equal(replay_table_get(ta, k, &x, 0, &la), DQ_OK);
        assert_int_equal(replay_table_get(tb, k, &y, 0, &lb), DQ_OK);
        assert_memory_equal(x.obs, y.obs, d * sizeof(float));
        assert_memory_equal(x.next_obs, y.next_obs, d * sizeof(float));
        assert_int_equal(x.action[0], y.action[0]);
        assert_true(x.reward[0] == y.reward[0] && x.discount[0] == y.discount[0] &&
                    x.epsilon[0] == y.epsilon[0] && x.version[0] == y.version[0]);
        assert_true(la == lb); /* bit-identical priorities */
    }
    dq_batch_free(&x);
    dq_batch_free(&y);
    replay_priority_stats_t pa, pb;
    replay_table_priority_stats(ta, &pa);
    replay_table_priority_stats(tb, &pb);
    assert_true(pa.total == pb.total && pa.min == pb.min && pa.max_set == pb.max_set);
    for (uint32_t id = 0; id < 3; id++) {
        const replay_actor_t *aa = replay_actor(a, id), *ab = replay_actor(b, id);
        assert_non_null(aa);
        assert_non_null(ab);
        assert_int_equal(aa->seen, ab->seen);
#define SAME_FIELD_(field, doc) assert_int_equal(aa->field, ab->field);
        REPLAY_ACTOR_FIELDS(SAME_FIELD_) /* what a checkpoint keeps */
#undef SAME_FIELD_
    }
    const ratelimiter_t *ra = replay_limiter(a), *rb = replay_limiter(b);
    assert_int_equal(ra->inserts, rb->inserts);
    assert_int_equal(ra->samples, rb->samples);
    assert_int_equal(ra->deletes, rb->deletes);
    assert_true(ratelimiter_diff(ra) == ratelimiter_diff(rb));
    assert_memory_equal(replay_counters(a), replay_counters(b), sizeof(replay_counters_t));
}

static void test_checkpoint_round_trip(void **state)
{
    (void)state;
    dq_config_t cfg;
    replay_t *a = busy_state(&cfg);
    assert_int_equal(replay_save(a, path, NULL, NULL, why, sizeof why), DQ_OK);
    replay_t *b = replay_load(&cfg, path, why, sizeof why);
    if (!b) fail_msg("%s", why);
    assert_same_state(a, b);
    /* Both carry on identically: same inserts accepted, same duplicates. */
    dq_ack_t ka, kb;
    assert_int_equal(insert(a, 1, 0, 5, 0, &ka), insert(b, 1, 0, 5, 0, &kb));
    assert_memory_equal(&ka, &kb, sizeof ka);
    const replay_actor_t *x = replay_actor(a, 1);
    assert_int_equal(insert(a, 1, x->next_seq, 5, 1, &ka), insert(b, 1, x->next_seq, 5, 1, &kb));
    assert_memory_equal(&ka, &kb, sizeof ka);
    assert_same_state(a, b);

    /* An empty table round-trips too. */
    replay_destroy(&b);
    dq_config_t c2;
    base_config(&c2, 100, "uniform");
    b = replay_new(&c2, why, sizeof why);
    assert_int_equal(replay_save(b, path, NULL, NULL, why, sizeof why), DQ_OK);
    replay_destroy(&b);
    b = replay_load(&c2, path, why, sizeof why);
    assert_non_null(b);
    assert_int_equal(replay_table_size(replay_table(b)), 0);
    replay_destroy(&b);
    replay_destroy(&a);
}

/* The writer child stops half-way and waits to be killed. */
static void stop_halfway(uint64_t bytes, void *arg)
{
    int fd = *(int *)arg;
    if (bytes < 20000) return;
    if (write(fd, "x", 1) != 1) _exit(3);
    for (;;) pause();
}

static void test_killed_writer_leaves_old_checkpoint(void **state)
{
    (void)state;
    dq_config_t cfg;
    replay_t *a = busy_state(&cfg);
    assert_int_equal(replay_save(a, path, NULL, NULL, why, sizeof why), DQ_OK);
    struct stat before;
    assert_int_equal(stat(path, &before), 0);
    /* Change the state, then write it from a child that is killed mid-file. */
    dq_ack_t ack;
    insert(a, 0, replay_actor(a, 0)->next_seq, 50, 0, &ack);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        replay_save(a, path, stop_halfway, &pfd[1], why, sizeof why);
        _exit(0); /* not reached */
    }
    close(pfd[1]);
    char c;
    assert_int_equal(read(pfd[0], &c, 1), 1); /* the child is half-way */
    close(pfd[0]);
    char tmp[192];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)pid);
    struct stat st;
    assert_int_equal(stat(tmp, &st), 0);
    assert_true(st.st_size > 0);
    kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    unlink(tmp);
    /* The previous checkpoint is intact and loads: it holds the old state. */
    replay_t *b = replay_load(&cfg, path, why, sizeof why);
    if (!b) fail_msg("%s", why);
    assert_int_equal(replay_table_next_key(replay_table(b)),
                     replay_table_next_key(replay_table(a)) - 50);
    replay_destroy(&b);
    replay_destroy(&a);
}

static void corrupt_byte(long at)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    if (at < 0) {
        fseek(f, 0, SEEK_END);
        at += ftell(f);
    }
    fseek(f, at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(c ^ 0x40, f);
    fclose(f);
}

static void expect_refused(const dq_config_t *cfg, const char *words)
{
    replay_t *b = replay_load(cfg, path, why, sizeof why);
    if (b) fail_msg("a bad checkpoint was loaded (expected '%s')", words);
    if (!strstr(why, words)) fail_msg("message '%s' does not say '%s'", why, words);
    assert_non_null(strstr(why, path));
}

static void test_bad_checkpoints_refused(void **state)
{
    (void)state;
    dq_config_t cfg;
    replay_t *a = busy_state(&cfg);
    assert_int_equal(replay_save(a, path, NULL, NULL, why, sizeof why), DQ_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    long size = (long)st.st_size;

    corrupt_byte(size / 2); /* a flipped bit in the items */
    expect_refused(&cfg, "checksum mismatch");
    corrupt_byte(size / 2);
    corrupt_byte(-3); /* in the checksum itself */
    expect_refused(&cfg, "checksum mismatch");
    corrupt_byte(-3);
    assert_int_equal(truncate(path, size - 100), 0);
    expect_refused(&cfg, "truncated");
    assert_int_equal(truncate(path, 10), 0);
    expect_refused(&cfg, "not a dqnlm replay checkpoint");
    FILE *f = fopen(path, "wb");
    fputs("hello, this is not a checkpoint at all", f);
    fclose(f);
    expect_refused(&cfg, "bad magic");

    assert_int_equal(replay_save(a, path, NULL, NULL, why, sizeof why), DQ_OK);
    corrupt_byte(8); /* version */
    expect_refused(&cfg, "version");
    assert_int_equal(replay_save(a, path, NULL, NULL, why, sizeof why), DQ_OK);
    dq_config_t other = cfg;
    other.replay_capacity = 501;
    expect_refused(&other, "mismatched: table 'main' has capacity 500");
    other = cfg;
    snprintf(other.replay_sampler, sizeof other.replay_sampler, "uniform");
    expect_refused(&other, "mismatched: table 'main' is prioritized");
    other = cfg;
    other.replay_alpha = 0.5;
    expect_refused(&other, "mismatched: priorities were stored with alpha");
    other = cfg;
    other.replay_max_actors = 2;
    expect_refused(&other, "mismatched");
    replay_t *b = replay_load(&cfg, path, why, sizeof why); /* the file itself is fine */
    if (!b) fail_msg("%s", why);
    replay_destroy(&b);
    replay_destroy(&a);
}

/* Every counter of the list gets a distinct value, survives a checkpoint
 * field by field, and appears in STATS under its name with that value. */
#define SET_COUNTER_(kind, field, stat, doc) c->field = (kind##_T)(1000 + 7 * k++) + kind##_FRAC;
#define U64_T uint64_t
#define F64_T double
#define U64_FRAC 0
#define F64_FRAC 0.25
#define CHECK_COUNTER_(kind, field, stat, doc)                                    \
    {                                                                             \
        if (!(c->field == d->field)) fail_msg("counter %s not restored", #field); \
        int found = 0;                                                            \
        for (uint32_t i = 0; i < st.count; i++)                                   \
            if (strcmp(st.stats[i].name, stat) == 0) {                            \
                found++;                                                          \
                if (st.stats[i].value != (double)c->field)                        \
                    fail_msg("stat %s = %g, counter %g", stat, st.stats[i].value, \
                             (double)c->field);                                   \
            }                                                                     \
        if (found != 1) fail_msg("stat %s appears %d times", stat, found);        \
        n_checked++;                                                              \
    }
static void test_counters_by_name(void **state)
{
    (void)state;
    dq_config_t cfg;
    replay_t *a = busy_state(&cfg);
    replay_counters_t *c = replay_counters(a);
    int k = 0, n_checked = 0;
    REPLAY_COUNTERS(SET_COUNTER_)
    c->rejects_by_code[-DQ_ERANGE] = 5;
    assert_int_equal(replay_save(a, path, NULL, NULL, why, sizeof why), DQ_OK);
    replay_t *b = replay_load(&cfg, path, why, sizeof why);
    if (!b) fail_msg("%s", why);
    const replay_counters_t *d = replay_counters(b);
    assert_int_equal(d->rejects_by_code[-DQ_ERANGE], 5);
    dq_stats_reply_t st;
    replay_stats(b, &st, 0, 1.0, 0);
    REPLAY_COUNTERS(CHECK_COUNTER_)
    assert_int_equal(n_checked, k);
    int rejects_named = 0;
    for (uint32_t i = 0; i < st.count; i++)
        if (strcmp(st.stats[i].name, "rejects.RANGE") == 0 && st.stats[i].value == 5)
            rejects_named++;
    assert_int_equal(rejects_named, 1);
    replay_destroy(&b);
    replay_destroy(&a);
}

/* A checkpoint of format version 2 (the raw counters struct of older builds)
 * is refused, naming both versions. */
static void test_old_version_refused(void **state)
{
    (void)state;
    dq_config_t cfg;
    replay_t *a = busy_state(&cfg);
    assert_int_equal(replay_save(a, path, NULL, NULL, why, sizeof why), DQ_OK);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    uint32_t v = 2;
    fseek(f, 8, SEEK_SET);
    assert_int_equal(fwrite(&v, sizeof v, 1, f), 1);
    fclose(f);
    expect_refused(&cfg, "format version 2, this program reads versions 3 to 4");
    replay_destroy(&a);
}

/* ---------------------------------------------------------------- the log */

/* Stores INSERT (actor, seq) of n transitions in r and appends it to w, as
 * the server does. */
static void insert_logged(replay_t *r, wal_t *w, uint32_t actor, uint64_t seq, uint32_t n)
{
    dq_insert_t ins;
    dq_ack_t ack;
    make_insert(&ins, actor, seq, n, 4, (int)(seq % 2));
    assert_int_equal(replay_insert(r, &ins, &ack, why, sizeof why), DQ_OK);
    assert_int_equal(ack.duplicate, 0);
    assert_int_equal(wal_append(w, &ins, why, sizeof why), DQ_OK);
    dq_batch_free(&ins.batch);
}

/* A checkpoint of generation gen holding busy_state, and its log with n
 * inserts stored after it (in a too). */
static replay_t *checkpoint_and_log(dq_config_t *cfg, uint64_t gen, int n)
{
    replay_t *a = busy_state(cfg);
    cfg->replay_rate_limit = 0; /* the inserts below must not wait */
    replay_set_log_generation(a, gen);
    assert_int_equal(replay_save(a, path, NULL, NULL, why, sizeof why), DQ_OK);
    wal_t *w = wal_create(wal_path, gen, WAL_FSYNC_GROUP, why, sizeof why);
    if (!w) fail_msg("%s", why);
    for (int i = 0; i < n; i++) {
        const replay_actor_t *x = replay_actor(a, 0);
        insert_logged(a, w, 0, x->next_seq, 3 + (uint32_t)i);
    }
    assert_int_equal(wal_unsynced(w), (uint64_t)n);
    assert_int_equal(wal_sync(w, why, sizeof why), DQ_OK);
    assert_int_equal(wal_unsynced(w), 0);
    wal_close(&w);
    return a;
}

static replay_t *recover(dq_config_t *cfg, wal_scan_t *sc, int expect_rc)
{
    replay_t *b = replay_load(cfg, path, why, sizeof why);
    if (!b) fail_msg("%s", why);
    int rc = wal_recover(b, wal_path, replay_log_generation(b), sc, why, sizeof why);
    if (rc != expect_rc) fail_msg("wal_recover: %d (expected %d): %s", rc, expect_rc, why);
    if (rc < 0) replay_destroy(&b);
    return b;
}

static long file_size(const char *p)
{
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return (long)st.st_size;
}

/* Checkpoint + log = the state the log was written from: same items under the
 * same keys, same per-actor seqs and counters; the next key continues. */
static void test_log_recovery_keys_continue(void **state)
{
    (void)state;
    dq_config_t cfg;
    replay_t *a = checkpoint_and_log(&cfg, 1, 6);
    wal_scan_t sc;
    replay_t *b = recover(&cfg, &sc, DQ_OK);
    assert_true(sc.found && !sc.stale);
    assert_int_equal(sc.generation, 1);
    assert_int_equal(sc.records, 6);
    assert_int_equal(sc.items, 3 + 4 + 5 + 6 + 7 + 8);
    assert_int_equal(sc.dropped_bytes, 0);
    assert_int_equal(sc.good_bytes, (uint64_t)file_size(wal_path));
    assert_same_state(a, b);
    /* The next insert gets the next key, in both. */
    uint64_t next = replay_table_next_key(replay_table(a));
    dq_ack_t ka, kb;
    uint64_t seq = replay_actor(a, 0)->next_seq;
    assert_int_equal(insert(a, 0, seq, 2, 0, &ka), DQ_OK);
    assert_int_equal(insert(b, 0, seq, 2, 0, &kb), DQ_OK);
    assert_int_equal(replay_table_next_key(replay_table(b)), next + 2);
    assert_same_state(a, b);
    /* A resend of a logged insert is a duplicate after the restore. */
    assert_int_equal(insert(b, 0, seq - 1, 4, 0, &kb), DQ_OK);
    assert_int_equal(kb.duplicate, 1);
    replay_destroy(&b);
    replay_destroy(&a);
}

/* The log cut inside its last record: the record is dropped, never half
 * applied; wal_open cuts it off and appends behind the good records. */
static void test_log_torn_tail_dropped(void **state)
{
    (void)state;
    dq_config_t cfg;
    replay_t *a = checkpoint_and_log(&cfg, 1, 5);
    long full = file_size(wal_path);
    uint64_t want_key = replay_table_next_key(replay_table(a)) - 7; /* the last had 7 */
    const long cuts[] = {1, 7, 12, 40, 7 * 52};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        assert_int_equal(truncate(wal_path, full - cuts[k]), 0);
        wal_scan_t sc;
        replay_t *b = recover(&cfg, &sc, DQ_OK);
        assert_int_equal(sc.records, 4);
        assert_int_equal(replay_table_next_key(replay_table(b)), want_key);
        assert_int_equal(sc.dropped_bytes, (uint64_t)(full - cuts[k]) - sc.good_bytes);
        assert_int_equal(replay_actor(b, 0)->next_seq, replay_actor(a, 0)->next_seq - 1);
        replay_destroy(&b);
    }
    /* Reopen behind the good records (the torn bytes cut off), append the
     * lost insert again: the log is whole once more. */
    wal_scan_t sc;
    replay_t *b = recover(&cfg, &sc, DQ_OK);
    wal_t *w = wal_open(wal_path, 1, sc.good_bytes, WAL_FSYNC_ALWAYS, why, sizeof why);
    if (!w) fail_msg("%s", why);
    assert_int_equal(file_size(wal_path), (long)sc.good_bytes);
    insert_logged(b, w, 0, replay_actor(b, 0)->next_seq, 7);
    assert_int_equal(wal_sync(w, why, sizeof why), DQ_OK);
    wal_close(&w);
    assert_int_equal(file_size(wal_path), full);
    replay_destroy(&b);
    b = recover(&cfg, &sc, DQ_OK);
    assert_int_equal(sc.records, 5);
    assert_int_equal(sc.dropped_bytes, 0);
    assert_same_state(a, b);
    replay_destroy(&b);
    /* Zeros behind the last record (a file extension never written): dropped. */
    FILE *f = fopen(wal_path, "ab");
    for (int i = 0; i < 5000; i++) fputc(0, f);
    fclose(f);
    b = recover(&cfg, &sc, DQ_OK);
    assert_int_equal(sc.records, 5);
    assert_int_equal(sc.dropped_bytes, 5000);
    replay_destroy(&b);
    replay_destroy(&a);
}

static void flip_byte(const char *p, long at)
{
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    fseek(f, at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(c ^ 0x08, f);
    fclose(f);
}

/* A checksum mismatch in the last record is a torn tail (dropped); in a
 * record with others behind it, corruption: refused, naming file and offset. */
static void test_log_checksum_mismatch(void **state)
{
    (void)state;
    dq_config_t cfg;
    replay_t *a = checkpoint_and_log(&cfg, 1, 5);
    long full = file_size(wal_path);
    flip_byte(wal_path, full - 30); /* inside the last record */
    wal_scan_t sc;
    replay_t *b = recover(&cfg, &sc, DQ_OK);
    assert_int_equal(sc.records, 4);
    assert_true(sc.dropped_bytes > 0);
    replay_destroy(&b);
    flip_byte(wal_path, full - 30);
    flip_byte(wal_path, WAL_HEADER_BYTES + 40); /* inside the first record */
    b = recover(&cfg, &sc, DQ_ECHECKSUM);
    assert_null(b);
    assert_non_null(strstr(why, wal_path));
    assert_non_null(strstr(why, "record 0 at byte 32 has a checksum mismatch"));
    assert_non_null(strstr(why, "corrupt in the middle"));
    flip_byte(wal_path, WAL_HEADER_BYTES + 40);
    /* The first record's length made impossible (its top byte): corruption in
     * the middle, refused, not taken for a record cut short and the rest cut off. */
    FILE *f = fopen(wal_path, "r+b");
    assert_non_null(f);
    fseek(f, WAL_HEADER_BYTES + 3, SEEK_SET);
    int top = fgetc(f);
    fseek(f, WAL_HEADER_BYTES + 3, SEEK_SET);
    fputc(0xf0, f);
    fclose(f);
    b = recover(&cfg, &sc, DQ_ECHECKSUM);
    assert_null(b);
    assert_non_null(strstr(why, "record 0 at byte 32 has an impossible length"));
    assert_int_equal(file_size(wal_path), full); /* nothing cut */
    f = fopen(wal_path, "r+b");
    assert_non_null(f);
    fseek(f, WAL_HEADER_BYTES + 3, SEEK_SET);
    fputc(top, f);
    fclose(f);
    flip_byte(wal_path, 3); /* the header */
    b = recover(&cfg, &sc, DQ_EFORMAT);
    assert_non_null(strstr(why, "not a dqnlm replay log"));
    flip_byte(wal_path, 3);
    flip_byte(wal_path, 17); /* the generation: the header checksum fails */
    b = recover(&cfg, &sc, DQ_ECHECKSUM);
    assert_non_null(strstr(why, "header checksum"));
    replay_destroy(&a);
}

/* Generations: a log older than the checkpoint (a crash after the checkpoint
 * was renamed into place, before the log was replaced) is skipped, so its
 * records are not applied twice; a newer one is refused; records already held
 * are dropped as duplicates whatever the generation says. */
static void test_log_generations(void **state)
{
    (void)state;
    dq_config_t cfg;
    replay_t *a = checkpoint_and_log(&cfg, 3, 4);
    /* The checkpoint at the crash: generation 4, holding the 4 inserts. */
    replay_set_log_generation(a, 4);
    assert_int_equal(replay_save(a, path, NULL, NULL, why, sizeof why), DQ_OK);
    wal_scan_t sc;
    replay_t *b = recover(&cfg, &sc, DQ_OK);
    assert_true(sc.found && sc.stale);
    assert_int_equal(sc.records, 0);
    assert_same_state(a, b);
    replay_destroy(&b);
    /* The same records applied onto a state that holds them: all duplicates. */
    b = replay_load(&cfg, path, why, sizeof why);
    assert_non_null(b);
    assert_int_equal(wal_recover(b, wal_path, 3, &sc, why, sizeof why), DQ_OK);
    assert_int_equal(sc.records, 0);
    assert_int_equal(sc.duplicates, 4);
    assert_int_equal(replay_table_next_key(replay_table(b)),
                     replay_table_next_key(replay_table(a)));
    replay_destroy(&b);
    /* A checkpoint older than its log: refused. */
    replay_set_log_generation(a, 2);
    assert_int_equal(replay_save(a, path, NULL, NULL, why, sizeof why), DQ_OK);
    b = recover(&cfg, &sc, DQ_EFORMAT);
    assert_non_null(strstr(why, "generation 3 continues a newer checkpoint"));
    /* No log at all: nothing to apply. */
    unlink(wal_path);
    b = recover(&cfg, &sc, DQ_OK);
    assert_int_equal(sc.found, 0);
    uint64_t gen = 9;
    assert_int_equal(wal_peek_generation(wal_path, &gen, why, sizeof why), DQ_EIO);
    replay_destroy(&b);
    replay_destroy(&a);
}

/* CKPT.tmp.PID and CKPT.wal.tmp.PID of a dead writer are removed; those of a
 * live process, and other names, are left alone. */
static void test_stale_temps_removed(void **state)
{
    (void)state;
    pid_t dead = fork();
    if (dead == 0) _exit(0);
    assert_int_equal(waitpid(dead, NULL, 0), dead);
    char names[5][256];
    snprintf(names[0], sizeof names[0], "%s.tmp.%d", path, (int)dead);
    snprintf(names[1], sizeof names[1], "%s.wal.tmp.%d", path, (int)dead);
    snprintf(names[2], sizeof names[2], "%s.tmp.%d", path, (int)getppid()); /* alive */
    snprintf(names[3], sizeof names[3], "%s.tmp.x%d", path, (int)dead);     /* not a temp */
    snprintf(names[4], sizeof names[4], "%s.other.tmp.%d", path, (int)dead);
    for (int i = 0; i < 5; i++) {
        FILE *f = fopen(names[i], "wb");
        assert_non_null(f);
        fputs("partial", f);
        fclose(f);
    }
    assert_int_equal(wal_remove_stale_temps(path), 2);
    for (int i = 0; i < 5; i++) {
        int exists = access(names[i], F_OK) == 0;
        if (exists != (i >= 2)) fail_msg("%s: exists = %d", names[i], exists);
        unlink(names[i]);
    }
}

/* seq 2^64-1 would make next_seq wrap to 0 (and a resend be stored twice):
 * it is refused; 2^64-2 is the last seq stored. */
static void test_seq_max_refused(void **state)
{
    (void)state;
    dq_config_t cfg;
    base_config(&cfg, 100, "uniform");
    replay_t *r = replay_new(&cfg, why, sizeof why);
    dq_ack_t ack;
    assert_int_equal(insert(r, 1, UINT64_MAX, 2, 0, &ack), DQ_ERANGE);
    assert_non_null(strstr(why, "2^64-1"));
    assert_null(replay_actor(r, 1));
    assert_int_equal(insert(r, 1, UINT64_MAX - 1, 2, 0, &ack), DQ_OK);
    assert_true(replay_actor(r, 1)->next_seq == UINT64_MAX);
    assert_int_equal(insert(r, 1, UINT64_MAX - 1, 2, 0, &ack), DQ_OK);
    assert_int_equal(ack.duplicate, 1);
    assert_int_equal(insert(r, 1, UINT64_MAX, 2, 0, &ack), DQ_ERANGE);
    assert_int_equal(replay_table_size(replay_table(r)), 2);
    replay_destroy(&r);
}

static double stat_of(const dq_stats_reply_t *s, const char *name)
{
    for (uint32_t i = 0; i < s->count; i++)
        if (!strcmp(s->stats[i].name, name)) return s->stats[i].value;
    return -1;
}

/* 300 actors: the first reply lists as many as fit and says where to go on;
 * the pages (actor_from = actors.next) list each actor exactly once. */
static void test_stats_actor_pages(void **state)
{
    (void)state;
    enum { N = 300 };
    dq_config_t cfg;
    base_config(&cfg, 10000, "uniform");
    replay_t *r = replay_new(&cfg, why, sizeof why);
    dq_ack_t ack;
    for (uint32_t a = 0; a < N; a++) {
        uint32_t id = a * 3; /* ids with holes */
        for (uint64_t s = 0; s <= a % 3; s++)
            assert_int_equal(insert(r, id, s, 1 + a % 4, 0, &ack), DQ_OK);
        if (a % 5 == 0) insert(r, id, 0, 1, 0, &ack); /* a duplicate */
    }
    int seen[3 * N] = {0};
    dq_stats_reply_t s;
    replay_stats(r, &s, 0, 1.0, 0);
    assert_true(stat_of(&s, "actors") == N);
    replay_stats_actors(r, &s, 0);
    int pages = 1;
    for (;;) {
        assert_true(s.count <= DQ_STATS_MAX);
        for (uint32_t i = 0; i < s.count; i++) {
            unsigned id;
            char what[32];
            if (sscanf(s.stats[i].name, "actor.%u.%31s", &id, what) != 2) continue;
            assert_true(id < 3 * N && id % 3 == 0);
            uint32_t a = id / 3;
            if (!strcmp(what, "inserts")) {
                seen[id]++;
                assert_true(s.stats[i].value == (double)((1 + a % 3) * (1 + a % 4)));
            } else if (!strcmp(what, "next_seq")) {
                assert_true(s.stats[i].value == (double)(1 + a % 3));
            } else if (!strcmp(what, "duplicates")) {
                assert_true(a % 5 == 0 && s.stats[i].value == 1);
            }
        }
        double next = stat_of(&s, "actors.next");
        if (next < 0) break;
        assert_true(pages++ < N);
        memset(&s, 0, sizeof s);
        replay_stat_add(&s, "actors", (double)replay_actor_count(r));
        replay_stats_actors(r, &s, (uint32_t)next);
    }
    for (uint32_t a = 0; a < N; a++) assert_int_equal(seen[3 * a], 1);
    assert_true(pages >= 5); /* about 38 actors a page */
    replay_destroy(&r);
}

/* table_bytes: the columns, and for a prioritized table the sum-tree's 24
 * bytes per leaf, leaves padded to a power of two. */
static void test_table_bytes(void **state)
{
    (void)state;
    const char *samplers[2] = {"uniform", "prioritized"};
    for (int k = 0; k < 2; k++) {
        dq_config_t cfg;
        base_config(&cfg, 1000, samplers[k]);
        replay_t *r = replay_new(&cfg, why, sizeof why);
        dq_ack_t ack;
        assert_int_equal(insert(r, 0, 0, 3, 0, &ack), DQ_OK); /* obs_dim 4: 52 B per item */
        size_t want = 1000 * 52 + (k ? 1024 * 24 : 0);
        assert_int_equal(replay_table_alloc_bytes(replay_table(r)), want);
        dq_stats_reply_t s;
        replay_stats(r, &s, 0, 1.0, 0);
        assert_true(stat_of(&s, "table_bytes") == (double)want);
        assert_true(stat_of(&s, "next_key") == 3);
        replay_destroy(&r);
    }
}

int main(void)
{
    dq_log_init("test", DQ_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exactly_once),
        cmocka_unit_test(test_actor_restart),
        cmocka_unit_test(test_prioritized),
        cmocka_unit_test(test_limiter_defers),
        cmocka_unit_test_setup_teardown(test_stopping_takes_held_inserts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_writer_leaves_old_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_checkpoints_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters_by_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_version_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_recovery_keys_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_torn_tail_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_checksum_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_generations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_temps_removed, setup, teardown),
        cmocka_unit_test(test_seq_max_refused),
        cmocka_unit_test(test_stats_actor_pages),
        cmocka_unit_test(test_table_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
