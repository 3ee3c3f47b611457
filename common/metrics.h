/* metrics.h - CSV metric files in the run folder.
 *
 *   dq_metrics_t *m = dq_metrics_open("runs/x/actor-0.csv", "time_s,env_steps,return_mean");
 *   dq_metrics_row(m, "%.3f,%lu,%.4f", t, steps, ret);   // flushed at once
 *   dq_metrics_close(&m);
 *
 * Rows are flushed as they are written so a crash loses nothing and a
 * launcher can follow the file; an existing file is appended to (a resumed run
 * continues its curve) and gets a header only when new.
 *
 * A file's columns are written once, as an X-macro list X(name, fmt, expr)
 * (fmt a printf conversion, expr its value, evaluated where the row is
 * written), and the header and the row writer are generated from it:
 *
 *   #define MY_COLS(X) X(time_s, "%.3f", now - t0) X(steps, "%" PRIu64, steps)
 *   m = dq_metrics_open(path, DQ_METRICS_HEADER(MY_COLS));   // "time_s,steps"
 *   DQ_METRICS_WRITE(m, MY_COLS);                              // "1.250,42"
 */
#ifndef DQ_METRICS_H
#define DQ_METRICS_H

#include <stddef.h>

typedef struct dq_metrics dq_metrics_t;

dq_metrics_t *dq_metrics_open(const char *path, const char *header);
void dq_metrics_row(dq_metrics_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dq_metrics_close(dq_metrics_t **self_p);

/* A resumed run continues its metric file: finds the last row whose column
 * `counter` is <= upto, cuts off the rows after it (written after the
 * checkpoint the run resumes from, so that the counters stay monotone) and
 * puts that row's columns names[0..n) into values (NAN for a column the file
 * lacks). Returns 1 when such a row exists, 0 when there is none (no file, or
 * only a header: values untouched), or a negative dq_err_t (DQ_EIO,
 * DQ_EFORMAT for a file without the counter column) with the reason in why.
 * Call it before dq_metrics_open appends to the file. */
int dq_metrics_resume(const char *path, const char *counter, double upto, const char *const *names,
                      double *values, int n, char *why, size_t whylen);

/* The comma-separated names of a column list (a string literal). */
#define DQ_METRICS_NAME_(name, fmt, expr) "," #name
#define DQ_METRICS_HEADER(COLS) (&(COLS(DQ_METRICS_NAME_))[1])

/* One row being assembled cell by cell (cut at DQ_METRICS_LINE_MAX bytes). */
#define DQ_METRICS_LINE_MAX 1024
typedef struct {
    char text[DQ_METRICS_LINE_MAX];
    size_t len;
    int cells;
} dq_metrics_line_t;
/* Appends one cell (a comma first unless it is the first). */
void dq_metrics_cell(dq_metrics_line_t *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Writes the assembled row and flushes. */
void dq_metrics_line(dq_metrics_t *m, const dq_metrics_line_t *l);

#define DQ_METRICS_CELL_(name, fmt, expr) dq_metrics_cell(&dq_line_, fmt, expr);
#define DQ_METRICS_WRITE(m, COLS)                \
    do {                                         \
        dq_metrics_line_t dq_line_ = {.len = 0}; \
        COLS(DQ_METRICS_CELL_)                   \
        dq_metrics_line((m), &dq_line_);         \
    } while (0)

#endif
