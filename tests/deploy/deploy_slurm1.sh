#!/bin/bash
# deploy_slurm1.sh BUILD_DIR - the Slurm batch scripts against a real
# single-node Slurm (slurmctld + slurmd + munged of this test only, on
# loopback, ports from $$), with the chain environment:
#   1. sbatch deploy/slurm/dqnlm.sbatch: a short training bounded by
#      learner.updates runs to completion (exit 0) and leaves its checkpoint,
#      metrics, and transitions from every actor in the replay server;
#   2. scancel of an unbounded job: stopped in order — Q-network saved, no
#      process left, job CANCELLED, the batch script's status 143, every
#      actor drained (exit 0, unacknowledged = 0: the replay server's stop
#      grace took their last inserts, though the learner stopped with them); then
#      sbatch dqnlm.sbatch --resume RUN continues it to a budget (learner and
#      replay restored, learner.csv and the actors' CSVs monotone across the
#      resume);
#   3. sbatch deploy/slurm/dqnlm-array.sbatch: two array tasks at once (seeds
#      of one configuration), each with its own run folder, seed and ports,
#      the --set settings in both, with --mpi pmix_v4 (not the default)
#      reaching the learner's srun; with --grid the job fails at once, its
#      message pointing to deploy/ablate.sh --grid;
#   4. the site-setup hook (DQNLM_SITE_SETUP in job 1, --site-setup in job 3)
#      is sourced in the batch script and before every task: each leaves a
#      marker, and a variable it exports reaches the task; a failing hook
#      fails the job with a message; Open MPI's run-as-root permission is
#      exported only for root.
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

# A site-setup hook as a site writes one (module load ...): it reads an unset
# variable (no set -u), exports a variable and leaves a marker per task.
cat >"$D/site.sh" <<'HOOK'
[ -z "$SITE_UNSET_VARIABLE" ] && export DQ_SITE_MARK=loaded
echo "${SLURMD_NODENAME:-$(hostname)} ${SLURM_STEP_ID:-batch} ${SLURM_PROCID:-0} ${DQ_SITE_MARK:-}" >>"$(dirname "${BASH_SOURCE[0]}")/site-marks.$SLURM_JOB_ID"
true
HOOK
# check_marks JOBID TASKS: the batch script and TASKS tasks sourced the hook.
check_marks() {
    local f=$D/site-marks.$1 n
    [ -s "$f" ] || fail "job $1: the site-setup hook left no marker"
    grep -q ' batch 0 loaded$' "$f" || fail "job $1: the batch script did not source the hook: $(cat "$f")"
    n=$(grep -vc ' batch ' "$f")
    [ "$n" = "$2" ] || fail "job $1: $n task markers, not $2: $(cat "$f")"
    grep -v ' batch ' "$f" | grep -vq ' loaded$' && fail "job $1: the hook's variable was not set in a task"
    echo "site hook: sourced by the batch script and all $2 tasks of job $1"
}

# 1. A plain job to completion.
t0=$SECONDS
jid=$(DQNLM_SITE_SETUP=$D/site.sh sbatch --parsable -N 1 -n 4 -t 5 -o "$D/plain-%j.out" "$src/deploy/slurm/dqnlm.sbatch" \
      "${sets[@]}" --run-dir "$D/plain" --set learner.updates=1500) || fail "sbatch refused the job"
jobs_started=$jid
state=$(dl_wait_job "$jid" 90)
[ "$state" = COMPLETED ] || fail "plain job ended $state"
scontrol show job -o "$jid" | grep 'ExitCode=0:0' >/dev/null || fail "plain job exit code not 0:0"
dl_check_run "$D/plain" 1500 || exit 1
check_marks "$jid" 4
grep -q "srun --mpi=pmix; site setup $D/site.sh" "$D/plain-$jid.out" || fail "plain job: no default --mpi pmix"
echo "plain job: completed in $((SECONDS - t0)) s"

