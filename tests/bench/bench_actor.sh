#!/bin/bash
# bench_actor.sh BUILD_DIR [ROUNDS] - the cost of networking in one actor
# process: env steps/s with transitions streamed to a live dqnlm-replay
# (actor.send = true) against the same environments, same seeds, stepped with
# networking off (actor.send = false: transitions are still assembled and
# hashed, nothing is encoded or sent). Runs alternate off/on ROUNDS times
# (default 5) and the best rates are compared (other load on a shared machine
# only ever slows a run down), for two workloads:
#   lm    - the LM-training environment, 4 envs: the real workload (ms per step)
#   chain - 8 chain envs: steps cost under a microsecond, so this is the
#           worst case and shows the per-transition cost of the stream
# The replay server runs on the same machine, so on a small machine it also
# competes with the actor for the CPU. Target: overhead < 5% on lm.
set -euo pipefail
B=$(cd "$1" && pwd)
ROUNDS=${2:-5}
source "$(dirname "$0")/../tools/lib.sh"
RUN=$(mktemp -d /tmp/dqnlm-bench-actor.XXXXXX)
trap 'stop_all; rm -rf "$RUN"' EXIT

start replay "$B/replay_server/dqnlm-replay" --set run.dir="$RUN" --set 'replay.endpoint=tcp://127.0.0.1:*' \
    --set replay.capacity=1000000
wait_file "$RUN/replay.endpoint"
EP=$(cat "$RUN/replay.endpoint")

# rate WORKLOAD SEND ARGS... : env steps/s of one actor run
rate() {
    local name=$1 send=$2; shift 2
    "$B/actor/dqnlm-actor" --set run.dir="$RUN/$name-$send" --set replay.endpoint="$EP" \
        --set 'learner.weights_endpoint=tcp://127.0.0.1:1' --set actor.send="$send" "$@" 2>&1 |
        grep -o '[0-9.]* env steps/s' | awk '{print $1}'
}
best() { sort -g | tail -n 1; }

bench() {
    local name=$1; shift
    local off=() on=() i
    for ((i = 0; i < ROUNDS; i++)); do
        off+=("$(rate "$name" false "$@")")
        on+=("$(rate "$name" true "$@")")
    done
    local m_off m_on
    m_off=$(printf '%s\n' "${off[@]}" | best)
    m_on=$(printf '%s\n' "${on[@]}" | best)
    awk -v n="$name" -v a="$m_off" -v b="$m_on" -v offs="${off[*]}" -v ons="${on[*]}" 'BEGIN {
        printf "%-6s networking off %12.1f env steps/s   (runs: %s)\n", n, a, offs
        printf "%-6s networking on  %12.1f env steps/s   (runs: %s)\n", n, b, ons
        printf "%-6s overhead %.1f%%  (on/off = %.3f; per step %+.3f us)\n", n, 100 * (1 - b / a), b / a, 1e6 / b - 1e6 / a
    }'
}

echo "one actor process, replay server on the same machine ($(nproc) CPUs), $ROUNDS rounds, best of each"
bench lm --set env.name=lm --set actor.envs=4 --max-steps 48 --set run.seed=5
bench chain --set env.name=chain --set actor.envs=8 --max-steps 400000
