"""Which job a thread works for, and the patches that make job threads killable.

Patches are installed once per process; each replaced callable remembers the original
under ``_parallel_cell_original`` so a newer runtime version re-patches cleanly. Sleeps
and waits in a job thread end at once on a kill (unless ``Config.interruptible_sleep``
is off); threads and sockets a job creates are remembered as its own (child processes: see
``children.py``).
"""

import socket
import threading
import time
import weakref

from .config import Config


class JobKilled(BaseException):
    """Raised inside a background job's thread when the job is killed."""

    def __init__(self, *args):
        super().__init__(*args)
        # Counting deliveries tells the reaper whether its async raises land at all.
        job = current_job()
        if job is not None:
            job.kills_delivered += 1


def now_ms():
    return time.time() * 1000.0


THREAD_JOBS = {}  # thread ident -> Job, for threads running job code


def current_job():
    """The live job whose code runs on this thread (or a thread it started), if any."""
    job = THREAD_JOBS.get(threading.get_ident())
    # Threads a job started and left running stay interruptible once it was killed.
    return None if job is None or (job.closed and not job.cancel.is_set()) else job


def _original(fn):
    return getattr(fn, "_parallel_cell_original", fn)


orig_sleep = _original(time.sleep)
_orig_cond_wait = _original(threading.Condition.wait)
_orig_socket_init = _original(socket.socket.__init__)
_orig_thread_start = _original(threading.Thread.start)
_orig_thread_join = _original(threading.Thread.join)
_orig_thread_bootstrap = _original(getattr(threading.Thread, "_bootstrap_inner", None))
_WAIT_SLICE = 0.05


def checkpoint():
    """Raise JobKilled if the calling background job has been asked to stop."""
    job = current_job()
    if job is not None and job.cancel.is_set():
        raise JobKilled(f"job {job.num} was killed")


def _interruptible_job():
    """The calling thread's job when its sleeps and waits are to end on a kill."""
    return current_job() if Config.interruptible_sleep else None


def _sleep(secs):
    job = _interruptible_job()
    if job is None:
        return orig_sleep(secs)
    return job.sleep(secs)


def _cond_wait(self, timeout=None):
    job = _interruptible_job()
    if job is None:
        return _orig_cond_wait(self, timeout)
    # Waits in a job thread are sliced so that a kill is noticed within a slice.
    checkpoint()
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
    while True:
        left = _WAIT_SLICE if deadline is None else min(_WAIT_SLICE, deadline - time.monotonic())
        if _orig_cond_wait(self, max(0.0, left)):
            return True
        checkpoint()
        if deadline is not None and time.monotonic() >= deadline:
            return False


def _thread_join(self, timeout=None):
    job = _interruptible_job()
    if job is None:
        return _orig_thread_join(self, timeout)
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
    while True:
        checkpoint()
        left = _WAIT_SLICE if deadline is None else min(_WAIT_SLICE, deadline - time.monotonic())
        _orig_thread_join(self, max(0.0, left))
        if not self.is_alive() or (deadline is not None and time.monotonic() >= deadline):
            return None


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
    # Threads a job starts (a ThreadPoolExecutor's workers, say) belong to that job:
    # their output goes to it and their sleeps and waits end when it is killed.
    if "_parallel_cell_job" not in self.__dict__:
        self._parallel_cell_job = current_job()
    return _orig_thread_start(self)


def _thread_bootstrap(self):
    job = self.__dict__.get("_parallel_cell_job")
    if job is None or job.closed:
        return _orig_thread_bootstrap(self)
    token = job.enter_thread()
    try:
        return _orig_thread_bootstrap(self)
    finally:
        job.leave_thread(token)


def internal_thread(target, name, *args):
    """A thread of the runtime itself: never counted as part of a job."""
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    thread._parallel_cell_job = None
    return thread


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
        (time, "sleep", _sleep, orig_sleep),
        (threading.Condition, "wait", _cond_wait, _orig_cond_wait),
        (socket.socket, "__init__", _socket_init, _orig_socket_init),
        (threading.Thread, "start", _thread_start, _orig_thread_start),
        (threading.Thread, "join", _thread_join, _orig_thread_join),
    ]
    if _orig_thread_bootstrap is not None:
        patches.append(
            (threading.Thread, "_bootstrap_inner", _thread_bootstrap, _orig_thread_bootstrap)
        )
    for owner, name, fn, orig in patches:
        fn._parallel_cell_original = orig
        fn.__doc__ = orig.__doc__
        setattr(owner, name, fn)
