#!/usr/bin/env bash
# Runs the stripe-node conformance suite against a freshly built stripe-sim binary.
# Usage: stripe-sim/tests/node/run.sh [extra `node --test` args, e.g. --test-name-pattern=refund]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"

# CI runs as root on a fresh Debian clone; install Node only when it is absent.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    else
        echo "node and npm are required (Node >= 20)" >&2
        exit 1
    fi
fi
if (( $(node -p 'process.versions.node.split(".")[0]') < 20 )); then
    echo "stripe-node needs Node >= 20; found $(node --version)" >&2
    exit 1
fi

# The lock file pins the stripe package; node_modules is kept between runs (gitignored).
(cd "$here" && npm ci --quiet --no-audit --no-fund --loglevel=error >/dev/null)

cd "$repo"
cargo build --quiet -p stripe-sim --bin stripe-sim
target_dir="$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
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
port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
"$bin" --addr "127.0.0.1:$port" --data "$workdir/sim.json" >"$workdir/sim.log" 2>&1 &
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
STRIPE_SIM_URL="http://127.0.0.1:$port" node --test --test-reporter=spec "$@" "$here"/*.test.js || status=$?
if [[ $status -ne 0 ]]; then
    echo "--- stripe-sim log (last 40 lines) ---" >&2
    tail -n 40 "$workdir/sim.log" >&2
fi
exit "$status"
