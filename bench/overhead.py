"""P2: kernel overhead per trivial job, beside a bare thread and the recipe's
BackgroundJobManager, measured in one real ipykernel in the same run.

Fair by construction: every side runs the same user code (the string ``CELL``,
compiled from text on each run, as the recipe's ``BackgroundJobManager.new(expr)``
does), start to end, one job at a time; the three sides take turns round by round, so a
change of load on this shared machine hits all three alike. Each figure is the median
of the rounds. Everything runs inside the kernel, so the comm and the browser are not
counted (no comm is open: P1 measures the page's round trip).

Prints one JSON line per figure on stdout (read by scripts/bench.sh) and a
side-by-side table on stderr.
"""

import json
import os
import sys

import inkernel

N = int(os.environ.get("PC_BENCH_JOBS", "500"))
ROUNDS = int(os.environ.get("PC_BENCH_ROUNDS", "7"))
CELL = "None"

# The user code travels as data (base64 JSON), never pasted into the benchmark's source.
CODE = """
import base64, contextlib, contextvars, io, json, os, statistics, sys, threading, time
from IPython.lib.backgroundjobs import BackgroundJobExpr, BackgroundJobManager

_rt = __import__('_parallel_cell_runtime')
# The page-linked path (the page writes the cell): without a page, a job from code
# would also write its own cell in display messages (display.py).
_rt.jobs.configure(cell_displays=False)
_cfg = json.loads(base64.b64decode("%(cfg)s"))
N, ROUNDS, CELL = _cfg["n"], _cfg["rounds"], _cfg["cell"]
_ns = {}

def _bare():
    # The least a job can be: compile the text, run it in a new thread, wait for it.
    th = threading.Thread(target=eval, args=(compile(CELL, '<bench>', 'eval'), _ns))
    th.start()
    th.join()

_bjm = BackgroundJobManager()
def _recipe():
    # The recipe's %%job path: the expression compiled and evaluated in a thread.
    _bjm.new(CELL, _ns).join()

def _ours():
    _rt._RUNTIME.start_job(CELL, 'kernel').done_event.wait()

def _per_job(run):
    # µs per job over N jobs: wall time, and the CPU of the whole kernel process (every
    # thread): what a side spends, apart from the time its threads wait to be woken.
    _t, _c = time.perf_counter(), time.process_time()
    for _ in range(N):
        run()
    return (time.perf_counter() - _t) / N * 1e6, (time.process_time() - _c) / N * 1e6

_sides = (('bare', _bare), ('recipe', _recipe), ('ours', _ours))
_rounds = {name: [] for name, _ in _sides}
with contextlib.redirect_stdout(io.StringIO()):  # BackgroundJobManager prints
    for _run in (_bare, _recipe, _ours):  # warm-up: imports, caches, the flusher
        for _ in range(20):
            _run()
    for _ in range(ROUNDS):
        for _name, _run in _sides:
            _us, _cpu = _per_job(_run)
            _rounds[_name].append(_us)
            _rounds.setdefault(_name + "_cpu", []).append(_cpu)
        _rt.jobs.flush()
        _bjm.flush()

# Where the time goes. Each side's work with its thread hand-over taken out: ours with the
# pool's part done on the calling thread, the recipe's job object built and run there.
class _Inline:
    def run(self, item):
        target, _name, args = item
        contextvars.Context().run(target, *args)

    def code_ended(self):
        pass

_pool = sys.modules["_parallel_cell_runtime.pool"]
def _ours_inline():
    _rt._RUNTIME.start_job(CELL, 'kernel')

def _recipe_inline():
    BackgroundJobExpr(CELL, _ns, _ns).run()  # what BackgroundJobManager.new makes and starts

def _round_trip(n=2000):
    # What waking another thread and being woken back costs here: two Lock hand-overs.
    a, b = threading.Lock(), threading.Lock()
    a.acquire(); b.acquire()
    def other():
        for _ in range(n):
            a.acquire(); b.release()
    th = threading.Thread(target=other)
    th.start()
    t = time.perf_counter()
    for _ in range(n):
        a.release(); b.acquire()
    us = (time.perf_counter() - t) / n * 1e6
    th.join()
    return us

def _inline_rounds(suffix):
    for _ in range(ROUNDS):
        pooled, _pool.JOBS = _pool.JOBS, _Inline()
        try:
            for _name, _run in (('ours', _ours_inline), ('recipe', _recipe_inline)):
                _rounds.setdefault(_name + "_inline" + suffix, []).append(_per_job(_run)[0])
        finally:
            _pool.JOBS = pooled
        _rounds.setdefault("round_trip" + suffix, []).append(_round_trip())
        _rt.jobs.flush()

with contextlib.redirect_stdout(io.StringIO()):
    _inline_rounds("")

# The same on one core (every thread of the kernel pinned to it): what is left is the
# CPU each side spends, without the cost of waking a thread on the other core.
if hasattr(os, "sched_setaffinity"):
    _one = {min(os.sched_getaffinity(0))}
    for _tid in os.listdir("/proc/self/task"):
        os.sched_setaffinity(int(_tid), _one)
    with contextlib.redirect_stdout(io.StringIO()):
        for _ in range(ROUNDS):
            for _name, _run in _sides[1:]:
                _rounds.setdefault(_name + "_1core", []).append(_per_job(_run)[0])
            _rt.jobs.flush()
            _bjm.flush()
        _inline_rounds("_1core")
print(json.dumps({name: statistics.median(r) for name, r in _rounds.items()}))
print(json.dumps(_rounds))
"""

