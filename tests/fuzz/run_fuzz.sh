#!/bin/bash
# run_fuzz.sh TARGET_BINARY SEED_DIR SECONDS - the bounded fuzz run of the
# 'fuzz' test suite: runs one libFuzzer target for SECONDS over its seed
# corpus (read-only; new inputs go to a scratch folder, removed after) and
# fails on any crash, leak, timeout or sanitizer report, printing the
# reproducer's path (kept) and libFuzzer's final stats.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: run_fuzz.sh TARGET_BINARY SEED_DIR SECONDS" >&2; exit 2; }
bin=$1 seeds=$2 secs=$3
name=$(basename "$bin")
work=$(mktemp -d "${TMPDIR:-/tmp}/dqnlm-$name.XXXXXX")
trap 'rm -rf "$work/new"' EXIT
mkdir "$work/new"
dict=$(dirname "$seeds")/../dict/${name#fuzz_}.dict
args=(-max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
      -artifact_prefix="$work/")
[ -f "$dict" ] && args+=(-dict="$dict")
rc=0
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$bin" "${args[@]}" "$work/new" "$seeds" \
    >"$work/log" 2>&1 || rc=$?
grep -E "^(stat::|#[0-9]+[[:space:]]+DONE)" "$work/log" || true
if [ $rc -ne 0 ]; then
    tail -n 60 "$work/log"
    echo "run_fuzz.sh: $name failed (exit $rc); log and reproducer in $work" >&2
    exit 1
fi
rm -rf "$work"
