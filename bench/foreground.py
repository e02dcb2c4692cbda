"""P9: what the foreground pays once the runtime is loaded, measured in two real
ipykernels side by side: one with the runtime bootstrapped and one job run and ended
(ours), one without it (the baseline).

Each workload is an ordinary foreground cell (an execute_request with history, as a
person runs it), timed inside the kernel from its first call to the last (prints:
until the kernel's stream has flushed them). The two kernels take turns round by round,
the order swapped every round, so a change of load on this shared machine hits both
alike; each figure is the best of the rounds (the least disturbed run of the same code).

Prints one JSON line per figure on stdout (read by scripts/bench.sh) and a
side-by-side table on stderr.
"""

import json
import os
import sys

import inkernel  # noqa: F401  (puts the repository and tests/python on sys.path)
from kernel_client import Kernel

ROUNDS = int(os.environ.get("PC_BENCH_ROUNDS", "7"))

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


def main():
    ours, base = Kernel(), Kernel()
    try:
        ours.bootstrap()
        ours.ok(LOAD)
        for kernel in (ours, base):
            for _, setup, body in WORKLOADS.values():
                kernel.ok(setup)
                _time(kernel, body)  # warm-up
        rounds = {name: {"ours": [], "base": []} for name in WORKLOADS}
        for r in range(ROUNDS):
            for name, (_, _, body) in WORKLOADS.items():
                sides = (("ours", ours), ("base", base))
                for side, kernel in sides if r % 2 == 0 else sides[::-1]:
                    rounds[name][side].append(_time(kernel, body))
        loaded = ours.evaluate("'_parallel_cell_runtime' in __import__('sys').modules")
        assert (
            loaded == "True"
            and base.evaluate("'_parallel_cell_runtime' in __import__('sys').modules") == "False"
        )
    finally:
        ours.shutdown()
        base.shutdown()
    err = sys.stderr
    print(f"P9: foreground cells, runtime loaded vs not, best of {ROUNDS} rounds (ms)", file=err)
    for name, (what, _, _) in WORKLOADS.items():
        best_ours, best_base = min(rounds[name]["ours"]), min(rounds[name]["base"])
        print(
            json.dumps(
                {
                    "id": "P9",
                    "what": f"foreground {what}, runtime loaded vs not (best of {ROUNDS})",
                    "ours": best_ours,
                    "baseline": best_base,
                    "unit": "ms",
                    "target": "≤ 1.05×",
                },
                ensure_ascii=False,
            )
        )
        ratio = best_ours / best_base
        print(f"  {what}: {best_ours:.1f} vs {best_base:.1f} = {ratio:.2f}×", file=err)
        for side, label in (("ours", "loaded"), ("base", "not")):
            each = " ".join(f"{v:.1f}" for v in rounds[name][side])
            print(f"    {label:<7} {each}", file=err)


if __name__ == "__main__":
    main()