NAMES = {"bare": "a bare threading.Thread", "recipe": "BackgroundJobManager.new (the recipe)"}
TARGETS = {"bare": 3.0, "recipe": 1.0}
SUFFIXES = ("_cpu", "_inline_1core", "_1core", "_inline")  # longest first


def _cpu_notes(figures, baseline):
    """Where the wall time goes: the process's CPU per job (all threads), and the wall
    time with every thread of the kernel on one core (no cross-core wake-ups)."""
    notes = []
    mine, theirs = figures.get("ours_cpu"), figures.get(baseline + "_cpu")
    if mine and theirs:
        notes.append(
            f"CPU per job, all threads: {mine:.0f} vs {theirs:.0f} µs ({mine / theirs:.2f}×)"
        )
    if baseline == "recipe" and "ours_1core" in figures:
        ours, recipe = figures["ours_1core"], figures["recipe_1core"]
        notes.append(
            f"on one core (the kernel's threads pinned): {ours:.0f} vs {recipe:.0f} µs "
            f"({ours / recipe:.2f}×)"
        )
    if baseline == "recipe" and "ours_inline" in figures:
        ours, recipe = figures["ours_inline"], figures["recipe_inline"]
        notes.append(
            f"each side's work run on the calling thread (no hand-over): {ours:.0f} vs "
            f"{recipe:.0f} µs, so its threads cost ours {figures['ours'] - ours:.0f} µs "
            f"and the recipe {figures['recipe'] - recipe:.0f} µs"
        )
        trip = figures.get("round_trip"), figures.get("round_trip_1core")
        if None not in trip:
            notes.append(
                f"one thread round trip (two lock hand-overs): {trip[0]:.0f} µs on two "
                f"cores, {trip[1]:.1f} µs on one"
            )
    return {"notes": "; ".join(notes)} if notes else {}


def main():
    figures, rounds = inkernel.run(CODE, {"n": N, "rounds": ROUNDS, "cell": CELL})
    for baseline, target in TARGETS.items():
        print(
            json.dumps(
                {
                    "id": "P2",
                    "what": f"kernel overhead per trivial job vs {NAMES[baseline]}",
                    "ours": figures["ours"],
                    "baseline": figures[baseline],
                    "unit": "µs",
                    "target": f"≤ {target:g}×",
                    **_cpu_notes(figures, baseline),
                },
                ensure_ascii=False,
            )
        )
    err = sys.stderr
    print(f"P2: {ROUNDS} interleaved rounds of {N} jobs running {CELL!r}, µs per job", file=err)
    print(f"  {'side':<19} {'median':>8}  {'ratio':>6}  rounds", file=err)
    sides = ("bare", "recipe", "ours")
    extra = ("recipe_1core", "ours_1core", "recipe_inline", "ours_inline")
    extra += ("recipe_inline_1core", "ours_inline_1core", "round_trip", "round_trip_1core")
    for name in (*sides, *(s + "_cpu" for s in sides), *extra):
        if name not in figures:
            continue
        suffix = next((s for s in SUFFIXES if name.endswith(s)), "")
        each = " ".join(f"{v:.0f}" for v in rounds[name])
        ratio = "—"  # a round trip has no side of ours to set against it
        if not name.startswith("round_trip"):
            ratio = f"{figures['ours' + suffix] / figures[name]:.2f}×"
        print(f"  {name:<19} {figures[name]:>8.1f}  {ratio:>6}  {each}", file=err)
    for baseline, target in TARGETS.items():
        ratio = figures["ours"] / figures[baseline]
        met = "met" if ratio <= target else "NOT met"
        print(f"  ours vs {baseline}: {ratio:.2f}× (target ≤ {target:g}×): {met}", file=err)


if __name__ == "__main__":
    main()
