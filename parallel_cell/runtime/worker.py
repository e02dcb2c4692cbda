"""What runs on a Dask worker for a job sent to the cluster ("Run on Cluster").

It imports nothing of the kernel's runtime package, only the standard library at the top
(Dask, cloudpickle and IPython inside functions) and the modules built before it: the
routing layer and the cell runner it shares with the kernel (``routing.py``,
``cellrun.py``) and its hooks (``worker_hooks.py``). The kernel sends the *sources* of
all four with every task (``shipping.py``) and the worker builds them once per process
as the modules ``_parallel_cell_worker_routing``, ``_parallel_cell_worker_cellrun``,
``_parallel_cell_worker_hooks`` and ``_parallel_cell_worker`` (again when the version
changes). Nothing of parallel-cell needs to be installed on the workers.

A cell is compiled here with plain ``compile`` (the kernel checked it and said whether it
has a trailing expression) and run by ``cellrun.run``, as in the kernel. A task's output
(stdout, stderr through ``routing``, ``display``) goes back to the kernel as Dask events
(``Worker.log_event`` on the job's own topic, numbered from 1), batched every 50 ms; its
kill is cooperative: a ``distributed.Event`` set by the kernel raises ``JobKilled`` at the
next ``parallel_cell.checkpoint()``, ``time.sleep``, ``print`` of the job, and cancels the
tasks of a cell with top-level ``await``.
"""

import ast
import builtins
import linecache
import sys
import threading
import time
import traceback

import _parallel_cell_worker_cellrun as cellrun
import _parallel_cell_worker_routing as routing
from _parallel_cell_worker_hooks import (
    STAND_IN,
    STAND_INS,
    TASKS,
    JobKilled,
    checkpoint,
    clear_output,
    display,
    install,
)

_OWN_FILES = "<parallel_cell.runtime/"  # this module and the ones built before it
_BATCH_SECONDS = 0.05
_BATCH_BYTES = 60 * 1024  # an event stays well under Dask's message sizes


class _Task:
    """One job's run on this worker: its output batching and its stop flag. It is the
    sink ``routing`` writes to and asks (``emit_stream``, ``closed``, ``checkpoint``,
    ``sleep``)."""

    def __init__(self, spec, worker):
        self.label = spec["label"]
        self.topic = spec["topic"]
        self.interruptible = spec.get("interruptible", True)
        self.worker = worker
        self.stop = threading.Event()
        self.kill_taken = set()  # threads that had their one JobKilled
        self.ended = threading.Event()
        self.loop = None  # the event loop of a cell with top-level await
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

    @property
    def closed(self):
        """Whether the job has ended (a redirect it left on ``sys`` is then forgotten)."""
        return self.ended.is_set()

    def checkpoint(self):
        """Raise JobKilled if the job was asked to stop: once per thread, as in the
        kernel, so that its cleanup (``finally``, ``__exit__``) runs undisturbed, its
        prints and sleeps included."""
        if not self.stop.is_set():
            return
        ident = threading.get_ident()
        if ident in self.kill_taken:
            return
        self.kill_taken.add(ident)  # one writer per ident: that thread
        raise JobKilled(f"{self.label} was killed")

    def sleep(self, secs):
        """``time.sleep`` in the job's threads: a kill ends it (once; cleanup sleeps)."""
        if not self.interruptible or threading.get_ident() in self.kill_taken:
            return routing.orig_sleep(secs)
        secs = float(secs)
        if secs < 0:
            raise ValueError("sleep length must be non-negative")
        self.checkpoint()
        self.stop.wait(min(secs, threading.TIMEOUT_MAX))
        self.checkpoint()
        return None

    def emit_stream(self, name, text):
        """A write of the job's threads to stdout/stderr: True once taken, False when
        the job has ended (the write then goes to the worker's own stream)."""
        self.checkpoint()  # a job that prints stops at its next print once killed
        if self.ended.is_set():
            return False
        with self.lock:
            routing.pend(self.pending, name, text)
            self.pending_bytes += len(text)
            full = self.pending_bytes >= _BATCH_BYTES
        if full:
            self.flush()
        return True

    def emit(self, output):
        with self.lock:
            routing.pend(self.pending, None, output)
            self.pending_bytes += 1024
        self.flush()

    def flush(self):
        with self.lock:
            outputs = routing.as_outputs(self.pending, _BATCH_BYTES)
            self.pending, self.pending_bytes = [], 0
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
                    self.cancel_loop()
                    return
        except Exception:  # the worker is closing, or the scheduler went away
            return

    def on_loop(self, loop):
        """``cellrun``'s callback: the cell's own event loop, for a kill to cancel."""
        self.loop = loop
        if self.stop.is_set():
            self.cancel_loop()

    def cancel_loop(self):
        """Cancel the tasks of the cell's event loop (a kill ends its awaits)."""
        loop = self.loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(_cancel_tasks, loop)
            except RuntimeError:  # the loop was closed meanwhile
                pass


