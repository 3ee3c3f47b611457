/* publish.c - see publish.h. */
#include "publish.h"

#include <inttypes.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <zmq.h>

#include "cli.h"
#include "ctldesc.h"
#include "err.h"
#include "log.h"
#include "net.h"
#include "rng.h"

void publish_weights(learner_t *L)
{
    if (L->rank != 0) return;
    if (L->run_id == 0) {
        L->run_id = dq_fresh_id();
        DQ_INFO("publishing weights as learner run %016" PRIx64 " from version %" PRIu64, L->run_id,
                L->prog.version + 1);
    }
    dq_msg_t m = {.type = DQ_MSG_WEIGHTS};
    L->prog.version++;
    dq_qnet_to_weights(&L->online, L->prog.version, L->prog.updates, &m.u.weights);
    m.u.weights.run = L->run_id;
    int rc = dq_net_send(L->pub, &m, &L->buf, ZMQ_DONTWAIT);
    if (rc < 0 && rc != DQ_ETIMEOUT) DQ_WARN("cannot publish weights: %s", dq_strerror(rc));
}

/* UPDATE_PRIORITIES for n items; a failed send is logged, not fatal (the
 * items keep their old priorities). */
static int send_priorities(learner_t *L, const uint64_t *keys, const float *td, uint32_t n)
{
    dq_msg_t m = {.type = DQ_MSG_UPDATE_PRIORITIES};
    dq_update_priorities_t *u = &m.u.update_priorities;
    snprintf(u->table, sizeof u->table, "main");
    float *prio = malloc((size_t)n * sizeof *prio);
    if (!prio) return DQ_ENOMEM;
    for (uint32_t i = 0; i < n; i++) prio[i] = fabsf(td[i]) + (float)L->cfg->learner_priority_eps;
    u->count = n;
    u->keys = (uint64_t *)keys;
    u->priority = prio;
    int rc = dq_net_send(L->replay, &m, &L->buf, 0);
    if (rc < 0) DQ_WARN("rank %d: cannot send priorities: %s", L->rank, dq_strerror(rc));
    free(prio);
    return DQ_OK;
}

/* Deterministic mode: gathers every rank's TD errors on rank 0, in batch
 * order, into all (batch; rank 0 only). */
static int gather_td(learner_t *L, float *all)
{
    const int rec = learner_record_floats(L);
    int *counts = malloc((size_t)L->size * sizeof(int)),
        *displs = malloc((size_t)L->size * sizeof(int));
    int rc = counts && displs ? DQ_OK : DQ_ENOMEM;
    for (int r = 0; rc == DQ_OK && r < L->size; r++) {
        counts[r] = L->shares[r] / rec;
        displs[r] = L->displs[r] / rec;
    }
    if (rc == DQ_OK)
        rc = LEARNER_MPI(MPI_Gatherv(L->td, L->share, MPI_FLOAT, all, counts, displs, MPI_FLOAT, 0,
                                     MPI_COMM_WORLD));
    free(counts);
    free(displs);
    return rc;
}

int publish_priorities(learner_t *L)
{
    if (!learner_deterministic(L))
        return send_priorities(L, L->items.u.items.keys, L->td, L->items.u.items.batch.count);
    const int B = (int)L->cfg->learner_batch;
    float *all = L->rank == 0 ? malloc((size_t)B * sizeof(float)) : NULL;
    if (L->rank == 0 && !all) return DQ_ENOMEM;
    int rc = gather_td(L, all);
    if (rc == DQ_OK && L->rank == 0)
        rc = send_priorities(L, L->items.u.items.keys, all, (uint32_t)B);
    free(all);
    return rc;
}

int publish_final(learner_t *L, double t_start)
{
    publish_weights(L);
    if (L->rank != 0) return DQ_OK;
    learner_save_checkpoint(L);
    char path[DQ_CONFIG_STR_MAX + 32];
    snprintf(path, sizeof path, "%s/qnet.bin", L->cfg->run_dir);
    char why[512];
    int rc = dq_ctl_save(&L->online, L->cfg, path, why, sizeof why);
    if (rc < 0)
        DQ_ERROR("cannot save the Q-network: %s", why);
    else
        DQ_INFO("saved the Q-network after %" PRIu64 " updates to %s", L->prog.updates, path);
    DQ_INFO("done: %" PRIu64
            " updates in %.1f s; waiting for samples %.1f s, compute %.1f s, allreduce %.1f s",
            L->prog.updates, dq_now() - t_start, L->t_wait, L->t_compute, L->t_allreduce);
    return rc;
}
