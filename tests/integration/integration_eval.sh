#!/bin/bash
# integration_eval.sh BUILD_DIR - dqnlm-eval end to end on the LM environment,
# kept tiny (2 held-out instances, 4 env steps, one baseline, one tuning LR):
#   - the tables list the controller and the baseline at the instance LR and at
#     the tuned LR, with finite statistics, and episodes.csv holds every episode;
#   - the baselines' numbers do not depend on the Q-network (same instances);
#   - a Q-network of the wrong shape is refused with a message naming both shapes.
set -euo pipefail
B=$(cd "$1" && pwd)
OUT=$(mktemp -d /tmp/dqnlm-eval.XXXXXX)
trap '[ "${ok:-0}" = 1 ] && rm -rf "$OUT" || echo "kept: $OUT"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$B/tests/make_qnet" "$OUT/a.bin" 9 3 16,16 1
"$B/tests/make_qnet" "$OUT/b.bin" 9 3 16,16 2
"$B/tests/make_qnet" "$OUT/wrong.bin" 8 2 16 3
common=(--set env.name=lm --set lm.episode_steps=4 --set lm.opt_steps=2 --set lm.val_batches=1
        --set lm.sizes=1x16x2x16 --set lm.heldout_sizes=1x16x2x16 --set lm.batch_sizes=4
        --set eval.instances=2 --set eval.tune_instances=1 --set eval.lr_grid=0.003
        --set eval.baselines=constant --set eval.workers=2 --set eval.boot=200)

for q in a b; do
    "$B/learner/tools/dqnlm-eval" "${common[@]}" --qnet "$OUT/$q.bin" --out "$OUT/$q" >"$OUT/$q.txt" 2>"$OUT/$q.log" ||
        { cat "$OUT/$q.log"; fail "dqnlm-eval exited with an error"; }
    [ "$(tail -n +2 "$OUT/$q/summary.csv" | wc -l)" = 3 ] || fail "summary.csv should have 3 methods"
    [ "$(tail -n +2 "$OUT/$q/episodes.csv" | wc -l)" = 6 ] || fail "episodes.csv should have 6 episodes"
    grep -q '^| controller (greedy Q) | instance | [0-9]' "$OUT/$q.txt" || fail "no controller row in the table"
    grep -q '^| constant | tuned: 0.003 | [0-9]' "$OUT/$q.txt" || fail "no tuned baseline row"
    awk -F, 'NR > 1 && ($3 == "nan" || $3 + 0 <= 0) {exit 1}' "$OUT/$q/summary.csv" || fail "non-finite IQM"
done
cmp -s <(grep '^"constant"' "$OUT/a/episodes.csv") <(grep '^"constant"' "$OUT/b/episodes.csv") ||
    fail "baseline episodes differ between two evaluations of the same instances"

if "$B/learner/tools/dqnlm-eval" "${common[@]}" --qnet "$OUT/wrong.bin" --out "$OUT/w" 2>"$OUT/w.log"; then
    fail "a Q-network of the wrong shape was accepted"
fi
grep -q "maps 8 -> 2, the LM environment needs 9 -> 3" "$OUT/w.log" || { cat "$OUT/w.log"; fail "unclear shape error"; }
echo "dqnlm-eval: tables, determinism of the baselines, shape check: ok"
ok=1
