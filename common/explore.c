/* explore.c - see explore.h; the grammar is in docs/exploration.md. */
#include "explore.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define DEFAULT_MU 2.0
#define DEFAULT_MAX_HOLD 10000
#define TAU_MIN 1e-6

typedef struct {
    char key[32];
    double value;
} param_t;

/* Splits "k=v,k=v" (s may be empty) into params; values must be finite numbers. */
static int parse_params(const char *s, param_t *out, int max, int *n_out, char *why, size_t whylen)
{
    int n = 0;
    while (*s) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        const char *eq = memchr(s, '=', len);
        if (!eq || eq == s || (size_t)(eq - s) >= sizeof out[0].key) {
            snprintf(why, whylen, "'%.*s' is not key=value", (int)len, s);
            return DQ_ECONFIG;
        }
        if (n == max) {
            snprintf(why, whylen, "more than %d parameters", max);
            return DQ_ECONFIG;
        }
        char num[64];
        size_t vlen = len - (size_t)(eq + 1 - s);
        if (vlen == 0 || vlen >= sizeof num) {
            snprintf(why, whylen, "'%.*s': missing or overlong value", (int)len, s);
            return DQ_ECONFIG;
        }
        memcpy(num, eq + 1, vlen);
        num[vlen] = '\0';
        char *stop;
        errno = 0;
        double v = strtod(num, &stop);
        if (*stop || errno || !isfinite(v)) {
            snprintf(why, whylen, "'%.*s': '%s' is not a finite number", (int)len, s, num);
            return DQ_ECONFIG;
        }
        memcpy(out[n].key, s, (size_t)(eq - s));
        out[n].key[eq - s] = '\0';
        out[n].value = v;
        n++;
        s += len;
        if (*s == ',') {
            s++;
            if (!*s) {
                snprintf(why, whylen, "trailing ','");
                return DQ_ECONFIG;
            }
        }
    }
    *n_out = n;
    return DQ_OK;
}

/* Looks key up among params; marks it used. Returns 1 if found. */
static int take(param_t *p, int n, const char *key, double *value)
{
    for (int i = 0; i < n; i++)
        if (p[i].key[0] && strcmp(p[i].key, key) == 0) {
            *value = p[i].value;
            p[i].key[0] = '\0';
            return 1;
        }
    return 0;
}

static int leftover(const param_t *p, int n, const char *what, char *why, size_t whylen)
{
    for (int i = 0; i < n; i++)
        if (p[i].key[0]) {
            snprintf(why, whylen, "%s has no parameter '%s'", what, p[i].key);
            return DQ_ECONFIG;
        }
    return DQ_OK;
}

static int need(param_t *p, int n, const char *kind, const char *key, double *value, char *why,
                size_t whylen)
{
    if (take(p, n, key, value)) return DQ_OK;
    snprintf(why, whylen, "%s needs %s=", kind, key);
    return DQ_ECONFIG;
}

/* Value range of the schedule: [0, 1] for epsilon, (0, inf) for tau. */
static int check_value(double v, int is_tau, const char *what, char *why, size_t whylen)
{
    if (is_tau ? v > 0 : (v >= 0 && v <= 1)) return DQ_OK;
    snprintf(why, whylen, "%s = %g: %s", what, v,
             is_tau ? "tau must be > 0" : "epsilon must be in [0, 1]");
    return DQ_ECONFIG;
}

static int parse_span(dq_sched_t *s, int lin, param_t *p, int n, int is_tau, char *why,
                      size_t whylen)
{
    const char *kind = lin ? "linear" : "exp", *span = lin ? "steps" : "half_life";
    int rc;
    s->kind = lin ? DQ_SCHED_LINEAR : DQ_SCHED_EXP;
    if ((rc = need(p, n, kind, "start", &s->start, why, whylen)) < 0 ||
        (rc = need(p, n, kind, "end", &s->end, why, whylen)) < 0 ||
        (rc = need(p, n, kind, span, &s->span, why, whylen)) < 0 ||
        (rc = check_value(s->start, is_tau, "start", why, whylen)) < 0 ||
        (rc = check_value(s->end, is_tau, "end", why, whylen)) < 0)
        return rc;
    if (!(s->span > 0)) {
        snprintf(why, whylen, "%s: %s must be > 0", kind, span);
        return DQ_ECONFIG;
    }
    return leftover(p, n, kind, why, whylen);
}