def _cancel_tasks(loop):
    import asyncio

    for task in asyncio.all_tasks(loop):
        task.cancel()


def _clean_tb(tb):
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_OWN_FILES):
        tb = tb.tb_next
    return tb


def _error(err):
    tb = _clean_tb(err.__traceback__)
    lines = traceback.format_exception(type(err), err, tb)
    return {"ename": type(err).__name__, "evalue": str(err), "traceback": lines}


def _run_cell(spec, ns, task):
    """The cell, compiled as the kernel would split it, run as the kernel runs one."""
    filename = spec["label"]
    source = spec["code"]
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    flags = getattr(ast, "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0)
    tree = ast.parse(source, filename=filename)
    body, expr = list(tree.body), None
    if spec.get("has_result") and body and isinstance(body[-1], ast.Expr):
        expr = ast.Expression(body.pop().value)
    body_code = compile(ast.Module(body, []), filename, "exec", flags=flags, dont_inherit=True)
    expr_code = None
    if expr is not None:
        expr_code = compile(expr, filename, "eval", flags=flags, dont_inherit=True)
    value = cellrun.run(body_code, expr_code, ns, on_loop=task.on_loop)
    return None if value is cellrun.NO_RESULT else (value,)


def _run_call(spec, ns, task):
    fn, items = ns["fn"], ns["items"]
    out = []
    for item in items:
        checkpoint()
        out.append(fn(item))
    return (out,)


def _pickle_back(value):
    """``value`` pickled for the kernel. This module's own objects (the patched
    ``display``, ``checkpoint``, ...) cannot be unpickled there: they go back as markers
    the kernel resolves to its own (IPython's ``display``, parallel-cell's names)."""
    import cloudpickle

    for key, ours in (("display", display), ("clear_output", clear_output)):
        if value is ours:
            return cloudpickle.dumps((STAND_IN, key))
    if value is sys.modules.get("parallel_cell"):
        value = STAND_INS["module"]
    for key, ours in STAND_INS.items():
        if value is ours:
            value = (STAND_IN, key)
    return cloudpickle.dumps(value)


def run(spec):
    """Run one job (a cell, or a ``map`` chunk) on this worker; a dict for the kernel."""
    import cloudpickle
    from distributed import get_client, get_worker

    install()
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
    TASKS[ident] = task
    try:
        shipped = cloudpickle.loads(spec["namespace"])
        for name, value in shipped.items():
            ns[name] = (
                STAND_INS[value[1]]
                if isinstance(value, tuple) and value[:1] == (STAND_IN,)
                else value
            )
        ns.setdefault("display", display)  # a builtin in IPython kernels
        run_body = _run_cell if spec["kind"] == "cell" else _run_call
        value = run_body(spec, ns, task)
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
        del TASKS[ident]
    if result["state"] == "done" and task.kill_taken:
        # Its code caught the kill and ran on to its end: never a plain "done".
        result["state"] = "killed"
        task.emit_stream(
            "stderr",
            "[parallel-cell: the job's code caught the kill and ran on to its end, "
            "so its results may be partial]\n",
        )
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
