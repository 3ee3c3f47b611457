/* test_lmenv.c - the LM-training environment on tiny models: observations
 * finite and of the documented size, the reward telescoping to
 * ln L_0 - ln L_T, divergence under a huge LR terminating with the documented
 * penalty, the budget of T_env env steps ending the episode as terminal
 * (never truncated), determinism, disjoint instance sets,
 * schedules driving the LR, finetune from a checkpoint, config errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "dims.h"
#include "err.h"
#include "lmenv.h"
#include "registry.h"
#include "rng.h"
#include "schedule.h"

static char why[1024];

static void tiny(dq_config_t *cfg)
{
    dq_config_defaults(cfg);
    const char *sets[] = {"lm.sizes=1x16x2x16",         "lm.heldout_sizes=1x24x2x16",
                          "lm.batch_sizes=4",           "lm.val_batches=2",
                          "lm.val_batch_size=8",        "lm.opt_steps=4",
                          "lm.episode_steps=6",         "lm.lr=3e-3",
                          "lm.actions=0.5,0.8,1,1.25,2"};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        assert_int_equal(dq_config_set(cfg, sets[i], "test", why, sizeof why), DQ_OK);
}

static int have_corpus(void) { return access("/usr/share/games/fortunes", R_OK) == 0; }

static void open_env(dq_env_t *env, const dq_config_t *cfg, const char *set, uint64_t seed)
{
    int rc = lmenv_init(env, cfg, set, seed, why, sizeof why);
    if (rc != DQ_OK) fail_msg("lmenv_init: %s", why);
}

static void check_obs(const float *obs)
{
    for (int i = 0; i < LMENV_OBS_DIM; i++) {
        if (!isfinite(obs[i]) || fabsf(obs[i]) > LMENV_OBS_CLAMP)
            fail_msg("obs[%d] (%s) = %g", i, lmenv_obs_name(i), (double)obs[i]);
    }
}

static void test_observations_finite(void **state)
{
    (void)state;
    if (!have_corpus()) skip();
    dq_config_t cfg;
    tiny(&cfg);
    assert_int_equal(dq_config_set(&cfg, "lm.lr=0", "test", why, sizeof why), DQ_OK);
    dq_env_t env;
    open_env(&env, &cfg, "train", 11);
    assert_int_equal(env.obs_dim, LMENV_OBS_DIM);
    assert_int_equal(env.obs_dim, 9);
    assert_int_equal(env.n_actions, 5);
    assert_string_equal(lmenv_obs_name(LMENV_OBS_LAST_ACTION), "last_action");
    assert_null(lmenv_obs_name(LMENV_OBS_DIM));
    float obs[LMENV_OBS_DIM];
    dq_rng_t rng;
    dq_rng_seed(&rng, 2);
    for (int ep = 0; ep < 3; ep++) {
        assert_int_equal(env.ops->reset(env.self, obs), DQ_OK);
        check_obs(obs);
        dq_step_t st = {0};
        while (!st.terminated && !st.truncated) {
            int a = (int)dq_rng_below(&rng, (uint64_t)env.n_actions);
            assert_int_equal(env.ops->step(env.self, a, obs, &st), DQ_OK);
            check_obs(obs);
            assert_true(isfinite(st.reward));
        }
        assert_true(isfinite(st.final_metric) && st.final_metric > 0);
    }
    dq_env_close(&env);
    dq_env_close(&env); /* safe to repeat */
}

/* A finished (budget-exhausted) episode's return is exactly the drop in the
 * env's own ln validation loss, and the budget ends it as terminal: with
 * gamma = 1 the learner's target for the first state is then the objective. */
/* The corpus line the programs log at start (issue 14): bytes and records
 * of the corpus, then both splits of the instance set's slice, which are
 * disjoint parts of it; the held-out set reads the other slice. */
