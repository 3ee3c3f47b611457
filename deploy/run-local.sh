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
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

profile=quick actors=2 ranks=2 run_dir="" sets=()
while [ $# -gt 0 ]; do
    case "$1" in
    --profile) profile=$2; shift 2 ;;
    --actors) actors=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --run-dir) run_dir=$2; shift 2 ;;
    --set|-s) sets+=(--set "$2"); shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
# The effective configuration, with kernel-chosen loopback ports unless the
# profile or --set names them.
"$bin/replay_server/dqnlm-replay" --config "$profile_file" --set run.dir="$run_dir" \
    --set actor.count="$actors" "${sets[@]}" --print-config >"$run_dir/config.ini"
cfg=(--config "$run_dir/config.ini")

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
pids=()
stop_all() {
    trap - INT TERM
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pids=()
}
on_signal() {
    echo; echo "stopping (signal): terminating ${#pids[@]} processes..."
    stop_all
    echo "stopped; run folder: $run_dir"
    exit 130
}
trap on_signal INT TERM

wait_file() {
    for _ in $(seq 1 300); do [ -s "$1" ] && return 0; sleep 0.1; done
    echo "run-local.sh: $1 did not appear; see $run_dir/logs" >&2
    stop_all; exit 1
}

rm -f "$run_dir/replay.endpoint" "$run_dir/weights.endpoint"
"$bin/replay_server/dqnlm-replay" "${cfg[@]}" >"$run_dir/logs/replay.log" 2>&1 &
pids+=($!)
wait_file "$run_dir/replay.endpoint"
cfg+=(--set replay.endpoint="$(cat "$run_dir/replay.endpoint")")

oversub=()
[ "$ranks" -gt "$(nproc)" ] && oversub=(--oversubscribe)
mpirun -np "$ranks" "${oversub[@]}" --bind-to none "$bin/learner/dqnlm-learner" "${cfg[@]}" \
    >"$run_dir/logs/learner.log" 2>&1 &
learner=$!
pids+=($learner)
wait_file "$run_dir/weights.endpoint"
cfg+=(--set learner.weights_endpoint="$(cat "$run_dir/weights.endpoint")")
for ((i = 0; i < actors; i++)); do
    "$bin/actor/dqnlm-actor" "${cfg[@]}" --id "$i" >"$run_dir/logs/actor-$i.log" 2>&1 &
    pids+=($!)
done
echo "run folder: $run_dir"
echo "replay server, $ranks learner ranks and $actors actors started; Ctrl-C stops them all"

# Progress: the learner's last metric row and the actors' last rows.
progress() {
    local l a
    l=$(tail -n 1 "$run_dir/learner.csv" 2>/dev/null | grep -v '^time_s' || true)
    a=$(for f in "$run_dir"/actor-*.csv; do tail -n 1 "$f" 2>/dev/null | grep -v '^time_s'; done 2>/dev/null |
        awk -F, '{s+=$2; e+=$3; if ($4 != "nan" && $4 != "") {r+=$4; n++}; if ($5 != "nan" && $5 != "") {m+=$5; k++}; v+=$6}
                 END {printf "env steps %d, episodes %d, %.1f steps/s", s, e, v;
                      if (n) printf ", return %.3f", r/n; if (k) printf ", final val loss %.3f", m/k}')
    if [ -n "$l" ]; then
        echo "$l" | awk -F, -v a="$a" '{printf "[%6.0fs] update %d, loss %.4g, mean Q %.3f, %.1f updates/s, replay %d (%d inserted) | %s\n",
                                       $1, $2, $3, $4, $6, $8, $9, a}'
    else
        echo "[waiting] learner waiting for the replay server to fill | ${a:-actors starting}"
    fi
}
while kill -0 "$learner" 2>/dev/null; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$learner" 2>/dev/null && sleep 0.5; done
    progress
done
wait "$learner" && status=0 || status=$?
pids=("${pids[@]/$learner}")
stop_all
if [ $status -ne 0 ]; then
    echo "learner group failed (exit $status); see $run_dir/logs/learner.log" >&2
    tail -n 5 "$run_dir/logs/learner.log" >&2
    exit 1
fi
echo "done: Q-network in $run_dir/qnet.bin, metrics in $run_dir/*.csv, logs in $run_dir/logs"
