/* replay.c - see replay.h. */
#include "replay.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "rng.h"

struct replay {
    replay_table_t *table;
    ratelimiter_t rl;
    uint64_t prefill;   /* limiter off until the table holds this many */
    bool rl_configured; /* replay.rate_limit */
    uint32_t max_insert_batch, max_sample_batch;
    uint32_t max_actors;
    dq_rng_t rng;
    replay_counters_t c;
    replay_actor_t *actors; /* (n_actors) indexed by actor id */
    size_t n_actors;
    uint64_t log_gen; /* generation of the write-ahead log this state continues (wal.h) */
    bool stopping;    /* replay_set_stopping: inserts no longer wait for the limiter */
};

int replay_configs(const dq_config_t *cfg, replay_table_config_t *tc, ratelimiter_config_t *rc,
                   char *why, size_t whylen)
{
    *tc = (replay_table_config_t){
        .name = "main",
        .capacity = (size_t)cfg->replay_capacity,
        .sampler =
            strcmp(cfg->replay_sampler, "prioritized") == 0 ? REPLAY_PRIORITIZED : REPLAY_UNIFORM,
        .alpha = cfg->replay_alpha,
        .eps = cfg->replay_priority_eps,
    };
    *rc = (ratelimiter_config_t){
        .samples_per_insert = cfg->replay_samples_per_insert,
        .min_size_to_sample = (uint64_t)cfg->replay_min_size_to_sample,
        .error_buffer = cfg->replay_error_buffer,
        .capacity = (uint64_t)cfg->replay_capacity,
        .max_insert_batch = (uint32_t)cfg->replay_max_insert_batch,
        .max_sample_batch = (uint32_t)cfg->replay_max_sample_batch,
        .enabled = cfg->replay_rate_limit != 0,
    };
    if (rc->error_buffer == 0.0) rc->error_buffer = ratelimiter_min_error_buffer(rc);
    /* A disabled limiter only counts: its size rules must not refuse a config. */
    if (!rc->enabled && rc->min_size_to_sample > rc->capacity)
        rc->min_size_to_sample = rc->capacity;
    char err[400];
    if (ratelimiter_check_config(rc, err, sizeof err) < 0) {
        snprintf(why, whylen,
                 "%s (replay.samples_per_insert, replay.min_size_to_sample, "
                 "replay.error_buffer, replay.max_insert_batch, "
                 "replay.max_sample_batch, replay.capacity)",
                 err);
        return DQ_ECONFIG;
    }
    return DQ_OK;
}

static replay_t *alloc_state(const dq_config_t *cfg, ratelimiter_config_t *rc, char *why,
                             size_t whylen)
{
    replay_t *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    r->rl_configured = rc->enabled;
    r->prefill = (uint64_t)cfg->replay_prefill;
    r->max_insert_batch = rc->max_insert_batch;
    r->max_sample_batch = rc->max_sample_batch;
    r->max_actors = (uint32_t)cfg->replay_max_actors;
    dq_rng_seed(&r->rng, dq_rng_mix((uint64_t)cfg->run_seed, 0x7e91a7, 0));
    return r;
}

replay_t *replay_new(const dq_config_t *cfg, char *why, size_t whylen)
{
    replay_table_config_t tc;
    ratelimiter_config_t rc;
    if (replay_configs(cfg, &tc, &rc, why, whylen) < 0) return NULL;
    replay_t *r = alloc_state(cfg, &rc, why, whylen);
    if (!r) return NULL;
    if (rc.enabled && r->prefill > 0) rc.enabled = false; /* pre-filling first */
    char err[400];
    if (ratelimiter_init(&r->rl, &rc, err, sizeof err) < 0) {
        snprintf(why, whylen, "%s", err);
        goto fail;
    }
    r->table = replay_table_new(&tc);
    if (!r->table) {
        snprintf(why, whylen, "cannot create a table of capacity %zu (out of memory?)",
                 tc.capacity);
        goto fail;
    }
    return r;
fail:
    replay_destroy(&r);
    return NULL;
}

