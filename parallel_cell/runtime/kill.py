"""Kill escalation: one JobKilled, a grace for cleanup, then force; the truth about it.

A kill raises ``JobKilled`` once into each thread of the job: into its own thread by an
asynchronous exception, or, when that thread waits in one of the runtime's sleeps and
waits, by the wait itself once woken (never both); into threads it started, by their
sleeps and waits. Then cleanup (``finally``, ``__exit__``, ``except JobKilled``) runs
undisturbed, its sleeps sleeping, for ``Config.cleanup_grace_seconds``. After that the
job is forced: every wait ends at once and the reaper raises again every 20-100 ms. A
second kill forces it at once.

Code that catches the kill and goes on does not get past its handler: when the caught
JobKilled is freed, its ``__del__`` (``_on_drop``) arms a trace function that raises a
new one at the next line the job's code runs. A job whose code caught the kill and
still ran to its end (it kept the exception, so nothing was freed) ends ``killed`` with
a note, never ``done``.

A job is ``killed`` only once its thread has left the user's code; until then it is
``cancelling``, with a reason when the kill is not being taken (native code, code that
keeps catching it) or when its cleanup outlasts the grace.
"""

import asyncio
import ctypes
import linecache
import sys
import threading
import time

from .config import Config, is_runtime_frame
from .job import TERMINAL
from .protocol import msg_cancelling
from .threads import THREAD_JOBS, JobKilled, current_job, internal_thread, orig_sleep

_SOCKETS_AFTER = 0.1  # a kill not landed this long shuts the job's sockets (recv in C)
_HARD_AFTER = 2.0  # children still there this long after a SIGTERM get a SIGKILL


def async_raise(ident):
    return ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(JobKilled)
    )


def deliver_pending_kill():
    """Called by a job's thread once it has left the user's code, inside its handler: a
    JobKilled the reaper raised just before is raised here (a Python call checks for
    pending async exceptions on entry), not later in the runtime's bookkeeping.

    Not PyThreadState_SetAsyncExc(ident, NULL): clearing also sets CPython's
    async-exception flag, which nothing then resets; every thread runs the slow path of
    the eval loop from then on, and with a profiler on, the next thread start hung.
    """


def _cancel_tasks(loop):
    for task in asyncio.all_tasks(loop):
        task.cancel()


def _call_in_loop(loop, fn):
    if loop is not None and not loop.is_closed():
        try:
            loop.call_soon_threadsafe(fn, loop)
        except RuntimeError:  # closed meanwhile
            pass


def stuck_reason(frame):
    # The innermost frame of the user's code (a runtime wrapper such as ``routing.sleep`` may
    # be the one actually waiting) says best where the job is stuck.
    while frame.f_back is not None and is_runtime_frame(frame):
        frame = frame.f_back
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    where = line if line else f"{frame.f_code.co_name} at line {frame.f_lineno}"
    if len(where) > 80:
        where = where[:77] + "..."
    return f"the thread is inside a native call ({where}); it will stop when that call returns"


def _loop_idle(job):
    """The job's thread (a cell with top-level await) waits in its event loop's
    selector: there an async raise would tear the loop down before any ``finally`` of
    its coroutines ran, while a cancel of its tasks lets them clean up the asyncio way."""
    loop = job.loop
    if loop is None or loop.is_closed() or not loop.is_running():
        return False
    frame = sys._current_frames().get(job.ident)
    try:
        code = frame.f_code if frame is not None else None
        return code is not None and code.co_name == "select" and "selectors" in code.co_filename
    finally:
        del frame


def _raise_first(job):
    """Under ``job.lock``: the kill's one JobKilled for the job's own thread, unless it
    had it already or waits in one of the runtime's waits (which raise it, woken)."""
    ident = job.ident
    if ident is None or not job.in_user_code or ident in job.kill_taken or ident in job.waiting:
        return
    job.kill_taken.add(ident)
    if _loop_idle(job):
        job.loop_cancels += 1
        _call_in_loop(job.loop, _cancel_tasks)
    else:
        async_raise(ident)


def _landed(job):
    """Kills the job's own thread has taken (each JobKilled raised in it, each cancel)."""
    return job.kill_hits.get(job.ident, 0) + job.loop_cancels


def kill(job, broadcast):
    """Start killing ``job``; False if it has already ended."""
    with job.lock:
        if job.state in TERMINAL:
            return False
        first = job.state != "cancelling"
        job.state = "cancelling"
        if first:
            job.kill_at = time.monotonic()
            # Its threads now get the kill once; threads started later are cleanup's.
            job.kill_doomed = {i for i, j in list(THREAD_JOBS.items()) if j is job}
            job.cancel.set()  # first: a wait that leaves after this raises it itself
            _raise_first(job)
        else:
            job.force_asked = True  # killed again: the reaper forces at once
    job.request_cancel()  # after the raise: wakes the waits of the threads it skipped
    job.terminate_children(hard=not first)  # a second kill does not ask twice
    if first:
        broadcast(msg_cancelling(job.job_id, None))
        internal_thread(_reap, f"parallel-cell kill {job.num}", job, broadcast).start()
    return True


