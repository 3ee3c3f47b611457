/* schedule.c - see schedule.h. */
#include "schedule.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static const char *const names[] = {"constant", "cosine", "step", "invsqrt", "plateau"};

void schedule_reset(lm_schedule_t *s)
{
    s->best = INFINITY;
    s->bad = 0;
    s->scale = 1.0;
}

static int set_param(lm_schedule_t *s, const char *key, double v, char *why, size_t whylen)
{
    int ok = 1;
    switch (s->kind) {
    case SCHED_CONSTANT: ok = 0; break;
    case SCHED_COSINE:
        if (!strcmp(key, "warmup") && v >= 0 && v < 1)
            s->warmup = v;
        else if (!strcmp(key, "min") && v >= 0 && v <= 1)
            s->min_ratio = v;
        else
            ok = 0;
        break;
    case SCHED_STEP:
        if (!strcmp(key, "every") && v > 0 && v <= 1)
            s->every = v;
        else if (!strcmp(key, "gamma") && v > 0 && v <= 1)
            s->gamma = v;
        else
            ok = 0;
        break;
    case SCHED_INVSQRT:
        if (!strcmp(key, "warmup") && v >= 0 && v < 1)
            s->warmup = v;
        else
            ok = 0;
        break;
    case SCHED_PLATEAU:
        if (!strcmp(key, "factor") && v > 0 && v <= 1)
            s->factor = v;
        else if (!strcmp(key, "patience") && v >= 0 && v <= 1e6 && v == floor(v))
            s->patience = (int)v;
        else if (!strcmp(key, "threshold") && v >= 0 && v < 1)
            s->threshold = v;
        else
            ok = 0;
        break;
    }
    if (!ok) {
        snprintf(why, whylen, "schedule %s: unknown parameter or value out of range: %s=%g",
                 names[s->kind], key, v);
        return DQ_ECONFIG;
    }
    return DQ_OK;
}

int schedule_parse(lm_schedule_t *s, const char *spec, char *why, size_t whylen)
{
    lm_schedule_t t;
    memset(&t, 0, sizeof t);
    t.warmup = 0.05;
    t.min_ratio = 0.1;
    t.every = 0.33;
    t.gamma = 0.3;
    t.factor = 0.5;
    t.patience = 2;
    t.threshold = 0.01;
    size_t nlen = strcspn(spec, ":");
    int found = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == nlen && !strncmp(spec, names[i], nlen)) {
            t.kind = (lm_schedule_kind_t)i;
            found = 1;
        }
    if (!found) {
        snprintf(why, whylen,
                 "schedule '%s': unknown name (constant, cosine, step, invsqrt, plateau)", spec);
        return DQ_ECONFIG;
    }
    const char *p = spec + nlen;
    if (*p == ':') {
        p++;
        if (!*p) {
            snprintf(why, whylen, "schedule '%s': empty parameter list", spec);
            return DQ_ECONFIG;
        }
        while (*p) {
            char key[32];
            size_t klen = strcspn(p, "=,");
            if (p[klen] != '=' || klen == 0 || klen >= sizeof key) {
                snprintf(why, whylen, "schedule '%s': expected key=value at '%s'", spec, p);
                return DQ_ECONFIG;
            }
            memcpy(key, p, klen);
            key[klen] = '\0';
            p += klen + 1;
            char *end;
            errno = 0;
            double v = strtod(p, &end);
            if (end == p || errno || !isfinite(v) || (*end && *end != ',')) {
                snprintf(why, whylen, "schedule '%s': bad number for %s", spec, key);
                return DQ_ECONFIG;
            }
            int rc = set_param(&t, key, v, why, whylen);
            if (rc < 0) return rc;
            p = end;
            if (*p == ',') {
                p++;
                if (!*p) {
                    snprintf(why, whylen, "schedule '%s': trailing comma", spec);
                    return DQ_ECONFIG;
                }
            }
        }
    } else if (*p) {
        snprintf(why, whylen, "schedule '%s': unknown name", spec);
        return DQ_ECONFIG;
    }
    schedule_reset(&t);
    *s = t;
    return DQ_OK;
}

void schedule_format(const lm_schedule_t *s, char *buf, size_t len)
{
    switch (s->kind) {
    case SCHED_CONSTANT: snprintf(buf, len, "constant"); break;
    case SCHED_COSINE:
        snprintf(buf, len, "cosine:warmup=%g,min=%g", s->warmup, s->min_ratio);
        break;
    case SCHED_STEP: snprintf(buf, len, "step:every=%g,gamma=%g", s->every, s->gamma); break;
    case SCHED_INVSQRT: snprintf(buf, len, "invsqrt:warmup=%g", s->warmup); break;
    case SCHED_PLATEAU:
        snprintf(buf, len, "plateau:factor=%g,patience=%d,threshold=%g", s->factor, s->patience,
                 s->threshold);
        break;
    }
}

double schedule_factor(const lm_schedule_t *s, long step, long total)
{
    if (total < 1) total = 1;
    if (step < 0) step = 0;
    switch (s->kind) {
    case SCHED_CONSTANT: return 1.0;
    case SCHED_COSINE: {
        long w = lround(s->warmup * (double)total);
        if (step < w) return (double)(step + 1) / (double)w;
        double span = (double)(total - w > 1 ? total - w - 1 : 1);
        double p = fmin(1.0, (double)(step - w) / span);
        return s->min_ratio + (1.0 - s->min_ratio) * 0.5 * (1.0 + cos(M_PI * p));
    }
    case SCHED_STEP: {
        long every = lround(s->every * (double)total);
        if (every < 1) every = 1;
        return pow(s->gamma, (double)(step / every));
    }
    case SCHED_INVSQRT: {
        double w = fmax(1.0, round(s->warmup * (double)total));
        double x = (double)(step + 1);
        return fmin(x / w, sqrt(w / x));
    }
    case SCHED_PLATEAU: return s->scale;
    }
    return 1.0;
}

void schedule_observe(lm_schedule_t *s, double val_loss)
{
    if (s->kind != SCHED_PLATEAU || !isfinite(val_loss)) return;
    if (val_loss < s->best * (1.0 - s->threshold)) {
        s->best = val_loss;
        s->bad = 0;
        return;
    }
    if (val_loss < s->best) s->best = val_loss;
    if (++s->bad > s->patience) {
        s->scale *= s->factor;
        s->bad = 0;
    }
}
