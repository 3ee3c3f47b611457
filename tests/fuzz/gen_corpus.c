/* gen_corpus.c - writes the seed corpus of the fuzz targets with the real
 * writers: one small valid file per case under DIR/corpus/TARGET/, named
 * after what it holds, and the config target's dictionary DIR/dict/config.dict
 * (every section and key of config_keys.h). DIR is tests/fuzz:
 *
 *   build-fuzz/tests/fuzz/gen_corpus tests/fuzz
 *
 * The replay, learner and LM files use the configurations of fuzz_util.h, so
 * the targets load them; the edge cases (empty file, truncated header, bad
 * magic) are committed by hand next to them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "config.h"
#include "ctldesc.h"
#include "err.h"
#include "fileio.h"
#include "fuzz_util.h"
#include "lm_model.h"
#include "qnet.h"
#include "wal.h"
#include "replay.h"
#include "rng.h"
#include "wire.h"

static const char *root;

static void die(const char *what, const char *why)
{
    fprintf(stderr, "gen_corpus: %s: %s\n", what, why);
    exit(1);
}

static void make_dir(const char *p)
{
    if (mkdir(p, 0777) < 0 && errno != EEXIST) die(p, strerror(errno));
}

/* DIR/corpus/TARGET/NAME, creating the folders. */
static const char *seed_path(const char *target, const char *name)
{
    static char p[1024];
    snprintf(p, sizeof p, "%s/corpus", root);
    make_dir(p);
    snprintf(p, sizeof p, "%s/corpus/%s", root, target);
    make_dir(p);
    snprintf(p, sizeof p, "%s/corpus/%s/%s", root, target, name);
    return p;
}

/* libFuzzer dictionary of the INI reader: "[section]" and "key" of every key. */
static void gen_config_dict(void)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/dict", root);
    make_dir(p);
    snprintf(p, sizeof p, "%s/dict/config.dict", root);
    FILE *f = fopen(p, "w");
    if (!f) die(p, strerror(errno));
    fprintf(f, "# written by gen_corpus from config_keys.h\n\"=\"\n\" = \"\n\"true\"\n\"1e-6\"\n");
    size_t n;
    const dq_config_key_t *k = dq_config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(k[i].section, k[i - 1].section) != 0)
            fprintf(f, "\"[%s]\"\n", k[i].section);
        fprintf(f, "\"%s\"\n", k[i].key);
    }
    if (fclose(f) != 0) die(p, strerror(errno));
}

static void fill_batch(dq_batch_t *b, uint32_t count, uint32_t dim, int prio, uint64_t tag)
{
    if (dq_batch_alloc(b, count, dim, prio) < 0) die("batch", "out of memory");
    for (uint32_t i = 0; i < count; i++) {
        for (uint32_t d = 0; d < dim; d++) {
            b->obs[i * dim + d] = (float)(tag + i) + 0.25f * (float)d;
            b->next_obs[i * dim + d] = -(float)(tag + i) - 0.25f * (float)d;
        }
        b->action[i] = (int32_t)(i % 3);
        b->reward[i] = 0.5f * (float)i;
        b->discount[i] = i % 2 ? 0.9f : 0.0f;
        b->epsilon[i] = 0.1f;
        b->version[i] = (uint32_t)tag;
        if (prio) b->priority[i] = 1.0f + (float)i;
    }
}

static void put_msg(const char *name, dq_msg_t *m)
{
    dq_buf_t buf = {0};
    char why[256];
    if (dq_msg_encode(m, &buf) < 0) {
        dq_msg_validate(m, why, sizeof why);
        die(name, why);
    }
    if (dq_file_write_atomic(seed_path("wire", name), buf.data, buf.len) < 0) die(name, "write");
    dq_buf_free(&buf);
    dq_msg_clear(m);
}

