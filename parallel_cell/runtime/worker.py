"""What runs on a Dask worker for a job sent to the cluster ("Run on Cluster").

Self-contained: it imports nothing of the runtime and only the standard library at the
top (Dask, cloudpickle and IPython inside functions), because the kernel sends this
module's *source* with every task (``cluster.py``) and the worker builds it once per
process as the module ``_parallel_cell_worker`` (rebuilt when the version changes).
Nothing of parallel-cell needs to be installed on the workers.

A task's output (stdout, stderr, ``display``) goes back to the kernel as Dask events
(``Worker.log_event`` on the job's own topic, numbered from 1), batched every 50 ms; its
kill is cooperative: a ``distributed.Event`` set by the kernel raises ``JobKilled`` at the
next ``parallel_cell.checkpoint()``, ``time.sleep``, ``print`` of the job.
"""

import ast
import builtins
import linecache
import sys
import threading
import time
import traceback
import types
import uuid

_OWN_FILE = "<parallel_cell.runtime/worker.py>"
_BATCH_SECONDS = 0.05
_BATCH_BYTES = 60 * 1024  # an event stays well under Dask's message sizes
_COROUTINE = 0x80  # inspect.CO_COROUTINE: the code has top-level await

_TASKS = {}  # thread ident -> _Task, for threads running a job's code
_ORIGINALS = {}  # what the worker had before _install: display, clear_output, start
_INSTALL_LOCK = threading.Lock()
_orig_sleep = getattr(time.sleep, "_parallel_cell_original", time.sleep)


class JobKilled(BaseException):
    """Raised in a job's code on the worker when the job is killed."""


def _task():
    """The job this thread works for, while it runs (a thread it started may outlive it:
    its output then goes to the worker's log)."""
    task = _TASKS.get(threading.get_ident())
    return None if task is None or task.ended.is_set() else task


def checkpoint():
    """Raise JobKilled if the job running on this thread has been asked to stop."""
    task = _task()
    if task is not None and task.stop.is_set():
        raise JobKilled(f"{task.label} was killed")


def _sleep(secs):
    task = _task()
    if task is None or not task.interruptible:
        return _orig_sleep(secs)
    secs = float(secs)
    if secs < 0:
        raise ValueError("sleep length must be non-negative")
    checkpoint()
    task.stop.wait(min(secs, threading.TIMEOUT_MAX))
    checkpoint()
    return None


_sleep._parallel_cell_original = _orig_sleep


class _Stream:
    """Stands in for sys.stdout/sys.stderr: job threads' writes become job output."""

    def __init__(self, name, target):
        self.__dict__["_name"] = name
        self.__dict__["_target"] = target

    def write(self, text):
        task = _task()
        if task is None:
            return self._target.write(text)
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        checkpoint()  # a job that prints stops at its next print once killed
        task.emit_stream(self._name, text)
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        if _task() is None:
            self._target.flush()

    def __getattr__(self, name):
        return getattr(self._target, name)


def _display(*objs, **kwargs):
    """IPython's ``display`` in a job's threads on a worker: the job's display outputs
    (``display_id``, ``update`` and ``clear`` as in a kernel); elsewhere the original."""
    task = _task()
    if task is None:
        return _ORIGINALS["display"](*objs, **kwargs)
    if kwargs.get("clear"):
        _clear_output(wait=True)
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


def _clear_output(wait=False):
    """IPython's ``clear_output`` in a job's threads on a worker."""
    task = _task()
    if task is None:
        return _ORIGINALS["clear_output"](wait=wait)
    task.emit({"output_type": "clear_output", "wait": bool(wait)})
    return None


def _thread_start(self):
    """``Thread.start``: a thread a job starts works for the job too (its output)."""
    task = _task()
    if task is not None:
        run = self.run

        def run_for_task():
            ident = threading.get_ident()
            _TASKS[ident] = task
            try:
                run()
            finally:
                _TASKS.pop(ident, None)

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


