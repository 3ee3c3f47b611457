#!/bin/bash
# deploy_slurm1.sh BUILD_DIR - the Slurm batch scripts against a real
# single-node Slurm (slurmctld + slurmd + munged of this test only, on
# loopback, ports from $$), with the chain environment:
#   1. sbatch deploy/slurm/dqnlm.sbatch: a short training bounded by
#      learner.updates runs to completion (exit 0) and leaves its checkpoint,
#      metrics, and transitions from every actor in the replay server;
#   2. scancel of an unbounded job: stopped in order — Q-network saved, no
#      process left, job CANCELLED, the batch script's status 143;
#   3. sbatch deploy/slurm/dqnlm-array.sbatch --grid: two array tasks at once,
#      each with its own run folder, seed, settings and ports.
# Needs root and slurm-wlm/munge (skips otherwise). About 30-60 s.
set -uo pipefail
B=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
source "$src/tests/deploy/lib.sh"
dl_require slurmctld slurmd sbatch munged mpirun
D=$(mktemp -d /tmp/dqnlm-slurm1.XXXXXX)
chmod 755 "$D"
export DQNLM_BUILD=$B
cleanup() { dl_slurm1_finish "$D/*.out" "$D/slurm/*.log"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

dl_slurm1_up || exit 1
cd "$D"
sets=(--profile chain --bind 127.0.0.1 --set learner.min_replay=1000 --set learner.metrics_every=50)

# 1. A plain job to completion.
t0=$SECONDS
jid=$(sbatch --parsable -N 1 -n 4 -t 5 -o "$D/plain-%j.out" "$src/deploy/slurm/dqnlm.sbatch" \
      "${sets[@]}" --run-dir "$D/plain" --set learner.updates=1500) || fail "sbatch refused the job"
jobs_started=$jid
state=$(dl_wait_job "$jid" 90)
[ "$state" = COMPLETED ] || fail "plain job ended $state"
scontrol show job -o "$jid" | grep -q 'ExitCode=0:0' || fail "plain job exit code not 0:0"
dl_check_run "$D/plain" 1500 || exit 1
echo "plain job: completed in $((SECONDS - t0)) s"

# 2. scancel of a job without a budget.
t0=$SECONDS
jid=$(sbatch --parsable -N 1 -n 4 -t 5 -o "$D/cancel-%j.out" "$src/deploy/slurm/dqnlm.sbatch" \
      "${sets[@]}" --run-dir "$D/cancel" --set learner.updates=0) || fail "sbatch refused the job"
jobs_started=$jid
for ((i = 0; i < 300; i++)); do
    v=$(awk -F, 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "weights_version") c = i; next} {x = $c} END {print x + 0}' \
        "$D/cancel/learner.csv" 2>/dev/null || echo 0)
    [ "${v:-0}" -ge 5 ] && break
    sleep 0.2
done
[ "${v:-0}" -ge 5 ] || fail "the unbounded job did not publish weights within 60 s"
scancel "$jid"
state=$(dl_wait_job "$jid" 60)
[ "$state" = CANCELLED ] || fail "cancelled job ended $state"
[ -s "$D/cancel/qnet.bin" ] || fail "no checkpoint after scancel"
grep -q "saved the Q-network" "$D"/cancel/logs/learner-0.log || fail "the learner did not save after scancel"
grep -q "stop requested (SIGTERM)" "$D"/cancel-"$jid".out || fail "the batch script did not shut down in order"
pgrep -f "$D/cancel" >/dev/null && fail "processes of the cancelled job still run: $(pgrep -af "$D/cancel")"
echo "scancel: stopped in order in $((SECONDS - t0)) s, checkpoint written"

# 3. A job array over a two-line grid, both tasks at once.
t0=$SECONDS
printf '# learning rate per task\nlearner.lr=0.002\n\nlearner.lr=0.0005\n' >"$D/grid.txt"
jid=$(sbatch --parsable --array=0-1 -N 1 -n 3 -t 5 -o "$D/array-%A_%a.out" "$src/deploy/slurm/dqnlm-array.sbatch" \
      "${sets[@]}" --run-dir "$D/array" --set learner.updates=800 --grid "$D/grid.txt") || fail "sbatch refused the array"
jobs_started=$jid
for t in 0 1; do
    state=$(dl_wait_job "${jid}_$t" 90)
    [ "$state" = COMPLETED ] || fail "array task $t ended $state"
    dl_check_run "$D/array/task-$t" 800 || exit 1
done
grep -q '^lr = 0\.002' "$D/array/task-0/config.ini" && grep -q '^lr = 0\.0005' "$D/array/task-1/config.ini" ||
    fail "array tasks did not get their grid lines"
s0=$(sed -n 's/^seed = //p' "$D/array/task-0/config.ini") s1=$(sed -n 's/^seed = //p' "$D/array/task-1/config.ini")
[ "$s0" != "$s1" ] || fail "array tasks share seed $s0"
[ "$(cat "$D/array/task-0/replay.endpoint")" != "$(cat "$D/array/task-1/replay.endpoint")" ] || fail "array tasks share a port"
echo "array: 2 tasks completed in $((SECONDS - t0)) s"
jobs_started=""
ok=1