static void gen_wire_items(void)
{
    dq_msg_t m = {.type = DQ_MSG_ITEMS};
    dq_items_t *it = &m.u.items;
    it->id = 99;
    it->size = 1000;
    fill_batch(&it->batch, 2, 3, 0, 7);
    it->keys = malloc(2 * sizeof *it->keys);
    it->prob = malloc(2 * sizeof *it->prob);
    if (!it->keys || !it->prob) die("items", "out of memory");
    it->keys[0] = 5;
    it->keys[1] = 1ull << 40;
    it->prob[0] = 0.5f;
    it->prob[1] = 1.0f;
    put_msg("items", &m);

    m = (dq_msg_t){.type = DQ_MSG_UPDATE_PRIORITIES};
    dq_update_priorities_t *u = &m.u.update_priorities;
    snprintf(u->table, sizeof u->table, "main");
    u->count = 2;
    u->keys = malloc(2 * sizeof *u->keys);
    u->priority = malloc(2 * sizeof *u->priority);
    if (!u->keys || !u->priority) die("update", "out of memory");
    u->keys[0] = 3;
    u->keys[1] = UINT64_MAX;
    u->priority[0] = 0.0f;
    u->priority[1] = 2.5f;
    put_msg("update_priorities", &m);
}

static void gen_wire_weights(void)
{
    dq_qnet_t net;
    dq_rng_t rng;
    dq_rng_seed(&rng, 3);
    char why[256];
    if (dq_qnet_build(&net, "4", 0, 3, 2, &rng, why, sizeof why) < 0) die("qnet", why);
    dq_msg_t m = {.type = DQ_MSG_WEIGHTS};
    dq_qnet_to_weights(&net, 12, 3400, &m.u.weights);
    dq_buf_t buf = {0};
    if (dq_msg_encode(&m, &buf) < 0) die("weights", "encode");
    if (dq_file_write_atomic(seed_path("wire", "weights"), buf.data, buf.len) < 0)
        die("weights", "write");
    dq_buf_free(&buf); /* the blob points into net: not cleared */
    dq_qnet_free(&net);
}

static void gen_wire(void)
{
    dq_msg_t m = {.type = DQ_MSG_INSERT, .u.insert = {.actor = 3, .seq = 17}};
    fill_batch(&m.u.insert.batch, 2, 3, 0, 1);
    put_msg("insert", &m);
    m = (dq_msg_t){.type = DQ_MSG_INSERT, .u.insert = {.actor = 4, .seq = 0, .run = 0xabcdef}};
    fill_batch(&m.u.insert.batch, 3, 2, 1, 2);
    put_msg("insert_priority_run", &m);
    m = (dq_msg_t){.type = DQ_MSG_ACK, .u.ack = {.seq = 17, .count = 2, .duplicate = 1}};
    put_msg("ack", &m);
    m = (dq_msg_t){.type = DQ_MSG_SAMPLE, .u.sample = {.table = "main", .n = 32, .id = 9}};
    put_msg("sample", &m);
    gen_wire_items();
    gen_wire_weights();
    m = (dq_msg_t){.type = DQ_MSG_STATS, .u.stats = {.id = 4}};
    put_msg("stats", &m);
    m = (dq_msg_t){.type = DQ_MSG_STATS_REPLY};
    m.u.stats_reply.count = 3;
    const char *names[] = {"size", "capacity", "rejects.RANGE"};
    for (int i = 0; i < 3; i++) {
        snprintf(m.u.stats_reply.stats[i].name, DQ_STAT_NAME_MAX, "%s", names[i]);
        m.u.stats_reply.stats[i].value = 10.0 * i - 0.5;
    }
    put_msg("stats_reply", &m);
    m = (dq_msg_t){.type = DQ_MSG_CHECKPOINT, .u.checkpoint = {.id = 8}};
    put_msg("checkpoint", &m);
    dq_msg_error(&m, DQ_ESHAPE, 17, "insert.obs has 5 floats, expected 6");
    put_msg("error", &m);
}

