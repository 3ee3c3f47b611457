# lib.sh - helpers for the shell integration tests (sourced, not run).
# Every test gets its own run folder and kernel-chosen loopback ports (the
# servers bind tcp://127.0.0.1:* and record the port in RUN/*.endpoint).

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
test_pids=()

# start NAME CMD... : runs CMD in the background, output to $RUN/NAME.log
start() {
    local name=$1; shift
    "$@" >"$RUN/$name.log" 2>&1 &
    test_pids+=($!)
}

# wait_file PATH [TENTHS] : waits until PATH exists (bounded), fails otherwise
wait_file() {
    local i
    for ((i = 0; i < ${2:-200}; i++)); do
        [ -s "$1" ] && return 0
        sleep 0.1
    done
    echo "FAIL: $1 did not appear" >&2
    return 1
}

# stop_all : SIGTERM to every process this test started, then wait for them
stop_all() {
    local p
    for p in "${test_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${test_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    test_pids=()
}

# show_logs : prints the tail of every log in $RUN (on failure)
show_logs() {
    local f
    for f in "$RUN"/*.log; do echo "== $f"; tail -n 20 "$f"; done
}
