#!/bin/bash
# run-local.sh - runs a whole dqnlm job on this machine: installs what is
# missing, builds, then starts the replay server, an `mpirun -np P` learner
# group and N actors, shows progress, and stops every process it started,
# in order, when the learner's budget is spent or on Ctrl-C.
#
#   deploy/run-local.sh [--profile quick|chain|FILE.ini] [--actors N] [--ranks P]
#                       [--run-dir DIR] [--set SECTION.KEY=VALUE ...]
#                       [--bind ADDR] [--port-base N] [--site-setup FILE]
#   deploy/run-local.sh --resume RUN [--actors N] [--ranks P] [--set ...]
#
# Defaults: --profile quick, --actors 2, --ranks 2, --bind 127.0.0.1 and
# kernel-chosen ports (recorded in RUN_DIR/*.endpoint). The job logic is
# deploy/cluster-lib.sh's, with local launchers: the same shutdown order as
# on a cluster (actors, learner group, replay server). The run folder
# (default runs/YYYYmmdd-HHMMSS-PROFILE) gets config.ini (the effective
# configuration), logs/ROLE-RANK.log, learner.csv, actor-*.csv, *.status,
# learner.ckpt, replay.ckpt (replay.checkpoint, unless set otherwise) and
# qnet.bin. --resume RUN continues a stopped run with its config.ini: the
# learner from RUN/learner.ckpt, the replay from its checkpoint, learner.csv
# and the actors' actor-*.csv appended with continuous time_s and counters
# (--actors defaults to the run's actor.count). With the LM environment (the quick profile) the run
# ends with dqnlm-eval: the learned controller against the baseline
# schedules, tables in eval/.
set -euo pipefail

# The whole script is one function, read completely before it runs, so that
# editing this file while a run is going cannot change that run.
main() {
    DQ_ROOT=$(cd "$(dirname "$0")/.." && pwd)
    DQ_SELF=$DQ_ROOT/deploy/run-local.sh DQ_NAME=run-local.sh DQ_BUILD_LATER=1
    source "$DQ_ROOT/deploy/cluster-lib.sh"
    dq_profile=quick dq_ranks=2 dq_bind=127.0.0.1
    dq_parse_args "$@"
    [ -z "$dq_hostfile" ] || dq_die "--hostfile is for deploy/mpirun-hosts.sh"
    if [ -n "$dq_resume" ]; then
        dq_actors=${dq_actors:-$(dq_ini_get "$dq_resume/config.ini" actor count)}
    fi
    dq_actors=${dq_actors:-2}

    "$DQ_ROOT/deploy/install-deps.sh" # checks with dpkg-query; apt-get only for what is missing
    "$DQ_ROOT/deploy/build.sh" "$DQ_BIN"
    [ -n "$dq_run_dir" ] || dq_run_dir=$DQ_ROOT/runs/$(date +%Y%m%d-%H%M%S)-$(basename "$dq_profile" .ini)
    [ -n "$dq_resume" ] || replay_checkpoint_default
    dq_use_local_launchers
    dq_run
    after_training
}

# The replay server checkpoints into the run folder unless the configuration
# names another file, so that --resume restores the replay too.
replay_checkpoint_default() {
    local ckpt
    ckpt=$(dq_ini_get <("$DQ_BIN/replay_server/dqnlm-replay" --config "$dq_profile_file" "${dq_sets[@]}" \
        --print-config) replay checkpoint) || dq_die "bad configuration (see above)"
    [ -n "$ckpt" ] && return 0
    mkdir -p "$dq_run_dir"
    dq_sets+=(--set replay.checkpoint="$(cd "$dq_run_dir" && pwd)/replay.ckpt")
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
