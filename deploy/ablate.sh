#!/bin/bash
# ablate.sh - runs an ablation: a grid of named variants (any configuration
# keys) x seeds, every run a whole dqnlm job in its own folder, locally or as
# a Slurm job array, then dqnlm-report. The one runner of grids of settings.
#
#   deploy/ablate.sh SPEC.ini [--grid FILE] [OPTIONS]
#   deploy/ablate.sh --grid FILE [--base PROFILE|FILE.ini] [--name NAME]
#                    [--seeds N] [--actors N] [--ranks P]
#                    [--set SECTION.KEY=VALUE ...] [OPTIONS]
#   OPTIONS: [--dir DIR] [--jobs N] [--no-report] [--site-setup FILE]
#            [--slurm [--partition P] [--account A] [--time T] [--mem M]
#             [--cpus-per-task N] [--mpi TYPE] [--sbatch-arg ARG ...]]
#   deploy/ablate.sh --report DIR            # only (re)build DIR/report
#   deploy/ablate.sh --run-one DIR INDEX     # one run of the grid (Slurm tasks)
#
# SPEC (docs/exploration.md, "Ablations"; --slurm options: docs/deploy.md;
# examples in deploy/ablations/):
#   [ablation] name, base (a profile name or .ini), seeds, seed_base, actors,
#              ranks, jobs, snapshots, efficiency, window
#   [variant NAME] section.key = value ...   (one section per variant; any
#              configuration keys, e.g. dqn.gamma = 0.95, lm.schedule = ...)
#   [schedule NAME] exploration = SCHEDULE   (short for [variant NAME]
#              actor.exploration = SCHEDULE)
#   [SECTION] key = value   any other section: held-fixed overrides of the base
# --grid FILE: one variant per line, `NAME: section.key=value ...` or the
# settings alone (named after them, e.g. lr-0.002_n_step-3); blank lines and
# # comments skipped. With a SPEC the lines add to its variants; without,
# the [ablation] comes from --base (default chain), --name (default the
# file's name), --seeds (default 5), --actors, --ranks and `--set
# ablation.KEY=VALUE` (seed_base, snapshots, ...), the held-fixed overrides
# from `--set SECTION.KEY=VALUE`. DIR/spec.ini is then the spec they make.
# The folder (default runs/ablation-NAME) gets spec.ini, base.ini (the
# effective configuration every run starts from), manifest.tsv (one row per
# run: index, variant, settings, seed, run folder) and runs/VARIANT/seed-S/
# with each run's config, logs, metrics, evaluation and a DONE marker. A run
# with DONE is skipped, so running the same command again resumes an
# interrupted ablation; a run without it is started again from scratch.
# --jobs N runs N at once (default: the CPUs divided by the processes of one
# run). --slurm submits the missing runs as a Slurm job array
# (deploy/slurm/ablation-array.sbatch, one task per run, 1 + ranks + actors
# tasks of one node each) and the report as a job that depends on it;
# --partition, --account and --time go to both, --mem and --cpus-per-task
# (per task) to the array, each --sbatch-arg to both; --mpi TYPE is the
# learner ranks' srun --mpi (default pmix). --site-setup FILE (or
# DQNLM_SITE_SETUP=FILE) is sourced here, in every Slurm job and before every
# task. The programs and the deploy scripts are copied into DIR/bin first (the
# scripts under DIR/bin/root/deploy), so a rebuild or an edit during a long
# ablation does not change them halfway.
set -euo pipefail
# The deploy folder this copy runs from: the checkout's, or DIR/bin/root/deploy
# (DIR/bin/ablate.sh is a link to the frozen copy there).
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
self=$root/deploy/ablate.sh
source "$root/deploy/ini.sh"

die() { echo "ablate.sh: $*" >&2; exit 2; }
log() { echo "[$(date +%H:%M:%S)] $*"; }

