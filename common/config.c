/* config.c - see config.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "err.h"

static const dq_config_key_t key_table[] = {
#define DQ_CFG_ROW_(sec, key, kind, dflt, lo, hi, doc) \
    {#sec,         #key,         DQ_CFG_##kind, dflt,  \
     (double)(lo), (double)(hi), doc,           offsetof(dq_config_t, sec##_##key)},
    DQ_CONFIG_KEYS(DQ_CFG_ROW_)
#undef DQ_CFG_ROW_
};
#define N_KEYS (sizeof key_table / sizeof key_table[0])

const dq_config_key_t *dq_config_keys(size_t *n)
{
    *n = N_KEYS;
    return key_table;
}

static const dq_config_key_t *find_key(const char *section, const char *key, int *section_known)
{
    *section_known = 0;
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(key_table[i].section, section) != 0) continue;
        *section_known = 1;
        if (strcmp(key_table[i].key, key) == 0) return &key_table[i];
    }
    return NULL;
}

/* For a STR key with choices: the doc starts "[a|b|c]". Returns 1 if value is
 * one of them. */
static int in_choices(const char *doc, const char *value)
{
    if (doc[0] != '[') return 1;
    const char *p = doc + 1;
    size_t vlen = strlen(value);
    while (*p && *p != ']') {
        const char *end = p + strcspn(p, "|]");
        if ((size_t)(end - p) == vlen && strncmp(p, value, vlen) == 0) return 1;
        p = (*end == '|') ? end + 1 : end;
    }
    return 0;
}

static void trim_copy(char *dst, size_t cap, const char *src)
{
    while (*src == ' ' || *src == '\t') src++;
    size_t n = strlen(src);
    while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '\t' || src[n - 1] == '\r')) n--;
    /* Strip one pair of matching quotes, so both key = "a b" and key = a b work. */
    if (n >= 2 && (src[0] == '"' || src[0] == '\'') && src[n - 1] == src[0]) {
        src++;
        n -= 2;
    }
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* libinih reads lines of at most INI_MAX_LINE - 2 characters before the
 * newline; a written STR line is "key = \"value\"". */
static size_t str_value_max(const char *key) { return INI_MAX_LINE - 2 - strlen(key) - 5; }

/* Whether dq_config_write must quote a STR value so that reading it back
 * (inih's trimming and inline ';' comments, then trim_copy) gives it again. */
static int needs_quotes(const char *v)
{
    size_t n = strlen(v);
    if (n == 0) return 0;
    if (isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1]) || v[0] == ';') return 1;
    return n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0];
}

/* The run folder keeps the configuration as an INI file (dq_config_write),
 * which must load again: the line, quoted, must fit libinih's line buffer, and
 * ' ;' would start a comment. */
static int check_writable(const char *section, const char *key, const char *value,
                          const char *where, char *err, size_t errlen)
{
    if (strlen(value) > str_value_max(key)) {
        snprintf(err, errlen,
                 "%s: %s.%s: value of %zu characters; at most %zu fit on a line of a "
                 "configuration file",
                 where, section, key, strlen(value), str_value_max(key));
        return DQ_ECONFIG;
    }
    for (const char *c = value; *c; c++)
        if (c[1] == ';' && isspace((unsigned char)c[0])) {
            snprintf(err, errlen,
                     "%s: %s.%s: ' ;' in a value (a configuration file reads it as the start "
                     "of a comment)",
                     where, section, key);
            return DQ_ECONFIG;
        }
    return DQ_OK;
}

