#!/bin/bash
# install-deps.sh - installs the Debian packages dqnlm needs; does nothing when
# they are all present.
#
#   deploy/install-deps.sh            build and run
#   deploy/install-deps.sh --tests    also what the test suite uses (PyTorch
#                                     cross-checks, Python protocol client,
#                                     clang-format, clang and its libFuzzer
#                                     runtime for the fuzz targets)
#   deploy/install-deps.sh --slurm    also Slurm and munge (deployment tests)
#
# As root it runs apt-get; otherwise it uses sudo when available, or prints the
# exact command to run and exits 1.
set -euo pipefail

pkgs=(gcc pkg-config meson ninja-build libopenmpi-dev openmpi-bin libzmq3-dev libmsgpack-dev
      libopenblas-dev libinih-dev libcmocka-dev gnuplot-nox fortunes procps)
for arg in "$@"; do
    case "$arg" in
    --tests) pkgs+=(python3 python3-zmq python3-msgpack python3-numpy python3-torch python3-pip
                    python3-setuptools python3-wheel iproute2 clang-format clang libclang-rt-dev) ;;
    --slurm) pkgs+=(slurm-wlm munge iproute2 util-linux) ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}"
echo "install-deps.sh: installing ${missing[*]}" >&2
if [ "$(id -u)" = 0 ]; then
    sh -c "$cmd"
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo sh -c "$cmd"
else
    echo "install-deps.sh: missing packages and no root or sudo; run as root:" >&2
    echo "  $cmd" >&2
    exit 1
fi
