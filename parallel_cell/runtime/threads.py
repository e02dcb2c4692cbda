"""Which job a thread works for, and the patches that make job threads killable.

Patches are installed once per process; each replaced callable remembers the original
under ``_parallel_cell_original`` so a newer runtime version re-patches cleanly. Sleeps
and waits in a job thread end at once on a kill (unless ``Config.interruptible_sleep``
is off); threads and sockets a job creates are remembered as its own (child processes: see
``children.py``).
"""

import socket
import sys
import threading
import time
import weakref
from concurrent.futures import thread as _pool

from . import routing
from .config import Config
from .routing import JobKilled, orig_sleep


def _count_kill(exc):
    """``JobKilled._on_raise``: where a kill landed. Counting deliveries tells the reaper
    whether its raises land at all; the runner, whether the job's code caught any."""
    job = current_job()
    if job is not None and job.cancel.is_set():
        ident = exc._pc_ident  # one writer per key: its thread
        job.kill_hits[ident] = job.kill_hits.get(ident, 0) + 1


JobKilled._on_raise = _count_kill


THREAD_JOBS = {}  # thread ident -> Job, for threads running job code (see ``register``)
_REGISTRY_LOCK = threading.Lock()


_active = [True]  # the patches below that only job threads need are in place
_kernel_maps_threads = [True]  # ipykernel keeps thread maps (see _forget_reused_ident)


def register(ident, job):
    """Thread ``ident`` works for ``job`` from now on: its writes are routed and its
    waits, joins, thread starts and sockets patched, before any of its code runs."""
    with _REGISTRY_LOCK:
        THREAD_JOBS[ident] = job
        _activate(True)


def unregister(ident, job):
    """Thread ``ident`` works for ``job`` no more."""
    with _REGISTRY_LOCK:
        if THREAD_JOBS.get(ident) is job:
            del THREAD_JOBS[ident]


def idle():
    """With no thread working for a job, the foreground's writes and calls skip the
    runtime from now on. Called as a foreground cell starts, not as a job ends: a cell
    that runs jobs one after another does not switch for each."""
    with _REGISTRY_LOCK:
        if not THREAD_JOBS:
            _activate(False)


idle._parallel_cell_idle = True  # IPython's pre_execute callback (capture._watch_cells)


def _activate(on):
    """Under ``_REGISTRY_LOCK``: put the patches job threads need in place, or the
    originals back (a class's method is looked up at each call, so a job thread always
    finds the patch). Module functions (``time.sleep``) stay patched: a name imported
    from them keeps what it was given."""
    if _active[0] == on:
        return
    _active[0] = on
    routing.set_fast(not on)
    for owner, name, fn in _swapped():
        orig = fn._parallel_cell_original
        if getattr(owner, name) in (fn, orig):  # not another runtime's patch
            setattr(owner, name, fn if on else orig)


def _swapped():
    swapped = (
        (threading.Condition, "wait", _cond_wait),
        (threading.Thread, "join", _thread_join),
        (threading.Thread, "start", _thread_start),
        (socket.socket, "__init__", _socket_init),
    )
    # A job's threads start while it runs (``start`` waits for the bootstrap), so the
    # bootstrap can go with the rest, unless every thread must forget its ident's map.
    if not _kernel_maps_threads[0] and _orig_thread_bootstrap is not None:
        swapped += ((threading.Thread, "_bootstrap_inner", _thread_bootstrap),)
    return swapped


def current_job():
    """The live job whose code runs on this thread (or a thread it started), if any."""
    job = THREAD_JOBS.get(threading.get_ident())
    # Threads a job started keep it open while they run (``Job.threads``): closed, it
    # has none left.
    return None if job is None or job.closed else job


def _original(fn):
    return getattr(fn, "_parallel_cell_original", fn)


_orig_cond_wait = _original(threading.Condition.wait)
_orig_socket_init = _original(socket.socket.__init__)
_orig_thread_start = _original(threading.Thread.start)
_orig_thread_join = _original(threading.Thread.join)
_orig_thread_bootstrap = _original(getattr(threading.Thread, "_bootstrap_inner", None))
_orig_work_item_init = _original(_pool._WorkItem.__init__)
_orig_work_item_run = _original(_pool._WorkItem.run)
_WAIT_SLICE = 0.05


