/* metrics.h - CSV metric files in the run folder.
 *
 *   dq_metrics_t *m = dq_metrics_open("runs/x/actor-0.csv", "time_s,env_steps,return_mean");
 *   dq_metrics_row(m, "%.3f,%lu,%.4f", t, steps, ret);   // flushed at once
 *   dq_metrics_close(&m);
 *
 * Rows are flushed as they are written so a crash loses nothing and a
 * launcher can follow the file; an existing file is appended to (a resumed run
 * continues its curve) and gets a header only when new.
 */
#ifndef DQ_METRICS_H
#define DQ_METRICS_H

typedef struct dq_metrics dq_metrics_t;

dq_metrics_t *dq_metrics_open(const char *path, const char *header);
void dq_metrics_row(dq_metrics_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dq_metrics_close(dq_metrics_t **self_p);

#endif
