"""P9: what the foreground pays once the runtime is loaded, measured in real ipykernels.

Two kernels, A and B, run the same ordinary foreground cells (execute_requests with
history, as a person runs them), timed inside the kernel from the first call to the
last (prints: until the kernel's stream has flushed them). First neither has the
runtime; then A loads it (bootstrapped, one job run and ended) and both run the cells
again. The figure is A after against A before, corrected by B's drift over the same
time: (A2 / A1) / (B2 / B1). So neither what differs between two processes (two kernels
of the same code run a few % apart, printed as "A vs B before") nor a change of load on
this shared machine is counted as the runtime's cost. The kernels take turns round by
round, the order swapped every round; each time is the best of its rounds.

How far that figure moves with no cost at all is measured beside it: a third kernel, C,
never loads the runtime either, and (C2 / C1) / (B2 / B1) is printed as the null ratio.
A figure as far from 1× as its null ratio is within this machine's noise.

Prints one JSON line per figure on stdout (read by scripts/bench.sh) and a
side-by-side table on stderr.
"""

import json
import os
import sys

import inkernel  # noqa: F401  (puts the repository and tests/python on sys.path)
from kernel_client import Kernel

# Best of 15: on this shared VM one run of the same code can take twice another.
ROUNDS = int(os.environ.get("PC_BENCH_ROUNDS", "15"))

# name -> (what, setup, timed body): the body's last statement sets ``_pc_dt``.
WORKLOADS = {
    "print": (
        "100,000 print() calls",
        "import sys, time",
        "_t = time.perf_counter()\nfor _i in range(100_000):\n    print(_i)\n"
        "sys.stdout.flush()\n_pc_dt = time.perf_counter() - _t",
    ),
    "threads": (
        "1,000 threads started and joined",
        "import threading, time",
        "_t = time.perf_counter()\nfor _i in range(1_000):\n"
        "    _th = threading.Thread(target=int)\n    _th.start()\n    _th.join()\n"
        "_pc_dt = time.perf_counter() - _t",
    ),
    "socket": (
        "2,000 socket.socket() made and closed",
        "import socket, time",
        "_t = time.perf_counter()\nfor _i in range(2_000):\n    socket.socket().close()\n"
        "_pc_dt = time.perf_counter() - _t",
    ),
    "queue": (
        "100,000 queue.Queue put/get pairs",
        "import queue, time\n_q = queue.Queue()",
        "_t = time.perf_counter()\nfor _i in range(100_000):\n    _q.put(_i)\n    _q.get()\n"
        "_pc_dt = time.perf_counter() - _t",
    ),
    "sleep": (
        "2,000 time.sleep(0)",
        "import time",
        "_t = time.perf_counter()\nfor _i in range(2_000):\n    time.sleep(0)\n"
        "_pc_dt = time.perf_counter() - _t",
    ),
    "wait": (
        "20,000 Condition.wait(0) (Event.wait, queue.get with a timeout)",
        "import threading, time\n_cv = threading.Condition()",
        "_t = time.perf_counter()\nwith _cv:\n    for _i in range(20_000):\n        _cv.wait(0)\n"
        "_pc_dt = time.perf_counter() - _t",
    ),
}

# The runtime loaded as after a notebook's first background job: bootstrapped, one job
# run to its end (its thread idle in the pool), no page linked.
LOAD = """
_rt = __import__('_parallel_cell_runtime')
_rt.jobs.configure(cell_displays=False)
_rt._RUNTIME.start_job('None', 'kernel').done_event.wait()
"""


def _time(kernel, body):
    kernel.ok(body, timeout=300)
    return float(kernel.evaluate("_pc_dt")) * 1000.0


def _rounds(kernels):
    """Each workload's times per kernel: {name: ([A...], [B...], [C...])}."""
    times = {name: tuple([] for _ in kernels) for name in WORKLOADS}
    for r in range(ROUNDS):
        for name, (_, _, body) in WORKLOADS.items():
            # Each kernel goes first, second and last in turn.
            order = [(i + r) % len(kernels) for i in range(len(kernels))]
            for i in order:
                times[name][i].append(_time(kernels[i], body))
    return times


def _loaded(kernel):
    return kernel.evaluate("'_parallel_cell_runtime' in __import__('sys').modules") == "True"


def main():
    a, b, c = Kernel(), Kernel(), Kernel()
    try:
        for kernel in (a, b, c):
            for _, setup, body in WORKLOADS.values():
                kernel.ok(setup)
                _time(kernel, body)  # warm-up
        before = _rounds((a, b, c))
        a.bootstrap()
        a.ok(LOAD)
        for _, _, body in WORKLOADS.values():
            _time(a, body)  # warm-up, loaded
        after = _rounds((a, b, c))
        assert _loaded(a) and not _loaded(b) and not _loaded(c)
    finally:
        for kernel in (a, b, c):
            kernel.shutdown()
    err = sys.stderr
    print(f"P9: foreground cells, runtime loaded vs not, best of {ROUNDS} rounds (ms)", file=err)
    for name, (what, _, _) in WORKLOADS.items():
        a1, b1, c1 = map(min, before[name])
        a2, b2, c2 = map(min, after[name])
        drift = b2 / b1
        null = c2 / c1 / drift
        print(
            json.dumps(
                {
                    "id": "P9",
                    "what": (
                        f"foreground {what}, one kernel before and after loading the "
                        f"runtime, drift taken from a second (best of {ROUNDS})"
                    ),
                    "ours": a2 / drift,
                    "baseline": a1,
                    "unit": "ms",
                    "target": "≤ 1.05×",
                    "notes": (
                        f"kernel A {a1:.1f} → {a2:.1f} ms once loaded; kernel B (never "
                        f"loaded) {b1:.1f} → {b2:.1f} ms; A vs B before: {a1 / b1:.2f}×; "
                        f"null ratio (kernel C, never loaded either, against B): {null:.2f}×"
                    ),
                },
                ensure_ascii=False,
            )
        )
        print(
            f"  {what}: ({a2:.1f} / {a1:.1f}) / ({b2:.1f} / {b1:.1f}) = {a2 / a1 / drift:.2f}×"
            f"; null {null:.2f}×",
            file=err,
        )
        for label, rounds in (("before", before), ("after", after)):
            for side, each in zip("ABC", rounds[name]):
                print(f"    {label:<6} {side} " + " ".join(f"{v:.1f}" for v in each), file=err)


if __name__ == "__main__":
    main()
