#!/bin/bash
# weights_epoch.sh BUILD_DIR - an actor takes the weights of a freshly
# restarted learner at once, although their versions are lower than those
# of the learner it had (WEIGHTS carry the publishing learner's run id;
# docs/protocol.md 2.7).
#
# A replay server, a learner group (mpirun -np 1) and an actor on the chain.
# Once the actor uses weights version >= 30, the group is stopped and a new
# one started from scratch on the same weights endpoint: its versions count
# from 1 again (and slowly: it publishes every 1000 updates). Within a bounded wait the actor logs that it took the new
# run's weights at a version below the one it held, and its policy_lag is
# small again (it is measured within the new run).
set -uo pipefail
B=$(cd "$1" && pwd)
source "$(dirname "$0")/../tools/lib.sh"
RUN=$(mktemp -d /tmp/dqnlm-epoch.XXXXXX)
trap 'stop_all; [ -z "${lp:-}" ] || kill -USR1 "$lp" 2>/dev/null; wait 2>/dev/null;
      [ "${ok:-0}" = 1 ] && rm -rf "$RUN" || { show_logs; echo "run folder kept: $RUN"; }' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# col NAME: the actor's last value of a metrics column (0 before any row)
col() { awk -F, -v c="$1" 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == c) k = i; next} {v = $k} END {print v + 0}' "$RUN/actor-0.csv" 2>/dev/null || echo 0; }

start replay "$B/replay_server/dqnlm-replay" --set run.dir="$RUN" --set 'replay.endpoint=tcp://127.0.0.1:*'
wait_file "$RUN/replay.endpoint" || exit 1
EP=$(cat "$RUN/replay.endpoint")
learner() { # learner NAME WEIGHTS_ENDPOINT [--set ...]
    local name=$1 wep=$2
    shift 2
    mpirun -np 1 --oversubscribe "$B/learner/dqnlm-learner" --set run.dir="$RUN" --set replay.endpoint="$EP" \
        --set learner.weights_endpoint="$wep" --set learner.min_replay=200 --set learner.publish_every=5 \
        "$@" >"$RUN/$name.log" 2>&1 &
    lp=$!
}
learner learner-a 'tcp://127.0.0.1:*'
wait_file "$RUN/weights.endpoint" || exit 1
WEP=$(cat "$RUN/weights.endpoint")
start actor "$B/actor/dqnlm-actor" --set run.dir="$RUN" --set replay.endpoint="$EP" \
    --set learner.weights_endpoint="$WEP" --set actor.metrics_every=5000 --set actor.drain_timeout=2
for ((i = 0; i < 300; i++)); do [ "$(col weights_version)" -ge 30 ] && break; sleep 0.1; done
va=$(col weights_version)
[ "$va" -ge 30 ] || fail "the actor did not get weights version 30 from the first learner within 30 s (has $va)"

kill -USR1 "$lp"
wait "$lp" || fail "the first learner group exited $? on SIGUSR1"
rm -f "$RUN/weights.endpoint"
# The restarted group finds a full replay and trains at thousands of
# updates a second: publishing every 1000 updates keeps its versions low
# (about 7 a second) so that the switch is to a lower version than the
# first group's (at least 30) unless the actor needs seconds to reconnect.
learner learner-b "$WEP" --set learner.publish_every=1000
wait_file "$RUN/weights.endpoint" || exit 1
# the actor's log line for the switch: "weights of learner run R from version
# X, a new run (had run R0 version Y)"
switch() { grep -o "weights of learner run [0-9a-f]* from version [0-9]*, a new run (had run [0-9a-f]* version [0-9]*)" "$RUN/actor.log" | tail -n 1; }
for ((i = 0; i < 200; i++)); do [ -n "$(switch)" ] && break; sleep 0.1; done
line=$(switch)
[ -n "$line" ] || fail "the actor never took the restarted learner's weights within 20 s"
x=$(awk '{print $NF}' <<<"${line%%,*}") y=$(sed 's/.* version \([0-9]*\))$/\1/' <<<"$line")
echo "actor: $line"
[ "$x" -lt "$y" ] || fail "the switch was to version $x from $y: not a lower version"
sleep 1
lag=$(col policy_lag)
echo "actor: took version $x of the restarted learner over version $y of the first; policy_lag now $lag"
[ "$lag" -lt 50 ] || fail "policy_lag $lag after taking the new run's weights"
kill -USR1 "$lp"
wait "$lp" || fail "the second learner group exited $? on SIGUSR1"
lp=""
echo "PASS: a restarted learner's weights are taken at once, whatever their version"
ok=1
