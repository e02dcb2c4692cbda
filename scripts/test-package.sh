#!/usr/bin/env bash
# The installed package ships the prebuilt extension where JupyterLab finds it.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }
ext=.venv/share/jupyter/labextensions/parallel-cell
listing="$(.venv/bin/jupyter labextension list 2>&1 | sed 's/\x1b\[[0-9;]*m//g')"
check "jupyter labextension list shows parallel-cell enabled OK" \
  'grep -Eq "parallel-cell v[0-9.]+ enabled.*OK" <<<"$listing"'
check "installed by pip (a copy in share/jupyter/labextensions, not a symlink)" \
  '[ -f "$ext/package.json" ] && [ ! -L "$ext" ]'
check "the prebuilt bundle contains the wasm core" 'ls "$ext"/static/*.wasm >/dev/null 2>&1'
check "pip lists the shared data files" \
  'grep -q "share/jupyter/labextensions/parallel-cell/package.json" <<<"$(.venv/bin/pip show -f parallel-cell)"'
check "install.json marks it as a python-managed extension" '[ -f "$ext/install.json" ]'
version="$(node -p 'require("./package.json").version')"
installed="$(cd / && "$OLDPWD/.venv/bin/python" -c 'import parallel_cell; print(parallel_cell.__version__)')"
check "one version ($version, package.json): the installed package and the lab extension say it" \
  '[ "$installed" = "$version" ] && grep -Eq "parallel-cell v$version enabled" <<<"$listing"'
servers="$(.venv/bin/jupyter server extension list 2>&1 | sed 's/\x1b\[[0-9;]*m//g')"
check "jupyter server extension list shows parallel_cell.server enabled and OK" \
  'grep -q "parallel_cell.server enabled" <<<"$servers" && grep -q "parallel_cell.server  *OK" <<<"$servers"'
dist="$(mktemp -d)"
trap 'rm -rf "$dist"' EXIT
check "make dist's sdist and wheel build and pass twine check --strict" \
  'scripts/dist.sh "$dist" >/dev/null 2>&1 && ls "$dist"/*.tar.gz "$dist"/*.whl >/dev/null 2>&1'
wheel_files="$(.venv/bin/python -m zipfile -l "$dist"/*.whl 2>/dev/null)"
check "the wheel carries the built extension once (as shared data, not inside the package)" \
  'grep -q "data/share/jupyter/labextensions/parallel-cell/package.json" <<<"$wheel_files" && ! grep -q "^parallel_cell/labextension/" <<<"$wheel_files"'
[ "$fail" = 0 ] || { echo "$listing"; echo "$servers"; exit 1; }
