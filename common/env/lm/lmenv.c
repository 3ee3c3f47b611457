/* lmenv.c - see lmenv.h; the tables are in docs/lmenv.md. */
#include "lmenv.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"
#include "err.h"
#include "lm_model.h"
#include "lmobs.h"
#include "log.h"
#include "rng.h"

static const char *const obs_names[LMENV_OBS_DIM] = {
    "progress",     "lr_position",    "log2_lr_change",      "log_val_ratio", "val_change",
    "update_ratio", "grad_alignment", "log_grad_norm_ratio", "last_action"};

const char *lmenv_obs_name(int i) { return i >= 0 && i < LMENV_OBS_DIM ? obs_names[i] : NULL; }

typedef struct {
    /* settings, fixed at init */
    int heldout, finetune;
    int K, T_env;
    double actions[LMENV_MAX_LIST];
    int n_actions;
    int set_lr; /* lm.action_kind = set: actions are LRs, not multipliers */
    double lr_min, lr_max, lr_init_min, lr_init_max, lr_fixed;
    lm_config_t sizes[LMENV_MAX_LIST];
    int n_sizes;
    int batches[LMENV_MAX_LIST];
    int n_batches;
    int val_batches, val_bs;
    double div_factor, div_penalty, grad_clip;
    lm_adamw_config_t opt;
    corpus_slice_t *slice;
    char corpus_line[640]; /* what was loaded: lmenv_describe_corpus */
    lm_model_t base;       /* finetune: the checkpoint's weights */
    dq_rng_t rng;          /* instance stream */
    uint64_t forced_seed;
    lm_schedule_t sched_proto, sched;

    /* the instance */
    uint64_t inst_seed;
    lm_config_t mcfg;
    int B;
    double lr0;
    lm_model_t model;
    dq_rng_t data_rng;
    uint8_t *win, *inp, *tgt, *val_inp, *val_tgt;
    float *prev_grad;
    int have_prev;

    /* the episode */
    int started, done, diverged;
    int t;
    long s;
    double lr_agent, lr_last, L0, val, train_mean;
    double G0;        /* mean gradient norm of the two probes at reset */
    double last_mult; /* multiplier of the last action (1 at reset) */
} lmenv_t;

static const dq_env_ops_t lmenv_ops;

/* ---- parsing ------------------------------------------------------------ */

int lmenv_parse_actions(const char *s, double *out, int max, int *n)
{
    int rc = dq_parse_real_list(s, DBL_MIN, DBL_MAX, out, max, n);
    return rc == DQ_OK && *n == 0 ? DQ_ECONFIG : rc;
}

static int parse_sizes(const char *key, const char *s, lm_config_t *out, int *n, char *why,
                       size_t whylen)
{
    *n = 0;
    const char *p = s;
    while (*p) {
        int L, C, H, T, used = 0;
        if (sscanf(p, "%dx%dx%dx%d%n", &L, &C, &H, &T, &used) != 4 || *n >= LMENV_MAX_LIST) {
            snprintf(why, whylen, "%s = '%s': expected LAYERSxWIDTHxHEADSxCONTEXT,... (at most %d)",
                     key, s, LMENV_MAX_LIST);
            return DQ_ECONFIG;
        }
        lm_config_t c = lm_config_default();
        c.layers = L;
        c.channels = C;
        c.heads = H;
        c.max_seq = T;
        char reason[160];
        if (lm_config_check(&c, reason, sizeof reason) < 0) {
            snprintf(why, whylen, "%s = '%s': %s", key, s, reason);
            return DQ_ECONFIG;
        }
        out[(*n)++] = c;
        p += used;
        if (*p == ',')
            p++;
        else if (*p) {
            snprintf(why, whylen, "%s = '%s': unexpected '%s'", key, s, p);
            return DQ_ECONFIG;
        }
    }
    if (*n == 0) {
        snprintf(why, whylen, "%s is empty", key);
        return DQ_ECONFIG;
    }
    return DQ_OK;
}

/* ---- instance and episode ----------------------------------------------- */

static void free_instance(lmenv_t *e)
{
    lm_free(&e->model);
    free(e->win);
    free(e->inp);
    free(e->tgt);
    free(e->val_inp);
    free(e->val_tgt);
    free(e->prev_grad);
    e->win = e->inp = e->tgt = e->val_inp = e->val_tgt = NULL;
    e->prev_grad = NULL;
}

