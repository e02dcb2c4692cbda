"""The kill matrix's cases, and kill cycles over them (used by the tests and the soak)."""

import time
from collections import Counter

# case -> (cell code, max seconds from kill to finished)
KILL_CASES = {
    "python loop": ("while True:\n    pass", 2.0),
    "time.sleep": ("import time\ntime.sleep(1000)", 2.0),
    "Event.wait": ("import threading\nthreading.Event().wait()", 2.0),
    "Queue.get": ("import queue\nqueue.Queue().get()", 2.0),
    "Condition.wait_for": (
        "import threading\nc = threading.Condition()\nwith c:\n    c.wait_for(lambda: False)",
        2.0,
    ),
    "subprocess sleep": ("import subprocess\nsubprocess.run(['sleep', '1000'])", 3.0),
    "bare except loop": (
        "import time\nswallowed = 0\nwhile True:\n    try:\n        time.sleep(0.01)\n"
        "    except:\n        swallowed += 1",
        5.0,
    ),
    "Thread.join": (
        "import threading, time\nt = threading.Thread(target=time.sleep, args=(1000,))\n"
        "t.start()\nt.join()",
        2.0,
    ),
    "await asyncio.sleep": ("import asyncio\nawait asyncio.sleep(1000)", 2.0),
    "swallow one, then loop": (
        "try:\n    while True:\n        pass\nexcept:\n    pass\nwhile True:\n    pass",
        3.0,
    ),
    "socket recv": ("import socket\na, b = socket.socketpair()\na.recv(1)", 2.0),
    # The kill lets cleanup run (here 0.3 s, within the 2 s grace), then the job ends.
    "finally with a sleep": (
        "import time\ntry:\n    n = 0\n    while True:\n        n += 1\n"
        "finally:\n    time.sleep(0.3)",
        2.0,
    ),
    # Caught and dropped, the kill is raised again at the next line: no print, no loop.
    "swallow, then go on": (
        "try:\n    n = 0\n    while True:\n        n += 1\nexcept:\n    pass\n"
        "print('after')\nwhile True:\n    n += 1",
        2.0,
    ),
}

THREADS = "sorted(t.name for t in __import__('threading').enumerate())"
CHILDREN = (
    "sorted(p.name for p in __import__('pathlib').Path('/proc').iterdir() if p.name.isdigit()"
    " and (p / 'stat').exists() and (p / 'stat').read_text().split(') ')[-1].split()[1]"
    " == str(__import__('os').getpid()))"
)


def _eval_list(kernel, expression):
    return eval(kernel.evaluate(expression), {})  # a list of str, from our own expression


def kill_cycles(kernel, comm, cycles, settle=0.1):
    """Kill ``cycles`` jobs, going round the cases; returns figures (a dict).

    Figures: cycles, killed (ended ``killed``), slow (over the case's limit), kernel
    deaths, leaked threads (names alive after that were not before), leaked children,
    wall time and the slowest kill.
    """
    threads_before = _eval_list(kernel, THREADS)
    names = sorted(KILL_CASES)
    t0, killed, slow, worst, deaths = time.monotonic(), 0, [], (0.0, ""), 0
    for i in range(cycles):
        case = names[i % len(names)]
        code, limit = KILL_CASES[case]
        job = comm.submit(code, job_id=f"cycle-{i}-{int(t0)}")
        comm.wait_type("started", job, timeout=30)
        time.sleep(settle)
        start = len(comm.messages)
        t_kill = time.monotonic()
        comm.kill(job)
        finished = comm.wait_type("finished", job, timeout=limit + 30, start=start)
        took = time.monotonic() - t_kill
        killed += finished["state"] == "killed"
        if took > limit:
            slow.append((case, round(took, 2)))
        worst = max(worst, (took, case))
        if not kernel.km.is_alive():
            deaths += 1
            break
    wall = time.monotonic() - t0
    alive = kernel.km.is_alive() and kernel.ok("print('alive')") == "alive\n"
    # Reapers and the job's own threads end shortly after `finished`.
    deadline = time.monotonic() + 30  # ends as soon as nothing is left
    while True:
        after = _eval_list(kernel, THREADS)
        leaked = sorted((Counter(after) - Counter(threads_before)).elements())
        children = _eval_list(kernel, CHILDREN)
        if (not leaked and not children) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return {
        "cycles": i + 1,
        "killed": killed,
        "slow": slow,
        "kernel_deaths": deaths + (0 if alive else 1),
        "leaked_threads": leaked,
        "leaked_children": children,
        "wall_s": round(wall, 1),
        "slowest_kill_s": round(worst[0], 2),
        "slowest_case": worst[1],
    }
