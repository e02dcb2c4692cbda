"""Kill escalation: cancel event, woken waits, async ``JobKilled``, the truth about it.

A job is ``killed`` only once its thread has left the user's code; until then it is
``cancelling``, with a reason when the kill is not being taken (native code, or code
that keeps catching it).
"""

import asyncio
import ctypes
import linecache
import sys

from .config import Config, is_runtime_frame
from .job import TERMINAL
from .protocol import msg_cancelling
from .threads import JobKilled, internal_thread


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


def stuck_reason(frame):
    # The innermost frame of the user's code (a runtime wrapper such as ``_sleep`` may
    # be the one actually waiting) says best where the job is stuck.
    while frame.f_back is not None and is_runtime_frame(frame):
        frame = frame.f_back
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    where = line if line else f"{frame.f_code.co_name} at line {frame.f_lineno}"
    if len(where) > 80:
        where = where[:77] + "..."
    return f"the thread is inside a native call ({where}); it will stop when that call returns"


def kill(job, broadcast):
    """Start killing ``job``; False if it has already ended."""
    with job.lock:
        if job.state in TERMINAL:
            return False
        first = job.state != "cancelling"
        job.state = "cancelling"
    job.request_cancel()
    with job.lock:  # raise before ending its children, whose end lets the job go on
        if job.in_user_code and job.ident is not None:
            async_raise(job.ident)
    job.terminate_children(hard=not first)  # a second kill does not ask twice
    job.shut_sockets()
    loop = job.loop
    if loop is not None and not loop.is_closed():
        try:  # wakes a loop blocked in its selector (await asyncio.sleep(...))
            loop.call_soon_threadsafe(_cancel_tasks, loop)
        except RuntimeError:
            pass
    if first:
        broadcast(msg_cancelling(job.job_id, None))
        internal_thread(_reap, f"parallel-cell kill {job.num}", job, broadcast).start()
    return True


def _reap(job, broadcast):
    """Raise JobKilled into the job's thread until it leaves the user's code."""
    interval, waited, reported = 0.02, 0.0, False
    undelivered, delivered = 0.0, job.kills_delivered
    while True:
        with job.lock:
            if not job.in_user_code or job.ident is None:
                break
            async_raise(job.ident)
        job.done_event.wait(interval)
        if job.done_event.is_set():
            return
        waited += interval
        interval = min(interval * 2, 0.1)
        job.terminate_children(hard=waited > 2.0)
        if job.kills_delivered == delivered:
            undelivered += interval
        delivered = job.kills_delivered
        if reported:
            continue
        reason = None
        if undelivered >= Config.kill_grace_seconds:
            frame = sys._current_frames().get(job.ident)
            if frame is not None:
                reason = stuck_reason(frame)
            del frame
        elif delivered >= 3 and waited >= Config.kill_grace_seconds:
            reason = (
                "the job's code keeps catching the kill (a bare except: or "
                "except BaseException:?); still trying"
            )
        if reason is not None:
            reported = True
            broadcast(msg_cancelling(job.job_id, reason))
