#!/usr/bin/env bash
# Python layer: ruff on the kernel runtime and its tests, then pytest against real
# kernels on ipykernel 7 (.venv) and ipykernel 6 (.venv-ipk6, created here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

VENV7="$ROOT/.venv"
VENV6="$ROOT/.venv-ipk6"
PY_PATHS=(parallel_cell tests/python)

if [[ ! -x "$VENV7/bin/pytest" ]]; then
    echo "test-py: $VENV7 has no pytest; run 'make setup' first" >&2
    exit 1
fi

echo "== ruff"
"$VENV7/bin/ruff" check "${PY_PATHS[@]}"
"$VENV7/bin/ruff" format --check "${PY_PATHS[@]}"

# The ipykernel 6 venv (scripts/setup.sh makes it too, from requirements-ipk6.txt):
# created if missing, completed if something is missing, never deleted.
if ! "$VENV6/bin/python" -c 'import ipykernel, jupyter_client, pytest, matplotlib, distributed, websocket, nbformat, sys; sys.exit(ipykernel.__version__.split(".")[0] != "6")' 2>/dev/null; then
    if [[ ! -x "$VENV6/bin/python" ]]; then
        echo "== creating $VENV6 (ipykernel 6)"
        python3 -m venv "$VENV6"
    fi
    echo "== installing ipykernel 6 test requirements into $VENV6"
    if [[ -f requirements-ipk6.txt ]]; then
        "$VENV6/bin/pip" install --quiet --disable-pip-version-check -r requirements-ipk6.txt
    else
        "$VENV6/bin/pip" install --quiet --disable-pip-version-check \
            'ipykernel>=6.29,<7' 'jupyter_client>=8' 'pytest>=8' matplotlib
    fi
fi

status=0
run_pytest() {
    local venv="$1" label="$2" version rc
    version="$("$venv/bin/python" -c 'import ipykernel; print(ipykernel.__version__)')"
    echo "== pytest on ipykernel $version ($label)"
    set +e
    # The tests' conftest puts the repo root first on sys.path; the kernels get the
    # runtime only through the bootstrap, whether or not the package is installed.
    "$venv/bin/pytest" tests/python -p no:cacheprovider -q -rfEsx "${@:3}"
    rc=$?
    set -e
    if [[ $rc -eq 5 ]]; then
        echo "test-py: no tests ran on ipykernel $version" >&2
    fi
    if [[ $rc -ne 0 ]]; then
        echo "test-py: FAILED on ipykernel $version (exit $rc)"
        return 1
    fi
    echo "test-py: passed on ipykernel $version"
}

# The two ipykernels' runs go side by side: the tests mostly wait on kernels (a run
# takes about half a core), so together they take little longer than one. Each run's
# report is printed whole once both have ended.
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
run_pytest "$VENV7" ".venv" "$@" >"$logs/7" 2>&1 &
pid7=$!
run_pytest "$VENV6" ".venv-ipk6" "$@" >"$logs/6" 2>&1 &
pid6=$!
wait "$pid7" || status=1
wait "$pid6" || status=1
cat "$logs/7" "$logs/6"
exit $status