static int parse_piecewise(dq_sched_t *s, const param_t *p, int n, int is_tau, char *why,
                           size_t whylen)
{
    s->kind = DQ_SCHED_PIECEWISE;
    if (n == 0) {
        snprintf(why, whylen, "piecewise needs at least one STEP=VALUE point");
        return DQ_ECONFIG;
    }
    for (int i = 0; i < n; i++) {
        char *end;
        errno = 0;
        double t = strtod(p[i].key, &end);
        if (*end || errno || !(t >= 0) || !isfinite(t) || (i > 0 && t <= s->pt_t[i - 1])) {
            snprintf(why, whylen, "piecewise: '%s' is not a step >= 0 above the previous one",
                     p[i].key);
            return DQ_ECONFIG;
        }
        int rc = check_value(p[i].value, is_tau, "piecewise value", why, whylen);
        if (rc < 0) return rc;
        s->pt_t[i] = t;
        s->pt_v[i] = p[i].value;
    }
    s->n_points = n;
    s->start = s->pt_v[0];
    s->end = s->pt_v[n - 1];
    return DQ_OK;
}

static int parse_ladder(dq_sched_t *s, param_t *p, int n, int is_tau, char *why, size_t whylen)
{
    s->kind = DQ_SCHED_LADDER;
    s->start = 0.4;
    s->span = 7;
    take(p, n, "eps", &s->start);
    take(p, n, "alpha", &s->span);
    int rc = leftover(p, n, "ladder", why, whylen);
    if (rc < 0) return rc;
    if (!(s->start > 0) || (!is_tau && s->start > 1) || !(s->span >= 0)) {
        snprintf(why, whylen, "ladder: eps must be in (0, 1]%s and alpha >= 0",
                 is_tau ? " (or > 0 as a temperature)" : "");
        return DQ_ECONFIG;
    }
    return DQ_OK;
}

static int parse_sched(dq_sched_t *s, const char *spec, int is_tau, char *why, size_t whylen)
{
    memset(s, 0, sizeof *s);
    char *stop;
    errno = 0;
    double v = strtod(spec, &stop);
    if (*spec && !*stop && !errno) {
        s->kind = DQ_SCHED_CONSTANT;
        s->start = s->end = v;
        return check_value(v, is_tau, "constant", why, whylen);
    }
    const char *colon = strchr(spec, ':');
    size_t klen = colon ? (size_t)(colon - spec) : strlen(spec);
    const char *rest = colon ? colon + 1 : "";
    param_t p[DQ_EXPLORE_MAX_POINTS];
    int n = 0, rc = parse_params(rest, p, DQ_EXPLORE_MAX_POINTS, &n, why, whylen);
    if (rc < 0) return rc;
#define KIND(name) (klen == strlen(name) && strncmp(spec, name, klen) == 0)
    if (KIND("constant")) {
        s->kind = DQ_SCHED_CONSTANT;
        if ((rc = need(p, n, "constant", "value", &s->start, why, whylen)) < 0) return rc;
        s->end = s->start;
        if ((rc = check_value(s->start, is_tau, "constant value", why, whylen)) < 0) return rc;
        return leftover(p, n, "constant", why, whylen);
    }
    if (KIND("linear") || KIND("exp"))
        return parse_span(s, KIND("linear"), p, n, is_tau, why, whylen);
    if (KIND("piecewise")) return parse_piecewise(s, p, n, is_tau, why, whylen);
    if (KIND("ladder")) return parse_ladder(s, p, n, is_tau, why, whylen);
#undef KIND
    snprintf(why, whylen,
             "'%.*s' is not a schedule (a number, constant, linear, exp, piecewise or ladder)",
             (int)klen, spec);
    return DQ_ECONFIG;
}

/* If s starts with the policy word followed by ':' or '(', returns the length of the word. */
static size_t policy_word(const char *s, const char *word)
{
    size_t n = strlen(word);
    return strncmp(s, word, n) == 0 && (s[n] == ':' || s[n] == '(') ? n : 0;
}

