#!/bin/bash
# run_report.sh BUILD_DIR - dqnlm-report on one run folder, while the run is
# going and after it ended. An unbounded chain job (deploy/run-local.sh,
# learner.updates = 0, 2 actors) is started; once learner.csv and the actors'
# CSVs have rows, `dqnlm-report --dir RUN` must succeed on the files being
# written and call the run running; then the job is stopped (SIGINT to its
# process group, as Ctrl-C) and the report again must say it ended, with
#   - every figure drawn as PNG and SVG (when gnuplot has a PNG terminal):
#     loss, mean Q, episode return, policy lag, replay size, samples per insert;
#   - summary.md's learner updates equal to the last complete row of
#     learner.csv, its episodes the rows of the actors' episode CSVs;
#   - half a row appended to learner.csv (a row being written) left out.
set -uo pipefail
B=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
export DQNLM_BUILD=$B OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
D=$(mktemp -d /tmp/dqnlm-runreport.XXXXXX)
R=$D/run
pid=""
trap '[ -z "$pid" ] || kill -INT -- -"$pid" 2>/dev/null; [ "${ok:-0}" = 1 ] && rm -rf "$D" ||
      { tail -n 20 "$D"/*.log "$R"/logs/*.log "$R"/report/gnuplot.log 2>/dev/null; echo "test folder kept: $D"; }' EXIT
fail() { echo "FAIL: $*"; exit 1; }
report() { "$B/learner/tools/dqnlm-report" --dir "$R" "$@" >"$D/report.log" 2>&1 || { cat "$D/report.log"; fail "dqnlm-report --dir RUN failed"; }; }
rows() { [ -f "$1" ] && echo $(($(wc -l <"$1") - 1)) || echo 0; }

set -m
"$src/deploy/run-local.sh" --profile chain --actors 2 --ranks 1 --run-dir "$R" \
    --set learner.updates=0 --set learner.metrics_every=50 --set actor.metrics_every=200 >"$D/out.log" 2>&1 &
pid=$!
set +m
for ((i = 0; i < 900; i++)); do
    [ "$(rows "$R/learner.csv")" -ge 3 ] && [ "$(rows "$R/actor-1.csv")" -ge 2 ] && break
    kill -0 "$pid" 2>/dev/null || fail "the job ended before it could be reported on"
    sleep 0.2
done
[ "$(rows "$R/learner.csv")" -ge 3 ] || fail "no learner.csv rows after 180 s"

# while it runs
[ ! -f "$R/replay.status" ] || fail "replay.status exists while the job runs"
report
grep -q 'State: \*\*running\*\*' "$R/report/summary.md" || fail "the report of a running job does not say running"
kill -0 "$pid" 2>/dev/null || fail "the job ended during the first report"
echo "report while running: $(grep 'learner updates' "$R/report/summary.md")"

# stop it (Ctrl-C), then report the ended run
kill -INT -- -"$pid"
wait "$pid"
pid=""
[ -f "$R/replay.status" ] || fail "no replay.status after the stop"
printf '99.9,999999,0.5' >>"$R/learner.csv" # half a row, as if being written
report
md=$R/report/summary.md
grep -q 'State: \*\*ended\*\*: replay server stopped (exit 0), 2 of 2 actors' "$md" || fail "the report does not say the job ended: $(grep State "$md")"
want=$(awk -F, 'NR > 1 && $2 != 999999 {u = $2} END {print u}' "$R/learner.csv")
grep -q "| learner updates | $want after " "$md" || fail "summary's learner updates are not the last complete row ($want): $(grep 'learner updates' "$md")"
grep -q 999999 "$R/report/learner.dat" && fail "the half-written row was read"
eps=$(($(rows "$R/actor-0-episodes.csv") + $(rows "$R/actor-1-episodes.csv")))
grep -q "| actors | 2; [0-9]* env steps, $eps episodes" "$md" || fail "summary's episodes are not $eps: $(grep '| actors' "$md")"
for s in loss q_mean return policy_lag replay_size samples_per_insert; do
    [ -f "$R/report/$s.gp" ] || fail "no $s.gp"
done
if gnuplot -e 'set terminal pngcairo' 2>/dev/null || gnuplot -e 'set terminal png' 2>/dev/null; then
    for s in loss q_mean return policy_lag replay_size samples_per_insert; do
        for e in png svg; do
            [ "$(stat -c %s "$R/report/$s.$e" 2>/dev/null || echo 0)" -gt 1000 ] || fail "$s.$e was not drawn"
        done
        grep -q "!\[$s\]($s.png)" "$md" || fail "summary.md does not show $s.png"
    done
fi
echo "report after the stop: $want updates, $eps episodes; figures in $R/report"
sed -n '/^| quantity/,/^$/p' "$md"
ok=1
