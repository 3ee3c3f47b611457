/* dqn.c - see dqn.h. */
#include "dqn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "explore.h"

int dqn_work_init(dqn_work_t *w, const dq_qnet_t *net, int max_batch)
{
    memset(w, 0, sizeof *w);
    int A = dq_qnet_n_actions(net); /* Q-values per row (a dueling head has one more output) */
    w->max_batch = max_batch;
    /* The online net runs on s and s' together: 2B rows. */
    int rc = dq_qnet_ws_init(&w->ws_online, net, 2 * max_batch);
    if (rc == DQ_OK) rc = dq_qnet_ws_init(&w->ws_target, net, max_batch);
    w->obs2 = malloc((size_t)2 * max_batch * (size_t)net->sizes[0] * sizeof(float));
    w->q = malloc((size_t)2 * max_batch * A * sizeof(float));
    w->q_target = malloc((size_t)max_batch * A * sizeof(float));
    w->dq = malloc((size_t)max_batch * A * sizeof(float));
    if (rc < 0 || !w->obs2 || !w->q || !w->q_target || !w->dq) {
        dqn_work_free(w);
        return rc < 0 ? rc : DQ_ENOMEM;
    }
    return DQ_OK;
}

void dqn_work_free(dqn_work_t *w)
{
    dq_qnet_ws_free(&w->ws_online);
    dq_qnet_ws_free(&w->ws_target);
    free(w->obs2);
    free(w->q);
    free(w->q_target);
    free(w->dq);
    memset(w, 0, sizeof *w);
}

void dqn_loss_grad(dq_qnet_t *online, const dq_qnet_t *target, dqn_work_t *w, const dq_batch_t *b,
                   const float *weights, float huber_delta, float norm, float *td_out,
                   dqn_stats_t *stats)
{
    const int B = (int)b->count, A = dq_qnet_n_actions(online);
    memset(stats, 0, sizeof *stats);
    if (B == 0) return;
    /* The online net on s and s' in one forward of 2B rows (rows [0, B) are
     * s, whose activations the backward reads as the first B rows of the
     * workspace), the target net on s'. */
    const size_t D = (size_t)online->sizes[0];
    memcpy(w->obs2, b->obs, (size_t)B * D * sizeof(float));
    memcpy(w->obs2 + (size_t)B * D, b->next_obs, (size_t)B * D * sizeof(float));
    dq_qnet_forward(online, &w->ws_online, w->obs2, 2 * B, w->q);
    dq_qnet_forward(target, &w->ws_target, b->next_obs, B, w->q_target);
    const float *q_next = w->q + (size_t)B * A;
    memset(w->dq, 0, (size_t)B * A * sizeof(float));
    for (int i = 0; i < B; i++) {
        const float *qn = q_next + (size_t)i * A;
        int best = dq_argmax(qn, A);
        int a = b->action[i];
        if (a < 0 || a >= A) { /* from a misconfigured actor: never index with it */
            stats->invalid += 1;
            if (td_out) td_out[i] = 0;
            continue;
        }
        float y = b->reward[i] + b->discount[i] * w->q_target[(size_t)i * A + best];
        float q = w->q[(size_t)i * A + a];
        float td = q - y;
        float wi = weights ? weights[i] : 1.0f;
        float abs_td = fabsf(td);
        float huber =
            abs_td <= huber_delta ? 0.5f * td * td : huber_delta * (abs_td - 0.5f * huber_delta);
        float dhuber = abs_td <= huber_delta ? td : (td > 0 ? huber_delta : -huber_delta);
        w->dq[(size_t)i * A + a] = wi * dhuber / norm;
        stats->loss_sum += (double)(wi * huber);
        stats->q_sum += (double)q;
        stats->abs_td_sum += (double)abs_td;
        if (td_out) td_out[i] = td;
    }
    dq_qnet_backward(online, &w->ws_online, w->dq, B);
}
