/* cli.h - the command line every dqnlm program shares, and its stop signal.
 *
 *   static const dq_cli_alias_t aliases[] = {{"--id", "actor.id", "actor index"}, {0}};
 *   dq_cli_spec_t spec = {"dqnlm-actor", "Steps environments and streams transitions.", aliases};
 *   dq_config_t cfg;
 *   int rc = dq_cli_parse(&spec, argc, argv, &cfg);
 *   if (rc != 0) return rc > 0 ? 0 : 2;       // help printed, or error printed
 *   dq_cli_install_stop_handlers();
 *   while (!dq_cli_stop_requested()) ...
 *
 * Precedence: defaults < --config FILE < --set and aliases, in command-line order.
 */
#ifndef DQ_CLI_H
#define DQ_CLI_H

#include "config.h"

typedef struct {
    const char *flag; /* "--id" */
    const char *key;  /* "actor.id" */
    const char *help;
} dq_cli_alias_t;

typedef struct {
    const char *program;
    const char *summary;
    const dq_cli_alias_t *aliases; /* terminated by an entry with flag == NULL; may be NULL */
} dq_cli_spec_t;

/* Returns 0 to run, 1 when --help or --help-config was printed (exit 0), or a
 * negative dq_err_t after printing the error to stderr (exit 2). Also sets up
 * logging from run.log_level. */
int dq_cli_parse(const dq_cli_spec_t *spec, int argc, char **argv, dq_config_t *cfg);

/* Applies the --set options and aliases of argv to cfg, in command-line
 * order (pass 2 of dq_cli_parse: a program that replaces the configuration
 * after parsing, e.g. with a Q-network's, re-applies them on top); prints
 * the error and returns it. */
int dq_cli_apply_overrides(const dq_cli_spec_t *spec, int argc, char **argv, dq_config_t *cfg);
/* Whether argv names a configuration file (-c / --config). */
int dq_cli_has_config(int argc, char **argv);

/* The start of every program's main(): chooses the OpenBLAS kernel (may
 * re-execute the program once, see blasenv.h), parses the command line, sets
 * up logging, installs the stop handlers and logs the kernel (one BLAS thread
 * per process unless the user set OPENBLAS_NUM_THREADS or OMP_NUM_THREADS).
 * Returns like dq_cli_parse. */
int dq_program_start(const dq_cli_spec_t *spec, int argc, char **argv, dq_config_t *cfg);

/* SIGINT, SIGTERM and SIGUSR1 (unless ignored when the program started) set
 * a flag (and interrupt blocking calls); a second signal while stopping
 * restores the default action. SIGUSR1 is how an mpirun group is stopped
 * cleanly: mpirun forwards it to every rank, whereas mpirun's own SIGTERM
 * handler aborts the job (exit status 1 even when every rank exits 0). */
void dq_cli_install_stop_handlers(void);
int dq_cli_stop_requested(void);
/* How many stop signals have arrived (0 before the first). */
int dq_cli_stop_signals(void);

/* Creates dir and its parents (mkdir -p). */
int dq_mkdir_p(const char *dir);
/* Monotonic seconds. */
double dq_now(void);

#endif
