"""Every message of the runtime leaves from one thread, in the order it was put in.

Why one thread: ipykernel gives each thread that publishes on iopub a zmq socket of its
own and closes it only some 10 s after the thread has ended (its event-pipe GC). Job
threads are many and short: a queue of trivial jobs ran the kernel out of zmq sockets
(1,023 per context, "Too many open files") within seconds, and messages were lost. One
long-lived sender holds one socket, and no job thread waits on zmq.

In a burst (many jobs starting and ending), what is put in gathers for a moment and leaves
as one message per comm: each message costs a page a websocket frame, JupyterLab's
dispatch and a redraw. 1,000 trivial jobs took 781 messages to tell.
"""

import threading
import time
from collections import deque

from .config import Config, log
from .protocol import without_surrogates
from .threads import running_thread


class Outbox:
    """A FIFO of messages to comms, sent by one thread of the runtime's own."""

    def __init__(self, comms, any_open):
        self._comms = comms  # () -> the open comms, for a message to every one
        self._any_open = any_open  # () -> whether a comm is open, read without a lock
        self._cv = threading.Condition(threading.Lock())
        self._items = deque()  # (comm, or None for every open comm; msg, or None: close)
        self._thread = None
        self._gathering = False  # the thread sleeps to gather a burst: no need to wake it

    def ensure_running(self):
        with self._cv:
            self._thread = running_thread(self._thread, self._loop, "parallel-cell outbox")

    def put(self, comm, msg):
        """Send ``msg`` to ``comm`` (None: to every comm open when it leaves)."""
        if comm is None and not self._any_open():
            # No page to tell: its sending thread is not woken (twice a trivial job). A
            # page that opens a comm later lists the jobs and replays their outputs.
            return
        with self._cv:
            self._items.append((comm, msg))
            if not self._gathering:
                self._cv.notify()

    def call(self, fn):
        """Run ``fn()`` on the sending thread, in order with the messages put in."""
        self.put(_CALL, fn)

    def close(self, comm):
        """Close ``comm`` once what was put in for it before has left."""
        self.put(comm, None)

    def _loop(self):
        sent = deque(maxlen=BURST)  # when the last sends left (monotonic)
        while True:
            with self._cv:
                while not self._items:
                    self._cv.wait()
                self._gathering = (
                    Config.gather_seconds > 0
                    and len(sent) == BURST
                    and time.monotonic() - sent[0] < BURST_SECONDS
                )
            if self._gathering:
                time.sleep(max(0.0, sent[-1] + Config.gather_seconds - time.monotonic()))
            with self._cv:
                self._gathering = False
                items = list(self._items)
                self._items.clear()
            self._send(items)
            sent.append(time.monotonic())
            items = None  # nothing sent stays alive while this thread waits

    def _send(self, items):
        """Send ``items`` in order; what goes to one comm in a row leaves as one message,
        a list (a message each cost the page a websocket frame and a dispatch)."""
        lists = {}  # comm_id -> (comm, [msg, ...]) not sent yet
        every = None  # the open comms, looked up once for the broadcasts of this turn
        weight = 0
        for comm, msg in items:
            if comm is _CALL or msg is None:
                _flush(lists)
                every, weight = None, 0  # the call may open or close comms
                if comm is _CALL:
                    _run(msg)
                else:
                    _deliver(comm, None)
                continue
            if comm is None:
                every = self._comms() if every is None else every
            for target in (comm,) if comm is not None else every:
                lists.setdefault(target.comm_id, (target, []))[1].append(msg)
            weight += _WEIGHTS.get(msg.get("type"), 1)
            if weight >= MAX_WEIGHT:
                _flush(lists)
                weight = 0
        _flush(lists)


_CALL = object()  # an item that is a function to run, not a message
# A burst: this many sends within this long. A job's start and end alone (a few sends) go
# out at once; a queue of short jobs, or jobs streaming output, gather.
BURST, BURST_SECONDS = 4, 0.05
# One comm message holds up to 128 small messages, or 8 that carry outputs (each ≤ ~64 KB
# from the flusher): a list stays under a MB. A part of `text` (≤ 256 Ki) goes alone.
MAX_WEIGHT = 128
_WEIGHTS = {"output": 16, "jobs": 16, "text": MAX_WEIGHT}


def _flush(lists):
    for comm, msgs in lists.values():
        _deliver(comm, msgs[0] if len(msgs) == 1 else msgs)
    lists.clear()


def _run(fn):
    try:
        fn()
    except Exception:
        log.exception("parallel-cell: sending from the outbox failed")


def _deliver(comm, msg):
    try:
        if msg is None:
            comm.close()
            return
        try:
            comm.send(data=msg)
        except UnicodeEncodeError:
            comm.send(data=without_surrogates(msg))
    except Exception:
        log.exception("parallel-cell: sending on a comm failed")
