#!/bin/bash
# ablation_variants.sh BUILD_DIR - deploy/ablate.sh over a non-exploration
# key, locally: the chain-gamma ablation (deploy/ablations/chain-gamma.ini,
# dqn.gamma 0.9 vs 0.5 with dqn.n_step 2, 2 seeds each) runs to the end and
#   - the manifest has one row per variant x seed with its settings;
#   - each run's config.ini has its variant's values and the seed, the rest
#     held fixed (the report says which keys the variants set, finds no other
#     difference) and every run DONE;
#   - the report has a row per variant, counts 4 finished runs and warns
#     that 2 seeds make the bootstrap intervals meaningless;
#   - bad specs are refused before anything runs, naming the bad value: an
#     unknown key in a variant, a [schedule] that sets something else than
#     exploration, --partition without --slurm;
#   - the same grid as a --grid file (a named line, an unnamed one) with the
#     held-fixed overrides as --set, one seed: the same base.ini, manifest
#     rows of the same variants and settings, every run DONE with its
#     settings, a report of 2 finished runs; bad grid files (a line that is
#     not section.key=value, two lines of one name, an unknown key) and
#     --seeds with a SPEC are refused naming the file and line or option.
set -uo pipefail
B=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
source "$src/deploy/ini.sh"
export DQNLM_BUILD=$B OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
D=$(mktemp -d /tmp/dqnlm-ablvar.XXXXXX)
trap '[ "${ok:-0}" = 1 ] && rm -rf "$D" || { tail -n 30 "$D"/*.log "$D"/abl/logs/*.log 2>/dev/null; echo "test folder kept: $D"; }' EXIT
fail() { echo "FAIL: $*"; exit 1; }
spec=$src/deploy/ablations/chain-gamma.ini

# refusals, before anything runs
refused() { # refused NAME PATTERN ARGS...: exit 2 and the message
    local n=$1 pat=$2
    shift 2
    "$src/deploy/ablate.sh" "$@" --dir "$D/bad-$n" >"$D/bad-$n.log" 2>&1 && fail "$n: accepted"
    grep -q -- "$pat" "$D/bad-$n.log" || { cat "$D/bad-$n.log"; fail "$n: no message '$pat'"; }
    [ ! -f "$D/bad-$n/manifest.tsv" ] || fail "$n: a manifest was written"
}
sed 's/^dqn.gamma = 0.5$/dqn.gama = 0.5/' "$spec" >"$D/typo.ini"
refused typo "variant gamma-0.5: bad settings 'dqn.gama=0.5" "$D/typo.ini"
printf '[ablation]\nname = x\n[schedule s]\nexploration = 0.1\nlm.schedule = cosine\n' >"$D/sched.ini"
refused schedule "a \[schedule\] sets only exploration" "$D/sched.ini"
refused partition "are for --slurm" "$spec" --partition debug

t0=$SECONDS
"$src/deploy/ablate.sh" "$spec" --dir "$D/abl" --jobs 1 >"$D/run.log" 2>&1 || fail "the ablation failed"
echo "4 runs and the report in $((SECONDS - t0)) s"
grep -q 'ablation chain-gamma: 2 variants x 2 seeds = 4 runs' "$D/run.log" || fail "ablate.sh did not plan 2 variants x 2 seeds"
m=$D/abl/manifest.tsv
[ "$(head -n 1 "$m")" = "$(printf 'index\tvariant\tsettings\tseed\trun')" ] || fail "manifest header: $(head -n 1 "$m")"
grep -qP '^2\tgamma-0.5\tdqn.gamma=0.5 dqn.n_step=2\t1\truns/gamma-0.5/seed-1$' "$m" || fail "no gamma-0.5 seed-1 row: $(cat "$m")"
for v in 0.9 0.5; do
    for s in 1 2; do
        r=$D/abl/runs/gamma-$v/seed-$s
        [ -f "$r/DONE" ] || fail "$r not DONE"
        g=$(dq_ini_get "$r/config.ini" dqn gamma)
        awk -v g="$g" -v v="$v" 'BEGIN {exit !(g + 0 == v + 0)}' || fail "$r: dqn.gamma = $g, expected $v"
        [ "$(dq_ini_get "$r/config.ini" run seed)" = "$s" ] || fail "$r: run.seed"
        [ "$(dq_ini_get "$r/config.ini" learner updates)" = 300 ] || fail "$r: the held-fixed learner.updates"
    done
