#!/usr/bin/env bash
# Every Rust check, failing on the first failure: format, lint (wasm and native), native
# tests (protocol golden round trips, scheduler, fuzz), browser tests in headless Chromium.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
for tool in cargo wasm-bindgen-test-runner "$CHROMEDRIVER"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test-rust.sh: missing $tool" >&2
    exit 1
  fi
done

start=$SECONDS
step() {
  echo "== $*"
  "$@"
}

step cargo fmt --all --check
step cargo clippy -p parallel-cell-core --target wasm32-unknown-unknown --all-targets -- -D warnings
step cargo clippy -p parallel-cell-core --all-targets -- -D warnings
step cargo test -p parallel-cell-core
# The browser tests (the runner reads crate/webdriver.json for Chromium's flags).
step cargo test -p parallel-cell-core --target wasm32-unknown-unknown --test web

echo "test-rust.sh: all Rust checks passed in $((SECONDS - start))s"