int dq_config_set_value(dq_config_t *cfg, const char *section, const char *key, const char *raw,
                        const char *where, char *err, size_t errlen)
{
    int section_known;
    const dq_config_key_t *k = find_key(section, key, &section_known);
    if (!k) {
        if (!section_known)
            snprintf(err, errlen, "%s: unknown section [%s] (key '%s')", where, section, key);
        else
            snprintf(err, errlen, "%s: unknown key '%s' in section [%s]", where, key, section);
        return DQ_ECONFIG;
    }
    char value[DQ_CONFIG_STR_MAX + 2];
    if (strlen(raw) > DQ_CONFIG_STR_MAX) {
        snprintf(err, errlen, "%s: %s.%s: value longer than %d characters", where, section, key,
                 DQ_CONFIG_STR_MAX);
        return DQ_ECONFIG;
    }
    trim_copy(value, sizeof value, raw);
    char *base = (char *)cfg + k->offset;
    char *end = NULL;
    errno = 0;
    switch (k->kind) {
    case DQ_CFG_INT: {
        long v = strtol(value, &end, 0);
        if (value[0] == '\0' || *end != '\0' || errno == ERANGE) {
            snprintf(err, errlen, "%s: %s.%s: '%s' is not an integer", where, section, key, value);
            return DQ_ECONFIG;
        }
        if ((double)v < k->lo || (double)v > k->hi) {
            snprintf(err, errlen, "%s: %s.%s = %ld is out of range [%.15g, %.15g]", where, section,
                     key, v, k->lo, k->hi);
            return DQ_ECONFIG;
        }
        *(long *)base = v;
        break;
    }
    case DQ_CFG_REAL: {
        double v = strtod(value, &end);
        if (value[0] == '\0' || *end != '\0' || errno == ERANGE || !isfinite(v)) {
            snprintf(err, errlen, "%s: %s.%s: '%s' is not a finite number", where, section, key,
                     value);
            return DQ_ECONFIG;
        }
        if (v < k->lo || v > k->hi) {
            snprintf(err, errlen, "%s: %s.%s = %g is out of range [%g, %g]", where, section, key, v,
                     k->lo, k->hi);
            return DQ_ECONFIG;
        }
        *(double *)base = v;
        break;
    }
    case DQ_CFG_BOOL: {
        int v;
        if (!strcasecmp(value, "true") || !strcmp(value, "1") || !strcasecmp(value, "yes") ||
            !strcasecmp(value, "on"))
            v = 1;
        else if (!strcasecmp(value, "false") || !strcmp(value, "0") || !strcasecmp(value, "no") ||
                 !strcasecmp(value, "off"))
            v = 0;
        else {
            snprintf(err, errlen, "%s: %s.%s: '%s' is not a boolean (true/false)", where, section,
                     key, value);
            return DQ_ECONFIG;
        }
        *(int *)base = v;
        break;
    }
    case DQ_CFG_STR:
        if (check_writable(section, key, value, where, err, errlen) < 0) return DQ_ECONFIG;
        if (k->lo > 0 && !in_choices(k->doc, value)) {
            int w = (int)strcspn(k->doc, "]") + 1;
            snprintf(err, errlen, "%s: %s.%s: '%s' is not one of %.*s", where, section, key, value,
                     w, k->doc);
            return DQ_ECONFIG;
        }
        memcpy(base, value, strlen(value) + 1);
        break;
    }
    return DQ_OK;
}

void dq_config_defaults(dq_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    char err[256];
    for (size_t i = 0; i < N_KEYS; i++) {
        /* Defaults pass the same validation as user input; test_config checks
         * that this never fails. */
        dq_config_set_value(cfg, key_table[i].section, key_table[i].key, key_table[i].dflt,
                            "default", err, sizeof err);
    }
}

#define N_SECTIONS_MAX 64

typedef struct {
    dq_config_t *cfg;
    FILE *file;
    int line;      /* lines read so far: the line the handler is looking at */
    int fail_line; /* line of the first rejected entry, 0 if none */
    char msg[512];
    int indented;         /* the line just read starts with a blank */
    char prev_name[64];   /* the key of the previous entry (inih's multi-line rule) */
    int key_line[N_KEYS]; /* line where each key was set, 0 = not yet */
    char sections[N_SECTIONS_MAX][64];
    int section_line[N_SECTIONS_MAX];
    int n_sections;
    int read_errno; /* errno of a failed read (0: none), saved where it happened */
} load_ctx_t;

/* A "[name]" header on the line just read: a name seen before is an error
 * (inih reports sections only through the keys that follow them, so a
 * repeated header is found here, where the lines pass). */
static void note_section(load_ctx_t *ctx, const char *text)
{
    while (*text == ' ' || *text == '\t') text++;
    if (*text != '[') return;
    const char *end = strchr(text + 1, ']');
    if (!end || ctx->fail_line) return;
    size_t n = (size_t)(end - text - 1);
    if (n >= sizeof ctx->sections[0]) n = sizeof ctx->sections[0] - 1;
    for (int i = 0; i < ctx->n_sections; i++) {
        if (strlen(ctx->sections[i]) == n && !strncmp(ctx->sections[i], text + 1, n)) {
            snprintf(ctx->msg, sizeof ctx->msg,
                     ": section [%s] appears again (first on line %d); give each section once",
                     ctx->sections[i], ctx->section_line[i]);
            ctx->fail_line = ctx->line;
            return;
        }
    }
    if (ctx->n_sections == N_SECTIONS_MAX) return; /* unknown sections fail at their first key */
    memcpy(ctx->sections[ctx->n_sections], text + 1, n);
    ctx->sections[ctx->n_sections][n] = '\0';
    ctx->section_line[ctx->n_sections++] = ctx->line;
}

/* inih's fgets-like reader; counting lines here gives the handler its line
 * number (Debian's libinih does not pass one). */
