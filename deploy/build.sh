#!/bin/bash
# build.sh [BUILD_DIR [MESON_OPTIONS...]] - configures (once) and builds dqnlm.
#   deploy/build.sh                       ./build, release, warnings as errors
#   deploy/build.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false
# MESON_OPTIONS apply when BUILD_DIR is configured (its first build only).
set -euo pipefail
case "${1:-}" in
-h|--help) awk 'NR > 1 && /^#SBATCH/ {exit} NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
-*) echo "build.sh: the first argument is the build folder, not '$1' (try --help)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" -Dwerror=true "$@" >/dev/null
fi
ninja -C "$dir" >/dev/null || ninja -C "$dir"
