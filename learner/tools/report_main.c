/* report_main.c - dqnlm-report: the statistics, tables and figures of an
 * ablation (docs/deploy.md, "Ablations"), or the training figures of one run
 * (report_run.h, docs/evaluation.md).
 *
 *   dqnlm-report --dir runs/ablation-NAME            # writes DIR/report/
 *   dqnlm-report --dir runs/RUN                      # one run: RUN/report/summary.md
 *   dqnlm-report --config RUN/config.ini --set ablation.snapshot=CKPT \
 *                --set ablation.snapshot_qnet=OUT    # prints the updates
 *   dqnlm-report --set actor.exploration=SPEC        # checks a schedule string
 *
 * Reads what deploy/ablate.sh wrote: DIR/manifest.tsv (index, variant,
 * settings, seed, run folder; older: schedule, exploration) and every run folder: DONE (finished),
 * FAILED, config.ini, actor-*-episodes.csv, learner.csv, eval/episodes.csv and
 * snapshots/UPDATES/episodes.csv (LM env). A run without DONE is listed as
 * missing, failed or unfinished and left out of the statistics, never dropped
 * silently. Per schedule it writes
 *   - learning curves against env steps: training-episode return, and with
 *     the LM env the final validation bits per byte of the training episodes
 *     and of the greedy policy on held-out instances; each run's curve is
 *     smoothed (trailing window) and interpolated onto a common grid, and the
 *     band is a 95% bootstrap interval of the IQM across seeds;
 *   - final performance: IQM and 95% stratified-bootstrap interval (rlstats.h);
 *   - probability of improvement between every ordered pair;
 *   - sample efficiency: env steps until the return curve reaches a fraction
 *     of the best final return;
 *   - performance profiles: the fraction of scores better than tau, over tau;
 * as CSV and Markdown tables, gnuplot figures (PNG and SVG) and report.md.
 *
 * This file is the command line and the order of the steps; reading runs is
 * report_data.c, the statistics report_stats.c, the figures report_plot.c and
 * the tables and report.md report_tables.c.
 */
#include <stdio.h>
#include <string.h>

#include "checkpoint.h"
#include "cli.h"
#include "config.h"
#include "ctldesc.h"
#include "dims.h"
#include "err.h"
#include "explore.h"
#include "log.h"
#include "qnet.h"
#include "report_data.h"
#include "report_plot.h"
#include "report_run.h"
#include "report_stats.h"
#include "report_tables.h"

/* Converts a learner checkpoint into a Q-network file; prints its updates. */
static int snapshot_to_qnet(const dq_config_t *cfg)
{
    char why[512];
    int obs_dim, n_actions;
    if (dq_env_dims(cfg, &obs_dim, &n_actions, why, sizeof why) < 0) {
        DQ_ERROR("%s", why);
        return 2;
    }
    dq_qnet_t online = {0}, target = {0};
    dq_rng_t rng;
    dq_rng_seed(&rng, 1);
    learner_progress_t prog;
    int rc = dq_qnet_build(&online, cfg->dqn_hidden, cfg->dqn_dueling, obs_dim, n_actions, &rng,
                           why, sizeof why);
    if (rc == DQ_OK)
        rc = dq_qnet_build(&target, cfg->dqn_hidden, cfg->dqn_dueling, obs_dim, n_actions, &rng,
                           why, sizeof why);
    if (rc == DQ_OK)
        rc = learner_ckpt_load(cfg->ablation_snapshot, &online, &target, &prog, why, sizeof why);
    if (rc == DQ_OK && !cfg->ablation_snapshot_qnet[0]) {
        snprintf(why, sizeof why, "ablation.snapshot_qnet is empty");
        rc = DQ_ECONFIG;
    }
    if (rc == DQ_OK) rc = dq_ctl_save(&online, cfg, cfg->ablation_snapshot_qnet, why, sizeof why);
    dq_qnet_free(&online);
    dq_qnet_free(&target);
    if (rc < 0) {
        DQ_ERROR("%s: %s", cfg->ablation_snapshot, why);
        return 1;
    }
    printf("%llu\n", (unsigned long long)prog.updates);
    return 0;
}

