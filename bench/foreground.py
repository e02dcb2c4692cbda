"""P9: what the foreground pays once the runtime is loaded, measured in real ipykernels.

Three kernels, A, B and C, run the same ordinary foreground cells (execute_requests
with history, as a person runs them), timed inside the kernel from the first call to
the last (prints: until the kernel's stream has flushed them). First none has the
runtime; then A loads it (bootstrapped, one job run and ended) and all three run the
cells again. The kernels take turns round by round, the order swapped every round.

In each round, A's time is taken against the other two's (their geometric mean), which
ran moments before or after it: a change of load on this shared machine hits all three
and cancels. The figure is the median of those per-round ratios once A has loaded the
runtime, against the median before: what differs between two processes (two kernels of
the same code run a few % apart) cancels too.

A kernel's time in a round is the best of as many runs of the cell as take ~250 ms
(``RUNS``: one for the prints, three for the threads). A short cell's single run is
slowed by what came just before it: after the 100,000 prints, whose output was still
leaving the kernel, 1,000 threads took ~92 ms against ~77. With one run a round, the
threads line gave 0.96–1.08× over five `make bench` runs; five kernels side by side
running that cell alone (six probes, 25–40 rounds) put the loaded one at 0.96–1.02× of
an untouched one, a second untouched one at 0.98–1.01×. With two or three runs a round,
three runs of this script gave 1.00–1.03×.

How far that figure moves with no cost at all is measured beside it: C's time against
B's, after against before, the same way (the null ratio). A figure as far from 1× as
its null ratio is within this machine's noise. The notes give the range the figure
takes over resampled rounds (90%), and the best-of-rounds figure of earlier runs,
(A2 / A1) / (B2 / B1), for comparison.

Prints one JSON line per figure on stdout (read by scripts/bench.sh) and a
side-by-side table on stderr.
"""

import json
import math
import os
import random
import statistics
import sys

import inkernel  # noqa: F401  (puts the repository and tests/python on sys.path)
from kernel_client import Kernel

# 15 rounds: on this shared VM one run of the same code can take twice another.
ROUNDS = int(os.environ.get("PC_BENCH_ROUNDS", "15"))
# A kernel's time in a round is the best of this many runs of the cell: ~250 ms here.
RUNS = {"print": 1, "threads": 3, "socket": 8, "queue": 2, "sleep": 2, "wait": 10}

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
        # 10,000 (the figure was for 2,000): 2,000 took ~5 ms here, too short
        # a round on this VM to tell a few % (null ratios of 1.03–1.10×).
        "10,000 socket.socket() made and closed",
        "import socket, time",
        "_t = time.perf_counter()\nfor _i in range(10_000):\n    socket.socket().close()\n"
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


def _time(kernel, body, runs=1):
    """The best of ``runs`` runs of the cell, in ms."""
    best = math.inf
    for _ in range(runs):
        kernel.ok(body, timeout=300)
        best = min(best, float(kernel.evaluate("_pc_dt")) * 1000.0)
    return best


def _rounds(kernels):
    """Each workload's times per kernel: {name: ([A...], [B...], [C...])}."""
    times = {name: tuple([] for _ in kernels) for name in WORKLOADS}
    for r in range(ROUNDS):
        for name, (_, _, body) in WORKLOADS.items():
            # Each kernel goes first, second and last in turn.
            order = [(i + r) % len(kernels) for i in range(len(kernels))]
            for i in order:
                times[name][i].append(_time(kernels[i], body, RUNS[name]))
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
    print(f"P9: foreground cells, runtime loaded vs not, {ROUNDS} rounds (ms)", file=err)
    for name, (what, _, _) in WORKLOADS.items():
        ratio = _paired(before[name], after[name], 0, (1, 2))
        null = _paired(before[name], after[name], 2, (1,))
        low, high = spread(before[name], after[name], 0, (1, 2))
        a1, b1, c1 = map(min, before[name])
        a2, b2, c2 = map(min, after[name])
        best = a2 / a1 / (b2 / b1)
        print(
            json.dumps(
                {
                    "id": "P9",
                    "what": (
                        f"foreground {what}, one kernel before and after loading the "
                        f"runtime, against two that never load it ({ROUNDS} rounds)"
                    ),
                    "ours": a1 * ratio,
                    "baseline": a1,
                    "unit": "ms",
                    "target": "≤ 1.05×",
                    "notes": (
                        f"median per-round ratio to kernels B and C, after against before "
                        f"(a kernel's time in a round: the best of {RUNS[name]} run(s)); "
                        f"90% of resampled rounds: {low:.2f}–{high:.2f}×; "
                        f"null ratio (C against B, the same way): {null:.2f}×; best of "
                        f"rounds: A {a1:.1f} → {a2:.1f} ms, B {b1:.1f} → {b2:.1f} ms, "
                        f"(A2 / A1) / (B2 / B1) = {best:.2f}×"
                    ),
                },
                ensure_ascii=False,
            )
        )
        print(
            f"  {what}: {ratio:.2f}× ({low:.2f}–{high:.2f}×); null {null:.2f}×; "
            f"best of rounds {best:.2f}×; best of {RUNS[name]} run(s) a round",
            file=err,
        )
        for label, rounds in (("before", before), ("after", after)):
            for side, each in zip("ABC", rounds[name]):
                print(f"    {label:<6} {side} " + " ".join(f"{v:.1f}" for v in each), file=err)


def _paired(before, after, mine, others):
    """Kernel ``mine``'s time against the ``others``' (geometric mean) in the same round:
    the median of those ratios after, over the median before."""

    def median_ratio(times):
        ratios = []
        for round_ in zip(*times):
            ref = statistics.geometric_mean([round_[i] for i in others])
            ratios.append(round_[mine] / ref)
        return statistics.median(ratios)

    return median_ratio(after) / median_ratio(before)


def spread(before, after, mine, others, draws=1000):
    """The 5th and 95th percentiles of ``_paired`` over rounds drawn again with
    replacement (before and after each), with a fixed seed: how far the figure could
    have come out with the same machine and another draw of its rounds."""
    pick = random.Random(0)

    def draw(times):
        rows = list(zip(*times))
        return tuple(map(list, zip(*(pick.choice(rows) for _ in rows))))

    ratios = sorted(_paired(draw(before), draw(after), mine, others) for _ in range(draws))
    return ratios[draws // 20], ratios[-(draws // 20) - 1]


if __name__ == "__main__":
    main()