static void test_describe_corpus(void **state)
{
    (void)state;
    if (!have_corpus()) skip();
    dq_config_t cfg;
    tiny(&cfg);
    const char *sets[] = {"train", "heldout"};
    size_t slice_records[2];
    for (int k = 0; k < 2; k++) {
        dq_env_t env;
        open_env(&env, &cfg, sets[k], 3);
        const char *d = dq_env_describe(&env);
        assert_non_null(d);
        assert_ptr_equal(d, lmenv_describe_corpus(&env));
        char want[64];
        snprintf(want, sizeof want, "%s slice", k ? "held-out" : "training");
        if (!strstr(d, "/usr/share/games/fortunes") || !strstr(d, want))
            fail_msg("corpus line '%s' lacks the path or '%s'", d, want);
        size_t bytes, recs, tr, tb, vr, vb;
        const char *p = strstr(d, ": ");
        assert_non_null(p);
        assert_int_equal(sscanf(p, ": %zu bytes in %zu records", &bytes, &recs), 2);
        p = strstr(d, "): training "); /* the split, after the slice's bounds */
        assert_non_null(p);
        assert_int_equal(sscanf(p,
                                "): training %zu records (%zu bytes), validation %zu records "
                                "(%zu bytes)",
                                &tr, &tb, &vr, &vb),
                         4);
        assert_true(tr > 0 && vr > 0 && vr < tr);
        assert_true(tr + vr < recs && tb + vb < bytes);
        slice_records[k] = tr + vr;
        dq_env_close(&env);
    }
    assert_true(slice_records[0] > slice_records[1]); /* lm.heldout_fraction 0.3 */
    dq_env_t chain;
    dq_config_defaults(&cfg);
    assert_int_equal(dq_env_open(&chain, &cfg, "train", 1, why, sizeof why), DQ_OK);
    assert_null(dq_env_describe(&chain));
    dq_env_close(&chain);
}

static void test_reward_telescopes(void **state)
{
    (void)state;
    if (!have_corpus()) skip();
    dq_config_t cfg;
    tiny(&cfg);
    dq_env_t env;
    open_env(&env, &cfg, "train", 5);
    float obs[LMENV_OBS_DIM];
    assert_int_equal(env.ops->reset(env.self, obs), DQ_OK);
    lmenv_info_t info;
    assert_int_equal(lmenv_get_info(&env, &info), DQ_OK);
    double L0 = info.val_loss0, sum = 0;
    assert_true(L0 > 5.0 && L0 < 6.0); /* about ln 256 for a fresh model */
    dq_step_t st = {0};
    int steps = 0;
    while (!st.terminated && !st.truncated) {
        assert_int_equal(env.ops->step(env.self, 2, obs, &st), DQ_OK); /* x1 */
        sum += st.reward;
        steps++;
        if (!st.terminated) assert_true(isnan(st.final_metric));
    }
    assert_int_equal(steps, 6);
    assert_true(st.terminated);
    assert_false(st.truncated);
    assert_int_equal(lmenv_get_info(&env, &info), DQ_OK);
    assert_false(info.diverged);
    assert_true(fabs(st.final_metric - info.val_loss) < 1e-9);
    if (fabs(sum - (log(L0) - log(info.val_loss))) > 1e-5)
        fail_msg("return %.8f != ln L0 - ln LT = %.8f", sum, log(L0) - log(info.val_loss));
    assert_true(sum > 0); /* it learned something in 24 steps */
    assert_int_equal(info.opt_steps, 24);
    /* Stepping past the end is refused. */
    assert_int_equal(env.ops->step(env.self, 2, obs, &st), DQ_EINVAL);
    assert_int_equal(env.ops->step(env.self, 99, obs, &st), DQ_EINVAL);
    dq_env_close(&env);
}

