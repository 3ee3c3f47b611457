# deploy_lib.sh - helpers for the deploy tests (sourced, not run): skipping,
# a private munge daemon, and Slurm clusters built for one test run — one
# node in the root namespace on loopback, or one node per fake host of
# deploy/netns/fakehosts.sh. Everything lives under $D (the test's folder):
# configuration, state, logs, the munge socket; names and ports come from $$.

source "$src/deploy/ini.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none

dl_skip() { echo "SKIP: $*"; exit 77; }

# dl_require TOOL... : skips unless root and every TOOL is on PATH.
dl_require() {
    [ "$(id -u)" = 0 ] || dl_skip "needs root (network namespaces, Slurm daemons)"
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null || dl_skip "needs $t (deploy/install-deps.sh --slurm)"
    done
}

# dl_munge_up: a munged of our own, socket $D/munge/sock (slurm.conf AuthInfo).
dl_munge_up() {
    mkdir -p "$D/munge"
    chown munge:munge "$D/munge"
    chmod 755 "$D/munge"
    runuser -u munge -- /usr/sbin/munged --socket="$D/munge/sock" --pid-file="$D/munge/pid" \
        --log-file="$D/munge/log" --seed-file="$D/munge/seed" --key-file=/etc/munge/munge.key ||
        { cat "$D/munge/log" 2>/dev/null; return 1; }
    munge -S "$D/munge/sock" -n | unmunge -S "$D/munge/sock" | grep -q 'STATUS:.*Success'
}
dl_munge_down() { [ -s "$D/munge/pid" ] && kill "$(cat "$D/munge/pid")" 2>/dev/null; return 0; }

