# cluster-lib.sh - the job logic of every launcher: deploy/run-local.sh (this
# machine), deploy/mpirun-hosts.sh (an Open MPI hostfile), deploy/slurm/*
# (Slurm) and deploy/ablate.sh (one run of an ablation); sourced, not run.
#
# A launcher parses its options with dq_parse_args, defines three functions
# that start one part of the job in the background (so that $! is its pid),
# or calls dq_use_local_launchers for processes on this machine,
#
#   dq_launch_replay  CMD...   one task: the replay server
#   dq_launch_learner CMD...   the MPI learner group
#   dq_launch_actors  CMD...   every actor (each task appends --id RANK)
#
# where CMD is `cluster-task.sh ROLE RUN_DIR PROGRAM ARGS...`, and calls
# dq_run. dq_run writes RUN_DIR/config.ini, starts the replay server, finds
# its address (RUN_DIR/replay.host + the port in RUN_DIR/replay.endpoint),
# starts the learner group with it, finds the weights publisher the same way,
# starts the actors, shows progress, and waits for the learner group to spend
# its budget (learner.updates).
#
# Every way a job ends (budget spent, SIGTERM/SIGINT from scancel or Ctrl-C,
# a part that failed) stops it in one order, dq_stop_all: the actors first
# (they stop producing and flush what they hold to a replay server that is
# still there), then the learner group (it saves RUN_DIR/qnet.bin), then the
# replay server (its final checkpoint). What the parts did is read from the
# files they write (RUN_DIR/*.status, *.host, *.csv by column name), never
# from their logs.
#
# Exit status: 0 when the learner group spent its budget and saved the
# Q-network; 1 when a part failed; 143 (SIGTERM) or 130 (SIGINT) when
# stopped by a signal, after the same orderly shutdown.

DQ_TASK=$DQ_ROOT/deploy/cluster-task.sh
DQ_BIN=${DQNLM_BUILD:-$DQ_ROOT/build}
source "$DQ_ROOT/deploy/ini.sh"
dq_profile=chain dq_run_dir="" dq_sets=() dq_ranks="" dq_actors="" dq_bind='*' dq_port_base='*'
dq_hostfile="" dq_srun_mpi=${DQNLM_SRUN_MPI:-pmix} dq_resume=""
declare -gA dq_rows0=() # rows each metric file had when this job started (resume)
dq_pid_replay="" dq_pid_learner="" dq_pid_actors="" dq_stop_status=0 dq_learner_status=0
dq_actors_status=0 dq_replay_status=0 # exit statuses of the parts at the stop

# Open MPI refuses to run as root unless told; only root is told.
dq_allow_root_mpi() {
    [ "$(id -u)" != 0 ] || export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
}

dq_log() { echo "[$(date +%H:%M:%S)] $*"; }
dq_die() { echo "${DQ_NAME:-dqnlm}: $*" >&2; exit 2; }

