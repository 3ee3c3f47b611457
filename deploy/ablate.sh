#!/bin/bash
# ablate.sh - runs an ablation of exploration schedules: a grid of schedules x
# seeds, every run a whole dqnlm job in its own folder, then dqnlm-report.
#
#   deploy/ablate.sh SPEC.ini [--dir DIR] [--jobs N] [--slurm] [--no-report]
#   deploy/ablate.sh --report DIR            # only (re)build DIR/report
#   deploy/ablate.sh --run-one DIR INDEX     # one run of the grid (Slurm tasks)
#
# SPEC (docs/exploration.md, "Ablations"; examples in deploy/ablations/):
#   [ablation] name, base (a profile name or .ini), seeds, seed_base, actors,
#              ranks, jobs, snapshots, efficiency, window
#   [schedule NAME] exploration = SCHEDULE STRING      (one section each)
#   [SECTION] key = value   any other section: held-fixed overrides of the base
# The folder (default runs/ablation-NAME) gets spec.ini, base.ini (the
# effective configuration every run starts from), manifest.tsv (one row per
# run) and runs/SCHEDULE/seed-S/ with each run's config, logs, metrics,
# evaluation and a DONE marker. A run with DONE is skipped, so running the
# same command again resumes an interrupted ablation; a run without it is
# started again from scratch. --jobs N runs N at once (default: the CPUs
# divided by the processes of one run). --slurm submits the missing runs as a
# Slurm job array (deploy/slurm/ablation-array.sbatch) and the report as a
# job that depends on it. The programs are copied into DIR/bin first, so a
# rebuild during a long ablation does not change them halfway.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
self=$root/deploy/ablate.sh

die() { echo "ablate.sh: $*" >&2; exit 2; }
log() { echo "[$(date +%H:%M:%S)] $*"; }

