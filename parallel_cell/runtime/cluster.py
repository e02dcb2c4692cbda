"""Jobs on a Dask cluster ("Run on Cluster"): the kernel's side.

A cell sent to the cluster runs on a Dask worker with a namespace built from the globals
it reads (shipped with cloudpickle; a value that cannot be pickled is named in the
error); the names it assigns come back into the kernel's namespace when it finishes and
its last expression is its result. The worker runs ``worker.py`` (sent as source with
each task). Outputs come back as Dask events on the job's own topic and go to the cell
through the same buffer, log and flusher as a thread job's. Kill: a queued task is
cancelled; a running one is asked to stop (a ``distributed.Event``), reported
``cancelling`` until it does; restarting its worker is the last resort, on request.

Dask is imported only when a job is sent to the cluster: the runtime itself needs only
what every IPython kernel has.
"""

import ast
import itertools
import logging
import os
import re
import sys
import threading
import uuid

from .config import Config, log, now_ms
from .executor import NO_RESULT, compile_cell, format_error, format_result
from .protocol import msg_cancelling, msg_placed, msg_started
from .threads import JobKilled, checkpoint, internal_thread

# How long the kernel waits, after a task's result, for outputs still on their way.
_EVENT_WAIT_SECONDS = 10.0
# IPython's own names in the user namespace: never shipped to a worker.
_IPYTHON_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "_", "__", "___"}
_IPYTHON_NAME_RE = re.compile(r"_i{1,3}\d*\Z|_\d+\Z|_[iod]h\Z|_sh\Z")
_STAND_IN = "__parallel_cell_stand_in__"
_MAGIC_CALLS = {
    "run_line_magic": "%{}",
    "run_cell_magic": "%%{}",
    "system": "!{}",
    "getoutput": "!!{}",
}


class ClusterError(Exception):
    """A job cannot be sent to the cluster (no Dask, unreachable scheduler, ...)."""


def refused_magic(tree):
    """The first magic (or ``get_ipython()`` use) in a transformed cell, or None."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "get_ipython":
                return "get_ipython()"
            continue
        owner = node.func.value
        if isinstance(owner, ast.Call) and getattr(owner.func, "id", None) == "get_ipython":
            form = _MAGIC_CALLS.get(node.func.attr)
            first = node.args[0] if node.args else None
            name = first.value if isinstance(first, ast.Constant) else ""
            if form is None or not isinstance(name, str):
                return "get_ipython()"
            return form.format(name if form[0] == "%" else "cmd")
    return None


def read_names(tree):
    """Global names a cell may read (loads anywhere, and augmented assignments)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _shipped_name(name):
    return not (name in _IPYTHON_NAMES or name.startswith("__") or _IPYTHON_NAME_RE.match(name))


def _stand_ins():
    """The runtime's own objects a cell may use, by identity: they travel as markers
    and become the worker's ``parallel_cell`` stand-ins there."""
    found = {}
    for name in ("parallel_cell", "_parallel_cell_runtime"):
        module = sys.modules.get(name)
        if module is not None:
            found[id(module)] = "module"
    found[id(checkpoint)] = "checkpoint"
    found[id(JobKilled)] = "JobKilled"
    return found


def pickle_namespace(values, rebound=()):
    """``values`` (a {name: object} dict) as cloudpickle bytes, runtime objects replaced.

    Raises ClusterError naming the first value that cannot be pickled. A name the cell
    binds itself (``rebound``) is left out instead: the cell makes its own.
    """
    import cloudpickle

    marks = _stand_ins()
    shipped = {
        name: (_STAND_IN, marks[id(value)]) if id(value) in marks else value
        for name, value in values.items()
    }
    try:
        return cloudpickle.dumps(shipped)
    except Exception:
        pass
    for name in sorted(shipped):
        try:
            cloudpickle.dumps(shipped[name])
        except Exception as err:
            if name in rebound:
                del shipped[name]
                continue
            kind = type(values[name]).__name__
            raise ClusterError(
                f"cannot send {name!r} (a {kind}) to the cluster: {type(err).__name__}: "
                f"{err}. Create it inside the cell, or run the cell in the background "
                "(a thread of this kernel) instead."
            ) from None
    return cloudpickle.dumps(shipped)


