/* ctl_open.c - see ctl_open.h. */
#include "ctl_open.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctldesc.h"
#include "err.h"
#include "log.h"

/* *cfg becomes trained with the command line's overrides on top. */
static int adopt(const dq_cli_spec_t *spec, int argc, char **argv, dq_config_t *cfg,
                 const dq_config_t *trained, const char *path, char *why, size_t whylen)
{
    dq_config_t *c = malloc(sizeof *c);
    if (!c) {
        snprintf(why, whylen, "%s: out of memory", path);
        return DQ_ENOMEM;
    }
    *c = *trained;
    int rc = dq_cli_apply_overrides(spec, argc, argv, c);
    if (rc < 0) {
        snprintf(why, whylen, "%s: a command-line override does not apply to its configuration",
                 path);
    } else {
        *cfg = *c;
        DQ_INFO("using the configuration %s was trained with (--config FILE replaces it; --set "
                "options apply on top)",
                path);
    }
    free(c);
    return rc;
}

int tools_open_controller(const dq_cli_spec_t *spec, int argc, char **argv, dq_config_t *cfg,
                          const char *path, dq_qnet_t *net, char *why, size_t whylen)
{
    char file[DQ_CONFIG_STR_MAX];
    snprintf(file, sizeof file, "%s", path);
    dq_ctldesc_t trained, here;
    dq_config_t *tcfg = malloc(sizeof *tcfg);
    int described = 0;
    int rc = DQ_ENOMEM;
    if (tcfg)
        rc = dq_ctl_load(net, file, &trained, tcfg, &described, why, whylen);
    else
        snprintf(why, whylen, "%s: out of memory", file);
    if (rc == DQ_OK && described && !dq_cli_has_config(argc, argv))
        rc = adopt(spec, argc, argv, cfg, tcfg, file, why, whylen);
    free(tcfg);
    if (rc == DQ_OK) {
        /* These tools run the LM environment whatever env.name says (its
         * default is the chain): a controller of another environment is
         * refused by name below, never run on LM observations. */
        snprintf(cfg->env_name, sizeof cfg->env_name, "lm");
        snprintf(cfg->eval_qnet, sizeof cfg->eval_qnet, "%s", file);
        rc = dq_ctldesc_of_config(cfg, &here, why, whylen);
    }
    if (rc == DQ_OK && described) rc = dq_ctldesc_check(&trained, &here, file, why, whylen);
    if (rc == DQ_OK && !described)
        DQ_WARN("%s carries no description of what it controls (written before Q-network "
                "format 3): using the configuration given, checking only the network's widths",
                file);
    if (rc == DQ_OK &&
        (net->sizes[0] != here.obs_dim || dq_qnet_n_actions(net) != here.n_actions)) {
        snprintf(why, whylen, "%s: Q-network maps %d -> %d, the %s environment needs %d -> %d",
                 file, net->sizes[0], dq_qnet_n_actions(net), here.env, here.obs_dim,
                 here.n_actions);
        rc = DQ_ESHAPE;
    }
    if (rc < 0) dq_qnet_free(net);
    return rc;
}