# ini_get FILE SECTION KEY: the value, or nothing. ini_sections FILE: every
# section header's name. Comments start with ';' or '#'; values are trimmed.
ini_get() {
    awk -v s="$2" -v k="$3" '
        /^[ \t]*[;#]/ || /^[ \t]*$/ {next}
        /^[ \t]*\[/ {sec = $0; sub(/^[ \t]*\[[ \t]*/, "", sec); sub(/[ \t]*\][ \t]*$/, "", sec); next}
        sec == s { i = index($0, "="); if (!i) next
                   key = substr($0, 1, i - 1); val = substr($0, i + 1)
                   gsub(/^[ \t]+|[ \t]+$/, "", key); sub(/[ \t]+;.*$/, "", val); gsub(/^[ \t]+|[ \t]+$/, "", val)
                   if (key == k) {print val; exit} }' "$1"
}
ini_sections() { sed -n 's/^[ \t]*\[[ \t]*\([^]]*[^] \t]\)[ \t]*\][ \t]*$/\1/p' "$1"; }
ini_keys() { # FILE SECTION: key=value lines of one section
    awk -v s="$2" '
        /^[ \t]*[;#]/ || /^[ \t]*$/ {next}
        /^[ \t]*\[/ {sec = $0; sub(/^[ \t]*\[[ \t]*/, "", sec); sub(/[ \t]*\][ \t]*$/, "", sec); next}
        sec == s { i = index($0, "="); if (!i) next
                   key = substr($0, 1, i - 1); val = substr($0, i + 1)
                   gsub(/^[ \t]+|[ \t]+$/, "", key); sub(/[ \t]+;.*$/, "", val); gsub(/^[ \t]+|[ \t]+$/, "", val)
                   print key "=" val }' "$1"
}

# ---------------------------------------------------------------- one run
# run_one DIR INDEX: trains, evaluates (LM env) and marks one run DONE, using
# the cluster launcher library (deploy/cluster-lib.sh) with local mpirun
# launchers; under Slurm it runs inside the array task's allocation.
run_one() {
    local dir=$1 index=$2 row name expl seed rel
    row=$(awk -F'\t' -v i="$index" 'NR > 1 && $1 == i' "$dir/manifest.tsv")
    [ -n "$row" ] || die "no run $index in $dir/manifest.tsv"
    IFS=$'\t' read -r _ name expl seed rel <<<"$row"
    local run=$dir/$rel bin=$dir/bin t0=$SECONDS
    local actors ranks snapshots updates every
    actors=$(ini_get "$dir/spec.ini" ablation actors) ranks=$(ini_get "$dir/spec.ini" ablation ranks)
    snapshots=$(ini_get "$dir/spec.ini" ablation snapshots)
    actors=${actors:-1} ranks=${ranks:-1}
    updates=$(ini_get "$dir/base.ini" learner updates)
    rm -rf "$run"
    mkdir -p "$run/logs"
    local sets=(--set actor.exploration="$expl" --set run.seed="$seed")
    every=0
    if [ "${snapshots:-0}" -gt 0 ] && [ "$updates" -gt 0 ]; then
        every=$((updates / (snapshots + 1)))
        [ "$every" -ge 1 ] || every=1
        sets+=(--set learner.checkpoint_every="$every")
    fi
    echo "$name	$expl	$seed" >"$run/run.info"
    fail() { echo "$1" >"$run/FAILED"; echo "run $index ($name, seed $seed) failed: $1" >&2; return 1; }

    # Training: replay server, learner group, actors, through the cluster job
    # logic of deploy/cluster-lib.sh: in a Slurm array task the job steps of
    # deploy/slurm/job-plain.sh (the allocation's tasks: 1 replay, the ranks,
    # the actors), otherwise local processes started by mpirun.
    (
        DQ_ROOT=$dir/bin/root DQNLM_BUILD=$bin
        args=(--profile "$dir/base.ini" --run-dir "$run" --ranks "$ranks" --bind 127.0.0.1 "${sets[@]}")
        if [ -n "${SLURM_JOB_ID:-}" ] && [ "${DQNLM_ABLATION_LAUNCH:-}" = slurm ]; then
            unset SLURM_ARRAY_TASK_ID # one plain job: the run folder and seed are the manifest's
            set -- "${args[@]}"
            source "$DQ_ROOT/deploy/slurm/job-plain.sh"
        else
            DQ_NAME=ablate.sh
            source "$DQ_ROOT/deploy/cluster-lib.sh"
            DQ_STOP_SIGNAL=USR1
            mpi=(mpirun --bind-to none --oversubscribe)
            dq_launch_replay() { "$@" </dev/null & }
            dq_launch_learner() { "${mpi[@]}" -np "$dq_ranks" "$@" </dev/null & }
            dq_launch_actors() { "${mpi[@]}" -np "$dq_actors" "$@" </dev/null & }
            dq_parse_args "${args[@]}" --actors "$actors"
            dq_run
        fi
    ) >"$run/logs/train.log" 2>&1 &
    local train=$! child=""
    # Stopped (Ctrl-C, scancel, the grid runner): stop the job in order, no DONE.
    trap 'kill -TERM $train $child 2>/dev/null || true; wait 2>/dev/null || true; echo "stopped" >"$run/STOPPED"; exit 143' TERM INT
    bg_wait() { "$@" & child=$!; local st=0; wait "$child" || st=$?; child=""; return $st; }
    # Learner checkpoints taken while it trains: the greedy policy's held-out
    # score along the way (the learner rewrites learner.ckpt atomically).
    local last="" m n=0
    mkdir -p "$run/snapshots"
    while kill -0 "$train" 2>/dev/null; do
        if [ "$every" -gt 0 ] && [ -f "$run/learner.ckpt" ]; then
            m=$(stat -c %Y.%i "$run/learner.ckpt" 2>/dev/null || true)
            if [ -n "$m" ] && [ "$m" != "$last" ]; then
                cp "$run/learner.ckpt" "$run/snapshots/ckpt-$n" 2>/dev/null && n=$((n + 1))
                last=$m
            fi
        fi
        sleep 0.5
    done
    local st=0
    wait "$train" || st=$?
    [ $st = 0 ] || { fail "training failed (exit $st); see $run/logs/train.log"; return 1; }
    [ -s "$run/qnet.bin" ] || { fail "no qnet.bin after training"; return 1; }

    if grep -qx 'name = lm' "$run/config.ini"; then
        bg_wait "$bin/dqnlm-eval" --config "$run/config.ini" >"$run/logs/eval.log" 2>&1 ||
            { fail "dqnlm-eval failed; see $run/logs/eval.log"; return 1; }
        local c u
        for c in "$run"/snapshots/ckpt-*; do
            [ -f "$c" ] || continue
            u=$("$bin/dqnlm-report" --config "$run/config.ini" --set ablation.snapshot="$c" \
                --set ablation.snapshot_qnet="$c.qnet" 2>>"$run/logs/snapshots.log") ||
                { fail "cannot read snapshot $c; see $run/logs/snapshots.log"; return 1; }
            [ "$u" -lt "$updates" ] || continue # the last one is qnet.bin, evaluated above
            bg_wait "$bin/dqnlm-eval" --config "$run/config.ini" --set eval.qnet="$c.qnet" --set eval.baselines= \
                --set eval.tune_instances=0 --set eval.out="$run/snapshots/$u" >>"$run/logs/snapshots.log" 2>&1 ||
                { fail "dqnlm-eval of snapshot $u failed; see $run/logs/snapshots.log"; return 1; }
        done
        rm -f "$run"/snapshots/ckpt-*
    fi
    rm -f "$run/learner.ckpt"
    echo "wall_s=$((SECONDS - t0))" >"$run/DONE"
}

if [ "${1:-}" = --run-one ]; then
    [ $# -eq 3 ] || die "usage: ablate.sh --run-one DIR INDEX"
    run_one "$2" "$3"
    exit
fi

# ---------------------------------------------------------------- the grid
spec="" dir="" jobs="" slurm=0 report=1 report_only=0
while [ $# -gt 0 ]; do
    case "$1" in
    --dir) dir=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --slurm) slurm=1; shift ;;
    --no-report) report=0; shift ;;
    --report) report_only=1 dir=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    -*) die "unknown option '$1' (try --help)" ;;
    *) [ -z "$spec" ] || die "one SPEC only"; spec=$1; shift ;;
    esac