def checkpoint():
    """Raise JobKilled if the calling background job has been asked to stop.

    Once per thread: then its cleanup runs undisturbed (checkpoints in it pass, its
    sleeps sleep) until the cleanup grace is over (``Job.forcing``).
    """
    job = current_job()
    if job is None or not job.cancel.is_set():
        return
    ident = threading.get_ident()
    with job.lock:  # the kill's own async raise into this thread counts as its one
        due = job.forcing or job.first_kill_due(ident)
        if due:
            job.kill_taken.add(ident)
    if due:
        raise JobKilled(f"job {job.num} was killed")


def _waiting(job, ident, inside):
    """Mark a thread as inside one of the runtime's waits, which raise the kill
    themselves once woken: the kill then wakes it rather than raising into it."""
    with job.lock:
        if inside:
            job.waiting.add(ident)
        else:
            job.waiting.discard(ident)


def _interruptible_job():
    """The calling thread's job when its sleeps and waits are to end on a kill."""
    return current_job() if Config.interruptible_sleep else None


def sliced_wait(job, wait_slice, timeout):
    """Wait in a job thread in slices, so that a kill is noticed within one.
    ``wait_slice(seconds)`` waits at most that long and is True once the wait is over;
    False here: ``timeout`` ran out first."""
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
    ident = threading.get_ident()
    over = False
    try:
        _waiting(job, ident, True)
        while not over:
            checkpoint()
            left = _WAIT_SLICE if deadline is None else deadline - time.monotonic()
            over = wait_slice(max(0.0, min(_WAIT_SLICE, left)))
            if deadline is not None and time.monotonic() >= deadline:
                break
    finally:
        _waiting(job, ident, False)
    checkpoint()  # a kill that came as it left: it found the thread still waiting
    return over


def _cond_wait(self, timeout=None):
    job = _interruptible_job()
    if job is None:
        return _orig_cond_wait(self, timeout)
    return sliced_wait(job, lambda s: _orig_cond_wait(self, s), timeout)


def _thread_join(self, timeout=None):
    job = _interruptible_job()
    if job is None:
        return _orig_thread_join(self, timeout)

    def joined(seconds):
        _orig_thread_join(self, seconds)
        return not self.is_alive()

    sliced_wait(job, joined, timeout)


def _track(job, refs, obj):
    """Remember ``obj`` weakly; drop dead entries so a busy job's list stays small."""
    with job.lock:
        if len(refs) >= 256:
            refs[:] = [r for r in refs if r() is not None]
        refs.append(weakref.ref(obj))


def _socket_init(self, *args, **kwargs):
    _orig_socket_init(self, *args, **kwargs)
    job = current_job()
    if job is not None:
        _track(job, job.sockets, self)


def _thread_start(self):
    # Threads a job starts belong to that job while they run: their output goes to it
    # and a kill of the job reaches them. Not so for threads that serve whoever uses
    # them (a pool's workers: their work items say whom they serve, see ``_WorkItem``).
    if "_parallel_cell_job" not in self.__dict__:
        self._parallel_cell_job = None if _serves_anyone(self) else current_job()
    return _orig_thread_start(self)


def _serves_anyone(thread):
    """A pool's worker thread or a library's process-wide helper (tqdm's monitor)."""
    if getattr(thread, "_target", None) is _pool._worker:
        return True
    cls = type(thread)
    return cls.__name__ == "TMonitor" and cls.__module__.startswith("tqdm")


def _thread_maps():
    """ipykernel 6.29–6.x's maps of each thread to the thread that started it, by ident
    (7.x has none)."""
    for name in ("stdout", "stderr"):
        # Instance dicts only: a miss through RoutedStream.__getattr__ raised and cost
        # every thread start some 10 µs.
        own = getattr(sys.__dict__.get(name), "__dict__", None) or {}
        for found in (own, getattr(own.get("_pc_target"), "__dict__", None) or {}):
            for attr in ("_thread_to_parent", "_thread_to_parent_header"):
                known = found.get(attr)
                if isinstance(known, dict):
                    yield known


def _forget_reused_ident():
    """ipykernel's thread maps never forget. Idents are reused, so with jobs starting
    threads a map can close into a cycle, and the output lookup of a thread on it loops
    forever (seen on ipykernel 6.31: a pool thread's print hung the kernel). A thread
    that starts forgets what an earlier thread of its ident left; ipykernel then maps it
    afresh."""
    if not _kernel_maps_threads[0]:
        return
    ident = threading.get_ident()
    for known in _thread_maps():
        known.pop(ident, None)


