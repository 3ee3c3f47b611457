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

void dq_metrics_close(dq_metrics_t **self_p)
{
    if (!self_p || !*self_p) return;
    fclose((*self_p)->f);
    free(*self_p);
    *self_p = NULL;
}