def _install():
    """Once per worker process: route job threads' output, sleeps and displays."""
    with _INSTALL_LOCK:
        # Installed by this very module (a newer source replaces an older one's hooks).
        if getattr(sys, "_parallel_cell_worker_installed", None) is _TASKS:
            return
        for name in ("stdout", "stderr"):
            current = getattr(sys, name)
            target = current.__dict__.get("_target", current) if _is_ours(current) else current
            setattr(sys, name, _Stream(name, target))
        time.sleep = _sleep
        _patch(threading.Thread, "start", "start", _thread_start)
        try:
            import IPython.display
            from IPython.core import display_functions

            for module in (display_functions, IPython.display):
                _patch(module, "display", "display", _display)
                _patch(module, "clear_output", "clear_output", _clear_output)
        except ImportError:
            pass
        try:  # ``import parallel_cell`` in a job: the real package, with our checkpoint
            import parallel_cell

            parallel_cell.checkpoint, parallel_cell.JobKilled = checkpoint, JobKilled
        except ImportError:
            sys.modules["parallel_cell"] = _STAND_INS["module"]
        sys._parallel_cell_worker_installed = _TASKS


def _is_ours(stream):
    return type(stream).__name__ == "_Stream" and "_target" in stream.__dict__


class _Task:
    """One job's run on this worker: its output batching and its stop flag."""

    def __init__(self, spec, worker):
        self.label = spec["label"]
        self.topic = spec["topic"]
        self.interruptible = spec.get("interruptible", True)
        self.worker = worker
        self.stop = threading.Event()
        self.ended = threading.Event()
        self.lock = threading.Lock()
        self.pending = []  # [name or None, text parts or an output]
        self.pending_bytes = 0
        self.sent = 0  # events sent; the result says how many the kernel must await
        # Dask runs a task again when its worker dies; the kernel tells runs apart by this.
        self.attempt = f"{id(self):x}-{time.time_ns():x}"

    def send(self, body):
        self.sent += 1
        body["n"], body["a"] = self.sent, self.attempt
        self.worker.log_event(self.topic, body)

    def emit_stream(self, name, text):
        with self.lock:
            if self.pending and self.pending[-1][0] == name:
                self.pending[-1][1].append(text)
            else:
                self.pending.append([name, [text]])
            self.pending_bytes += len(text)
            full = self.pending_bytes >= _BATCH_BYTES
        if full:
            self.flush()

    def emit(self, output):
        with self.lock:
            self.pending.append([None, output])
            self.pending_bytes += 1024
        self.flush()

    def flush(self):
        with self.lock:
            items, self.pending, self.pending_bytes = self.pending, [], 0
            outputs = []
            for name, item in items:
                if name is None:
                    outputs.append(item)
                    continue
                text = "".join(item)
                for start in range(0, len(text), _BATCH_BYTES):
                    piece = text[start : start + _BATCH_BYTES]
                    outputs.append({"output_type": "stream", "name": name, "text": piece})
            # One event per batch, cut where it grows big; sent under the lock so
            # that events keep their order.
            batch, size = [], 0
            for out in outputs:
                batch.append(out)
                size += len(out.get("text", "")) or 1024
                if size >= _BATCH_BYTES:
                    self.send({"outputs": batch})
                    batch, size = [], 0
            if batch:
                self.send({"outputs": batch})

    def pump(self):
        """Send pending output every 50 ms until the job ends."""
        while not self.ended.wait(_BATCH_SECONDS):
            try:
                self.flush()
            except Exception:
                return

    def watch(self, event_name, client):
        """Wait for the kernel's stop event (a ``distributed.Event``)."""
        from distributed import Event

        try:
            event = Event(event_name, client=client)
            while not self.ended.is_set():
                if event.wait(0.5):
                    self.stop.set()
                    return
        except Exception:  # the worker is closing, or the scheduler went away
            return


def _clean_tb(tb):
    while tb is not None and tb.tb_frame.f_code.co_filename == _OWN_FILE:
        tb = tb.tb_next
    return tb


def _error(err):
    tb = _clean_tb(err.__traceback__)
    lines = traceback.format_exception(type(err), err, tb)
    return {"ename": type(err).__name__, "evalue": str(err), "traceback": lines}


