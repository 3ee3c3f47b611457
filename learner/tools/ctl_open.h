/* ctl_open.h - how the offline tools that run a trained controller
 * (dqnlm-eval, dqnlm-lmtrain --qnet) open its Q-network file: the network
 * brings the configuration it was trained with (ctldesc.h), which replaces
 * the defaults unless the command line names a --config; --set options and
 * aliases still apply on top; the environment is the LM's (env.name = lm,
 * whatever the configuration says), and a network that does not fit it is
 * refused with both values named.
 *
 *   if (tools_open_controller(&spec, argc, argv, &cfg, path, &net, why, sizeof why) < 0)
 *       { DQ_ERROR("%s", why); return 2; }
 */
#ifndef DQNLM_TOOLS_CTL_OPEN_H
#define DQNLM_TOOLS_CTL_OPEN_H

#include <stddef.h>

#include "cli.h"
#include "config.h"
#include "qnet.h"

/* Loads path into *net and settles *cfg as above (cfg->eval_qnet becomes
 * path). 0, or a negative dq_err_t with the reason in why (*net zeroed). */
int tools_open_controller(const dq_cli_spec_t *spec, int argc, char **argv, dq_config_t *cfg,
                          const char *path, dq_qnet_t *net, char *why, size_t whylen);

#endif
