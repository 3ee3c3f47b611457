/* cli.c - see cli.h. */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "blasenv.h"
#include "err.h"
#include "log.h"

/* Value names of the string keys that name a file, a folder or a grammar;
 * every other key's comes from its kind (metavar below). */
static const char *const named_values[][2] = {
    {"actor.exploration", "SCHEDULE"},
    {"lm.schedule", "SCHEDULE"},
    {"replay.endpoint", "ENDPOINT"},
    {"replay.checkpoint", "FILE"},
    {"eval.qnet", "FILE"},
    {"lm.curve", "FILE"},
    {"lm.save", "FILE"},
    {"lm.checkpoint", "FILE"},
    {"eval.out", "DIR"},
    {"ablation.dir", "DIR"},
    {"ablation.out", "DIR"},
    {"run.dir", "DIR"},
    {"lm.corpus", "PATHS"},
    {"lm.action_seq", "I,J,..."},
    {"lm.sizes", "LxWxHxC,..."},
    {"lm.batch_sizes", "B,..."},
    {"run.seed", "SEED"},
    {"lm.instance_seed", "SEED"},
    {"lm.lr", "LR"},
};

/* The value name --help shows for an alias of key ("actor.id" -> N): a
 * named one, the choices of a key that has them ("train|heldout"), or the
 * key's kind (N, X, true|false, VALUE). */
static const char *metavar(const char *key, char *buf, size_t len)
{
    for (size_t i = 0; i < sizeof named_values / sizeof named_values[0]; i++)
        if (!strcmp(named_values[i][0], key)) return named_values[i][1];
    size_t n;
    const dq_config_key_t *keys = dq_config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        size_t sl = strlen(keys[i].section);
        if (strncmp(key, keys[i].section, sl) || key[sl] != '.' ||
            strcmp(key + sl + 1, keys[i].key))
            continue;
        switch (keys[i].kind) {
        case DQ_CFG_INT: return "N";
        case DQ_CFG_REAL: return "X";
        case DQ_CFG_BOOL: return "true|false";
        case DQ_CFG_STR: break;
        }
        const char *end = keys[i].lo > 0 && keys[i].doc[0] == '[' ? strchr(keys[i].doc, ']') : NULL;
        if (!end) break;
        snprintf(buf, len, "%.*s", (int)(end - keys[i].doc - 1), keys[i].doc + 1);
        return buf;
    }
    return "VALUE";
}

static void print_usage(const dq_cli_spec_t *spec, FILE *out)
{
    fprintf(out, "Usage: %s [options]\n%s\n\nOptions:\n", spec->program, spec->summary);
    fprintf(out, "  -h, --help                 show this help and exit\n"
                 "      --help-config          list every configuration key and exit\n"
                 "  -c, --config FILE          read an INI configuration file\n"
                 "  -s, --set SECTION.KEY=VALUE\n"
                 "                             override one key (repeatable; after --config)\n"
                 "      --print-config         print the effective configuration and exit\n");
    for (const dq_cli_alias_t *a = spec->aliases; a && a->flag; a++) {
        char choices[128], usage[192];
        const char *mv = metavar(a->key, choices, sizeof choices);
        int w = snprintf(usage, sizeof usage, "%s %s", a->flag, mv);
        if (w <= 22)
            fprintf(out, "      %-22s %s (same as --set %s=%s)\n", usage, a->help, a->key, mv);
        else
            fprintf(out, "      %s\n%29s%s (same as --set %s=%s)\n", usage, "", a->help, a->key,
                    mv);
    }
    fprintf(out, "\nConfiguration keys are documented in docs/config.md.\n");
}

static const dq_cli_alias_t *find_alias(const dq_cli_spec_t *spec, const char *flag)
{
    for (const dq_cli_alias_t *a = spec->aliases; a && a->flag; a++)
        if (strcmp(a->flag, flag) == 0) return a;
    return NULL;
}

