/* nstep.h - n-step transition assembly for one environment.
 *
 * Feed every env step; completed transitions are appended to a dq_batch_t.
 * For a window of m <= n steps starting at s_t:
 *   reward   = sum_{k<m} gamma^k r_{t+k}
 *   discount = 0           if the episode terminated inside the window,
 *              gamma^m     otherwise (m = n, or fewer at a truncation),
 *   next_obs = the observation after the window's last step.
 * At termination every pending window is closed with discount 0; at a
 * truncation every pending window is closed and bootstraps from the last
 * observation, so no experience is lost at episode ends.
 *
 *   nstep_t ns;
 *   nstep_init(&ns, n, gamma, obs_dim);
 *   nstep_push(&ns, obs, action, eps, version, reward, next_obs, terminated, truncated, &batch);
 *   nstep_truncate(&ns, obs, &batch);    // at exit, mid-episode: nothing is lost
 */
#ifndef DQ_NSTEP_H
#define DQ_NSTEP_H

#include <stdint.h>

#include "wire.h"

typedef struct {
    int n;
    float gamma;
    uint32_t obs_dim;
    int len;           /* pending steps */
    int head;          /* ring index of the oldest pending step */
    float *obs;        /* (n, obs_dim) ring of observations */
    int32_t *action;   /* (n) */
    float *reward;     /* (n) */
    float *epsilon;    /* (n) */
    uint32_t *version; /* (n) */
} nstep_t;

int nstep_init(nstep_t *ns, int n, float gamma, uint32_t obs_dim);
void nstep_free(nstep_t *ns);
/* Records one step and appends the transitions it completes to out, which
 * must have room for n more (out->count grows; arrays sized by the caller).
 * Returns the number appended. */
int nstep_push(nstep_t *ns, const float *obs, int action, float epsilon, uint32_t version,
               float reward, const float *next_obs, int terminated, int truncated, dq_batch_t *out);
/* Closes every pending window as a truncation, bootstrapping from next_obs
 * (the observation after the last pushed step), e.g. when the actor stops in
 * the middle of an episode. Appends at most n-1 transitions; returns how many. */
int nstep_truncate(nstep_t *ns, const float *next_obs, dq_batch_t *out);

#endif