void replay_destroy(replay_t **self_p)
{
    if (!self_p || !*self_p) return;
    replay_table_destroy(&(*self_p)->table);
    free((*self_p)->actors);
    free(*self_p);
    *self_p = NULL;
}

replay_counters_t *replay_counters(replay_t *r) { return &r->c; }
uint64_t replay_log_generation(const replay_t *r) { return r->log_gen; }
void replay_set_log_generation(replay_t *r, uint64_t gen) { r->log_gen = gen; }
replay_table_t *replay_table(replay_t *r) { return r->table; }
const ratelimiter_t *replay_limiter(const replay_t *r) { return &r->rl; }

size_t replay_actor_count(const replay_t *r)
{
    size_t n = 0;
    for (size_t a = 0; a < r->n_actors; a++) n += r->actors[a].seen != 0;
    return n;
}

const replay_actor_t *replay_actor(const replay_t *r, uint32_t actor)
{
    if (actor >= r->n_actors || !r->actors[actor].seen) return NULL;
    return &r->actors[actor];
}

void replay_count_reject(replay_t *r, int code)
{
    r->c.rejects++;
    int i = -code;
    if (i > 0 && i < REPLAY_N_ERR) r->c.rejects_by_code[i]++;
}

static int grow_actors(replay_t *r, size_t want)
{
    if (want <= r->n_actors) return DQ_OK;
    size_t n = r->n_actors ? r->n_actors : 16;
    while (n < want) n *= 2;
    replay_actor_t *p = realloc(r->actors, n * sizeof *p);
    if (!p) return DQ_ENOMEM;
    memset(p + r->n_actors, 0, (n - r->n_actors) * sizeof *p);
    r->actors = p;
    r->n_actors = n;
    return DQ_OK;
}

static void maybe_end_prefill(replay_t *r)
{
    if (r->rl_configured && !r->rl.cfg.enabled && replay_table_size(r->table) >= r->prefill) {
        ratelimiter_set_enabled(&r->rl, true);
        DQ_INFO("pre-filled %zu items: rate limiter on", replay_table_size(r->table));
    }
}

/* A new process with this actor id (another run id) starts its sequence
 * numbers over. */
static void note_run(replay_actor_t *a, uint64_t run)
{
    if (a->seen && run != a->run) {
        a->restarts++;
        a->next_seq = 0;
        a->blocked = 0;
        a->timeout_hi = 0;
    }
    a->run = run;
}

/* The checks every INSERT passes before anything else, and the actor's
 * entry (*ap). */
static int check_insert(replay_t *r, const dq_insert_t *ins, replay_actor_t **ap, char *why,
                        size_t whylen)
{
    const dq_batch_t *b = &ins->batch;
    if (ins->actor >= r->max_actors) {
        snprintf(why, whylen,
                 "insert.actor = %" PRIu32 ", must be below replay.max_actors = %" PRIu32,
                 ins->actor, r->max_actors);
        return DQ_ERANGE;
    }
    if (grow_actors(r, (size_t)ins->actor + 1) < 0) {
        snprintf(why, whylen, "out of memory for actor %" PRIu32, ins->actor);
        return DQ_ENOMEM;
    }
    *ap = &r->actors[ins->actor];
    note_run(*ap, ins->run);
    if (ins->seq == UINT64_MAX) {
        snprintf(why, whylen,
                 "insert.seq = %" PRIu64 " (2^64-1) of actor %" PRIu32
                 " is out of range: seqs must stay below 2^64-1 (start a new run id)",
                 ins->seq, ins->actor);
        return DQ_ERANGE;
    }
    if (b->count > r->max_insert_batch) {
        snprintf(why, whylen,
                 "insert.count = %" PRIu32 " exceeds replay.max_insert_batch = %" PRIu32, b->count,
                 r->max_insert_batch);
        return DQ_ERANGE;
    }
    uint32_t tdim = replay_table_obs_dim(r->table);
    if (tdim && b->obs_dim != tdim) {
        snprintf(why, whylen, "table main holds obs_dim %u, insert has obs_dim %u", tdim,
                 b->obs_dim);
        return DQ_ESHAPE;
    }
    return DQ_OK;
}

