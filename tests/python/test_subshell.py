"""Comm handling while the foreground is busy: subshells (ipykernel 7) vs ipykernel 6."""

import time

import pytest
from conftest import IPYKERNEL_MAJOR


@pytest.mark.skipif(IPYKERNEL_MAJOR < 7, reason="kernel subshells need ipykernel >= 7")
def test_kill_through_a_subshell_while_the_foreground_sleeps(kernel):
    subshell = kernel.create_subshell()
    comm = kernel.open_comm(subshell_id=subshell)
    comm.wait_type("hello")
    job = comm.submit("while True:\n    pass")
    comm.wait_type("started", job)
    fg = kernel.execute_async("import time\ntime.sleep(3)\nprint('fg done')")
    time.sleep(0.3)  # the foreground is now inside its sleep
    t0 = time.monotonic()
    start = len(comm.messages)
    comm.kill(job)
    comm.wait_type("cancelling", job, start=start, timeout=2)
    finished = comm.wait_type("finished", job, start=start, timeout=2)
    took = time.monotonic() - t0
    print(f"subshell kill during a foreground sleep: killed in {took * 1000:.0f} ms")
    assert finished["state"] == "killed"
    assert took < 1.5
    result = kernel.wait_execute(fg)
    assert result.stdout == "fg done\n"
    # list and submit are handled concurrently too
    start = len(comm.messages)
    fg = kernel.execute_async("import time\ntime.sleep(2)")
    time.sleep(0.3)
    t0 = time.monotonic()
    finished = comm.run("print('beside the foreground')")
    assert time.monotonic() - t0 < 1.5
    assert finished["state"] == "done"
    kernel.wait_execute(fg)


@pytest.mark.skipif(IPYKERNEL_MAJOR >= 7, reason="documents ipykernel 6 behaviour")
def test_ipykernel6_kill_waits_for_the_foreground(kernel, comm):
    job = comm.submit("while True:\n    pass")
    comm.wait_type("started", job)
    fg = kernel.execute_async("import time\ntime.sleep(2)")
    time.sleep(0.3)
    t0 = time.monotonic()
    comm.kill(job)
    finished = comm.wait_type("finished", job, timeout=10)
    took = time.monotonic() - t0
    print(f"ipykernel 6: kill during a 2 s foreground sleep answered after {took:.2f} s")
    assert finished["state"] == "killed"
    assert took > 1.0  # queued behind the busy shell
    kernel.wait_execute(fg)
