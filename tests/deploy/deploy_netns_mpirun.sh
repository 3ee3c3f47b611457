#!/bin/bash
# deploy_netns_mpirun.sh BUILD_DIR - deploy/mpirun-hosts.sh across three fake
# hosts (network namespaces of this test run, behind an unreachable route for
# their subnet; Open MPI reaches them through deploy/netns/nsrsh), chain
# environment, learner.updates bounded. Slots h1:2 h2:2 h3:2 with --ranks 2:
# replay server on h1, learner ranks on h1 and h2, actors on h2, h3, h3.
# Checks that the servers were found by host name (not localhost), that
# transitions from every actor host arrived, that every actor saw the weights
# version advance, and that the run left its checkpoint and metrics.
# Needs root, iproute2, unshare, Open MPI (skips otherwise). About 15 s.
set -uo pipefail
B=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
source "$src/tests/deploy/lib.sh"
dl_require ip unshare mpirun
D=$(mktemp -d /tmp/dqnlm-netns.XXXXXX)
export DQNLM_BUILD=$B
cleanup() {
    dl_fakehosts_down
    if [ "${ok:-0}" = 1 ]; then rm -rf "$D"; else
        [ -f "$D/launcher.out" ] && { echo "== launcher"; cat "$D/launcher.out"; }
        for f in "$D"/run/logs/*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 15 "$f"; }; done
        echo "test folder kept: $D"
    fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

dl_fakehosts_up || fail "could not create the fake hosts"
h1=${DL_PFX}h1 h2=${DL_PFX}h2 h3=${DL_PFX}h3
printf '%s slots=2\n' "$h1" "$h2" "$h3" >"$D/hostfile"
export DQNLM_MPIRUN_ARGS="--mca plm_rsh_agent $src/deploy/netns/nsrsh --mca btl_tcp_if_include $DL_NET.0/24 --mca oob_tcp_if_include $DL_NET.0/24"
t0=$SECONDS
dl_on "$h1" timeout 120 "$src/deploy/mpirun-hosts.sh" --hostfile "$D/hostfile" --ranks 2 \
    --profile chain --run-dir "$D/run" --set learner.updates=1500 --set learner.min_replay=1000 \
    --set learner.metrics_every=50 >"$D/launcher.out" 2>&1
rc=$?
[ $rc = 0 ] || fail "mpirun-hosts.sh exited with $rc"
echo "mpirun-hosts.sh: done in $((SECONDS - t0)) s"
dl_check_run "$D/run" 1500 || exit 1
grep -q "replay server at tcp://$h1:" "$D/launcher.out" || fail "the replay server was not addressed by its host name"
grep -q "weights publisher at tcp://$h1:" "$D/launcher.out" || fail "the weights publisher was not addressed by its host name"
[ "$dl_actor_hosts" = "$h2 $h3 " ] || fail "actors ran on '$dl_actor_hosts', not on $h2 and $h3"
grep -q "learner rank 1 on $h2" "$D/run/logs/learner-1.log" || fail "learner rank 1 did not run on $h2"
ok=1
