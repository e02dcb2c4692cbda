"""A thread job's own thread: its cell (or callable) run, and its outcome taken.

The cell runs with IPython semantics through the executor, never ``run_cell``; the
outcome is ``done``, ``error`` (with the traceback) or ``killed``, with the names it
bound, and ends the job through the runtime.
"""

import threading

from . import figures, pool
from . import kill as _kill
from .config import log
from .executor import (
    NO_RESULT,
    figure_numbers,
    format_error,
    format_result,
    run_compiled,
    show_new_figures,
)
from .threads import JobKilled, checkpoint


def run_cell(shell, job, cell):
    """A compiled cell, with IPython semantics, in the user's namespace."""
    glob = shell.user_global_ns if shell is not None else {}
    loc = shell.user_ns if shell is not None else glob
    figures = figure_numbers()
    try:
        try:
            value = run_compiled(cell, glob, loc, lambda loop: setattr(job, "loop", loop))
        finally:
            _kill.disarm()  # the cell's code has ended; the formatters are not its code
        out = format_result(shell, value) if shell is not None else None
        if out is not None:
            job.emit(out)
    finally:
        show_new_figures(figures)
    return value


def run_job(runtime, job, body):
    """The body of a job's thread: run it, then end the job with its outcome. True when
    the thread may run another job (its job was never killed: see ``pool.py``)."""
    shell = runtime.shell
    job.ident = threading.get_ident()
    token = job.enter_thread()
    outcome = None  # (state, error, result)
    fn, arg = body
    before = {}
    if arg is not None and shell is not None:
        ns = shell.user_ns
        before = {n: id(ns[n]) for n in arg.names if n in ns}
    while True:
        try:
            if outcome is None:
                with job.lock:
                    job.in_user_code = True
                outcome = _execute(shell, job, fn, arg)
            with job.lock:  # the reaper raises only while in_user_code holds
                job.in_user_code = False
                killed = job.cancel.is_set()
            if killed:
                _kill.deliver_pending_kill()
            break
        except JobKilled:
            if outcome is None:
                outcome = ("killed", None, NO_RESULT)
    _kill.disarm()  # a kill raised again in the finally of _execute never got to it
    try:
        # After run_cell showed and closed its new figures (inline backend), whatever
        # way it ended; a callable's job too (no run_cell).
        figures.job_ended(job)
    except Exception:
        log.exception("parallel-cell: the figures of job %s", job.job_id)
    job.leave_thread(token)
    state, error, result = outcome
    names = []
    if arg is not None:
        ns = shell.user_ns if shell is not None else {}
        # A cell that did not finish may not have reached its assignments.
        names = [
            n for n in arg.names if n in ns and (state == "done" or id(ns[n]) != before.get(n))
        ]
    pool.JOBS.code_ended()
    runtime.finish_job(job, state, error, result, names)
    # No raise comes after in_user_code went False: a kill before it may still be pending.
    return not job.cancel.is_set()


def _execute(shell, job, fn, arg):
    try:
        checkpoint()  # killed before it began
        try:
            result = fn(shell, job, arg) if arg is not None else fn()
        finally:
            # A kill caught in the job's last lines is raised again at the next line
            # of its code, none of the runtime's.
            _kill.disarm()
        caught = _kill.caught_kills(job)
        if caught:
            # Its code caught the kill and still ran to its end: not a plain "done".
            job.emit_stream("stderr", _kill.caught_note(caught), block=False)
            return ("killed", None, NO_RESULT)
        return ("done", None, result)
    except JobKilled:
        return ("killed", None, NO_RESULT)
    except BaseException as err:
        if job.cancel.is_set():  # e.g. the CancelledError of a killed event loop
            return ("killed", None, NO_RESULT)
        error = format_error(shell, type(err), err, err.__traceback__)
        return ("error", error, NO_RESULT)