# A hook that fails stops the job before any part starts, saying so.
printf 'false\n' >"$D/bad-site.sh"
jid=$(sbatch --parsable -N 1 -n 4 -t 5 -o "$D/badsite-%j.out" "$src/deploy/slurm/dqnlm.sbatch" \
      "${sets[@]}" --site-setup "$D/bad-site.sh" --run-dir "$D/badsite") || fail "sbatch refused the job"
jobs_started=$jid
state=$(dl_wait_job "$jid" 30)
[ "$state" = FAILED ] || fail "job with a failing site hook ended $state"
grep -q "site setup $D/bad-site.sh failed (status 1)" "$D/badsite-$jid.out" || fail "no message for the failing site hook"
[ -e "$D/badsite/replay.endpoint" ] && fail "the replay server started despite the failing site hook"
echo "failing site hook: job FAILED with the hook named"

# Open MPI's permission to run as root is given to root only.
v=$(env -u OMPI_ALLOW_RUN_AS_ROOT runuser -u nobody -- bash -c \
    "DQ_ROOT='$src'; source '$src/deploy/cluster-lib.sh'; dq_allow_root_mpi; echo \${OMPI_ALLOW_RUN_AS_ROOT:-unset}")
[ "$v" = unset ] || fail "OMPI_ALLOW_RUN_AS_ROOT exported for a user that is not root ($v)"
v=$(env -u OMPI_ALLOW_RUN_AS_ROOT bash -c "DQ_ROOT='$src'; source '$src/deploy/cluster-lib.sh'; dq_allow_root_mpi; echo \$OMPI_ALLOW_RUN_AS_ROOT")
[ "$v" = 1 ] || fail "OMPI_ALLOW_RUN_AS_ROOT not exported for root"

# 2. scancel of a job without a budget.
t0=$SECONDS
jid=$(sbatch --parsable -N 1 -n 4 -t 5 -o "$D/cancel-%j.out" "$src/deploy/slurm/dqnlm.sbatch" \
      "${sets[@]}" --run-dir "$D/cancel" --set learner.updates=0 --set replay.checkpoint="$D/cancel/replay.ckpt") ||
    fail "sbatch refused the job"
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
for f in "$D"/cancel/actor-0.status "$D"/cancel/actor-1.status; do
    [ -f "$f" ] || fail "no $f after scancel"
    a=$(sed -n 's/^exit = //p' "$f") u=$(sed -n 's/^unacknowledged = //p' "$f")
    [ "$a" = 0 ] && [ "$u" = 0 ] || fail "$(basename "$f") after scancel: exit = $a, unacknowledged = $u"
done
g=$(grep -o "[0-9]* inserts ([0-9]* items, [0-9]* of them had waited.* of [0-9.]* s" "$D"/cancel/logs/replay-0.log) ||
    fail "the replay server logged no stop grace"
echo "scancel: stopped in order in $((SECONDS - t0)) s, checkpoint written; actors drained; replay stop grace: $g"

# 2b. The cancelled run resumed (--resume RUN) with a budget: learner and
# replay restored, learner.csv continued with monotone updates and time_s.
t0=$SECONDS
rows=$(($(wc -l <"$D/cancel/learner.csv") - 1))
stop_u=$(sed -n 's/.*saved the Q-network after \([0-9]*\) updates.*/\1/p' "$D/cancel/logs/learner-0.log" | tail -n 1)
budget=$((stop_u + 500))
jid=$(sbatch --parsable -N 1 -n 4 -t 5 -o "$D/resume-%j.out" "$src/deploy/slurm/dqnlm.sbatch" \
      --resume "$D/cancel" --set learner.updates=$budget) || fail "sbatch refused the resume job"
jobs_started=$jid
state=$(dl_wait_job "$jid" 90)
[ "$state" = COMPLETED ] || fail "resume job ended $state"
grep -q "resumed from .* at update $stop_u," "$D/cancel/logs/learner-0.log" || fail "the learner did not resume from update $stop_u"
grep -q "saved the Q-network after $budget updates" "$D/cancel/logs/learner-0.log" || fail "the resumed learner did not reach $budget"
grep -q "restored [1-9][0-9]* items" "$D/cancel/logs/replay-0.log" || fail "the replay server restored nothing"
awk -F, 'NR == 1 {for (i = 1; i <= NF; i++) c[$i] = i; next}
    NR > 2 && !($c["updates"] > u && $c["time_s"] > t) {print "row " NR - 1 ": update " $c["updates"] ", time_s " $c["time_s"]; bad = 1}
    {u = $c["updates"]; t = $c["time_s"]} END {exit bad}' "$D/cancel/learner.csv" ||
    fail "learner.csv not monotone across the resume"