static void test_divergence_terminates_with_penalty(void **state)
{
    (void)state;
    if (!have_corpus()) skip();
    dq_config_t cfg;
    tiny(&cfg);
    assert_int_equal(dq_config_set(&cfg, "lm.lr_max=100", "t", why, sizeof why), DQ_OK);
    assert_int_equal(dq_config_set(&cfg, "lm.lr=50", "t", why, sizeof why), DQ_OK);
    assert_int_equal(dq_config_set(&cfg, "lm.episode_steps=50", "t", why, sizeof why), DQ_OK);
    dq_env_t env;
    open_env(&env, &cfg, "train", 3);
    float obs[LMENV_OBS_DIM];
    assert_int_equal(env.ops->reset(env.self, obs), DQ_OK);
    lmenv_info_t info;
    lmenv_get_info(&env, &info);
    double L0 = info.val_loss0, prev = L0;
    dq_step_t st = {0};
    int t = 0;
    for (; t < 50 && !st.terminated; t++) {
        assert_int_equal(env.ops->step(env.self, 4, obs, &st), DQ_OK); /* x2 */
        check_obs(obs);
        assert_true(isfinite(st.reward));
        if (!st.terminated) {
            lmenv_get_info(&env, &info);
            prev = info.val_loss;
        }
    }
    assert_true(st.terminated);
    assert_false(st.truncated);
    assert_true(t < 10);
    double cap = cfg.lm_diverge_factor * L0;
    assert_true(fabs(st.reward - (log(prev) - log(cap) - cfg.lm_diverge_penalty)) < 1e-4);
    assert_true(fabs(st.final_metric - cap) < 1e-9);
    lmenv_get_info(&env, &info);
    assert_true(info.diverged);
    /* A new episode starts clean. */
    assert_int_equal(env.ops->reset(env.self, obs), DQ_OK);
    assert_true(obs[LMENV_OBS_PROGRESS] == 0.0f && obs[LMENV_OBS_VAL_RATIO] == 0.0f);
    dq_env_close(&env);
}

/* The observation's documented meaning, at reset and after one x2 step. */
static void test_observation_meaning(void **state)
{
    (void)state;
    if (!have_corpus()) skip();
    dq_config_t cfg;
    tiny(&cfg); /* lm.lr = 3e-3 in the default instance range [1e-4, 3e-2] */
    dq_env_t env;
    open_env(&env, &cfg, "train", 8);
    float obs[LMENV_OBS_DIM];
    assert_int_equal(env.ops->reset(env.self, obs), DQ_OK);
    lmenv_info_t info;
    assert_int_equal(lmenv_get_info(&env, &info), DQ_OK);
    double pos = 2.0 * log(3e-3 / 1e-4) / log(3e-2 / 1e-4) - 1.0;
    assert_true(fabs(obs[LMENV_OBS_LR_POSITION] - pos) < 1e-6);
    assert_true(obs[LMENV_OBS_PROGRESS] == 0.0f && obs[LMENV_OBS_LR_CHANGE] == 0.0f);
    assert_true(obs[LMENV_OBS_VAL_RATIO] == 0.0f && obs[LMENV_OBS_VAL_CHANGE] == 0.0f);
    assert_true(obs[LMENV_OBS_GRAD_NORM] == 0.0f && obs[LMENV_OBS_LAST_ACTION] == 0.0f);
    /* Two gradients of different batches at the initial weights: related, not equal. */
    assert_true(obs[LMENV_OBS_GRAD_ALIGN] > 0.05f && obs[LMENV_OBS_GRAD_ALIGN] < 0.999f);
    /* AdamW's first step at 3e-3 on N(0, 0.02) weights (and LayerNorm gains of 1). */
    assert_true(obs[LMENV_OBS_UPDATE_RATIO] > 0.0f && obs[LMENV_OBS_UPDATE_RATIO] < 2.0f);
    double L0 = info.val_loss0;
    dq_step_t st;
    assert_int_equal(env.ops->step(env.self, 4, obs, &st), DQ_OK); /* x2 */
    assert_int_equal(lmenv_get_info(&env, &info), DQ_OK);
    assert_true(fabs(info.lr - 6e-3) < 1e-12);
    assert_true(fabs(obs[LMENV_OBS_PROGRESS] - 1.0 / 6.0) < 1e-6);
    assert_true(fabs(obs[LMENV_OBS_LR_CHANGE] - 0.25) < 1e-6);
    assert_true(fabs(obs[LMENV_OBS_LAST_ACTION] - 1.0) < 1e-6);
    assert_true(fabs(obs[LMENV_OBS_VAL_RATIO] - log(info.val_loss / L0)) < 1e-5);
    assert_true(fabs(obs[LMENV_OBS_VAL_CHANGE] - 6.0 * log(info.val_loss / L0)) < 1e-4);
    assert_true(obs[LMENV_OBS_VAL_RATIO] < 0.0f); /* 4 steps at 6e-3 lower the loss */
    assert_int_equal(env.ops->step(env.self, 0, obs, &st), DQ_OK); /* x0.5 */
    assert_true(fabs(obs[LMENV_OBS_LAST_ACTION] + 1.0) < 1e-6);
    assert_true(fabs(obs[LMENV_OBS_LR_CHANGE]) < 1e-6);
    dq_env_close(&env);
}