/* Splits (n, T+1) windows into inputs and targets (n, T). */
static void split_windows(const uint8_t *win, int n, int T, uint8_t *inp, uint8_t *tgt)
{
    for (int b = 0; b < n; b++) {
        const uint8_t *w = win + (size_t)b * (size_t)(T + 1);
        memcpy(inp + (size_t)b * (size_t)T, w, (size_t)T);
        memcpy(tgt + (size_t)b * (size_t)T, w + 1, (size_t)T);
    }
}

static int new_instance(lmenv_t *e)
{
    free_instance(e);
    uint64_t half = 1ULL << 31;
    e->inst_seed = e->forced_seed != UINT64_MAX
                       ? e->forced_seed
                       : (e->heldout ? half : 0) + dq_rng_below(&e->rng, half);
    dq_rng_t ir;
    dq_rng_seed(&ir, dq_rng_mix(e->inst_seed, 1, 0));
    e->mcfg = e->sizes[dq_rng_below(&ir, (uint64_t)e->n_sizes)];
    e->B = e->batches[dq_rng_below(&ir, (uint64_t)e->n_batches)];
    double u = dq_rng_uniform(&ir);
    e->lr0 = e->lr_fixed > 0
                 ? e->lr_fixed
                 : exp(log(e->lr_init_min) + u * (log(e->lr_init_max) - log(e->lr_init_min)));
    e->lr0 = lmobs_clampd(e->lr0, e->lr_min, e->lr_max);
    e->mcfg.max_batch = e->B; /* validation runs in chunks of B (lm_eval_loss) */

    dq_rng_t init_rng;
    dq_rng_seed(&init_rng, dq_rng_mix(e->inst_seed, 2, 0));
    int rc = lm_init(&e->model, &e->mcfg, &init_rng);
    if (rc < 0) return rc;
    if (e->finetune && (rc = lm_copy_weights(&e->model, &e->base)) < 0) return rc;
    dq_rng_seed(&e->data_rng, dq_rng_mix(e->inst_seed, 3, 0));

    int T = e->mcfg.max_seq;
    size_t nv = (size_t)e->val_batches * (size_t)e->val_bs;
    size_t nwin = nv > (size_t)e->B ? nv : (size_t)e->B;
    e->win = malloc(nwin * (size_t)(T + 1));
    e->inp = malloc((size_t)e->B * (size_t)T);
    e->tgt = malloc((size_t)e->B * (size_t)T);
    e->val_inp = malloc(nv * (size_t)T);
    e->val_tgt = malloc(nv * (size_t)T);
    e->prev_grad = malloc(e->model.num_params * sizeof(float));
    if (!e->win || !e->inp || !e->tgt || !e->val_inp || !e->val_tgt || !e->prev_grad)
        return DQ_ENOMEM;
    dq_rng_t val_rng;
    dq_rng_seed(&val_rng, dq_rng_mix(e->inst_seed, 4, 0));
    rc = corpus_sample(e->slice, CORPUS_VAL, &val_rng, (int)nv, T, e->win);
    if (rc < 0) return rc;
    split_windows(e->win, (int)nv, T, e->val_inp, e->val_tgt);
    e->have_prev = 0;
    DQ_DEBUG("lmenv: instance %llu: %dx%dx%dx%d, batch %d, %zu params, lr %.3g",
             (unsigned long long)e->inst_seed, e->mcfg.layers, e->mcfg.channels, e->mcfg.heads,
             e->mcfg.max_seq, e->B, e->model.num_params, e->lr0);
    return DQ_OK;
}

/* Mean loss over the fixed validation set (inference-only forward, chunks of
 * the training batch); NaN/Inf pass through. */
static int val_loss(lmenv_t *e, double *out)
{
    return lm_eval_loss(&e->model, e->val_inp, e->val_tgt, e->val_batches * e->val_bs, out);
}

static double cosine(const float *a, const float *b, size_t n)
{
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : NAN;
}

/* Draws the next training batch into e->inp / e->tgt. */
static int next_batch(lmenv_t *e)
{
    int rc = corpus_sample(e->slice, CORPUS_TRAIN, &e->data_rng, e->B, e->mcfg.max_seq, e->win);
    if (rc < 0) return rc;
    split_windows(e->win, e->B, e->mcfg.max_seq, e->inp, e->tgt);
    return DQ_OK;
}

