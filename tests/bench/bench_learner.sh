#!/bin/bash
# bench_learner.sh BUILD_DIR - learner group throughput over a real replay
# server: updates/s at batch 256 with 1 and 2 MPI ranks and the time split
# (waiting for samples, compute, allreduce), then the same double-DQN update
# (MLP 16-256-256, Adam) in one process and in PyTorch with one thread
# (tests/bench_qnet), all in this run. The replay holds 20000 chain
# transitions (obs_dim 16, 2 actions) from one random actor.
set -euo pipefail
B=$(cd "$1" && pwd)
source "$(dirname "$0")/../tools/lib.sh"
RUN=$(mktemp -d /tmp/dqnlm-bench-learner.XXXXXX)
trap 'stop_all; rm -rf "$RUN"' EXIT
UPDATES=${UPDATES:-1500}
common=(--set run.dir="$RUN" --set env.name=chain --set env.chain_length=16 --set dqn.hidden=256,256
        --set learner.batch=256 --set learner.min_replay=20000 --set learner.inflight=4
        --set learner.metrics_every=500 --set 'learner.weights_endpoint=tcp://127.0.0.1:*')
start replay "$B/replay_server/dqnlm-replay" "${common[@]}" --set 'replay.endpoint=tcp://127.0.0.1:*'
wait_file "$RUN/replay.endpoint"
common+=(--set replay.endpoint="$(cat "$RUN/replay.endpoint")")
"$B/actor/dqnlm-actor" "${common[@]}" --set learner.weights_endpoint=tcp://127.0.0.1:9 \
    --set actor.exploration=1 --set actor.batch=500 --id 0 --max-steps 20000 >"$RUN/actor.log" 2>&1

echo "learner group, batch 256, MLP 16-256-256-2, $UPDATES updates, replay over tcp loopback"
for np in 1 2; do
    mpirun -np $np --oversubscribe --bind-to none "$B/learner/dqnlm-learner" "${common[@]}" \
        --updates "$UPDATES" >"$RUN/learner-$np.log" 2>&1
    grep -o 'done: .*' "$RUN/learner-$np.log" | sed "s/^/  $np rank(s): /"
    awk -v np=$np '/done: / {for (i = 1; i <= NF; i++) if ($i == "updates" && $(i+1) == "in") {u = $(i-1); s = $(i+2)}}
                   END {printf "  %d rank(s): %.1f updates/s, %.0f sampled transitions/s\n", np, u / s, 256 * u / s}' "$RUN/learner-$np.log"
done
echo "one process, no network (tests/bench_qnet, same update, 5 actions, obs 16):"
"$B/tests/bench_qnet" | sed 's/^/  /'