# ================================================================ one run
# run_one DIR INDEX: trains, evaluates (LM env) and marks one run DONE; a run
# that fails gets FAILED with the reason, a stopped one STOPPED, neither DONE.
run_one() {
    local dir=$1 index=$2 row name settings seed rel kv
    row=$(awk -F'\t' -v i="$index" 'NR > 1 && $1 == i' "$dir/manifest.tsv")
    [ -n "$row" ] || die "no run $index in $dir/manifest.tsv"
    IFS=$'\t' read -r _ name settings seed rel <<<"$row"
    run=$dir/$rel bin=$dir/bin
    local t0=$SECONDS snapshots
    updates=$(dq_ini_get "$dir/base.ini" learner updates)
    snapshots=$(dq_ini_get "$dir/spec.ini" ablation snapshots)
    # learner.checkpoint_every for spec snapshots evenly spaced over the budget.
    every=0
    if [ "${snapshots:-0}" -gt 0 ] && [ "$updates" -gt 0 ]; then
        every=$((updates / (snapshots + 1)))
        [ "$every" -ge 1 ] || every=1
    fi
    rm -rf "$run"
    mkdir -p "$run/logs" "$run/snapshots"
    echo "$name	$settings	$seed" >"$run/run.info"
    run_what="run $index ($name, seed $seed)"

    local sets=(--set run.seed="$seed")
    local kvs
    read -r -a kvs <<<"$settings" # split on blanks only, never globbed
    for kv in "${kvs[@]}"; do sets+=(--set "$kv"); done
    [ "$every" = 0 ] || sets+=(--set learner.checkpoint_every="$every")
    train "$dir" "${sets[@]}" >"$run/logs/train.log" 2>&1 &
    train_pid=$! child=""
    # Stopped (Ctrl-C, scancel, the grid runner): the training job stops in
    # its order (deploy/cluster-lib.sh), the run gets no DONE.
    trap 'kill -TERM $train_pid $child 2>/dev/null || true; wait 2>/dev/null || true
          echo "stopped" >"$run/STOPPED"; exit 143' TERM INT
    watch_snapshots
    local st=0
    wait "$train_pid" || st=$?
    [ $st = 0 ] || run_fail "training failed (exit $st); see $run/logs/train.log"
    [ -s "$run/qnet.bin" ] || run_fail "no qnet.bin after training"
    [ "$(dq_ini_get "$run/config.ini" env name)" != lm ] || evaluate
    rm -rf "$run/learner.ckpt" "$run/snapshots"/ckpt-*
    echo "wall_s=$((SECONDS - t0))" >"$run/DONE"
}

run_fail() { echo "$1" >"$run/FAILED"; echo "$run_what failed: $1" >&2; exit 1; }

# train DIR SETTINGS...: the training job of one run through the job logic of
# deploy/cluster-lib.sh (frozen in DIR/bin/root): in a Slurm array task the
# job steps of deploy/slurm/job-plain.sh on the task's allocation (1 replay,
# the ranks, the actors), otherwise processes on this machine.
train() {
    local dir=$1 actors ranks
    shift
    actors=$(dq_ini_get "$dir/spec.ini" ablation actors) ranks=$(dq_ini_get "$dir/spec.ini" ablation ranks)
    DQ_ROOT=$dir/bin/root DQNLM_BUILD=$dir/bin
    local args=(--profile "$dir/base.ini" --run-dir "$run" --ranks "${ranks:-1}" --bind 127.0.0.1 "$@")
    if [ -n "${SLURM_JOB_ID:-}" ] && [ "${DQNLM_ABLATION_LAUNCH:-}" = slurm ]; then
        unset SLURM_ARRAY_TASK_ID # one plain job: the run folder and seed are the manifest's
        set -- "${args[@]}"
        source "$DQ_ROOT/deploy/slurm/job-plain.sh"
    else
        DQ_NAME=ablate.sh
        source "$DQ_ROOT/deploy/cluster-lib.sh"
        dq_parse_args "${args[@]}" --actors "${actors:-1}"
        dq_use_local_launchers
        dq_run
    fi
}

# bg_wait CMD...: runs CMD in the background and waits, so that the stop trap
# runs at once and can end it ($child).
bg_wait() { "$@" & child=$!; local st=0; wait "$child" || st=$?; child=""; return $st; }