/* What one decision interval's optimizer steps measured: the training
 * losses, and the figures the observation is built from (lmobs.h). */
typedef struct {
    int n_loss, diverged;
    double loss_sum;
    lmobs_interval_t obs;
} interval_t;

/* The observation (lmobs.h, table in docs/lmenv.md), from the env's state
 * and src's validation losses and interval figures. */
static void write_obs(const lmenv_t *e, lmobs_src_t *src, float *obs)
{
    src->t = e->t;
    src->T_env = e->T_env;
    src->lr = e->lr_last;
    src->lr0 = e->lr0;
    src->lr_init_min = e->lr_init_min;
    src->lr_init_max = e->lr_init_max;
    src->val0 = e->L0;
    src->gn0 = e->G0;
    src->last_mult = e->last_mult;
    lmobs_write(src, obs);
}

static double param_rms(const lm_model_t *m)
{
    double s = 0;
    for (size_t i = 0; i < m->num_params; i++)
        s += (double)m->params_memory[i] * m->params_memory[i];
    return sqrt(s / (double)m->num_params);
}

/* Two gradients at the initial weights (no optimizer step): their mean norm
 * is G0, the reference of the gradient-norm feature, and their cosine the
 * reset value of the alignment feature. The second stays in prev_grad. */
static int probe_gradients(lmenv_t *e, double *align)
{
    double gn[2];
    for (int i = 0; i < 2; i++) {
        int rc;
        if ((rc = next_batch(e)) < 0 ||
            (rc = lm_forward(&e->model, e->inp, e->tgt, e->B, NULL)) < 0 ||
            (rc = lm_backward(&e->model)) < 0)
            return rc;
        gn[i] = lm_grad_norm(&e->model);
        if (!isfinite(gn[i]) || gn[i] <= 0) return DQ_ENONFINITE;
        if (i == 1) *align = cosine(e->prev_grad, e->model.grads_memory, e->model.num_params);
        memcpy(e->prev_grad, e->model.grads_memory, e->model.num_params * sizeof(float));
    }
    e->G0 = 0.5 * (gn[0] + gn[1]);
    e->have_prev = 1;
    return DQ_OK;
}

static int lmenv_reset(void *self, float *obs)
{
    lmenv_t *e = self;
    e->started = 0;
    int rc = new_instance(e);
    if (rc < 0) return rc;
    e->sched = e->sched_proto;
    schedule_reset(&e->sched);
    e->t = 0;
    e->s = 0;
    e->done = e->diverged = 0;
    e->lr_agent = e->lr0;
    e->lr_last = lmobs_clampd(e->lr0 * schedule_factor(&e->sched, 0, (long)e->T_env * e->K),
                              e->lr_min, e->lr_max);
    e->last_mult = 1.0;
    double v;
    if ((rc = val_loss(e, &v)) < 0) return rc;
    if (!isfinite(v)) return DQ_ENONFINITE; /* a fresh or loaded model must be finite */
    e->L0 = e->val = e->train_mean = v;
    lmobs_src_t src = {.val = v, .prev_val = v};
    if ((rc = probe_gradients(e, &src.align)) < 0) return rc;
    src.gn = e->G0;
    /* AdamW's first step moves every parameter by about lr (m/sqrt(v) = sign(g)),
     * so the update ratio an AdamW step would have now is lr / param RMS. */
    src.ratio = e->lr_last / param_rms(&e->model);
    e->started = 1;
    write_obs(e, &src, obs);
    return DQ_OK;
}

/* Runs the interval's K optimizer steps, stopping at a divergence. */
static int train_interval(lmenv_t *e, interval_t *iv)
{
    memset(iv, 0, sizeof *iv);
    double cap = e->div_factor * e->L0;
    long total = (long)e->T_env * e->K;
    for (int k = 0; k < e->K; k++) {
        int rc;
        float loss;
        if ((rc = next_batch(e)) < 0 ||
            (rc = lm_forward(&e->model, e->inp, e->tgt, e->B, &loss)) < 0)
            return rc;
        if (!isfinite(loss) || loss > cap) break;
        iv->loss_sum += loss;
        iv->n_loss++;
        if ((rc = lm_backward(&e->model)) < 0) return rc;
        float gn = lm_clip_grad_norm(&e->model, (float)e->grad_clip);
        if (!isfinite(gn)) break;
        double c = cosine(e->prev_grad, e->model.grads_memory, e->model.num_params);
        memcpy(e->prev_grad, e->model.grads_memory, e->model.num_params * sizeof(float));
        double lr = lmobs_clampd(e->lr_agent * schedule_factor(&e->sched, e->s, total), e->lr_min,
                                 e->lr_max);
        lm_step_stats_t st;
        if ((rc = lm_adamw_step(&e->model, &e->opt, (float)lr, &st)) < 0) return rc;
        e->lr_last = lr;
        e->s++;
        lmobs_interval_add(&iv->obs, gn, c, st.update_ratio);
    }
    iv->diverged = iv->obs.steps < e->K;
    return DQ_OK;
}

