#!/bin/bash
# deploy_slurm3.sh BUILD_DIR - deploy/slurm/dqnlm-het.sbatch on a real Slurm
# built inside fake hosts of this test run (network namespaces behind an
# unreachable route; slurmctld + slurmd on h1, slurmd on h2..h5; a munged of
# this test only), chain environment, learner.updates bounded:
#   1. two components on 3 nodes: replay server + 2 learner ranks on h1,
#      two actors on h2 and h3;
#   2. three components on 5 nodes: replay server on h1, the learner group on
#      h2 and h3 (srun --mpi=pmix across them), two actors on h4 and h5.
# Both with --site-setup FILE: the hook is sourced on every node, by the
# batch script and by every task, each leaving a marker with its host.
# Checks as in deploy_netns_mpirun.sh: servers found by host name,
# transitions from every actor host, weights version advancing at every
# actor, checkpoint and metrics, job COMPLETED with exit code 0.
# Needs root, slurm-wlm, munge, iproute2, unshare (skips otherwise). About 30 s.
set -uo pipefail
B=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
source "$src/tests/deploy/lib.sh"
dl_require ip unshare slurmctld slurmd sbatch munged mpirun
D=$(mktemp -d /tmp/dqnlm-slurm3.XXXXXX)
chmod 755 "$D"
export DQNLM_BUILD=$B
cleanup() {
    [ -n "${jid:-}" ] && dl_on "$h1" scancel "$jid" 2>/dev/null && sleep 2
    [ -n "${h1:-}" ] && dl_slurm_down dl_on "$h1"
    dl_munge_down
    dl_fakehosts_down
    if [ "${ok:-0}" = 1 ]; then rm -rf "$D"; else
        for f in "$D"/*.out "$D"/run/logs/*.log "$D"/slurm/*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 20 "$f"; }; done
        echo "test folder kept: $D"
    fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

dl_fakehosts_up 5 || fail "could not create the fake hosts"
h1=${DL_PFX}h1 h2=${DL_PFX}h2 h3=${DL_PFX}h3 h4=${DL_PFX}h4 h5=${DL_PFX}h5
dl_munge_up || fail "munged did not start"
nodes=""
for i in 1 2 3 4 5; do
    nodes+="NodeName=${DL_PFX}h$i NodeAddr=$DL_NET.$i CPUs=4 State=UNKNOWN"$'\n'
    mkdir -p "$D/slurm/spool-${DL_PFX}h$i" "$D/slurm/tmp-${DL_PFX}h$i"
done
dl_slurm_conf "dq$$" "$h1" "$DL_NET.1" 6817 "$nodes"
dl_on "$h1" /usr/sbin/slurmctld || fail "slurmctld did not start"
for h in "$h1" "$h2" "$h3" "$h4" "$h5"; do dl_on "$h" /usr/sbin/slurmd -N "$h" || fail "slurmd on $h did not start"; done
dl_wait_idle 5 dl_on "$h1" || exit 1

# The site's setup hook: a marker line per sourcing, with the node's name.
cat >"$D/site.sh" <<'HOOK'
echo "${SLURMD_NODENAME:-$(hostname)} ${SLURM_STEP_ID:-batch}" >>"$(dirname "${BASH_SOURCE[0]}")/site-marks.$SLURM_JOB_ID"
HOOK

# het_job NAME ACTOR_HOSTS WEIGHTS_HOSTS HOOK_HOSTS TASKS SBATCH_OPTIONS...: runs one
# job and checks it; HOOK_HOSTS: the sorted hosts where the hook must have run,
# TASKS: how many tasks (besides the batch script) must have sourced it.
het_job() {
    local name=$1 actor_hosts=$2 weights_hosts=$3 hook_hosts=$4 tasks=$5 t0=$SECONDS state out l0 l1 marks
    shift 5
    jid=$(cd "$D" && dl_on "$h1" sbatch --parsable -t 5 -o "$D/$name-%j.out" "$@" \
          "$src/deploy/slurm/dqnlm-het.sbatch" --profile chain --run-dir "$D/$name" --set learner.updates=1000 \
          --set learner.min_replay=1000 --set learner.metrics_every=50 --site-setup "$D/site.sh") ||
        fail "$name: sbatch refused the job"
    state=$(dl_wait_job "$jid" 100 dl_on "$h1")
    [ "$state" = COMPLETED ] || fail "$name: job ended $state"
    # Whole-output readers (sed 1p, not head or grep -q): under pipefail a
    # reader that stops early makes scontrol's SIGPIPE the pipeline's status.
    dl_on "$h1" scontrol show job -o "$jid" | sed -n 1p | grep 'ExitCode=0:0' >/dev/null ||
        fail "$name: exit code not 0:0: $(dl_on "$h1" scontrol show job -o "$jid" | grep -o 'JobId=[^ ]*\|ExitCode=[^ ]*' | tr '\n' ' ')"
    echo "$name: completed in $((SECONDS - t0)) s"
    dl_check_run "$D/$name" 1000 || exit 1
    out=$D/$name-$jid.out
    grep -q "replay server at tcp://$h1:" "$out" || fail "$name: the replay server was not addressed by its host name"
    grep -Eq "weights publisher at tcp://($weights_hosts):" "$out" || fail "$name: the weights publisher was not addressed by its host name"
    [ "$dl_actor_hosts" = "$actor_hosts" ] || fail "$name: actors ran on '$dl_actor_hosts', not on $actor_hosts"
    l0=$(sed -n 's/^cluster-task: learner rank 0 on \([^ ]*\).*/\1/p' "$D/$name/logs/learner-0.log")
    l1=$(sed -n 's/^cluster-task: learner rank 1 on \([^ ]*\).*/\1/p' "$D/$name/logs/learner-1.log")
    echo "$name: learner ranks on $l0 $l1"
    marks=$D/site-marks.$jid
    [ -s "$marks" ] || fail "$name: the site-setup hook left no marker"
    grep -q "^$h1 batch\$" "$marks" || fail "$name: the batch script did not source the hook: $(cat "$marks")"
    [ "$(awk '{print $1}' "$marks" | sort -u | tr '\n' ' ')" = "$hook_hosts" ] ||
        fail "$name: the hook ran on $(awk '{print $1}' "$marks" | sort -u | tr '\n' ' '), not on $hook_hosts"
    [ "$(grep -vc ' batch$' "$marks")" = "$tasks" ] || fail "$name: $(grep -vc ' batch$' "$marks") task markers, not $tasks"
    echo "$name: site hook sourced on $hook_hosts($tasks tasks and the batch script)"
    jid=""
}
het_job two "$h2 $h3 " "$h1" "$h1 $h2 $h3 " 5 -N 1 -n 3 -w "$h1" : -N 2 -n 2 -w "$h2,$h3"
het_job three "$h4 $h5 " "$h2|$h3" "$h1 $h2 $h3 $h4 $h5 " 5 \
    -n 1 -w "$h1" : -N 2 -n 2 -w "$h2,$h3" : -N 2 -n 2 -w "$h4,$h5"
ok=1
