"""The kernel side's centre: the comm endpoint, the job registry, running jobs."""

import itertools
import threading
from collections import deque

from . import kill as _kill
from .capture import install_streams
from .cluster import ClusterJobs
from .config import Config, log, now_ms
from .executor import (
    NO_RESULT,
    compile_cell,
    figure_numbers,
    format_error,
    format_result,
    run_compiled,
    show_new_figures,
)
from .flusher import Flusher
from .job import Job, output_size
from .protocol import (
    PROTOCOL,
    ProtocolError,
    clip,
    decode_client_msg,
    msg_error,
    msg_finished,
    msg_hello,
    msg_jobs,
    msg_output,
    msg_started,
    without_surrogates,
)
from .threads import JobKilled, install_input_guard, internal_thread

# A cell longer than this is compiled off the comm handler's thread (IPython's transform
# and the parse take seconds for megabytes of code; a handler must not block).
_COMPILE_INLINE_CHARS = 32 * 1024


class Runtime:
    """The kernel side of parallel-cell: comms, the job registry, flushing, kills."""

    def __init__(self, shell):
        self.shell = shell
        self.lock = threading.Lock()  # jobs, comms, numbering
        self.jobs = {}  # job_id -> Job
        self._ended = deque()  # ended jobs that still keep a replay log, oldest first
        self._used_ids = set()  # job ids stay unique for the kernel's life, even flushed
        self.comms = {}  # comm_id -> comm
        self._nums = itertools.count(1)
        self.flusher = Flusher(self.broadcast)
        self.cluster = ClusterJobs(self)

    # -- comms --------------------------------------------------------------------
    def on_comm_open(self, comm, open_msg):
        data = (open_msg.get("content") or {}).get("data")
        version = data.get("protocol") if isinstance(data, dict) else None
        if version != PROTOCOL:
            # An incompatible frontend: say so, then close, so it never gets messages
            # it cannot read.
            self._send(
                comm,
                msg_error(
                    f"unsupported protocol {clip(repr(version))}; this kernel speaks {PROTOCOL}"
                ),
            )
            try:
                comm.close()
            except Exception:
                log.exception("parallel-cell: closing an incompatible comm failed")
            return
        with self.lock:
            self.comms[comm.comm_id] = comm
            # A reloaded page names the comms of its earlier life: their close message
            # may never have left the page that went away. Stop sending to them.
            replaced = data.get("replaces")
            stale = [
                self.comms.pop(cid)
                for cid in (replaced if isinstance(replaced, list) else [])[:64]
                if isinstance(cid, str) and cid != comm.comm_id and cid in self.comms
            ]
        for old in stale:
            try:
                old.close()
            except Exception:
                log.exception("parallel-cell: closing a replaced comm failed")
        comm.on_msg(self._on_comm_msg)
        comm.on_close(self._on_comm_close)
        try:
            import ipykernel

            ipk_version = ipykernel.__version__
        except ImportError:
            ipk_version = ""
        impl = getattr(getattr(self.shell, "kernel", None), "implementation", "ipython")
        self._send(comm, msg_hello(ipk_version, impl))

    def _on_comm_close(self, msg):
        comm_id = (msg.get("content") or {}).get("comm_id")
        with self.lock:
            self.comms.pop(comm_id, None)

    def _on_comm_msg(self, msg):
        content = msg.get("content") or {}
        with self.lock:
            comm = self.comms.get(content.get("comm_id"))
        if comm is None:
            return
        try:
            request = decode_client_msg(content.get("data"))
            getattr(self, "_handle_" + request["type"])(comm, request)
        except ProtocolError as err:
            self._send(comm, msg_error(err.message, err.job_id))
        except Exception as err:  # never let a handler's failure reach the kernel
            log.exception("parallel-cell: handler failed")
            self._send(
                comm, msg_error(f"internal error: {type(err).__name__}: {clip(str(err), 500)}")
            )

    def _send(self, comm, msg):
        try:
            comm.send(data=msg)
        except UnicodeEncodeError:
            try:
                comm.send(data=without_surrogates(msg))
            except Exception:
                log.exception("parallel-cell: comm.send failed")
        except Exception:
            log.exception("parallel-cell: comm.send failed")

    def broadcast(self, msg):
        with self.lock:
            comms = list(self.comms.values())
        for comm in comms:
            self._send(comm, msg)

    # -- handlers (never block) ---------------------------------------------------
    def _handle_submit(self, comm, req):
        code, cell_id, notebook = req["code"], req["cell_id"], req["notebook"]
        if req.get("target") == "dask":
            self.start_cluster_job(code, "frontend", cell_id, notebook, req["job_id"])
        else:
            self.start_job(code, "frontend", cell_id, notebook, req["job_id"], wait=False)

    def _handle_kill(self, comm, req):
        with self.lock:
            job = self.jobs.get(req["job_id"])
        if job is None:
            raise ProtocolError(f"unknown job: {req['job_id']}", req["job_id"])
        # A kill that lost the race with the job's end is a no-op: ``finished`` said it.
        self.kill(job, restart_worker=req.get("restart_worker", False))

    def _handle_list(self, comm, req):
        with self.lock:
            jobs = sorted(self.jobs.values(), key=lambda j: j.num)
        self._send(comm, msg_jobs(jobs))

    def _handle_replay(self, comm, req):
        with self.lock:
            job = self.jobs.get(req["job_id"])
        if job is None:
            raise ProtocolError(f"unknown job: {req['job_id']}", req["job_id"])
        with job.send_lock:  # nothing new is sent for this job until the replay is out
            with job.lock:
                items = job.logged_since(req["since"])
            batch, size = [], 0
            for seq, out in items:
                if batch and (size > Config.batch_bytes or seq != batch[0][0] + len(batch)):
                    self._send(comm, msg_output(job.job_id, batch[0][0], [o for _, o in batch]))
                    batch, size = [], 0
                batch.append((seq, out))
                size += output_size(out)
            if batch:
                self._send(comm, msg_output(job.job_id, batch[0][0], [o for _, o in batch]))

    def _handle_configure(self, comm, req):
        Config.log_limit_outputs = req["log_limit"]
        Config.kill_grace_seconds = req["kill_grace_ms"] / 1000.0
        Config.interruptible_sleep = req["interruptible_sleep"]
        if req.get("cluster") is not None:
            Config.cluster_address = req["cluster"].strip()
        # A lower limit holds for the logs already kept, not only for later outputs.
        with self.lock:
            jobs = list(self.jobs.values())
        for job in jobs:
            with job.lock:
                job.enforce_log_limit()

    # -- jobs ---------------------------------------------------------------------
    def start_job(
        self, code, origin, cell_id=None, notebook=None, job_id=None, func=None, wait=True
    ):
        """Start ``code`` (a cell's source) or ``func`` (a callable) as a background job.

        With ``wait=False`` a big cell is compiled on a thread of its own, so that the
        caller (a comm handler) returns at once; a SyntaxError still comes before any
        thread of the job's starts.
        """
        install_streams()
        install_input_guard(self.shell)
        self.ensure_flusher()
        job = self._new_job(origin, cell_id, notebook, job_id, "thread")
        if func is None and not wait and len(code) > _COMPILE_INLINE_CHARS:
            name = f"parallel-cell compile {job.num}"
            internal_thread(self._compile_and_start, name, job, code, None).start()
        else:
            self._compile_and_start(job, code, func)
        return job

    def _new_job(self, origin, cell_id, notebook, job_id, target):
        with self.lock:
            if job_id is not None and job_id in self._used_ids:
                raise ProtocolError(f"a job with id {job_id} already exists", job_id)
            num = next(self._nums)
            if job_id is None:
                job_id = f"k{num}"
                while job_id in self._used_ids:
                    job_id += "_"
            self._used_ids.add(job_id)
            label = f"<background job {num}>"
            job = Job(self, job_id, num, cell_id, notebook, origin, label, target)
            self.jobs[job_id] = job
        return job

    def start_cluster_job(self, code, origin, cell_id=None, notebook=None, job_id=None, call=None):
        """Send a cell (``code``), or ``call`` = (fn, items) of ``map``, to the Dask
        cluster; returns the job at once (``started`` follows once it is sent)."""
        self.ensure_flusher()
        job = self._new_job(origin, cell_id, notebook, job_id, "dask")
        self.cluster.start(job, code, call)
        return job

    def _compile_and_start(self, job, code, func):
        if func is None:
            try:
                cell = compile_cell(self.shell, code, job.label)
            except BaseException as err:  # SyntaxError, or a failing input transformer
                error = format_error(self.shell, type(err), err, err.__traceback__)
                self.finish_job(job, "error", error, NO_RESULT, [])
                return
            body = (self._run_cell, cell)
        else:
            body = (func, None)
        job.thread = internal_thread(self._run_job, f"parallel-cell job {job.num}", job, body)
        self.broadcast(msg_started(job))
        job.thread.start()

    def _run_cell(self, job, cell):
        shell = self.shell
        glob = shell.user_global_ns if shell is not None else {}
        loc = shell.user_ns if shell is not None else glob
        figures = figure_numbers()
        try:
            value = run_compiled(cell, glob, loc, lambda loop: setattr(job, "loop", loop))
            out = format_result(shell, value) if shell is not None else None
            if out is not None:
                job.emit(out)
        finally:
            show_new_figures(figures)
        return value

    def _run_job(self, job, body):
        job.ident = threading.get_ident()
        token = job.enter_thread()
        outcome = None  # (state, error, result)
        fn, arg = body
        before = {}
        if arg is not None and self.shell is not None:
            ns = self.shell.user_ns
            before = {n: id(ns[n]) for n in arg.names if n in ns}
        while True:
            try:
                if outcome is None:
                    with job.lock:
                        job.in_user_code = True
                    outcome = self._execute(job, fn, arg)
                with job.lock:  # the reaper raises only while in_user_code holds
                    job.in_user_code = False
                    killed = job.cancel.is_set()
                if killed:
                    _kill.deliver_pending_kill()
                break
            except JobKilled:
                if outcome is None:
                    outcome = ("killed", None, NO_RESULT)
        job.leave_thread(token)
        state, error, result = outcome
        names = []
        if arg is not None:
            ns = self.shell.user_ns if self.shell is not None else {}
            # A cell that did not finish may not have reached its assignments.
            names = [
                n for n in arg.names if n in ns and (state == "done" or id(ns[n]) != before.get(n))
            ]
        self.finish_job(job, state, error, result, names)

    def finish_job(self, job, state, error, result, names):
        """End ``job``: its last outputs, then ``finished``, then its waiters."""
        if state == "error" and error is not None:
            # As on iopub, the error is also an output of the cell (and of its replay log).
            job.emit({"output_type": "error", **error}, block=False)
        with job.lock:
            job.closed = True
        self.flusher.flush_job(job)
        with job.send_lock:
            with job.lock:
                job.state, job.error, job.result = state, error, result
                job.assigned = names
                job.ended_at = now_ms()
            self.broadcast(msg_finished(job))
        job.done_event.set()
        self._retire_logs(job)

    def _retire_logs(self, job):
        """Keep the replay logs of only the ``Config.logged_jobs`` last ended jobs."""
        with self.lock:
            self._ended.append(job)
            retired = []
            while len(self._ended) > Config.logged_jobs:
                retired.append(self._ended.popleft())
        why = f"the kernel keeps the logs of the last {Config.logged_jobs} finished jobs"
        for old in retired:
            with old.lock:
                old.drop_log(why)

    def _execute(self, job, fn, arg):
        try:
            if job.cancel.is_set():
                raise JobKilled()
            if arg is not None:
                result = fn(job, arg)
            else:
                result = fn()
            return ("done", None, result)
        except JobKilled:
            return ("killed", None, NO_RESULT)
        except BaseException as err:
            if job.cancel.is_set():  # e.g. the CancelledError of a killed event loop
                return ("killed", None, NO_RESULT)
            error = format_error(self.shell, type(err), err, err.__traceback__)
            return ("error", error, NO_RESULT)

    # -- output and kills -----------------------------------------------------------
    def ensure_flusher(self):
        self.flusher.ensure_running()

    def mark_dirty(self, job, urgent=False):
        self.flusher.mark_dirty(job, urgent)

    def kill(self, job, restart_worker=False):
        """Start killing ``job``; False if it has already ended.

        ``restart_worker``: for a cluster job that does not stop, restart its worker.
        """
        if job.target == "dask":
            return self.cluster.kill(job, restart_worker)
        return _kill.kill(job, self.broadcast)


_RUNTIME = None  # the registered Runtime (see ``register`` in __init__)


def current():
    """The registered runtime; raises if this runtime is not registered with a kernel."""
    if _RUNTIME is None:
        raise RuntimeError("parallel-cell is not registered with an IPython kernel")
    return _RUNTIME
