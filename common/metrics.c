/* metrics.c - see metrics.h. */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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