done

run_report() {
    local d=$1 sets=() v k
    for k in efficiency window; do
        v=$(ini_get "$d/spec.ini" ablation $k)
        [ -z "$v" ] || sets+=(--set "ablation.$k=$v")
    done
    "$d/bin/dqnlm-report" --set ablation.dir="$d" "${sets[@]}"
}
if [ $report_only = 1 ]; then
    [ -f "$dir/manifest.tsv" ] || die "$dir is not an ablation folder (no manifest.tsv)"
    dir=$(cd "$dir" && pwd)
    run_report "$dir"
    exit
fi

[ -n "$spec" ] && [ -f "$spec" ] || die "give an ablation spec (try --help)"
spec=$(cd "$(dirname "$spec")" && pwd)/$(basename "$spec")
# Check the spec before anything runs.
known=" name base seeds seed_base actors ranks jobs snapshots efficiency window "
while IFS= read -r kv; do
    [[ "$known" == *" ${kv%%=*} "* ]] || die "$spec: [ablation] has no key '${kv%%=*}'"
done < <(ini_keys "$spec" ablation)
name=$(ini_get "$spec" ablation name)
[[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || die "$spec: [ablation] name = '$name' (letters, digits, . _ -)"
base=$(ini_get "$spec" ablation base)
seeds=$(ini_get "$spec" ablation seeds) seed_base=$(ini_get "$spec" ablation seed_base)
actors=$(ini_get "$spec" ablation actors) ranks=$(ini_get "$spec" ablation ranks)
seeds=${seeds:-5} seed_base=${seed_base:-1} actors=${actors:-1} ranks=${ranks:-1}
for v in "$seeds" "$actors" "$ranks"; do [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "$spec: '$v' is not a positive count"; done
[[ "$seed_base" =~ ^[0-9]+$ ]] || die "$spec: seed_base = '$seed_base'"
case "${base:-chain}" in
*.ini) base_file=$(cd "$(dirname "$spec")" && cd "$(dirname "$base")" && pwd)/$(basename "$base") ;;
*) base_file=$root/deploy/profiles/${base:-chain}.ini ;;
esac
[ -f "$base_file" ] || die "$spec: base profile '$base' not found ($base_file)"
schedules=() overrides=()
while IFS= read -r sec; do
    case "$sec" in
    ablation) ;;
    schedule\ *)
        s=${sec#schedule }
        s=$(echo "$s" | sed 's/^ *//; s/ *$//')
        [[ "$s" =~ ^[A-Za-z0-9._-]+$ ]] || die "$spec: schedule name '$s' (letters, digits, . _ -)"
        e=$(ini_get "$spec" "$sec" exploration)
        [ -n "$e" ] || die "$spec: [$sec] needs exploration = SCHEDULE"
        [ "$(ini_keys "$spec" "$sec" | wc -l)" = 1 ] ||
            die "$spec: [$sec] may only set exploration (everything else is held fixed)"
        schedules+=("$s	$e") ;;
    *) while IFS= read -r kv; do overrides+=(--set "$sec.$kv"); done < <(ini_keys "$spec" "$sec") ;;
    esac