static void test_budget_end_and_determinism(void **state)
{
    (void)state;
    if (!have_corpus()) skip();
    dq_config_t cfg;
    tiny(&cfg);
    assert_int_equal(dq_config_set(&cfg, "lm.lr=0", "t", why, sizeof why), DQ_OK);
    dq_env_t a, b;
    open_env(&a, &cfg, "train", 9);
    open_env(&b, &cfg, "train", 9);
    float oa[LMENV_OBS_DIM], ob[LMENV_OBS_DIM];
    for (int ep = 0; ep < 2; ep++) {
        assert_int_equal(a.ops->reset(a.self, oa), DQ_OK);
        assert_int_equal(b.ops->reset(b.self, ob), DQ_OK);
        assert_memory_equal(oa, ob, sizeof oa);
        for (int t = 1; t <= 6; t++) {
            dq_step_t sa, sb;
            int act = (t * 3 + ep) % 5;
            assert_int_equal(a.ops->step(a.self, act, oa, &sa), DQ_OK);
            assert_int_equal(b.ops->step(b.self, act, ob, &sb), DQ_OK);
            assert_memory_equal(oa, ob, sizeof oa);
            assert_true(sa.reward == sb.reward);
            assert_int_equal(sa.terminated, t == 6); /* the budget is terminal */
            assert_false(sa.truncated);
            assert_true(fabs(oa[LMENV_OBS_PROGRESS] - t / 6.0) < 1e-6);
        }
    }
    dq_env_close(&a);
    dq_env_close(&b);
}

static void test_instance_sets_disjoint(void **state)
{
    (void)state;
    if (!have_corpus()) skip();
    dq_config_t cfg;
    tiny(&cfg);
    assert_int_equal(dq_config_set(&cfg, "lm.lr=0", "t", why, sizeof why), DQ_OK);
    assert_int_equal(dq_config_set(&cfg, "lm.batch_sizes=2,4", "t", why, sizeof why), DQ_OK);
    dq_env_t tr, ho;
    open_env(&tr, &cfg, "train", 1);
    open_env(&ho, &cfg, "heldout", 1);
    float obs[LMENV_OBS_DIM];
    lmenv_info_t it, ih;
    double lr_lo = 1, lr_hi = 0;
    for (int i = 0; i < 12; i++) {
        assert_int_equal(tr.ops->reset(tr.self, obs), DQ_OK);
        assert_int_equal(ho.ops->reset(ho.self, obs), DQ_OK);
        lmenv_get_info(&tr, &it);
        lmenv_get_info(&ho, &ih);
        assert_true(it.instance_seed < (1ULL << 31));
        assert_true(ih.instance_seed >= (1ULL << 31) && ih.instance_seed < (1ULL << 32));
        assert_int_equal(it.channels, 16);
        assert_int_equal(ih.channels, 24);
        assert_true(it.batch == 2 || it.batch == 4);
        assert_true(it.lr_init >= cfg.lm_lr_init_min && it.lr_init <= cfg.lm_lr_init_max);
        lr_lo = fmin(lr_lo, it.lr_init);
        lr_hi = fmax(lr_hi, it.lr_init);
    }
    assert_true(lr_hi / lr_lo > 3); /* log-uniform over a wide range */
    dq_env_close(&tr);
    dq_env_close(&ho);
    assert_int_equal(lmenv_init(&tr, &cfg, "test", 1, why, sizeof why), DQ_EINVAL);
}

static void test_schedule_drives_lr(void **state)
{
    (void)state;
    if (!have_corpus()) skip();
    dq_config_t cfg;
    tiny(&cfg);
    dq_env_t env;
    open_env(&env, &cfg, "train", 4);
    lm_schedule_t s;
    assert_int_equal(schedule_parse(&s, "step:every=0.25,gamma=0.5", why, sizeof why), DQ_OK);
    assert_int_equal(lmenv_set_schedule(&env, &s), DQ_OK);
    float obs[LMENV_OBS_DIM];
    assert_int_equal(env.ops->reset(env.self, obs), DQ_OK);
    lmenv_info_t info;
    dq_step_t st;
    for (int t = 0; t < 6; t++) {
        assert_int_equal(env.ops->step(env.self, 2, obs, &st), DQ_OK);
        lmenv_get_info(&env, &info);
        double want = 3e-3 * schedule_factor(&s, info.opt_steps - 1, 24);
        assert_true(fabs(info.lr - want) < 1e-12);
    }
    assert_true(fabs(info.lr - 3e-3 * 0.125) < 1e-12);
    dq_env_close(&env);
}

