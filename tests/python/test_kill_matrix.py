"""The kill matrix: what a kill stops, how fast, and what it honestly cannot stop."""

import random
import time
from pathlib import Path

import pytest
from kill_cases import KILL_CASES
from test_kill import kill_and_wait

QUICK = {case: spec for case, spec in KILL_CASES.items() if case != "socket recv"}

TIMINGS = {}


@pytest.mark.parametrize("case", sorted(QUICK))
def test_kill_matrix_killed(kernel, comm, case):
    code, limit = QUICK[case]
    job = comm.submit(code)
    comm.wait_type("started", job)
    time.sleep(0.3)
    # The case's limit is the soak's figure (`make soak` counts kills over it); here a
    # kill must land at all, and the cases would otherwise run for ever.
    _, finished, took = kill_and_wait(comm, job, timeout=30)
    TIMINGS[case] = took
    print(f"kill matrix: {case}: {finished['state']} in {took * 1000:.0f} ms (limit {limit} s)")
    assert finished["state"] == "killed"
    assert kernel.ok("print('alive')") == "alive\n"


def test_kill_runs_finally(kernel, comm):
    job = comm.submit("try:\n    while True:\n        pass\nfinally:\n    cleaned_up = 'yes'")
    comm.wait_type("started", job)
    time.sleep(0.2)
    _, finished, _ = kill_and_wait(comm, job)
    assert finished["state"] == "killed"
    assert finished["assigned"] == ["cleaned_up"]
    assert kernel.evaluate("cleaned_up") == "'yes'"


def test_kill_stops_child_processes(kernel, comm):
    job = comm.submit(
        "import subprocess\np = subprocess.Popen(['sleep', '1000'])\nchild_pid = p.pid\np.wait()"
    )
    comm.wait_type("started", job)
    time.sleep(0.5)
    _, finished, _ = kill_and_wait(comm, job)
    assert finished["state"] == "killed"
    assert kernel.evaluate("p.poll() is not None") == "True"


def test_native_call_is_cancelling_not_killed(kernel, comm):
    # select() blocks in C with the GIL released; an async exception waits until it
    # returns (5 s here), so the job must stay "cancelling", with a reason, until then.
    job = comm.submit("import select\nselect.select([], [], [], 5)\nwhile True:\n    pass")
    started = comm.wait_type("started", job)
    t_started = time.monotonic()
    time.sleep(0.3)
    start = len(comm.messages)
    comm.kill(job)
    comm.wait_type("cancelling", job, start=start)
    stuck = comm.wait_for(
        lambda m: m["type"] == "cancelling" and m["job_id"] == job and m["reason"],
        start=start,
    )
    assert "native call" in stuck["reason"] and "select" in stuck["reason"]
    t_reason = time.monotonic()
    finished = comm.wait_type("finished", job, start=start)
    t_finished = time.monotonic()
    print(
        f"kill matrix: native select(5 s): reason after {(t_reason - t_started):.2f} s, "
        f"killed {(t_finished - t_started):.2f} s after start"
    )
    assert finished["state"] == "killed"
    # reported while the call still ran: sent (the kernel's clock) well before the end
    lead = comm.sent_apart(stuck, finished)
    assert lead > 1.0, lead
    assert finished["ended_at"] - started["started_at"] >= 4900  # not before it returned


def test_socket_recv_is_woken(kernel, comm):
    # recv blocks in C; the kill shuts the job's sockets down, so it returns at once
    job = comm.submit("import socket\na, b = socket.socketpair()\na.recv(1)\nwhile True:\n    pass")
    comm.wait_type("started", job)
    time.sleep(0.3)
    _, finished, took = kill_and_wait(comm, job, timeout=20)
    print(f"kill matrix: socket recv (no timeout): {finished['state']} in {took * 1000:.0f} ms")
    assert finished["state"] == "killed"


