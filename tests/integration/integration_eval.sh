#!/bin/bash
# integration_eval.sh BUILD_DIR - dqnlm-eval end to end on the LM environment,
# kept tiny (2 held-out instances, 4 env steps, one baseline, one tuning LR):
#   - the tables list the controller and the baseline at the instance LR and at
#     the tuned LR, with finite statistics, and episodes.csv holds every episode;
#   - the baselines' numbers do not depend on the Q-network (same instances);
#   - trajectories.csv holds every decision of every episode, its last
#     validation loss is the episode's final one, the return-to-go of the last
#     state is 0; episodes.csv records the LR each episode started from;
#   - calibration.csv has a row per decision index over both episodes, and the
#     trajectory figures' scripts are written (and drawn where gnuplot runs);
#   - eval.set=train evaluates fresh seeds of the training sizes; lm.lr fixes
#     every episode's initial LR;
#   - dqnlm-lmtrain --qnet --instance reproduces a controller episode exactly;
#   - a Q-network of the wrong shape is refused with a message naming both shapes;
#   - a Q-network brings the configuration it was trained with (used without
#     --config, --set on top, replaced by --config), and one trained for another
#     observation version, action set or action kind is refused by dqnlm-eval
#     and dqnlm-lmtrain naming both values; one without a description (format
#     2) is evaluated with a warning.
set -euo pipefail
B=$(cd "$1" && pwd)
OUT=$(mktemp -d /tmp/dqnlm-eval.XXXXXX)
trap '[ "${ok:-0}" = 1 ] && rm -rf "$OUT" || echo "kept: $OUT"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

common=(--set env.name=lm --set lm.episode_steps=4 --set lm.opt_steps=2 --set lm.val_batches=1
        --set lm.sizes=1x16x2x16 --set lm.heldout_sizes=1x16x2x16 --set lm.batch_sizes=4
        --set eval.instances=2 --set eval.tune_instances=1 --set eval.lr_grid=0.003
        --set eval.baselines=constant --set eval.workers=2 --set eval.boot=200)
"$B/tests/make_qnet" "$OUT/a.bin" 9 3 16,16 1 "${common[@]}"
"$B/tests/make_qnet" "$OUT/b.bin" 9 3 16,16 2 "${common[@]}"
"$B/tests/make_qnet" "$OUT/wrong.bin" 8 2 16 3 "${common[@]}"

for q in a b; do
    "$B/learner/tools/dqnlm-eval" "${common[@]}" --qnet "$OUT/$q.bin" --out "$OUT/$q" >"$OUT/$q.txt" 2>"$OUT/$q.log" ||
        { cat "$OUT/$q.log"; fail "dqnlm-eval exited with an error"; }
    [ "$(tail -n +2 "$OUT/$q/summary.csv" | wc -l)" = 3 ] || fail "summary.csv should have 3 methods"
    [ "$(tail -n +2 "$OUT/$q/episodes.csv" | wc -l)" = 6 ] || fail "episodes.csv should have 6 episodes"
    grep -q '^| controller (greedy Q) | instance | [0-9]' "$OUT/$q.txt" || fail "no controller row in the table"
    grep -q '^| constant | tuned: 0.003 | [0-9]' "$OUT/$q.txt" || fail "no tuned baseline row"
    grep -q "the tuning cost 1 training runs" "$OUT/$q.txt" || fail "the tuning cost is not stated"
    awk -F, 'NR > 1 && ($3 == "nan" || $3 + 0 <= 0) {exit 1}' "$OUT/$q/summary.csv" || fail "non-finite IQM"
done
# 6 episodes x 5 states (reset + 4 decisions)
[ "$(tail -n +2 "$OUT/a/trajectories.csv" | wc -l)" = 30 ] || fail "trajectories.csv should have 30 rows"
awk -F, 'NR == FNR {if (FNR > 1 && $5 == 4) {last[$1 "," $2 "," $3] = $10; if ($12 != 0) bad = 1}; next}
         FNR > 1 {k = $1 "," $2 "," $4; if (!(k in last) || (last[k] - $6) ^ 2 > 1e-10) bad = 1}
         END {exit bad}' "$OUT/a/trajectories.csv" "$OUT/a/episodes.csv" ||
    fail "trajectories.csv does not end where episodes.csv does"
awk -F, 'NR > 1 && !($3 > 0) {exit 1}' "$OUT/a/episodes.csv" || fail "an episode without its starting LR"
[ "$(awk -F, 'NR > 1 && $2 == 2' "$OUT/a/calibration.csv" | wc -l)" = 4 ] ||
    fail "calibration.csv should have 4 decision indices over 2 episodes"