static char *read_line(char *str, int num, void *stream)
{
    load_ctx_t *ctx = stream;
    int c = EOF, n = 0, nul = 0, too_long = 0;
    while (n < num - 1 && (c = getc(ctx->file)) != EOF) {
        nul |= c == '\0';
        str[n++] = (char)c;
        if (c == '\n') break;
    }
    if (c == EOF && ferror(ctx->file) && !ctx->read_errno) ctx->read_errno = errno ? errno : EIO;
    if (n == 0) return NULL;
    str[n] = '\0';
    ctx->line++;
    /* A line longer than the buffer: the rest is dropped here, never parsed
     * as a line of its own (its tail could read as another key). */
    if (str[n - 1] != '\n' && n == num - 1 && (c = getc(ctx->file)) != '\n' && c != EOF) {
        too_long = 1;
        while ((c = getc(ctx->file)) != '\n' && c != EOF) continue;
    }
    if ((nul || too_long) && !ctx->fail_line) {
        ctx->fail_line = ctx->line;
        if (nul)
            snprintf(ctx->msg, sizeof ctx->msg, ": NUL byte in the line (not a text file?)");
        else
            snprintf(ctx->msg, sizeof ctx->msg, ": line longer than %d characters", num - 2);
    }
    ctx->indented = str[0] == ' ' || str[0] == '\t';
    note_section(ctx, str);
    return str;
}

/* A key set twice in one file is an error naming both lines. Debian's inih
 * joins an indented line to the previous key (multi-line values), which
 * would read as that key set again: say so instead. */
static int check_repeat(load_ctx_t *ctx, const char *section, const char *name)
{
    int section_known;
    const dq_config_key_t *k = find_key(section, name, &section_known);
    if (ctx->indented && !strcmp(name, ctx->prev_name)) {
        snprintf(ctx->msg, sizeof ctx->msg,
                 ": indented line continues the value of %s.%s; multi-line values are not "
                 "supported (remove the indentation)",
                 section, name);
        return DQ_ECONFIG;
    }
    snprintf(ctx->prev_name, sizeof ctx->prev_name, "%s", name);
    if (!k) return DQ_OK; /* dq_config_set_value names the unknown key */
    size_t i = (size_t)(k - key_table);
    if (ctx->key_line[i]) {
        snprintf(ctx->msg, sizeof ctx->msg,
                 ": duplicate key %s.%s (first set on line %d); give each key once", section, name,
                 ctx->key_line[i]);
        return DQ_ECONFIG;
    }
    ctx->key_line[i] = ctx->line;
    return DQ_OK;
}

static int on_ini_entry(void *user, const char *section, const char *name, const char *value)
{
    load_ctx_t *ctx = user;
    if (ctx->fail_line) return 1;
    int rc = DQ_OK;
    if (section[0] == '\0') {
        snprintf(ctx->msg, sizeof ctx->msg, ": key '%s' appears before any [section]", name);
        rc = DQ_ECONFIG;
    } else {
        rc = check_repeat(ctx, section, name);
        if (rc == DQ_OK)
            rc = dq_config_set_value(ctx->cfg, section, name, value, "", ctx->msg, sizeof ctx->msg);
    }
    if (rc < 0) ctx->fail_line = ctx->line;
    return 1;
}

/* Opens path for reading; a folder or anything but a regular file or a pipe
 * is refused by name (fopen would open a folder, and reading it give nothing). */
static FILE *open_config(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    struct stat st;
    if (!f) {
        snprintf(err, errlen, "%s: cannot open config file: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) &&
        !S_ISCHR(st.st_mode)) {
        snprintf(err, errlen, "%s: is %s, not a config file", path,
                 S_ISDIR(st.st_mode) ? "a folder" : "not a regular file");
        fclose(f);
        return NULL;
    }
    return f;
}

int dq_config_load_file(dq_config_t *cfg, const char *path, char *err, size_t errlen)
{
    load_ctx_t *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        snprintf(err, errlen, "%s: out of memory", path);
        return DQ_ENOMEM;
    }
    ctx->cfg = cfg;
    int rc = DQ_OK;
    ctx->file = open_config(path, err, errlen);
    if (!ctx->file) {
        free(ctx);
        return DQ_EIO;
    }
    int syntax_line = ini_parse_stream(read_line, ctx, on_ini_entry, ctx);
    int read_error = ferror(ctx->file) ? (ctx->read_errno ? ctx->read_errno : EIO) : 0;
    fclose(ctx->file);
    /* Report whichever error comes first in the file. */
    if (read_error) {
        snprintf(err, errlen, "%s:%d: read error: %s", path, ctx->line + 1, strerror(read_error));
        rc = DQ_EIO;
    } else if (ctx->fail_line && (syntax_line <= 0 || ctx->fail_line <= syntax_line)) {
        snprintf(err, errlen, "%s:%d%s", path, ctx->fail_line, ctx->msg);
        rc = DQ_ECONFIG;
    } else if (syntax_line != 0) {
        snprintf(err, errlen, "%s:%d: syntax error (expected [section] or key = value)", path,
                 syntax_line);
        rc = DQ_ECONFIG;
    }
    free(ctx);
    return rc;
}