# dq_help FILE: the comment block that opens FILE (after the #! line, up to
# the first line that is not a comment, or #SBATCH), without the '# '.
dq_help() { awk 'NR > 1 && /^#SBATCH/ {exit} NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$1"; }

# The options every launcher takes (docs/deploy.md lists them). The build is
# checked here unless the launcher builds it first (DQ_BUILD_LATER=1).
dq_parse_args() {
    while [ $# -gt 0 ]; do
        case "$1" in
        --profile) dq_profile=$2; shift 2 ;;
        --run-dir) dq_run_dir=$2; shift 2 ;;
        --set|-s) dq_sets+=(--set "$2"); shift 2 ;;
        --ranks) dq_ranks=$2; shift 2 ;;
        --actors) dq_actors=$2; shift 2 ;;
        --bind) dq_bind=$2; shift 2 ;;
        --port-base) dq_port_base=$2; shift 2 ;;
        --hostfile) dq_hostfile=$2; shift 2 ;;
        --grid) dq_die "--grid: a grid of settings is an ablation: deploy/ablate.sh --grid FILE [--slurm] runs one variant per line x seeds into one folder that dqnlm-report reads (docs/exploration.md, \"Ablations\")" ;;
        --mpi) dq_srun_mpi=$2; shift 2 ;;
        --resume) dq_resume=$2; shift 2 ;;
        --site-setup) [ -r "$2" ] || dq_die "--site-setup '$2': no such readable file"
                      DQNLM_SITE_SETUP=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
        -h|--help) dq_help "$DQ_SELF"; exit 0 ;;
        *) dq_die "unknown option '$1' (try --help)" ;;
        esac
    done
    if [ -n "$dq_resume" ]; then
        [ -f "$dq_resume/config.ini" ] || dq_die "--resume $dq_resume: no run folder there (no config.ini)"
        [ -z "$dq_run_dir" ] || [ "$dq_run_dir" -ef "$dq_resume" ] || dq_die "--resume RUN continues RUN: no --run-dir"
        dq_run_dir=$dq_resume dq_profile=$dq_resume/config.ini
    fi
    case "$dq_profile" in
    *.ini) dq_profile_file=$(cd "$(dirname "$dq_profile")" && pwd)/$(basename "$dq_profile") ;;
    *) dq_profile_file=$DQ_ROOT/deploy/profiles/$dq_profile.ini ;;
    esac
    [ -f "$dq_profile_file" ] || dq_die "no profile '$dq_profile' ($dq_profile_file)"
    local n
    for n in "$dq_ranks" "$dq_actors"; do
        [ -z "$n" ] || [[ "$n" =~ ^[1-9][0-9]*$ ]] || dq_die "'$n' is not a positive count"
    done
    case "$dq_port_base" in
    '*') ;;
    job) [ -n "${SLURM_JOB_ID:-}" ] || dq_die "--port-base job needs a Slurm job"
         dq_port_base=$((20000 + 2 * (${SLURM_ARRAY_TASK_ID:-$SLURM_JOB_ID} % 20000))) ;;
    *) [[ "$dq_port_base" =~ ^[0-9]+$ ]] && [ "$dq_port_base" -ge 1024 ] && [ "$dq_port_base" -le 65534 ] ||
           dq_die "--port-base '$dq_port_base' is not a port in [1024, 65534], 'job' or '*'" ;;
    esac
    [[ "$dq_srun_mpi" =~ ^[A-Za-z0-9_]+$ ]] || dq_die "--mpi '$dq_srun_mpi' is not an srun --mpi type (srun --mpi=list)"
    dq_site_setup launcher
    [ "${DQ_BUILD_LATER:-0}" = 1 ] || dq_require_build
}

# dq_site_setup WHERE: sources the site's setup file DQNLM_SITE_SETUP (or
# --site-setup FILE), e.g. `module load openmpi`, in the launcher and, through
# cluster-task.sh, before every task on every node. It runs without set -eu
# (module scripts read unset variables) and must end with status 0. Exported
# so that srun and mpirun pass it on to the tasks.
dq_site_setup() {
    [ -n "${DQNLM_SITE_SETUP:-}" ] || return 0
    export DQNLM_SITE_SETUP
    [ -r "$DQNLM_SITE_SETUP" ] || { echo "${DQ_NAME:-dqnlm} ($1): DQNLM_SITE_SETUP=$DQNLM_SITE_SETUP: no such readable file" >&2; exit 2; }
    local flags=$- st
    set +eu
    # shellcheck disable=SC1090
    source "$DQNLM_SITE_SETUP"
    st=$?
    [[ $flags == *e* ]] && set -e
    [[ $flags == *u* ]] && set -u
    [ "$st" = 0 ] || { echo "${DQ_NAME:-dqnlm} ($1): site setup $DQNLM_SITE_SETUP failed (status $st)" >&2; exit 2; }
}
dq_require_build() {
    [ -x "$DQ_BIN/replay_server/dqnlm-replay" ] || dq_die "no build in $DQ_BIN (run deploy/build.sh, or set DQNLM_BUILD)"
}