def test_double_kill_and_kill_racing_completion(kernel, comm):
    job = comm.submit("while True:\n    pass")
    comm.wait_type("started", job)
    comm.kill(job)
    comm.kill(job)
    finished = comm.wait_type("finished", job)
    assert finished["state"] == "killed"
    assert len([m for m in comm.of_job(job) if m["type"] == "finished"]) == 1
    for _ in range(20):
        job = comm.submit("x_race = 1")
        comm.kill(job)
        finished = comm.wait_type("finished", job)
        assert finished["state"] in ("done", "killed")
    assert kernel.ok("print('alive')") == "alive\n"


def test_hundred_kill_cycles(kernel, comm):
    threads = "len(__import__('threading').enumerate())"
    before = int(kernel.evaluate(threads))
    t0 = time.monotonic()
    for i in range(100):
        job = comm.submit(f"i_{i % 3} = 0\nwhile True:\n    i_{i % 3} += 1")
        comm.wait_type("started", job)
        comm.kill(job)
        assert comm.wait_type("finished", job)["state"] == "killed"
    print(f"100 kill cycles in {time.monotonic() - t0:.1f} s")
    assert kernel.ok("print('alive')") == "alive\n"
    deadline = time.monotonic() + 30
    while int(kernel.evaluate(threads)) > before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert int(kernel.evaluate(threads)) <= before


def test_code_that_swallows_every_kill_does_not_go_on(kernel, comm, grace):
    # Each caught kill is freed at the end of its handler and raised again at the next
    # line, here the outer loop's test, outside the try: the job ends killed.
    grace(60)  # so that a kill forced at the grace's end cannot pass for one that was not
    job = comm.submit(
        "stop_swallowing = False\nwhile not stop_swallowing:\n    try:\n"
        "        while not stop_swallowing:\n            pass\n    except BaseException:\n"
        "        pass"
    )
    comm.wait_type("started", job)
    time.sleep(0.2)
    _, finished, _ = kill_and_wait(comm, job, timeout=20)
    assert finished["state"] == "killed"
    assert "caught the kill" not in comm.text(job, "stderr")


def test_code_that_keeps_every_kill_is_reported_and_never_done(kernel, comm):
    # Code that keeps each kill it catches frees none, so none is raised again: after
    # the cleanup grace the kill is forced, and forced raises that it catches too make
    # it say so. Never "done": when the foreground lets it end, it ran on past the kill.
    job = comm.submit(
        "kept = []\nstop_keeping = False\nwhile not stop_keeping:\n    try:\n"
        "        while not stop_keeping:\n            pass\n"
        "    except BaseException as e:\n        kept.append(e)"
    )
    comm.wait_type("started", job)
    start = len(comm.messages)
    comm.kill(job)
    said = comm.wait_for(
        lambda m: (
            m.get("job_id") == job
            and (m["type"] == "finished" or "keeps catching" in (m.get("reason") or ""))
        ),
        timeout=15,
        start=start,
    )
    # A forced raise that lands in the handler (append) is not caught: then it is killed.
    if said["type"] != "finished":
        kernel.ok("stop_keeping = True")
    finished = comm.wait_type("finished", job, timeout=10, start=start)
    assert finished["state"] == "killed"
    kernel.ok("kept = None")


def _processes_running(cmdline):
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if (proc / "cmdline").read_bytes().replace(b"\0", b" ").strip() == cmdline:
                found.append(proc.name)
        except OSError:
            continue
    return found


def test_kill_shell_command(kernel, comm):
    # A sleep length of its own, so a process left by another run cannot interfere.
    secs = f"{4000 + random.randrange(1_000_000) / 1000:.3f}"
    cmdline = f"sleep {secs}".encode()
    job = comm.submit(f"!sleep {secs}")
    comm.wait_type("started", job)
    deadline = time.monotonic() + 30
    while not _processes_running(cmdline) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_running(cmdline)
    _, finished, took = kill_and_wait(comm, job)
    print(f"kill matrix: !sleep: {finished['state']} in {took * 1000:.0f} ms")
    assert finished["state"] == "killed"
    # IPython runs `!cmd` through pexpect on a pty: the kill ends that process group.
    deadline = time.monotonic() + 30
    while _processes_running(cmdline) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _processes_running(cmdline)