int dq_explore_parse(dq_explore_t *x, const char *spec, char *why, size_t whylen)
{
    char buf[DQ_EXPLORE_SPEC_MAX];
    size_t len = 0;
    memset(x, 0, sizeof *x);
    x->policy = DQ_POLICY_EPS_GREEDY;
    x->mu = DEFAULT_MU;
    x->max_hold = DEFAULT_MAX_HOLD;
    if (!spec) spec = "";
    for (const char *c = spec; *c; c++) {
        if (isspace((unsigned char)*c)) continue;
        if (len + 1 >= sizeof buf) {
            snprintf(why, whylen, "exploration schedule longer than %d characters",
                     DQ_EXPLORE_SPEC_MAX - 1);
            return DQ_ECONFIG;
        }
        buf[len++] = *c;
    }
    buf[len] = '\0';
    if (!len) {
        snprintf(why, whylen, "empty exploration schedule");
        return DQ_ECONFIG;
    }
    char *s = buf, sub[200];
    size_t w;
    int rc;
    if ((w = policy_word(s, "ez")) || (w = policy_word(s, "boltzmann"))) {
        x->policy = w == 2 ? DQ_POLICY_EZ_GREEDY : DQ_POLICY_BOLTZMANN;
        s += w;
        if (*s == '(') {
            char *close = strchr(s, ')');
            if (!close || (size_t)(close - s) >= sizeof sub) {
                snprintf(why, whylen, "'(' without ')' after the policy");
                return DQ_ECONFIG;
            }
            memcpy(sub, s + 1, (size_t)(close - s - 1));
            sub[close - s - 1] = '\0';
            param_t p[4];
            int n = 0;
            double mu = x->mu, mx = (double)x->max_hold;
            if ((rc = parse_params(sub, p, 4, &n, why, whylen)) < 0) return rc;
            if (x->policy == DQ_POLICY_EZ_GREEDY) {
                take(p, n, "mu", &mu);
                take(p, n, "max", &mx);
            }
            if ((rc = leftover(p, n, x->policy == DQ_POLICY_EZ_GREEDY ? "ez" : "boltzmann", why,
                               whylen)) < 0)
                return rc;
            if (!(mu > 1) || !(mx >= 1) || mx > 1e15 || mx != floor(mx)) {
                snprintf(why, whylen, "ez: mu must be > 1 and max a whole number >= 1");
                return DQ_ECONFIG;
            }
            x->mu = mu;
            x->max_hold = (uint64_t)mx;
            s = close + 1;
        }
        if (*s != ':') {
            snprintf(why, whylen, "expected ':' and a schedule after the policy");
            return DQ_ECONFIG;
        }
        s++;
    }
    rc = parse_sched(&x->sched, s, x->policy == DQ_POLICY_BOLTZMANN, why, whylen);
    if (rc < 0) {
        char inner[192];
        snprintf(inner, sizeof inner, "%s", why);
        snprintf(why, whylen, "exploration '%s': %s", spec, inner);
    }
    return rc;
}

void dq_explore_describe(const dq_explore_t *x, char *out, size_t outlen)
{
    char pol[64] = "";
    if (x->policy == DQ_POLICY_EZ_GREEDY)
        snprintf(pol, sizeof pol, "ez(mu=%g,max=%llu):", x->mu, (unsigned long long)x->max_hold);
    else if (x->policy == DQ_POLICY_BOLTZMANN)
        snprintf(pol, sizeof pol, "boltzmann:");
    const dq_sched_t *s = &x->sched;
    switch (s->kind) {
    case DQ_SCHED_CONSTANT: snprintf(out, outlen, "%sconstant:value=%g", pol, s->start); break;
    case DQ_SCHED_LINEAR:
        snprintf(out, outlen, "%slinear:start=%g,end=%g,steps=%g", pol, s->start, s->end, s->span);
        break;
    case DQ_SCHED_EXP:
        snprintf(out, outlen, "%sexp:start=%g,end=%g,half_life=%g", pol, s->start, s->end, s->span);
        break;
    case DQ_SCHED_LADDER:
        snprintf(out, outlen, "%sladder:eps=%g,alpha=%g", pol, s->start, s->span);
        break;
    case DQ_SCHED_PIECEWISE: {
        int k = snprintf(out, outlen, "%spiecewise:", pol);
        for (int i = 0; i < s->n_points && k > 0 && (size_t)k < outlen; i++)
            k += snprintf(out + k, outlen - (size_t)k, "%s%g=%g", i ? "," : "", s->pt_t[i],
                          s->pt_v[i]);
        break;
    }
    }
}

