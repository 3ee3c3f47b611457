#!/bin/bash
# fuzz.sh [OPTIONS] [TARGET...] - coverage-guided fuzzing of dqnlm's readers of
# untrusted bytes with libFuzzer (clang, ASan + UBSan): builds the targets of
# tests/fuzz in a separate build folder, runs each TARGET in turn, and prints per
# target the executions, coverage (cov: edges, ft: features, from libFuzzer's
# final stats) and the crashes found. Exits 1 if any target crashed.
#
# Targets: wire (the msgpack message decoder), replay_ckpt (replay server
# checkpoint), wal (replay server write-ahead log), learner_ckpt (learner
# checkpoint), qnet (Q-network file with its description), lm_ckpt (LM
# checkpoint), config (INI configuration); default all.
#
#   deploy/fuzz.sh --time 300                 every target 5 minutes
#   deploy/fuzz.sh --runs 200000 wire qnet    two targets, 200000 inputs each
#   deploy/fuzz.sh --test                     the bounded run of deploy/test.sh
#
# Options:
#   --time SECONDS   run each target SECONDS (default 60)
#   --runs N         stop each target after N inputs instead (-runs=N)
#   --jobs N         libFuzzer processes per target (default 1; N > 1 uses
#                    -jobs=N -workers=N and sums their executions)
#   --build DIR      the clang build folder (default build-fuzz; configured with
#                    CC=clang -Dfuzz=true -Db_sanitize=address,undefined)
#   --corpus DIR     working corpus folder, DIR/TARGET per target (default
#                    BUILD/fuzz-corpus); it keeps what libFuzzer finds across
#                    runs; the seeds of tests/fuzz/corpus/TARGET are read, never
#                    written
#   --test           build, then run the 'fuzz' test suite (meson test): each
#                    target fuzz_test_seconds (meson option, default 8) over its
#                    seeds, failing on any crash
#   --list           print the target names
#   -h, --help       this text
# Crash reproducers go to BUILD/fuzz-artifacts/TARGET/ (crash-*, leak-*,
# timeout-*, oom-*); replay one with BUILD/tests/fuzz/fuzz_TARGET FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
all_targets=(wire replay_ckpt wal learner_ckpt qnet lm_ckpt config)
secs=60 runs=0 jobs=1 build=build-fuzz corpus="" test=0 targets=()
usage() { awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; }
need() { [ $# -ge 2 ] && [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge 1 ] ||
    { echo "fuzz.sh: $1 needs a positive integer (try --help)" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
    case "$1" in
    --time) need "$@"; secs=$2; shift 2 ;;
    --runs) need "$@"; runs=$2; shift 2 ;;
    --jobs) need "$@"; jobs=$2; shift 2 ;;
    --build) [ $# -ge 2 ] || { echo "fuzz.sh: --build needs DIR" >&2; exit 2; }; build=$2; shift 2 ;;
    --corpus) [ $# -ge 2 ] || { echo "fuzz.sh: --corpus needs DIR" >&2; exit 2; }; corpus=$2; shift 2 ;;
    --test) test=1; shift ;;
    --list) printf '%s\n' "${all_targets[@]}"; exit 0 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "fuzz.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    *) [[ " ${all_targets[*]} " == *" $1 "* ]] ||
        { echo "fuzz.sh: unknown target '$1' (one of: ${all_targets[*]})" >&2; exit 2; }
       targets+=("$1"); shift ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
corpus=${corpus:-$build/fuzz-corpus}

command -v clang >/dev/null || { echo "fuzz.sh: clang not found (deploy/install-deps.sh --tests)" >&2; exit 1; }
if [ ! -f "$build/build.ninja" ]; then
    # No -Dwerror: the gcc build is the warning gate; clang's extra warnings in
    # code the targets do not link must not stop fuzzing.
    CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dbuildtype=debugoptimized >/dev/null
fi
bins=(tests/fuzz/gen_corpus)
for t in "${all_targets[@]}"; do bins+=("tests/fuzz/fuzz_$t"); done
ninja -C "$build" "${bins[@]}" >/dev/null || ninja -C "$build" "${bins[@]}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
if [ $test = 1 ]; then
    exec meson test -C "$build" --suite fuzz --no-rebuild --print-errorlogs --num-processes 2
fi

# Reproducers libFuzzer left in folder $1.
count_artifacts() {
    find "$1" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
        -o -name 'oom-*' \) | wc -l
}

# Runs one target; prints "TARGET EXECS COV FT CORPUS CRASHES RC".
fuzz_one() {
    local t=$1 bin=$PWD/$build/tests/fuzz/fuzz_$1 art=$PWD/$build/fuzz-artifacts/$1
    local work=$PWD/$corpus/$1 seeds=$PWD/tests/fuzz/corpus/$1 log rc=0 before
    [[ $build == /* ]] && bin=$build/tests/fuzz/fuzz_$1 art=$build/fuzz-artifacts/$1
    [[ $corpus == /* ]] && work=$corpus/$1
    log=$art/fuzz.log
    mkdir -p "$art" "$work"
    rm -f "$art"/fuzz-*.log
    before=$(count_artifacts "$art")
    local args=(-print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$art/")
    [ "$runs" -gt 0 ] && args+=(-runs="$runs") || args+=(-max_total_time="$secs")
    [ -f "tests/fuzz/dict/$t.dict" ] && args+=(-dict="tests/fuzz/dict/$t.dict")
    if [ "$jobs" -gt 1 ]; then # workers write fuzz-N.log here; the main log repeats them
        (cd "$art" && "$bin" "${args[@]}" -jobs="$jobs" -workers="$jobs" "$work" "$seeds") \
            >"$log" 2>&1 || rc=$?
    else
        "$bin" "${args[@]}" "$work" "$seeds" >"$log" 2>&1 || rc=$?
    fi
    local execs cov ft after
    execs=$(awk '/^stat::number_of_executed_units:/ {s += $2} END {print s + 0}' "$log")
    cov=$(grep -oE 'cov: [0-9]+' "$log" | awk '{if ($2 > m) m = $2} END {print m + 0}')
    ft=$(grep -oE 'ft: [0-9]+' "$log" | awk '{if ($2 > m) m = $2} END {print m + 0}')
    after=$(count_artifacts "$art")
    echo "$t $execs $cov $ft $(find "$work" -type f | wc -l) $((after - before)) $rc"
}

printf '%-13s %12s %7s %8s %8s %8s\n' target executions cov ft corpus crashes
total=0 failed=0
for t in "${targets[@]}"; do
    read -r name execs cov ft ncorp crashes rc < <(fuzz_one "$t")
    printf '%-13s %12s %7s %8s %8s %8s\n' "$name" "$execs" "$cov" "$ft" "$ncorp" "$crashes"
    total=$((total + execs))
    if [ "$crashes" -gt 0 ] || [ "$rc" -ne 0 ]; then
        failed=1
        echo "  $t: exit $rc; reproducers and log in $build/fuzz-artifacts/$t/" >&2
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|fuzz_)' "$build/fuzz-artifacts/$t/fuzz.log" |
            head -n 5 | sed 's/^/  /' >&2 || true
    fi
done
printf '%-13s %12s\n' total "$total"
exit $failed
