"""Every message of the runtime leaves from one thread, in the order it was put in.

Why one thread: ipykernel gives each thread that publishes on iopub a zmq socket of its
own and closes it only some 10 s after the thread has ended (its event-pipe GC). Job
threads are many and short: a queue of trivial jobs ran the kernel out of zmq sockets
(1,023 per context, "Too many open files") within seconds, and messages were lost. One
long-lived sender holds one socket, and no job thread waits on zmq.
"""

import threading
from collections import deque

from .config import log
from .protocol import without_surrogates
from .threads import internal_thread


class Outbox:
    """A FIFO of messages to comms, sent by one thread of the runtime's own."""

    def __init__(self, comms):
        self._comms = comms  # () -> the open comms, for a message to every one
        self._cv = threading.Condition(threading.Lock())
        self._items = deque()  # (comm, or None for every open comm; msg, or None: close)
        self._thread = None

    def ensure_running(self):
        with self._cv:
            if self._thread is None or not self._thread.is_alive():
                self._thread = internal_thread(self._loop, "parallel-cell outbox")
                self._thread.start()

    def put(self, comm, msg):
        """Send ``msg`` to ``comm`` (None: to every comm open when it leaves). Not under
        the runtime's lock: ``comms()`` takes it."""
        if comm is None and not self._comms():
            # No page to tell: its sending thread is not woken (twice a trivial job). A
            # page that opens a comm later lists the jobs and replays their outputs.
            return
        with self._cv:
            self._items.append((comm, msg))
            self._cv.notify()

    def call(self, fn):
        """Run ``fn()`` on the sending thread, in order with the messages put in."""
        self.put(_CALL, fn)

    def close(self, comm):
        """Close ``comm`` once what was put in for it before has left."""
        self.put(comm, None)

    def _loop(self):
        while True:
            with self._cv:
                while not self._items:
                    self._cv.wait()
                items = list(self._items)
                self._items.clear()
            for comm, msg in items:
                if comm is _CALL:
                    _run(msg)
                    continue
                for target in (comm,) if comm is not None else self._comms():
                    _deliver(target, msg)
            items = comm = msg = None  # nothing sent stays alive while this thread waits


_CALL = object()  # an item that is a function to run, not a message


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