static int lmenv_step(void *self, int action, float *obs, dq_step_t *out)
{
    lmenv_t *e = self;
    if (!e->started || e->done || action < 0 || action >= e->n_actions) return DQ_EINVAL;
    e->lr_agent =
        lmobs_act(e->actions, action, e->set_lr, e->lr_min, e->lr_max, e->lr_agent, &e->last_mult);
    double cap = e->div_factor * e->L0;
    interval_t iv;
    int rc = train_interval(e, &iv);
    if (rc < 0) return rc;
    int diverged = iv.diverged;
    double v = NAN;
    if (!diverged) {
        if ((rc = val_loss(e, &v)) < 0) return rc;
        if (!isfinite(v) || v > cap) diverged = 1;
    }
    lmobs_src_t src = {.prev_val = e->val};
    memset(out, 0, sizeof *out);
    if (diverged) {
        e->val = cap;
        out->reward = (float)(log(src.prev_val) - log(cap) - e->div_penalty);
    } else {
        e->val = v;
        out->reward = (float)(log(src.prev_val) - log(v));
    }
    e->t++;
    schedule_observe(&e->sched, e->val);
    e->diverged = diverged;
    /* The budget of T_env x K optimizer steps is part of the task (the
     * objective is the loss when it runs out), so reaching it is terminal:
     * no bootstrap past it. Only an outside stop (the actor's) truncates. */
    out->terminated = diverged || e->t >= e->T_env;
    out->truncated = 0;
    e->done = out->terminated;
    out->final_metric = e->done ? e->val : NAN;
    e->train_mean = iv.n_loss > 0 ? iv.loss_sum / iv.n_loss : cap;

    src.val = e->val;
    lmobs_interval_means(&iv.obs, &src);
    write_obs(e, &src, obs);
    if (!isfinite(out->reward)) out->reward = (float)(-log(e->div_factor) - e->div_penalty);
    return DQ_OK;
}

static void lmenv_destroy(void *self)
{
    lmenv_t *e = self;
    free_instance(e);
    lm_free(&e->base);
    corpus_slice_destroy(&e->slice);
    free(e);
}

static const dq_env_ops_t lmenv_ops = {"lm", lmenv_reset, lmenv_step, lmenv_destroy};

/* ---- construction ------------------------------------------------------- */

/* The settings lmenv_init copies from cfg, before any check. */
static void copy_settings(lmenv_t *e, const dq_config_t *cfg)
{
    e->finetune = !strcmp(cfg->lm_mode, "finetune");
    e->K = (int)cfg->lm_opt_steps;
    e->T_env = (int)cfg->lm_episode_steps;
    e->lr_min = cfg->lm_lr_min;
    e->lr_max = cfg->lm_lr_max;
    e->lr_init_min = cfg->lm_lr_init_min;
    e->lr_init_max = cfg->lm_lr_init_max;
    e->lr_fixed = cfg->lm_lr;
    e->val_batches = (int)cfg->lm_val_batches;
    e->val_bs = (int)cfg->lm_val_batch_size;
    e->div_factor = cfg->lm_diverge_factor;
    e->div_penalty = cfg->lm_diverge_penalty;
    e->grad_clip = cfg->lm_grad_clip;
    e->opt = lm_adamw_default();
    e->opt.beta1 = (float)cfg->lm_adam_beta1;
    e->opt.beta2 = (float)cfg->lm_adam_beta2;
    e->opt.weight_decay = (float)cfg->lm_weight_decay;
    e->forced_seed = UINT64_MAX;
    e->sched_proto.kind = SCHED_CONSTANT;
    schedule_reset(&e->sched_proto);
    e->set_lr = strcmp(cfg->lm_action_kind, "set") == 0;
}

