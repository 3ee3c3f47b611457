#!/bin/bash
# integration_chain.sh BUILD_DIR [uniform|prioritized|curve|dueling] - the whole loop on
# the known-optimum chain, with the replay server's uniform or prioritized
# sampler (prioritized: importance weights and priority updates from the
# learners), or uniform over ZeroMQ CURVE (actors and learners authenticate
# with their own keys; the server admits only the listed client key), or uniform
# with the dueling head (dqn.dueling: learners, actors and check_chain_q):
# dqnlm-replay, two dqnlm-actor processes and `mpirun -np 2 dqnlm-learner` over
# real loopback TCP sockets. Bounded by steps (actors 20000 env steps each,
# learner 3000 updates), then asserts that
#   - every transition the actors sent was inserted exactly once (counts),
#   - the learned greedy policy is optimal in every state, and
#   - every learned Q-value is within 0.05 of the closed-form Q*.
set -euo pipefail
B=$(cd "$1" && pwd)
MODE=${2:-uniform}
source "$(dirname "$0")/../tools/lib.sh"
RUN=$(mktemp -d /tmp/dqnlm-chain.XXXXXX)
trap 'stop_all; [ "${ok:-0}" = 1 ] && rm -rf "$RUN" || { show_logs; echo "run folder kept: $RUN"; }' EXIT

STEPS=20000 UPDATES=3000 LENGTH=8 GAMMA=0.9
common=(--set run.dir="$RUN" --set env.name=chain --set env.chain_length=$LENGTH
        --set dqn.gamma=$GAMMA --set dqn.n_step=1 --set run.seed=7)
case "$MODE" in
prioritized) common+=(--set replay.sampler=prioritized) ;;
dueling) common+=(--set dqn.dueling=true) ;;
curve)
    "$B/replay_server/dqnlm-replay-keygen" "$RUN/server" >/dev/null
    "$B/replay_server/dqnlm-replay-keygen" "$RUN/client" >/dev/null
    cp "$RUN/client.pub" "$RUN/clients"
    common+=(--set replay.curve=true --set replay.curve_secret_key="$RUN/server.key"
             --set replay.curve_clients="$RUN/clients" --set replay.curve_public_key="$RUN/server.pub"
             --set replay.curve_client_key="$RUN/client.key") ;;
esac

start replay "$B/replay_server/dqnlm-replay" "${common[@]}" --set 'replay.endpoint=tcp://127.0.0.1:*'
wait_file "$RUN/replay.endpoint"
common+=(--set replay.endpoint="$(cat "$RUN/replay.endpoint")" --set 'learner.weights_endpoint=tcp://127.0.0.1:*')

mpirun -np 2 --oversubscribe "$B/learner/dqnlm-learner" "${common[@]}" --updates $UPDATES \
    --set learner.min_replay=2000 >"$RUN/learner.log" 2>&1 &
learner=$!
wait_file "$RUN/weights.endpoint"
common+=(--set learner.weights_endpoint="$(cat "$RUN/weights.endpoint")")
start actor0 "$B/actor/dqnlm-actor" "${common[@]}" --id 0 --max-steps $STEPS
start actor1 "$B/actor/dqnlm-actor" "${common[@]}" --id 1 --max-steps $STEPS

wait "$learner" || { echo "FAIL: learner group exited with $?"; exit 1; }
for p in "${test_pids[@]:1}"; do wait "$p"; done   # actors end by themselves
test_pids=("${test_pids[0]}")
stop_all                                          # the replay server, by SIGTERM

grep -q "stopping: $((2 * STEPS)) items inserted" "$RUN/replay.log" ||
    { echo "FAIL: replay server did not hold exactly $((2 * STEPS)) inserts"; exit 1; }
grep -q "$STEPS transitions sent, $STEPS acknowledged" "$RUN/actor0.log" ||
    { echo "FAIL: actor 0 did not get every INSERT acknowledged"; exit 1; }
"$B/tests/check_chain_q" "$RUN/qnet.bin" $LENGTH $GAMMA 0.05
ok=1
