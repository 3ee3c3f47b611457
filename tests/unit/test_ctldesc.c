/* test_ctldesc.c - what a Q-network controls: the description saved in the
 * Q-network file (format 3) round-trips with the configuration, a file of
 * format 2 still loads (without one), a description whose widths disagree
 * with the net is refused, and every mismatch dq_ctldesc_check refuses
 * names both values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ctldesc.h"
#include "err.h"
#include "fileio.h"
#include "qnet.h"

static char why[768];

static const char *tmp_path(const char *tag)
{
    static char path[4][96];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "/tmp/dqnlm-test-ctldesc-%d-%s.bin", (int)getpid(), tag);
    return path[k];
}

static void lm_config(dq_config_t *cfg)
{
    dq_config_defaults(cfg);
    assert_int_equal(dq_config_set(cfg, "env.name=lm", "test", why, sizeof why), DQ_OK);
    assert_int_equal(dq_config_set(cfg, "lm.lr_max=0.05", "test", why, sizeof why), DQ_OK);
    assert_int_equal(
        dq_config_set(cfg, "eval.baselines=constant cosine:warmup=0.05", "test", why, sizeof why),
        DQ_OK);
}

static void build(dq_qnet_t *net, int obs_dim, int n_actions)
{
    dq_rng_t rng;
    dq_rng_seed(&rng, 3);
    assert_int_equal(dq_qnet_build(net, "8", 1, obs_dim, n_actions, &rng, why, sizeof why), DQ_OK);
}

static void test_round_trip(void **state)
{
    (void)state;
    static dq_config_t cfg, back;
    lm_config(&cfg);
    dq_qnet_t net, got;
    build(&net, 9, 3);
    const char *p = tmp_path("rt");
    assert_int_equal(dq_ctl_save(&net, &cfg, p, why, sizeof why), DQ_OK);
    dq_ctldesc_t d;
    int described = 0;
    assert_int_equal(dq_ctl_load(&got, p, &d, &back, &described, why, sizeof why), DQ_OK);
    assert_int_equal(described, 1);
    assert_string_equal(d.env, "lm");
    assert_int_equal(d.obs_version, 1);
    assert_int_equal(d.obs_dim, 9);
    assert_int_equal(d.n_actions, 3);
    assert_string_equal(d.actions, "0.5,1,2");
    assert_string_equal(d.action_kind, "multiply");
    assert_true(back.lm_lr_max == 0.05);
    assert_string_equal(back.eval_baselines, "constant cosine:warmup=0.05");
    assert_int_equal(got.dueling, 1);
    assert_memory_equal(got.params, net.params, net.n_params * sizeof(float));
    dq_qnet_free(&got);

    /* A net that is not the environment's is not saved with its description. */
    dq_qnet_t small;
    build(&small, 8, 3);
    assert_int_equal(dq_ctl_save(&small, &cfg, p, why, sizeof why), DQ_ESHAPE);
    assert_non_null(strstr(why, "maps 8 -> 3, the lm environment 9 -> 3"));

    /* A description whose widths are not the net's is refused. */
    d.obs_dim = 8;
    char *text = dq_ctldesc_format(&d, &cfg);
    assert_non_null(text);
    assert_int_equal(dq_qnet_save_desc(&net, text, p), DQ_OK);
    free(text);
    assert_int_equal(dq_ctl_load(&got, p, &d, NULL, &described, why, sizeof why), DQ_EFORMAT);
    assert_non_null(strstr(why, "the description says 8 -> 3"));
    assert_null(got.params);

    /* A description without its [controller] keys is refused. */
    assert_int_equal(dq_qnet_save_desc(&net, "[lm]\nlr_max = 0.05\n", p), DQ_OK);
    assert_int_equal(dq_ctl_load(&got, p, &d, NULL, &described, why, sizeof why), DQ_EFORMAT);
    assert_non_null(strstr(why, "[controller] needs"));
    /* ... and so is a bad configuration key in it. */
    assert_int_equal(dq_qnet_save_desc(&net,
                                       "[controller]\nenv = lm\nobs_version = 1\nobs_dim = 9\n"
                                       "n_actions = 3\nactions = 0.5,1,2\naction_kind = multiply\n"
                                       "[lm]\nno_such_key = 1\n",
                                       p),
                     DQ_OK);
    assert_int_equal(dq_ctl_load(&got, p, &d, &back, &described, why, sizeof why), DQ_EFORMAT);
    assert_non_null(strstr(why, "no_such_key"));
    unlink(p);
    dq_qnet_free(&net);
    dq_qnet_free(&small);
}

