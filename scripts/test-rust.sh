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
step cargo clippy -p parallel-cell-core --all-targets --features ts -- -D warnings
# Native: protocol golden round trips, scheduler, the 100,000-message property test, and
# labextension/src/protocol.generated.ts up to date with the Rust types.
step cargo test -p parallel-cell-core --features ts
# The browser tests (the runner reads crate/webdriver.json for Chromium's flags).
step cargo test -p parallel-cell-core --target wasm32-unknown-unknown --test web
# The panel benchmark, optimised as it ships: figures printed beside the budget, not asserted.
echo "== cargo test --release -p parallel-cell-core --target wasm32-unknown-unknown --test bench"
if ! bench=$(cargo test --release -p parallel-cell-core --target wasm32-unknown-unknown \
  --test bench -- --nocapture 2>&1); then
  echo "$bench"
  exit 1
fi
grep -E '^bench:' <<<"$bench"

echo "test-rust.sh: all Rust checks passed in $((SECONDS - start))s"
