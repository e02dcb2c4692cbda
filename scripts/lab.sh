#!/usr/bin/env bash
# Start JupyterLab from the project venv on 127.0.0.1 with the demo notebook open.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${1:-8888}"
token="${JUPYTER_TOKEN:-$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(16))')}"
url="http://127.0.0.1:${port}/lab/tree/demo.ipynb?token=${token}"
printf '\n  parallel-cell: JupyterLab with the demo notebook at\n\n    %s\n\n' "$url"
printf '  Right-click a code cell → Run in Background. Ctrl+C stops the server.\n\n'
# Serve a working copy of examples/, so running the demo never edits the repository's
# copy; an existing working copy (with the user's changes) is kept.
workdir=build/lab
mkdir -p "$workdir"
for nb in examples/*.ipynb; do
  [ -e "$workdir/$(basename "$nb")" ] || cp "$nb" "$workdir/"
done
extra=()
[ "$(id -u)" = 0 ] && extra+=(--allow-root)
exec .venv/bin/jupyter lab --no-browser --ip=127.0.0.1 --port="$port" \
  --ServerApp.port_retries=0 --ServerApp.root_dir="$workdir" \
  --IdentityProvider.token="$token" "${extra[@]}"
