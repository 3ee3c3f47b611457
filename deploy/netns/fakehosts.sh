#!/bin/bash
# fakehosts.sh - N fake hosts on one machine, as network namespaces on a
# bridge, for testing multi-host launches (run as root):
#
#   deploy/netns/fakehosts.sh up|down PREFIX SUBNET24 [N]
#   deploy/netns/fakehosts.sh up dq42 10.77.42 3    # hosts dq42h1..dq42h3 = 10.77.42.1-3
#
# Host i is namespace PREFIXhi with eth0 = SUBNET24.i/24; the bridge lives in
# namespace PREFIXsw. Every host resolves every other by name through
# /etc/netns/PREFIXhi/hosts. The root namespace gets no address and no route
# into the subnet, only `ip route add unreachable SUBNET24.0/24` first: a
# connect from the root namespace to a fake host's address then fails here
# instead of leaving through the default route. `down` kills what still runs
# inside the namespaces (only there), deletes them and removes the guard.
set -uo pipefail
case "${1:-}" in -h|--help) awk 'NR > 1 && /^#SBATCH/ {exit} NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;; esac
[ $# -ge 3 ] || { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
cmd=$1 pfx=$2 net=$3 n=${4:-3}
[[ "$net" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "fakehosts.sh: SUBNET24 '$net' is not A.B.C" >&2; exit 2; }
case "$cmd" in
up)
    set -e
    ip route add unreachable "$net.0/24"
    ip netns add "${pfx}sw"
    ip -n "${pfx}sw" link add br0 type bridge
    ip -n "${pfx}sw" link set br0 up
    ip -n "${pfx}sw" link set lo up
    for ((i = 1; i <= n; i++)); do
        h=${pfx}h$i
        ip netns add "$h"
        # Created directly inside the namespaces: nothing appears in the root one.
        ip link add eth0 netns "$h" type veth peer name "h$i" netns "${pfx}sw"
        ip -n "${pfx}sw" link set "h$i" master br0 up
        ip -n "$h" addr add "$net.$i/24" dev eth0
        ip -n "$h" link set eth0 up
        ip -n "$h" link set lo up
        mkdir -p "/etc/netns/$h"   # ip netns exec bind-mounts it over /etc
        { echo "127.0.0.1 localhost"; for ((j = 1; j <= n; j++)); do echo "$net.$j ${pfx}h$j"; done; } >"/etc/netns/$h/hosts"
    done
    ;;
down)
    for sig in TERM KILL; do
        for ((i = 1; i <= n; i++)); do ip netns pids "${pfx}h$i" 2>/dev/null | xargs -r kill -$sig 2>/dev/null; done
        [ $sig = KILL ] || sleep 1
    done
    for ((i = 1; i <= n; i++)); do
        h=${pfx}h$i
        ip netns del "$h" 2>/dev/null
        rm -rf "/etc/netns/$h"
    done
    ip netns del "${pfx}sw" 2>/dev/null
    ip route del unreachable "$net.0/24" 2>/dev/null
    exit 0
    ;;
*) echo "fakehosts.sh: unknown command '$cmd' (up or down)" >&2; exit 2 ;;
esac
