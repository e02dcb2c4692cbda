#!/usr/bin/env bash
# The compatibility matrix: the release files built once, installed into fresh
# environments of older and newer JupyterLab / Notebook 7 / ipykernel / Python
# (tests/compat/envs/*.txt), each checked by `jupyter labextension list` and driven
# through the core journeys in real Chromium (tests/compat/journeys.test.mjs); the
# lowest one also type-checks the extension against its JupyterLab's packages.
# Prints the matrix (environment × journey); writes it to build/compat/matrix.md.
#   scripts/test-compat.sh [env names…]      default: every environment
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
out="$ROOT/build/compat"
mkdir -p "$out" .stamps
say() { printf '\033[1m[compat]\033[0m %s\n' "$*"; }
fail=0

# A Python of the given minor version: pyenv's, else one on PATH.
find_python() {
  local want="$1" candidate
  for candidate in "$(pyenv root 2>/dev/null)"/versions/"$want".*/bin/python "$(command -v "python$want" || true)"; do
    if [[ -x "$candidate" ]]; then echo "$candidate"; return 0; fi
  done
  return 1
}

header() { sed -n '1s/^# //p' "$1"; }
field() { # header, key → value (the words after the key up to the next ·)
  sed -n "s/.*\b$2 \([^·]*\).*/\1/p" <<<"$1" | xargs
}

say "release files (sdist and wheel), built once"
rm -rf "$out/dist"
scripts/dist.sh "$out/dist" >"$out/dist.log" 2>&1 || { cat "$out/dist.log"; exit 1; }
wheel="$(ls "$out"/dist/*.whl)"
sdist="$(ls "$out"/dist/*.tar.gz)"
version="$(node -p 'require("./package.json").version')"

# Commands the sdist must not need: each one fails, and logs a call that is more than
# a `--version` probe (pip asks `rustc --version` for its user agent).
shims="$out/shims"
rm -rf "$shims" && mkdir -p "$shims"
for tool in node npm npx jlpm yarn cargo rustc rustup wasm-bindgen wasm-opt; do
  printf '#!/bin/sh\n[ "$*" = --version ] || echo "%s $*" >> "%s/called.log"\nexit 127\n' \
    "$tool" "$shims" >"$shims/$tool"
  chmod +x "$shims/$tool"
done