int dq_cli_parse(const dq_cli_spec_t *spec, int argc, char **argv, dq_config_t *cfg)
{
    char err[768];
    int print_config = 0;
    dq_config_defaults(cfg);

    /* Pass 1: help, the config file, and unknown options. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            print_usage(spec, stdout);
            return 1;
        }
        if (!strcmp(a, "--help-config")) {
            dq_config_print_help(stdout);
            return 1;
        }
        if (!strcmp(a, "--print-config")) {
            print_config = 1;
            continue;
        }
        int takes_value = !strcmp(a, "-c") || !strcmp(a, "--config") || !strcmp(a, "-s") ||
                          !strcmp(a, "--set") || find_alias(spec, a);
        if (!takes_value) {
            fprintf(stderr, "%s: unknown option '%s' (try --help)\n", spec->program, a);
            return DQ_EINVAL;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: option '%s' needs a value\n", spec->program, a);
            return DQ_EINVAL;
        }
        if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
            if (dq_config_load_file(cfg, argv[i + 1], err, sizeof err) < 0) {
                fprintf(stderr, "%s: %s\n", spec->program, err);
                return DQ_ECONFIG;
            }
        }
        i++;
    }
    /* Pass 2: overrides in command-line order. */
    int rc = dq_cli_apply_overrides(spec, argc, argv, cfg);
    if (rc < 0) return rc;
    if (print_config) {
        dq_config_write(cfg, stdout);
        return 1;
    }
    dq_log_init(spec->program, (dq_log_level_t)dq_log_level_parse(cfg->run_log_level));
    return 0;
}

int dq_cli_apply_overrides(const dq_cli_spec_t *spec, int argc, char **argv, dq_config_t *cfg)
{
    char err[768];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const dq_cli_alias_t *al = find_alias(spec, a);
        int rc = DQ_OK;
        if ((!strcmp(a, "-s") || !strcmp(a, "--set")) && i + 1 < argc) {
            rc = dq_config_set(cfg, argv[++i], "--set", err, sizeof err);
        } else if (al && i + 1 < argc) {
            char assignment[DQ_CONFIG_STR_MAX + 128];
            snprintf(assignment, sizeof assignment, "%s=%s", al->key, argv[++i]);
            rc = dq_config_set(cfg, assignment, al->flag, err, sizeof err);
        } else if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
            i++;
        }
        if (rc < 0) {
            fprintf(stderr, "%s: %s\n", spec->program, err);
            return rc;
        }
    }
    return DQ_OK;
}

int dq_cli_has_config(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) return 1;
    return 0;
}

int dq_program_start(const dq_cli_spec_t *spec, int argc, char **argv, dq_config_t *cfg)
{
    dq_blas_select_kernel(argc, argv);
    int rc = dq_cli_parse(spec, argc, argv, cfg);
    if (rc != 0) return rc;
    dq_cli_install_stop_handlers();
    dq_blas_log_kernel();
    return 0;
}

static volatile sig_atomic_t stop_flag = 0;

static void on_stop_signal(int sig)
{
    if (stop_flag) signal(sig, SIG_DFL); /* a third ^C while stopping kills */
    if (stop_flag < 1000) stop_flag++;
}

void dq_cli_install_stop_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: blocking zmq/poll calls return EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* SIGUSR1 too, unless it is ignored (deploy/cluster-task.sh ignores it and
     * turns it into one SIGTERM): mpirun forwards SIGUSR1 to every rank, while
     * its own SIGTERM aborts the job with exit status 1 however the ranks end. */
    struct sigaction old;
    if (sigaction(SIGUSR1, NULL, &old) == 0 && old.sa_handler != SIG_IGN)
        sigaction(SIGUSR1, &sa, NULL);
}

int dq_cli_stop_requested(void) { return stop_flag != 0; }

int dq_cli_stop_signals(void) { return (int)stop_flag; }

int dq_mkdir_p(const char *dir)
{
    char path[1024];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) return DQ_EINVAL;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST) return DQ_EIO;
        *p = '/';
    }
    if (mkdir(path, 0755) < 0 && errno != EEXIST) return DQ_EIO;
    return DQ_OK;
}

double dq_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