/* Seq, if it is the one a blocked actor had to resend first, is settled
 * (stored or refused for its content): the block ends once every seq
 * answered TIMEOUT is settled, else the next one in order is awaited. Any
 * other seq leaves the block as it is (it never moves backwards). */
static void settle_resend(replay_actor_t *a, uint64_t seq)
{
    if (!a->blocked || seq != a->resend_from) return;
    if (seq >= a->timeout_hi)
        a->blocked = 0;
    else
        a->resend_from = seq + 1;
}

/* Whether the insert is already held (seq below the actor's next_seq); a
 * held one is counted as a duplicate and its ack says so. */
static int is_duplicate(replay_t *r, replay_actor_t *a, const dq_insert_t *ins, dq_ack_t *ack)
{
    if (!a->seen || ins->seq >= a->next_seq) return 0;
    a->duplicates++;
    r->c.duplicates++;
    r->c.duplicate_items += ins->batch.count;
    ack->duplicate = 1;
    return 1;
}

/* Stores the batch and advances the actor's sequence. */
static int store(replay_t *r, replay_actor_t *a, const dq_insert_t *ins, dq_ack_t *ack, char *why,
                 size_t whylen)
{
    const dq_batch_t *b = &ins->batch;
    uint64_t evicted = 0;
    int rc = replay_table_insert(r->table, b, &evicted, why, whylen);
    if (rc < 0) return rc;
    /* Counted without a check: replay_insert asked the limiter first, unless
     * stopping; a log replay stores what was acknowledged, whatever the ratio. */
    ratelimiter_record_insert(&r->rl, b->count);
    ratelimiter_delete(&r->rl, evicted);
    if (a->seen && ins->seq > a->next_seq) {
        a->gaps++;
        r->c.gaps++;
    }
    settle_resend(a, ins->seq);
    a->seen = 1;
    a->next_seq = ins->seq + 1;
    a->inserts += b->count;
    a->insert_msgs++;
    r->c.inserts += b->count;
    r->c.insert_msgs++;
    r->c.evictions += evicted;
    ack->count = b->count;
    maybe_end_prefill(r);
    return DQ_OK;
}

int replay_insert(replay_t *r, const dq_insert_t *ins, dq_ack_t *ack, char *why, size_t whylen)
{
    *ack = (dq_ack_t){.seq = ins->seq};
    replay_actor_t *a = NULL;
    int rc = check_insert(r, ins, &a, why, whylen);
    if (rc == DQ_OK && is_duplicate(r, a, ins, ack)) return DQ_OK;
    if (a && a->blocked && ins->seq > a->resend_from) {
        /* Refused until the earlier ones come (even one whose content is bad:
         * it is judged in its turn), and resent in order after them. */
        if (ins->seq > a->timeout_hi) a->timeout_hi = ins->seq;
        snprintf(why, whylen,
                 "insert seq %" PRIu64 " of actor %" PRIu32 " refused: seq %" PRIu64
                 " timed out and must be resent first",
                 ins->seq, ins->actor, a->resend_from);
        return DQ_ETIMEOUT;
    }
    if (rc == DQ_OK && !r->stopping && !ratelimiter_can_insert(&r->rl, ins->batch.count))
        return REPLAY_WAIT;
    if (rc == DQ_OK) rc = store(r, a, ins, ack, why, whylen);
    if (rc < 0 && a) settle_resend(a, ins->seq); /* refused for good: not awaited */
    return rc;
}

int replay_apply_logged(replay_t *r, const dq_insert_t *ins, dq_ack_t *ack, char *why,
                        size_t whylen)
{
    *ack = (dq_ack_t){.seq = ins->seq};
    replay_actor_t *a;
    int rc = check_insert(r, ins, &a, why, whylen);
    if (rc < 0) return rc;
    if (is_duplicate(r, a, ins, ack)) return DQ_OK;
    return store(r, a, ins, ack, why, whylen);
}

