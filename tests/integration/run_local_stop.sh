#!/bin/bash
# run_local_stop.sh BUILD_DIR - deploy/run-local.sh stops a job in order on
# Ctrl-C. An unbounded chain job (learner.updates = 0) is started in a
# process group of its own; once the learner has published weights, SIGINT
# goes to that whole group, as a terminal's Ctrl-C does. Then
#   - run-local.sh exits 130 and no process of the job is left;
#   - every part stopped in order, by the files it wrote: each actor's
#     actor-ID.status (stopped_at) before the learner's qnet.bin (mtime),
#     before the replay server's replay.status (stopped_at);
#   - the actors flushed to a live server: transitions acknowledged, exit 0.
# Then a job with a budget (learner.updates = 1500, the chain profile's rate
# limiter on): the learner group spends it, writes learner.done and keeps
# sampling (learner.linger) while the actors are stopped, so they drain:
#   - run-local.sh exits 0, the learner saved after exactly 1500 updates;
#   - every actor exited 0 with unacknowledged = 0 (nothing held back by the
#     rate limiter is lost).
set -uo pipefail
B=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
source "$src/deploy/ini.sh"
export DQNLM_BUILD=$B
D=$(mktemp -d /tmp/dqnlm-rlstop.XXXXXX)
pid=""
trap '[ -z "$pid" ] || kill -INT -- -"$pid" 2>/dev/null; [ "${ok:-0}" = 1 ] && rm -rf "$D" ||
      { tail -n 20 "$D/out.log" "$D"/run/logs/*.log 2>/dev/null; echo "test folder kept: $D"; }' EXIT
fail() { echo "FAIL: $*"; exit 1; }

set -m # the job in a process group of its own, as a shell runs a command
"$src/deploy/run-local.sh" --profile chain --actors 2 --ranks 2 --run-dir "$D/run" \
    --set learner.updates=0 --set learner.metrics_every=50 >"$D/out.log" 2>&1 &
pid=$!
set +m
for ((i = 0; i < 600; i++)); do
    v=$(awk -F, 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "weights_version") c = i; next} {x = $c} END {print x + 0}' \
        "$D/run/learner.csv" 2>/dev/null || echo 0)
    [ "${v:-0}" -ge 5 ] && break
    kill -0 "$pid" 2>/dev/null || fail "run-local.sh ended before it was interrupted"
    sleep 0.2
done
[ "${v:-0}" -ge 5 ] || fail "the learner did not publish weights within 120 s"
kill -INT -- -"$pid"
wait "$pid" && st=0 || st=$?
pid=""
[ "$st" = 130 ] || fail "interrupted run-local.sh exited $st, expected 130"
pgrep -f "$D/run" >/dev/null && fail "processes of the job still run: $(pgrep -af "$D/run")"

learner_t=$(stat -c %.6Y "$D/run/qnet.bin" 2>/dev/null) || fail "no qnet.bin after the interruption"
[ -f "$D/run/replay.status" ] || fail "the replay server wrote no replay.status"
replay_t=$(dq_ini_get "$D/run/replay.status" replay stopped_at)
[ "$(dq_ini_get "$D/run/replay.status" replay exit)" = 0 ] || fail "the replay server did not exit 0"
for a in 0 1; do
    f=$D/run/actor-$a.status
    [ -f "$f" ] || fail "actor $a wrote no status"
    [ "$(dq_ini_get "$f" actor exit)" = 0 ] || fail "actor $a did not exit 0"
    acked=$(dq_ini_get "$f" actor acknowledged)
    [ "${acked:-0}" -gt 0 ] || fail "actor $a: no transitions acknowledged"
    actor_t=$(dq_ini_get "$f" actor stopped_at)
    awk -v a="$actor_t" -v l="$learner_t" -v r="$replay_t" 'BEGIN {exit !(a < l && l < r)}' ||
        fail "stop order: actor $a at $actor_t, learner saved at $learner_t, replay at $replay_t"
    echo "actor $a stopped at $actor_t ($acked acknowledged)"
done
echo "learner saved at $learner_t, replay server stopped at $replay_t"
grep -q 'stop requested (SIGINT)' "$D/out.log" || fail "run-local.sh did not report the stop"

timeout 120 "$src/deploy/run-local.sh" --profile chain --actors 2 --ranks 2 --run-dir "$D/budget" \
    --set learner.updates=1500 --set learner.min_replay=1000 >"$D/budget.log" 2>&1 && st=0 || st=$?
[ "$st" = 0 ] || { tail -n 20 "$D/budget.log"; fail "the budgeted job exited $st, expected 0"; }
grep -q "saved the Q-network after 1500 updates" "$D/budget/logs/learner-0.log" || fail "the learner did not save after 1500 updates"
[ -f "$D/budget/learner.done" ] || fail "no learner.done after the budget was spent"
# The progress lines sum the actors: env steps, episodes and a throughput.
grep -qE '\| actors: [0-9]+ env steps, [0-9]+ episodes, [0-9.]+ steps/s' "$D/budget.log" ||
    fail "no progress line with the actors' figures"
for a in 0 1; do
    f=$D/budget/actor-$a.status
    [ "$(dq_ini_get "$f" actor exit)" = 0 ] || fail "budgeted job: actor $a exited $(dq_ini_get "$f" actor exit)"
    [ "$(dq_ini_get "$f" actor unacknowledged)" = 0 ] ||
        fail "budgeted job: actor $a lost $(dq_ini_get "$f" actor unacknowledged) transitions"
    echo "budgeted job: actor $a: $(dq_ini_get "$f" actor acknowledged) of $(dq_ini_get "$f" actor transitions) acknowledged"
done
ok=1