# watch_snapshots: while the training runs, copies every new learner
# checkpoint (the learner rewrites learner.ckpt atomically, every $every
# updates) to snapshots/ckpt-N, for the greedy policy's held-out score along
# the way.
watch_snapshots() {
    local last="" m n=0
    while kill -0 "$train_pid" 2>/dev/null; do
        if [ "$every" -gt 0 ] && [ -f "$run/learner.ckpt" ]; then
            m=$(stat -c %Y.%i "$run/learner.ckpt" 2>/dev/null || true)
            if [ -n "$m" ] && [ "$m" != "$last" ]; then
                cp "$run/learner.ckpt" "$run/snapshots/ckpt-$n" 2>/dev/null && n=$((n + 1))
                last=$m
            fi
        fi
        sleep 0.5
    done
}

# evaluate: dqnlm-eval of the final Q-network against the baselines, then of
# every snapshot taken before the end (their update counts name the folders).
evaluate() {
    local c u log=$run/logs/snapshots.log
    bg_wait "$bin/dqnlm-eval" --config "$run/config.ini" >"$run/logs/eval.log" 2>&1 ||
        run_fail "dqnlm-eval failed; see $run/logs/eval.log"
    for c in "$run"/snapshots/ckpt-*; do
        [ -f "$c" ] || continue
        u=$("$bin/dqnlm-report" --config "$run/config.ini" --set ablation.snapshot="$c" \
            --set ablation.snapshot_qnet="$c.qnet" 2>>"$log") || run_fail "cannot read snapshot $c; see $log"
        [ "$u" -lt "$updates" ] || continue # the last one is qnet.bin, evaluated above
        bg_wait "$bin/dqnlm-eval" --config "$run/config.ini" --set eval.qnet="$c.qnet" --set eval.baselines= \
            --set eval.tune_instances=0 --set eval.out="$run/snapshots/$u" >>"$log" 2>&1 ||
            run_fail "dqnlm-eval of snapshot $u failed; see $log"
    done
}

