#!/bin/bash
# run-local.sh - runs a whole dqnlm job on this machine: installs what is
# missing, builds, then starts the replay server, the actors and an
# `mpirun -np P` learner group, shows progress, and stops every process it
# started when the learner's budget is spent or on Ctrl-C.
#
#   deploy/run-local.sh [--profile quick|chain|FILE.ini] [--actors N] [--ranks P]
#                       [--run-dir DIR] [--set SECTION.KEY=VALUE ...]
#
# The run folder (default runs/YYYYmmdd-HHMMSS-PROFILE) gets config.ini (the
# effective configuration), logs/*.log, learner.csv, actor-*.csv and qnet.bin.
# With the LM environment (the quick profile) the run ends with dqnlm-eval:
# the learned controller against the baseline schedules, tables in eval/.
set -euo pipefail

# The whole script is one function, read completely before it runs, so that
# editing this file while a run is going cannot change that run.
main() {
    root=$(cd "$(dirname "$0")/.." && pwd)

    profile=quick actors=2 ranks=2 run_dir="" sets=()
    while [ $# -gt 0 ]; do
        case "$1" in
        --profile) profile=$2; shift 2 ;;
        --actors) actors=$2; shift 2 ;;
        --ranks) ranks=$2; shift 2 ;;
        --run-dir) run_dir=$2; shift 2 ;;
        --set|-s) sets+=(--set "$2"); shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
        *) echo "run-local.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
        esac
    done
    case "$profile" in
    *.ini) profile_file=$(cd "$(dirname "$profile")" && pwd)/$(basename "$profile") ;;
    *) profile_file=$root/deploy/profiles/$profile.ini ;;
    esac
    [ -f "$profile_file" ] || { echo "run-local.sh: no profile '$profile' ($profile_file)" >&2; exit 2; }
    [[ "$actors" =~ ^[1-9][0-9]*$ ]] || { echo "run-local.sh: --actors '$actors' is not a positive integer" >&2; exit 2; }
    [[ "$ranks" =~ ^[1-9][0-9]*$ ]] || { echo "run-local.sh: --ranks '$ranks' is not a positive integer" >&2; exit 2; }

    "$root/deploy/install-deps.sh"
    "$root/deploy/build.sh" build
    bin=$root/build

    [ -n "$run_dir" ] || run_dir=$root/runs/$(date +%Y%m%d-%H%M%S)-$(basename "$profile" .ini)
    mkdir -p "$run_dir/logs"
    run_dir=$(cd "$run_dir" && pwd)
    # The effective configuration; the servers bind kernel-chosen loopback ports
    # (recorded in RUN_DIR/*.endpoint) unless --set names the endpoints.
    "$bin/replay_server/dqnlm-replay" --config "$profile_file" --set run.dir="$run_dir" \
        --set actor.count="$actors" --set 'replay.endpoint=tcp://127.0.0.1:*' \
        --set 'learner.weights_endpoint=tcp://127.0.0.1:*' "${sets[@]}" --print-config >"$run_dir/config.ini"
    cfg=(--config "$run_dir/config.ini")

    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    export OMPI_MCA_btl_vader_single_copy_mechanism=none
    pids=()
    # Stops in the reverse order of starting: the actors first (they flush
    # their last transitions to a replay server that is still there), then
    # the learner group (it writes its checkpoint), then the replay server.
    stop_all() {
        trap - INT TERM
        local p group
        for group in "${pids[*]:2}" "${pids[1]:-}" "${pids[0]:-}"; do
            for p in $group; do kill -TERM "$p" 2>/dev/null || true; done
            for p in $group; do wait "$p" 2>/dev/null || true; done
        done
        pids=()
    }
    on_signal() {
        echo; echo "stopping (signal): terminating ${#pids[@]} processes..."
        stop_all
        echo "stopped; run folder: $run_dir"
        exit 130
    }
    trap on_signal INT TERM

    wait_file() { # FILE PID LOG: waits for FILE while PID lives
        for _ in $(seq 1 300); do
            [ -s "$1" ] && return 0
            kill -0 "$2" 2>/dev/null || break
            sleep 0.1
        done
        echo "run-local.sh: $1 did not appear; the last lines of $3:" >&2
        tail -n 5 "$3" >&2
        stop_all; exit 1
    }

    rm -f "$run_dir/replay.endpoint" "$run_dir/weights.endpoint"
    "$bin/replay_server/dqnlm-replay" "${cfg[@]}" >"$run_dir/logs/replay.log" 2>&1 &
    pids+=($!)
    wait_file "$run_dir/replay.endpoint" $! "$run_dir/logs/replay.log"
    cfg+=(--set replay.endpoint="$(cat "$run_dir/replay.endpoint")")

    oversub=()
    [ "$ranks" -gt "$(nproc)" ] && oversub=(--oversubscribe)
    mpirun -np "$ranks" "${oversub[@]}" --bind-to none "$bin/learner/dqnlm-learner" "${cfg[@]}" \
        >"$run_dir/logs/learner.log" 2>&1 &
    learner=$!
    pids+=($learner)
    wait_file "$run_dir/weights.endpoint" $learner "$run_dir/logs/learner.log"
    cfg+=(--set learner.weights_endpoint="$(cat "$run_dir/weights.endpoint")")
    for ((i = 0; i < actors; i++)); do
        "$bin/actor/dqnlm-actor" "${cfg[@]}" --id "$i" >"$run_dir/logs/actor-$i.log" 2>&1 &
        pids+=($!)
    done
    echo "run folder: $run_dir"
    echo "replay server, $ranks learner ranks and $actors actors started; Ctrl-C stops them all"

    # Progress: the learner's last metric row and the sum over the actors' last
    # rows, columns found by their header names.
    last_row() { # FILE: prints "name=value" pairs of the header and the last row
        [ -s "$1" ] || return 0
        awk -F, 'NR == 1 {for (i = 1; i <= NF; i++) h[i] = $i} END {if (NR > 1) for (i = 1; i <= NF; i++) print h[i] "=" $i}' "$1"
    }
    progress() {
        local l a f
        l=$(last_row "$run_dir/learner.csv" | awk -F= '{v[$1] = $2} END {if (v["updates"] != "")
            printf "[%5.0fs] update %d, loss %.3g, mean Q %.3f, %.1f updates/s, replay %d items (%d inserted)",
                   v["time_s"], v["updates"], v["loss"], v["q_mean"], v["updates_per_s"], v["replay_size"], v["replay_inserts"]}')
        a=$(for f in "$run_dir"/actor-*.csv; do last_row "$f"; done | awk -F= '
            $1 == "env_steps" {s += $2} $1 == "episodes" {e += $2} $1 == "steps_per_s" {r += $2}
            $1 == "return_mean" && $2 != "nan" {ret += $2; n++} $1 == "final_metric_mean" && $2 != "nan" {m += $2; k++}
            END {printf "actors: %d env steps, %d episodes, %.1f steps/s", s, e, r
                 if (n) printf ", return %.3f", ret / n; if (k) printf ", final val loss %.3f", m / k}')
        echo "${l:-[waiting] learner waiting for the replay server to fill} | $a"
    }
    # A line when something changed, at most every 5 s.
    last=""
    while kill -0 "$learner" 2>/dev/null; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$learner" 2>/dev/null && sleep 0.5; done
        line=$(progress)
        [ "$line" != "$last" ] && echo "$line"
        last=$line
    done
    wait "$learner" && status=0 || status=$?
    pids=("${pids[@]/$learner}")
    stop_all
    if [ $status -ne 0 ]; then
        echo "learner group failed (exit $status); see $run_dir/logs/learner.log" >&2
        tail -n 5 "$run_dir/logs/learner.log" >&2
        exit 1
    fi
    echo "training done: Q-network in $run_dir/qnet.bin, metrics in $run_dir/*.csv, logs in $run_dir/logs"

    # The LM environment ends with the evaluation: the greedy controller against
    # the baseline schedules on held-out instances (docs/evaluation.md).
    if grep -qx 'name = lm' "$run_dir/config.ini"; then
        echo "evaluating the controller against the baselines on held-out instances..."
        trap 'echo; echo "evaluation interrupted; run folder: $run_dir"; exit 130' INT TERM
        "$bin/learner/tools/dqnlm-eval" --config "$run_dir/config.ini" 2> >(tee "$run_dir/logs/eval.log" >&2) ||
            { echo "evaluation failed; see $run_dir/logs/eval.log" >&2; exit 1; }
        echo "evaluation tables: $run_dir/eval/summary.md, summary.csv; every episode in episodes.csv"
    elif [ -x "$bin/tests/check_chain_q" ] && grep -qx 'name = chain' "$run_dir/config.ini"; then
        length=$(awk -F' = ' '$1 == "chain_length" {print $2}' "$run_dir/config.ini")
        gamma=$(awk -F' = ' '$1 == "gamma" {print $2}' "$run_dir/config.ini")
        "$bin/tests/check_chain_q" "$run_dir/qnet.bin" "$length" "$gamma" 0.05 || true
    fi
}

main "$@"