def _reap(job, broadcast):
    """Watch a killed job's thread until it leaves the user's code: make sure the kill
    lands, let its cleanup run for the grace, then force it out; say why it takes long."""
    t0 = job.kill_at
    grace = _grace()
    interval, forced_at, told = 0.02, None, set()
    landed, due_since = 0, t0  # due_since: a JobKilled should land, since (None: none due)
    while True:
        wait = interval
        if forced_at is None:
            wait = min(interval, max(0.001, t0 + grace - time.monotonic()))
        if job.done_event.wait(wait):
            break
        interval = min(interval * 2, 0.1)
        now = time.monotonic()
        force = forced_at is None and (now - t0 >= grace or job.force_asked)
        if force:
            forced_at = due_since = now
            job.request_cancel(force=True)  # every wait ends at once from now on
        with job.lock:
            if not job.in_user_code or job.ident is None:
                break
            if forced_at is None:
                _raise_first(job)
            else:
                async_raise(job.ident)
                if job.loop is not None and job.loop.is_running():
                    _call_in_loop(job.loop, _cancel_tasks)  # also wakes its selector
        hits = _landed(job)
        if hits != landed:
            landed = hits
            due_since = now if forced_at is not None else None
            told.discard("native")
        if not landed or forced_at is not None:
            # Until the kill lands, what the thread may wait on (a child, a socket) is
            # ended; once it has, cleanup may use them, until the grace is over.
            since = forced_at if forced_at is not None else t0
            job.terminate_children(hard=now - since > _HARD_AFTER)
            if forced_at is not None or now - t0 >= _SOCKETS_AFTER:
                job.shut_sockets()
        reason = None
        if force and landed:
            reason = (
                "killed again: forcing it, its cleanup cut short"
                if job.force_asked and now - t0 < grace
                else f"cleanup is taking longer than the {grace:g} s grace; forcing it"
            )
        elif (
            due_since is not None
            and now - due_since >= Config.kill_grace_seconds
            and "native" not in told
        ):
            told.add("native")
            frame = sys._current_frames().get(job.ident)
            if frame is not None:
                reason = stuck_reason(frame)
            del frame
        elif landed >= 3 and now - t0 >= Config.kill_grace_seconds and "catching" not in told:
            told.add("catching")
            reason = (
                "the job's code keeps catching the kill (a bare except: or "
                "except BaseException:?); still trying"
            )
        if reason is not None:
            broadcast(msg_cancelling(job.job_id, reason))
    if forced_at is None:
        _force_threads_after_grace(job, t0 + grace)


def _grace():
    # Set by jobs.configure(), which takes any value: a bad one must not stop the reaper.
    grace = Config.cleanup_grace_seconds
    if isinstance(grace, bool) or not isinstance(grace, (int, float)) or not grace >= 0:
        return 2.0
    return float(grace)


def _force_threads_after_grace(job, deadline):
    """The job's own code has ended; threads it started may still be cleaning up: their
    waits, too, end once the grace is over."""
    while True:
        with job.lock:
            if not job.threads:
                return
        left = deadline - time.monotonic()
        if left <= 0 or job.force_asked:
            job.request_cancel(force=True)
            return
        orig_sleep(min(left, 0.1))


# -- a kill caught and dropped -------------------------------------------------------


def _on_drop(exc):
    """``JobKilled.__del__``: the job's own thread freed a JobKilled its code caught
    (``except:``, ``except BaseException:``, ``contextlib.suppress``) and goes on."""
    ident = threading.get_ident()
    if exc.__dict__.get("_pc_ident") != ident:
        return  # freed by another thread (a cycle collected there): not its code
    job = current_job()
    if job is None or job.ident != ident or not job.in_user_code or not job.cancel.is_set():
        return
    frame = sys._getframe(2)  # this, JobKilled.__del__, then the frame that dropped it
    if is_runtime_frame(frame):
        return  # the runner taking the kill, not the job's code
    _arm(job, frame)


JobKilled._on_drop = _on_drop


def _arm(job, frame):
    """Raise JobKilled at the next line the job's code runs (in ``frame``, a frame it
    returns to or one it calls), the way pdb.set_trace() stops there: an exception a
    trace function raises is raised in the traced frame, at that line."""
    previous = sys.gettrace()
    if getattr(previous, "_pc_kill_trace", False):
        return
    frames = []

    def trace(frm, event, arg):
        if is_runtime_frame(frm):
            return None
        if event != "line":
            return trace
        disarm(trace)
        raise JobKilled(f"job {job.num} was killed")

    trace._pc_kill_trace = True
    trace._pc_previous = previous
    trace._pc_frames = frames
    while frame is not None and not is_runtime_frame(frame):
        frame.f_trace = trace
        frame.f_trace_lines = True
        frames.append(frame)
        frame = frame.f_back
    sys.settrace(trace)


def disarm(trace=None):
    """Take the kill's trace function off this thread (it fired, or the code ended).

    The trace function this thread had before is put back; CPython turns tracing off
    when a trace function raises, though, so a debugger tracing the job loses it.
    """
    if trace is None:
        trace = sys.gettrace()
        if not getattr(trace, "_pc_kill_trace", False):
            return
    sys.settrace(trace._pc_previous)
    for frame in trace._pc_frames:
        if frame.f_trace is trace:
            frame.f_trace = None
    trace._pc_frames.clear()


def caught_kills(job):
    """How often the job's own code took the kill, when it ran to its end anyway."""
    return _landed(job) if job.cancel.is_set() else 0


def caught_note(times):
    return (
        f"[parallel-cell: the job's code caught the kill {times} time(s) and ran on to its "
        "end, so its results may be partial]\n"
    )