# ================================================================ the grid
# grid_variants FILE: the lines of a grid file as [variant NAME] sections on
# stdout. A line is `NAME: section.key=value ...` or the settings alone (its
# name is then made of them: `key-value_key-value`, characters other than
# letters, digits, . _ - as _); blank lines and # comments are skipped.
grid_variants() {
    local f=$1 line n=0 v kv k settings names=" " gen
    [ -r "$f" ] || die "--grid $f: no such readable file"
    declare -A seen=() keys=()
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        line=${line%$'\r'}
        [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
        read -r -a kv <<<"$line"
        v="" gen=""
        if [[ "${kv[0]}" == *: && "${kv[0]}" != *=* ]]; then
            v=${kv[0]%:}
            kv=("${kv[@]:1}")
            [[ "$v" =~ ^[A-Za-z0-9._-]+$ ]] || die "$f:$n: variant name '$v' (letters, digits, . _ -)"
        fi
        [ ${#kv[@]} -ge 1 ] || die "$f:$n: '${v:-$line}' sets nothing (give section.key=value settings)"
        keys=() settings=""
        for k in "${kv[@]}"; do
            [[ "$k" =~ ^[a-z_]+\.[a-z_0-9]+= ]] ||
                die "$f:$n: '$k' is not section.key=value (e.g. dqn.gamma=0.95)"
            [ -z "${keys[${k%%=*}]:-}" ] || die "$f:$n: ${k%%=*} set twice"
            keys[${k%%=*}]=1
            settings+="${k%%=*}=${k#*=}"$'\n'
            gen+="${gen:+_}$(sed 's/^[^.]*\.//; s/=/-/; s/[^A-Za-z0-9._-]/_/g' <<<"$k")"
        done
        if [ -z "$v" ]; then
            v=$gen
            [ ${#v} -le 64 ] || die "$f:$n: the name made of its settings is over 64 characters; name the line (NAME: settings)"
        fi
        [ -z "${seen[$v]:-}" ] || die "$f:$n: variant '$v' is also line ${seen[$v]}; name the lines (NAME: settings)"
        seen[$v]=$n
        printf '\n[variant %s]\n%s' "$v" "$settings"
    done <"$f"
    [ ${#seen[@]} -ge 1 ] || die "--grid $f: no settings lines"
}

# grid_spec: the spec an ablation over --grid FILE runs (written to $spec):
# SPEC's text (or an [ablation] section of --name, --base, --seeds, --actors,
# --ranks, `--set ablation.KEY=VALUE`, and the held-fixed `--set
# SECTION.KEY=VALUE` overrides) followed by one variant per grid line. The
# same command makes the same spec, so it resumes the ablation in DIR.
grid_spec() {
    local out=$1 kv sec
    {
        if [ -n "$user_spec" ]; then
            cat "$user_spec"
        else
            printf '; made by deploy/ablate.sh --grid %s\n[ablation]\n' "$(basename "$grid")"
            printf 'name = %s\nbase = %s\n' "$g_name" "$g_base"
            for kv in seeds="$g_seeds" actors="$g_actors" ranks="$g_ranks"; do
                [ -z "${kv#*=}" ] || printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"
            done
            for sec in ablation $(printf '%s\n' "${g_sets[@]}" | sed -n 's/^\([a-z_]*\)\..*/\1/p' | grep -vx ablation | awk '!s[$0]++'); do
                [ "$sec" = ablation ] || printf '[%s]\n' "$sec"
                for kv in "${g_sets[@]}"; do
                    [ "${kv%%.*}" = "$sec" ] || continue
                    kv=${kv#*.}
                    printf '%s=%s\n' "${kv%%=*}" "${kv#*=}"
                done
            done
        fi
        grid_variants "$grid"
    } >"$out"
}

# check_grid_opts: the options that make the [ablation] section of a --grid
# without a SPEC: the name defaults to the grid file's (without extension),
# the base to chain; each --set is SECTION.KEY=VALUE.
check_grid_opts() {
    local kv k
    g_name=${g_name:-$(basename "$grid" | sed 's/\.[^.]*$//; s/[^A-Za-z0-9._-]/_/g')}
    g_base=${g_base:-chain}
    case "$g_base" in *.ini) g_base=$(cd "$(dirname "$g_base")" 2>/dev/null && pwd)/$(basename "$g_base") ;; esac
    for kv in "${g_sets[@]}"; do
        [[ "$kv" =~ ^[a-z_]+\.[a-z_0-9]+= ]] || die "--set '$kv' is not SECTION.KEY=VALUE"
        case "${kv%%=*}" in
        ablation.name | ablation.base | ablation.seeds | ablation.actors | ablation.ranks)
            k=${kv%%=*}
            die "--set $kv: give --${k#ablation.} instead" ;;
        esac
    done
}

# site_setup: sources DQNLM_SITE_SETUP (--site-setup FILE) here, as the
# launchers do (deploy/cluster-lib.sh, dq_site_setup), for the programs this
# script runs itself (the configuration check, the report).
site_setup() {
    [ -n "${DQNLM_SITE_SETUP:-}" ] || return 0
    [ -r "$DQNLM_SITE_SETUP" ] || die "DQNLM_SITE_SETUP=$DQNLM_SITE_SETUP: no such readable file"
    local st=0
    set +eu
    # shellcheck disable=SC1090
    source "$DQNLM_SITE_SETUP"
    st=$?
    set -eu
    [ "$st" = 0 ] || die "site setup $DQNLM_SITE_SETUP failed (status $st)"
}

# read_spec: checks SPEC and sets name, seeds, seed_base, actors, ranks,
# base_file, variants ("NAME<TAB>KEY=VALUE KEY=VALUE..." each) and overrides
# (--set ...).
read_spec() {
    local kv sec s base
    local known=" name base seeds seed_base actors ranks jobs snapshots efficiency window "
    while IFS= read -r kv; do
        [[ "$known" == *" ${kv%%=*} "* ]] || die "$spec_label: [ablation] has no key '${kv%%=*}'"
    done < <(dq_ini_keys "$spec" ablation)
    name=$(dq_ini_get "$spec" ablation name)
    [[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || die "$spec_label: [ablation] name = '$name' (letters, digits, . _ -)"
    base=$(dq_ini_get "$spec" ablation base)
    seeds=$(dq_ini_get "$spec" ablation seeds) seed_base=$(dq_ini_get "$spec" ablation seed_base)
    actors=$(dq_ini_get "$spec" ablation actors) ranks=$(dq_ini_get "$spec" ablation ranks)
    seeds=${seeds:-5} seed_base=${seed_base:-1} actors=${actors:-1} ranks=${ranks:-1}
    for s in "$seeds" "$actors" "$ranks"; do [[ "$s" =~ ^[1-9][0-9]*$ ]] || die "$spec_label: '$s' is not a positive count"; done
    [[ "$seed_base" =~ ^[0-9]+$ ]] || die "$spec_label: seed_base = '$seed_base'"
    case "${base:-chain}" in
    *.ini) base_file=$(cd "$spec_origin" && cd "$(dirname "$base")" && pwd)/$(basename "$base") ;;
    *) base_file=$root/deploy/profiles/${base:-chain}.ini ;;
    esac
    [ -f "$base_file" ] || die "$spec_label: base profile '$base' not found ($base_file)"
    variants=() overrides=()
    while IFS= read -r sec; do
        case "$sec" in
        ablation) ;;
        schedule\ * | variant\ *) read_variant "$sec" ;;
        *) while IFS= read -r kv; do overrides+=(--set "$sec.$kv"); done < <(dq_ini_keys "$spec" "$sec") ;;
        esac
    done < <(dq_ini_sections "$spec")
    [ ${#variants[@]} -ge 1 ] || die "$spec_label: no [variant NAME] (or [schedule NAME]) sections"
}

# read_variant SECTION: one [variant NAME] or [schedule NAME] into variants.
read_variant() {
    local sec=$1 v kv settings="" n=0
    v=$(sed 's/^[a-z]* *//; s/ *$//' <<<"$sec")
    [[ "$v" =~ ^[A-Za-z0-9._-]+$ ]] || die "$spec_label: variant name '$v' in [$sec] (letters, digits, . _ -)"
    for kv in "${variants[@]}"; do [ "${kv%%	*}" != "$v" ] || die "$spec_label: variant '$v' given twice"; done
    while IFS= read -r kv; do
        n=$((n + 1))
        if [[ "$sec" == schedule\ * ]]; then
            [ "${kv%%=*}" = exploration ] ||
                die "$spec_label: [$sec] sets '${kv%%=*}': a [schedule] sets only exploration; use [variant $v] with section.key = value"
            kv=actor.$kv
        fi
        [[ "${kv%%=*}" =~ ^[a-z_]+\.[a-z_0-9]+$ ]] ||
            die "$spec_label: [$sec] key '${kv%%=*}' is not section.key (e.g. dqn.gamma = 0.95)"
        [[ "$kv" != *[[:space:]]* ]] || die "$spec_label: [$sec] ${kv%%=*} = '${kv#*=}': values may not contain spaces"
        settings+="${settings:+ }$kv"
    done < <(dq_ini_keys "$spec" "$sec")
    [ "$n" -ge 1 ] || die "$spec_label: [$sec] sets nothing (give section.key = value lines)"
    variants+=("$v	$settings")
}

# freeze_programs: the binaries into DIR/bin, the deploy scripts into
# DIR/bin/root/deploy (once; later runs of the ablation use the same ones).
freeze_programs() {
    [ ! -x "$dir/bin/dqnlm-report" ] || return 0
    local b=${DQNLM_BUILD:-$root/build} d=$dir/bin
    "$root/deploy/build.sh" build >/dev/null
    mkdir -p "$d/root/deploy/slurm" "$d/replay_server" "$d/learner/tools" "$d/actor"
    cp "$b/replay_server/dqnlm-replay" "$d/replay_server/"
    cp "$b/learner/dqnlm-learner" "$d/learner/"
    cp "$b/learner/tools/dqnlm-eval" "$b/learner/tools/dqnlm-report" "$d/learner/tools/"
    cp "$b/actor/dqnlm-actor" "$d/actor/"
    ln -sf learner/tools/dqnlm-eval learner/tools/dqnlm-report "$d/"
    cp "$self" "$root"/deploy/{cluster-lib,cluster-task,ini}.sh "$d/root/deploy/"
    cp "$root/deploy/slurm/job-plain.sh" "$root/deploy/slurm/ablation-array.sbatch" "$d/root/deploy/slurm/"
    ln -sf root/deploy/ablate.sh "$d/ablate.sh"
}

# write_base: DIR/base.ini, the effective configuration every run starts
# from (it must not change between invocations), with every variant checked
# (its keys and values by the configuration loader, an exploration schedule
# by dqnlm-report).
write_base() {
    local s kv sets kvs
    "$bin/replay_server/dqnlm-replay" --config "$base_file" --set actor.count="$actors" "${overrides[@]}" \
        --set run.dir="$dir" --print-config >"$dir/base.ini.new" || die "bad base configuration (see above)"
    if [ -f "$dir/base.ini" ] && ! cmp -s "$dir/base.ini" "$dir/base.ini.new"; then
        rm -f "$dir/base.ini.new"
        die "$dir/base.ini differs from what $spec_label now gives (base profile changed?); give another --dir"
    fi
    mv "$dir/base.ini.new" "$dir/base.ini"
    for s in "${variants[@]}"; do
        sets=()
        read -r -a kvs <<<"${s#*	}" # split on blanks only, never globbed
        for kv in "${kvs[@]}"; do sets+=(--set "$kv"); done
        "$bin/dqnlm-report" --config "$dir/base.ini" "${sets[@]}" >/dev/null ||
            die "variant ${s%%	*}: bad settings '${s#*	}' (see above)"
    done
}

# write_manifest: DIR/manifest.tsv, one row per run; sets total and todo (the
# runs without DONE), seed-major (every variant's first seed, then the
# second, ...): an ablation cut short still compares variants on the same seeds.
write_manifest() {
    local s k i=0 rel old=0 v
    # A folder set up by an ablate.sh from before variants runs its frozen
    # copy, which reads "index schedule exploration seed run" rows: keep
    # those for exploration-only specs.
    grep -q read_variant "$bin/root/deploy/ablate.sh" || old=1
    {
        if [ $old = 1 ]; then printf 'index\tschedule\texploration\tseed\trun\n'; else printf 'index\tvariant\tsettings\tseed\trun\n'; fi
        for s in "${variants[@]}"; do
            v=${s#*	}
            if [ $old = 1 ]; then
                [[ "$v" == actor.exploration=* ]] && [[ "$v" != *" "* ]] ||
                    die "$dir was set up by an older ablate.sh that varies only the exploration; give another --dir"
                v=${v#actor.exploration=}
            fi
            for ((k = 0; k < seeds; k++)); do
                printf '%d\t%s\t%s\t%d\truns/%s/seed-%d\n' $i "${s%%	*}" "$v" $((seed_base + k)) "${s%%	*}" $((seed_base + k))
                i=$((i + 1))
            done
        done
    } >"$dir/manifest.tsv"
    total=$i todo=()
    while IFS=$'\t' read -r i _ _ _ rel; do
        [ -f "$dir/$rel/DONE" ] || todo+=("$i")
    done < <(tail -n +2 "$dir/manifest.tsv" | sort -t$'\t' -k4,4n -k1,1n)
}

# submit_slurm: the missing runs as one job array, the report as a job after it.
submit_slurm() {
    local list jid rjid dep=() site=""
    command -v sbatch >/dev/null || die "--slurm: no sbatch in PATH"
    # The site's setup reaches the tasks as an argument, not through the
    # environment (a site may submit with --export=NONE).
    if [ -n "${DQNLM_SITE_SETUP:-}" ]; then
        task_args+=(--site-setup "$DQNLM_SITE_SETUP")
        site="DQNLM_SITE_SETUP=\"$DQNLM_SITE_SETUP\" "
    fi
    if [ ${#todo[@]} -gt 0 ]; then
        list=$(IFS=,; echo "${todo[*]}")
        jid=$(sbatch --parsable --array="$list" -n $((1 + actors + ranks)) -N 1 -J "abl-$name" \
            "${sb_both[@]}" "${sb_array[@]}" \
            -o "$dir/slurm-%A_%a.out" "$bin/root/deploy/slurm/ablation-array.sbatch" "$dir" "${task_args[@]}") ||
            die "sbatch of the job array failed (see above)"
        jid=${jid%%;*}
        log "submitted job array $jid (${#todo[@]} tasks)"
        dep=(--dependency=afterany:"$jid")
    fi
    rjid=$(sbatch --parsable "${dep[@]}" -n 1 -N 1 -J "abl-$name-report" "${sb_both[@]}" \
        -o "$dir/slurm-report-%j.out" \
        --wrap "$site\"$bin/ablate.sh\" --report \"$dir\"") || die "sbatch of the report job failed (see above)"
    log "report job ${rjid%%;*}: $dir/report/report.md when it ends"
}

run_report() {
    local d=$1 sets=() v k
    for k in efficiency window; do
        v=$(dq_ini_get "$d/spec.ini" ablation $k)
        [ -z "$v" ] || sets+=(--set "ablation.$k=$v")
    done
    "$d/bin/dqnlm-report" --set ablation.dir="$d" "${sets[@]}"
}

# ---------------------------------------------------------------- the local grid runner
# N runs at once (--jobs), each `ablate.sh --run-one` in the background.
declare -A running=() runidx=()
failed=0 done_n=0 t_start=$SECONDS

stop_runs() {
    trap - INT TERM
    local p
    log "stopping ${#running[@]} running run(s); finished runs are kept, run the same command to resume"
    for p in "${!running[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${!running[@]}"; do wait "$p" 2>/dev/null || true; done
    exit 130
}
grid_progress() {
    local el=$((SECONDS - t_start)) left=$((total - done_n - failed - ${#running[@]})) eta=""
    local ran=$((done_n - (total - ${#todo[@]})))
    [ $ran -gt 0 ] && eta=", about $((el * (total - done_n - failed) / ran / 60)) min left"
    log "progress: $done_n/$total done, $failed failed, ${#running[@]} running, $left waiting; ${el}s elapsed$eta"
}
reap() { # waits for one run to end
    local p st
    while :; do
        for p in "${!running[@]}"; do
            kill -0 "$p" 2>/dev/null && continue
            wait "$p" && st=0 || st=$?
            if [ $st = 0 ]; then
                done_n=$((done_n + 1)); log "finished ${running[$p]}"
            else
                failed=$((failed + 1)); log "FAILED ${running[$p]}: $(tail -n 1 "$dir/logs/run-${runidx[$p]}.log" 2>/dev/null)"
            fi
            unset "running[$p]" "runidx[$p]"
            grid_progress
            return
        done
        sleep 1 &
        wait $! || true
    done
}
run_grid() {
    local i rel
    if [ -z "$jobs" ]; then
        jobs=$(dq_ini_get "$dir/spec.ini" ablation jobs)
        [ -n "$jobs" ] && [ "$jobs" != auto ] || jobs=$(($(nproc) / (1 + actors + ranks)))
    fi
    [[ "$jobs" =~ ^[0-9]+$ ]] || die "jobs = '$jobs'"
    [ "$jobs" -ge 1 ] || jobs=1
    done_n=$((total - ${#todo[@]}))
    trap stop_runs INT TERM
    mkdir -p "$dir/logs"
    for i in "${todo[@]}"; do
        while [ ${#running[@]} -ge "$jobs" ]; do reap; done
        rel=$(awk -F'\t' -v i="$i" 'NR > 1 && $1 == i {print $5}' "$dir/manifest.tsv")
        "$bin/ablate.sh" --run-one "$dir" "$i" >"$dir/logs/run-$i.log" 2>&1 &
        running[$!]="run $i: $rel"
        runidx[$!]=$i
        log "started run $i: $rel"
    done
    while [ ${#running[@]} -gt 0 ]; do reap; done
    trap - INT TERM
    log "all runs ended: $done_n/$total done, $failed failed"
}

# ================================================================ main
if [ "${1:-}" = --run-one ]; then
    [ $# -eq 3 ] || die "usage: ablate.sh --run-one DIR INDEX"
    run_one "$2" "$3"
    exit
fi

spec="" dir="" jobs="" slurm=0 report=1 report_only=0 sb_both=() sb_array=() task_args=()
grid="" g_name="" g_base="" g_seeds="" g_actors="" g_ranks="" g_sets=() g_opts=()
need() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value (try --help)"; }
while [ $# -gt 0 ]; do
    case "$1" in
    --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;; # --opt=value
    --partition | --account | --time) need "$@"; sb_both+=("$1=$2"); shift 2 ;;
    --mem | --cpus-per-task) need "$@"; sb_array+=("$1=$2"); shift 2 ;;
    --sbatch-arg) need "$@"; sb_both+=("$2"); shift 2 ;;
    --mpi) need "$@"; [[ "$2" =~ ^[A-Za-z0-9_]+$ ]] || die "--mpi '$2' is not an srun --mpi type (srun --mpi=list)"
           task_args+=(--mpi "$2"); shift 2 ;;
    --site-setup) need "$@"; [ -r "$2" ] || die "--site-setup '$2': no such readable file"
                  DQNLM_SITE_SETUP=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); export DQNLM_SITE_SETUP; shift 2 ;;
    --dir) need "$@"; dir=$2; shift 2 ;;
    --jobs) need "$@"; jobs=$2; shift 2 ;;
    --slurm) slurm=1; shift ;;
    --no-report) report=0; shift ;;
    --report) need "$@"; report_only=1 dir=$2; shift 2 ;;
    --grid) need "$@"; grid=$(cd "$(dirname "$2")" && pwd)/$(basename "$2") || die "--grid $2: no such file"; shift 2 ;;
    --name) need "$@"; g_name=$2 g_opts+=("$1"); shift 2 ;;
    --base) need "$@"; g_base=$2 g_opts+=("$1"); shift 2 ;;
    --seeds) need "$@"; g_seeds=$2 g_opts+=("$1"); shift 2 ;;
    --actors) need "$@"; g_actors=$2 g_opts+=("$1"); shift 2 ;;
    --ranks) need "$@"; g_ranks=$2 g_opts+=("$1"); shift 2 ;;
    --set | -s) need "$@"; g_sets+=("$2") g_opts+=("$1"); shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    -*) die "unknown option '$1' (try --help)" ;;
    *) [ -z "$spec" ] || die "one SPEC only"; spec=$1; shift ;;
    esac
done

if [ $report_only = 1 ]; then
    [ -f "$dir/manifest.tsv" ] || die "$dir is not an ablation folder (no manifest.tsv)"
    site_setup
    run_report "$(cd "$dir" && pwd)"
    exit
fi

if [ $slurm = 0 ] && [ $((${#sb_both[@]} + ${#sb_array[@]} + ${#task_args[@]})) -gt 0 ]; then
    die "--partition, --account, --time, --mem, --cpus-per-task, --sbatch-arg and --mpi are for --slurm"
fi
user_spec="" spec_origin=$PWD
if [ -n "$spec" ]; then
    [ -f "$spec" ] || die "no ablation spec '$spec'"
    user_spec=$(cd "$(dirname "$spec")" && pwd)/$(basename "$spec")
    spec_origin=$(dirname "$user_spec")
fi
[ -z "$user_spec" ] || [ ${#g_opts[@]} = 0 ] ||
    die "${g_opts[0]} is for --grid without a SPEC (a SPEC sets it in its [ablation] and other sections)"
if [ -n "$grid" ]; then
    [ -n "$user_spec" ] || check_grid_opts
    spec=$(mktemp "${TMPDIR:-/tmp}/ablate-spec.XXXXXX")
    trap 'rm -f "$spec"' EXIT
    grid_spec "$spec"
    spec_label="${user_spec:+$user_spec + }--grid $grid"
else
    [ -n "$user_spec" ] || die "give an ablation spec or --grid FILE (try --help)"
    [ ${#g_opts[@]} = 0 ] || die "${g_opts[0]} is for --grid without a SPEC"
    spec=$user_spec spec_label=$user_spec
fi
read_spec
dir=${dir:-$root/runs/ablation-$name}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
[ ! -f "$dir/spec.ini" ] || cmp -s "$spec" "$dir/spec.ini" ||
    die "$dir holds another ablation (its spec.ini differs from what $spec_label gives); give another --dir"
site_setup
freeze_programs
bin=$dir/bin
write_base
[ -f "$dir/spec.ini" ] || cp "$spec" "$dir/spec.ini"
write_manifest
log "ablation $name: ${#variants[@]} variants x $seeds seeds = $total runs in $dir"
log "$((total - ${#todo[@]})) finished runs skipped, ${#todo[@]} to run"

if [ $slurm = 1 ]; then
    submit_slurm
    exit 0
fi
run_grid
if [ $report = 1 ]; then
    run_report "$dir"
    log "report: $dir/report/report.md"
fi
[ $failed = 0 ]
