#!/bin/bash
# ablation_slurm.sh BUILD_DIR - the Slurm path of deploy/ablate.sh on a real
# single-node Slurm (slurmctld + slurmd + munged of this test only, on
# loopback, ports from $$; helpers of tests/deploy_lib.sh): the chain-gamma
# ablation (a non-exploration key: dqn.gamma, 2 variants x 2 seeds) is
# submitted with --slurm and the sbatch options a site needs (--partition,
# --time, --mem, --cpus-per-task, --sbatch-arg) as a job array plus a report
# job that depends on it; the jobs must carry those options, every array task
# must complete with its run DONE and its variant's gamma, the report must
# build and count 4 finished runs. Then one run's DONE is removed and --slurm
# again submits only that run. Then a grid file (ablate.sh --grid, 2 lines x
# 1 seed, the held-fixed overrides as --set) with --mpi pmix_v4 and
# --site-setup: 2 array tasks and the report job complete, each run DONE with
# its line's settings, the learner ranks started with srun --mpi=pmix_v4, the
# hook sourced before the tasks and in the report job, and the report counts
# 2 finished runs of the grid's variants.
# Needs root and slurm-wlm/munge (skips otherwise). About 30-60 s.
set -uo pipefail
B=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
source "$src/tests/deploy/lib.sh"
dl_require slurmctld slurmd sbatch munged mpirun
[ -f "$src/deploy/slurm/job-plain.sh" ] || dl_skip "no deploy/slurm/job-plain.sh"
D=$(mktemp -d /tmp/dqnlm-ablslurm.XXXXXX)
chmod 755 "$D"
export DQNLM_BUILD=$B
cleanup() { dl_slurm1_finish "$D/abl/slurm-*.out" "$D/grid/slurm-*.out" "$D/slurm/*.log" "$D/abl/runs/*/*/logs/train.log" "$D/grid/runs/*/*/logs/train.log"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

dl_slurm1_up || exit 1
cd "$D"

# submit: ablate.sh prints the array job and the report job
submit() {
    "$src/deploy/ablate.sh" "$src/deploy/ablations/chain-gamma.ini" --dir "$D/abl" --slurm \
        --partition debug --time 10 --mem 1 --cpus-per-task 2 --sbatch-arg=--comment=dqnlm-abl >"$D/submit.log" 2>&1 ||
        { cat "$D/submit.log"; fail "ablate.sh --slurm failed"; }
    cat "$D/submit.log"
    array=$(sed -n 's/.*submitted job array \([0-9]*\).*/\1/p' "$D/submit.log")
    report=$(sed -n 's/.*report job \([0-9]*\).*/\1/p' "$D/submit.log")
    [ -n "$report" ] || fail "no report job submitted"
    jobs_started="$array $report"
}
t0=$SECONDS
submit
[ -n "$array" ] || fail "no job array submitted"
# the site's options reached Slurm: the array's tasks and the report job
ja=$(scontrol show job -o "${array}_0" | head -n 1) jr=$(scontrol show job -o "$report" | head -n 1)
for kv in Partition=debug TimeLimit=00:10:00 MinMemoryNode=1M Comment=dqnlm-abl; do
    grep -q " $kv " <<<" $ja " || fail "array task lacks $kv: $ja"
done
grep -q " MinCPUsNode=2 " <<<" $ja " || grep -q " CPUs/Task=2 " <<<" $ja " || fail "array task lacks 2 CPUs per task: $ja"
for kv in Partition=debug TimeLimit=00:10:00 Comment=dqnlm-abl; do
    grep -q " $kv " <<<" $jr " || fail "report job lacks $kv: $jr"
done
state=$(dl_wait_job "$report" 150)
[ "$state" = COMPLETED ] || fail "report job ended $state"
for t in 0 1 2 3; do
    s=$(dl_job_state "${array}_$t")
    [ "$s" = COMPLETED ] || fail "array task $t ended $s"
done
n=$(ls "$D"/abl/runs/*/seed-*/DONE 2>/dev/null | wc -l)
[ "$n" = 4 ] || fail "$n of 4 runs DONE"
grep -q '4 planned runs; \*\*4 finished\*\*' "$D/abl/report/report.md" || fail "the report does not count 4 finished runs"
grep -q 'None: every planned run finished' "$D/abl/report/report.md" || fail "the report lists missing runs"
[ -s "$D/abl/report/final.csv" ] && [ -s "$D/abl/report/improvement.csv" ] || fail "report tables missing"
grep -q "cluster-task: actor rank 0 on" "$D"/abl/runs/gamma-0.5/seed-2/logs/actor-0.log || fail "the run did not go through the cluster tasks"
grep -q '^gamma = 0.5$' "$D/abl/runs/gamma-0.5/seed-2/config.ini" || fail "gamma-0.5 did not run with dqn.gamma 0.5"
grep -q '^| gamma-0.5 | `dqn.gamma=0.5 dqn.n_step=2` | 2/2 |' "$D/abl/report/report.md" || fail "no gamma-0.5 row in the report"
echo "array: 4 runs and the report in $((SECONDS - t0)) s"

# resubmitting after one run lost its DONE marker submits that run only
rm "$D/abl/runs/gamma-0.5/seed-1/DONE"
t0=$SECONDS
submit
grep -q '3 finished runs skipped, 1 to run' "$D/submit.log" || fail "resubmission did not skip the 3 finished runs"
grep -q "submitted job array $array (1 tasks)" "$D/submit.log" || fail "resubmission did not submit exactly one task"
state=$(dl_wait_job "$report" 120)
[ "$state" = COMPLETED ] || fail "second report job ended $state"
s=$(dl_job_state "${array}_2")
[ "$s" = COMPLETED ] || fail "resubmitted task 2 ended $s"
[ -f "$D/abl/runs/gamma-0.5/seed-1/DONE" ] || fail "the resubmitted run is not DONE"
grep -q '\*\*4 finished\*\*' "$D/abl/report/report.md" || fail "the second report does not count 4 finished runs"
echo "resubmission: 1 run and the report in $((SECONDS - t0)) s"

# a grid file instead of a spec, with --mpi and the site hook
printf 'learner.lr=0.002\nslow: learner.lr=0.0005 dqn.gamma=0.5\n' >"$D/grid.txt"
printf 'echo "${SLURM_STEP_ID:-batch} ${SLURM_PROCID:-0}" >>"%s/site-marks.${SLURM_JOB_ID:-none}"\ntrue\n' "$D" >"$D/site.sh"
t0=$SECONDS
"$src/deploy/ablate.sh" --grid "$D/grid.txt" --base chain --seeds 1 --set learner.updates=300 \
    --set learner.min_replay=200 --set learner.metrics_every=50 --set actor.metrics_every=100 \
    --dir "$D/grid" --slurm --time 10 --mpi pmix_v4 --site-setup "$D/site.sh" >"$D/grid-submit.log" 2>&1 ||
    { cat "$D/grid-submit.log"; fail "ablate.sh --grid --slurm failed"; }
array=$(sed -n 's/.*submitted job array \([0-9]*\).*/\1/p' "$D/grid-submit.log")
report=$(sed -n 's/.*report job \([0-9]*\).*/\1/p' "$D/grid-submit.log")
[ -n "$array" ] && [ -n "$report" ] || { cat "$D/grid-submit.log"; fail "--grid: no job array or report job submitted"; }
jobs_started="$array $report"
grep -q 'ablation grid: 2 variants x 1 seeds = 2 runs' "$D/grid-submit.log" || fail "--grid did not plan 2 runs"
state=$(dl_wait_job "$report" 150)
[ "$state" = COMPLETED ] || fail "--grid report job ended $state"
for t in 0 1; do
    s=$(dl_job_state "${array}_$t")
    [ "$s" = COMPLETED ] || fail "--grid array task $t ended $s"
done
r=$D/grid/runs/lr-0.002/seed-1 r2=$D/grid/runs/slow/seed-1
[ -f "$r/DONE" ] && [ -f "$r2/DONE" ] || fail "--grid runs not DONE"
grep -q '^lr = 0\.002$' "$r/config.ini" || fail "lr-0.002 did not run with learner.lr 0.002"
grep -q '^lr = 0\.0005$' "$r2/config.ini" && grep -q '^gamma = 0.5$' "$r2/config.ini" || fail "slow did not get its line's settings"
grep -q "learner group: srun --mpi=pmix_v4" "$r/logs/train.log" || fail "--mpi pmix_v4 did not reach the learner's srun"
grep -q "site setup $D/site.sh sourced" "$r/logs/learner-0.log" || fail "the learner task did not source the site hook"
grep -q "^batch 0$" "$D/site-marks.$report" 2>/dev/null || fail "the report job did not source the site hook"
grep -q '2 planned runs; \*\*2 finished\*\*' "$D/grid/report/report.md" || fail "the --grid report does not count 2 finished runs"
grep -q '^| slow | `learner.lr=0.0005 dqn.gamma=0.5` | 1/1 |' "$D/grid/report/report.md" || fail "no row of variant slow in the --grid report"
echo "--grid: 2 runs and the report in $((SECONDS - t0)) s"
jobs_started=""
ok=1