/* The LR ranges, the actions and the batch sizes. */
static int check_settings(lmenv_t *e, const dq_config_t *cfg, char *why, size_t whylen)
{
    if (!(e->lr_min < e->lr_max)) {
        snprintf(why, whylen, "lm.lr_min (%g) must be below lm.lr_max (%g)", e->lr_min, e->lr_max);
        return DQ_ECONFIG;
    }
    if (e->lr_init_min > e->lr_init_max) {
        snprintf(why, whylen, "lm.lr_init_min (%g) exceeds lm.lr_init_max (%g)", e->lr_init_min,
                 e->lr_init_max);
        return DQ_ECONFIG;
    }
    if (lmenv_parse_actions(cfg->lm_actions, e->actions, LMENV_MAX_LIST, &e->n_actions) < 0) {
        snprintf(why, whylen,
                 "lm.actions = '%s': expected up to %d positive numbers, comma-separated",
                 cfg->lm_actions, LMENV_MAX_LIST);
        return DQ_ECONFIG;
    }
    if (dq_config_parse_int_list(cfg->lm_batch_sizes, e->batches, LMENV_MAX_LIST, &e->n_batches) <
            0 ||
        e->n_batches == 0) {
        snprintf(why, whylen, "lm.batch_sizes = '%s': expected positive integers, comma-separated",
                 cfg->lm_batch_sizes);
        return DQ_ECONFIG;
    }
    return DQ_OK;
}

/* finetune: the model of lm.checkpoint is the one size; pretrain: the sizes
 * of the instance set. *corpus_paths becomes the corpus to train on. */
static int load_sizes(lmenv_t *e, const dq_config_t *cfg, const char **corpus_paths, char *why,
                      size_t whylen)
{
    *corpus_paths = cfg->lm_corpus;
    if (!e->finetune) {
        const char *key = e->heldout ? "lm.heldout_sizes" : "lm.sizes";
        return parse_sizes(key, e->heldout ? cfg->lm_heldout_sizes : cfg->lm_sizes, e->sizes,
                           &e->n_sizes, why, whylen);
    }
    if (!cfg->lm_checkpoint[0]) {
        snprintf(why, whylen, "lm.mode = finetune needs lm.checkpoint");
        return DQ_ECONFIG;
    }
    lm_config_t cc;
    char reason[256];
    int rc = lm_checkpoint_config(cfg->lm_checkpoint, &cc, reason, sizeof reason);
    dq_rng_t r;
    dq_rng_seed(&r, 1);
    if (rc == DQ_OK) rc = lm_init(&e->base, &cc, &r);
    if (rc == DQ_OK) rc = lm_load(&e->base, cfg->lm_checkpoint, reason, sizeof reason);
    if (rc < 0) {
        snprintf(why, whylen, "lm.checkpoint '%s': %s", cfg->lm_checkpoint, reason);
        return rc;
    }
    e->sizes[0] = cc;
    e->n_sizes = 1;
    if (cfg->lm_finetune_corpus[0]) *corpus_paths = cfg->lm_finetune_corpus;
    return DQ_OK;
}

/* The line lmenv_describe_corpus returns: the corpus as read, the instance
 * set's slice and its two splits. */
static void describe_corpus(lmenv_t *e, const corpus_t *c, double lo, double hi)
{
    size_t tb, vb;
    corpus_split_data(e->slice, CORPUS_TRAIN, &tb);
    corpus_split_data(e->slice, CORPUS_VAL, &vb);
    snprintf(e->corpus_line, sizeof e->corpus_line,
             "corpus %.300s: %zu bytes in %zu records; %s slice [%g, %g): training %zu records "
             "(%zu bytes), validation %zu records (%zu bytes)",
             corpus_paths(c), corpus_bytes(c), corpus_records(c),
             e->heldout ? "held-out" : "training", lo, hi,
             corpus_split_records(e->slice, CORPUS_TRAIN), tb,
             corpus_split_records(e->slice, CORPUS_VAL), vb);
    DQ_DEBUG("%s", e->corpus_line);
}