void replay_set_stopping(replay_t *r) { r->stopping = true; }

void replay_insert_timed_out(replay_t *r, uint32_t actor, uint64_t run, uint64_t seq)
{
    if (actor >= r->n_actors) return;
    replay_actor_t *a = &r->actors[actor];
    note_run(a, run);
    if (a->seen && seq < a->next_seq) return; /* already held: nothing to wait for */
    if (!a->blocked || seq < a->resend_from) a->resend_from = seq;
    if (!a->blocked || seq > a->timeout_hi) a->timeout_hi = seq;
    a->blocked = 1;
    a->seen = 1;
}

int replay_sample(replay_t *r, const dq_sample_t *req, dq_items_t *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    if (strcmp(req->table, replay_table_name(r->table)) != 0) {
        snprintf(why, whylen, "unknown table '%s' (this server has '%s')", req->table,
                 replay_table_name(r->table));
        return DQ_EINVAL;
    }
    if (req->n > r->max_sample_batch) {
        snprintf(why, whylen, "sample.n = %" PRIu32 " exceeds replay.max_sample_batch = %" PRIu32,
                 req->n, r->max_sample_batch);
        return DQ_ERANGE;
    }
    if (r->rl.cfg.enabled) {
        if (!ratelimiter_can_sample(&r->rl, req->n)) return REPLAY_WAIT;
    } else if (replay_table_size(r->table) == 0) {
        snprintf(why, whylen, "table is empty");
        return DQ_EEMPTY;
    }
    int rc = replay_table_sample(r->table, req->n, &r->rng, out);
    if (rc < 0) {
        snprintf(why, whylen, "%s", rc == DQ_EEMPTY ? "table is empty" : dq_strerror(rc));
        return rc;
    }
    out->id = req->id;
    ratelimiter_sample(&r->rl, req->n);
    r->c.samples += req->n;
    r->c.sample_msgs++;
    return DQ_OK;
}

int replay_update_priorities(replay_t *r, const dq_update_priorities_t *up, dq_ack_t *ack,
                             char *why, size_t whylen)
{
    *ack = (dq_ack_t){0};
    if (strcmp(up->table, replay_table_name(r->table)) != 0) {
        snprintf(why, whylen, "unknown table '%s' (this server has '%s')", up->table,
                 replay_table_name(r->table));
        return DQ_EINVAL;
    }
    uint32_t updated = 0;
    int rc = replay_table_update(r->table, up->keys, up->priority, up->count, &updated);
    if (rc < 0) {
        snprintf(why, whylen, "update_priorities.priority: values must be finite and >= 0");
        return rc;
    }
    r->c.prio_msgs++;
    if (replay_table_sampler(r->table) == REPLAY_PRIORITIZED) {
        r->c.prio_updated += updated;
        r->c.prio_evicted += up->count - updated;
    }
    ack->count = updated;
    return DQ_OK;
}

void replay_stat_add(dq_stats_reply_t *s, const char *name, double value)
{
    if (s->count >= DQ_STATS_MAX) return;
    snprintf(s->stats[s->count].name, DQ_STAT_NAME_MAX, "%s", name);
    s->stats[s->count].value = isfinite(value) ? value : 0.0;
    s->count++;
}
#define add_stat replay_stat_add