# dq_use_local_launchers: every part on this machine, the learner group and
# the actors under mpirun. Monitor mode gives each part a process group of
# its own, so that Ctrl-C reaches this script alone and it stops the parts
# in order (in the terminal's group they would all hear SIGINT at once).
dq_use_local_launchers() {
    set -m
    export OMPI_MCA_btl_vader_single_copy_mechanism=none
    dq_mpi=(mpirun --bind-to none --oversubscribe)
    dq_launch_replay() { "$@" </dev/null >"$dq_run_dir/logs/launch-replay.log" 2>&1 & }
    dq_launch_learner() { "${dq_mpi[@]}" -np "$dq_ranks" "$@" </dev/null >"$dq_run_dir/logs/mpirun-learner.log" 2>&1 & }
    dq_launch_actors() { "${dq_mpi[@]}" -np "$dq_actors" "$@" </dev/null >"$dq_run_dir/logs/mpirun-actors.log" 2>&1 & }
}

# The file where a role's server records the address it bound.
dq_endpoint_file() { [ "$1" = learner ] && echo weights.endpoint || echo "$1.endpoint"; }

# dq_connect_address ROLE: the address clients use for the socket ROLE bound.
# A wildcard bind (tcp://0.0.0.0:P, tcp://[::]:P) becomes tcp://HOST:P with
# the node name the task recorded; a specific address is used as it is.
dq_connect_address() {
    local ep host
    ep=$(cat "$dq_run_dir/$(dq_endpoint_file "$1")")
    host=$(cat "$dq_run_dir/$1.host")
    case "$ep" in
    tcp://0.0.0.0:*|tcp://\[::\]:*|tcp://\*:*) echo "tcp://$host:${ep##*:}" ;;
    *) echo "$ep" ;;
    esac
}

# dq_wait_started ROLE PID: waits (bounded, 60 s) until ROLE has recorded its
# endpoint and host, failing early if PID exits.
dq_wait_started() {
    local i
    for ((i = 0; i < 600; i++)); do
        [ -s "$dq_run_dir/$(dq_endpoint_file "$1")" ] && [ -s "$dq_run_dir/$1.host" ] && return 0
        kill -0 "$2" 2>/dev/null || { dq_log "the $1 exited before it was ready; see $dq_run_dir/logs"; return 1; }
        sleep 0.1
    done
    dq_log "the $1 did not record its endpoint within 60 s; see $dq_run_dir/logs"
    return 1
}

