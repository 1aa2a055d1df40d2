# Sourced by the client suites' run.sh: builds the debug stripe-sim binary and starts it on a
# free loopback port with a snapshot file in a temporary directory, stopped again on exit.
#   start_sim [extra stripe-sim args...]   sets STRIPE_SIM_URL, sim_log; exits if it fails to start
#   sim_log_tail                           prints the end of its log (after a failed suite)
# Needs: cargo, python3; the caller has `set -euo pipefail` and is in the repository root.

sim_pid=""
sim_workdir="$(mktemp -d)"
sim_log="$sim_workdir/sim.log"

stop_sim() {
    if [[ -n "$sim_pid" ]]; then
        kill "$sim_pid" 2>/dev/null || true
        wait "$sim_pid" 2>/dev/null || true
    fi
    rm -rf "$sim_workdir"
}
trap stop_sim EXIT

start_sim() {
    cargo build --quiet -p stripe-sim --bin stripe-sim
    local target_dir bin port
    target_dir="$(cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    bin="$target_dir/debug/stripe-sim"
    # Ask the kernel for a free loopback port; the tiny race with another process is acceptable.
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    "$bin" --addr "127.0.0.1:$port" --data "$sim_workdir/sim.json" "$@" >"$sim_log" 2>&1 &
    sim_pid=$!
    for _ in $(seq 1 150); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            STRIPE_SIM_URL="http://127.0.0.1:$port"
            export STRIPE_SIM_URL
            return 0
        fi
        if ! kill -0 "$sim_pid" 2>/dev/null; then
            echo "stripe-sim exited early:" >&2
            cat "$sim_log" >&2
            exit 1
        fi
        sleep 0.2
    done
    echo "stripe-sim did not start listening on port $port" >&2
    exit 1
}

sim_log_tail() {
    echo "--- stripe-sim log (last 40 lines) ---" >&2
    tail -n 40 "$sim_log" >&2
}
