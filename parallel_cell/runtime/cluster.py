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

import itertools
import logging
import os
import threading
import uuid

from .config import Config, log, now_ms
from .executor import NO_RESULT, format_error, format_result
from .protocol import msg_cancelling, msg_placed, msg_started
from .shipping import (
    ENTRY,
    FORGET_EVENTS,
    ClusterError,
    call_spec,
    cell_spec,
    from_worker,
    pickle_namespace,
    plain_error,
    shipped_name,
    worker_code,
)
from .threads import internal_thread

# How long the kernel waits, after a task's result, for outputs still on their way.
_EVENT_WAIT_SECONDS = 10.0


class Task:
    """A cluster job's Dask task, once sent (``job.task``): how to reach it, and the
    events its worker has sent so far."""

    def __init__(self, client, topic, stop_event):
        self.client = client
        self.topic = topic  # the worker's events (outputs, placement) come on it
        self.stop_event = stop_event  # a Dask Event the kill sets
        self.future = None
        self.events = {}  # n -> event body, until its turn comes
        self.events_done = 0
        self.attempt = None  # the run whose events count (see _on_event)
        self.worker_died = False
        self.events_seen = threading.Condition()
        self.restart_done = None  # set once its worker restarted (a confirmed kill)
        self.restart_failed = None  # why that restart failed


class ClusterLink:
    """The kernel's Dask clients: to an embedded LocalCluster (started on first use and
    reused), or to ``Config.cluster_address``. One client per address, kept: jobs still
    running on a cluster keep their client when the setting changes."""

    def __init__(self):
        self.lock = threading.Lock()
        self.clients = {}  # address ("" for the embedded cluster) -> Client
        self.client = None  # the one the latest job used
        self.local = None  # the embedded LocalCluster

    def get_client(self):
        """The client for the configured address (blocking: starts a cluster, connects)."""
        with self.lock:
            want = Config.cluster_address or ""
            client = self.clients.get(want)
            if client is None or client.status != "running":
                client = self.clients[want] = self._connect(want)
            self.client = client
            return client

    def _connect(self, address):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ClusterError(
                "Run on Cluster needs Dask in the kernel's environment: "
                'pip install "dask[distributed]" (or choose the thread target)'
            ) from None
        try:
            if address:
                return Client(address, timeout=5, set_as_default=False)
            if self.local is None or self.local.status.name != "running":
                self.local = LocalCluster(
                    n_workers=max(1, min(4, os.cpu_count() or 1)),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address="127.0.0.1:0",
                    host="127.0.0.1",
                    silence_logs=logging.ERROR,
                )
            return Client(self.local, set_as_default=False)
        except Exception as err:
            where = address or "a local cluster"
            raise ClusterError(
                f"could not reach the Dask cluster ({where}): {type(err).__name__}: {err}"
            ) from None

    def dashboard(self, client):
        """The cluster's dashboard URL, or None when it serves none (no bokeh)."""
        try:
            services = client.scheduler_info().get("services", {})
            return client.dashboard_link if "dashboard" in services else None
        except Exception:
            return None


