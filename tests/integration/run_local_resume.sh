#!/bin/bash
# run_local_resume.sh BUILD_DIR - deploy/run-local.sh --resume RUN continues a
# stopped run. A chain job with a budget of 3000 updates is interrupted
# (SIGINT to its process group, as Ctrl-C) after 600 or more updates, then
# resumed until the budget is spent:
#   - the first run exits 130 and leaves learner.ckpt and replay.ckpt (run-local
#     configures replay.checkpoint into the run folder);
#   - the resumed run exits 0 having done 3000 updates in all, the learner
#     resumed from the update it stopped at, the replay server restored what
#     the table held at the stop (its item count), the learner's first rows
#     after the resume see that many items or more;
#   - learner.csv has one header and across the boundary updates and time_s
#     strictly increase and the timers wait_s, compute_s, allreduce_s never
#     decrease;
#   - each actor's actor-ID.csv and actor-ID-episodes.csv have one header and
#     rows after the resume, and across the boundary time_s, env_steps,
#     episodes and the sent/acked counters never decrease (a restarted clock
#     or counter would fall back to about 0; rows are written within a
#     millisecond on the chain, so time_s may repeat): the resumed actors
#     continue them;
#   - the resumed run's progress lines show only rows of its own.
set -uo pipefail
B=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
source "$src/deploy/ini.sh"
export DQNLM_BUILD=$B
D=$(mktemp -d /tmp/dqnlm-resume.XXXXXX)
pid=""
trap '[ -z "$pid" ] || kill -INT -- -"$pid" 2>/dev/null; [ "${ok:-0}" = 1 ] && rm -rf "$D" ||
      { tail -n 20 "$D"/out*.log "$D"/run/logs/*.log 2>/dev/null; echo "test folder kept: $D"; }' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run=$D/run
col() { awk -F, -v c="$1" 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == c) k = i; next} {x = $k} END {print x + 0}' "$2"; }

set -m # the job in a process group of its own, as a shell runs a command
"$src/deploy/run-local.sh" --profile chain --actors 2 --ranks 2 --run-dir "$run" \
    --set learner.updates=3000 --set learner.metrics_every=50 >"$D/out1.log" 2>&1 &
pid=$!
set +m
for ((i = 0; i < 600; i++)); do
    u=$(col updates "$run/learner.csv" 2>/dev/null || echo 0)
    [ "${u:-0}" -ge 600 ] && break
    kill -0 "$pid" 2>/dev/null || fail "run-local.sh ended before it was interrupted"
    sleep 0.2
done
[ "${u:-0}" -ge 600 ] || fail "the learner did not reach 600 updates within 120 s"
kill -INT -- -"$pid"
wait "$pid" && st=0 || st=$?
pid=""
[ "$st" = 130 ] || fail "interrupted run-local.sh exited $st, expected 130"
[ -s "$run/learner.ckpt" ] || fail "no learner.ckpt after the interruption"
[ -s "$run/replay.ckpt" ] || fail "no replay.ckpt: run-local.sh did not configure replay.checkpoint"
[ "$(dq_ini_get "$run/config.ini" replay checkpoint)" = "$run/replay.ckpt" ] ||
    fail "config.ini: replay.checkpoint is not $run/replay.ckpt"
rows1=$(($(wc -l <"$run/learner.csv") - 1))
declare -A arows1=()
for f in "$run"/actor-[0-9].csv "$run"/actor-[0-9]-episodes.csv; do arows1[$f]=$(($(wc -l <"$f") - 1)); done
last_u=$(col updates "$run/learner.csv") last_t=$(col time_s "$run/learner.csv")
inserted=$(sed -n 's/.*stopping: \([0-9]*\) items inserted.*/\1/p' "$run/logs/replay-0.log")
capacity=$(dq_ini_get "$run/config.ini" replay capacity)
held=$((inserted < capacity ? inserted : capacity))
echo "stopped: $rows1 rows, last at update $last_u, time_s $last_t; the table held $held items"
[ "$held" -gt 0 ] || fail "the replay server held nothing at the stop"

"$src/deploy/run-local.sh" --resume "$run" >"$D/out2.log" 2>&1 && st=0 || st=$?
[ "$st" = 0 ] || fail "run-local.sh --resume exited $st"
grep -q "saved the Q-network after 3000 updates" "$run/logs/learner-0.log" || fail "the resumed learner did not finish its budget"
from=$(sed -n 's/.*resumed from .* at update \([0-9]*\),.*/\1/p' "$run/logs/learner-0.log")
[ -n "$from" ] && [ "$from" -ge "$last_u" ] || fail "the learner did not resume from update >= $last_u (log says '${from:-nothing}')"
restored=$(sed -n 's/.*restored \([0-9]*\) items.*/\1/p' "$run/logs/replay-0.log")
[ "${restored:-0}" = "$held" ] || fail "the replay server restored '${restored:-nothing}' items, the table held $held"
echo "resumed: learner from update $from, replay with $restored items"
[ -f "$run/logs/config-before-resume-1.ini" ] || fail "the configuration before the resume was not kept"
[ "$(dq_ini_get "$run/config.ini" learner resume)" = true ] || fail "config.ini of the resumed run lacks learner.resume"

[ "$(grep -c '^time_s,' "$run/learner.csv")" = 1 ] || fail "learner.csv has more than one header"
awk -F, -v rows1="$rows1" -v held="$held" '
    NR == 1 {for (i = 1; i <= NF; i++) c[$i] = i; next}
    {u = $c["updates"]; t = $c["time_s"]; w = $c["wait_s"]; k = $c["compute_s"]; a = $c["allreduce_s"]}
    NR > 2 && !(u > pu && t > pt && w >= pw && k >= pk && a >= pa) {
        printf "row %d (update %d, time_s %s, wait_s %s, compute_s %s, allreduce_s %s) after update %d, time_s %s, wait_s %s, compute_s %s, allreduce_s %s\n",
               NR - 1, u, t, w, k, a, pu, pt, pw, pk, pa; bad = 1}
    NR - 1 > rows1 + 1 && $c["replay_size"] < held {printf "row %d: replay_size %s < %d restored\n", NR - 1, $c["replay_size"], held; bad = 1}
    {pu = u; pt = t; pw = w; pk = k; pa = a}
    END {if (NR - 1 <= rows1) {print "no rows after the resume"; bad = 1}; exit bad}' "$run/learner.csv" ||
    fail "learner.csv does not continue across the resume"
echo "learner.csv: $rows1 rows before, $(($(wc -l <"$run/learner.csv") - 1 - rows1)) after, counters and time_s monotone"

# The actors' metric files continue too.
for i in 0 1; do
    f=$run/actor-$i.csv
    [ "$(grep -c '^time_s,' "$f")" = 1 ] || fail "$f has more than one header"
    awk -F, -v rows1="${arows1[$f]}" '
        NR == 1 {for (i = 1; i <= NF; i++) c[$i] = i; next}
        {t = $c["time_s"]; s = $c["env_steps"]; e = $c["episodes"]; x = $c["sent"]; k = $c["acked"]}
        NR > 2 && !(t >= pt && s >= ps && e >= pe && x >= px && k >= pk) {
            printf "row %d (time_s %s, env_steps %s, episodes %s, sent %s, acked %s) after time_s %s, env_steps %s, episodes %s, sent %s, acked %s\n",
                   NR - 1, t, s, e, x, k, pt, ps, pe, px, pk; bad = 1}
        {pt = t; ps = s; pe = e; px = x; pk = k}
        END {if (NR - 1 <= rows1) {print "no rows after the resume"; bad = 1}; exit bad}' "$f" ||
        fail "$f does not continue across the resume"
    f=$run/actor-$i-episodes.csv
    [ "$(grep -c '^time_s,' "$f")" = 1 ] || fail "$f has more than one header"
    awk -F, -v rows1="${arows1[$f]}" '
        NR == 1 {for (i = 1; i <= NF; i++) c[$i] = i; next}
        NR > 2 && !($c["time_s"] >= pt && $c["episode"] > pe) {
            printf "row %d (time_s %s, episode %s) after time_s %s, episode %s\n", NR - 1, $c["time_s"], $c["episode"], pt, pe; bad = 1}
        {pt = $c["time_s"]; pe = $c["episode"]}
        END {if (NR - 1 <= rows1) {print "no rows after the resume"; bad = 1}; exit bad}' "$f" ||
        fail "$f does not continue across the resume"
    grep -q "actor $i: actor.resume: metrics continue at time_s" "$run/logs/actor-$i.log" ||
        fail "actor $i did not log that its metrics continue"
done
echo "actor CSVs: time_s, env_steps, episodes, sent, acked monotone across the resume"

old=$(sed -n 's/^\[ *[0-9]*s\] update \([0-9]*\),.*/\1/p' "$D/out2.log" | awk -v l="$last_u" '$1 <= l' | head -n 3)
[ -z "$old" ] || fail "the resumed run's progress reprinted rows of before: updates $old"
[ -n "$(sed -n 's/^\[ *[0-9]*s\] update \([0-9]*\),.*/\1/p' "$D/out2.log")" ] || fail "the resumed run printed no progress"
ok=1
