"""The outbox without a kernel: order, and what goes to one comm in a row leaves as one list.

Items are put in before the sending thread starts, so it takes them all in one turn.
"""

import threading
import time
from types import SimpleNamespace

import pytest

from parallel_cell._bootstrap import load_runtime


@pytest.fixture(scope="module")
def outbox_module():
    return load_runtime(register=False).outbox


class FakeComm:
    def __init__(self, comm_id):
        self.comm_id = comm_id
        self.sent = []  # what each comm message carried
        self.closed = False

    def send(self, data):
        self.sent.append(data)

    def close(self):
        self.closed = True


def run(outbox_module, comms, items):
    """Put ``items`` ((comm or None, msg) / ("call", fn) / ("close", comm) / ("open", comm))
    and send them."""
    done = threading.Event()
    box = outbox_module.Outbox(lambda: list(comms), lambda: bool(comms))
    for kind, value in items:
        if kind == "call":
            box.call(value)
        elif kind == "close":
            box.close(value)
        elif kind == "open":
            comms.append(value)
        else:
            box.put(kind, value)
    box.call(done.set)
    box.ensure_running()
    assert done.wait(30)


def msg(n, kind="queued"):
    return {"type": kind, "n": n}


def test_one_message_goes_alone_and_a_run_goes_as_one_list(outbox_module):
    a, b = FakeComm("a"), FakeComm("b")
    run(outbox_module, [a, b], [(a, msg(1))])
    assert a.sent == [msg(1)] and b.sent == []
    a.sent.clear()
    run(outbox_module, [a, b], [(a, msg(1)), (None, msg(2)), (a, msg(3)), (None, msg(4))])
    assert a.sent == [[msg(1), msg(2), msg(3), msg(4)]]
    assert b.sent == [[msg(2), msg(4)]]


def test_a_call_or_a_close_sends_what_came_before_it_first(outbox_module):
    a = FakeComm("a")
    seen_by_call = []
    items = [
        (a, msg(1)),
        (a, msg(2)),
        ("call", lambda: seen_by_call.append(list(a.sent))),
        (a, msg(3)),
        ("close", a),
    ]
    run(outbox_module, [a], items)
    assert seen_by_call == [[[msg(1), msg(2)]]]
    assert a.sent == [[msg(1), msg(2)], msg(3)]
    assert a.closed


def test_a_list_is_bounded_by_count_and_by_output_text(outbox_module):
    a = FakeComm("a")
    run(outbox_module, [a], [(a, msg(n)) for n in range(300)])
    assert [len(m) for m in a.sent] == [128, 128, 44]
    assert [m["n"] for part in a.sent for m in part] == list(range(300))
    a.sent.clear()
    run(outbox_module, [a], [(a, msg(n, "output")) for n in range(20)])
    assert [len(m) for m in a.sent] == [8, 8, 4]
    a.sent.clear()
    run(outbox_module, [a], [(a, msg(1)), (a, msg(2, "text")), (a, msg(3, "text"))])
    assert a.sent == [[msg(1), msg(2, "text")], msg(3, "text")]


def test_a_broadcast_with_no_comm_open_is_dropped_not_kept(outbox_module):
    a = FakeComm("a")
    run(outbox_module, [], [(None, msg(1)), ("open", a), (None, msg(2))])
    assert a.sent == [msg(2)]  # a page that opens later lists the jobs instead


def test_in_a_burst_what_is_put_in_gathers_into_one_message(outbox_module, monkeypatch):
    # Every send counts as in a burst here, and a gathering lasts until the test lets it
    # end (the outbox's sleep waits for `released`): the ten messages put in below all
    # join it, however slowly this thread puts them in.
    monkeypatch.setattr(outbox_module, "BURST_SECONDS", 60.0)
    monkeypatch.setattr(outbox_module.Config, "gather_seconds", 0.5)
    released = threading.Event()
    slept = threading.Event()

    def gather(seconds):
        slept.set()
        released.wait(30)

    monkeypatch.setattr(
        outbox_module, "time", SimpleNamespace(monotonic=time.monotonic, sleep=gather)
    )
    a = FakeComm("a")
    sent = threading.Semaphore(0)
    a.send = lambda data: (FakeComm.send(a, data), sent.release())
    box = outbox_module.Outbox(lambda: [a], lambda: True)
    box.ensure_running()
    for n in range(outbox_module.BURST):  # one at a time: each leaves alone, at once
        box.put(None, msg(n))
        assert sent.acquire(timeout=30)
    assert not slept.is_set()
    burst = [msg(n) for n in range(outbox_module.BURST, outbox_module.BURST + 10)]
    for m in burst:
        box.put(None, m)
    assert slept.wait(30)  # the first of them started a gathering
    released.set()
    assert sent.acquire(timeout=30)
    assert a.sent == [msg(n) for n in range(outbox_module.BURST)] + [burst]