def _thread_bootstrap(self):
    _forget_reused_ident()
    job = self.__dict__.get("_parallel_cell_job")
    if job is None or job.closed:
        return _orig_thread_bootstrap(self)
    token = job.enter_thread()
    try:
        return _orig_thread_bootstrap(self)
    finally:
        job.leave_thread(token)


def _work_item_init(self, *args, **kwargs):
    _orig_work_item_init(self, *args, **kwargs)
    self._parallel_cell_job = current_job()  # who submitted it: whom it serves


def _work_item_run(self, *args, **kwargs):
    """A pool's work item runs for whoever submitted it: a job (its output, its kill) or
    the foreground; the pool thread itself belongs to no job."""
    job = self.__dict__.get("_parallel_cell_job")
    ident = threading.get_ident()
    before = THREAD_JOBS.get(ident)
    if before is not None:
        unregister(ident, before)
    token = None
    if job is not None and not job.closed:
        token = job.enter_thread()
    try:
        return _orig_work_item_run(self, *args, **kwargs)
    finally:
        if token is not None:
            job.leave_thread(token)
        if before is not None:
            register(ident, before)


def internal_thread(target, name, *args):
    """A thread of the runtime itself: never counted as part of a job."""
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    thread._parallel_cell_job = None
    return thread


def running_thread(current, target, name):
    """``current`` while it runs, else a new started thread of the runtime's own."""
    if current is None or not current.is_alive():
        current = internal_thread(target, name)
        current.start()
    return current


def _no_input_in_jobs(original):
    def ask(*args, **kwargs):
        if current_job() is not None:
            try:
                from IPython.core.error import StdinNotImplementedError as error
            except ImportError:
                error = RuntimeError
            raise error(
                "input() is not available in a background job: it has no cell to ask in. "
                "Ask in the foreground and pass the answer to the job."
            )
        return original(*args, **kwargs)

    ask._parallel_cell_original = original
    ask._parallel_cell_owner = _no_input_in_jobs  # this module's, not an older runtime's
    ask.__doc__ = original.__doc__
    return ask


def _guarded(fn):
    if getattr(fn, "_parallel_cell_owner", None) is _no_input_in_jobs:
        return fn
    return _no_input_in_jobs(_original(fn))


def install_input_guard(shell):
    """input()/getpass() in a job would ask in whatever cell runs in the foreground."""
    import builtins

    if _guarded(builtins.input) is not builtins.input:
        builtins.input = _guarded(builtins.input)
    kernel = getattr(shell, "kernel", None)
    # raw_input/getpass stand in for input() during an execute; _sys_raw_input is the
    # input() that ipykernel puts back afterwards (the bootstrap itself is an execute).
    # Called for every job: set only what is not guarded yet.
    for name in ("raw_input", "getpass", "_sys_raw_input"):
        method = getattr(kernel, name, None)
        if callable(method) and _guarded(method) is not method:
            setattr(kernel, name, _guarded(method))


def install_patches():
    patches = [
        (time, "sleep", routing.sleep, orig_sleep),
        (threading.Condition, "wait", _cond_wait, _orig_cond_wait),
        (socket.socket, "__init__", _socket_init, _orig_socket_init),
        (threading.Thread, "start", _thread_start, _orig_thread_start),
        (threading.Thread, "join", _thread_join, _orig_thread_join),
        (_pool._WorkItem, "__init__", _work_item_init, _orig_work_item_init),
        (_pool._WorkItem, "run", _work_item_run, _orig_work_item_run),
    ]
    if _orig_thread_bootstrap is not None:
        patches.append(
            (threading.Thread, "_bootstrap_inner", _thread_bootstrap, _orig_thread_bootstrap)
        )
    with _REGISTRY_LOCK:
        for owner, name, fn, orig in patches:
            fn._parallel_cell_original = orig
            fn.__doc__ = orig.__doc__
            setattr(owner, name, fn)
        _active[0] = True
        # Measured (P9): the bootstrap patch is most of what a foreground thread start
        # pays with the runtime loaded; with no thread maps to forget it is job-only.
        _kernel_maps_threads[0] = next(_thread_maps(), None) is not None
