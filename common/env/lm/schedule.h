/* schedule.h - baseline learning-rate schedules for LM training.
 *
 * A schedule is a value parsed from one string; the LM environment multiplies
 * the LR it controls by schedule_factor() at every optimizer step, so the
 * baselines run in the same code path as the agent (whose "schedule" is the
 * constant one). Grammar (docs/lmenv.md):
 *
 *   spec   = name [ ":" param *( "," param ) ]
 *   param  = key "=" number
 *   constant
 *   cosine[:warmup=W,min=M]            linear warmup over W*N steps, cosine to M
 *   step[:every=E,gamma=G]             x G every E*N steps
 *   invsqrt[:warmup=W]                 min((s+1)/w, sqrt(w/(s+1))), w = max(1, W*N)
 *   plateau[:factor=F,patience=P,threshold=R]
 *                                      x F after P+1 env steps without a
 *                                      relative validation improvement > R
 *
 * s is the 0-based optimizer step, N the run's total optimizer steps.
 *
 *   lm_schedule_t s;
 *   if (schedule_parse(&s, "cosine:warmup=0.05", why, sizeof why) < 0) ...
 *   lr = base_lr * schedule_factor(&s, step, total);
 *   schedule_observe(&s, val_loss);      // once per env step (plateau)
 */
#ifndef DQ_SCHEDULE_H
#define DQ_SCHEDULE_H

#include <stddef.h>

typedef enum {
    SCHED_CONSTANT = 0,
    SCHED_COSINE,
    SCHED_STEP,
    SCHED_INVSQRT,
    SCHED_PLATEAU
} lm_schedule_kind_t;

typedef struct {
    lm_schedule_kind_t kind;
    double warmup;    /* cosine, invsqrt: warmup as a fraction of total steps */
    double min_ratio; /* cosine: final factor */
    double every;     /* step: interval as a fraction of total steps */
    double gamma;     /* step: multiplier per interval */
    double factor;    /* plateau: multiplier on a plateau */
    int patience;     /* plateau: env steps without improvement tolerated */
    double threshold; /* plateau: relative improvement that counts */
    /* plateau state, cleared by schedule_reset */
    double best;
    int bad;
    double scale;
} lm_schedule_t;

/* Parses spec into *s (state reset). DQ_OK or DQ_ECONFIG with a reason. */
int schedule_parse(lm_schedule_t *s, const char *spec, char *why, size_t whylen);
/* Writes the canonical spec (every parameter) into buf. */
void schedule_format(const lm_schedule_t *s, char *buf, size_t len);
/* Clears the plateau state; call at the start of each run. */
void schedule_reset(lm_schedule_t *s);
/* LR multiplier at optimizer step (0-based) of total (>= 1). */
double schedule_factor(const lm_schedule_t *s, long step, long total);
/* Feeds one validation loss (plateau only; others ignore it). */
void schedule_observe(lm_schedule_t *s, double val_loss);

#endif
