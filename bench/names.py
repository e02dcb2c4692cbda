"""What the name analysis behind "name conflict" warnings costs, per cell, without a
kernel: ``names.analyse`` on a typical 10-line cell (a miss: cache cleared first; a
hit: the same text again), the same cell with a ``%time`` line (IPython's transform
then runs: plain Python skips it), a 300-line cell, plain and with a magic;
``names.expand`` of a job cell through 50 functions. Each figure is the median of
rounds, µs per call.

Prints one JSON line per figure on stdout (the shape bench/table.py reads) and a table
on stderr. ``python bench/names.py`` with any interpreter that has IPython.
"""

import importlib.util
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROUNDS = int(os.environ.get("PC_BENCH_ROUNDS", "7"))

_spec = importlib.util.spec_from_file_location(
    "_pc_names_bench", os.path.join(ROOT, "parallel_cell", "runtime", "names.py")
)
names = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(names)

TYPICAL = """import math
values = [math.sqrt(i) for i in range(1000)]
total = 0
for v in values:
    if v > limit:
        total += v
def scale(xs, k=2):
    return [x * k for x in xs]
scaled = scale(values)
print(f"{total:.2f}", len(scaled))
"""
MAGIC = TYPICAL.replace("scaled = ", "%time scaled = ")
# 300 lines: the typical cell 30 times over, each copy with names of its own.
BIG = "".join(
    TYPICAL.replace("values", f"values{i}").replace("scale", f"scale{i}") for i in range(30)
)
BIG_MAGIC = BIG.replace("total = 0\n", "%time total = 0\n", 1)
FUNCTIONS = "\n".join(
    f"def f{i}(x):\n    global hits{i}\n    hits{i} = table{i}[x] + f{(i + 1) % 50}.__name__"
    for i in range(50)
)


def _timed(fn, n):
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n * 1e6


def main():
    namespace = {}
    exec(FUNCTIONS, namespace)
    job = names.analyse("for u in urls:\n    f0(u)")

    def miss(cell):
        def run():
            names.clear_cache()
            names.analyse(cell)

        return run

    cases = {
        "10-line cell, miss": (miss(TYPICAL), 300),
        "10-line cell with a %time line, miss": (miss(MAGIC), 300),
        "10-line cell, cache hit": (lambda: names.analyse(TYPICAL), 20000),
        "300-line cell, miss": (miss(BIG), 20),
        "300-line cell with a %time line, miss": (miss(BIG_MAGIC), 20),
        "expand: a job through 50 functions": (lambda: names.expand(job, namespace), 300),
    }
    rounds = {what: [] for what in cases}
    for fn, n in cases.values():  # warm-up: imports, the transformer, code caches
        _timed(fn, max(1, n // 10))
    for _ in range(ROUNDS):
        for what, (fn, n) in cases.items():
            rounds[what].append(_timed(fn, n))
    medians = {what: statistics.median(r) for what, r in rounds.items()}
    for what, value in medians.items():
        print(
            json.dumps(
                {
                    "id": "N1",
                    "what": f"name analysis: {what}",
                    "ours": round(value, 1),
                    "baseline": round(value, 1),
                    "unit": "µs",
                    "target": "measured",
                    "absolute": True,
                },
                ensure_ascii=False,
            )
        )
    err = sys.stderr
    print(f"N1: name analysis, Python {sys.version.split()[0]}, median of {ROUNDS}", file=err)
    for what, value in medians.items():
        each = " ".join(f"{v:.1f}" for v in rounds[what])
        print(f"  {what:<44} {value:>9.1f} µs   {each}", file=err)


if __name__ == "__main__":
    main()
