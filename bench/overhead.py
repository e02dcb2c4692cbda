"""P2: kernel overhead per trivial job, beside a bare thread and the recipe's
BackgroundJobManager, measured in one real ipykernel in the same run.

Prints one JSON line per figure (read by scripts/bench.sh).
"""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests", "python")]

from kernel_client import Kernel  # noqa: E402

N = int(os.environ.get("PC_BENCH_JOBS", "1000"))

# Each figure: the median of 5 rounds of N sequential start-to-end runs, in µs per run.
# Everything runs inside the kernel, so the comm and the browser are not counted.
CODE = """
import contextlib, io, json, statistics, threading, time
from IPython.lib.backgroundjobs import BackgroundJobManager

_rt = __import__('_parallel_cell_runtime')
N = %(n)d

def _round(run):
    t = time.perf_counter()
    for _ in range(N):
        run()
    return (time.perf_counter() - t) / N * 1e6

def _bare():
    th = threading.Thread(target=lambda: None)
    th.start()
    th.join()

_bjm = BackgroundJobManager()
def _recipe():
    # The recipe's %%job path: an expression evaluated in a thread.
    _bjm.new('None', globals()).join()

def _ours():
    _rt._RUNTIME.start_job('pass', 'kernel').done_event.wait()

_figures = {}
for _name, _run in (('bare', _bare), ('recipe', _recipe), ('ours', _ours)):
    _rounds = []
    for _ in range(5):
        with contextlib.redirect_stdout(io.StringIO()):  # BackgroundJobManager prints
            _rounds.append(_round(_run))
        if _name == 'ours':
            _rt.jobs.flush()
    _figures[_name] = statistics.median(_rounds)
print(json.dumps(_figures))
"""


def main():
    kernel = Kernel()
    try:
        kernel.bootstrap()
        figures = json.loads(kernel.ok(CODE % {"n": N}, timeout=600).strip().splitlines()[-1])
    finally:
        kernel.shutdown()
    names = {"bare": "a bare threading.Thread", "recipe": "BackgroundJobManager.new (the recipe)"}
    for baseline, target in (("bare", "≤ 3×"), ("recipe", "≤ 1×")):
        print(
            json.dumps(
                {
                    "id": "P2",
                    "what": f"kernel overhead per trivial job vs {names[baseline]}",
                    "ours": figures["ours"],
                    "baseline": figures[baseline],
                    "unit": "µs",
                    "target": target,
                },
                ensure_ascii=False,
            )
        )


if __name__ == "__main__":
    main()
