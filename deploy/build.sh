#!/bin/bash
# build.sh [BUILD_DIR [MESON_OPTIONS...]] - configures (once) and builds dqnlm.
#   deploy/build.sh                       ./build, release, warnings as errors
#   deploy/build.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" -Dwerror=true "$@" >/dev/null
fi
ninja -C "$dir" >/dev/null || ninja -C "$dir"