static int report(report_t *R)
{
    int rc = report_read_runs(R);
    if (rc < 0) return rc;
    report_stats_schedules(R);
    report_stats_scores(R);
    if (dq_mkdir_p(R->out) < 0) {
        DQ_ERROR("cannot create %s", R->out);
        return DQ_EIO;
    }
    char path[DQ_CONFIG_STR_MAX + 64];
    snprintf(path, sizeof path, "%s/gnuplot.log", R->out);
    remove(path);
    report_plot_detect(R);
    if (!R->png_term[0]) DQ_WARN("no gnuplot with a PNG terminal: tables and data only");
    snprintf(path, sizeof path, "%s/report.md", R->out);
    R->md = fopen(path, "w");
    if (!R->md) {
        DQ_ERROR("cannot write %s", path);
        return DQ_EIO;
    }
    int any_done = 0;
    for (int s = 0; s < R->n_sch; s++) any_done |= R->sch[s].n_done > 0;
    int figs[5] = {0};
    if (any_done) {
        report_stats_curve(R, 0, "curve_return");
        figs[0] =
            report_plot_bands(R, "curve_return",
                              "Training-episode return (IQM across seeds, 95% bootstrap band)",
                              "env steps", "episode return", "bottom right", 0) == 0;
        if (R->lm) {
            report_stats_curve(R, 1, "curve_train_bpb");
            figs[1] = report_plot_bands(
                          R, "curve_train_bpb",
                          "Training episodes: final validation bits per byte (IQM, 95% band)",
                          "env steps", "bits per byte (lower is better)", "top right", 0) == 0;
            report_stats_heldout_curve(R);
            figs[2] =
                report_plot_bands(R, "curve_heldout_bpb",
                                  "Greedy policy on held-out instances (IQM across seeds, 95% CI)",
                                  "env steps", "final validation bits per byte (lower is better)",
                                  "top right", 1) == 0;
        }
        report_stats_profiles(R);
        figs[3] = report_plot_bands(R, "profile",
                                    R->lm ? "Performance profile: held-out bits per byte"
                                          : "Performance profile: final return",
                                    R->lm ? "tau (bits per byte)" : "tau (final return)",
                                    R->lm ? "fraction of (seed, instance) scores below tau"
                                          : "fraction of runs above tau",
                                    R->lm ? "bottom right" : "top right", 0) == 0;
    }
    figs[4] = any_done ? 0 : -1;
    report_tables_runs_csv(R);
    report_tables_write(R, figs);
    fclose(R->md);
    R->md = NULL;
    int n_done = 0;
    for (int i = 0; i < R->n_runs; i++) n_done += R->runs[i].status == RUN_DONE;
    DQ_INFO("%d of %d runs finished; report in %s/report.md", n_done, R->n_runs, R->out);
    return DQ_OK;
}

int main(int argc, char **argv)
{
    static const dq_cli_alias_t aliases[] = {
        {"--dir", "ablation.dir", "ablation folder (deploy/ablate.sh) or one run folder"},
        {"--out", "ablation.out", "report folder"},
        {NULL, NULL, NULL},
    };
    dq_cli_spec_t spec = {
        "dqnlm-report",
        "Reports of runs. On an ablation folder (manifest.tsv): learning curves with bootstrap "
        "bands, IQM tables, probability of improvement, sample efficiency and performance "
        "profiles. On one run folder (config.ini, learner.csv; also while it runs): figures of "
        "the learner loss, mean Q, episode return, training bits per byte, policy lag, replay "
        "size and samples per insert, and summary.md.",
        aliases};
    dq_config_t cfg;
    int rc = dq_cli_parse(&spec, argc, argv, &cfg);
    if (rc != 0) return rc > 0 ? 0 : 2;
    if (cfg.ablation_snapshot[0]) return snapshot_to_qnet(&cfg);
    if (!cfg.ablation_dir[0]) {
        /* No folder: check actor.exploration (the runner checks every
         * schedule of a spec this way before anything runs). */
        dq_explore_t x;
        char why[512], desc[512];
        if (dq_explore_parse(&x, cfg.actor_exploration, why, sizeof why) < 0) {
            DQ_ERROR("%s", why);
            return 2;
        }
        dq_explore_describe(&x, desc, sizeof desc);
        printf("exploration '%s' = %s; give an ablation folder with --dir DIR for a report\n",
               cfg.actor_exploration, desc);
        return 0;
    }
    static report_t R;
    R.cfg = &cfg;
    snprintf(R.dir, sizeof R.dir, "%s", cfg.ablation_dir);
    if (cfg.ablation_out[0])
        snprintf(R.out, sizeof R.out, "%s", cfg.ablation_out);
    else
        snprintf(R.out, sizeof R.out, "%s/report", cfg.ablation_dir);
    dq_rng_seed(&R.rng, (uint64_t)cfg.ablation_seed);
    rc = report_is_run_dir(&R) ? report_run(&R) : report(&R);
    return rc == DQ_OK ? 0 : 1;
}
