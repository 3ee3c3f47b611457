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
#     transition they generated;
#   - a resend of actor 0's last INSERT (its run id, seq next-1) is
#     acknowledged as a duplicate: the server's duplicates counter goes up by
#     one and its size does not change.
# Every wait is bounded and fails with what it was waiting for (the server's
# exit, each actor's last metrics row), well inside meson's timeout.
set -euo pipefail
B=$(cd "$1" && pwd)
source "$(dirname "$0")/../tools/lib.sh"
fail() { echo "FAIL: $*"; exit 1; }
# wait_pid PID SECONDS WHAT: PID's exit status, or FAIL naming WHAT after SECONDS
wait_pid() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$1" 2>/dev/null && fail "$3 still running after $2 s"
    wait "$1"
}
# last_row A: actor A's last metrics row, by column name
last_row() { awk -F, 'NR == 1 {split($0, h, ","); next} {r = $0} END {n = split(r, v, ","); for (i = 1; i <= n; i++) printf "%s=%s ", h[i], v[i]}' "$RUN/actor-$1.csv" 2>/dev/null; }
RUN=$(mktemp -d /tmp/dqnlm-once.XXXXXX)
trap 'stop_all; [ "${ok:-0}" = 1 ] && rm -rf "$RUN" || { show_logs; echo "run folder kept: $RUN"; }' EXIT

STEPS=40000
common=(--set run.dir="$RUN" --set env.name=chain --set env.chain_length=8 --set dqn.n_step=3
        --set dqn.hidden=512,512 --set run.seed=11 --set actor.count=2)
# replay.stop_grace = 0: the server stops at once, while the actors stream on
# (with a grace it would take their INSERTs for the whole grace instead).
replay_args=(--set replay.capacity=1000000 --set replay.checkpoint="$RUN/replay.ckpt" --set replay.restore=true
             --set replay.stop_grace=0)

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
wait_pid "$replay_pid" 30 "the replay server (SIGTERM, final checkpoint)" || fail "replay server exited with $? at SIGTERM"
test_pids=("${actors[@]}")   # the stopped server is no longer ours to signal
mv "$RUN/replay.log" "$RUN/replay-1.log"
sleep 0.3   # the actors stall on their full windows meanwhile
start replay "$B/replay_server/dqnlm-replay" "${common[@]}" "${replay_args[@]}"
replay_pid=${test_pids[-1]}

for a in 0 1; do
    st=0
    wait_pid "${actors[$a]}" 120 "actor $a (last metrics: $(last_row $a))" || st=$?
    [ "$st" = 0 ] || fail "actor $a exited with $st; last metrics: $(last_row $a)"
done
test_pids=("$replay_pid")

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

# the resend of actor 0's last INSERT: its stream's run id and seq next-1
run=$(sed -n 's/.*actor 0: INSERT stream run \([0-9a-f]*\).*/\1/p' "$RUN/actor0.log")
inserts=$(sed -n 's/.*over [0-9]* transitions; \([0-9]*\) INSERTs.*/\1/p' "$RUN/actor0.log")
dim=$(sed -n 's/.*env(s), obs_dim \([0-9]*\),.*/\1/p' "$RUN/actor0.log" | head -n 1)
[ -n "$run" ] && [ -n "$inserts" ] && [ -n "$dim" ] || fail "actor 0's log lacks its run id, INSERT count or obs_dim"
dup=$("$B/tests/actor_replay_check" "$EP" --resend 0 "$run" $((inserts - 1)) "$dim" 2>&1) ||
    fail "the resend of seq $((inserts - 1)) was not acknowledged (exit $?): $dup"
echo "resend of actor 0 seq $((inserts - 1)): $dup"
read -r _ _ d _ _ _ d0 d1 _ s0 s1 <<<"$dup"
[ "$d" = 1 ] || fail "the resent INSERT was not acknowledged as a duplicate"
[ "$d1" = $((d0 + 1)) ] || fail "the server's duplicates counter went from $d0 to $d1, expected +1"
[ "$s1" = "$s0" ] || fail "the server's size went from $s0 to $s1 on a duplicate"
echo "PASS: every transition arrived exactly once across a replay-server restart"
ok=1
