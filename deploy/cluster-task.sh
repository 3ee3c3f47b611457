#!/bin/bash
# cluster-task.sh - one task of a cluster job, started by srun or mpirun on
# some node; never run by hand. It names where it runs and then execs the
# program, so that signals from the launcher reach the program itself.
#
#   cluster-task.sh replay|learner|actor RUN_DIR PROGRAM [ARGS...]
#
# - the task's rank comes from the launcher: OMPI_COMM_WORLD_RANK (mpirun),
#   PMIX_RANK (srun --mpi=pmix), SLURM_PROCID (srun);
# - a server task that binds (the replay server, learner rank 0) first writes
#   its node's name to RUN_DIR/ROLE.host; the launcher joins that name with
#   the port the server records in RUN_DIR/ROLE.endpoint (docs/deploy.md);
# - an actor's id is its rank: `--id RANK` is appended to its arguments, and
#   its node's name goes to RUN_DIR/actor-RANK.host (for the job's summary);
# - output goes to RUN_DIR/logs/ROLE-RANK.log;
# - the site's setup file DQNLM_SITE_SETUP (the launchers' --site-setup FILE;
#   `module load ...`, environment variables) is sourced first, without
#   set -eu, on every node; a status other than 0 fails the task (exit 2).
set -euo pipefail
case "${1:-}" in -h|--help) awk 'NR > 1 && /^#SBATCH/ {exit} NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;; esac
[ $# -ge 3 ] || { echo "usage: cluster-task.sh replay|learner|actor RUN_DIR PROGRAM [ARGS...]" >&2; exit 2; }
role=$1 run_dir=$2
shift 2
rank=${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-${SLURM_PROCID:-0}}}
host=${DQNLM_NODE_ADDR:-${SLURMD_NODENAME:-$(hostname)}}
mkdir -p "$run_dir/logs"
exec >"$run_dir/logs/$role-$rank.log" 2>&1
echo "cluster-task: $role rank $rank on $host (pid $$)"
if [ -n "${DQNLM_SITE_SETUP:-}" ]; then
    [ -r "$DQNLM_SITE_SETUP" ] || { echo "cluster-task: DQNLM_SITE_SETUP=$DQNLM_SITE_SETUP: no such readable file on $host" >&2; exit 2; }
    set +eu
    # shellcheck disable=SC1090
    source "$DQNLM_SITE_SETUP"
    st=$?
    set -eu
    [ "$st" = 0 ] || { echo "cluster-task: site setup $DQNLM_SITE_SETUP failed on $host (status $st)" >&2; exit 2; }
    echo "cluster-task: site setup $DQNLM_SITE_SETUP sourced"
fi
record_host() { echo "$host" >"$run_dir/$1.tmp.$$" && mv "$run_dir/$1.tmp.$$" "$run_dir/$1"; }
case "$role" in
replay) record_host replay.host ;;
learner) [ "$rank" != 0 ] || record_host learner.host ;;
actor) record_host "actor-$rank.host"; set -- "$@" --id "$rank" ;;
*) echo "cluster-task.sh: unknown role '$role'" >&2; exit 2 ;;
esac
# mpirun delivers SIGUSR1 to the whole process group: the program ignores it
# (an ignored signal stays ignored across exec) and hears SIGTERM from here.
trap '' USR1
"$@" &
child=$!
# Pass on the first stop only: scancel also signals the program directly, and
# a program takes a third stop signal as "kill now".
forwarded=0
forward() { [ $forwarded = 1 ] || { forwarded=1; kill -TERM "$child" 2>/dev/null || true; }; }
trap forward TERM INT USR1
while :; do
    wait "$child" && rc=0 || rc=$?
    kill -0 "$child" 2>/dev/null || break
done
if [ "$rc" -gt 128 ]; then wait "$child" 2>/dev/null && rc=0 || { r=$?; [ $r = 127 ] || rc=$r; }; fi
echo "cluster-task: $role rank $rank exited with status $rc"
exit "$rc"