[ -s "$OUT/a/traj-median-lr.gp" ] && [ -s "$OUT/a/traj-median.dat" ] || fail "no trajectory figure scripts"
if command -v gnuplot >/dev/null; then
    [ -s "$OUT/a/traj-median-lr.png" ] && [ -s "$OUT/a/traj-median-bpb.svg" ] || fail "no trajectory figures"
fi
"$B/learner/tools/dqnlm-eval" "${common[@]}" --qnet "$OUT/a.bin" --set eval.set=train --out "$OUT/t" >"$OUT/t.txt" 2>"$OUT/t.log" ||
    { cat "$OUT/t.log"; fail "dqnlm-eval eval.set=train exited with an error"; }
grep -q "on 2 train instances" "$OUT/t.txt" || fail "eval.set=train does not say what it evaluated"
cmp -s <(cut -d, -f4 "$OUT/a/episodes.csv") <(cut -d, -f4 "$OUT/t/episodes.csv") &&
    fail "eval.set=train ran the held-out instances"
# lm.lr fixes every instance's initial LR, for the controller too
"$B/learner/tools/dqnlm-eval" "${common[@]}" --qnet "$OUT/a.bin" --set lm.lr=0.005 --set eval.tune_instances=0 \
    --out "$OUT/f" >/dev/null 2>"$OUT/f.log" || { cat "$OUT/f.log"; fail "dqnlm-eval with lm.lr failed"; }
awk -F, 'NR > 1 && $3 != 0.005 {exit 1}' "$OUT/f/episodes.csv" || fail "lm.lr=0.005 did not fix the initial LR of every episode"
seed=$(awk -F, 'NR > 1 && $1 == "\"controller\"" {print $4; exit}' "$OUT/a/episodes.csv")
want=$(awk -F, -v s="$seed" 'NR > 1 && $1 == "\"controller\"" && $4 == s {print $6}' "$OUT/a/episodes.csv")
"$B/learner/tools/dqnlm-lmtrain" "${common[@]}" --qnet "$OUT/a.bin" --instance-set heldout --instance "$seed" \
    --curve "$OUT/lmtrain.csv" 2>"$OUT/lmtrain.log" || { cat "$OUT/lmtrain.log"; fail "dqnlm-lmtrain --qnet failed"; }
got=$(tail -1 "$OUT/lmtrain.csv" | cut -d, -f6)
[ "$got" = "$want" ] || fail "dqnlm-lmtrain --qnet on instance $seed ends at $got bits/byte, dqnlm-eval at $want"
cmp -s <(grep '^"constant"' "$OUT/a/episodes.csv") <(grep '^"constant"' "$OUT/b/episodes.csv") ||
    fail "baseline episodes differ between two evaluations of the same instances"

if "$B/learner/tools/dqnlm-eval" "${common[@]}" --qnet "$OUT/wrong.bin" --out "$OUT/w" 2>"$OUT/w.log"; then
    fail "a Q-network of the wrong shape was accepted"
fi
grep -q "trained for observations of 8 entries (obs_dim), this run has 9" "$OUT/w.log" ||
    { cat "$OUT/w.log"; fail "unclear shape error"; }

# The trained configuration comes with the Q-network: lm.lr=0.004 and the tiny
# sizes of the description apply without --config or --set.
"$B/tests/make_qnet" "$OUT/c.bin" 9 3 16,16 4 "${common[@]}" --set lm.lr=0.004 --set eval.tune_instances=0
"$B/learner/tools/dqnlm-eval" --qnet "$OUT/c.bin" --out "$OUT/c" >/dev/null 2>"$OUT/c.log" ||
    { cat "$OUT/c.log"; fail "dqnlm-eval with the trained configuration failed"; }
grep -q "using the configuration $OUT/c.bin was trained with" "$OUT/c.log" || fail "the adopted configuration is not logged"
[ "$(tail -n +2 "$OUT/c/episodes.csv" | wc -l)" = 4 ] || fail "the trained eval.instances=2 was not used"
awk -F, 'NR > 1 && $3 != 0.004 {exit 1}' "$OUT/c/episodes.csv" || fail "the trained lm.lr=0.004 was not used"
# --config replaces it (lm.lr = 0: the instances' own LRs)
"$B/learner/tools/dqnlm-eval" "${common[@]}" --print-config >"$OUT/given.ini"
"$B/learner/tools/dqnlm-eval" --config "$OUT/given.ini" --qnet "$OUT/c.bin" --set eval.tune_instances=0 \
    --out "$OUT/g" >/dev/null 2>"$OUT/g.log" || { cat "$OUT/g.log"; fail "dqnlm-eval --config failed"; }