# dl_slurm_conf CLUSTER CTLD_HOST CTLD_ADDR PORT NODE_LINES: writes $D/slurm/slurm.conf.
dl_slurm_conf() {
    local s=$D/slurm
    mkdir -p "$s/state"
    export SLURM_CONF=$s/slurm.conf
    cat >"$SLURM_CONF" <<CONF
ClusterName=$1
SlurmctldHost=$2($3)
SlurmctldPort=$4
SlurmdPort=$(($4 + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/munge/sock
StateSaveLocation=$s/state
SlurmdSpoolDir=$s/spool-%n
SlurmctldPidFile=$s/slurmctld.pid
SlurmdPidFile=$s/slurmd-%n.pid
SlurmctldLogFile=$s/slurmctld.log
SlurmdLogFile=$s/slurmd-%n.log
TmpFS=$s/tmp-%n
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=bf_interval=1
SlurmdParameters=config_overrides
MpiDefault=none
ReturnToService=2
KillWait=20
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
$5
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
    # slurmd in a namespace cannot autodetect cgroups (ip netns exec remounts /sys).
    echo "CgroupPlugin=cgroup/v1" >"$s/cgroup.conf"
}

# dl_wait_idle N [CMD_PREFIX...]: waits (bounded, 20 s) until N nodes are idle.
dl_wait_idle() {
    local n=$1 i
    shift
    for ((i = 0; i < 100; i++)); do
        [ "$("$@" sinfo -h -N -o %T 2>/dev/null | grep -c '^idle$')" = "$n" ] && return 0
        sleep 0.2
    done
    echo "FAIL: Slurm nodes not idle:"; "$@" sinfo -N; tail -n 5 "$D"/slurm/*.log
    return 1
}

# dl_slurm1_finish PATTERN...: cancels the jobs in $jobs_started, stops this
# run's Slurm and munged, then removes $D when ok=1, or prints the tail of
# every file matching the patterns (unquoted globs under $D) and keeps it.
dl_slurm1_finish() {
    local j pat f
    for j in ${jobs_started:-}; do scancel "$j" 2>/dev/null; done
    [ -n "${jobs_started:-}" ] && sleep 2
    dl_slurm_down
    dl_munge_down
    if [ "${ok:-0}" = 1 ]; then rm -rf "$D"; return 0; fi
    for pat in "$@"; do
        for f in $pat; do [ -f "$f" ] && { echo "== $f"; tail -n 25 "$f"; }; done
    done
    echo "test folder kept: $D"
}

# dl_slurm1_up: a single-node Slurm on loopback, private to this test run
# (ports and cluster name from $$), with its own munged.
dl_slurm1_up() {
    local node port
    node=$(hostname -s)
    port=$((10000 + 2 * ($$ % 10000)))
    dl_munge_up || { echo "FAIL: munged did not start"; return 1; }
    dl_slurm_conf "dq$$" "$node" 127.0.0.1 "$port" "NodeName=$node NodeAddr=127.0.0.1 CPUs=8 State=UNKNOWN"
    mkdir -p "$D/slurm/spool-$node" "$D/slurm/tmp-$node"
    /usr/sbin/slurmctld || { echo "FAIL: slurmctld did not start"; return 1; }
    /usr/sbin/slurmd -N "$node" || { echo "FAIL: slurmd did not start"; return 1; }
    dl_wait_idle 1
}

# dl_slurm_down: scontrol shutdown, then wait (bounded) for the daemons to go.
dl_slurm_down() {
    local f p i pids=()
    [ -f "$D/slurm/slurm.conf" ] || return 0
    for f in "$D"/slurm/*.pid; do p=$(cat "$f" 2>/dev/null) && pids+=("$p"); done
    "$@" scontrol shutdown >/dev/null 2>&1
    for p in "${pids[@]}"; do
        for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
    return 0
}

# dl_job_state JOBID [CMD_PREFIX...]: JobState of the (first component of the) job.
dl_job_state() {
    local j=$1
    shift
    "$@" scontrol show job -o "$j" 2>/dev/null | sed -n '1s/.* JobState=\([A-Z_]*\).*/\1/p'
}

# dl_wait_job JOBID SECONDS [CMD_PREFIX...]: waits until the job has ended; prints its state.
dl_wait_job() {
    local j=$1 t=$2 i s
    shift 2
    for ((i = 0; i < t * 5; i++)); do
        s=$(dl_job_state "$j" "$@")
        case "$s" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL|DEADLINE) echo "$s"; return 0 ;; esac
        sleep 0.2
    done
    echo "TIMEOUT_WAITING($s)"
}

# dl_check_run RUN UPDATES: the checks every finished training run must pass —
# checkpoint and metrics, the learner's budget reached, and transitions from
# every actor in the replay server (per-actor acknowledged counts, from the
# actors' RUN/actor-ID.status, add up to at most the server's insert count),
# every actor seeing weights version 2 or later, every part stopped with
# status 0. Prints the hosts the actors ran on (RUN/actor-ID.host).
dl_check_run() {
    local run=$1 updates=$2 f inserted acked=0 sent=0 n=0 v hosts="" id a s
    [ -s "$run/qnet.bin" ] || { echo "FAIL: no checkpoint $run/qnet.bin"; return 1; }
    [ -s "$run/learner.csv" ] || { echo "FAIL: no metrics $run/learner.csv"; return 1; }
    grep -q "saved the Q-network after $updates updates" "$run"/logs/learner-0.log ||
        { echo "FAIL: the learner did not save after $updates updates"; return 1; }
    [ "$(dq_ini_get "$run/replay.status" replay exit 2>/dev/null)" = 0 ] ||
        { echo "FAIL: the replay server did not stop in order (no replay.status with exit 0)"; return 1; }
    inserted=$(sed -n 's/.*stopping: \([0-9]*\) items inserted.*/\1/p' "$run"/logs/replay-0.log)
    for f in "$run"/actor-*.status; do
        [ -f "$f" ] || { echo "FAIL: no actor status in $run"; return 1; }
        id=$(dq_ini_get "$f" actor id)
        a=$(dq_ini_get "$f" actor acknowledged) s=$(dq_ini_get "$f" actor transitions)
        [ "$(dq_ini_get "$f" actor exit)" = 0 ] || { echo "FAIL: actor $id did not exit 0"; return 1; }
        [ -n "$a" ] && [ "$a" -gt 0 ] || { echo "FAIL: actor $id: no transitions acknowledged"; return 1; }
        v=$(awk -F, 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "weights_version") c = i; next} {x = $c} END {print x + 0}' "$run/actor-$id.csv")
        [ "$v" -ge 2 ] || { echo "FAIL: actor $id saw weights version $v, not an advancing one"; return 1; }
        acked=$((acked + a)) sent=$((sent + s)) n=$((n + 1))
        hosts+=" $(cat "$run/actor-$id.host")"
    done
    [ "$acked" -le "$inserted" ] && [ "$inserted" -le "$sent" ] ||
        { echo "FAIL: replay inserted $inserted, actors sent $sent, acknowledged $acked"; return 1; }
    echo "ok: $n actors, $inserted transitions inserted ($acked acknowledged to actors), hosts:$hosts"
    dl_actor_hosts=$(tr ' ' '\n' <<<"$hosts" | sort -u | grep -v '^$' | tr '\n' ' ')
}

# dl_fakehosts_up [N]: N (default 3) fake hosts ${DL_PFX}h1..hN on a /24 of
# 10.77 free on this machine (guarded by an unreachable route); sets DL_PFX,
# DL_NET, DL_N.
dl_fakehosts_up() {
    local k
    DL_PFX=dq$$ DL_N=${1:-3}
    for ((k = 0; k < 50; k++)); do
        DL_NET=10.77.$(( ($$ + k) % 250 + 1 ))
        [ -z "$(ip route show "$DL_NET.0/24" 2>/dev/null)" ] && [ -z "$(ip route show table all | grep -F " $DL_NET.0/24 " 2>/dev/null)" ] && break
    done
    "$src/deploy/netns/fakehosts.sh" up "$DL_PFX" "$DL_NET" "$DL_N"
}
dl_fakehosts_down() { [ -n "${DL_PFX:-}" ] && "$src/deploy/netns/fakehosts.sh" down "$DL_PFX" "$DL_NET" "$DL_N"; return 0; }

# dl_on HOST CMD...: runs CMD on fake host HOST (its namespace and host name).
dl_on() {
    local h=$1
    shift
    ip netns exec "$h" unshare --uts /bin/sh -c 'hostname "$0" && exec "$@"' "$h" "$@"
}
