#!/bin/bash
# replay_stop_grace.sh BUILD_DIR - a plain scancel: the replay server and the
# actors get SIGTERM at the same moment while the rate limiter holds the
# actors' INSERTs back (no learner). The server's stop grace (replay.stop_grace)
# stores the waiting inserts and takes the actors' last ones before its final
# checkpoint:
#   - both actors exit 0, with unacknowledged = 0 in RUN/actor-N.status and
#     every transition they handed over acknowledged;
#   - the server exits 0 and logs how many inserts it took in the grace (some
#     of which had waited for the rate limiter);
#   - a server restarted from the final checkpoint holds exactly the
#     transitions the actors counted as acknowledged (size and the multiset
#     content hash the actors logged);
#   - against an actor that streams on, SIGTERM twice within 1 s is one stop
#     (the grace runs to replay.stop_grace), a second SIGTERM later ends it.
set -euo pipefail
B=$(cd "$1" && pwd)
source "$(dirname "$0")/../tools/lib.sh"
source "$(dirname "$0")/../../deploy/ini.sh"
RUN=$(mktemp -d /tmp/dqnlm-grace.XXXXXX)
trap 'stop_all; [ "${ok:-0}" = 1 ] && rm -rf "$RUN" || { show_logs; echo "run folder kept: $RUN"; }' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# wait_pid PID SECONDS WHAT : bounded wait; fails naming WHAT; returns its status
wait_pid() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$1" 2>/dev/null && fail "$3 still running after $2 s"
    wait "$1"
}

common=(--set run.dir="$RUN" --set env.name=chain --set actor.count=2)
ckpt=(--set replay.checkpoint="$RUN/replay.ckpt" --set replay.capacity=100000)
# wait_timeout_ms is long: the actors' inserts stay waiting in the server.
start replay "$B/replay_server/dqnlm-replay" "${common[@]}" "${ckpt[@]}" \
    --set 'replay.endpoint=tcp://127.0.0.1:*' --set replay.rate_limit=true \
    --set replay.samples_per_insert=1 --set replay.min_size_to_sample=200 \
    --set replay.max_insert_batch=32 --set replay.max_sample_batch=32 \
    --set replay.wait_timeout_ms=60000 --set replay.stop_grace=8 --set replay.stop_quiet=1
wait_file "$RUN/replay.endpoint"
EP=$(cat "$RUN/replay.endpoint")
replay_pid=${test_pids[0]}
for a in 0 1; do
    start "actor$a" "$B/actor/dqnlm-actor" "${common[@]}" --id $a --set replay.endpoint="$EP" \
        --set 'learner.weights_endpoint=tcp://127.0.0.1:1' --set actor.batch=32 \
        --set actor.max_unacked=4 --set actor.metrics_every=50 --set actor.ack_timeout=5 \
        --set actor.drain_timeout=10
done
actors=("${test_pids[@]:1}")
wait_file "$RUN/actor-0.csv"
wait_file "$RUN/actor-1.csv"
sleep 2 # long enough to fill the server up to where the limiter holds INSERTs
for p in "$replay_pid" "${actors[@]}"; do kill -0 "$p" 2>/dev/null || fail "pid $p exited before the stop"; done

t0=$(date +%s.%N)
kill -TERM "$replay_pid" "${actors[@]}"
for a in 0 1; do
    st=0
    wait_pid "${actors[$a]}" 30 "actor $a (SIGTERM, drain)" || st=$?
    [ "$st" = 0 ] || fail "actor $a exited $st after a simultaneous SIGTERM"
done
ta=$(date +%s.%N)
st=0
wait_pid "$replay_pid" 30 "the replay server (SIGTERM, stop grace)" || st=$?
tr=$(date +%s.%N)
test_pids=()
[ "$st" = 0 ] || fail "the replay server exited $st"
echo "actors exited 0 after $(awk -v a="$t0" -v b="$ta" 'BEGIN {printf "%.2f", b - a}') s," \
    "the replay server after $(awk -v a="$t0" -v b="$tr" 'BEGIN {printf "%.2f", b - a}') s"

line=$(grep "taken in the grace" "$RUN/replay.log") || fail "no grace summary in the server's log"
echo "server: ${line#*INFO}"
waited=$(sed -n 's/.*items, \([0-9]*\) of them had waited.*/\1/p' <<<"$line")
[ "${waited:-0}" -gt 0 ] || fail "no insert was waiting for the rate limiter at the stop: the test did not test"
[ "$(dq_ini_get "$RUN/replay.status" replay exit)" = 0 ] || fail "replay.status exit is not 0"

