/* nstep.c - see nstep.h. */
#include "nstep.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

int nstep_init(nstep_t *ns, int n, float gamma, uint32_t obs_dim)
{
    memset(ns, 0, sizeof *ns);
    if (n < 1 || obs_dim == 0) return DQ_EINVAL;
    ns->n = n;
    ns->gamma = gamma;
    ns->obs_dim = obs_dim;
    ns->obs = malloc((size_t)n * obs_dim * sizeof(float));
    ns->action = malloc((size_t)n * sizeof(int32_t));
    ns->reward = malloc((size_t)n * sizeof(float));
    ns->epsilon = malloc((size_t)n * sizeof(float));
    ns->version = malloc((size_t)n * sizeof(uint32_t));
    if (!ns->obs || !ns->action || !ns->reward || !ns->epsilon || !ns->version) {
        nstep_free(ns);
        return DQ_ENOMEM;
    }
    return DQ_OK;
}

void nstep_free(nstep_t *ns)
{
    free(ns->obs);
    free(ns->action);
    free(ns->reward);
    free(ns->epsilon);
    free(ns->version);
    memset(ns, 0, sizeof *ns);
}

/* Closes the window of the oldest pending step, bootstrapping from next_obs
 * with gamma^len unless terminated. */
static void emit_oldest(nstep_t *ns, const float *next_obs, int terminated, dq_batch_t *out)
{
    uint32_t d = ns->obs_dim, i = out->count;
    float ret = 0.0f, g = 1.0f;
    for (int k = 0; k < ns->len; k++) {
        ret += g * ns->reward[(ns->head + k) % ns->n];
        g *= ns->gamma;
    }
    int h = ns->head;
    memcpy(out->obs + (size_t)i * d, ns->obs + (size_t)h * d, d * sizeof(float));
    memcpy(out->next_obs + (size_t)i * d, next_obs, d * sizeof(float));
    out->action[i] = ns->action[h];
    out->reward[i] = ret;
    out->discount[i] = terminated ? 0.0f : g;
    out->epsilon[i] = ns->epsilon[h];
    out->version[i] = ns->version[h];
    out->count++;
    ns->head = (ns->head + 1) % ns->n;
    ns->len--;
}

int nstep_push(nstep_t *ns, const float *obs, int action, float epsilon, uint32_t version,
               float reward, const float *next_obs, int terminated, int truncated, dq_batch_t *out)
{
    int slot = (ns->head + ns->len) % ns->n;
    memcpy(ns->obs + (size_t)slot * ns->obs_dim, obs, ns->obs_dim * sizeof(float));
    ns->action[slot] = action;
    ns->reward[slot] = reward;
    ns->epsilon[slot] = epsilon;
    ns->version[slot] = version;
    ns->len++;
    int emitted = 0;
    if (terminated || truncated) {
        while (ns->len > 0) {
            emit_oldest(ns, next_obs, terminated, out);
            emitted++;
        }
        ns->head = 0;
    } else if (ns->len == ns->n) {
        emit_oldest(ns, next_obs, 0, out);
        emitted++;
    }
    return emitted;
}

int nstep_truncate(nstep_t *ns, const float *next_obs, dq_batch_t *out)
{
    int emitted = 0;
    while (ns->len > 0) {
        emit_oldest(ns, next_obs, 0, out);
        emitted++;
    }
    ns->head = 0;
    return emitted;
}
