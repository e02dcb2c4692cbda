"""The hooks a Dask worker process gets for parallel-cell jobs (see ``worker.py``).

Which thread works for which job (``TASKS``, ``current_task``), and the patches that
route a job thread's output, ``time.sleep``, IPython ``display``/``clear_output`` and the
threads it starts to its job; other threads are left as they were. stdout/stderr,
``JobKilled``, ``checkpoint()`` and ``time.sleep`` are the kernel's own routing layer
(``routing.py``, built on the worker as ``_parallel_cell_worker_routing``), with
``current_task`` as its lookup: a task's writes reach its job whatever is ``sys.stdout``
meanwhile, a task's own ``redirect_stdout`` takes only its own writes, and its sleeps
and checkpoints ask the task (``_Task.sleep``/``checkpoint``). Like ``worker.py``, this
travels to the workers as source and is built there as the module
``_parallel_cell_worker_hooks``; it uses only the standard library (IPython if the
worker has it).
"""

import sys
import threading
import time
import types
import uuid

import _parallel_cell_worker_routing as routing

TASKS = {}  # thread ident -> the job (worker.py's _Task) whose code the thread runs
_ORIGINALS = {}  # what the worker had before install: display, clear_output, start
_INSTALL_LOCK = threading.Lock()
STAND_IN = "__parallel_cell_stand_in__"


JobKilled = routing.JobKilled  # the kernel's class, from the same source
checkpoint = routing.checkpoint  # asks the thread's task (``_Task.checkpoint``)


def current_task():
    """The job this thread works for, while it runs (a thread it started may outlive it:
    its output then goes to the worker's log); ``routing``'s lookup."""
    task = TASKS.get(threading.get_ident())
    return None if task is None or task.ended.is_set() else task


def display(*objs, **kwargs):
    """IPython's ``display`` in a job's threads on a worker: the job's display outputs
    (``display_id``, ``update`` and ``clear`` as in a kernel); elsewhere the original."""
    task = current_task()
    if task is None:
        return _ORIGINALS["display"](*objs, **kwargs)
    if kwargs.get("clear"):
        clear_output(wait=True)
    display_id = kwargs.get("display_id")
    if display_id is True:
        display_id = uuid.uuid4().hex
    kind = "update_display_data" if kwargs.get("update") else "display_data"
    for obj in objs:
        if kwargs.get("raw"):
            data, metadata = dict(obj), {}
        else:
            data, metadata = _format(obj)
        metadata.update(kwargs.get("metadata") or {})
        out = {"output_type": kind, "data": data, "metadata": metadata}
        if display_id is not None:
            out["transient"] = {"display_id": str(display_id)}
        task.emit(out)
    if display_id is not None and not kwargs.get("update"):
        from IPython.display import DisplayHandle

        return DisplayHandle(display_id)
    return None


def clear_output(wait=False):
    """IPython's ``clear_output`` in a job's threads on a worker."""
    task = current_task()
    if task is None:
        return _ORIGINALS["clear_output"](wait=wait)
    task.emit({"output_type": "clear_output", "wait": bool(wait)})
    return None


def _thread_start(self):
    """``Thread.start``: a thread a job starts works for the job too (its output)."""
    task = current_task()
    if task is not None:
        run = self.run

        def run_for_task():
            ident = threading.get_ident()
            TASKS[ident] = task
            try:
                run()
            finally:
                TASKS.pop(ident, None)

        self.run = run_for_task
    return _ORIGINALS["start"](self)


def _patch(owner, name, key, replacement):
    """Put ``replacement`` in place of ``owner.name``, keeping the first original."""
    current = getattr(owner, name)
    _ORIGINALS[key] = getattr(current, "_parallel_cell_original", current)
    replacement._parallel_cell_original = _ORIGINALS[key]
    setattr(owner, name, replacement)


def _format(obj):
    """A MIME bundle for ``obj``: IPython's formatters when the worker has IPython."""
    try:
        from IPython.core.formatters import DisplayFormatter

        data, metadata = DisplayFormatter().format(obj)
        from ipykernel.jsonutil import encode_images, json_clean

        return json_clean(encode_images(data)), json_clean(metadata)
    except Exception:
        return {"text/plain": repr(obj)}, {}


def install():
    """Once per worker process: route job threads' output, sleeps and displays."""
    with _INSTALL_LOCK:
        # Installed by this very module (a newer source replaces an older one's hooks).
        if getattr(sys, "_parallel_cell_worker_installed", None) is TASKS:
            return
        for name in ("stdout", "stderr"):
            current = sys.__dict__.get(name)
            if _is_old_stream(current):  # the stand-in of a version before routing.py
                sys.__dict__[name] = current.__dict__["_target"]
        routing.install(current_task)
        time.sleep = routing.sleep  # the thread's task's sleep (``_Task.sleep``)
        _patch(threading.Thread, "start", "start", _thread_start)
        try:
            import IPython.display
            from IPython.core import display_functions

            for module in (display_functions, IPython.display):
                _patch(module, "display", "display", display)
                _patch(module, "clear_output", "clear_output", clear_output)
        except ImportError:
            pass
        try:  # ``import parallel_cell`` in a job: the real package, with our checkpoint
            import parallel_cell

            parallel_cell.checkpoint, parallel_cell.JobKilled = checkpoint, JobKilled
        except ImportError:
            sys.modules["parallel_cell"] = STAND_INS["module"]
        sys._parallel_cell_worker_installed = TASKS


def _is_old_stream(stream):
    return type(stream).__name__ == "_Stream" and "_target" in getattr(stream, "__dict__", {})


def _stand_in():
    """What ``parallel_cell`` is on a worker: its checkpoint, JobKilled and sleep."""
    module = types.ModuleType("parallel_cell", "parallel-cell, as seen by a Dask task")
    module.checkpoint = checkpoint
    module.JobKilled = JobKilled
    return module


STAND_INS = {"checkpoint": checkpoint, "JobKilled": JobKilled, "module": _stand_in()}
