#!/usr/bin/env bash
# make bench: every benchmark, one table (also written to docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

# A benchmark whose figures go to the table and whose talk (without the kernels' TCP
# warnings) to the terminal. Its failure fails make bench: a figure never goes missing
# from the table unnoticed.
quiet() { "$@" 2>&1 >>"$out" | { grep -v 'WARNING' || true; } >&2; }

echo "== P2 kernel overhead (ipykernel 7, in the kernel)" >&2
.venv/bin/python bench/overhead.py | tee -a "$out" >&2

echo "== P9 foreground cells with the runtime loaded vs not (ipykernel 7, three kernels: A loads it, B and C never do)" >&2
.venv/bin/python bench/foreground.py | tee -a "$out" >&2

echo "== P11 the name-conflict check per foreground cell (ipykernel 7, in the kernel)" >&2
.venv/bin/python bench/conflicts.py | tee -a "$out" >&2

echo "== P12 page-kernel round trip through the websocket, TCP_NODELAY set vs not" >&2
quiet .venv/bin/python bench/nodelay.py
tail -n 1 "$out" >&2

echo "== P7 CPU-bound work: threads vs Dask (ipykernel 7, embedded LocalCluster)" >&2
.venv/bin/python bench/cluster.py | tee -a "$out" >&2

echo "== P10 outputs into the notebook file with no page open (server extension)" >&2
quiet .venv/bin/python bench/away.py
tail -n 2 "$out" >&2

echo "== P13 notebook file size after a job prints 20 MB with no page open (server extension)" >&2
quiet .venv/bin/python bench/away_size.py --mb 20 --seconds 60

echo "== P4 panel at scale (wasm, headless Chromium)" >&2
cargo test --release -p parallel-cell-core --target wasm32-unknown-unknown --test bench \
  -- --nocapture 2>&1 | grep -E '^bench:' | .venv/bin/python bench/rust_lines.py | tee -a "$out" >&2

echo "== P1, P3, P5, P6, P8 in the real UI" >&2
node bench/ui.mjs | tee -a "$out" >&2

echo
.venv/bin/python bench/table.py < "$out"