envs=("$@")
if [[ ${#envs[@]} -eq 0 ]]; then
  envs=(lowest lowest-notebook middle newest)
fi
rows=()
notes=()
JOURNEYS=(stream error kill names reload cluster errors)
for name in "${envs[@]}"; do
  spec="tests/compat/envs/$name.txt"
  [[ -f "$spec" ]] || { echo "no such environment: $spec" >&2; exit 2; }
  head="$(header "$spec")"
  pyver="$(field "$head" python)"; apps="$(field "$head" app)"; install="$(field "$head" install)"
  cluster=0; [[ "$head" == *cluster* ]] && cluster=1
  start=$SECONDS
  venv="$ROOT/.venv-compat-$name"
  python="$(find_python "$pyver")" || {
    echo "compat $name: Python $pyver not found (pyenv install $pyver, or put python$pyver on PATH)" >&2
    fail=1; rows+=("| $name | Python $pyver missing | | | | | | |"); continue
  }
  stamp="compat-$name"
  sum="$( (cat "$spec"; echo "$python") | sha256sum | cut -c1-16)"
  if [[ ! -x "$venv/bin/python" || "$(cat ".stamps/$stamp" 2>/dev/null)" != "$sum" ]]; then
    say "$name: fresh venv (Python $pyver) from $spec"
    rm -rf "$venv"
    "$python" -m venv "$venv" && "$venv/bin/pip" install --disable-pip-version-check -q -r "$spec" \
      || { echo "compat $name: pip install -r $spec failed" >&2; fail=1; rows+=("| $name | install failed | | | | | | |"); continue; }
    echo "$sum" >".stamps/$stamp"
  fi
  "$venv/bin/pip" uninstall -q -y parallel-cell >/dev/null 2>&1 || true
  if [[ "$install" == sdist ]]; then
    say "$name: pip install the sdist with neither Node nor Rust on PATH"
    rm -f "$shims/called.log"
    env PATH="$venv/bin:$shims" "$venv/bin/pip" install --disable-pip-version-check -q --no-deps "$sdist" \
      >"$out/$name-install.log" 2>&1
    status=$?
    if [[ $status -ne 0 || -s "$shims/called.log" ]]; then
      echo "compat $name: installing the sdist failed or called a build tool:" >&2
      cat "$out/$name-install.log" "$shims/called.log" 2>/dev/null >&2
      fail=1
    fi
  else
    say "$name: pip install the wheel"
    "$venv/bin/pip" install --disable-pip-version-check -q --no-deps "$wheel" >"$out/$name-install.log" 2>&1 \
      || { cat "$out/$name-install.log" >&2; fail=1; }
  fi
  listing="$("$venv/bin/jupyter" labextension list 2>&1 | sed 's/\x1b\[[0-9;]*m//g')"
  servers="$("$venv/bin/jupyter" server extension list 2>&1 | sed 's/\x1b\[[0-9;]*m//g')"
  if grep -Eq "parallel-cell v$version enabled +OK" <<<"$listing" && ! grep -q "not compatible" <<<"$listing" \
    && grep -q "parallel_cell.server  *OK" <<<"$servers"; then
    listed="enabled OK"
  else
    listed="**NOT OK**"; fail=1
    printf 'compat %s: jupyter labextension / server extension list:\n%s\n%s\n' "$name" "$listing" "$servers" >&2
  fi
  versions="$("$venv/bin/python" - <<'PY'
import importlib.metadata as m, platform
def v(name):
    try:
        return m.version(name)
    except m.PackageNotFoundError:
        return "–"
print(platform.python_version(), v("jupyterlab"), v("notebook"), v("ipykernel"), v("jupyter_server"), v("distributed"))
PY
)"
  read -r py jl nb ipk srv dask <<<"$versions"
  if [[ "$head" == *types* ]]; then
    say "$name: type-check the extension against JupyterLab $jl's packages"
    if node scripts/typecheck-against.mjs "$venv" "$out/types-$name" >"$out/$name-types.log" 2>&1; then
      notes+=("$(tail -1 "$out/$name-types.log")")
    else
      cat "$out/$name-types.log" >&2; fail=1
      notes+=("**the extension does not type-check against JupyterLab $jl's packages**")
    fi
  fi
  for app in $apps; do
    say "$name: journeys in $app"
    log="$out/$name-$app.log"
    PC_COMPAT_VENV="$venv" PC_COMPAT_APP="$app" PC_COMPAT_CLUSTER="$cluster" \
      node --test --test-concurrency=1 --test-reporter=spec tests/compat/ >"$log" 2>&1
    [[ $? -eq 0 ]] || { fail=1; cat "$log"; }
    cells=""
    for journey in "${JOURNEYS[@]}"; do
      mark="$(sed -n "s/^\([✔✖﹣]\) $app · $journey:.*/\1/p" "$log" | head -1)"
      case "$mark" in
        ✔) cells+=" ok |" ;;
        ✖) cells+=" **FAIL** |" ;;
        ﹣) cells+=" – |" ;;
        *) cells+=" **not run** |"; fail=1 ;;
      esac
    done
    rows+=("| $name | $app | $py | $jl | $nb | $ipk | $srv | $install | $listed |$cells")
  done
  say "$name: $((SECONDS - start)) s"
done

table="$(
  echo "| environment | app | Python | JupyterLab | Notebook | ipykernel | jupyter_server | installed from | labextension list | start, stream | error | kill in sleep | shared names | reload | Run on Cluster | no page errors |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
)"
{ printf '\n%s\n' "$table"; [[ ${#notes[@]} -eq 0 ]] || printf -- '\n- %s\n' "${notes[@]}"; } | tee "$out/matrix.md"
exit "$fail"