def _by_value(source, name):
    """Function ``name`` defined by ``source`` in a module nobody can import, so that
    cloudpickle sends it by value to workers and the scheduler (where nothing of
    parallel-cell is installed); it may use nothing but builtins and imports."""
    namespace = {"__name__": "_parallel_cell_entry"}
    exec(source, namespace)
    return namespace[name]


def _worker_entry():
    """The task function: builds the worker module from its source once per worker
    process (per version), then runs the job."""
    return _by_value(
        "def entry(source, version, spec):\n"
        "    import sys, types\n"
        "    name = '_parallel_cell_worker'\n"
        "    module = sys.modules.get(name)\n"
        "    if getattr(module, 'SOURCE_VERSION', None) != version:\n"
        "        module = types.ModuleType(name)\n"
        "        module.__file__ = '<parallel_cell.runtime/worker.py>'\n"
        "        exec(compile(source, module.__file__, 'exec'), module.__dict__)\n"
        "        module.SOURCE_VERSION = version\n"
        "        sys.modules[name] = module\n"
        "    return module.run(spec)\n",
        "entry",
    )


_ENTRY = _worker_entry()


# The scheduler keeps the last 1,000 events of every topic for good (up to ~60 MB for a
# job that printed a lot); a job's topic is emptied when it ends. Dask has no public
# call for it: best effort, through the scheduler's event broker.
_FORGET_EVENTS = _by_value(
    "def forget(topic, dask_scheduler=None):\n    dask_scheduler._broker.truncate(topic)\n",
    "forget",
)


def _worker_source():
    package = sys.modules[__name__.rpartition(".")[0]]
    source = getattr(package, "WORKER_SOURCE", None)
    if source is None:  # loaded from files (tests), not through the bootstrap
        with open(os.path.join(os.path.dirname(__file__), "worker.py"), encoding="utf-8") as f:
            source = f.read()
    return source


class ClusterLink:
    """The kernel's Dask client: an embedded LocalCluster, or ``Config.cluster_address``."""

    def __init__(self):
        self.lock = threading.Lock()
        self.client = None
        self.address = None
        self.local = None  # the embedded LocalCluster, started on first use

    def get_client(self):
        """The client for the configured address (blocking: starts a cluster, connects)."""
        with self.lock:
            want = Config.cluster_address or ""
            client = self.client
            if client is not None and self.address == want and client.status == "running":
                return client
            try:
                from distributed import Client, LocalCluster
            except ImportError:
                raise ClusterError(
                    "Run on Cluster needs Dask in the kernel's environment: "
                    'pip install "dask[distributed]" (or choose the thread target)'
                ) from None
            try:
                if want:
                    client = Client(want, timeout=5, set_as_default=False)
                else:
                    if self.local is None or self.local.status.name != "running":
                        self.local = LocalCluster(
                            n_workers=max(1, min(4, os.cpu_count() or 1)),
                            threads_per_worker=1,
                            processes=True,
                            dashboard_address="127.0.0.1:0",
                            host="127.0.0.1",
                            silence_logs=logging.ERROR,
                        )
                    client = Client(self.local, set_as_default=False)
            except Exception as err:
                where = want or "a local cluster"
                raise ClusterError(
                    f"could not reach the Dask cluster ({where}): {type(err).__name__}: {err}"
                ) from None
            self.client, self.address = client, want
            return client

    def dashboard(self, client):
        """The cluster's dashboard URL, or None when it serves none (no bokeh)."""
        try:
            services = client.scheduler_info().get("services", {})
            return client.dashboard_link if "dashboard" in services else None
        except Exception:
            return None

    def close(self):
        with self.lock:
            for thing in (self.client, self.local):
                if thing is not None:
                    try:
                        thing.close()
                    except Exception:
                        log.debug("parallel-cell: closing the cluster failed", exc_info=True)
            self.client = self.local = None


