#!/bin/bash
# ablation_resume.sh BUILD_DIR - deploy/ablate.sh resumes an interrupted
# ablation and runs only what is missing. The chain-test ablation (2
# schedules x 2 seeds, seconds a run) is started, stopped with SIGTERM once
# two runs are DONE; then
#   - no process of it is left, the interrupted run has no DONE marker;
#   - dqnlm-report lists the runs that did not finish (never drops them);
#   - the same command again skips the finished runs (their DONE files and
#     metrics untouched), starts only the others, and the report then counts
#     every run finished.
set -euo pipefail
B=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
export DQNLM_BUILD=$B OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
D=$(mktemp -d /tmp/dqnlm-ablresume.XXXXXX)
pid=""
trap '[ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null; [ "${ok:-0}" = 1 ] && rm -rf "$D" || { tail -n 30 "$D"/*.log "$D"/abl/logs/*.log 2>/dev/null; echo "test folder kept: $D"; }' EXIT
fail() { echo "FAIL: $*"; exit 1; }
spec=$src/deploy/ablations/chain-test.ini

"$src/deploy/ablate.sh" "$spec" --dir "$D/abl" --jobs 1 >"$D/first.log" 2>&1 &
pid=$!
for ((i = 0; i < 600; i++)); do
    [ "$(ls "$D"/abl/runs/*/seed-*/DONE 2>/dev/null | wc -l)" -ge 2 ] && break
    kill -0 "$pid" 2>/dev/null || fail "the ablation ended before it could be interrupted"
    sleep 0.1
done
kill -TERM "$pid"
wait "$pid" && st=0 || st=$?
pid=""
[ "$st" = 130 ] || fail "interrupted ablate.sh exited $st, expected 130"
pgrep -f "$D/abl" >/dev/null && fail "processes of the interrupted ablation still run: $(pgrep -af "$D/abl")"
done_before=$(cd "$D/abl" && ls runs/*/seed-*/DONE | sort)
n_before=$(echo "$done_before" | wc -l)
[ "$n_before" -ge 2 ] && [ "$n_before" -lt 4 ] || fail "$n_before runs DONE after the interruption"
echo "interrupted with $n_before of 4 runs done"
stamps() { (cd "$D/abl" && for f in $done_before; do stat -c '%n %i %Y' "$f" "$(dirname "$f")/actor-0-episodes.csv"; done); }
before=$(stamps)

# the report of the partial ablation lists what is missing
"$src/deploy/ablate.sh" --report "$D/abl" >"$D/report1.log" 2>&1 || fail "report of the partial ablation failed"
grep -q "$((4 - n_before)) of 4 planned runs are left out" "$D/abl/report/report.md" ||
    fail "the partial report does not list the $((4 - n_before)) unfinished runs"
grep -Eq '\| (unfinished|missing) \|' "$D/abl/report/report.md" || fail "no unfinished/missing row in the report"

# resume: the same command
"$src/deploy/ablate.sh" "$spec" --dir "$D/abl" --jobs 1 >"$D/second.log" 2>&1 || fail "the resumed ablation failed"
grep -q "$n_before finished runs skipped, $((4 - n_before)) to run" "$D/second.log" || fail "resume did not skip the finished runs"
started=$(grep -c 'started run' "$D/second.log")
[ "$started" = $((4 - n_before)) ] || fail "resume started $started runs, expected $((4 - n_before))"
for f in $done_before; do
    grep -q "started run [0-9]*: $(dirname "$f")\$" "$D/second.log" && fail "resume ran the finished $(dirname "$f") again"
done
[ "$(stamps)" = "$before" ] || fail "finished runs were touched by the resume"
[ "$(ls "$D"/abl/runs/*/seed-*/DONE | wc -l)" = 4 ] || fail "not every run DONE after the resume"
grep -q '\*\*4 finished\*\*' "$D/abl/report/report.md" || fail "the final report does not count 4 finished runs"
grep -q 'None: every planned run finished' "$D/abl/report/report.md" || fail "the final report lists missing runs"
echo "resumed: $started runs started, $n_before skipped; report complete"
ok=1
