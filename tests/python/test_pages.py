"""A page that leaves without closing its runtime comm (a killed tab; a close the kernel
dropped because the page's subshell went first) gets it closed by the server when its
websocket goes: the runtime stops sending to it. A page that closed its comm, or whose
comm a reloaded page replaced, gets nothing sent for it.

A real `jupyter server` with the extension, a real kernel, pages that are websockets.
"""

from __future__ import annotations

import time

import pytest
from kernel_client import wait_until
from server_client import Page, Server, notebook

COMMS = "sorted(__import__('_parallel_cell_runtime')._RUNTIME.comms)"
CLOSED = "runtime comm(s) a page left open"
GRACE = 0.5  # seconds a page has to reconnect
# For the page that reconnects: its new websocket must be heard within the grace, which
# on a loaded machine can take longer than half a second.
RECONNECT_GRACE = 4.0


def _server(grace):
    # No takeover while these tests run: only pages open comms.
    return Server(
        {"pages.ipynb": notebook(["x = 1"])},
        args=(
            f"--ParallelCellServer.comm_grace={grace}",
            "--ParallelCellServer.takeover_delay=600",
        ),
    )


@pytest.fixture
def server():
    s = _server(GRACE)
    yield s
    s.stop()


@pytest.fixture
def reconnect_server():
    s = _server(RECONNECT_GRACE)
    yield s
    s.stop()


def _pages(server, n=2):
    kernel_id = server.session("pages.ipynb")
    return kernel_id, [Page(server, kernel_id) for _ in range(n)]


def test_a_page_gone_without_closing_its_comm_has_it_closed(server):
    _, (gone, stays) = _pages(server)
    assert stays.evaluate(COMMS) == repr(sorted([gone.comm_id, stays.comm_id]))
    gone.close(close_comm=False)
    wait_until(lambda: stays.evaluate(COMMS) == repr([stays.comm_id]), what="comm closed")
    wait_until(lambda: CLOSED in server.log(), what="the server's line")
    # The page that stays goes on as before.
    job = stays.submit("pages.ipynb", "cell-0", "print('still here')")
    assert stays.wait_type("finished", job)["state"] == "done"
    assert "still here" in stays.outputs(job)[0]["text"]


def test_a_page_whose_close_reached_the_kernel_gets_nothing_closed_again(server):
    _, (gone, stays) = _pages(server)
    gone._send("comm_close", {"comm_id": gone.comm_id, "data": {}})
    wait_until(lambda: stays.evaluate(COMMS) == repr([stays.comm_id]), what="page's close")
    gone.close(close_comm=False)
    stays.execute("pass")  # the server has had the time to react to the websocket
    assert CLOSED not in server.log()
    assert "No such comm" not in server.log()


def test_a_close_sent_as_the_websocket_goes_ends_the_comm_either_way(server):
    _, (gone, stays) = _pages(server)
    gone.close()  # comm_close, then at once the websocket's close: as a tab does
    wait_until(lambda: stays.evaluate(COMMS) == repr([stays.comm_id]), what="comm closed")
    stays.execute("pass")
    assert "No such comm" not in server.log()


def test_a_comm_a_reloaded_page_replaced_gets_nothing_closed_for_it(server):
    kernel_id, (old,) = _pages(server, 1)
    new = Page(server, kernel_id, replaces=[old.comm_id])
    assert new.evaluate(COMMS) == repr([new.comm_id])
    old.close(close_comm=False)
    new.execute("pass")
    assert CLOSED not in server.log()
    assert "No such comm" not in server.log()


def test_every_comm_a_page_left_is_closed_and_no_other(server):
    kernel_id, (first,) = _pages(server, 1)
    # A second runtime comm over the same websocket (a second notebook panel on the kernel
    # would have its own websocket; this is the most one page can leave).
    extra = "extra-comm-0001"
    first._send(
        "comm_open", {"comm_id": extra, "target_name": "parallel_cell.v2", "data": {"protocol": 2}}
    )
    other = Page(server, kernel_id)
    wait_until(lambda: extra in other.evaluate(COMMS), what="second comm open")
    first.close(close_comm=False)
    wait_until(lambda: other.evaluate(COMMS) == repr([other.comm_id]), what="comms closed")
    wait_until(lambda: "closed 2 runtime comm(s)" in server.log(), what="the server's line")


def test_a_page_that_reconnects_keeps_its_comm(reconnect_server):
    server = reconnect_server
    _, (page, other) = _pages(server)
    page.reconnect()
    time.sleep(RECONNECT_GRACE + 1)  # past the grace the drop started
    assert other.evaluate(COMMS) == repr(sorted([page.comm_id, other.comm_id]))
    job = page.submit("pages.ipynb", "cell-0", "print('after the drop')")
    assert page.wait_type("finished", job)["state"] == "done"
    assert CLOSED not in server.log()
    # Gone for good after that: closed once the grace is over.
    page.close(close_comm=False)
    wait_until(lambda: other.evaluate(COMMS) == repr([other.comm_id]), what="comm closed")