# dq_stop NAME PID [SECONDS]: SIGUSR1, then SIGKILL after SECONDS (default
# 20); the exit status goes to dq_stop_status. PID is an mpirun, an srun or a cluster-task.sh: mpirun and srun
# forward SIGUSR1 to every task, where cluster-task.sh turns it into SIGTERM
# for the program; their own SIGTERM handling would SIGKILL the tasks within
# a second.
dq_stop() {
    local name=$1 pid=$2 i
    dq_stop_status=0
    [ -n "$pid" ] || return 0
    dq_log "stopping the $name"
    if ! kill -USR1 "$pid" 2>/dev/null; then # ended already: its own status
        wait "$pid" 2>/dev/null && dq_stop_status=0 || dq_stop_status=$?
        return 0
    fi
    for ((i = 0; i < ${3:-20} * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        dq_log "the $name did not stop within ${3:-20} s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null && dq_stop_status=0 || dq_stop_status=$?
}

# The one shutdown order: actors (stop producing, flush to a live replay
# server), learner group (saves qnet.bin), replay server (checkpoints last).
# A part already ended (its pid cleared) is skipped. The actors get
# actor.drain_timeout to have their last transitions acknowledged, plus 20 s
# (a round of env steps to finish, start-up of the drain): an actor that
# could not hand everything over exits 1 by itself, with the count. The
# replay server gets its replay.stop_grace (ended after replay.stop_quiet s
# without an INSERT, which here, with the actors gone, is soon) plus 20 s.
dq_stop_all() {
    local drain grace
    drain=$(dq_ini_get "$dq_run_dir/config.ini" actor drain_timeout 2>/dev/null || true)
    drain=$(awk -v d="${drain:-30}" 'BEGIN {printf "%d", (d == int(d) ? d : int(d) + 1) + 20}')
    [ -z "$dq_pid_actors" ] || { dq_stop actors "$dq_pid_actors" "$drain"; dq_actors_status=$dq_stop_status; }
    dq_pid_actors=""
    if [ -n "$dq_pid_learner" ]; then
        dq_stop "learner group" "$dq_pid_learner"
        dq_learner_status=$dq_stop_status
    fi
    dq_pid_learner=""
    grace=$(dq_ini_get "$dq_run_dir/config.ini" replay stop_grace 2>/dev/null || true)
    grace=$(awk -v d="${grace:-10}" 'BEGIN {printf "%d", (d == int(d) ? d : int(d) + 1) + 20}')
    [ -z "$dq_pid_replay" ] || { dq_stop "replay server" "$dq_pid_replay" "$grace"; dq_replay_status=$dq_stop_status; }
    dq_pid_replay=""
}

dq_on_signal() {
    trap - TERM INT
    dq_log "stop requested ($1): stopping the actors, the learner group, the replay server"
    dq_stop_all
    dq_summary
    [ -s "$dq_run_dir/qnet.bin" ] && dq_log "checkpoint: $dq_run_dir/qnet.bin" ||
        dq_log "no checkpoint (the learner group had not started training)"
    exit "$2"
}

# dq_csv_last FILE COLUMN...: the named columns of FILE's last row ('?' for a
# column it lacks); nothing before the first row.
dq_csv_last() {
    local f=$1; shift
    [ -f "$f" ] || return 0
    awk -F, -v want="$*" 'NR == 1 {for (i = 1; i <= NF; i++) col[$i] = i; next} {last = $0}
        END {if (NR < 2) exit; n = split(want, w, " "); split(last, v, ",");
             for (k = 1; k <= n; k++) printf "%s%s", (k > 1 ? " " : ""), (w[k] in col ? v[col[w[k]]] : "?"); print ""}' "$f"
}

# What each part reported when it stopped (RUN_DIR/replay.status and
# actor-ID.status), each actor's host and the last weights version it saw.
dq_summary() {
    local f i st un
    f=$dq_run_dir/replay.status
    [ -f "$f" ] && st="$(dq_ini_get "$f" replay state), exit $(dq_ini_get "$f" replay exit)" || st="no status (killed?)"
    echo "  replay server: $st"
    for ((i = 0; i < ${dq_actors:-0}; i++)); do
        f=$dq_run_dir/actor-$i.status
        if [ -f "$f" ]; then
            st="$(dq_ini_get "$f" actor transitions) transitions sent, $(dq_ini_get "$f" actor acknowledged) acknowledged"
            un=$(dq_ini_get "$f" actor unacknowledged)
            [ "${un:-0}" = 0 ] || st+=", $un NOT acknowledged (lost; exit $(dq_ini_get "$f" actor exit))"
        else
            st="no status (killed?)"
        fi
        echo "  actor $i on $(cat "$dq_run_dir/actor-$i.host" 2>/dev/null || echo '?'): $st," \
             "weights version $(dq_csv_last "$dq_run_dir/actor-$i.csv" weights_version)"
    done
}

# dq_csv_rows FILE: its number of lines (0 when missing).
dq_csv_rows() { [ -f "$1" ] && wc -l <"$1" || echo 0; }

# dq_csv_new FILE COLUMN...: dq_csv_last, but nothing until FILE has a row
# written by this job (a resumed run's files hold the rows of before).
dq_csv_new() {
    [ "$(dq_csv_rows "$1")" -gt "${dq_rows0[$1]:-0}" ] || return 0
    dq_csv_last "$@"
}

# dq_progress: the learner's last metric row and the sums over the actors'
# last rows (steps/s: all actors' env steps over the longest-running one's
# time), in one line; rows of before a resume are not shown again. The
# actors' final_metric (LM env: validation loss, nats per byte) is shown in
# bits per byte, as every table shows it.
dq_progress() {
    local l a i
    l=$(dq_csv_new "$dq_run_dir/learner.csv" time_s updates loss q_mean updates_per_s replay_size replay_inserts |
        awk '{printf "[%5.0fs] update %d, loss %.3g, mean Q %.3f, %.1f updates/s, replay %d items (%d inserted)",
              $1, $2, $3, $4, $5, $6, $7}')
    a=$(for ((i = 0; i < dq_actors; i++)); do
            dq_csv_new "$dq_run_dir/actor-$i.csv" env_steps episodes time_s return_mean final_metric_mean
        done | awk '{s += $1; e += $2; if ($3 > t) t = $3} $4 != "nan" && $4 != "?" {ret += $4; n++}
                    $5 != "nan" && $5 != "?" {m += $5; k++}
                    END {printf "actors: %d env steps, %d episodes, %.1f steps/s", s, e, (t > 0 ? s / t : 0)
                         if (n) printf ", return %.3f", ret / n; if (k) printf ", final val %.3f bits/byte", m / k / log(2)}')
    echo "${l:-[waiting] learner waiting for the replay server to fill} | $a"
}

# dq_start_parts: replay server, learner group, actors, each told where the
# servers started before it are; the pids go to dq_pid_*.
dq_start_parts() {
    local replay_bind=tcp://$dq_bind:$dq_port_base weights_bind=tcp://$dq_bind:$dq_port_base addr
    [ "$dq_port_base" = '*' ] || weights_bind=tcp://$dq_bind:$((dq_port_base + 1))
    local cfg=(--config "$dq_run_dir/config.ini")
    dq_launch_replay "$DQ_TASK" replay "$dq_run_dir" "$DQ_BIN/replay_server/dqnlm-replay" "${cfg[@]}" \
        --set replay.endpoint="$replay_bind"
    dq_pid_replay=$!
    dq_wait_started replay "$dq_pid_replay" || return 1
    addr=$(dq_connect_address replay)
    dq_log "replay server at $addr"
    cfg+=(--set replay.endpoint="$addr")

    dq_launch_learner "$DQ_TASK" learner "$dq_run_dir" "$DQ_BIN/learner/dqnlm-learner" "${cfg[@]}" \
        --set learner.weights_endpoint="$weights_bind" --set learner.linger=true
    dq_pid_learner=$!
    dq_wait_started learner "$dq_pid_learner" || return 1
    addr=$(dq_connect_address learner)
    dq_log "weights publisher at $addr"
    cfg+=(--set learner.weights_endpoint="$addr")

    dq_launch_actors "$DQ_TASK" actor "$dq_run_dir" "$DQ_BIN/actor/dqnlm-actor" "${cfg[@]}"
    dq_pid_actors=$!
}

# dq_watch: progress (a line when it changed, at most every 5 s) until the
# learner group has spent its budget (it wrote RUN_DIR/learner.done and keeps
# sampling, learner.linger, until it is stopped) or ended; 1 when the replay
# server ends first, or the actors fail (actors that reached actor.max_steps
# and exited 0 leave the learner to finish). `sleep & wait` lets a signal's
# trap run at once.
dq_watch() {
    local tick=0 line last="" st
    while kill -0 "$dq_pid_learner" 2>/dev/null && [ ! -f "$dq_run_dir/learner.done" ]; do
        if ! kill -0 "$dq_pid_replay" 2>/dev/null; then
            dq_log "the replay server exited early; stopping"
            return 1
        fi
        if [ -n "$dq_pid_actors" ] && ! kill -0 "$dq_pid_actors" 2>/dev/null; then
            wait "$dq_pid_actors" && st=0 || st=$?
            dq_pid_actors=""
            [ "$st" = 0 ] || { dq_log "the actors failed (exit $st); stopping"; return 1; }
            dq_log "the actors finished (actor.max_steps)"
        fi
        sleep 1 &
        wait $! || true
        tick=$((tick + 1))
        [ $((tick % 5)) -eq 0 ] || continue
        line=$(dq_progress)
        [ "$line" = "$last" ] || echo "$line"
        last=$line
    done
}

# dq_resume_setup: --resume RUN continues RUN with its own configuration (kept
# as logs/config-before-resume-N.ini, as config.ini is written anew), the
# learner and replay restored from RUN/learner.ckpt and replay.checkpoint, and
# the actors continuing their metric files (actor.resume: time_s, env steps,
# episodes and counters go on).
dq_resume_setup() {
    local n=1 ckpt
    while [ -e "$dq_run_dir/logs/config-before-resume-$n.ini" ]; do n=$((n + 1)); done
    cp "$dq_run_dir/config.ini" "$dq_run_dir/logs/config-before-resume-$n.ini"
    dq_profile_file=$dq_run_dir/logs/config-before-resume-$n.ini
    dq_sets=(--set learner.resume=true --set replay.restore=true --set actor.resume=true "${dq_sets[@]}")
    ckpt=$(dq_ini_get "$dq_profile_file" replay checkpoint)
    [ -n "$ckpt" ] || dq_log "warning: $dq_run_dir was run without replay.checkpoint: the replay starts empty"
    local f
    for f in "$dq_run_dir"/learner.csv "$dq_run_dir"/actor-*.csv; do
        [ -f "$f" ] && dq_rows0[$f]=$(dq_csv_rows "$f")
    done
    dq_log "resuming $dq_run_dir (resume $n): learner from ${dq_run_dir}/learner.ckpt, replay from ${ckpt:-nothing}"
}

dq_run() {
    dq_require_build
    mkdir -p "$dq_run_dir/logs"
    dq_run_dir=$(cd "$dq_run_dir" && pwd)
    [ -z "$dq_resume" ] || dq_resume_setup
    "$DQ_BIN/replay_server/dqnlm-replay" --config "$dq_profile_file" --set run.dir="$dq_run_dir" \
        --set actor.count="$dq_actors" "${dq_sets[@]}" --print-config >"$dq_run_dir/config.ini" ||
        dq_die "bad configuration (see above)"
    dq_allow_root_mpi
    trap 'dq_on_signal SIGTERM 143' TERM
    trap 'dq_on_signal SIGINT 130' INT
    rm -f "$dq_run_dir"/{replay,weights}.endpoint "$dq_run_dir"/*.host "$dq_run_dir"/*.status \
        "$dq_run_dir/qnet.bin" "$dq_run_dir/learner.done"
    dq_log "run folder $dq_run_dir; ${dq_ranks} learner rank(s), ${dq_actors} actor(s)"

    dq_start_parts || { dq_stop_all; exit 1; }
    dq_log "replay server, learner group and actors started; SIGINT (Ctrl-C) or SIGTERM stops them in order"
    dq_watch || { dq_stop_all; dq_summary; exit 1; }
    local status=0
    if [ -f "$dq_run_dir/learner.done" ]; then
        # The budget is spent and the group still samples: the actors drain
        # into a rate limiter that still admits inserts, then the group stops.
        dq_log "the learner group spent its budget; stopping the job in order"
        dq_stop_all
        status=$dq_learner_status
    else
        wait "$dq_pid_learner" || status=$?
        dq_pid_learner=""
        dq_stop_all
    fi
    trap - TERM INT
    dq_progress
    dq_summary
    if [ "$status" -ne 0 ] || [ ! -s "$dq_run_dir/qnet.bin" ]; then
        dq_log "the learner group failed (exit $status); see $dq_run_dir/logs/learner-0.log"
        exit 1
    fi
    # An actor that could not hand over its transitions, or a replay server
    # whose final checkpoint failed, exits 1: the job did not end cleanly.
    if [ "$dq_actors_status" -ne 0 ] || [ "$dq_replay_status" -ne 0 ]; then
        dq_log "the job did not end cleanly: actors exit $dq_actors_status, replay server exit $dq_replay_status (the summary above and $dq_run_dir/logs say which)"
        exit 1
    fi
    dq_log "done: Q-network $dq_run_dir/qnet.bin, metrics $dq_run_dir/*.csv, logs $dq_run_dir/logs"
}
