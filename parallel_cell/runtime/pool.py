"""Job threads, reused: a job runs on an idle thread of a small pool rather than on a new
thread, whose start waits for it to run (~70 µs a job).

A thread goes back to the pool only as clean as a new one: its job was never killed (an
asynchronous JobKilled could still be on its way), it left no trace or profile function
and no job registered for it, its ``threading.local`` values are dropped and attributes
set on its Thread object removed; and every job runs in a fresh ``contextvars.Context``
(decimal's context, ipykernel's parent header), as a new thread starts with an empty one.
Otherwise it ends, and the next job gets a new thread. Where thread-locals cannot be
dropped (they live on the thread state's dict only up to CPython 3.12), or a trace or
profile hook is set for new threads, every job gets a new thread, as before.

``Done`` is the other half of the hand-over: the flag a job's end (and its kill) is.
"""

import contextvars
import sys
import threading

from .config import Config, log
from .threads import (
    THREAD_JOBS,
    JobKilled,
    _forget_reused_ident,
    _interruptible_job,
    sliced_wait,
)

IDLE_NAME = "parallel-cell pool"
_LOCAL_PREFIX = "thread.local."  # CPython's key of a threading.local on the thread's dict
_OPEN = object()  # a thread whose job's code ended takes the next job it starts


def _thread_dict_getter():
    """``PyThreadState_GetDict`` if a threading.local lives there and dropping its key
    makes it new for this thread (checked once, on a local of its own); else None."""
    try:
        import ctypes

        address = ctypes.pythonapi.PyThreadState_GetDict
        address.restype, address.argtypes = ctypes.c_void_p, []

        def get():  # a borrowed reference: a py_object restype would steal it
            return ctypes.cast(address(), ctypes.py_object).value

        before = set(get())
        probe = threading.local()  # makes its dict for this thread at once
        probe.seen = True
        keys = [k for k in get() if k not in before]
        if len(keys) != 1 or not str(keys[0]).startswith(_LOCAL_PREFIX):
            return None
        del get()[keys[0]]
        return None if hasattr(probe, "seen") else get
    except Exception:
        return None


_thread_dict = _thread_dict_getter()


def _no_async_exception():
    """A Python call: an asynchronous exception still pending for this thread is raised
    here (on entry), not in the next job."""


def _hooks_for_new_threads():
    return getattr(threading, "_trace_hook", None) or getattr(threading, "_profile_hook", None)


class Done:
    """A flag set once (a job's end, its kill) with ``threading.Event``'s ``set``,
    ``is_set`` and ``wait``: a waiter blocks on a plain lock that ``set`` releases, where
    an Event's Condition woke it to wait again for the Condition's own lock (~30 µs a
    job). In a job thread the wait ends on a kill, as the patched Condition.wait does."""

    __slots__ = ("_flag", "_lock")

    def __init__(self):
        self._flag = False
        self._lock = threading.Lock()
        self._lock.acquire()

    def is_set(self):
        return self._flag

    def set(self):
        if not self._flag:
            self._flag = True
            try:
                self._lock.release()
            except RuntimeError:  # another thread set it at the same moment
                pass

    def wait(self, timeout=None):
        if self._flag:
            return True
        job = _interruptible_job()
        if job is not None:
            return self._wait_in_job(job, timeout)
        if self._lock.acquire(True, -1 if timeout is None else max(0.0, timeout)):
            self._lock.release()  # the next waiter wakes in turn
        return self._flag

    def _wait_in_job(self, job, timeout):
        def taken(seconds):
            if self._flag or not self._lock.acquire(True, seconds):
                return self._flag
            self._lock.release()  # the next waiter wakes in turn
            return True

        sliced_wait(job, taken, timeout)
        return self._flag


class _Idle:
    __slots__ = ("item", "wake")

    def __init__(self):
        self.item = None
        self.wake = threading.Lock()  # held while idle; released with an item to run
        self.wake.acquire()


