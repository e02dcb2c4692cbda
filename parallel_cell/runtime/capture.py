"""Output capture: job threads' stdout/stderr and displays go to their job."""

import builtins
import os
import sys
import threading

from . import figures, routing
from .threads import THREAD_JOBS, idle, install_input_guard


def _thread_job():
    return THREAD_JOBS.get(threading.get_ident())


def install_streams():
    """Job threads' stdout/stderr writes go to their job (see ``routing.py``), and so
    do their displays while the foreground captures (``%%capture``)."""
    routing.install(_thread_job)
    if not _installed:  # every job start comes here: the rest is done once per runtime
        _route_captured_displays()
        _watch_cells()
        _installed.append(True)


_installed = []


class JobSetup:
    """What a thread job needs before it runs: stream routing, the input guard, pyplot's
    figures per job and the runtime's sending threads (``start_threads``).

    Measured (P2): checking all of it was ~15 µs of a trivial job. It is done again only
    when something it installs may have been replaced since: a stream, ``input`` (ipykernel
    swaps it around every execute), the first import hook, or after a fork."""

    def __init__(self, shell, start_threads):
        self._shell = shell
        self._start_threads = start_threads
        self._done_for = None

    def _marks(self):
        kernel = getattr(getattr(self._shell, "kernel", None), "__dict__", {})
        own = sys.__dict__
        return (
            type(sys),
            own.get("stdout"),
            own.get("stderr"),
            builtins.input,
            kernel.get("raw_input"),
            kernel.get("getpass"),
            kernel.get("_sys_raw_input"),
            sys.meta_path[:1],
            _forks[0],
        )

    def ensure(self):
        if self._marks() == self._done_for:
            return
        install_streams()
        install_input_guard(self._shell)
        figures.install()
        self._start_threads()
        self._done_for = self._marks()


_forks = [0]  # a forked child has none of the parent's threads: set up again there
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _forks.__setitem__(0, _forks[0] + 1))


def _watch_cells():
    """Each foreground cell starts past the runtime when no thread works for a job
    (``threads.idle``): IPython's ``pre_execute``, once per runtime (an older one's
    callback goes)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    events = getattr(get_ipython(), "events", None)
    callbacks = getattr(events, "callbacks", {}).get("pre_execute")
    if callbacks is None or idle in callbacks:
        return
    for old in [c for c in callbacks if getattr(c, "_parallel_cell_idle", False)]:
        events.unregister("pre_execute", old)
    events.register("pre_execute", idle)
    idle()  # the cell that loads the runtime


def _route_captured_displays():
    """``%%capture`` swaps the shell's display publisher for one that keeps what it is
    given; the job threads' display hooks are on the kernel's own publisher, so a job's
    ``display()`` would land in the foreground's capture. Its methods are made to send a
    job thread's displays to the job instead (once per process)."""
    try:
        from IPython.core.displaypub import CapturingDisplayPublisher as cls
    except ImportError:
        return
    routes = (
        ("__init__", _remember_owner),
        ("publish", _publish_for_job),
        ("clear_output", _clear_for_job),
    )
    for name, route in routes:
        current = getattr(cls, name)  # ``__init__``: inherited
        if getattr(current, "_parallel_cell_route", None) is route:
            continue  # installed by this runtime already (this runs for every job)
        original = getattr(current, "_parallel_cell_original", current)
        routed = route(original)
        routed._parallel_cell_route = route
        setattr(cls, name, routed)


def _others_job(publisher):
    """The calling thread's job, unless that job made ``publisher`` (its own capture)."""
    job = _thread_job()
    if job is None or publisher.__dict__.get("_parallel_cell_owner") is job:
        return None
    return job


def _remember_owner(original):
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.__dict__["_parallel_cell_owner"] = _thread_job()

    __init__._parallel_cell_original = original
    return __init__


def _publish_for_job(original):
    def publish(self, data, metadata=None, source=None, *, transient=None, update=False):
        job = _others_job(self)
        if job is not None:
            out = {
                "output_type": "update_display_data" if update else "display_data",
                "data": data,
                "metadata": metadata or {},
            }
            if transient:
                out["transient"] = transient
            if job.emit(out):
                return None
        return original(self, data, metadata, source, transient=transient, update=update)

    publish._parallel_cell_original = original
    return publish


def _clear_for_job(original):
    def clear_output(self, wait=False):
        job = _others_job(self)
        if job is not None and job.emit({"output_type": "clear_output", "wait": bool(wait)}):
            return None
        return original(self, wait)

    clear_output._parallel_cell_original = original
    return clear_output


def display_hook(job):
    """A display_pub hook (thread-local in ipykernel) routing displays to ``job``."""

    def hook(msg):
        kind = msg.get("header", {}).get("msg_type")
        content = msg.get("content", {})
        if kind in ("display_data", "update_display_data"):
            out = {
                "output_type": kind,
                "data": content.get("data", {}),
                "metadata": content.get("metadata", {}),
            }
            if content.get("transient"):
                out["transient"] = content["transient"]
        elif kind == "clear_output":
            out = {"output_type": "clear_output", "wait": bool(content.get("wait"))}
        else:
            return msg
        return None if job.emit(out) else msg

    return hook
