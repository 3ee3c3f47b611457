#!/bin/bash
# mpirun-hosts.sh - runs a dqnlm job over the hosts of an Open MPI hostfile:
# the replay server on the first slot, the learner group on the next --ranks
# slots, the actors on the remaining slots (or --actors of them, round-robin).
# Run it on the first host; the run folder must be on a file system every host
# sees at the same path, and the build too (DQNLM_BUILD, default ./build).
#
#   deploy/mpirun-hosts.sh --hostfile FILE [--ranks P] [--actors N]
#       [--profile chain|quick|FILE.ini] [--run-dir DIR] [--set SECTION.KEY=VALUE ...]
#       [--bind ADDR] [--port-base N]
#
# Hostfile lines are `HOST [slots=N]` (Open MPI's format; # comments).
# Defaults: --ranks 1, --actors = the slots left, --bind '*' (all interfaces),
# --port-base '*' (kernel-chosen ports; clients learn them from RUN_DIR).
# DQNLM_MPIRUN_ARGS adds options to every mpirun (for example an ssh
# replacement: --mca plm_rsh_agent deploy/netns/nsrsh). Stops when the learner
# group has done learner.updates updates, or on SIGTERM/SIGINT; exit status as
# in deploy/cluster-lib.sh. Worked example: docs/deploy.md.
set -euo pipefail
DQ_ROOT=$(cd "$(dirname "$0")/.." && pwd)
DQ_SELF=$0 DQ_NAME=mpirun-hosts.sh
source "$DQ_ROOT/deploy/cluster-lib.sh"
dq_parse_args "$@"
[ -n "$dq_hostfile" ] && [ -f "$dq_hostfile" ] || dq_die "--hostfile FILE is required (try --help)"

# One entry per slot, in hostfile order.
slots=()
while read -r host rest; do
    case "$host" in ''|'#'*) continue ;; esac
    n=$(sed -n 's/.*slots=\([0-9]*\).*/\1/p' <<<"$rest")
    for ((i = 0; i < ${n:-1}; i++)); do slots+=("$host"); done
done <"$dq_hostfile"
dq_ranks=${dq_ranks:-1}
free=$((${#slots[@]} - 1 - dq_ranks))
[ "$free" -ge 1 ] || [ -n "$dq_actors" ] ||
    dq_die "${#slots[@]} slots leave none for actors after the replay server and $dq_ranks learner rank(s); give --actors"
dq_actors=${dq_actors:-$free}

# host_list FROM COUNT: --host value for COUNT slots starting at FROM, wrapping
# round the actor slots (h2:1,h3:2).
host_list() {
    local from=$1 count=$2 i k list="" prev="" n=0 h
    for ((i = 0; i < count; i++)); do
        k=$((from + i))
        if [ "$k" -ge "${#slots[@]}" ]; then
            [ "$free" -ge 1 ] && k=$((1 + dq_ranks + (k - 1 - dq_ranks) % free)) || k=$((k % ${#slots[@]}))
        fi
        h=${slots[$k]}
        if [ "$h" = "$prev" ]; then n=$((n + 1)); else
            [ -z "$prev" ] || list+="$prev:$n,"
            prev=$h n=1
        fi
    done
    echo "$list$prev:$n"
}
# One host may appear twice in a round-robin list; mpirun wants it once.
merge_hosts() { tr ',' '\n' <<<"$1" | awk -F: '{n[$1]+=$2; if (!($1 in o)) {o[$1]=++k; h[k]=$1}} END {for (i=1;i<=k;i++) printf "%s%s:%d", (i>1?",":""), h[i], n[h[i]]}'; }

export OMPI_MCA_btl_vader_single_copy_mechanism=none
mpi=(mpirun --bind-to none --oversubscribe)
read -r -a extra <<<"${DQNLM_MPIRUN_ARGS:-}"
mpi+=("${extra[@]}")
[ -z "${DQNLM_SITE_SETUP:-}" ] || mpi+=(-x DQNLM_SITE_SETUP) # cluster-task.sh sources it on each host

dq_launch_replay() { "${mpi[@]}" -np 1 --host "${slots[0]}:1" "$@" </dev/null >"$dq_run_dir/logs/mpirun-replay.log" 2>&1 & }
dq_launch_learner() { "${mpi[@]}" -np "$dq_ranks" --host "$(merge_hosts "$(host_list 1 "$dq_ranks")")" "$@" </dev/null >"$dq_run_dir/logs/mpirun-learner.log" 2>&1 & }
dq_launch_actors() {
    "${mpi[@]}" -np "$dq_actors" --host "$(merge_hosts "$(host_list $((1 + dq_ranks)) "$dq_actors")")" "$@" </dev/null \
        >"$dq_run_dir/logs/mpirun-actors.log" 2>&1 &
}

[ -n "$dq_run_dir" ] || dq_run_dir=$DQ_ROOT/runs/$(date +%Y%m%d-%H%M%S)-hosts
dq_log "slots: ${slots[*]}"
dq_run