/* The instance set's slice of the corpus, with windows for the longest context. */
static int load_slice(lmenv_t *e, const dq_config_t *cfg, const char *corpus_paths, char *why,
                      size_t whylen)
{
    int max_ctx = 0;
    for (int i = 0; i < e->n_sizes; i++)
        if (e->sizes[i].max_seq > max_ctx) max_ctx = e->sizes[i].max_seq;
    corpus_t *corpus = NULL;
    int rc = corpus_load(&corpus, corpus_paths, why, whylen);
    if (rc < 0) return rc;
    double h = cfg->lm_heldout_fraction;
    double lo = e->heldout ? 1.0 - h : 0.0, hi = e->heldout ? 1.0 : 1.0 - h;
    rc = corpus_slice_new(&e->slice, corpus, lo, hi, cfg->lm_val_fraction,
                          (uint64_t)cfg->lm_split_seed, (size_t)max_ctx + 1, why, whylen);
    if (rc == DQ_OK) describe_corpus(e, corpus, lo, hi);
    corpus_destroy(&corpus);
    return rc;
}

int lmenv_init(dq_env_t *env, const dq_config_t *cfg, const char *instance_set, uint64_t seed,
               char *why, size_t whylen)
{
    memset(env, 0, sizeof *env);
    lmenv_t *e = calloc(1, sizeof *e);
    if (!e) return DQ_ENOMEM;
    int rc = DQ_OK;
    if (!strcmp(instance_set, "heldout"))
        e->heldout = 1;
    else if (strcmp(instance_set, "train")) {
        snprintf(why, whylen, "lmenv: instance set '%s' is neither 'train' nor 'heldout'",
                 instance_set);
        rc = DQ_EINVAL;
    }
    const char *corpus_paths = NULL;
    if (rc == DQ_OK) {
        copy_settings(e, cfg);
        dq_rng_seed(&e->rng, dq_rng_mix(seed, 0x1e, (uint64_t)e->heldout));
        rc = check_settings(e, cfg, why, whylen);
    }
    if (rc == DQ_OK) rc = load_sizes(e, cfg, &corpus_paths, why, whylen);
    if (rc == DQ_OK) rc = load_slice(e, cfg, corpus_paths, why, whylen);
    if (rc < 0) {
        lmenv_destroy(e);
        return rc;
    }
    env->ops = &lmenv_ops;
    env->self = e;
    env->obs_dim = LMENV_OBS_DIM;
    env->n_actions = e->n_actions;
    return DQ_OK;
}

/* ---- extras ------------------------------------------------------------- */

static lmenv_t *as_lmenv(const dq_env_t *env)
{
    return env && env->ops == &lmenv_ops ? (lmenv_t *)env->self : NULL;
}

int lmenv_get_info(const dq_env_t *env, lmenv_info_t *info)
{
    lmenv_t *e = as_lmenv(env);
    if (!e || !e->started) return DQ_EINVAL;
    memset(info, 0, sizeof *info);
    info->instance_seed = e->inst_seed;
    info->layers = e->mcfg.layers;
    info->channels = e->mcfg.channels;
    info->heads = e->mcfg.heads;
    info->context = e->mcfg.max_seq;
    info->batch = e->B;
    info->num_params = e->model.num_params;
    info->lr_init = e->lr0;
    info->lr = e->lr_last;
    info->opt_steps = e->s;
    info->t = e->t;
    info->train_loss = e->train_mean;
    info->val_loss = e->val;
    info->val_loss0 = e->L0;
    info->diverged = e->diverged;
    return DQ_OK;
}

const char *lmenv_describe_corpus(const dq_env_t *env)
{
    lmenv_t *e = as_lmenv(env);
    return e ? e->corpus_line : NULL;
}

int lmenv_set_schedule(dq_env_t *env, const lm_schedule_t *s)
{
    lmenv_t *e = as_lmenv(env);
    if (!e) return DQ_EINVAL;
    e->sched_proto = *s;
    schedule_reset(&e->sched_proto);
    e->sched = e->sched_proto;
    return DQ_OK;
}

int lmenv_set_instance_seed(dq_env_t *env, uint64_t instance_seed)
{
    lmenv_t *e = as_lmenv(env);
    if (!e) return DQ_EINVAL;
    e->forced_seed = instance_seed;
    return DQ_OK;
}

int lmenv_save_model(const dq_env_t *env, const char *path, char *why, size_t whylen)
{
    lmenv_t *e = as_lmenv(env);
    if (!e || !e->started) {
        snprintf(why, whylen, "lmenv: no model to save (reset first)");
        return DQ_EINVAL;
    }
    return lm_save(&e->model, path, why, whylen);
}