#define COUNTER_STAT_(kind, field, stat, doc) add_stat(s, stat, (double)c->field);
void replay_stats(replay_t *r, dq_stats_reply_t *s, double rss_bytes, double uptime_s,
                  size_t waiting)
{
    memset(s, 0, sizeof *s);
    const replay_counters_t *c = &r->c;
    const replay_table_t *t = r->table;
    add_stat(s, "size", (double)replay_table_size(t));
    add_stat(s, "capacity", (double)replay_table_capacity(t));
    add_stat(s, "obs_dim", (double)replay_table_obs_dim(t));
    add_stat(s, "prioritized", replay_table_sampler(t) == REPLAY_PRIORITIZED);
    add_stat(s, "bytes_per_item", (double)replay_table_item_bytes(t));
    add_stat(s, "table_bytes", (double)replay_table_alloc_bytes(t));
    add_stat(s, "next_key", (double)replay_table_next_key(t));
    if (rss_bytes > 0) add_stat(s, "rss_bytes", rss_bytes);
    add_stat(s, "uptime_s", uptime_s);
    REPLAY_COUNTERS(COUNTER_STAT_)
    replay_priority_stats_t ps;
    replay_table_priority_stats(t, &ps);
    add_stat(s, "priority.total", ps.total);
    add_stat(s, "priority.min", ps.min);
    add_stat(s, "priority.max", ps.max_set);
    add_stat(s, "priority.mean",
             replay_table_size(t) ? ps.total / (double)replay_table_size(t) : 0.0);
    add_stat(s, "rl.enabled", r->rl.cfg.enabled);
    add_stat(s, "rl.diff", ratelimiter_diff(&r->rl));
    add_stat(s, "rl.min_diff", r->rl.min_diff);
    add_stat(s, "rl.max_diff", r->rl.max_diff);
    add_stat(s, "rl.waiting", (double)waiting);
    for (int i = 1; i < REPLAY_N_ERR; i++) {
        if (!c->rejects_by_code[i]) continue;
        char name[DQ_STAT_NAME_MAX];
        snprintf(name, sizeof name, "rejects.%s", dq_errname(-i));
        add_stat(s, name, (double)c->rejects_by_code[i]);
    }
    add_stat(s, "actors", (double)replay_actor_count(r));
}

/* The entries of one actor (2 to 5). */
static uint32_t actor_entries(const replay_actor_t *x)
{
    return 2u + (x->duplicates != 0) + (x->gaps != 0) + (x->restarts != 0);
}

static void add_actor_stat(dq_stats_reply_t *s, size_t a, const char *what, uint64_t v)
{
    char name[DQ_STAT_NAME_MAX];
    snprintf(name, sizeof name, "actor.%zu.%s", a, what);
    add_stat(s, name, (double)v);
}

void replay_stats_actors(const replay_t *r, dq_stats_reply_t *s, uint32_t from)
{
    /* One slot stays free for actors.next. */
    for (size_t a = from; a < r->n_actors; a++) {
        const replay_actor_t *x = &r->actors[a];
        if (!x->seen) continue;
        if (s->count + actor_entries(x) >= DQ_STATS_MAX) {
            add_stat(s, "actors.next", (double)a);
            return;
        }
        add_actor_stat(s, a, "inserts", x->inserts);
        add_actor_stat(s, a, "next_seq", x->next_seq);
        if (x->duplicates) add_actor_stat(s, a, "duplicates", x->duplicates);
        if (x->gaps) add_actor_stat(s, a, "gaps", x->gaps);
        if (x->restarts) add_actor_stat(s, a, "restarts", x->restarts);
    }
}

/* ---- checkpoint: header, table section, limiter, counters, actors ---- */

/* "CNTR" | u32 n | n x (u8 name length, name, 8-byte value: u64 or f64 as the
 * list says) | u32 codes | codes x u64 rejects by code. */
