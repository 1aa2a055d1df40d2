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
source "$here/../start-sim.sh"
start_sim

status=0
node --test --test-reporter=spec "$@" "$here"/*.test.js || status=$?
if [[ $status -ne 0 ]]; then
    sim_log_tail
fi
exit "$status"