def _run_cell(spec, ns):
    filename = spec["label"]
    source = spec["code"]
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    flags = getattr(ast, "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0)
    tree = ast.parse(source, filename=filename)
    body, expr = list(tree.body), None
    if spec.get("has_result") and body and isinstance(body[-1], ast.Expr):
        expr = ast.Expression(body.pop().value)
    body_code = compile(ast.Module(body, []), filename, "exec", flags=flags, dont_inherit=True)
    expr_code = None if expr is None else compile(expr, filename, "eval", flags=flags)
    is_async = bool(body_code.co_flags & _COROUTINE) or bool(
        expr_code is not None and expr_code.co_flags & _COROUTINE
    )
    if not is_async:
        exec(body_code, ns)
        return None if expr_code is None else (eval(expr_code, ns),)
    import asyncio

    async def main():
        coro = eval(body_code, ns)
        if coro is not None:
            await coro
        if expr_code is None:
            return None
        value = eval(expr_code, ns)
        if expr_code.co_flags & _COROUTINE:
            value = await value
        return (value,)

    return asyncio.run(main())


def _run_call(spec, ns):
    fn, items = ns["fn"], ns["items"]
    out = []
    for item in items:
        checkpoint()
        out.append(fn(item))
    return (out,)


def _stand_in():
    """What ``parallel_cell`` is on a worker: its checkpoint, JobKilled and sleep."""
    module = types.ModuleType("parallel_cell", "parallel-cell, as seen by a Dask task")
    module.checkpoint = checkpoint
    module.JobKilled = JobKilled
    return module


_STAND_IN = "__parallel_cell_stand_in__"
_STAND_INS = {"checkpoint": checkpoint, "JobKilled": JobKilled, "module": _stand_in()}


def _pickle_back(value):
    """``value`` pickled for the kernel. This module's own objects (the patched
    ``display``, ``checkpoint``, ...) cannot be unpickled there: they go back as markers
    the kernel resolves to its own (IPython's ``display``, parallel-cell's names)."""
    import cloudpickle

    for key, ours in (("display", _display), ("clear_output", _clear_output)):
        if value is ours:
            return cloudpickle.dumps((_STAND_IN, key))
    if value is sys.modules.get("parallel_cell"):
        value = _STAND_INS["module"]
    for key, ours in _STAND_INS.items():
        if value is ours:
            value = (_STAND_IN, key)
    return cloudpickle.dumps(value)


def run(spec):
    """Run one job (a cell, or a ``map`` chunk) on this worker; a dict for the kernel."""
    import cloudpickle
    from distributed import get_client, get_worker

    _install()
    worker = get_worker()
    task = _Task(spec, worker)
    task.send({"placed": worker.address, "at": time.time() * 1000.0})
    watcher = threading.Thread(
        target=task.watch, args=(spec["event"], get_client()), daemon=True, name="pc-watch"
    )
    watcher.start()
    pumper = threading.Thread(target=task.pump, daemon=True, name="pc-pump")
    pumper.start()
    ns = {"__name__": "__main__", "__builtins__": builtins}
    result = {"state": "done", "error": None, "result": None, "assigned": {}, "unsent": {}}
    ident = threading.get_ident()
    _TASKS[ident] = task
    try:
        shipped = cloudpickle.loads(spec["namespace"])
        for name, value in shipped.items():
            ns[name] = (
                _STAND_INS[value[1]]
                if isinstance(value, tuple) and value[:1] == (_STAND_IN,)
                else value
            )
        ns.setdefault("display", _display)  # a builtin in IPython kernels
        run_body = _run_cell if spec["kind"] == "cell" else _run_call
        value = run_body(spec, ns)
        if value is not None:
            try:
                result["result"] = _pickle_back(value[0])
            except Exception as err:
                result["unsent"]["(result)"] = f"{type(err).__name__}: {err}"
    except JobKilled:
        result["state"] = "killed"
    except BaseException as err:  # the job's error, reported like a cell's
        if task.stop.is_set():
            result["state"] = "killed"
        else:
            result["state"] = "error"
            result["error"] = _error(err)
    finally:
        del _TASKS[ident]
    if result["state"] == "done":
        for name in spec.get("names", ()):
            if name in ns:
                try:
                    result["assigned"][name] = _pickle_back(ns[name])
                except Exception as err:
                    result["unsent"][name] = f"{type(err).__name__}: {err}"
    task.ended.set()
    task.flush()
    result["events"] = task.sent
    result["attempt"] = task.attempt
    result["worker"] = worker.address
    return result
