/* metrics.c - see metrics.h. */
#include "metrics.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"

struct dq_metrics {
    FILE *f;
};

dq_metrics_t *dq_metrics_open(const char *path, const char *header)
{
    dq_metrics_t *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->f = fopen(path, "a");
    if (!m->f) {
        free(m);
        return NULL;
    }
    if (ftell(m->f) == 0) {
        fprintf(m->f, "%s\n", header);
        fflush(m->f);
    }
    return m;
}

void dq_metrics_row(dq_metrics_t *m, const char *fmt, ...)
{
    if (!m) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(m->f, fmt, ap);
    va_end(ap);
    fputc('\n', m->f);
    fflush(m->f);
}

void dq_metrics_cell(dq_metrics_line_t *l, const char *fmt, ...)
{
    size_t cap = sizeof l->text;
    if (l->cells++ && l->len + 1 < cap) l->text[l->len++] = ',';
    if (l->len + 1 >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->text + l->len, cap - l->len, fmt, ap);
    va_end(ap);
    if (n > 0) l->len = l->len + (size_t)n < cap ? l->len + (size_t)n : cap - 1;
}

void dq_metrics_line(dq_metrics_t *m, const dq_metrics_line_t *l)
{
    dq_metrics_row(m, "%.*s", (int)l->len, l->text);
}

void dq_metrics_close(dq_metrics_t **self_p)
{
    if (!self_p || !*self_p) return;
    fclose((*self_p)->f);
    free(*self_p);
    *self_p = NULL;
}

/* The index of column name in a header line (NUL-terminated), or -1. */
static int column_of(const char *header, const char *name)
{
    size_t want = strlen(name);
    int col = 0;
    for (const char *p = header;; col++) {
        size_t len = strcspn(p, ",\r");
        if (len == want && !strncmp(p, name, want)) return col;
        if (p[len] != ',') return -1;
        p += len + 1;
    }
}

/* Cell col of a row (a line without its newline) as a number; NAN if absent. */
static double cell(const char *row, int col)
{
    const char *p = row;
    for (int c = 0; c < col; c++) {
        p = strchr(p, ',');
        if (!p) return NAN;
        p++;
    }
    char *end;
    double v = strtod(p, &end);
    return end == p ? NAN : v;
}

int dq_metrics_resume(const char *path, const char *counter, double upto, const char *const *names,
                      double *values, int n, char *why, size_t whylen)
{
    if (access(path, F_OK) != 0) return 0;
    char *text = NULL;
    size_t len = 0;
    int rc = dq_file_read_all(path, (size_t)1 << 30, (void **)&text, &len, why, whylen);
    if (rc < 0) return rc;
    char *nl = strchr(text, '\n');
    if (!nl) goto done; /* not even a whole header */
    *nl = '\0';
    int ccol = column_of(text, counter), cols[64];
    if (ccol < 0) {
        snprintf(why, whylen, "%s: no column '%s' in its header", path, counter);
        rc = DQ_EFORMAT;
        goto done;
    }
    for (int k = 0; k < n && k < 64; k++) cols[k] = column_of(text, names[k]);
    size_t keep = (size_t)(nl - text) + 1; /* bytes kept: header, then each row kept */
    const char *last = NULL;
    for (char *row = nl + 1; row < text + len;) {
        char *e = memchr(row, '\n', (size_t)(text + len - row));
        if (!e) break; /* a torn last line goes too */
        *e = '\0';
        double c = cell(row, ccol);
        if (!(c <= upto)) break;
        last = row;
        keep = (size_t)(e - text) + 1;
        row = e + 1;
    }
    if (keep < len && truncate(path, (off_t)keep) < 0) {
        snprintf(why, whylen, "%s: cannot cut the rows after %s %.0f: %s", path, counter, upto,
                 strerror(errno));
        rc = DQ_EIO;
        goto done;
    }
    if (last) {
        for (int k = 0; k < n && k < 64; k++) values[k] = cols[k] < 0 ? NAN : cell(last, cols[k]);
        rc = 1;
    }
done:
    free(text);
    return rc;
}
