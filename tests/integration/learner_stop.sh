#!/bin/bash
# learner_stop.sh BUILD_DIR - how an `mpirun -np 2 dqnlm-learner` group ends,
# by its exit status and messages:
#   1. no replay server at all, learner.replay_timeout = 2: the group gives up
#      with an ERROR naming the endpoint and the timeout, and mpirun exits
#      non-zero (within seconds, not never);
#   2. the replay server stops answering during training (SIGSTOP): the
#      group gives up after learner.replay_timeout, saves qnet.bin, exits 1;
#   3. a clean stop while training exits 0, both the way the launchers do it
#      (SIGUSR1 to mpirun, which forwards it to every rank) and with SIGTERM
#      to the ranks (scancel, a terminal's Ctrl-C to the group); rank 0 logs
#      "done" and saves qnet.bin. (mpirun's own SIGTERM aborts the job with
#      status 1 whatever the ranks do: Open MPI's design, docs/deploy.md.)
set -uo pipefail
B=$(cd "$1" && pwd)
source "$(dirname "$0")/../tools/lib.sh"
RUN=$(mktemp -d /tmp/dqnlm-lstop.XXXXXX)
trap 'stop_all; [ "${ok:-0}" = 1 ] && rm -rf "$RUN" || { show_logs; echo "run folder kept: $RUN"; }' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mpi=(mpirun -np 2 --oversubscribe "$B/learner/dqnlm-learner")

# wait_exit PID SECONDS: the exit status of PID, or fails if it runs longer
wait_exit() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$1" 2>/dev/null && { kill -KILL "$1"; fail "$3 still running after $2 s"; }
    wait "$1"
}

# 1. nobody at the replay endpoint
"${mpi[@]}" --set run.dir="$RUN/none" --set replay.endpoint=tcp://127.0.0.1:1 \
    --set 'learner.weights_endpoint=tcp://127.0.0.1:*' --set learner.replay_timeout=2 >"$RUN/none.log" 2>&1 &
wait_exit $! 30 "a learner group without a replay server" && st=0 || st=$?
[ "$st" != 0 ] || fail "a learner group without a replay server exited 0"
grep -q "ERROR.*no reply from the replay server at tcp://127.0.0.1:1 for [0-9]* s (learner.replay_timeout = 2 s); giving up" "$RUN/none.log" ||
    fail "no ERROR naming the endpoint and learner.replay_timeout"
echo "1. no replay server: mpirun exited $st: $(grep -o 'no reply from.*giving up' "$RUN/none.log" | head -n 1)"

# a replay server, a learner group and an actor on the chain
start_job() {
    rm -f "$RUN"/*.endpoint "$RUN/qnet.bin" "$RUN/learner.csv"
    test_pids=()
    start replay "$B/replay_server/dqnlm-replay" --set run.dir="$RUN" --set 'replay.endpoint=tcp://127.0.0.1:*'
    wait_file "$RUN/replay.endpoint" || exit 1
    EP=$(cat "$RUN/replay.endpoint")
    "${mpi[@]}" --set run.dir="$RUN" --set replay.endpoint="$EP" --set 'learner.weights_endpoint=tcp://127.0.0.1:*' \
        --set learner.min_replay=200 --set learner.metrics_every=20 "$@" >"$RUN/learner-$name.log" 2>&1 &
    lp=$!
    wait_file "$RUN/weights.endpoint" || exit 1
    start actor "$B/actor/dqnlm-actor" --set run.dir="$RUN" --set replay.endpoint="$EP" \
        --set learner.weights_endpoint="$(cat "$RUN/weights.endpoint")" --set actor.drain_timeout=2
    local i
    for ((i = 0; i < 300; i++)); do
        [ "$(tail -n 1 "$RUN/learner.csv" 2>/dev/null | cut -d, -f2)" -ge 100 ] 2>/dev/null && return 0
        sleep 0.1
    done
    fail "$name: the learner group did not train within 30 s"
}

# 2. the replay server stops answering
name=lost start_job --set learner.replay_timeout=2
kill -STOP "${test_pids[0]}"
wait_exit "$lp" 30 "a learner group whose replay server stopped" && st=0 || st=$?
kill -CONT "${test_pids[0]}"
[ "$st" != 0 ] || fail "a learner group that lost its replay server exited 0"
grep -q "ERROR.*lost the replay server.*exiting 1" "$RUN/learner-lost.log" || fail "no ERROR about the lost replay server"
[ -s "$RUN/qnet.bin" ] || fail "no qnet.bin saved after losing the replay server"
echo "2. replay server stopped answering: mpirun exited $st, qnet.bin saved"
stop_all

# 3. clean stops
for how in usr1-mpirun term-ranks; do
    name=$how start_job
    if [ $how = usr1-mpirun ]; then
        kill -USR1 "$lp"
    else
        ranks=$(pgrep -P "$lp" -f dqnlm-learner) || fail "no learner ranks under mpirun $lp"
        kill -TERM $ranks
    fi
    wait_exit "$lp" 30 "a stopped learner group" && st=0 || st=$?
    [ "$st" = 0 ] || fail "$how: the stopped learner group exited $st, expected 0"
    grep -q "learner.0.* done: [0-9]* updates" "$RUN/learner-$how.log" || fail "$how: rank 0 did not log done"
    [ -s "$RUN/qnet.bin" ] || fail "$how: no qnet.bin"
    echo "3. $how: mpirun exited 0; $(grep -o 'done: [0-9]* updates' "$RUN/learner-$how.log")"
    stop_all
done
echo "PASS: the learner group gives up loudly without a replay server and stops cleanly with 0"
ok=1
