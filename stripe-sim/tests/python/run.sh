#!/usr/bin/env bash
# Runs the stripe-python conformance suite against a freshly built stripe-sim binary.
# Usage: stripe-sim/tests/python/run.sh [pytest args...]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
venv="${MARKETPLACE_VENV:-/var/tmp/marketplace-venv}"

if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"

cd "$repo"
cargo build --quiet -p stripe-sim --bin stripe-sim
target_dir="$(cargo metadata --format-version 1 --no-deps | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/debug/stripe-sim"

workdir="$(mktemp -d)"
sim_pid=""
cleanup() {
    if [[ -n "$sim_pid" ]]; then
        kill "$sim_pid" 2>/dev/null || true
        wait "$sim_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT

# Ask the kernel for a free loopback port; the tiny race with another process is acceptable here.
port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# --hot-objects 4: all but the newest objects are sealed into blocks, so the suite also proves
# that objects at rest in blocks read, change and persist correctly.
"$bin" --addr "127.0.0.1:$port" --data "$workdir/sim.json" --hot-objects 4 >"$workdir/sim.log" 2>&1 &
sim_pid=$!

for _ in $(seq 1 150); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        break
    fi
    if ! kill -0 "$sim_pid" 2>/dev/null; then
        echo "stripe-sim exited early:" >&2
        cat "$workdir/sim.log" >&2
        exit 1
    fi
    sleep 0.2
done

status=0
STRIPE_SIM_URL="http://127.0.0.1:$port" "$venv/bin/python" -m pytest -q -p no:cacheprovider "$here" "$@" || status=$?
if [[ $status -ne 0 ]]; then
    echo "--- stripe-sim log (last 40 lines) ---" >&2
    tail -n 40 "$workdir/sim.log" >&2
fi
exit "$status"
