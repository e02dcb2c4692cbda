"""Comm handling while the foreground is busy: subshells (ipykernel 7) vs ipykernel 6."""

import time

import pytest
from conftest import IPYKERNEL_MAJOR


def _started(kernel, msg_id):
    """Wait until the foreground cell ``msg_id`` runs (its ``execute_input``)."""
    kernel.wait_parent(
        msg_id, lambda ms: any(m["header"]["msg_type"] == "execute_input" for m in ms), 10
    )


@pytest.mark.skipif(IPYKERNEL_MAJOR < 7, reason="kernel subshells need ipykernel >= 7")
def test_kill_through_a_subshell_while_the_foreground_is_busy(kernel, gate):
    subshell = kernel.create_subshell()
    comm = kernel.open_comm(subshell_id=subshell)
    comm.wait_type("hello")
    job = comm.submit("while True:\n    pass")
    comm.wait_type("started", job)
    # The foreground cell waits on the gate: until the test opens it, the shell is busy.
    fg = kernel.execute_async(gate.code() + "print('fg done')")
    _started(kernel, fg)
    t0 = time.monotonic()
    start = len(comm.messages)
    comm.kill(job)
    comm.wait_type("cancelling", job, start=start)
    finished = comm.wait_type("finished", job, start=start)
    print(
        f"subshell kill during a busy foreground: killed in {(time.monotonic() - t0) * 1000:.0f} ms"
    )
    assert finished["state"] == "killed"
    gate.open()
    assert kernel.wait_execute(fg).stdout == "fg done\n"
    # list and submit are handled beside a busy foreground too
    gate.close()
    fg = kernel.execute_async(gate.code())
    _started(kernel, fg)
    finished = comm.run("print('beside the foreground')")
    assert finished["state"] == "done"
    assert comm.text(finished["job_id"]) == "beside the foreground\n"
    gate.open()
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


@pytest.mark.skipif(IPYKERNEL_MAJOR < 7, reason="kernel subshells need ipykernel >= 7")
def test_a_page_leaving_does_not_take_the_other_pages_comm_with_it(kernel):
    """Two pages, each with its comm on its own subshell (JupyterLab ≥ 4.4). ipykernel 7.4
    routes a comm's incoming messages to the subshell of the last message it *sent*; the
    runtime sends every page's comm the same messages, so without care page B's comm
    would be routed to page A's subshell — and after A left (its subshell deleted), B's
    kill or replay would be dropped ("Unknown subshell_id")."""
    a_shell, b_shell = kernel.create_subshell(), kernel.create_subshell()
    a = kernel.open_comm(subshell_id=a_shell)
    a.wait_type("hello")
    b = kernel.open_comm(subshell_id=b_shell)
    b.wait_type("hello")
    # A asks for something every comm hears (a job's messages), while it is the parent.
    job = a.submit("print('from a')")
    a.wait_type("finished", job)
    b.wait_type("finished", job)
    # A's tab closes: its comm and its subshell go.
    a.close()
    kernel.delete_subshell(a_shell)
    # B still talks to the runtime.
    answer = b.request({"type": "list"}, "jobs")
    assert job in {info["job_id"] for info in answer["jobs"]}
    other = b.submit("print('from b')")
    assert b.wait_type("finished", other)["state"] == "done"
