"""Kill: escalates, tells the truth, leaves the kernel healthy."""

import time


def kill_and_wait(comm, job, timeout=10):
    """Kill ``job``; returns (cancelling message, finished message, seconds to finished)."""
    start = len(comm.messages)
    t0 = time.monotonic()
    comm.kill(job)
    cancelling = comm.wait_type("cancelling", job, start=start)
    finished = comm.wait_type("finished", job, timeout=timeout, start=start)
    return cancelling, finished, time.monotonic() - t0


def test_kill_python_loop(kernel, comm):
    job = comm.submit("n = 0\nwhile True:\n    n += 1")
    comm.wait_type("started", job)
    time.sleep(0.2)
    cancelling, finished, took = kill_and_wait(comm, job)
    assert cancelling["reason"] is None
    assert finished["state"] == "killed" and finished["error"] is None
    print(f"kill: a Python loop in {took * 1000:.0f} ms")
    kinds = [m["type"] for m in comm.of_job(job)]
    assert kinds.index("cancelling") < kinds.index("finished")
    assert kernel.ok("print('alive')") == "alive\n"


def test_kill_of_unknown_job_is_an_error_and_of_finished_job_a_no_op(kernel, comm):
    start = len(comm.messages)
    comm.kill("never-submitted")
    assert comm.wait_type("error", start=start)["job_id"] == "never-submitted"
    done = comm.run("pass")
    start = len(comm.messages)
    comm.kill(done["job_id"])
    comm.send({"type": "list"})  # answered after the kill was handled
    comm.wait_type("jobs", start=start)
    assert [m["type"] for m in comm.messages[start:]] == ["jobs"]
    assert kernel.ok("print('alive')") == "alive\n"