done
[ "$(dq_ini_get "$D/abl/runs/gamma-0.5/seed-1/config.ini" dqn n_step)" = 2 ] || fail "gamma-0.5 has not dqn.n_step 2"
[ "$(dq_ini_get "$D/abl/runs/gamma-0.9/seed-1/config.ini" dqn n_step)" = 1 ] || fail "gamma-0.9 has not the base dqn.n_step"
md=$D/abl/report/report.md
grep -q '4 planned runs; \*\*4 finished\*\*' "$md" || fail "the report does not count 4 finished runs"
grep -q 'what the variants set (`dqn.gamma`, `dqn.n_step`' "$md" || fail "the report does not name the varied keys"
grep -q '\*\*differs\*\*' "$md" && fail "the report finds differences beyond the variants: $(grep differs "$md")"
grep -q '^| gamma-0.9 | `dqn.gamma=0.9` | 2/2 | ' "$md" || fail "no gamma-0.9 row in the final table"
grep -q '^| gamma-0.5 | `dqn.gamma=0.5 dqn.n_step=2` | 2/2 | ' "$md" || fail "no gamma-0.5 row in the final table"
grep -q '\*\*Warning:\*\* gamma-0.5 has 2 finished seeds' "$md" || fail "no warning about 2 seeds"
[ -s "$D/abl/report/final.csv" ] && [ -s "$D/abl/report/curve_return.dat" ] || fail "report tables missing"
sed -n '/^| variant | settings | runs/,/^$/p' "$md"

# The same grid as a --grid file, one seed.
printf '# the chain-gamma variants\ngamma-0.9: dqn.gamma=0.9\n\ndqn.gamma=0.5 dqn.n_step=2\n' >"$D/gamma.txt"
gsets=(--set learner.updates=300 --set learner.min_replay=200 --set learner.metrics_every=50 --set actor.metrics_every=100)
printf 'dqn.gamma 0.5\n' >"$D/g-form.txt"
refused g-form "g-form.txt:1: 'dqn.gamma' is not section.key=value" --grid "$D/g-form.txt"
printf 'a: dqn.gamma=0.5\na: dqn.gamma=0.9\n' >"$D/g-twice.txt"
refused g-twice "g-twice.txt:2: variant 'a' is also line 1" --grid "$D/g-twice.txt"
printf 'dqn.gama=0.5\n' >"$D/g-key.txt"
refused g-key "variant gama-0.5: bad settings 'dqn.gama=0.5'" --grid "$D/g-key.txt"
refused g-seeds "--seeds is for --grid without a SPEC" "$spec" --seeds 3
t0=$SECONDS
"$src/deploy/ablate.sh" --grid "$D/gamma.txt" --name chain-gamma --base chain --seeds 1 "${gsets[@]}" \
    --dir "$D/grid" --jobs 1 >"$D/grid.log" 2>&1 || fail "the --grid ablation failed"
echo "--grid: 2 runs and the report in $((SECONDS - t0)) s"
grep -q 'ablation chain-gamma: 2 variants x 1 seeds = 2 runs' "$D/grid.log" || fail "--grid did not plan 2 variants x 1 seed"
diff <(grep -v '^dir = ' "$D/abl/base.ini") <(grep -v '^dir = ' "$D/grid/base.ini") || fail "--grid with --set gives another base.ini than the spec"
diff <(awk -F'\t' 'NR == 1 || $4 == 1 {print $2 "\t" $3 "\t" $4}' "$m") \
     <(awk -F'\t' '{print $2 "\t" $3 "\t" $4}' "$D/grid/manifest.tsv" | sed 's/^gamma-0.5_n_step-2\t/gamma-0.5\t/') ||
    fail "the --grid manifest differs from the spec's seed-1 rows"
grep -qP '^1\tgamma-0.5_n_step-2\tdqn.gamma=0.5 dqn.n_step=2\t1\truns/gamma-0.5_n_step-2/seed-1$' "$D/grid/manifest.tsv" ||
    fail "the unnamed line is not variant gamma-0.5_n_step-2: $(cat "$D/grid/manifest.tsv")"
r=$D/grid/runs/gamma-0.5_n_step-2/seed-1
[ -f "$r/DONE" ] && [ -f "$D/grid/runs/gamma-0.9/seed-1/DONE" ] || fail "a --grid run is not DONE"
[ "$(dq_ini_get "$r/config.ini" dqn n_step)" = 2 ] || fail "$r has not dqn.n_step 2"
grep -q '^\[variant gamma-0.9\]$' "$D/grid/spec.ini" || fail "spec.ini of the --grid ablation lacks its variants"
grep -q '2 planned runs; \*\*2 finished\*\*' "$D/grid/report/report.md" || fail "the --grid report does not count 2 finished runs"
grep -q '^| gamma-0.5_n_step-2 | `dqn.gamma=0.5 dqn.n_step=2` | 1/1 | ' "$D/grid/report/report.md" ||
    fail "no gamma-0.5_n_step-2 row in the --grid report"
"$src/deploy/ablate.sh" --grid "$D/gamma.txt" --name chain-gamma --seeds 1 "${gsets[@]}" --dir "$D/grid" \
    --no-report >"$D/grid2.log" 2>&1 || fail "the --grid ablation run again failed"
grep -q '2 finished runs skipped, 0 to run' "$D/grid2.log" || fail "the same --grid command did not resume"
"$src/deploy/ablate.sh" --grid "$D/gamma.txt" --name chain-gamma --seeds 2 "${gsets[@]}" --dir "$D/grid" \
    >"$D/grid3.log" 2>&1 && fail "--grid with other options into the same folder accepted"
grep -q 'holds another ablation' "$D/grid3.log" || fail "no message for --grid with other options: $(cat "$D/grid3.log")"
ok=1
