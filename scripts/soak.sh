#!/usr/bin/env bash
# make soak: the long reliability runs of issue 7, each printing its figures. Not part of
# make test (it takes tens of minutes); every part also has a short version in make test.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
start=$SECONDS
failed=()
part() {
  local name="$1"
  shift
  echo "== soak: $name"
  if "$@"; then echo "== soak: $name passed"; else echo "== soak: $name FAILED"; failed+=("$name"); fi
}

# The wasm decoder and scheduler: 1,000,000 random and mutated messages (release build).
part "fuzz 1,000,000 messages" env PC_FUZZ_CASES="${PC_FUZZ_CASES:-1000000}" \
  cargo test --release -p parallel-cell-core --test fuzz -- --nocapture

# The kernel runtime: kill cycles, bad input, load through a real comm (both ipykernels).
if [ -x scripts/soak-py.sh ]; then
  part "kernel runtime" scripts/soak-py.sh
else
  echo "== soak: kernel runtime: scripts/soak-py.sh missing"
  failed+=("kernel runtime (missing)")
fi

# The whole stack: 200 concurrent jobs × 10,000 numbered lines into their cells.
part "UI load 200 × 10,000" env PC_LOAD_JOBS="${PC_LOAD_JOBS:-200}" \
  PC_LOAD_LINES="${PC_LOAD_LINES:-10000}" \
  node --test --test-reporter=spec tests/ui/load.test.mjs

echo "soak: $(( ${#failed[@]} )) failed in $((SECONDS - start)) s ${failed[*]:+(${failed[*]})}"
[ ${#failed[@]} -eq 0 ]
