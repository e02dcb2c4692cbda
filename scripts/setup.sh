#!/usr/bin/env bash
# Install what the build and the tests need, idempotently: each step checks first and
# does nothing when its tool is already there at the right version.
#   scripts/setup.sh build   rust target, wasm-bindgen-cli, .venv, node_modules
#   scripts/setup.sh test    the same, plus .venv-ipk6 (ipykernel 6), .venv-rtc
#                            (jupyter-collaboration) and Chromium + ChromeDriver (apt)
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-build}"
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
stamp_dir=.stamps
mkdir -p "$stamp_dir"

# The stamp holds a hash of the inputs; a step reruns only when they change.
fresh() { # name, files...
  local name="$1"; shift
  local sum; sum="$(cat "$@" | sha256sum | cut -c1-16)"
  [ -f "$stamp_dir/$name" ] && [ "$(cat "$stamp_dir/$name")" = "$sum" ]
}
mark() { local name="$1"; shift; cat "$@" | sha256sum | cut -c1-16 > "$stamp_dir/$name"; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

setup_rust() {
  command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first" >&2; exit 1; }
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
  # The CLI must be exactly the wasm-bindgen version in Cargo.lock.
  local want
  want="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' Cargo.lock)"
  [ -n "$want" ] || { echo "wasm-bindgen not found in Cargo.lock" >&2; exit 1; }
  local have=""
  command -v wasm-bindgen >/dev/null && have="$(wasm-bindgen --version | awk '{print $2}')"
  if [ "$have" != "$want" ] || ! command -v wasm-bindgen-test-runner >/dev/null; then
    say "cargo install wasm-bindgen-cli $want (about 3 minutes, once)"
    # Not --locked: the registry index here may lack what its lock file asks for.
    cargo install wasm-bindgen-cli --version "$want" --force
  fi
}

# A virtualenv made from a requirements file, reinstalled when that file changes.
setup_venv() { # folder, requirements file, stamp name, what it is for
  local dir="$1" reqs="$2" stamp="$3" what="$4"
  if [ ! -x "$dir/bin/python" ]; then
    say "python3 -m venv $dir ($what)"
    python3 -m venv "$dir"
  fi
  if ! fresh "$stamp" "$reqs"; then
    say "pip install -r $reqs"
    "$dir/bin/pip" install --disable-pip-version-check -q -r "$reqs"
    mark "$stamp" "$reqs"
  fi
}

setup_python() { setup_venv .venv requirements-dev.txt venv "the project"; }
setup_ipk6() { setup_venv .venv-ipk6 requirements-ipk6.txt venv-ipk6 "ipykernel 6"; }
setup_rtc() { setup_venv .venv-rtc requirements-rtc.txt venv-rtc "jupyter-collaboration"; }

setup_node() {
  command -v npm >/dev/null || { echo "npm not found: install Node.js 20+" >&2; exit 1; }
  if [ ! -d node_modules ] || ! fresh node package-lock.json; then
    say "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    mark node package-lock.json
  fi
}

setup_browser() {
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    say "apt-get install chromium chromium-driver"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
}

setup_rust
setup_python
setup_node
if [ "$what" = test ]; then
  setup_ipk6
  setup_rtc
  setup_browser
fi
