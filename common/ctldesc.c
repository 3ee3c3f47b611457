/* ctldesc.c - see ctldesc.h. */
#include "ctldesc.h"

#include <float.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dims.h"
#include "err.h"

int dq_ctldesc_of_config(const dq_config_t *cfg, dq_ctldesc_t *d, char *why, size_t whylen)
{
    memset(d, 0, sizeof *d);
    int rc = dq_env_dims(cfg, &d->obs_dim, &d->n_actions, why, whylen);
    if (rc < 0) return rc;
    snprintf(d->env, sizeof d->env, "%s", cfg->env_name);
    d->obs_version = dq_env_obs_version(cfg->env_name);
    if (strcmp(cfg->env_name, "lm") == 0) {
        snprintf(d->actions, sizeof d->actions, "%s", cfg->lm_actions);
        snprintf(d->action_kind, sizeof d->action_kind, "%s", cfg->lm_action_kind);
    } else {
        snprintf(d->actions, sizeof d->actions, "left,right");
        snprintf(d->action_kind, sizeof d->action_kind, "%s", cfg->env_name);
    }
    return DQ_OK;
}

char *dq_ctldesc_format(const dq_ctldesc_t *d, const dq_config_t *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    fprintf(f,
            "; what this Q-network controls (docs/controller.md), then the configuration it\n"
            "; was trained with\n[controller]\nenv = %s\nobs_version = %d\nobs_dim = %d\n"
            "n_actions = %d\nactions = %s\naction_kind = %s\n\n",
            d->env, d->obs_version, d->obs_dim, d->n_actions, d->actions, d->action_kind);
    int rc = dq_config_write(cfg, f);
    if (fclose(f) != 0 || rc < 0) {
        free(text);
        return NULL;
    }
    return text;
}

typedef struct {
    dq_ctldesc_t *d;
    dq_config_t *cfg;
    int seen; /* bit per [controller] key */
    char msg[512];
} parse_ctx_t;

static int int_field(const char *value, int *out)
{
    char *end;
    long v = strtol(value, &end, 10);
    if (end == value || *end || v < 0 || v > 1 << 30) return DQ_EFORMAT;
    *out = (int)v;
    return DQ_OK;
}

static int controller_key(parse_ctx_t *c, const char *name, const char *value)
{
    static const char *const keys[] = {"env",       "obs_version", "obs_dim",
                                       "n_actions", "actions",     "action_kind"};
    dq_ctldesc_t *d = c->d;
    int k = 0, rc = DQ_OK;
    while (k < 6 && strcmp(keys[k], name) != 0) k++;
    if (k == 0) snprintf(d->env, sizeof d->env, "%s", value);
    if (k == 1) rc = int_field(value, &d->obs_version);
    if (k == 2) rc = int_field(value, &d->obs_dim);
    if (k == 3) rc = int_field(value, &d->n_actions);
    if (k == 4) snprintf(d->actions, sizeof d->actions, "%s", value);
    if (k == 5) snprintf(d->action_kind, sizeof d->action_kind, "%s", value);
    if (k == 6) {
        snprintf(c->msg, sizeof c->msg, "unknown key controller.%s", name);
        return DQ_EFORMAT;
    }
    if (rc < 0) snprintf(c->msg, sizeof c->msg, "controller.%s = '%s': not a count", name, value);
    c->seen |= 1 << k;
    return rc;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    parse_ctx_t *c = user;
    if (c->msg[0]) return 1;
    if (strcmp(section, "controller") == 0) {
        controller_key(c, name, value);
    } else if (c->cfg) {
        char w[400];
        if (dq_config_set_value(c->cfg, section, name, value, "", w, sizeof w) < 0)
            snprintf(c->msg, sizeof c->msg, "the configuration it holds%s", w);
    }
    return 1;
}

int dq_ctldesc_parse(const char *text, const char *where, dq_ctldesc_t *d, dq_config_t *cfg,
                     char *why, size_t whylen)
{
    memset(d, 0, sizeof *d);
    if (cfg) dq_config_defaults(cfg);
    parse_ctx_t c = {.d = d, .cfg = cfg};
    int line = ini_parse_string(text, on_entry, &c);
    if (c.msg[0]) {
        snprintf(why, whylen, "%s: description: %s", where, c.msg);
        return DQ_EFORMAT;
    }
    if (line != 0) {
        snprintf(why, whylen, "%s: description: syntax error on line %d", where, line);
        return DQ_EFORMAT;
    }
    if (c.seen != 0x3f) {
        snprintf(why, whylen,
                 "%s: description: [controller] needs env, obs_version, obs_dim, n_actions, "
                 "actions and action_kind",
                 where);
        return DQ_EFORMAT;
    }
    return DQ_OK;
}