#define COUNTER_SAVE_(kind, field, stat, doc) \
    ckpt_put_counter_name(w, #field);         \
    ckpt_put_##kind(w, c->field);
#define ckpt_put_U64 ckpt_put_u64
#define ckpt_put_F64 ckpt_put_f64
#define COUNTER_ONE_(kind, field, stat, doc) +1
enum { N_COUNTERS = 0 REPLAY_COUNTERS(COUNTER_ONE_) };

static void ckpt_put_counter_name(ckpt_writer_t *w, const char *name)
{
    unsigned char n = (unsigned char)strlen(name);
    ckpt_put(w, &n, 1);
    ckpt_put(w, name, n);
}

static void save_counters(const replay_counters_t *c, ckpt_writer_t *w)
{
    ckpt_put(w, "CNTR", 4);
    ckpt_put_u32(w, N_COUNTERS);
    REPLAY_COUNTERS(COUNTER_SAVE_)
    ckpt_put_u32(w, REPLAY_N_ERR);
    for (int i = 0; i < REPLAY_N_ERR; i++) ckpt_put_u64(w, c->rejects_by_code[i]);
}

/* Reads the value of the counter named name (len bytes) into c; the value of
 * a name this build does not know (a counter it no longer has) is skipped. */
#define COUNTER_LOAD_(kind, field, stat, doc)                         \
    if (len == sizeof #field - 1 && memcmp(name, #field, len) == 0) { \
        c->field = ckpt_get_##kind(r);                                \
        return;                                                       \
    }
#define ckpt_get_U64 ckpt_get_u64
#define ckpt_get_F64 ckpt_get_f64
static void load_counter(replay_counters_t *c, const char *name, size_t len, ckpt_reader_t *r)
{
    REPLAY_COUNTERS(COUNTER_LOAD_)
    (void)ckpt_get_u64(r);
}

static int load_counters(replay_counters_t *c, ckpt_reader_t *r)
{
    uint32_t n = ckpt_get_u32(r);
    if (!r->rc && n > 4096)
        return ckpt_reader_fail(r, DQ_EFORMAT, "corrupt: %lu counters", (unsigned long)n);
    for (uint32_t i = 0; i < n && !r->rc; i++) {
        unsigned char len = 0;
        char name[256];
        ckpt_get(r, &len, 1);
        ckpt_get(r, name, len);
        load_counter(c, name, len, r);
    }
    uint32_t codes = ckpt_get_u32(r);
    if (!r->rc && codes != REPLAY_N_ERR)
        return ckpt_reader_fail(r, DQ_EFORMAT,
                                "corrupt: rejects of %lu error codes, this build counts %d",
                                (unsigned long)codes, REPLAY_N_ERR);
    for (int i = 0; i < REPLAY_N_ERR; i++) c->rejects_by_code[i] = ckpt_get_u64(r);
    return r->rc;
}

/* "ACTR" | u64 n | n x (u64 id, the REPLAY_ACTOR_FIELDS as u64). */
#define ACTOR_SAVE_(field, doc) ckpt_put_u64(w, x->field);
static void save_actors(const replay_t *r, ckpt_writer_t *w)
{
    uint64_t n_seen = 0;
    for (size_t a = 0; a < r->n_actors; a++) n_seen += r->actors[a].seen != 0;
    ckpt_put(w, "ACTR", 4);
    ckpt_put_u64(w, n_seen);
    for (size_t a = 0; a < r->n_actors; a++) {
        const replay_actor_t *x = &r->actors[a];
        if (!x->seen) continue;
        ckpt_put_u64(w, a);
        REPLAY_ACTOR_FIELDS(ACTOR_SAVE_)
    }
}

int replay_save(replay_t *r, const char *path, ckpt_progress_fn progress, void *arg, char *why,
                size_t whylen)
{
    ckpt_writer_t w;
    if (ckpt_writer_open(&w, path, progress, arg) < 0) {
        snprintf(why, whylen, "checkpoint %s: %s", path, w.err);
        ckpt_writer_abort(&w);
        return w.rc;
    }
    replay_table_save(r->table, &w);
    ckpt_put(&w, "RLIM", 4);
    ckpt_put_u64(&w, r->rl.inserts);
    ckpt_put_u64(&w, r->rl.samples);
    ckpt_put_u64(&w, r->rl.deletes);
    ckpt_put_f64(&w, r->rl.offset);
    ckpt_put_u32(&w, r->rl.cfg.enabled ? 1u : 0u);
    save_counters(&r->c, &w);
    save_actors(r, &w);
    ckpt_put(&w, "WLOG", 4);
    ckpt_put_u64(&w, r->log_gen);
    int rc = ckpt_writer_commit(&w);
    if (rc < 0) snprintf(why, whylen, "checkpoint %s: %s", path, w.err);
    return rc;
}

static int expect_tag(ckpt_reader_t *r, const char *tag)
{
    char got[4];
    ckpt_get(r, got, 4);
    if (r->rc) return r->rc;
    if (memcmp(got, tag, 4) != 0)
        return ckpt_reader_fail(r, DQ_EFORMAT, "corrupt: section '%s' not found", tag);
    return DQ_OK;
}

#define ACTOR_LOAD_(field, doc) a->field = ckpt_get_u64(&rd);
replay_t *replay_load(const dq_config_t *cfg, const char *path, char *why, size_t whylen)
{
    replay_table_config_t tc;
    ratelimiter_config_t rc;
    if (replay_configs(cfg, &tc, &rc, why, whylen) < 0) return NULL;
    replay_t *r = alloc_state(cfg, &rc, why, whylen);
    if (!r) return NULL;
    ckpt_reader_t rd;
    char err[400];
    if (ckpt_reader_open(&rd, path) < 0) goto fail;
    r->table = replay_table_load(&rd, &tc);
    if (!r->table) goto fail;
    if (expect_tag(&rd, "RLIM") < 0) goto fail;
    uint64_t I = ckpt_get_u64(&rd), S = ckpt_get_u64(&rd), D = ckpt_get_u64(&rd);
    double offset = ckpt_get_f64(&rd);
    uint32_t enabled = ckpt_get_u32(&rd);
    if (expect_tag(&rd, "CNTR") < 0) goto fail;
    if (load_counters(&r->c, &rd) < 0) goto fail;
    if (expect_tag(&rd, "ACTR") < 0) goto fail;
    uint64_t n = ckpt_get_u64(&rd);
    if (!rd.rc && n > (uint64_t)r->max_actors) {
        ckpt_reader_fail(&rd, DQ_ECONFIG,
                         "mismatched: %llu actors recorded, replay.max_actors is %u",
                         (unsigned long long)n, r->max_actors);
        goto fail;
    }
    for (uint64_t i = 0; i < n && !rd.rc; i++) {
        uint64_t id = ckpt_get_u64(&rd);
        if (rd.rc) break;
        if (id >= r->max_actors) {
            ckpt_reader_fail(&rd, DQ_ECONFIG,
                             "mismatched: actor %llu recorded, replay.max_actors is %u",
                             (unsigned long long)id, r->max_actors);
            break;
        }
        if (grow_actors(r, (size_t)id + 1) < 0) {
            ckpt_reader_fail(&rd, DQ_ENOMEM, "out of memory for the actor table");
            break;
        }
        replay_actor_t *a = &r->actors[id];
        a->seen = 1;
        REPLAY_ACTOR_FIELDS(ACTOR_LOAD_)
        a->blocked = a->blocked != 0;
        a->timeout_hi = a->resend_from; /* the waiting inserts did not survive the stop */
    }
    if (rd.version >= 4) { /* version 3 files predate the log: generation 0 */
        if (expect_tag(&rd, "WLOG") < 0) goto fail;
        r->log_gen = ckpt_get_u64(&rd);
    }
    if (ckpt_reader_finish(&rd) < 0) goto fail;
    /* Only now, with the checksum verified, trust the limiter counters. */
    if (I - D != replay_table_size(r->table) || D > I) {
        snprintf(why, whylen,
                 "checkpoint %s: corrupt: rate limiter holds %llu items, the table %zu", path,
                 (unsigned long long)(I - D), replay_table_size(r->table));
        goto fail_done;
    }
    rc.enabled = false;
    if (ratelimiter_init(&r->rl, &rc, err, sizeof err) < 0) {
        snprintf(why, whylen, "%s", err);
        goto fail_done;
    }
    r->rl.inserts = I;
    r->rl.samples = S;
    r->rl.deletes = D;
    if (r->rl_configured) {
        if (enabled) {
            r->rl.offset = offset;
            r->rl.cfg.enabled = true;
        } else {
            r->rl.offset = offset;
            maybe_end_prefill(r); /* rebases diff if the prefill is done */
        }
    }
    return r;
fail:
    snprintf(why, whylen, "%s", rd.err[0] ? rd.err : "cannot read the checkpoint");
    ckpt_reader_close(&rd);
fail_done:
    replay_destroy(&r);
    return NULL;
}
