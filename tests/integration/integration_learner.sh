#!/bin/bash
# integration_learner.sh BUILD_DIR - the MPI learner group in deterministic
# mode (learner.deterministic: rank 0 samples each whole batch on demand and
# scatters it), over a real replay server filled by a real actor with a
# uniformly random policy, so the replay content is the same in every round.
#   1. 2 ranks each taking half of every batch end with the same Q-network as
#      1 rank taking whole batches (parameters within 1e-4: the two sum their
#      gradients in a different order, nothing else differs).
#   2. 120 updates, stop (checkpoint), resume to 240 updates gives the same
#      Q-network as 240 uninterrupted updates (parameters within 1e-6).
set -euo pipefail
B=$(cd "$1" && pwd)
source "$(dirname "$0")/../tools/lib.sh"
ROOT=$(mktemp -d /tmp/dqnlm-learner.XXXXXX)
trap 'stop_all; [ "${ok:-0}" = 1 ] && rm -rf "$ROOT" || { for RUN in "$ROOT"/*/; do RUN=${RUN%/}; show_logs; done; echo "kept: $ROOT"; }' EXIT

STEPS=3000
common=(--set env.name=chain --set env.chain_length=8 --set dqn.gamma=0.9 --set dqn.n_step=2
        --set run.seed=11 --set learner.batch=64 --set learner.deterministic=true
        --set learner.min_replay=$STEPS --set learner.metrics_every=20
        --set learner.target_sync=50 --set 'learner.weights_endpoint=tcp://127.0.0.1:*')

# fresh_replay DIR: a new replay server holding the STEPS transitions of one
# random actor (no learner publishes to it: its weights endpoint is a closed
# loopback port); sets RUN and EP.
fresh_replay() {
    RUN=$ROOT/$1
    mkdir -p "$RUN"
    start replay "$B/replay_server/dqnlm-replay" "${common[@]}" --set run.dir="$RUN" \
        --set 'replay.endpoint=tcp://127.0.0.1:*'
    wait_file "$RUN/replay.endpoint"
    EP=$(cat "$RUN/replay.endpoint")
    "$B/actor/dqnlm-actor" "${common[@]}" --set run.dir="$RUN" --set replay.endpoint="$EP" \
        --set learner.weights_endpoint=tcp://127.0.0.1:9 --set actor.exploration=1 --set actor.batch=50 --id 0 --max-steps $STEPS >"$RUN/actor.log" 2>&1
    grep -q "$STEPS acknowledged" "$RUN/actor.log" || { echo "FAIL: actor data not all acknowledged"; exit 1; }
}

# learn NP UPDATES [extra args]: runs the learner group on the current replay server.
learn() {
    local np=$1 updates=$2
    shift 2
    mpirun -np "$np" --oversubscribe "$B/learner/dqnlm-learner" "${common[@]}" --set run.dir="$RUN" \
        --set replay.endpoint="$EP" --updates "$updates" "$@" >>"$RUN/learner.log" 2>&1 ||
        { echo "FAIL: learner group ($np ranks) exited with an error"; exit 1; }
}

fresh_replay one_rank;  learn 1 240; stop_all; cp "$RUN/qnet.bin" "$ROOT/one_rank.bin"
fresh_replay two_ranks; learn 2 240; stop_all; cp "$RUN/qnet.bin" "$ROOT/two_ranks.bin"
"$B/tests/compare_qnet" "$ROOT/one_rank.bin" "$ROOT/two_ranks.bin" 1e-4

fresh_replay resumed; learn 2 120; learn 2 240 --set learner.resume=true; stop_all
grep -q "resumed from .* at update 120" "$RUN/learner.log" || { echo "FAIL: the second run did not resume at update 120"; exit 1; }
"$B/tests/compare_qnet" "$ROOT/two_ranks.bin" "$RUN/qnet.bin" 1e-6
ok=1
