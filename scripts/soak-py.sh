#!/usr/bin/env bash
# Kernel-side soak (make soak): 200 kill cycles over the kill matrix, then 200 jobs
# each printing 10,000 numbered lines through a real comm, on ipykernel 7 (.venv) and
# ipykernel 6 (.venv-ipk6). Prints the figures; fails if any is wrong.
# Smaller runs: scripts/soak-py.sh --cycles 20 --jobs 20 --lines 1000
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
for venv in .venv .venv-ipk6; do
    if [[ ! -x "$venv/bin/python" ]]; then
        echo "soak-py: $venv is missing; run 'make setup-test' (or scripts/test-py.sh) first" >&2
        status=1
        continue
    fi
    start=$(date +%s)
    if ! "$venv/bin/python" tests/soak/soak_kernel.py "$@"; then
        echo "soak-py: FAILED on $venv" >&2
        status=1
    fi
    echo "soak-py: $venv took $(( $(date +%s) - start )) s"
done
exit $status
