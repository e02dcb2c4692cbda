"""Kernel-side soak (issue 7): kill cycles at scale and a load of many printing jobs.

Runs against a real ipykernel through jupyter_client, the way the frontend talks to it
(bootstrap, comm, protocol messages). Prints its figures as JSON lines (prefix
``SOAK``) and a short text summary; exits non-zero when a figure is not what it must
be (kernel deaths 0, leaked threads 0, lines lost/duplicated/misordered 0, ...).

    python tests/soak/soak_kernel.py [--cycles 200] [--jobs 200] [--lines 10000]
"""

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests", "python")]

from kernel_client import Kernel  # noqa: E402
from kill_cases import kill_cycles  # noqa: E402


def kernel_rss_mb(kernel):
    pid = int(kernel.evaluate("__import__('os').getpid()"))
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def report(name, figures, ok):
    figures = {"soak": name, "ok": ok, **figures}
    print("SOAK " + json.dumps(figures), flush=True)
    return ok


def soak_kills(cycles):
    kernel = Kernel()
    try:
        kernel.bootstrap()
        comm = kernel.open_comm()
        comm.wait_type("hello")
        figures = kill_cycles(kernel, comm, cycles, settle=0.05)
    finally:
        kernel.shutdown()
    ok = (
        figures["kernel_deaths"] == 0
        and figures["cycles"] == figures["killed"] == cycles
        and not figures["leaked_threads"]
        and not figures["leaked_children"]
    )
    print(
        f"kill cycles: {figures['cycles']} cycles over the kill matrix, "
        f"{figures['killed']} killed, kernel deaths {figures['kernel_deaths']}, "
        f"leaked threads {len(figures['leaked_threads'])}, "
        f"leaked children {len(figures['leaked_children'])}, "
        f"wall {figures['wall_s']} s, slowest kill {figures['slowest_kill_s']} s "
        f"({figures['slowest_case']}), over the case's limit: {len(figures['slow'])}"
    )
    return report("kill_cycles", figures, ok)


def _check_lines(text, j, lines):
    """(lost, duplicated, misordered) for job ``j``'s stdout."""
    seen, last, dup, misordered = set(), -1, 0, 0
    prefix = f"job{j} "
    for line in text.splitlines():
        if not line.startswith(prefix):
            misordered += 1  # another job's line, or an altered one
            continue
        n = int(line[len(prefix) :])
        if n in seen:
            dup += 1
        elif n < last:
            misordered += 1
        seen.add(n)
        last = max(last, n)
    return lines - len(seen), dup, misordered


def soak_load(jobs, lines, log_limit):
    kernel = Kernel()
    try:
        kernel.bootstrap()
        comm = kernel.open_comm()
        comm.wait_type("hello")
        comm.send(
            {
                "type": "configure",
                "log_limit": log_limit,
                "kill_grace_ms": 500,
                "interruptible_sleep": True,
            }
        )
        rss_before = kernel_rss_mb(kernel)
        t0 = time.monotonic()
        ids = [
            comm.submit(f"for i in range({lines}):\n    print('job{j}', i)", job_id=f"load-{j}")
            for j in range(jobs)
        ]
        states = [comm.wait_type("finished", job, timeout=1800)["state"] for job in ids]
        wall = time.monotonic() - t0
        rss_after = kernel_rss_mb(kernel)
        lost = dup = misordered = 0
        for j, job in enumerate(ids):
            a, b, c = _check_lines(comm.text(job), j, lines)
            lost, dup, misordered = lost + a, dup + b, misordered + c
        messages = sum(1 for m in comm.messages if m.get("type") == "output")
        # A replay is either the whole live output or a visible marker followed by its
        # tail: the log keeps log_limit outputs per job, and only the last 100 finished
        # jobs keep theirs at all.
        truncated, over_limit, unmarked = 0, 0, 0
        checked = ids[:: max(1, jobs // 10)]
        for job in checked:
            live = comm.outputs(job)
            start = len(comm.messages)
            comm.send({"type": "replay", "job_id": job, "since": 0})
            comm.send({"type": "list"})
            comm.wait_type("jobs", start=start)
            replayed = [
                o
                for m in comm.messages[start:]
                if m.get("type") == "output" and m["job_id"] == job
                for o in m["outputs"]
            ]
            over_limit += len(replayed) > log_limit
            if replayed != live:
                marked = "dropped from the kernel's replay log" in replayed[0].get("text", "")
                tail_ok = replayed[1:] == live[len(live) - len(replayed) + 1 :]
                truncated += marked and tail_ok
                unmarked += not (marked and tail_ok)
        alive = kernel.km.is_alive() and kernel.ok("print('alive')") == "alive\n"
    finally:
        kernel.shutdown()
    figures = {
        "jobs": jobs,
        "lines_per_job": lines,
        "done": states.count("done"),
        "lines_lost": lost,
        "lines_duplicated": dup,
        "lines_misordered": misordered,
        "output_messages": messages,
        "wall_s": round(wall, 1),
        "lines_per_s": round(jobs * lines / wall),
        "kernel_rss_mb_before": round(rss_before, 1),
        "kernel_rss_mb_after": round(rss_after, 1),
        "log_limit": log_limit,
        "replays_checked": len(checked),
        "replays_truncated_and_marked": truncated,
        "replays_incomplete_unmarked": unmarked,
        "replays_over_limit": over_limit,
        "kernel_deaths": 0 if alive else 1,
    }
    ok = (
        alive
        and figures["done"] == jobs
        and lost == dup == misordered == 0
        and over_limit == 0
        and unmarked == 0
    )
    print(
        f"load: {jobs} jobs x {lines} lines in {figures['wall_s']} s "
        f"({figures['lines_per_s']} lines/s, {messages} output messages): "
        f"lost {lost}, duplicated {dup}, misordered {misordered}; kernel RSS "
        f"{figures['kernel_rss_mb_before']} -> {figures['kernel_rss_mb_after']} MB; "
        f"replays: {truncated} of {len(checked)} truncated with a marker, "
        f"{unmarked} incomplete without one, "
        f"{over_limit} over the limit of {log_limit}; kernel deaths {figures['kernel_deaths']}"
    )
    return report("load", figures, ok)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--log-limit", type=int, default=2)
    args = parser.parse_args()
    import ipykernel  # noqa: F401 - the kernel's version, for the report

    print(f"== kernel soak on ipykernel {ipykernel.__version__} ({sys.executable})", flush=True)
    results = [soak_kills(args.cycles), soak_load(args.jobs, args.lines, args.log_limit)]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