awk -F, 'NR > 1 && $3 == 0.004 {exit 1}' "$OUT/g/episodes.csv" || fail "--config did not replace the trained configuration"

# Mismatches are refused, naming both values (exit 2, before any episode).
refused() { # WANT LOG CMD...: CMD exits 2 and its stderr holds WANT
    local want=$1 log=$2
    shift 2
    local rc=0
    "$@" >/dev/null 2>"$log" || rc=$?
    [ "$rc" = 2 ] || { cat "$log"; fail "exit $rc, not 2, for: $want"; }
    grep -qF "$want" "$log" || { cat "$log"; fail "no clear refusal: $want"; }
}
refused "trained for lm.actions = 0.5,1,2, this run has lm.actions = 0.25,1,4" "$OUT/m1.log" \
    "$B/learner/tools/dqnlm-eval" "${common[@]}" --qnet "$OUT/a.bin" --set lm.actions=0.25,1,4 --out "$OUT/m1"
refused "trained for lm.actions = 0.5,1,2, this run has lm.actions = 0.25,1,4" "$OUT/m2.log" \
    "$B/learner/tools/dqnlm-lmtrain" "${common[@]}" --qnet "$OUT/a.bin" --set lm.actions=0.25,1,4 --curve "$OUT/m2.csv"
"$B/tests/make_qnet" "$OUT/v0.bin" 9 3 16,16 5 "${common[@]}" --obs-version 0
refused "trained for observation version 0 of the lm environment, this build computes version 1" "$OUT/m3.log" \
    "$B/learner/tools/dqnlm-eval" --qnet "$OUT/v0.bin" --out "$OUT/m3"
refused "trained for observation version 0 of the lm environment, this build computes version 1" "$OUT/m4.log" \
    "$B/learner/tools/dqnlm-lmtrain" --qnet "$OUT/v0.bin" --curve "$OUT/m4.csv"
"$B/tests/make_qnet" "$OUT/set.bin" 9 3 16,16 6 "${common[@]}" --set lm.action_kind=set --set lm.actions=0.001,0.003,0.01
refused "trained for lm.action_kind = set, this run has lm.action_kind = multiply" "$OUT/m5.log" \
    "$B/learner/tools/dqnlm-eval" --config "$OUT/given.ini" --qnet "$OUT/set.bin" --out "$OUT/m5"
# A file without a description: the given configuration, with a warning.
"$B/tests/make_qnet" "$OUT/bare.bin" 9 3 16,16 1 --bare
"$B/learner/tools/dqnlm-eval" "${common[@]}" --qnet "$OUT/bare.bin" --set eval.tune_instances=0 --out "$OUT/bare" \
    >/dev/null 2>"$OUT/bare.log" || { cat "$OUT/bare.log"; fail "a Q-network without description was refused"; }
grep -q "carries no description" "$OUT/bare.log" || fail "no warning for a Q-network without description"
"$B/tests/make_qnet" "$OUT/bare8.bin" 8 2 16 3 --bare
refused "Q-network maps 8 -> 2, the lm environment needs 9 -> 3" "$OUT/m6.log" \
    "$B/learner/tools/dqnlm-eval" "${common[@]}" --qnet "$OUT/bare8.bin" --out "$OUT/m6"
# The tools run the LM environment whatever env.name says: a file without a
# description runs with the defaults (env.name = chain), and a controller
# described as the chain's is refused by name.
"$B/learner/tools/dqnlm-lmtrain" --qnet "$OUT/bare.bin" --set lm.episode_steps=2 --set lm.opt_steps=2 \
    --set lm.val_batches=1 --set lm.sizes=1x16x2x16 --set lm.batch_sizes=4 --curve "$OUT/bare.csv" \
    >/dev/null 2>"$OUT/bare-lmtrain.log" || { cat "$OUT/bare-lmtrain.log"; fail "dqnlm-lmtrain refused a 9 -> 3 Q-network without description"; }
"$B/tests/make_qnet" "$OUT/chain.bin" 8 2 16 7 --set env.name=chain
refused "the Q-network was trained for env.name = chain, this run has env.name = lm" "$OUT/m7.log" \
    "$B/learner/tools/dqnlm-eval" "${common[@]}" --qnet "$OUT/chain.bin" --out "$OUT/m7"
echo "dqnlm-eval: tables, trajectories, calibration, figures, determinism of the baselines, shape check, trained configuration, refusals: ok"
ok=1
