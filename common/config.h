/* config.h - configuration: defaults, one INI file, and --set overrides.
 *
 *   dq_config_t cfg;
 *   char err[512];
 *   dq_config_defaults(&cfg);
 *   if (dq_config_load_file(&cfg, "job.ini", err, sizeof err) < 0 ||
 *       dq_config_set(&cfg, "learner.lr=3e-4", err, sizeof err) < 0)
 *       fprintf(stderr, "%s\n", err);   // names file, line and key
 *
 * Keys are listed once in config_keys.h; each becomes a field section_key.
 * Unknown sections and keys, malformed values and out-of-range values are
 * errors, never silently ignored.
 */
#ifndef DQ_CONFIG_H
#define DQ_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "config_keys.h"

#define DQ_CONFIG_STR_MAX 256

#define DQ_CFG_CTYPE_INT long
#define DQ_CFG_CTYPE_REAL double
#define DQ_CFG_CTYPE_BOOL int
#define DQ_CFG_CTYPE_STR char
#define DQ_CFG_DIM_INT
#define DQ_CFG_DIM_REAL
#define DQ_CFG_DIM_BOOL
#define DQ_CFG_DIM_STR [DQ_CONFIG_STR_MAX]

typedef struct {
#define DQ_CFG_FIELD_(sec, key, kind, dflt, lo, hi, doc) \
    DQ_CFG_CTYPE_##kind sec##_##key DQ_CFG_DIM_##kind;
    DQ_CONFIG_KEYS(DQ_CFG_FIELD_)
#undef DQ_CFG_FIELD_
} dq_config_t;

typedef enum { DQ_CFG_INT, DQ_CFG_REAL, DQ_CFG_BOOL, DQ_CFG_STR } dq_config_kind_t;

typedef struct {
    const char *section, *key;
    dq_config_kind_t kind;
    const char *dflt;
    double lo, hi;
    const char *doc;
    size_t offset;
} dq_config_key_t;

/* The key table, in declaration order; *n receives its length. */
const dq_config_key_t *dq_config_keys(size_t *n);

void dq_config_defaults(dq_config_t *cfg);
/* Reads an INI file over cfg. On error returns DQ_ECONFIG (or DQ_EIO) and
 * writes "FILE:LINE: ..." into err. */
int dq_config_load_file(dq_config_t *cfg, const char *path, char *err, size_t errlen);
/* Applies one "section.key=value" override; source names where it came from
 * in error messages (e.g. "--set"). */
int dq_config_set(dq_config_t *cfg, const char *assignment, const char *source, char *err,
                  size_t errlen);
/* Sets one key from a value string; used by both of the above. */
int dq_config_set_value(dq_config_t *cfg, const char *section, const char *key, const char *value,
                        const char *where, char *err, size_t errlen);
/* Writes the effective configuration as an INI file (the run folder keeps one). */
int dq_config_write(const dq_config_t *cfg, FILE *out);
/* Prints every key with kind, default, range and description. */
void dq_config_print_help(FILE *out);

/* Parses a comma-separated list of positive integers ("64,64") into out[0..max). */
int dq_config_parse_int_list(const char *s, int *out, int max, int *n);
/* Comma-separated reals, each finite and in [lo, hi]; a trailing comma is an
 * error, an empty string gives *n = 0. */
int dq_parse_real_list(const char *s, double lo, double hi, double *out, int max, int *n);
/* Same for integers in [lo, hi]. */
int dq_parse_int_range_list(const char *s, long lo, long hi, int *out, int max, int *n);

#endif