/* lm.action_kind = set: an action sets the LR to its entry (clamped), and the
 * last-action feature reports the multiplier that amounted to. */
static void test_actions_set_the_lr(void **state)
{
    (void)state;
    if (!have_corpus()) skip();
    dq_config_t cfg;
    tiny(&cfg);
    const char *sets[] = {"lm.action_kind=set", "lm.actions=0.001,0.004,0.5", "lm.lr_max=0.1"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(dq_config_set(&cfg, sets[i], "test", why, sizeof why), DQ_OK);
    dq_env_t env;
    open_env(&env, &cfg, "train", 4);
    assert_int_equal(env.n_actions, 3);
    float obs[LMENV_OBS_DIM];
    assert_int_equal(env.ops->reset(env.self, obs), DQ_OK);
    lmenv_info_t info;
    dq_step_t st;
    const int acts[] = {1, 0, 2};
    const double want[] = {0.004, 0.001, 0.1}; /* 0.5 clamped to lm.lr_max */
    const double mult[] = {0.004 / 3e-3, 0.25, 100};
    for (int t = 0; t < 3; t++) {
        assert_int_equal(env.ops->step(env.self, acts[t], obs, &st), DQ_OK);
        lmenv_get_info(&env, &info);
        assert_true(fabs(info.lr - want[t]) < 1e-12);
        assert_true(fabsf(obs[LMENV_OBS_LAST_ACTION] - (float)log2(mult[t])) < 1e-5f);
        if (st.terminated) break;
    }
    dq_env_close(&env);
}

static void test_finetune_from_checkpoint(void **state)
{
    (void)state;
    if (!have_corpus()) skip();
    dq_config_t cfg;
    tiny(&cfg);
    assert_int_equal(dq_config_set(&cfg, "lm.lr=1e-2", "t", why, sizeof why), DQ_OK);
    dq_env_t env;
    open_env(&env, &cfg, "train", 4);
    float obs[LMENV_OBS_DIM];
    dq_step_t st = {0};
    assert_int_equal(env.ops->reset(env.self, obs), DQ_OK);
    while (!st.terminated) assert_int_equal(env.ops->step(env.self, 2, obs, &st), DQ_OK);
    char path[128];
    snprintf(path, sizeof path, "/tmp/dqnlm-test-lmenv-%d.ckpt", (int)getpid());
    if (lmenv_save_model(&env, path, why, sizeof why) != DQ_OK) fail_msg("save: %s", why);
    dq_env_close(&env);

    char set[256];
    snprintf(set, sizeof set, "lm.checkpoint=%s", path);
    assert_int_equal(dq_config_set(&cfg, set, "t", why, sizeof why), DQ_OK);
    assert_int_equal(dq_config_set(&cfg, "lm.mode=finetune", "t", why, sizeof why), DQ_OK);
    assert_int_equal(dq_config_set(&cfg, "lm.sizes=2x32x4x32", "t", why, sizeof why), DQ_OK);
    open_env(&env, &cfg, "heldout", 4);
    assert_int_equal(env.ops->reset(env.self, obs), DQ_OK);
    lmenv_info_t info;
    lmenv_get_info(&env, &info);
    assert_int_equal(info.channels, 16);                 /* the checkpoint's size, not lm.sizes */
    assert_true(info.val_loss0 < st.final_metric * 1.2); /* starts trained */
    assert_true(info.val_loss0 < 5.0);
    dq_env_close(&env);
    remove(path);
    assert_int_equal(lmenv_init(&env, &cfg, "train", 1, why, sizeof why), DQ_EIO);
    if (!strstr(why, path)) fail_msg("'%s' lacks the checkpoint path", why);
}

static void test_config_errors(void **state)
{
    (void)state;
    dq_config_t cfg;
    tiny(&cfg);
    dq_env_t env;
    assert_int_equal(dq_config_set(&cfg, "lm.corpus=/nonexistent/corpus.txt", "t", why, sizeof why),
                     DQ_OK);
    assert_int_equal(lmenv_init(&env, &cfg, "train", 1, why, sizeof why), DQ_EIO);
    assert_non_null(strstr(why, "/nonexistent/corpus.txt"));
    assert_null(env.self);
    tiny(&cfg);
    assert_int_equal(dq_config_set(&cfg, "lm.sizes=1x16x3x16", "t", why, sizeof why), DQ_OK);
    assert_int_equal(lmenv_init(&env, &cfg, "train", 1, why, sizeof why), DQ_ECONFIG);
    assert_non_null(strstr(why, "lm.sizes"));
    tiny(&cfg);
    assert_int_equal(dq_config_set(&cfg, "lm.actions=0.5,-1", "t", why, sizeof why), DQ_OK);
    assert_int_equal(lmenv_init(&env, &cfg, "train", 1, why, sizeof why), DQ_ECONFIG);
    assert_non_null(strstr(why, "lm.actions"));
    tiny(&cfg);
    assert_int_equal(dq_config_set(&cfg, "lm.mode=finetune", "t", why, sizeof why), DQ_OK);
    assert_int_equal(lmenv_init(&env, &cfg, "train", 1, why, sizeof why), DQ_ECONFIG);
    assert_non_null(strstr(why, "lm.checkpoint"));
}

/* dq_env_dims() answers from the configuration what the opened environments
 * report, and reads no corpus (the learner relies on both). */
static void test_dims_match_opened_envs(void **state)
{
    (void)state;
    const char *variants[][2] = {{"env.name=lm", "lm.actions=0.5,1,2"},
                                 {"env.name=lm", "lm.actions=0.25, 0.5,1,2,4"},
                                 {"env.name=chain", "env.chain_length=7"}};
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        dq_config_t cfg;
        tiny(&cfg);
        for (int k = 0; k < 2; k++)
            assert_int_equal(dq_config_set(&cfg, variants[v][k], "test", why, sizeof why), DQ_OK);
        int obs_dim = 0, n_actions = 0;
        assert_int_equal(dq_env_dims(&cfg, &obs_dim, &n_actions, why, sizeof why), DQ_OK);
        if (!have_corpus() && strcmp(cfg.env_name, "lm") == 0) continue;
        dq_env_t env;
        if (dq_env_open(&env, &cfg, "train", 1, why, sizeof why) != DQ_OK)
            fail_msg("dq_env_open: %s", why);
        assert_int_equal(obs_dim, env.obs_dim);
        assert_int_equal(n_actions, env.n_actions);
        dq_env_close(&env);
    }
    dq_config_t cfg;
    tiny(&cfg);
    int obs_dim = 0, n_actions = 0;
    assert_int_equal(dq_config_set(&cfg, "env.name=lm", "t", why, sizeof why), DQ_OK);
    assert_int_equal(dq_config_set(&cfg, "lm.corpus=/nonexistent/corpus.txt", "t", why, sizeof why),
                     DQ_OK);
    assert_int_equal(dq_env_dims(&cfg, &obs_dim, &n_actions, why, sizeof why), DQ_OK);
    assert_int_equal(obs_dim, LMENV_OBS_DIM);
    assert_int_equal(dq_config_set(&cfg, "lm.actions=0.5,", "t", why, sizeof why), DQ_OK);
    assert_int_equal(dq_env_dims(&cfg, &obs_dim, &n_actions, why, sizeof why), DQ_ECONFIG);
    assert_non_null(strstr(why, "lm.actions = '0.5,'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_observations_finite),
        cmocka_unit_test(test_describe_corpus),
        cmocka_unit_test(test_reward_telescopes),
        cmocka_unit_test(test_divergence_terminates_with_penalty),
        cmocka_unit_test(test_observation_meaning),
        cmocka_unit_test(test_budget_end_and_determinism),
        cmocka_unit_test(test_instance_sets_disjoint),
        cmocka_unit_test(test_schedule_drives_lr),
        cmocka_unit_test(test_actions_set_the_lr),
        cmocka_unit_test(test_finetune_from_checkpoint),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_dims_match_opened_envs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