class ClusterJobs:
    """Sending jobs to the cluster, receiving their events, killing them."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.link = ClusterLink()
        self._tokens = itertools.count(1)

    # -- starting ------------------------------------------------------------------
    def prepare_cell(self, job, code):
        """Check a cell on the comm handler's thread; the spec for the worker.

        Raises SyntaxError, or ClusterError for a magic that needs the kernel.
        """
        shell = self.runtime.shell
        source = shell.transform_cell(code) if shell is not None else code
        cell = compile_cell(None, source, job.label)
        tree = ast.parse(source)
        magic = refused_magic(tree)
        if magic is not None:
            raise ClusterError(
                f"{magic} needs the kernel and cannot run on a Dask worker; run this "
                "cell in the background (a thread of this kernel) instead"
            )
        return {
            "kind": "cell",
            "code": source,
            "has_result": cell.expr is not None,
            "names": list(cell.names),
            "reads": read_names(tree),
        }

    def start(self, job, spec):
        """Send the job to the cluster from a thread of its own; returns at once."""
        job.spec = spec
        internal_thread(self._drive, f"parallel-cell cluster job {job.num}", job).start()

    def _drive(self, job):
        try:
            outcome = self._run(job)
        except ClusterError as err:
            outcome = ("error", plain_error("ClusterError", str(err)), NO_RESULT, [])
        except Exception as err:  # a Dask failure: the job ends with it, visibly
            log.debug("parallel-cell: cluster job failed", exc_info=True)
            tb = err.__traceback__
            outcome = ("error", format_error(None, type(err), err, tb), NO_RESULT, [])
        finally:
            topic = getattr(job, "topic", None)
            client = getattr(job, "client", None)
            if topic is not None and client is not None:
                try:
                    client.unsubscribe_topic(topic)
                    client.run_on_scheduler(_FORGET_EVENTS, topic)
                except Exception:
                    log.debug("parallel-cell: forgetting a job's events failed", exc_info=True)
        state, error, result, names = outcome
        if state == "done" and result is not NO_RESULT and self.runtime.shell is not None:
            out = format_result(self.runtime.shell, result)
            if out is not None:
                job.emit(out)
        self.runtime.finish_job(job, state, error, result, names)

    def _run(self, job):
        spec = job.spec
        client = self.link.get_client()
        job.client = client
        if job.cancel.is_set():
            return ("killed", None, NO_RESULT, [])
        job.dashboard = self.link.dashboard(client)
        shell = self.runtime.shell
        user_ns = shell.user_ns if shell is not None else {}
        if spec["kind"] == "cell":
            values = {n: user_ns[n] for n in spec.pop("reads") if n in user_ns and _shipped_name(n)}
        else:
            values = spec.pop("values")
        spec["namespace"] = pickle_namespace(values, rebound=set(spec.get("names", ())))
        token = f"{job.num}-{next(self._tokens)}-{uuid.uuid4().hex[:8]}"
        spec.update(
            label=job.label,
            topic=f"parallel-cell-{token}",
            event=f"parallel-cell-stop-{token}",
            interruptible=Config.interruptible_sleep,
        )
        job.topic, job.stop_event = spec["topic"], spec["event"]
        job.events = {}  # n -> event body, until its turn comes
        job.events_done = 0
        job.events_seen = threading.Condition()
        client.subscribe_topic(job.topic, lambda event: self._on_event(job, event))
        job.future = client.submit(
            _ENTRY, _worker_source(), _worker_version(), spec, key=f"parallel-cell-{token}"
        )
        self.runtime.broadcast(msg_started(job))
        if job.cancel.is_set():  # killed while it was being sent
            self._cancel(job)
        return self._wait(job)

    def _wait(self, job):
        from concurrent.futures import CancelledError

        try:
            answer = job.future.result()
        except CancelledError:
            restarting = getattr(job, "restart_done", None)
            if restarting is not None:  # end the job once its worker is back (or not)
                restarting.wait(120)
            return ("killed", None, NO_RESULT, [])
        except Exception as err:
            if job.cancel.is_set():
                return ("killed", None, NO_RESULT, [])
            return ("error", format_error(None, type(err), err, err.__traceback__), NO_RESULT, [])
        with job.events_seen:  # outputs may still be on their way: the answer counts them
            job.events_seen.wait_for(
                lambda: job.events_done >= answer["events"], timeout=_EVENT_WAIT_SECONDS
            )
            missing = answer["events"] - job.events_done
        if missing > 0:
            job.emit_stream(
                "stderr",
                f"[parallel-cell: {missing} output message(s) of this job did not arrive "
                "from the worker]\n",
                block=False,
            )
        return self._take_answer(job, answer)

    def _take_answer(self, job, answer):
        import cloudpickle

        unsent = dict(answer["unsent"])
        names = []
        user_ns = self.runtime.shell.user_ns if self.runtime.shell is not None else {}
        for name, blob in answer["assigned"].items():
            try:
                user_ns[name] = cloudpickle.loads(blob)
                names.append(name)
            except Exception as err:
                unsent[name] = f"{type(err).__name__}: {err}"
        result = NO_RESULT
        if answer["result"] is not None:
            try:
                result = cloudpickle.loads(answer["result"])
            except Exception as err:
                unsent["(result)"] = f"{type(err).__name__}: {err}"
        for name, why in unsent.items():
            job.emit_stream(
                "stderr", f"[parallel-cell: {name} did not come back from the worker: {why}]\n"
            )
        return (answer["state"], answer["error"], result, names)

    # -- events from the worker ------------------------------------------------------
    def _on_event(self, job, event):
        """On the Dask client's event loop: must not block."""
        body = event[1] if isinstance(event, tuple) and len(event) == 2 else event
        if not isinstance(body, dict) or not isinstance(body.get("n"), int):
            return
        with job.events_seen:
            job.events[body["n"]] = body
            while job.events_done + 1 in job.events:
                job.events_done += 1
                self._apply(job, job.events.pop(job.events_done))
            job.events_seen.notify_all()

    def _apply(self, job, body):
        placed = body.get("placed")
        if isinstance(placed, str):
            with job.lock:
                if job.state != "queued":
                    return
                job.state, job.worker = "running", placed
                job.started_at = body.get("at") or now_ms()
            self.runtime.broadcast(msg_placed(job))
            return
        for out in body.get("outputs") or ():
            if out.get("output_type") == "stream":
                job.emit_stream(out.get("name", "stdout"), out.get("text", ""), block=False)
            else:
                job.emit(out, block=False)

    # -- kill ------------------------------------------------------------------------
    def kill(self, job, restart_worker=False):
        """Kill a cluster job; False if it has already ended."""
        with job.lock:
            if job.state in ("done", "error", "killed"):
                return False
            queued = job.state == "queued"
            first = job.state != "cancelling"
            if not queued:
                job.state = "cancelling"
        job.cancel.set()
        if queued:
            internal_thread(self._cancel, f"parallel-cell cancel {job.num}", job).start()
            return True
        if restart_worker and job.worker is not None:
            job.restart_done = threading.Event()
            internal_thread(self._restart, f"parallel-cell restart {job.num}", job).start()
            return True
        if first:
            self.runtime.broadcast(msg_cancelling(job.job_id, None))
            internal_thread(self._stop, f"parallel-cell stop {job.num}", job).start()
        return True

    def _cancel(self, job):
        future = getattr(job, "future", None)
        if future is None:
            return  # not sent yet: ``_run`` sees the kill before sending
        try:
            self._set_stop_event(job)  # in case it started meanwhile
            future.cancel()
        except Exception:
            log.debug("parallel-cell: cancelling a task failed", exc_info=True)

    def _set_stop_event(self, job):
        from distributed import Event

        Event(job.stop_event, client=job.client).set()

    def _stop(self, job):
        try:
            self._set_stop_event(job)
        except Exception as err:
            reason = f"could not ask the task to stop: {type(err).__name__}: {err}"
            self.runtime.broadcast(msg_cancelling(job.job_id, reason))
            return
        if job.done_event.wait(max(Config.kill_grace_seconds, 0.5)):
            return
        reason = (
            f"the task on {job.worker} has not stopped: it stops at parallel_cell.checkpoint(),"
            " time.sleep or print; kill it again to restart that worker"
        )
        self.runtime.broadcast(msg_cancelling(job.job_id, reason))

    def _restart(self, job):
        worker = job.worker
        try:
            job.future.cancel()  # first, or the scheduler would run it again elsewhere
            job.client.restart_workers([worker])
            note = f"[parallel-cell: worker {worker} was restarted to stop this job]\n"
        except Exception as err:
            note = f"[parallel-cell: restarting worker {worker} failed: {err}]\n"
        job.emit_stream("stderr", note, block=False)
        job.restart_done.set()

    # -- map -------------------------------------------------------------------------
    def prepare_call(self, fn, items):
        return {"kind": "call", "names": [], "values": {"fn": fn, "items": list(items)}}


def _worker_version():
    import hashlib

    return hashlib.sha1(_worker_source().encode("utf-8")).hexdigest()[:12]


def plain_error(ename, evalue):
    """An error without a traceback worth showing (the message says it all)."""
    return {"ename": ename, "evalue": evalue, "traceback": [f"{ename}: {evalue}"]}
