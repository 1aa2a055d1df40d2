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
source "$here/../start-sim.sh"
# --hot-objects 4: all but the newest objects are sealed into blocks, so the suite also proves
# that objects at rest in blocks read, change and persist correctly.
start_sim --hot-objects 4

status=0
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$here" "$@" || status=$?
if [[ $status -ne 0 ]]; then
    sim_log_tail
fi
exit "$status"
