#!/bin/bash
# deploy_slurm3.sh BUILD_DIR - deploy/slurm/dqnlm-het.sbatch on a real Slurm
# built inside fake hosts of this test run (network namespaces behind an
# unreachable route; slurmctld + slurmd on h1, slurmd on h2..h5; a munged of
# this test only), chain environment, learner.updates bounded:
#   1. two components on 3 nodes: replay server + 2 learner ranks on h1,
#      two actors on h2 and h3;
#   2. three components on 5 nodes: replay server on h1, the learner group on
#      h2 and h3 (srun --mpi=pmix across them), two actors on h4 and h5.
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

# het_job NAME ACTOR_HOSTS WEIGHTS_HOSTS SBATCH_OPTIONS...: runs one job and checks it.
het_job() {
    local name=$1 actor_hosts=$2 weights_hosts=$3 t0=$SECONDS state out l0 l1
    shift 3
    jid=$(cd "$D" && dl_on "$h1" sbatch --parsable -t 5 -o "$D/$name-%j.out" "$@" \
          "$src/deploy/slurm/dqnlm-het.sbatch" --profile chain --run-dir "$D/$name" --set learner.updates=1000 \
          --set learner.min_replay=1000 --set learner.metrics_every=50) || fail "$name: sbatch refused the job"
    state=$(dl_wait_job "$jid" 100 dl_on "$h1")
    [ "$state" = COMPLETED ] || fail "$name: job ended $state"
    dl_on "$h1" scontrol show job -o "$jid" | head -n 1 | grep -q 'ExitCode=0:0' || fail "$name: exit code not 0:0"
    echo "$name: completed in $((SECONDS - t0)) s"
    dl_check_run "$D/$name" 1000 || exit 1
    out=$D/$name-$jid.out
    grep -q "replay server at tcp://$h1:" "$out" || fail "$name: the replay server was not addressed by its host name"
    grep -Eq "weights publisher at tcp://($weights_hosts):" "$out" || fail "$name: the weights publisher was not addressed by its host name"
    [ "$dl_actor_hosts" = "$actor_hosts" ] || fail "$name: actors ran on '$dl_actor_hosts', not on $actor_hosts"
    l0=$(sed -n 's/^cluster-task: learner rank 0 on \([^ ]*\).*/\1/p' "$D/$name/logs/learner-0.log")
    l1=$(sed -n 's/^cluster-task: learner rank 1 on \([^ ]*\).*/\1/p' "$D/$name/logs/learner-1.log")
    echo "$name: learner ranks on $l0 $l1"
    jid=""
}
het_job two "$h2 $h3 " "$h1" -N 1 -n 3 -w "$h1" : -N 2 -n 2 -w "$h2,$h3"
het_job three "$h4 $h5 " "$h2|$h3" -n 1 -w "$h1" : -N 2 -n 2 -w "$h2,$h3" : -N 2 -n 2 -w "$h4,$h5"
ok=1
