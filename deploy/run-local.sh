#!/bin/bash
# run-local.sh - runs a whole dqnlm job on this machine: installs what is
# missing, builds, then starts the replay server, an `mpirun -np P` learner
# group and N actors, shows progress, and stops every process it started,
# in order, when the learner's budget is spent or on Ctrl-C.
#
#   deploy/run-local.sh [--profile quick|chain|FILE.ini] [--actors N] [--ranks P]
#                       [--run-dir DIR] [--set SECTION.KEY=VALUE ...]
#                       [--bind ADDR] [--port-base N]
#
# Defaults: --profile quick, --actors 2, --ranks 2, --bind 127.0.0.1 and
# kernel-chosen ports (recorded in RUN_DIR/*.endpoint). The job logic is
# deploy/cluster-lib.sh's, with local launchers: the same shutdown order as
# on a cluster (actors, learner group, replay server). The run folder
# (default runs/YYYYmmdd-HHMMSS-PROFILE) gets config.ini (the effective
# configuration), logs/ROLE-RANK.log, learner.csv, actor-*.csv, *.status and
# qnet.bin. With the LM environment (the quick profile) the run ends with
# dqnlm-eval: the learned controller against the baseline schedules, tables
# in eval/.
set -euo pipefail

# The whole script is one function, read completely before it runs, so that
# editing this file while a run is going cannot change that run.
main() {
    DQ_ROOT=$(cd "$(dirname "$0")/.." && pwd)
    DQ_SELF=$DQ_ROOT/deploy/run-local.sh DQ_NAME=run-local.sh DQ_HELP_LINES=2,19 DQ_BUILD_LATER=1
    source "$DQ_ROOT/deploy/cluster-lib.sh"
    dq_profile=quick dq_actors=2 dq_ranks=2 dq_bind=127.0.0.1
    dq_parse_args "$@"
    [ -z "$dq_hostfile$dq_grid" ] || dq_die "--hostfile and --grid are for the cluster launchers"

    "$DQ_ROOT/deploy/install-deps.sh" # checks with dpkg-query; apt-get only for what is missing
    "$DQ_ROOT/deploy/build.sh" "$DQ_BIN"
    [ -n "$dq_run_dir" ] || dq_run_dir=$DQ_ROOT/runs/$(date +%Y%m%d-%H%M%S)-$(basename "$dq_profile" .ini)
    dq_use_local_launchers
    dq_run
    after_training
}

# The LM environment ends with the evaluation: the greedy controller against
# the baseline schedules on held-out instances (docs/evaluation.md); the
# chain, with the check of the learned Q-values against the closed form.
after_training() {
    local cfg=$dq_run_dir/config.ini env
    env=$(dq_ini_get "$cfg" env name)
    if [ "$env" = lm ]; then
        dq_log "evaluating the controller against the baselines on held-out instances..."
        trap 'echo; dq_log "evaluation interrupted; run folder: $dq_run_dir"; exit 130' INT TERM
        "$DQ_BIN/learner/tools/dqnlm-eval" --config "$cfg" 2> >(tee "$dq_run_dir/logs/eval.log" >&2) ||
            { echo "evaluation failed; see $dq_run_dir/logs/eval.log" >&2; exit 1; }
        dq_log "evaluation tables: $dq_run_dir/eval/summary.md, summary.csv; every episode in episodes.csv"
    elif [ "$env" = chain ] && [ -x "$DQ_BIN/tests/check_chain_q" ]; then
        "$DQ_BIN/tests/check_chain_q" "$dq_run_dir/qnet.bin" "$(dq_ini_get "$cfg" env chain_length)" \
            "$(dq_ini_get "$cfg" dqn gamma)" 0.05 || true
    fi
}

main "$@"