class ClusterJobs:
    """Sending jobs to the cluster, receiving their events, killing them."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.link = ClusterLink()
        self._tokens = itertools.count(1)

    # -- starting ------------------------------------------------------------------
    def start(self, job, code, call=None):
        """Send a cell (``code``), or ``call`` = (fn, items) of ``map``, to the cluster
        from a thread of its own (checking a big cell takes a while, and starting the
        cluster seconds): returns at once."""
        name = f"parallel-cell cluster job {job.num}"
        internal_thread(self._drive, name, job, code, call).start()

    def _drive(self, job, code, call):
        try:
            shell = self.runtime.shell
            spec = cell_spec(shell, code, job.label) if call is None else call_spec(*call)
        except ClusterError as err:  # a magic that needs the kernel
            outcome = ("error", plain_error("ClusterError", str(err)), NO_RESULT, [])
        except BaseException as err:  # SyntaxError, or a failing input transformer
            error = format_error(self.runtime.shell, type(err), err, err.__traceback__)
            outcome = ("error", error, NO_RESULT, [])
        else:
            outcome = self._send(job, spec)
        state, error, result, names = outcome
        if state == "done" and result is not NO_RESULT and self.runtime.shell is not None:
            out = format_result(self.runtime.shell, result)
            if out is not None:
                job.emit(out)
        self.runtime.finish_job(job, state, error, result, names)

    def _send(self, job, spec):
        """Send the job, wait for its end: its outcome; then let Dask forget it."""
        try:
            return self._run(job, spec)
        except ClusterError as err:  # no Dask, an unreachable scheduler
            return ("error", plain_error("ClusterError", str(err)), NO_RESULT, [])
        except Exception as err:  # a Dask failure: the job ends with it, visibly
            log.debug("parallel-cell: cluster job failed", exc_info=True)
            tb = err.__traceback__
            return ("error", format_error(None, type(err), err, tb), NO_RESULT, [])
        finally:
            if job.task is not None:
                _forget(job.task, job.cancel.is_set())

    def _run(self, job, spec):
        client = self.link.get_client()
        if job.cancel.is_set():
            return ("killed", None, NO_RESULT, [])
        job.dashboard = self.link.dashboard(client)
        shell = self.runtime.shell
        user_ns = shell.user_ns if shell is not None else {}
        if spec["kind"] == "cell":
            values = {n: user_ns[n] for n in spec.pop("reads") if n in user_ns and shipped_name(n)}
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
        task = job.task = Task(client, spec["topic"], spec["event"])
        client.subscribe_topic(task.topic, lambda event: self._on_event(job, event))
        sources, version = worker_code()
        task.future = client.submit(ENTRY, sources, version, spec, key=f"parallel-cell-{token}")
        job.started_at = now_ms()  # sent; it runs (``placed``) once a worker takes it
        self.runtime.broadcast(msg_started(job))
        if job.cancel.is_set():  # killed while it was being sent
            self._cancel(job)
        return self._wait(job)

    def _wait(self, job):
        from concurrent.futures import CancelledError

        task = job.task
        try:
            answer = task.future.result()
        except CancelledError:
            if task.worker_died:
                return self._worker_died_error(job)
            if task.restart_done is not None:  # end the job once its worker is back (or not)
                task.restart_done.wait(120)
                if task.restart_failed is not None:
                    error = plain_error("NotStopped", task.restart_failed)
                    return ("error", error, NO_RESULT, [])
            return ("killed", None, NO_RESULT, [])
        except Exception as err:
            if job.cancel.is_set():
                return ("killed", None, NO_RESULT, [])
            if task.worker_died or type(err).__name__ == "KilledWorker":
                return self._worker_died_error(job)
            return ("error", format_error(None, type(err), err, err.__traceback__), NO_RESULT, [])
        with task.events_seen:  # outputs may still be on their way: the answer counts them
            task.events_seen.wait_for(
                lambda: task.events_done >= answer["events"], timeout=_EVENT_WAIT_SECONDS
            )
            missing = answer["events"] - task.events_done
        if missing > 0:
            job.emit_stream(
                "stderr",
                f"[parallel-cell: {missing} output message(s) of this job did not arrive "
                "from the worker]\n",
                block=False,
            )
        rerun = task.attempt is not None and answer.get("attempt") != task.attempt
        if task.worker_died or rerun:  # the answer of a run Dask started again
            return self._worker_died_error(job)
        return self._take_answer(job, answer)

    def _take_answer(self, job, answer):
        import cloudpickle

        unsent = dict(answer["unsent"])
        names = []
        user_ns = self.runtime.shell.user_ns if self.runtime.shell is not None else {}
        for name, blob in answer["assigned"].items():
            try:
                user_ns[name] = from_worker(cloudpickle.loads(blob))
                names.append(name)
            except Exception as err:
                unsent[name] = f"{type(err).__name__}: {err}"
        result = NO_RESULT
        if answer["result"] is not None:
            try:
                result = from_worker(cloudpickle.loads(answer["result"]))
            except Exception as err:
                unsent["(result)"] = f"{type(err).__name__}: {err}"
        for name, why in unsent.items():
            job.emit_stream(
                "stderr", f"[parallel-cell: {name} did not come back from the worker: {why}]\n"
            )
        return (answer["state"], answer["error"], result, names)

    def _worker_died_error(self, job):
        message = (
            f"the worker running this job ({job.worker or 'not known'}) died before it "
            "ended; the job was not run again (Dask would have run it anew elsewhere)"
        )
        return ("error", plain_error("WorkerDied", message), NO_RESULT, [])

    # -- events from the worker ------------------------------------------------------
    def _on_event(self, job, event):
        """On the Dask client's event loop: must not block."""
        body = event[1] if isinstance(event, tuple) and len(event) == 2 else event
        if not isinstance(body, dict) or not isinstance(body.get("n"), int):
            return
        task = job.task
        with task.events_seen:
            attempt = body.get("a")
            if task.attempt is None:
                task.attempt = attempt
            elif attempt != task.attempt:
                # Its worker died and Dask started the cell again: a notebook cell must
                # not run twice behind the person's back. Stop that run; the job ends.
                if not task.worker_died:
                    task.worker_died = True
                    internal_thread(self._cancel, f"parallel-cell rerun {job.num}", job).start()
                return
            task.events[body["n"]] = body
            while task.events_done + 1 in task.events:
                task.events_done += 1
                self._apply(job, task.events.pop(task.events_done))
            task.events_seen.notify_all()

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
        if restart_worker and job.worker is not None and job.task is not None:
            job.task.restart_done = threading.Event()
            internal_thread(self._restart, f"parallel-cell restart {job.num}", job).start()
            return True
        if first:
            self.runtime.broadcast(msg_cancelling(job.job_id, None))
            internal_thread(self._stop, f"parallel-cell stop {job.num}", job).start()
        return True

    def _cancel(self, job):
        task = job.task
        if task is None or task.future is None:
            return  # not sent yet: ``_run`` sees the kill before sending
        try:
            self._set_stop_event(job)  # in case it started meanwhile
            task.future.cancel()
        except Exception:
            log.debug("parallel-cell: cancelling a task failed", exc_info=True)

    def _set_stop_event(self, job):
        from distributed import Event

        Event(job.task.stop_event, client=job.task.client).set()

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
        worker, task = job.worker, job.task
        try:
            task.future.cancel()  # first, or the scheduler would run it again elsewhere
            task.client.restart_workers([worker])
            note = f"[parallel-cell: worker {worker} was restarted to stop this job]\n"
            job.emit_stream("stderr", note, block=False)
        except Exception as err:
            # Not killed: the task may still run there, out of Dask's sight. Say so.
            task.restart_failed = (
                f"restarting worker {worker} failed ({type(err).__name__}: {err}); the task "
                "may still be running there, without Dask"
            )
        task.restart_done.set()


def _forget(task, killed):
    """After the job: let Dask forget its task, and the scheduler its events."""
    if task.future is not None:
        # While a future holds its result, the scheduler runs the task again if the
        # worker keeping that result goes away.
        try:
            task.future.release()
        except Exception:
            log.debug("parallel-cell: releasing a future failed", exc_info=True)
    try:
        task.client.unsubscribe_topic(task.topic)
        task.client.run_on_scheduler(FORGET_EVENTS, task.topic)
        if killed:  # the scheduler keeps a set Event for good
            from distributed import Event

            Event(task.stop_event, client=task.client).clear()
    except Exception:
        log.debug("parallel-cell: forgetting a job's events failed", exc_info=True)
