/* ctldesc.h - what a Q-network controls: the description saved inside the
 * Q-network file (qnet.h, format 3), so that a controller knows the
 * environment, the observation version and the action set it was trained
 * for, and the whole configuration it was trained with.
 *
 *   dq_ctl_save(&net, cfg, "RUN/qnet.bin", why, sizeof why);      // learner
 *
 *   dq_ctldesc_t d, here;
 *   dq_config_t trained;
 *   int described;
 *   dq_ctl_load(&net, path, &d, &trained, &described, why, sizeof why);
 *   dq_ctldesc_of_config(cfg, &here, why, sizeof why);
 *   if (described && dq_ctldesc_check(&d, &here, path, why, sizeof why) < 0) refuse;
 *
 * The description is INI text (docs/controller.md): a [controller] section
 *   env, obs_version, obs_dim, n_actions, actions, action_kind
 * followed by the configuration as dq_config_write writes it.
 */
#ifndef DQ_CTLDESC_H
#define DQ_CTLDESC_H

#include <stddef.h>

#include "config.h"
#include "qnet.h"

typedef struct {
    char env[DQ_CONFIG_STR_MAX];         /* env.name */
    int obs_version;                     /* dq_env_obs_version(env) */
    int obs_dim, n_actions;              /* Q-network input and output widths */
    char actions[DQ_CONFIG_STR_MAX];     /* lm.actions (lm); the action names otherwise */
    char action_kind[DQ_CONFIG_STR_MAX]; /* lm.action_kind (lm); the env name otherwise */
} dq_ctldesc_t;

/* The description of a controller for cfg's environment; DQ_ECONFIG with a
 * reason for an unknown environment or a malformed action list. */
int dq_ctldesc_of_config(const dq_config_t *cfg, dq_ctldesc_t *d, char *why, size_t whylen);
/* The description text of d and cfg (malloc'd; NULL when out of memory). */
char *dq_ctldesc_format(const dq_ctldesc_t *d, const dq_config_t *cfg);
/* Parses a description text; cfg (if not NULL) receives the defaults
 * overlaid with the configuration it holds. DQ_EFORMAT with a reason naming
 * where (a path) for a missing [controller] key or a bad configuration. */
int dq_ctldesc_parse(const char *text, const char *where, dq_ctldesc_t *d, dq_config_t *cfg,
                     char *why, size_t whylen);
/* DQ_OK when a controller trained for `trained` can act in `here`;
 * DQ_ESHAPE with a reason naming both values (and where) otherwise: env,
 * observation version, obs_dim, n_actions, action kind, action set. */
int dq_ctldesc_check(const dq_ctldesc_t *trained, const dq_ctldesc_t *here, const char *where,
                     char *why, size_t whylen);

/* Saves net with the description of cfg; DQ_ESHAPE when the net's widths
 * are not those of cfg's environment, else as dq_qnet_save_desc. */
int dq_ctl_save(const dq_qnet_t *net, const dq_config_t *cfg, const char *path, char *why,
                size_t whylen);
/* Loads a Q-network file and its description. *described = 0 for a file
 * without one (d and trained are then untouched); otherwise d and trained
 * (if not NULL) are filled and the description's widths are checked against
 * the net's. Errors as dq_qnet_load and dq_ctldesc_parse; *net is zeroed on
 * error. */
int dq_ctl_load(dq_qnet_t *net, const char *path, dq_ctldesc_t *d, dq_config_t *trained,
                int *described, char *why, size_t whylen);

#endif
