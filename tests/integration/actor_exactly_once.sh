#!/bin/bash
# actor_exactly_once.sh BUILD_DIR - every transition the actors generate
# reaches the replay server exactly once, across a restart of the server in the
# middle of the run.
#
# Two dqnlm-actor processes (4 chain envs each, 3-step returns, ez-greedy and
# Boltzmann exploration, small INSERTs and a small unacked window) stream to
# dqnlm-replay with checkpoints on. When both actors are ~15% into their
# steps, the server is stopped with SIGTERM (it checkpoints), the actors stall
# on their full windows, and a new server restores the checkpoint on the same
# port; the actors reconnect and resend everything unacknowledged, in order.
# Then:
#   - each actor got every transition acknowledged and saw the disconnect;
#   - the server holds exactly sum(transitions) items (nothing lost or doubled);
#   - the multiset hash of the server's items (tests/actor_replay_check reads
#     them all back) equals the sum of the hashes the actors logged over every
#     transition they generated.
set -euo pipefail
B=$(cd "$1" && pwd)
source "$(dirname "$0")/../tools/lib.sh"
RUN=$(mktemp -d /tmp/dqnlm-once.XXXXXX)
trap 'stop_all; [ "${ok:-0}" = 1 ] && rm -rf "$RUN" || { show_logs; echo "run folder kept: $RUN"; }' EXIT

STEPS=10000
common=(--set run.dir="$RUN" --set env.name=chain --set env.chain_length=8 --set dqn.n_step=3
        --set dqn.hidden=512,512 --set run.seed=11 --set actor.count=2)
replay_args=(--set replay.capacity=1000000 --set replay.checkpoint="$RUN/replay.ckpt" --set replay.restore=true)

start replay "$B/replay_server/dqnlm-replay" "${common[@]}" "${replay_args[@]}" --set 'replay.endpoint=tcp://127.0.0.1:*'
wait_file "$RUN/replay.endpoint"
EP=$(cat "$RUN/replay.endpoint")
replay_pid=${test_pids[0]}
common+=(--set replay.endpoint="$EP" --set 'learner.weights_endpoint=tcp://127.0.0.1:1'
         --set actor.envs=4 --set actor.batch=32 --set actor.max_unacked=4 --set actor.metrics_every=100)
start actor0 "$B/actor/dqnlm-actor" "${common[@]}" --id 0 --max-steps $STEPS --set actor.exploration='ez(mu=2):0.3'
start actor1 "$B/actor/dqnlm-actor" "${common[@]}" --id 1 --max-steps $STEPS --set actor.exploration='boltzmann:0.5'
actors=("${test_pids[@]:1}")

# steps NAME : the last env_steps in the actor's metrics file (0 if none yet)
steps() { tail -n 1 "$RUN/actor-$1.csv" 2>/dev/null | awk -F, '$2 ~ /^[0-9]+$/ { print $2; exit } END { }' | grep . || echo 0; }
for ((i = 0; i < 300; i++)); do
    [ "$(steps 0)" -ge $((STEPS * 15 / 100)) ] && [ "$(steps 1)" -ge $((STEPS * 15 / 100)) ] && break
    sleep 0.02
done
s0=$(steps 0) s1=$(steps 1)
[ "$s0" -lt $STEPS ] && [ "$s1" -lt $STEPS ] || { echo "FAIL: actors finished before the restart"; exit 1; }
echo "stopping the replay server with actors at $s0 and $s1 of $STEPS steps"
kill -TERM "$replay_pid"
wait "$replay_pid" || { echo "FAIL: replay server exited with $? at SIGTERM"; exit 1; }
test_pids=("${actors[@]}")   # the stopped server is no longer ours to signal
mv "$RUN/replay.log" "$RUN/replay-1.log"
sleep 0.3   # the actors stall on their full windows meanwhile
start replay "$B/replay_server/dqnlm-replay" "${common[@]}" "${replay_args[@]}"
replay_pid=${test_pids[-1]}

for p in "${actors[@]}"; do wait "$p" || { echo "FAIL: an actor exited with $?"; exit 1; }; done

total=0 hash=0
for a in 0 1; do
    log="$RUN/actor$a.log"
    grep -q "connection lost" "$log" || { echo "FAIL: actor $a never saw the server go away"; exit 1; }
    line=$(grep -o "content hash [0-9a-f]* over [0-9]* transitions" "$log")
    h=$(echo "$line" | awk '{print $3}') n=$(echo "$line" | awk '{print $5}')
    grep -q "$n transitions sent, $n acknowledged" "$log" ||
        { echo "FAIL: actor $a: not every transition acknowledged"; grep "transitions sent" "$log"; exit 1; }
    echo "actor $a: $n transitions, hash $h; $(grep -o '[0-9]* resent, [0-9]* duplicate acks' "$log")"
    total=$((total + n))
    hash=$((hash + 16#$h))
done
want=$(printf '%016x' "$hash")
got=$("$B/tests/actor_replay_check" "$EP") || { echo "FAIL: could not read the table back: $got"; exit 1; }
echo "actors: $total transitions, hash $want; replay server: $got"
[ "$(echo "$got" | awk '{print $2}')" = "$total" ] ||
    { echo "FAIL: the replay server holds $(echo "$got" | awk '{print $2}') items, the actors generated $total"; exit 1; }
[ "$(echo "$got" | awk '{print $6}')" = "$want" ] || { echo "FAIL: content hash differs"; exit 1; }
echo "PASS: every transition arrived exactly once across a replay-server restart"
ok=1