class Pool:
    """Idle job threads, the most recently used first."""

    def __init__(self):
        self._lock = threading.Lock()
        self._idle = []
        self._serving = set()  # idents of the pool's threads
        self._next = {}  # ident -> _OPEN, or the item it runs next (see code_ended)

    def usable(self):
        return Config.pool_threads > 0 and _thread_dict is not None and not _hooks_for_new_threads()

    def run(self, item):
        """Run ``item`` (target, name, args) on an idle thread, or on a new one. A pooled
        target returns True when its thread may run another (its job was never killed)."""
        if self.usable():
            ident = threading.get_ident()
            if self._next.get(ident) is _OPEN:  # the next in line, started as a job ends
                self._next[ident] = item
                return
            with self._lock:
                idle = self._idle.pop() if self._idle else None
            if idle is not None:
                idle.item = item
                idle.wake.release()
                return
        # In a list it takes out: the Thread keeps its args (and so a job) while it runs.
        thread = threading.Thread(target=self._serve, args=([item],), name=item[1], daemon=True)
        thread._parallel_cell_job = None  # the runtime's own: no job's
        thread.start()

    def code_ended(self):
        """A pooled job's code has ended: a job its thread starts from now on (the next in
        line, from ``queue.ended``) runs on this thread, after it, with no hand-over."""
        ident = threading.get_ident()
        if ident in self._serving:
            self._next[ident] = _OPEN

    def _serve(self, box):
        item = box.pop()
        me = threading.current_thread()
        ident = me.ident
        _forget_reused_ident()  # a root for ipykernel 6's thread map: never part of a cycle
        own = set(me.__dict__)
        # This thread's thread-state dict, the same for its life: taken once (a ctypes call).
        state = _thread_dict() if _thread_dict is not None else None
        idle = None
        self._serving.add(ident)
        try:
            while item is not None:
                clean = _run(me, item)
                item = self._next.pop(ident, None)  # nothing of the job it ran stays here
                try:
                    _no_async_exception()
                    clean = clean and self.usable() and _scrub(me, own, state)
                except BaseException:  # a JobKilled, late: this thread is not clean
                    clean = False
                if item is _OPEN:
                    item = None
                if not clean:
                    if item is not None:
                        self.run(item)  # on another thread: this one ends
                    return
                if item is None:
                    idle = idle or _Idle()
                    item = self._wait(idle)
        finally:
            self._serving.discard(ident)

    def _wait(self, idle):
        """The next item for this thread, or None: the pool is full, or it idled too long."""
        with self._lock:
            if len(self._idle) >= Config.pool_threads:
                return None
            self._idle.append(idle)
        if not idle.wake.acquire(timeout=Config.pool_idle_seconds):
            with self._lock:
                if idle in self._idle:
                    self._idle.remove(idle)
                    return None
            idle.wake.acquire()  # taken meanwhile: its item is on its way
        item, idle.item = idle.item, None
        return item


def _run(me, item):
    """Run one item in a fresh context; True if its target says the thread is clean."""
    target, name, args = item
    me.name = name
    try:
        return contextvars.Context().run(target, *args) is True
    except JobKilled:
        return False
    except BaseException:
        log.exception("parallel-cell: a job thread failed")
        return False


def _scrub(me, own, state):
    """Make the calling thread (``state``: its thread-state dict) what a new thread is;
    False if it cannot be."""
    if sys.gettrace() is not None or sys.getprofile() is not None:
        return False
    if threading.get_ident() in THREAD_JOBS:
        return False
    for key in [k for k in state if isinstance(k, str) and k.startswith(_LOCAL_PREFIX)]:
        del state[key]
    if len(me.__dict__) != len(own):
        for key in [k for k in me.__dict__ if k not in own]:
            del me.__dict__[key]
    me.name = IDLE_NAME
    return True


JOBS = Pool()
