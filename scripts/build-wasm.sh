#!/usr/bin/env bash
# Build the Rust core to labextension/src/core/ (gitignored): cargo → wasm-bindgen → wasm-opt.
#
# wasm-opt must be npm binaryen's (node_modules/.bin): Debian's wasm-opt 108 silently
# produces a broken module. The feature flags are the ones rustc's wasm32-unknown-unknown
# target enables by default (`rustc --print cfg --target wasm32-unknown-unknown`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

OUT_DIR=labextension/src/core
WASM_OPT="$ROOT/node_modules/.bin/wasm-opt"
RAW=target/wasm32-unknown-unknown/release/parallel_cell_core.wasm
BG="$OUT_DIR/parallel_cell_core_bg.wasm"

need() {
  if ! command -v "$1" >/dev/null 2>&1 && [ ! -x "$1" ]; then
    echo "build-wasm.sh: missing $1 ($2)" >&2
    exit 1
  fi
}
need cargo "install Rust with rustup"
need wasm-bindgen "cargo install wasm-bindgen-cli --version <wasm-bindgen in Cargo.lock>"
need "$WASM_OPT" "npm install at the project root (npm binaryen)"
need gzip "apt-get install gzip"
need node "apt-get install nodejs (or the project's node)"

# The CLI and the crate must be the same wasm-bindgen version, to the patch.
want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)"
have="$(wasm-bindgen --version | awk '{ print $2 }')"
if [ "$want" != "$have" ]; then
  echo "build-wasm.sh: wasm-bindgen CLI is $have but Cargo.lock has $want" >&2
  echo "  cargo install wasm-bindgen-cli --version $want" >&2
  exit 1
fi

cargo build --release --target wasm32-unknown-unknown -p parallel-cell-core
mkdir -p "$OUT_DIR"
wasm-bindgen --target web --out-dir "$OUT_DIR" --out-name parallel_cell_core "$RAW"
"$WASM_OPT" -Oz \
  --enable-bulk-memory --enable-multivalue --enable-mutable-globals \
  --enable-nontrapping-float-to-int --enable-reference-types --enable-sign-ext \
  --strip-debug --strip-producers --strip-target-features \
  "$BG" -o "$BG"

# Smoke test of the optimised module: it instantiates (a broken wasm-opt fails here, e.g.
# "WebAssembly.Table.set(): Argument 1 is invalid") and the Core class runs Rust code.
node --no-warnings --input-type=module -e "
import { initSync, Core } from '$ROOT/$OUT_DIR/parallel_cell_core.js';
import { readFileSync } from 'fs';
initSync({ module: readFileSync('$ROOT/$BG') });
try { new Core(null, () => {}, 4); } catch (e) {
  if (!String(e).includes('ownerDocument')) throw e;
}
"

raw=$(wc -c <"$BG")
gz=$(gzip -9 -c "$BG" | wc -c)
printf 'wasm: %s  %d bytes raw, %d bytes gzip (budget 102400 gzip)\n' "$BG" "$raw" "$gz"
if [ "$gz" -gt 102400 ]; then
  echo "build-wasm.sh: the wasm is over its 100 KB gzip budget" >&2
  exit 1
fi
