"""A long session stays flat: 10,000 jobs through the kernel's queue, cleared in batches.

Prints the kernel's figures (RSS before and after, what is still alive); asserts only
what must be exact (no Job left, every registry empty, the logs within the budget),
never a time or an RSS.
"""

import ast
import json
import os
import time

BATCHES = int(os.environ.get("PC_MEMORY_BATCHES", "20"))
BATCH = 500  # jobs submitted at once, then cleared
PROBE = """
import gc as _gc, json as _json, sys as _sys, threading as _threading
def _pc_probe():
    _gc.collect()
    pc = __import__('_parallel_cell_runtime')
    rt = pc.kernel.current()
    rss = None
    try:
        with open('/proc/self/status') as f:
            rss = next(int(l.split()[1]) for l in f if l.startswith('VmRSS:'))
    except (OSError, StopIteration):
        pass
    ids = rt._used_ids
    return _json.dumps({
        'rss_kb': rss,
        'jobs_alive': sum(1 for o in _gc.get_objects() if type(o) is pc.Job),
        'records': len(rt.jobs),
        'thread_jobs': len(pc.threads.THREAD_JOBS),
        'flusher_dirty': len(rt.flusher._dirty),
        'waiting': len(rt.queue.waiting),
        'running': len(rt.queue.running),
        'ready': len(rt.queue._ready),
        'blocked': len(rt.queue._blocked),
        'logged': len(rt.records._logged),
        'by_cell': len(rt.records._by_cell),
        'log_bytes': pc.job.LOG_TOTAL.value,
        'threads': _threading.active_count(),
        'linecache': len(__import__('linecache').cache),
        'used_ids': len(ids),
        'used_ids_bytes': _sys.getsizeof(ids) + sum(_sys.getsizeof(k) for k in ids),
    })
"""
EMPTY = "jobs_alive records thread_jobs flusher_dirty waiting running ready blocked logged by_cell"


def probe(kernel):
    return json.loads(ast.literal_eval(kernel.evaluate("_pc_probe()", timeout=60)))


def settled(kernel, timeout=30):
    """The figures once nothing is in flight (the flusher may hold a job a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        figures = probe(kernel)
        if all(figures[key] == 0 for key in EMPTY.split()) or time.monotonic() > deadline:
            return figures
        time.sleep(0.1)


def run_batch(comm, first):
    """BATCH jobs at once (every tenth after the one before), all cleared once ended."""
    start = len(comm.messages)
    jobs = []
    for i in range(first, first + BATCH):
        after = jobs[-1] if i % 10 == 9 else None
        jobs.append(comm.submit(f"print({i})", cell_id=f"m{i % 50}", after=after))
    for job in jobs:
        assert comm.wait_type("finished", job, timeout=60, start=start)["state"] == "done"
    cleared = comm.request({"type": "clear", "job_ids": jobs}, "cleared", timeout=30)
    assert cleared["job_ids"] == jobs


def test_ten_thousand_jobs_with_clears_leave_nothing_behind(fresh_kernel):
    kernel = fresh_kernel
    kernel.bootstrap()
    kernel.ok(PROBE)
    comm = kernel.open_comm()
    comm.wait_type("hello")
    run_batch(comm, 0)  # warm-up: threads, imports, caches
    before = settled(kernel)
    for batch in range(1, BATCHES + 1):
        run_batch(comm, batch * BATCH)
    after = settled(kernel)
    jobs = (BATCHES + 1) * BATCH
    grown = (after["rss_kb"] - before["rss_kb"]) if before["rss_kb"] else None
    print(
        f"\n{BATCHES * BATCH} jobs after a warm-up of {BATCH}, cleared every {BATCH}: "
        f"kernel RSS {before['rss_kb']} kB -> {after['rss_kb']} kB ({grown:+} kB), "
        f"Job objects alive {before['jobs_alive']} -> {after['jobs_alive']}, "
        f"threads {before['threads']} -> {after['threads']}, "
        f"ids kept {after['used_ids']} ({after['used_ids_bytes'] / after['used_ids']:.0f} "
        f"B each, {after['used_ids_bytes'] / 1024:.0f} KiB)"
    )
    print(json.dumps({"before": before, "after": after}))
    for key in EMPTY.split():
        assert after[key] == 0, (key, after)
    assert after["log_bytes"] == 0  # every log went with its job
    assert after["used_ids"] == jobs  # ids stay unique for the kernel's life
    assert after["threads"] <= before["threads"]
    assert after["linecache"] <= before["linecache"]  # the cells' lines went with them