int dq_config_set(dq_config_t *cfg, const char *assignment, const char *source, char *err,
                  size_t errlen)
{
    const char *dot = strchr(assignment, '.');
    const char *eq = strchr(assignment, '=');
    if (!dot || !eq || dot > eq || dot == assignment || eq == dot + 1) {
        snprintf(err, errlen, "%s '%s': expected section.key=value", source, assignment);
        return DQ_ECONFIG;
    }
    char section[64], key[64];
    size_t sl = (size_t)(dot - assignment), kl = (size_t)(eq - dot - 1);
    if (sl >= sizeof section || kl >= sizeof key) {
        snprintf(err, errlen, "%s '%s': section or key name too long", source, assignment);
        return DQ_ECONFIG;
    }
    memcpy(section, assignment, sl);
    section[sl] = '\0';
    memcpy(key, dot + 1, kl);
    key[kl] = '\0';
    return dq_config_set_value(cfg, section, key, eq + 1, source, err, errlen);
}

/* The shortest %g form that reads back as the same double: 0.99 rather
 * than 0.98999999999999999 (%.17g), and still exact. */
static void write_real(FILE *out, const char *key, double v)
{
    char text[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(text, sizeof text, "%.*g", prec, v);
        if (strtod(text, NULL) == v) break;
    }
    fprintf(out, "%s = %s\n", key, text);
}

int dq_config_write(const dq_config_t *cfg, FILE *out)
{
    const char *last = "";
    for (size_t i = 0; i < N_KEYS; i++) {
        const dq_config_key_t *k = &key_table[i];
        if (strcmp(k->section, last) != 0) {
            fprintf(out, "%s[%s]\n", i ? "\n" : "", k->section);
            last = k->section;
        }
        const char *base = (const char *)cfg + k->offset;
        switch (k->kind) {
        case DQ_CFG_INT: fprintf(out, "%s = %ld\n", k->key, *(const long *)base); break;
        case DQ_CFG_REAL: write_real(out, k->key, *(const double *)base); break;
        case DQ_CFG_BOOL:
            fprintf(out, "%s = %s\n", k->key, *(const int *)base ? "true" : "false");
            break;
        case DQ_CFG_STR:
            fprintf(out, needs_quotes(base) ? "%s = \"%s\"\n" : "%s = %s\n", k->key, base);
            break;
        }
    }
    return ferror(out) ? DQ_EIO : DQ_OK;
}

void dq_config_print_help(FILE *out)
{
    static const char *kinds[] = {"int", "real", "bool", "string"};
    for (size_t i = 0; i < N_KEYS; i++) {
        const dq_config_key_t *k = &key_table[i];
        fprintf(out, "  %s.%s (%s, default %s", k->section, k->key, kinds[k->kind], k->dflt);
        if (k->kind == DQ_CFG_INT || k->kind == DQ_CFG_REAL)
            fprintf(out, ", range [%.15g, %.15g]", k->lo, k->hi);
        fprintf(out, ")\n      %s\n", k->doc);
    }
}

int dq_parse_int_range_list(const char *s, long lo, long hi, int *out, int max, int *n)
{
    *n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < lo || v > hi || *n >= max) return DQ_ECONFIG;
        out[(*n)++] = (int)v;
        p = end;
        while (*p == ' ') p++;
        if (*p == ',')
            p++;
        else if (*p)
            return DQ_ECONFIG;
    }
    return DQ_OK;
}

int dq_parse_real_list(const char *s, double lo, double hi, double *out, int max, int *n)
{
    *n = 0;
    const char *p = s;
    while (*p == ' ') p++;
    while (*p) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || v < lo || v > hi || *n >= max) return DQ_ECONFIG;
        out[(*n)++] = v;
        p = end;
        while (*p == ' ') p++;
        if (*p == ',') {
            p++;
            while (*p == ' ') p++;
            if (!*p) return DQ_ECONFIG;
        } else if (*p) {
            return DQ_ECONFIG;
        }
    }
    return DQ_OK;
}

int dq_config_parse_int_list(const char *s, int *out, int max, int *n)
{
    return dq_parse_int_range_list(s, 1, 1000000, out, max, n);
}