total=0 hash=0
for a in 0 1; do
    f=$RUN/actor-$a.status
    [ "$(dq_ini_get "$f" actor exit)" = 0 ] || fail "actor $a: status exit = $(dq_ini_get "$f" actor exit)"
    un=$(dq_ini_get "$f" actor unacknowledged) acked=$(dq_ini_get "$f" actor acknowledged)
    sent=$(dq_ini_get "$f" actor transitions)
    [ "$un" = 0 ] || fail "actor $a: unacknowledged = $un"
    [ "$acked" = "$sent" ] || fail "actor $a: $acked acknowledged of $sent sent"
    l=$(grep -o "content hash [0-9a-f]* over [0-9]* transitions" "$RUN/actor$a.log") ||
        fail "actor $a logged no content hash"
    h=$(awk '{print $3}' <<<"$l") n=$(awk '{print $5}' <<<"$l")
    [ "$n" = "$acked" ] || fail "actor $a: hash over $n transitions, $acked acknowledged"
    echo "actor $a: $acked transitions acknowledged, hash $h"
    total=$((total + acked))
    hash=$((hash + 16#$h))
done
want=$(printf '%016x' "$hash")

# The final checkpoint, read back by a fresh server (no limiter: the check samples).
mv "$RUN/replay.log" "$RUN/replay-1.log"
rm -f "$RUN/replay.endpoint"
start replay "$B/replay_server/dqnlm-replay" "${common[@]}" "${ckpt[@]}" --set replay.restore=true \
    --set 'replay.endpoint=tcp://127.0.0.1:*'
wait_file "$RUN/replay.endpoint"
got=$("$B/tests/actor_replay_check" "$(cat "$RUN/replay.endpoint")") ||
    fail "could not read the restored table back: $got"
echo "actors: $total acknowledged, hash $want; restored server: $got"
[ "$(awk '{print $2}' <<<"$got")" = "$total" ] ||
    fail "the restored server holds $(awk '{print $2}' <<<"$got") items, the actors had $total acknowledged"
[ "$(awk '{print $6}' <<<"$got")" = "$want" ] || fail "content hash differs"
grep -q "replayed [1-9]" "$RUN/replay.log" && fail "the final checkpoint left inserts to the log"
stop_all
echo "PASS: a simultaneous SIGTERM loses nothing: the stop grace stored every actor's last inserts"

# How the grace ends while an actor streams on (its INSERTs never pause):
# SIGTERM twice within 1 s (as scancel delivers it, directly and through
# cluster-task.sh) is one stop: the grace runs to replay.stop_grace; a second
# SIGTERM later ends it at once.
grace_case() { # NAME GAP: SIGTERM, sleep GAP, SIGTERM; sets r to the end reason and seconds
    local name=$1 gap=$2 dir=$RUN/$1 pid a t0 t1 st=0
    mkdir -p "$dir"
    start "replay-$name" "$B/replay_server/dqnlm-replay" --set run.dir="$dir" --set env.name=chain \
        --set actor.count=1 --set 'replay.endpoint=tcp://127.0.0.1:*' --set replay.stop_grace=3
    pid=${test_pids[-1]}
    wait_file "$dir/replay.endpoint"
    start "actor-$name" "$B/actor/dqnlm-actor" --set run.dir="$dir" --set env.name=chain \
        --set actor.count=1 --id 0 --set replay.endpoint="$(cat "$dir/replay.endpoint")" \
        --set 'learner.weights_endpoint=tcp://127.0.0.1:1' --set actor.drain_timeout=1
    wait_file "$dir/actor-0.csv"
    t0=$(date +%s.%N)
    kill -TERM "$pid"
    sleep "$gap"
    kill -TERM "$pid"
    wait_pid "$pid" 15 "the replay server ($name)" || st=$?
    t1=$(date +%s.%N)
    [ "$st" = 0 ] || fail "$name: the replay server exited $st"
    a=$(sed -n 's/.*taken in the grace.*; it ended: //p' "$RUN/replay-$name.log")
    r="$a after $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}') s"
    stop_all
}
grace_case dup 0.1
echo "SIGTERM twice 0.1 s apart: the grace ended: $r"
[[ $r == "replay.stop_grace is over"* ]] || fail "a repeated SIGTERM within 1 s ended the grace: $r"
grace_case second 1.5
echo "SIGTERM again after 1.5 s: the grace ended: $r"
[[ $r == "a second stop signal"* ]] || fail "a second SIGTERM did not end the grace: $r"
ok=1
