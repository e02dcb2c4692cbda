"""P7: what scale-out buys for CPU-bound pure-Python work: wall time of the same loop
in threads of the kernel (one GIL) and on the kernel's embedded Dask LocalCluster (one
process per core), measured in one real ipykernel in the same run.

Two shapes, each run the three ways in turns (ROUNDS rounds, medians):
- ``map``: ``parallel_cell.map(work, chunks)`` with ``backend="thread"`` and
  ``backend="dask"``, against the same chunks one after another in the kernel;
- cells: CELLS copies of one cell (the loop, its result assigned) submitted at once
  through the comm, as the frontend does, with target ``thread`` and ``dask``, until
  the last one has finished.
The cluster is started (and timed) before the rounds: its start is a one-off.

Prints one JSON line per figure on stdout (read by scripts/bench.sh) and a
side-by-side table on stderr.
"""

import base64
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests", "python")]

from kernel_client import Kernel  # noqa: E402

ROUNDS = int(os.environ.get("PC_BENCH_ROUNDS", "3"))
N = int(os.environ.get("PC_BENCH_LOOP", "15000000"))  # loop length of one chunk / cell
CHUNKS = 4
CELLS = 2

# The user code travels as data (base64 JSON), never pasted into the benchmark's source.
SETUP = """
import base64, json, time
_cfg = json.loads(base64.b64decode("%(cfg)s"))
pc = __import__('_parallel_cell_runtime')

def work(n):
    total = 0
    for i in range(n):
        total += i * i %% 7
    return total

def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t
"""

CELL = "total = 0\nfor i in range({n}):\n    total += i * i % 7\ntotal"


def in_kernel(kernel, expression):
    return json.loads(kernel.ok(f"print(__import__('json').dumps({expression}))", 900))


def cells_wall(comm, target):
    t = time.perf_counter()
    jobs = [comm.submit(CELL.format(n=N), target=target) for _ in range(CELLS)]
    for job in jobs:
        fin = comm.wait_type("finished", job, 900)
        assert fin["state"] == "done", fin
    return time.perf_counter() - t


def main():
    cfg = base64.b64encode(json.dumps({"n": N}).encode()).decode("ascii")
    kernel = Kernel()
    try:
        kernel.bootstrap()
        kernel.ok(SETUP % {"cfg": cfg})
        comm = kernel.open_comm()
        comm.wait_type("hello")
        start = time.perf_counter()
        assert comm.run("1", target="dask", timeout=300)["state"] == "done"
        cold = time.perf_counter() - start
        chunks = [N] * CHUNKS
        kernel.ok(f"chunks = {chunks!r}")
        sides = {
            "serial": "timed(lambda: [work(n) for n in chunks])",
            "threads": "timed(lambda: pc.map(work, chunks, backend='thread').result())",
            "dask": "timed(lambda: pc.map(work, chunks, backend='dask').result())",
        }
        maps = {name: [] for name in sides}
        cells = {"threads": [], "dask": []}
        for _ in range(ROUNDS):
            for name, expression in sides.items():
                maps[name].append(in_kernel(kernel, expression))
            cells["threads"].append(cells_wall(comm, "thread"))
            cells["dask"].append(cells_wall(comm, "dask"))
    finally:
        kernel.shutdown()
    med = {k: statistics.median(v) for k, v in maps.items()}
    cmed = {k: statistics.median(v) for k, v in cells.items()}
    loop = f"a pure-Python loop of {N:,} steps"
    for what, ours, base in (
        (f"CPU-bound map, {CHUNKS} chunks of {loop}: Dask vs threads (wall s)", "dask", "threads"),
        (
            f"CPU-bound map, {CHUNKS} chunks of {loop}: Dask vs one after another in the "
            "kernel (wall s)",
            "dask",
            "serial",
        ),
    ):
        print(
            json.dumps(
                {
                    "id": "P7",
                    "what": what,
                    "ours": med[ours],
                    "baseline": med[base],
                    "unit": "s",
                    "target": "≤ 1×",
                },
                ensure_ascii=False,
            )
        )
    print(
        json.dumps(
            {
                "id": "P7",
                "what": f"{CELLS} cells of {loop} at once: Run on Cluster vs Run in Background "
                "(wall s until both finished)",
                "ours": cmed["dask"],
                "baseline": cmed["threads"],
                "unit": "s",
                "target": "≤ 1×",
            },
            ensure_ascii=False,
        )
    )
    err = sys.stderr
    print(f"P7: {os.cpu_count()} cores; cluster cold start {cold:.2f} s (first job)", file=err)
    print(f"  {'shape':<26} {'median s':>9}  rounds", file=err)
    for name, runs in maps.items():
        each = " ".join(f"{v:.2f}" for v in runs)
        print(f"  {'map, ' + name:<26} {med[name]:>9.2f}  {each}", file=err)
    for name, runs in cells.items():
        each = " ".join(f"{v:.2f}" for v in runs)
        print(f"  {f'{CELLS} cells, ' + name:<26} {cmed[name]:>9.2f}  {each}", file=err)
    print(
        f"  Dask vs threads: map {med['dask'] / med['threads']:.2f}×, "
        f"cells {cmed['dask'] / cmed['threads']:.2f}× of the threads' wall time",
        file=err,
    )


if __name__ == "__main__":
    main()
