#!/bin/bash
# actor_drain.sh BUILD_DIR - an actor stopped while the replay server holds
# its INSERTs back says so and fails: it never reports as delivered what was
# not acknowledged.
#
# dqnlm-replay with a rate limiter and no learner: after replay.min_size_to_sample
# items (plus the error buffer) every INSERT is deferred, so the actor's send
# window fills and stays full. SIGTERM to the actor with actor.drain_timeout = 1:
#   - it exits 1 within the drain timeout (plus start-up slack), not 0;
#   - its log has an ERROR naming how many transitions were not acknowledged,
#     and RUN/actor-0.status has exit = 1 and the same count as unacknowledged;
#   - acknowledged + unacknowledged = every transition it assembled, and the
#     server holds exactly the acknowledged ones.
set -euo pipefail
B=$(cd "$1" && pwd)
source "$(dirname "$0")/../tools/lib.sh"
source "$(dirname "$0")/../../deploy/ini.sh"
RUN=$(mktemp -d /tmp/dqnlm-drain.XXXXXX)
trap 'stop_all; [ "${ok:-0}" = 1 ] && rm -rf "$RUN" || { show_logs; echo "run folder kept: $RUN"; }' EXIT
fail() { echo "FAIL: $*"; exit 1; }

common=(--set run.dir="$RUN" --set env.name=chain --set actor.count=1)
start replay "$B/replay_server/dqnlm-replay" "${common[@]}" --set 'replay.endpoint=tcp://127.0.0.1:*' \
    --set replay.rate_limit=true --set replay.samples_per_insert=1 --set replay.min_size_to_sample=200 \
    --set replay.max_insert_batch=32 --set replay.max_sample_batch=32 --set replay.wait_timeout_ms=300
wait_file "$RUN/replay.endpoint"
EP=$(cat "$RUN/replay.endpoint")
start actor0 "$B/actor/dqnlm-actor" "${common[@]}" --id 0 --set replay.endpoint="$EP" \
    --set 'learner.weights_endpoint=tcp://127.0.0.1:1' --set actor.batch=32 --set actor.max_unacked=4 \
    --set actor.metrics_every=50 --set actor.ack_timeout=5 --set actor.drain_timeout=1
actor_pid=${test_pids[1]}

# The chain steps a million times a second: 2 s after its first metrics row
# the actor has long filled the server up to where the limiter holds INSERTs,
# and its window (the counts below show it did).
wait_file "$RUN/actor-0.csv"
sleep 2
kill -0 "$actor_pid" 2>/dev/null || fail "the actor exited before it was stopped"
t0=$(date +%s.%N)
kill -TERM "$actor_pid"
st=0
for ((i = 0; i < 100; i++)); do kill -0 "$actor_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$actor_pid" 2>/dev/null && fail "the actor was still draining 10 s after SIGTERM (actor.drain_timeout = 1)"
wait "$actor_pid" || st=$?
t1=$(date +%s.%N)
test_pids=("${test_pids[0]}")
echo "actor exited $st after $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s"
[ "$st" = 1 ] || fail "the actor exited $st with transitions unacknowledged, expected 1"

line=$(grep "ERROR" "$RUN/actor0.log" | grep "not acknowledged" | head -n 1)
[ -n "$line" ] || fail "no ERROR about unacknowledged transitions in the actor's log"
echo "log: ${line#*ERROR}"
n=$(sed -n 's/.*actor 0: \([0-9]*\) transition(s) not acknowledged.*/\1/p' <<<"$line")
f=$RUN/actor-0.status
[ -f "$f" ] || fail "no actor-0.status"
[ "$(dq_ini_get "$f" actor exit)" = 1 ] || fail "status exit is $(dq_ini_get "$f" actor exit), expected 1"
un=$(dq_ini_get "$f" actor unacknowledged) acked=$(dq_ini_get "$f" actor acknowledged)
[ "${un:-0}" -gt 0 ] && [ "$un" = "$n" ] || fail "status unacknowledged = '$un', log says '$n'"
sent=$(dq_ini_get "$f" actor transitions)
never=$(sed -n 's/.*: \([0-9]*\) never handed over.*/\1/p' <<<"$line")
[ $((acked + un)) = $((sent + never)) ] ||
    fail "acknowledged $acked + unacknowledged $un != sent $sent + never handed over $never"
got=$("$B/tests/actor_replay_check" "$EP" 2>/dev/null | awk '{print $2}') || true
echo "status: $sent sent, $acked acknowledged, $un unacknowledged ($never never handed over); server holds ${got:-?}"
[ "${got:-x}" = "$acked" ] || fail "the server holds '${got:-?}' items, the actor had $acked acknowledged"
echo "PASS: a stopped actor with unacknowledged transitions names them and exits 1"
ok=1