double dq_sched_value(const dq_sched_t *s, uint32_t actor, uint32_t n_actors, uint64_t t)
{
    double td = (double)t;
    switch (s->kind) {
    case DQ_SCHED_CONSTANT: return s->start;
    case DQ_SCHED_LINEAR: {
        double f = td >= s->span ? 1.0 : td / s->span;
        return s->start + (s->end - s->start) * f;
    }
    case DQ_SCHED_EXP: return s->end + (s->start - s->end) * exp2(-td / s->span);
    case DQ_SCHED_LADDER: {
        double f = n_actors > 1 ? (double)actor / (double)(n_actors - 1) : 0.0;
        return pow(s->start, 1.0 + s->span * f);
    }
    case DQ_SCHED_PIECEWISE: {
        if (td <= s->pt_t[0]) return s->pt_v[0];
        for (int i = 1; i < s->n_points; i++)
            if (td <= s->pt_t[i]) {
                double f = (td - s->pt_t[i - 1]) / (s->pt_t[i] - s->pt_t[i - 1]);
                return s->pt_v[i - 1] + (s->pt_v[i] - s->pt_v[i - 1]) * f;
            }
        return s->pt_v[s->n_points - 1];
    }
    }
    return s->start;
}

double dq_explore_param(const dq_explore_t *x, uint32_t actor, uint32_t n_actors, uint64_t t)
{
    double v = dq_sched_value(&x->sched, actor, n_actors, t);
    if (x->policy == DQ_POLICY_BOLTZMANN) return v < TAU_MIN ? TAU_MIN : v;
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

int dq_argmax(const float *q, int n)
{
    int a = 0;
    for (int k = 1; k < n; k++)
        if (q[k] > q[a]) a = k;
    return a;
}

uint64_t dq_zeta_sample(dq_rng_t *rng, double mu, uint64_t max_n)
{
    /* Devroye (1986), Non-Uniform Random Variate Generation, X.6.1. */
    const double am1 = mu - 1.0, b = exp2(am1);
    for (;;) {
        double u = 1.0 - dq_rng_uniform(rng); /* (0, 1] */
        double v = dq_rng_uniform(rng);
        double x = floor(pow(u, -1.0 / am1));
        if (!(x < 1e18)) continue; /* astronomically rare; draw again */
        double t = pow(1.0 + 1.0 / x, am1);
        if (v * x * (t - 1.0) / (b - 1.0) <= t / b) {
            uint64_t n = (uint64_t)x;
            return n > max_n ? max_n : n;
        }
    }
}

void dq_softmax(double *p, const float *q, int n, double tau)
{
    double m = q[dq_argmax(q, n)], z = 0;
    for (int k = 0; k < n; k++) z += p[k] = exp(((double)q[k] - m) / tau);
    for (int k = 0; k < n; k++) p[k] /= z;
}

/* Samples from softmax(q / tau) in two passes without a scratch array. */
static int boltzmann(const float *q, int n, double tau, dq_rng_t *rng)
{
    double m = q[dq_argmax(q, n)], z = 0;
    for (int k = 0; k < n; k++) z += exp(((double)q[k] - m) / tau);
    double u = dq_rng_uniform(rng) * z, c = 0;
    for (int k = 0; k < n; k++) {
        c += exp(((double)q[k] - m) / tau);
        if (u < c) return k;
    }
    return n - 1;
}

int dq_explore_act(const dq_explore_t *x, dq_explore_state_t *st, double p, const float *q,
                   int n_actions, dq_rng_t *rng, int *explored)
{
    int a, ex = 0;
    switch (x->policy) {
    case DQ_POLICY_BOLTZMANN:
        a = boltzmann(q, n_actions, p, rng);
        ex = a != dq_argmax(q, n_actions);
        break;
    case DQ_POLICY_EZ_GREEDY:
        if (st->left == 0 && dq_rng_uniform(rng) < p) {
            st->left = dq_zeta_sample(rng, x->mu, x->max_hold);
            st->action = (int32_t)dq_rng_below(rng, (uint64_t)n_actions);
        }
        if (st->left > 0 && st->action < n_actions) {
            st->left--;
            a = st->action;
            ex = 1;
        } else {
            st->left = 0;
            a = dq_argmax(q, n_actions);
        }
        break;
    default:
        if (dq_rng_uniform(rng) < p) {
            a = (int)dq_rng_below(rng, (uint64_t)n_actions);
            ex = 1;
        } else {
            a = dq_argmax(q, n_actions);
        }
    }
    if (explored) *explored = ex;
    return a;
}

double dq_explore_recorded(const dq_explore_t *x, double p, const float *q, int n_actions)
{
    if (x->policy != DQ_POLICY_BOLTZMANN) return p;
    int g = dq_argmax(q, n_actions);
    double m = q[g], z = 0;
    for (int k = 0; k < n_actions; k++) z += exp(((double)q[k] - m) / p);
    double r = 1.0 - 1.0 / z;
    return r < 0 ? 0 : r > 1 ? 1 : r;
}

void dq_explore_reset(dq_explore_state_t *st)
{
    st->left = 0;
    st->action = 0;
}
