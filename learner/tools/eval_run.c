/* eval_run.c - see eval_run.h. */
#include "eval_run.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "explore.h"
#include "lmenv.h"
#include "log.h"

#define LN2 0.6931471805599453
#define MAX_WORKERS 256

static void record(const dq_env_t *env, eval_decision_t *d, float reward)
{
    lmenv_info_t info;
    lmenv_get_info(env, &info);
    d->opt_step = info.opt_steps;
    d->lr = (float)(info.t == 0 ? info.lr_init : info.lr);
    d->train_loss = (float)info.train_loss;
    d->val_loss = (float)info.val_loss;
    d->reward = reward;
    d->q = NAN;
    d->action = -1;
}

/* The decision loop of one opened environment. */
static int roll_out(const eval_job_t *job, dq_env_t *env, dq_qnet_ws_t *ws, eval_episode_t *ep,
                    eval_decision_t *steps)
{
    float obs[LMENV_OBS_DIM], q[64];
    int rc = env->ops->reset(env->self, obs);
    if (rc < 0) return rc;
    lmenv_info_t info;
    lmenv_get_info(env, &info);
    ep->lr_init = info.lr_init;
    record(env, &steps[0], 0.0f);
    for (int t = 0; !dq_cli_stop_requested(); t++) {
        int action = job->keep_action;
        float qa = NAN;
        if (!job->sched) {
            dq_qnet_forward(job->net, ws, obs, 1, q);
            action = dq_argmax(q, env->n_actions);
            qa = q[action];
        }
        if (t < EVAL_MAX_DECISIONS) {
            steps[t].action = action;
            steps[t].q = qa;
        }
        dq_step_t st;
        rc = env->ops->step(env->self, action, obs, &st);
        if (rc < 0) return rc;
        if (t + 1 < EVAL_MAX_DECISIONS) {
            record(env, &steps[t + 1], st.reward);
            ep->n_decisions = t + 2;
        }
        if (st.terminated || st.truncated) {
            lmenv_get_info(env, &info);
            ep->diverged = info.diverged;
            ep->final_bpb = st.final_metric / LN2;
            return DQ_OK;
        }
    }
    return DQ_EINTERRUPTED;
}

int eval_run_episode(const eval_job_t *job, eval_episode_t *ep, eval_decision_t *steps)
{
    *ep = (eval_episode_t){.final_bpb = NAN, .lr_init = NAN};
    dq_config_t cfg = *job->cfg;
    if (job->lr > 0) cfg.lm_lr = job->lr; /* else the instance's own: lm.lr, or its draw */
    dq_env_t env = {0};
    dq_qnet_ws_t ws = {0};
    char why[512];
    int rc = lmenv_init(&env, &cfg, job->set, job->inst_seed, why, sizeof why);
    if (rc < 0) {
        DQ_ERROR("%s", why);
        return rc;
    }
    lmenv_set_instance_seed(&env, job->inst_seed);
    if (job->sched)
        rc = lmenv_set_schedule(&env, job->sched);
    else
        rc = dq_qnet_ws_init(&ws, job->net, 1);
    if (rc == DQ_OK) rc = roll_out(job, &env, &ws, ep, steps);
    if (rc < 0 && rc != DQ_EINTERRUPTED)
        DQ_ERROR("instance %llu: %s", (unsigned long long)job->inst_seed, dq_strerror(rc));
    dq_qnet_ws_free(&ws);
    dq_env_close(&env);
    return rc;
}

/* Waits for the workers, printing progress: a terminal gets one updating
 * line, a log file a line per tenth. */
static void wait_workers(pid_t *pids, int started, const eval_episode_t *eps, int n,
                         const char *what)
{
    int alive = started, last_done = -1;
    while (alive > 0) {
        for (int w = 0; w < started; w++)
            if (pids[w] > 0 && waitpid(pids[w], NULL, WNOHANG) == pids[w]) {
                pids[w] = 0;
                alive--;
            }
        int done = 0;
        for (int j = 0; j < n; j++) done += !isnan(eps[j].final_bpb);
        if (done != last_done && (isatty(2) || done == n || done * 10 / n != last_done * 10 / n)) {
            fprintf(stderr, isatty(2) ? "\r%s: %d/%d episodes" : "%s: %d/%d episodes\n", what, done,
                    n);
            last_done = done;
        }
        if (alive > 0) usleep(200000);
    }
    if (isatty(2)) fprintf(stderr, "\n");
}

int eval_run_jobs(const eval_job_t *jobs, int n, int workers, const char *what, eval_episode_t *eps,
                  eval_decision_t *steps)
{
    if (n <= 0) return DQ_OK;
    if (workers > n) workers = n;
    if (workers > MAX_WORKERS) workers = MAX_WORKERS;
    size_t ep_bytes = (size_t)n * sizeof *eps;
    size_t st_bytes = (size_t)n * EVAL_MAX_DECISIONS * sizeof *steps;
    eval_episode_t *sh_eps =
        mmap(NULL, ep_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    eval_decision_t *sh_steps =
        mmap(NULL, st_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh_eps == MAP_FAILED || sh_steps == MAP_FAILED) {
        if (sh_eps != MAP_FAILED) munmap(sh_eps, ep_bytes);
        if (sh_steps != MAP_FAILED) munmap(sh_steps, st_bytes);
        return DQ_ENOMEM;
    }
    for (int j = 0; j < n; j++) sh_eps[j] = (eval_episode_t){.final_bpb = NAN, .lr_init = NAN};
    pid_t pids[MAX_WORKERS];
    int started = 0;
    for (int w = 0; w < workers; w++) {
        pid_t pid = fork();
        if (pid < 0) break;
        if (pid == 0) {
            for (int j = w; j < n && !dq_cli_stop_requested(); j += workers) {
                eval_episode_t ep;
                eval_run_episode(&jobs[j], &ep, sh_steps + (size_t)j * EVAL_MAX_DECISIONS);
                sh_eps[j] = ep; /* last, so a finished final_bpb means a whole record */
            }
            _exit(0);
        }
        pids[started++] = pid;
    }
    wait_workers(pids, started, sh_eps, n, what);
    memcpy(eps, sh_eps, ep_bytes);
    if (steps) memcpy(steps, sh_steps, st_bytes);
    munmap(sh_eps, ep_bytes);
    munmap(sh_steps, st_bytes);
    if (started == 0) return DQ_ENOMEM;
    if (dq_cli_stop_requested()) return DQ_EINTERRUPTED;
    int failed = 0;
    for (int j = 0; j < n; j++) failed += isnan(eps[j].final_bpb);
    if (failed) {
        DQ_ERROR("%s: %d of %d episodes failed (reasons above)", what, failed, n);
        return DQ_EIO;
    }
    return DQ_OK;
}