[ "$(($(wc -l <"$D/cancel/learner.csv") - 1))" -gt "$rows" ] || fail "no learner.csv rows after the resume"
for f in "$D"/cancel/actor-[0-9].csv; do
    awk -F, 'NR == 1 {for (i = 1; i <= NF; i++) c[$i] = i; next}
        NR > 2 && !($c["env_steps"] >= s && $c["time_s"] >= t) {print "row " NR - 1 ": env_steps " $c["env_steps"] ", time_s " $c["time_s"]; bad = 1}
        {s = $c["env_steps"]; t = $c["time_s"]} END {exit bad}' "$f" || fail "$f not monotone across the resume"
done
echo "resume: from update $stop_u to $budget in $((SECONDS - t0)) s, $(sed -n 's/.*restored \([0-9]*\) items.*/\1/p' "$D/cancel/logs/replay-0.log") replay items restored"

# 3. A job array of two seeds, both tasks at once.
t0=$SECONDS
jid=$(sbatch --parsable --array=0-1 -N 1 -n 3 -t 5 -o "$D/array-%A_%a.out" "$src/deploy/slurm/dqnlm-array.sbatch" \
      "${sets[@]}" --run-dir "$D/array" --set learner.updates=800 --set learner.lr=0.002 \
      --mpi pmix_v4 --site-setup "$D/site.sh") || fail "sbatch refused the array"
jobs_started=$jid
for t in 0 1; do
    state=$(dl_wait_job "${jid}_$t" 90)
    [ "$state" = COMPLETED ] || fail "array task $t ended $state"
    dl_check_run "$D/array/task-$t" 800 || exit 1
    grep -q "learner group: srun --mpi=pmix_v4;" "$D/array-${jid}_$t.out" || fail "array task $t: --mpi pmix_v4 not used"
    grep -q "site setup $D/site.sh sourced" "$D/array/task-$t/logs/learner-0.log" ||
        fail "array task $t: the learner task did not log the site hook"
    grep -q '^lr = 0\.002' "$D/array/task-$t/config.ini" || fail "array task $t did not get --set learner.lr"
done
s0=$(sed -n 's/^seed = //p' "$D/array/task-0/config.ini") s1=$(sed -n 's/^seed = //p' "$D/array/task-1/config.ini")
[ "$s0" != "$s1" ] || fail "array tasks share seed $s0"
[ "$(cat "$D/array/task-0/replay.endpoint")" != "$(cat "$D/array/task-1/replay.endpoint")" ] || fail "array tasks share a port"
echo "array: 2 tasks completed in $((SECONDS - t0)) s"

# --grid is the ablation runner's: the array job refuses it, pointing there.
printf 'learner.lr=0.002\n' >"$D/grid.txt"
jid=$(sbatch --parsable --array=0 -N 1 -n 3 -t 5 -o "$D/grid-%A_%a.out" "$src/deploy/slurm/dqnlm-array.sbatch" \
      "${sets[@]}" --run-dir "$D/grid" --grid "$D/grid.txt") || fail "sbatch refused the --grid array"
jobs_started=$jid
state=$(dl_wait_job "${jid}_0" 30)
[ "$state" = FAILED ] || fail "dqnlm-array.sbatch --grid ended $state"
grep -q -- "--grid: .*deploy/ablate.sh --grid FILE" "$D/grid-${jid}_0.out" || fail "no message pointing to ablate.sh --grid: $(cat "$D/grid-${jid}_0.out")"
[ -e "$D/grid/task-0/replay.endpoint" ] && fail "dqnlm-array.sbatch --grid started a run"
echo "dqnlm-array.sbatch --grid: refused, pointing to deploy/ablate.sh --grid"
jobs_started=""
ok=1
