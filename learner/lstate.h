/* lstate.h - the state one learner rank holds, and its setup and teardown.
 *
 * Every rank holds an identical replica of the online and target Q-networks
 * (same seed, then the same updates; learner_resume broadcasts rank 0's
 * checkpoint). The modules sampler.c, update.c, publish.c and lmetrics.c work
 * on this struct; they call MPI collectives that every rank must enter in the
 * same order, return dq_err_t codes and never exit: dqnlm-learner's main
 * aborts the group when one fails (another rank would wait forever).
 */
#ifndef DQ_LEARNER_LSTATE_H
#define DQ_LEARNER_LSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "config.h"
#include "dqn.h"
#include "metrics.h"
#include "qnet.h"
#include "wire.h"

#define LEARNER_MAX_INFLIGHT 64

typedef struct {
    const dq_config_t *cfg;
    int rank, size;
    int share;            /* transitions this rank trains on per update */
    int *shares, *displs; /* deterministic mode: per-rank counts and offsets (floats) */
    dq_qnet_t online, target;
    dqn_work_t work;
    dq_adam_t adam;
    learner_progress_t prog;
    void *zctx, *replay, *pub;
    dq_buf_t buf;
    uint64_t next_id;                          /* id of the next request */
    uint64_t sample_ids[LEARNER_MAX_INFLIGHT]; /* outstanding SAMPLE ids */
    int inflight;
    dq_msg_t items;  /* the current batch as received (rank 0 in deterministic mode) */
    dq_batch_t mine; /* deterministic mode: this rank's share after the scatter */
    float *weights;  /* (batch) importance weights of this rank's items */
    float *td;       /* (batch) TD errors of this rank's items */
    float *pack;     /* deterministic mode: scatter buffers, (batch, rec) and (share, rec) */
    float *unpack;
    double replay_size, replay_inserts; /* from the last STATS reply (rank 0) */
    double t_last_reply;                /* dq_now() of the last reply from the replay server */
    int replay_lost; /* no reply for learner.replay_timeout: this rank gives up */
    uint64_t run_id; /* rank 0: WEIGHTS.run, random, new at every start of the group */
    double t_wait, t_compute, t_allreduce;
    dq_metrics_t *metrics;
    char ckpt_path[DQ_CONFIG_STR_MAX + 32];
} learner_t;

static inline int learner_deterministic(const learner_t *L)
{
    return L->cfg->learner_deterministic;
}

/* Floats per transition record in the deterministic scatter: the transition
 * columns (dq_batch_pack), then the importance weight. */
static inline int learner_record_floats(const learner_t *L)
{
    return (int)dq_transition_floats((uint32_t)L->online.sizes[0]) + 1;
}

/* An MPI return code as a dq_err_t: DQ_OK, or DQ_ENET after logging which
 * call failed (needs MPI_ERRORS_RETURN on the communicator to ever fail). */
int learner_mpi_rc(int mpi_rc, const char *what);
#define LEARNER_MPI(call) learner_mpi_rc((call), #call)

/* Fills the configuration-derived fields (share, Adam, checkpoint path) of a
 * learner whose rank, size and cfg are set; DQ_ECONFIG with a reason. */
int learner_configure(learner_t *L, char *why, size_t whylen);
/* Builds the nets (same seed on every rank) and the batch buffers. */
int learner_build(learner_t *L, char *why, size_t whylen);
/* Connects to the replay server (every rank, or rank 0 alone in
 * deterministic mode) and binds the weights PUB socket (rank 0). */
int learner_open_sockets(learner_t *L, char *why, size_t whylen);
void learner_close(learner_t *L);
/* learner.resume (collective): rank 0 reads the checkpoint, if there is one,
 * and broadcasts it. DQ_EFORMAT on every rank when rank 0 refused it. */
int learner_resume(learner_t *L);
/* Rank 0 writes RUN_DIR/learner.ckpt; logs the outcome. */
void learner_save_checkpoint(const learner_t *L);

#endif
