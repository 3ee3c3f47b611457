/* learner_main.c - dqnlm-learner: the MPI learner group.
 *
 *   mpirun -np 2 dqnlm-learner --config job.ini
 *
 * Every rank holds an identical replica of the online and target Q-networks.
 * Per update, rank r takes its share of learner.batch from the replay server
 * (keeping learner.inflight SAMPLE requests outstanding so the round trip
 * overlaps compute), computes the double-DQN n-step Huber gradient of its
 * share with importance weights, and MPI_Allreduce sums the gradients (each
 * already divided by the whole batch size, so the sum is the batch mean).
 * Every rank applies the same clipped Adam step, so the replicas stay
 * identical. Each rank sends the new priorities (|TD| + eps) of its items.
 * Rank 0 publishes the online weights every learner.publish_every updates,
 * updates the target network (copy every learner.target_sync updates, or
 * Polyak averaging), writes metrics, checkpoints (RUN_DIR/learner.ckpt) and,
 * at the end, the Q-network (RUN_DIR/qnet.bin).
 *
 * learner.deterministic: rank 0 alone samples each whole batch, only when it
 * is needed, scatters the shares with MPI_Scatterv and sends the priorities;
 * with a fixed replay content the run then does not depend on timing or on
 * the number of ranks, and a resumed run continues exactly.
 *
 * A stop signal reaches ranks at different moments; the per-update allreduce
 * carries a stop flag so every rank leaves after the same update. Stop a
 * group with SIGUSR1 to mpirun (forwarded to the ranks) or SIGTERM to the
 * ranks: exit status 0. mpirun's own SIGTERM makes mpirun exit 1.
 *
 * learner.replay_timeout: without any reply from the replay server for that
 * long the group gives up (ERROR, qnet.bin saved if it trained, exit 1).
 * learner.linger (set by the launchers): after the budget, RUN_DIR/learner.done
 * and sampling without updates until stopped, so stopping actors can drain.
 *
 * Modules: lstate.c (the rank's state, setup, resume), sampler.c (batches),
 * update.c (gradients, allreduce, Adam, target), publish.c (weights,
 * priorities, final files), lmetrics.c (learner.csv). They return dq_err_t
 * codes; this file aborts the group on a failed collective.
 */
#include <inttypes.h>
#include <mpi.h>
#include <stdio.h>

#include "blasenv.h"
#include "cli.h"
#include "config.h"
#include "err.h"
#include "fileio.h"
#include "lmetrics.h"
#include "log.h"
#include "lstate.h"
#include "publish.h"
#include "sampler.h"
#include "update.h"