/* A format-2 file: the version-3 bytes without desc_len, version 2. */
static void test_version2(void **state)
{
    (void)state;
    dq_qnet_t net, got;
    build(&net, 9, 3);
    const char *p = tmp_path("v2");
    assert_int_equal(dq_qnet_save(&net, p), DQ_OK);
    void *data;
    size_t n;
    assert_int_equal(dq_file_read_all(p, 1 << 20, &data, &n, why, sizeof why), DQ_OK);
    unsigned char *b = data;
    size_t body = n - 8 - 4; /* before desc_len */
    dq_put_le32(b + 8, 2);
    dq_put_le64(b + body, dq_fnv1a64(b, body, DQ_FNV1A64_INIT));
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, body + 8, f), body + 8);
    fclose(f);
    free(data);
    dq_ctldesc_t d;
    int described = 1;
    assert_int_equal(dq_ctl_load(&got, p, &d, NULL, &described, why, sizeof why), DQ_OK);
    assert_int_equal(described, 0);
    assert_memory_equal(got.params, net.params, net.n_params * sizeof(float));
    dq_qnet_free(&got);
    char *desc = (char *)1;
    assert_int_equal(dq_qnet_load_desc(&got, p, &desc, why, sizeof why), DQ_OK);
    assert_null(desc);
    dq_qnet_free(&got);
    unlink(p);
    dq_qnet_free(&net);
}

static void test_check(void **state)
{
    (void)state;
    static dq_config_t cfg;
    lm_config(&cfg);
    dq_ctldesc_t here, tr;
    assert_int_equal(dq_ctldesc_of_config(&cfg, &here, why, sizeof why), DQ_OK);
    tr = here;
    snprintf(tr.actions, sizeof tr.actions, "0.5, 1.0, 2");
    assert_int_equal(dq_ctldesc_check(&tr, &here, "q.bin", why, sizeof why), DQ_OK);
    struct {
        const char *field, *value, *words;
    } cases[] = {
        {"env", "chain",
         "q.bin: the Q-network was trained for env.name = chain, this run has "
         "env.name = lm"},
        {"obs_version", "7",
         "observation version 7 of the lm environment, this build computes "
         "version 1"},
        {"obs_dim", "12", "observations of 12 entries (obs_dim), this run has 9"},
        {"n_actions", "4", "4 actions (n_actions), this run has 3"},
        {"action_kind", "set", "lm.action_kind = set, this run has lm.action_kind = multiply"},
        {"actions", "0.25,1,4", "lm.actions = 0.25,1,4, this run has lm.actions = 0.5,1,2"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tr = here;
        const char *f = cases[k].field, *v = cases[k].value;
        if (!strcmp(f, "env")) snprintf(tr.env, sizeof tr.env, "%s", v);
        if (!strcmp(f, "obs_version")) tr.obs_version = atoi(v);
        if (!strcmp(f, "obs_dim")) tr.obs_dim = atoi(v);
        if (!strcmp(f, "n_actions")) tr.n_actions = atoi(v);
        if (!strcmp(f, "action_kind")) snprintf(tr.action_kind, sizeof tr.action_kind, "%s", v);
        if (!strcmp(f, "actions")) snprintf(tr.actions, sizeof tr.actions, "%s", v);
        why[0] = '\0';
        int rc = dq_ctldesc_check(&tr, &here, "q.bin", why, sizeof why);
        if (rc != DQ_ESHAPE || !strstr(why, cases[k].words))
            fail_msg("%s: rc %s, why \"%s\"", f, dq_errname(rc), why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_version2),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