/* Whether two lm.actions lists hold the same numbers. */
static int same_actions(const char *a, const char *b)
{
    double x[64], y[64];
    int nx = 0, ny = 0;
    if (dq_parse_real_list(a, -DBL_MAX, DBL_MAX, x, 64, &nx) < 0 ||
        dq_parse_real_list(b, -DBL_MAX, DBL_MAX, y, 64, &ny) < 0)
        return strcmp(a, b) == 0;
    if (nx != ny) return 0;
    for (int i = 0; i < nx; i++)
        if (x[i] != y[i]) return 0;
    return 1;
}

int dq_ctldesc_check(const dq_ctldesc_t *tr, const dq_ctldesc_t *here, const char *where, char *why,
                     size_t whylen)
{
    const char *pre = "the Q-network was trained for";
    if (strcmp(tr->env, here->env) != 0)
        snprintf(why, whylen, "%s: %s env.name = %s, this run has env.name = %s", where, pre,
                 tr->env, here->env);
    else if (tr->obs_version != here->obs_version)
        snprintf(why, whylen,
                 "%s: %s observation version %d of the %s environment, this build computes "
                 "version %d",
                 where, pre, tr->obs_version, tr->env, here->obs_version);
    else if (tr->obs_dim != here->obs_dim)
        snprintf(why, whylen, "%s: %s observations of %d entries (obs_dim), this run has %d", where,
                 pre, tr->obs_dim, here->obs_dim);
    else if (tr->n_actions != here->n_actions)
        snprintf(why, whylen, "%s: %s %d actions (n_actions), this run has %d", where, pre,
                 tr->n_actions, here->n_actions);
    else if (strcmp(tr->action_kind, here->action_kind) != 0)
        snprintf(why, whylen, "%s: %s lm.action_kind = %s, this run has lm.action_kind = %s", where,
                 pre, tr->action_kind, here->action_kind);
    else if (!same_actions(tr->actions, here->actions))
        snprintf(why, whylen, "%s: %s lm.actions = %s, this run has lm.actions = %s", where, pre,
                 tr->actions, here->actions);
    else
        return DQ_OK;
    return DQ_ESHAPE;
}

int dq_ctl_save(const dq_qnet_t *net, const dq_config_t *cfg, const char *path, char *why,
                size_t whylen)
{
    dq_ctldesc_t d;
    int rc = dq_ctldesc_of_config(cfg, &d, why, whylen);
    if (rc < 0) return rc;
    if (net->sizes[0] != d.obs_dim || dq_qnet_n_actions(net) != d.n_actions) {
        snprintf(why, whylen, "%s: the Q-network maps %d -> %d, the %s environment %d -> %d", path,
                 net->sizes[0], dq_qnet_n_actions(net), d.env, d.obs_dim, d.n_actions);
        return DQ_ESHAPE;
    }
    char *text = dq_ctldesc_format(&d, cfg);
    if (!text) {
        snprintf(why, whylen, "%s: out of memory", path);
        return DQ_ENOMEM;
    }
    rc = dq_qnet_save_desc(net, text, path);
    free(text);
    if (rc < 0) snprintf(why, whylen, "%s: %s", path, dq_strerror(rc));
    return rc;
}

int dq_ctl_load(dq_qnet_t *net, const char *path, dq_ctldesc_t *d, dq_config_t *trained,
                int *described, char *why, size_t whylen)
{
    char *text = NULL;
    *described = 0;
    int rc = dq_qnet_load_desc(net, path, &text, why, whylen);
    if (rc < 0 || !text) return rc;
    dq_ctldesc_t tmp;
    rc = dq_ctldesc_parse(text, path, &tmp, trained, why, whylen);
    free(text);
    if (rc == DQ_OK && (tmp.obs_dim != net->sizes[0] || tmp.n_actions != dq_qnet_n_actions(net))) {
        snprintf(why, whylen,
                 "%s: the description says %d -> %d (obs_dim -> n_actions), the network maps "
                 "%d -> %d",
                 path, tmp.obs_dim, tmp.n_actions, net->sizes[0], dq_qnet_n_actions(net));
        rc = DQ_EFORMAT;
    }
    if (rc < 0) {
        dq_qnet_free(net);
        return rc;
    }
    *d = tmp;
    *described = 1;
    return DQ_OK;
}