/* Exit-on-error wrapper for MPI calls; only used in this main file. */
#define MPI_CHECK(call)                                                            \
    do {                                                                           \
        int mpi_rc_ = (call);                                                      \
        if (mpi_rc_ != MPI_SUCCESS) {                                              \
            char mpi_msg_[MPI_MAX_ERROR_STRING];                                   \
            int mpi_len_ = 0;                                                      \
            MPI_Error_string(mpi_rc_, mpi_msg_, &mpi_len_);                        \
            DQ_ERROR("%s:%d: %s failed: %s", __FILE__, __LINE__, #call, mpi_msg_); \
            MPI_Abort(MPI_COMM_WORLD, 1);                                          \
        }                                                                          \
    } while (0)

/* A module failed inside the collective loop: the other ranks may wait in a
 * collective this rank will never enter, so the whole group goes. */
static void check(int rc, const char *what)
{
    if (rc >= 0) return;
    DQ_ERROR("%s: %s", what, dq_strerror(rc));
    MPI_Abort(MPI_COMM_WORLD, 1);
}

/* learner.linger, once the budget is spent (qnet.bin saved): rank 0 writes
 * RUN_DIR/learner.done, and every rank keeps sampling, discarding the batches,
 * until a stop request, so that the rate limiter keeps admitting the inserts
 * of actors that are being stopped (they drain, docs/deploy.md). Collective:
 * the ranks agree on the stop after every batch. DQ_ETIMEOUT when the replay
 * server was lost meanwhile. */
static int linger(learner_t *L)
{
    if (L->rank == 0) {
        char path[DQ_CONFIG_STR_MAX + 32], text[96];
        snprintf(path, sizeof path, "%s/learner.done", L->cfg->run_dir);
        int n = snprintf(text, sizeof text, "[learner]\nstate = done\nupdates = %" PRIu64 "\n",
                         L->prog.updates);
        if (dq_file_write_atomic(path, text, (size_t)n) < 0) DQ_WARN("cannot write %s", path);
        DQ_INFO("budget spent; sampling without updates until stopped (learner.linger)");
    }
    for (;;) {
        const dq_batch_t *b;
        check(sampler_fetch(L, &b), "sampling");
        int flag = b ? 0 : L->replay_lost ? 2 : 1, any = 0;
        check(LEARNER_MPI(MPI_Allreduce(&flag, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD)),
              "stop allreduce");
        if (any) return any == 2 ? DQ_ETIMEOUT : DQ_OK;
    }
}

static int learner_run(learner_t *L)
{
    const dq_config_t *cfg = L->cfg;
    const uint64_t max_updates = (uint64_t)cfg->learner_updates;
    lmetrics_t M;
    lmetrics_start(&M, L);
    int rc = sampler_wait_for_replay(L);
    if (rc == DQ_EINTERRUPTED) return DQ_OK;
    if (rc == DQ_ETIMEOUT) return rc; /* every rank, after rank 0's ERROR */
    check(rc, "waiting for the replay server");
    if (L->rank == 0)
        DQ_INFO("training: batch %ld over %d rank(s)%s, lr %g, %s target, per_beta %g",
                cfg->learner_batch, L->size, learner_deterministic(L) ? " (deterministic)" : "",
                cfg->learner_lr, cfg->learner_target_tau > 0 ? "Polyak" : "periodic",
                cfg->learner_per_beta);
    publish_weights(L);

    int lost = 0, stopped = 0;
    while (max_updates == 0 || L->prog.updates < max_updates) {
        double stats[UPD_N];
        const dq_batch_t *b;
        check(sampler_fetch(L, &b), "sampling");
        check(update_gradients(L, b, stats), "gradient allreduce");
        double t2 = dq_now();
        if (stats[UPD_STOP] > 0) {
            lost = stats[UPD_LOST] > 0;
            stopped = 1;
            break;
        }
        check(publish_priorities(L), "priorities");
        float gnorm = update_apply(L);
        if (L->prog.updates % (uint64_t)cfg->learner_publish_every == 0) publish_weights(L);
        if (cfg->learner_checkpoint_every > 0 &&
            L->prog.updates % (uint64_t)cfg->learner_checkpoint_every == 0)
            learner_save_checkpoint(L);
        L->t_compute += dq_now() - t2;
        lmetrics_add(&M, L, stats, gnorm);
    }
    rc = publish_final(L, M.t_start);
    if (!stopped && cfg->learner_linger) {
        int lrc = linger(L);
        lost = lrc == DQ_ETIMEOUT;
    }
    if (!lost) return rc;
    if (L->rank == 0)
        DQ_ERROR("the learner group lost the replay server at %s (learner.replay_timeout = %g s); "
                 "saved what it learned, exiting 1",
                 cfg->replay_endpoint, cfg->learner_replay_timeout);
    return DQ_ETIMEOUT;
}

/* Configuration, nets, run folder, sockets and metrics file of this rank. */
static int learner_setup(learner_t *L, char *why, size_t whylen)
{
    int rc = learner_configure(L, why, whylen);
    if (rc == DQ_OK) rc = learner_build(L, why, whylen);
    if (rc == DQ_OK && dq_mkdir_p(L->cfg->run_dir) < 0) {
        snprintf(why, whylen, "cannot create run.dir=%.200s", L->cfg->run_dir);
        rc = DQ_EIO;
    }
    if (rc == DQ_OK) rc = learner_open_sockets(L, why, whylen);
    if (rc == DQ_OK) lmetrics_open(L);
    return rc;
}

int main(int argc, char **argv)
{
    dq_blas_select_kernel(argc, argv); /* may re-exec once, so before MPI_Init */
    MPI_Init(&argc, &argv);
    /* The modules report MPI failures as codes; check() and MPI_CHECK abort. */
    MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    static learner_t L;
    MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &L.rank));
    MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &L.size));
    static const dq_cli_alias_t aliases[] = {
        {"--updates", "learner.updates", "updates before exiting"},
        {NULL, NULL, NULL},
    };
    dq_cli_spec_t spec = {"dqnlm-learner",
                          "Learner group (run under mpirun): samples from the replay server, "
                          "trains the Q-network with double DQN, publishes weights.",
                          aliases};
    dq_config_t cfg;
    int rc = dq_program_start(&spec, argc, argv, &cfg);
    if (rc != 0) {
        MPI_Finalize();
        return rc > 0 ? 0 : 2;
    }
    char tag[32];
    snprintf(tag, sizeof tag, "learner.%d", L.rank);
    dq_log_init(tag, (dq_log_level_t)dq_log_level_parse(cfg.run_log_level));

    L.cfg = &cfg;
    char why[512] = "";
    rc = learner_setup(&L, why, sizeof why);
    /* Every rank must agree before the collective loop starts. */
    int ok = rc == DQ_OK, all_ok = 0;
    MPI_CHECK(MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
    if (all_ok && cfg.learner_resume) all_ok = learner_resume(&L) == DQ_OK;
    if (!all_ok) {
        if (rc < 0) DQ_ERROR("%s", why[0] ? why : dq_strerror(rc));
        learner_close(&L);
        MPI_Finalize();
        return 1;
    }
    rc = learner_run(&L);
    learner_close(&L);
    MPI_Finalize();
    return rc < 0 ? 1 : 0;
}