static void insert(replay_t *r, uint32_t actor, uint64_t seq, uint32_t n, int prio)
{
    dq_insert_t ins = {.actor = actor, .seq = seq, .run = 100 + actor};
    fill_batch(&ins.batch, n, 2, prio, actor * 1000 + seq);
    dq_ack_t ack;
    char why[512];
    if (replay_insert(r, &ins, &ack, why, sizeof why) < 0) die("replay_insert", why);
    dq_batch_free(&ins.batch);
}

static void save_replay(replay_t *r, const char *name)
{
    char why[512];
    if (replay_save(r, seed_path("replay_ckpt", name), NULL, NULL, why, sizeof why) < 0)
        die(name, why);
    replay_destroy(&r);
}

static void gen_replay(void)
{
    char why[512];
    dq_config_t cfg;
    for (int prio = 0; prio < 2; prio++) {
        fuzz_replay_config(&cfg, prio);
        replay_t *r = replay_new(&cfg, why, sizeof why);
        if (!r) die("replay_new", why);
        save_replay(r, prio ? "prioritized_empty" : "uniform_empty");
        r = replay_new(&cfg, why, sizeof why);
        if (!r) die("replay_new", why);
        insert(r, 0, 0, 3, prio);
        insert(r, 5, 0, 2, 0);
        insert(r, 5, 1, 1, prio);
        save_replay(r, prio ? "prioritized_3actors" : "uniform_3actors");
    }
    /* More items than the capacity: the table has wrapped. */
    fuzz_replay_config(&cfg, 1);
    replay_t *r = replay_new(&cfg, why, sizeof why);
    if (!r) die("replay_new", why);
    for (uint64_t s = 0; s < 5; s++) insert(r, 2, s, 4, 1);
    dq_update_priorities_t up = {.table = "main", .count = 2};
    uint64_t keys[2] = {18, 19};
    float prio[2] = {0.0f, 7.0f};
    up.keys = keys;
    up.priority = prio;
    dq_ack_t ack;
    if (replay_update_priorities(r, &up, &ack, why, sizeof why) < 0) die("update", why);
    save_replay(r, "prioritized_wrapped");
}

/* Write-ahead logs by the real writer: empty, three records of two actors,
 * and the same cut inside its last record (a torn tail). */
static void gen_wal(void)
{
    char why[512];
    const char *names[2] = {"empty", "three_records"};
    for (int k = 0; k < 2; k++) {
        wal_t *w = wal_create(seed_path("wal", names[k]), 5, WAL_FSYNC_NONE, why, sizeof why);
        if (!w) die("wal_create", why);
        for (uint64_t s = 0; k == 1 && s < 3; s++) {
            dq_insert_t ins = {.actor = (uint32_t)(s % 2), .seq = s / 2, .run = 100 + s % 2};
            fill_batch(&ins.batch, 2, 2, (int)(s % 2), s);
            if (wal_append(w, &ins, why, sizeof why) < 0) die("wal_append", why);
            dq_batch_free(&ins.batch);
        }
        if (wal_sync(w, why, sizeof why) < 0) die("wal_sync", why);
        wal_close(&w);
    }
    FILE *f = fopen(seed_path("wal", "three_records"), "rb");
    unsigned char buf[4096];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (!f || n < WAL_HEADER_BYTES + 20) die("wal seed", "cannot read it back");
    fclose(f);
    f = fopen(seed_path("wal", "torn_tail"), "wb");
    if (!f || fwrite(buf, 1, n - 13, f) != n - 13 || fclose(f) != 0)
        die("wal seed", "cannot write");
}

