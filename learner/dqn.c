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
    int rc = dq_qnet_ws_init(&w->ws_online, net, max_batch);
    if (rc == DQ_OK) rc = dq_qnet_ws_init(&w->ws_next, net, max_batch);
    if (rc == DQ_OK) rc = dq_qnet_ws_init(&w->ws_target, net, max_batch);
    w->q = malloc((size_t)max_batch * A * sizeof(float));
    w->q_next = malloc((size_t)max_batch * A * sizeof(float));
    w->q_target = malloc((size_t)max_batch * A * sizeof(float));
    w->dq = malloc((size_t)max_batch * A * sizeof(float));
    if (rc < 0 || !w->q || !w->q_next || !w->q_target || !w->dq) {
        dqn_work_free(w);
        return rc < 0 ? rc : DQ_ENOMEM;
    }
    return DQ_OK;
}

void dqn_work_free(dqn_work_t *w)
{
    dq_qnet_ws_free(&w->ws_online);
    dq_qnet_ws_free(&w->ws_next);
    dq_qnet_ws_free(&w->ws_target);
    free(w->q);
    free(w->q_next);
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
    /* Forward on s' first (online and target), then on s, whose activations
     * backward needs. */
    dq_qnet_forward(online, &w->ws_next, b->next_obs, B, w->q_next);
    dq_qnet_forward(target, &w->ws_target, b->next_obs, B, w->q_target);
    dq_qnet_forward(online, &w->ws_online, b->obs, B, w->q);
    memset(w->dq, 0, (size_t)B * A * sizeof(float));
    for (int i = 0; i < B; i++) {
        const float *qn = w->q_next + (size_t)i * A;
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