done < <(ini_sections "$spec")
[ ${#schedules[@]} -ge 1 ] || die "$spec: no [schedule NAME] sections"

dir=${dir:-$root/runs/ablation-$name}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [ -f "$dir/spec.ini" ]; then
    cmp -s "$spec" "$dir/spec.ini" || die "$dir holds another spec (spec.ini differs); give another --dir"
fi

# Frozen programs: binaries and the launcher scripts.
if [ ! -x "$dir/bin/dqnlm-report" ]; then
    "$root/deploy/build.sh" build >/dev/null
    mkdir -p "$dir/bin/root/deploy" "$dir/bin/replay_server" "$dir/bin/learner/tools" "$dir/bin/actor"
    b=${DQNLM_BUILD:-$root/build}
    cp "$b/replay_server/dqnlm-replay" "$dir/bin/replay_server/"
    cp "$b/learner/dqnlm-learner" "$dir/bin/learner/"
    cp "$b/learner/tools/dqnlm-eval" "$b/learner/tools/dqnlm-report" "$dir/bin/learner/tools/"
    cp "$b/actor/dqnlm-actor" "$dir/bin/actor/"
    ln -sf learner/tools/dqnlm-eval learner/tools/dqnlm-report "$dir/bin/"
    cp "$root/deploy/cluster-lib.sh" "$root/deploy/cluster-task.sh" "$dir/bin/root/deploy/"
    if [ -f "$root/deploy/slurm/job-plain.sh" ]; then
        mkdir -p "$dir/bin/root/deploy/slurm"
        cp "$root/deploy/slurm/job-plain.sh" "$root/deploy/slurm/ablation-array.sbatch" "$dir/bin/root/deploy/slurm/"
    fi
    cp "$self" "$dir/bin/ablate.sh"
fi
bin=$dir/bin

# The base configuration every run starts from; every run must check.
"$bin/replay_server/dqnlm-replay" --config "$base_file" --set actor.count="$actors" "${overrides[@]}" \
    --set run.dir="$dir" --print-config >"$dir/base.ini.new" || die "bad base configuration (see above)"
if [ -f "$dir/base.ini" ] && ! cmp -s "$dir/base.ini" "$dir/base.ini.new"; then
    rm -f "$dir/base.ini.new"
    die "$dir/base.ini differs from what $spec now gives (base profile changed?); give another --dir"
fi
mv "$dir/base.ini.new" "$dir/base.ini"
for s in "${schedules[@]}"; do
    "$bin/dqnlm-report" --config "$dir/base.ini" --set actor.exploration="${s#*	}" >/dev/null ||
        die "schedule ${s%%	*}: bad exploration '${s#*	}' (see above)"
done
[ -f "$dir/spec.ini" ] || cp "$spec" "$dir/spec.ini"

{
    printf 'index\tschedule\texploration\tseed\trun\n'
    i=0
    for s in "${schedules[@]}"; do
        for ((k = 0; k < seeds; k++)); do
            printf '%d\t%s\t%s\t%d\truns/%s/seed-%d\n' $i "${s%%	*}" "${s#*	}" $((seed_base + k)) "${s%%	*}" $((seed_base + k))
            i=$((i + 1))
        done
    done
} >"$dir/manifest.tsv"
total=$(($(wc -l <"$dir/manifest.tsv") - 1))
# Seed-major order (every schedule's first seed, then the second, ...): an
# ablation cut short still compares every schedule on the same seeds.
todo=()
while IFS=$'\t' read -r i _ _ _ rel; do
    [ -f "$dir/$rel/DONE" ] || todo+=("$i")
done < <(tail -n +2 "$dir/manifest.tsv" | sort -t$'\t' -k4,4n -k1,1n)
log "ablation $name: ${#schedules[@]} schedules x $seeds seeds = $total runs in $dir"
log "$((total - ${#todo[@]})) finished runs skipped, ${#todo[@]} to run"

if [ $slurm = 1 ]; then
    command -v sbatch >/dev/null || die "--slurm: no sbatch in PATH"
    if [ ${#todo[@]} -gt 0 ]; then
        list=$(IFS=,; echo "${todo[*]}")
        ntasks=$((1 + actors + ranks))
        jid=$(sbatch --parsable --array="$list" -n "$ntasks" -N 1 -J "abl-$name" -o "$dir/slurm-%A_%a.out" \
            "$bin/root/deploy/slurm/ablation-array.sbatch" "$dir")
        jid=${jid%%;*}
        log "submitted job array $jid (${#todo[@]} tasks)"
        dep=(--dependency=afterany:"$jid")
    else
        dep=()
    fi
    rjid=$(sbatch --parsable "${dep[@]}" -n 1 -N 1 -J "abl-$name-report" -o "$dir/slurm-report-%j.out" \
        --wrap "\"$bin/ablate.sh\" --report \"$dir\"")
    log "report job ${rjid%%;*}: $dir/report/report.md when it ends"
    exit 0
fi

if [ -z "$jobs" ]; then
    jobs=$(ini_get "$dir/spec.ini" ablation jobs)
    [ -n "$jobs" ] && [ "$jobs" != auto ] || jobs=$(( $(nproc) / (1 + actors + ranks) ))
fi
[[ "$jobs" =~ ^[0-9]+$ ]] || die "jobs = '$jobs'"
[ "$jobs" -ge 1 ] || jobs=1

declare -A running=() runidx=()
failed=0 done_n=$((total - ${#todo[@]})) t_start=$SECONDS
stop_runs() {
    trap - INT TERM
    local p
    log "stopping ${#running[@]} running run(s); finished runs are kept, run the same command to resume"
    for p in "${!running[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${!running[@]}"; do wait "$p" 2>/dev/null || true; done
    exit 130
}
trap stop_runs INT TERM
progress() {
    local el=$((SECONDS - t_start)) left=$((total - done_n - failed - ${#running[@]})) eta=""
    local ran=$((done_n - (total - ${#todo[@]})))
    [ $ran -gt 0 ] && eta=", about $(( el * (total - done_n - failed) / ran / 60 )) min left"
    log "progress: $done_n/$total done, $failed failed, ${#running[@]} running, $left waiting; ${el}s elapsed$eta"
}
reap() { # waits for one run to end
    local p st
    while :; do
        for p in "${!running[@]}"; do
            if ! kill -0 "$p" 2>/dev/null; then
                wait "$p" && st=0 || st=$?
                if [ $st = 0 ]; then done_n=$((done_n + 1)); log "finished ${running[$p]}"
                else failed=$((failed + 1)); log "FAILED ${running[$p]}: $(tail -n 1 "$dir/logs/run-${runidx[$p]}.log" 2>/dev/null)"; fi
                unset "running[$p]" "runidx[$p]"
                progress
                return
            fi
        done
        sleep 1 &
        wait $! || true
    done
}
for i in "${todo[@]}"; do
    while [ ${#running[@]} -ge "$jobs" ]; do reap; done
    rel=$(awk -F'\t' -v i="$i" 'NR > 1 && $1 == i {print $5}' "$dir/manifest.tsv")
    mkdir -p "$dir/logs"
    "$bin/ablate.sh" --run-one "$dir" "$i" >"$dir/logs/run-$i.log" 2>&1 &
    running[$!]="run $i: $rel"
    runidx[$!]=$i
    log "started run $i: $rel"
done
while [ ${#running[@]} -gt 0 ]; do reap; done
trap - INT TERM
log "all runs ended: $done_n/$total done, $failed failed"
if [ $report = 1 ]; then
    run_report "$dir"
    log "report: $dir/report/report.md"
fi
[ $failed = 0 ]