static void gen_qnets(void)
{
    dq_rng_t rng;
    dq_rng_seed(&rng, 11);
    char why[256];
    const struct {
        const char *name, *hidden;
        int dueling;
    } nets[] = {
        {"plain", FUZZ_QNET_HIDDEN, 0}, {"dueling", FUZZ_QNET_HIDDEN, 1}, {"deep", "5,4,3", 0}};
    for (int k = 0; k < 3; k++) {
        dq_qnet_t online, target;
        if (dq_qnet_build(&online, nets[k].hidden, nets[k].dueling, FUZZ_QNET_OBS,
                          FUZZ_QNET_ACTIONS, &rng, why, sizeof why) < 0 ||
            dq_qnet_build(&target, nets[k].hidden, nets[k].dueling, FUZZ_QNET_OBS,
                          FUZZ_QNET_ACTIONS, &rng, why, sizeof why) < 0)
            die("qnet", why);
        for (size_t i = 0; i < online.n_params; i++) {
            online.m[i] = 0.01f * (float)i;
            online.v[i] = 0.001f * (float)i;
        }
        if (dq_qnet_save(&online, seed_path("qnet", nets[k].name)) < 0) die("qnet", "save");
        learner_progress_t prog = {.updates = 1000 + k, .version = 40 + k, .adam_t = 1000 + k};
        if (k < 2 &&
            learner_ckpt_save(seed_path("learner_ckpt", nets[k].name), &online, &target, &prog) < 0)
            die("learner", "save");
        dq_qnet_free(&online);
        dq_qnet_free(&target);
    }
    /* A controller with its description: the default environment's widths
     * and the default configuration, as the learner saves qnet.bin. */
    dq_config_t cfg;
    dq_config_defaults(&cfg);
    dq_ctldesc_t d;
    dq_qnet_t net;
    if (dq_ctldesc_of_config(&cfg, &d, why, sizeof why) < 0 ||
        dq_qnet_build(&net, FUZZ_QNET_HIDDEN, 0, d.obs_dim, d.n_actions, &rng, why, sizeof why) <
            0 ||
        dq_ctl_save(&net, &cfg, seed_path("qnet", "described"), why, sizeof why) < 0)
        die("qnet described", why);
    dq_qnet_free(&net);
}

static void gen_lm(void)
{
    const lm_config_t shapes[2] = {
        FUZZ_LM_CONFIG,
        {.vocab = 4, .max_seq = 2, .channels = 4, .layers = 2, .heads = 1, .max_batch = 1}};
    const char *names[2] = {"fixed_shape", "other_shape"};
    for (int k = 0; k < 2; k++) {
        lm_model_t m = {0};
        dq_rng_t rng;
        dq_rng_seed(&rng, 2 + (uint64_t)k);
        char why[256];
        if (lm_init(&m, &shapes[k], &rng) != DQ_OK) die("lm_init", "failed");
        if (lm_save(&m, seed_path("lm_ckpt", names[k]), why, sizeof why) != DQ_OK)
            die("lm_save", why);
        lm_free(&m);
    }
}

static void put_text(const char *name, const char *text)
{
    if (dq_file_write_atomic(seed_path("config", name), text, strlen(text)) < 0) die(name, "write");
}

static void gen_config(void)
{
    dq_config_t cfg;
    dq_config_defaults(&cfg);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f || dq_config_write(&cfg, f) < 0 || fclose(f) != 0) die("config", "write");
    put_text("defaults", text);
    free(text);
    put_text("chain_job", "; a chain job\n[run]\nseed = 7\ndir = runs/chain\n\n[env]\n"
                          "name = chain\nchain_length = 12\n\n[replay]\ncapacity = 5000\n"
                          "sampler = prioritized\nalpha = 0.5\nrate_limit = true\n");
    put_text("quotes_comments", "# comment\n[replay]\nendpoint = \"tcp://127.0.0.1:6000\"\n"
                                "checkpoint = 'runs/x/replay.ckpt' ; inline\n"
                                "[dqn]\nhidden = 64,64\n");
}

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: gen_corpus DIR   writes the seeds DIR/corpus/TARGET/NAME and "
                        "DIR/dict/config.dict (DIR: tests/fuzz)\n");
        return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    root = argv[1];
    if (mkdir(root, 0777) < 0 && errno != EEXIST) die(root, strerror(errno));
    gen_wire();
    gen_replay();
    gen_wal();
    gen_qnets();
    gen_lm();
    gen_config();
    gen_config_dict();
    return 0;
}
