#!/bin/bash
# test.sh - the test command: installs what is missing, checks the C sources'
# formatting (deploy/format.sh), builds with warnings as errors, runs the unit
# and integration tests, then builds again with
# AddressSanitizer + UndefinedBehaviorSanitizer and runs the unit tests there.
#
#   deploy/test.sh              everything (what CI runs)
#   deploy/test.sh --quick      unit tests of the release build only
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = --quick ] && quick=1
[ "${1:-}" = -h ] || [ "${1:-}" = --help ] && { awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0; }

deploy/install-deps.sh --tests --slurm
deploy/format.sh --check
deploy/build.sh build
if [ $quick = 1 ]; then
    meson test -C build --suite unit --print-errorlogs
    exit 0
fi
meson test -C build --suite unit --suite integration --suite deploy --print-errorlogs --num-processes 2
deploy/build.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --suite unit --print-errorlogs --num-processes 2
deploy/fuzz.sh --test
echo "all test suites passed"
