"""The kernel side's centre: the comm endpoint, the job registry, running jobs."""

import itertools
import re
import threading

from . import ending, pool
from . import kill as _kill
from .capture import JobSetup
from .cluster import ClusterJobs
from .config import Config, log, now_ms
from .conflicts import Conflicts
from .display import Displays, display_for
from .executor import NO_RESULT, compile_cell, format_error
from .flusher import Flusher
from .job import Job
from .outbox import Outbox
from .protocol import (
    PROTOCOL,
    ProtocolError,
    clip,
    decode_client_msg,
    msg_error,
    msg_hello,
    msg_jobs,
    msg_started,
    msg_text,
)
from .queue import JobQueue
from .records import Records, logged_text, replayed
from .runner import run_cell, run_job
from .threads import internal_thread

# A cell longer than this is compiled off the comm handler's thread (megabytes take seconds).
_COMPILE_INLINE_CHARS = 32 * 1024


def _keep_header_subshell(_data, subshell_id):
    return subshell_id


def _route_by_header(comm):
    """Let the kernel route what a page sends on ``comm`` to the subshell the page sent it
    on. ipykernel 7.4 routes a comm's incoming messages to the subshell of the message that
    was the parent when the comm last *sent*; the runtime sends every page's comm the same
    messages, whichever page's request is the parent, so a page's comm would be routed to
    another page's subshell — and dropped ("Unknown subshell_id") once that page left and
    deleted it. Each page sends on its own subshell, so the header is always right."""
    if hasattr(comm, "_reply_subshell_for"):
        comm._reply_subshell_for = _keep_header_subshell


class Runtime:
    """The kernel side of parallel-cell: comms, the job registry, flushing, kills."""

    def __init__(self, shell):
        self.shell = shell
        self.lock = threading.Lock()  # jobs, comms, numbering
        self.jobs = {}  # job_id -> Job
        self.live = {}  # job_id -> Job not ended yet (what conflicts look at), in order
        # Every job id this kernel has seen -> None, or the final state of a forgotten
        # job (its ``after`` still answers): ids stay unique for the kernel's life.
        self._used_ids = {}
        self.comms = {}  # comm_id -> comm
        self._nums = itertools.count(1)
        self.queue = JobQueue(self)
        self.records = Records(self)
        self.outbox = Outbox(self._open_comms, lambda: bool(self.comms))  # one sending thread
        self.displays = Displays(now_ms, self.outbox.call)  # jobs that write their own cell
        self.flusher = Flusher(self.broadcast, self.records.enforce_budget, self.displays.feed)
        self.cluster = ClusterJobs(self)
        self.conflicts = Conflicts(self)
        self.job_setup = JobSetup(shell, self.ensure_flusher)

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
            self.outbox.close(comm)
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
        _route_by_header(comm)
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
        data = content.get("data")  # a list: messages a page sent in one go, each on its own
        for item in data if isinstance(data, list) else [data]:
            try:
                request = decode_client_msg(item)
                getattr(self, "_handle_" + request["type"])(comm, request)
            except ProtocolError as err:
                self._send(comm, msg_error(err.message, err.job_id))
            except Exception as err:  # never let a handler's failure reach the kernel
                log.exception("parallel-cell: handler failed")
                error = f"internal error: {type(err).__name__}: {clip(str(err), 500)}"
                self._send(comm, msg_error(error))

    def _send(self, comm, msg):
        self.outbox.put(comm, msg)

    def broadcast(self, msg):
        """Send ``msg`` to every open comm (those open when it leaves the outbox)."""
        self.outbox.put(None, msg)

    def _open_comms(self):
        with self.lock:
            return list(self.comms.values())

    # -- handlers (never block) ---------------------------------------------------
    def _handle_submit(self, comm, req):
        self.submit(req)

    def _known(self, req):
        with self.lock:
            job = self.jobs.get(req["job_id"])
        if job is None:
            raise ProtocolError(f"unknown job: {req['job_id']}", req["job_id"])
        return job

    def _handle_kill(self, comm, req):
        job = self._known(req)
        # A kill that lost the race with the job's end is a no-op: ``finished`` said it.
        self.kill(job, restart_worker=req.get("restart_worker", False))

    def _handle_list(self, comm, req):
        with self.lock:
            jobs = sorted(self.jobs.values(), key=lambda j: j.num)
        self._send(comm, msg_jobs(jobs))

    def _handle_text(self, comm, req):
        job = self._known(req)
        text, part = logged_text(job), Config.text_part_chars
        for at in range(0, max(len(text), 1), part):
            self._send(comm, msg_text(job.job_id, text[at : at + part], at + part >= len(text)))

    def _handle_replay(self, comm, req):
        job = self._known(req)
        with job.send_lock:  # nothing new is sent for this job until the replay is out
            for msg in replayed(job, req["since"]):
                self._send(comm, msg)

    def _handle_configure(self, comm, req):
        Config.log_limit_outputs = req["log_limit"]
        Config.kill_grace_seconds = req["kill_grace_ms"] / 1000.0
        Config.interruptible_sleep = req["interruptible_sleep"]
        if req.get("cluster") is not None:
            Config.cluster_address = req["cluster"].strip()
        if req.get("cap") is not None:
            Config.cap = req["cap"]
        if req.get("log_budget") is not None:
            Config.log_budget_bytes = req["log_budget"]
        if req.get("cleanup_grace_ms") is not None:
            Config.cleanup_grace_seconds = req["cleanup_grace_ms"] / 1000.0
        if req.get("warn_conflicts") is not None:
            Config.warn_conflicts = req["warn_conflicts"]
        # A lower limit holds for the logs already kept, not only for later outputs.
        with self.lock:
            jobs = list(self.jobs.values())
        for job in jobs:
            with job.lock:
                job.enforce_log_limit()
        self.records.enforce_budget()
        self.queue.pump()  # a larger cap starts queued jobs at once

    def _handle_clear(self, comm, req):
        self.records.forget(req["job_ids"], announce_none=True)

    def _handle_saved(self, comm, req):
        self.records.saved(req["job_ids"])

    # -- jobs ---------------------------------------------------------------------
    def submit(self, req):
        """A frontend job: taken in line at once (``queue.py`` starts it in its turn)."""
        code, target = req["code"], req.get("target") or "thread"
        job = self._new_job(
            "frontend",
            req["cell_id"],
            req["notebook"],
            req["job_id"],
            target,
            after=req.get("after"),
            source_hash=req.get("source_hash"),
            first_line=_first_line(code),
            source=code,
        )
        if target == "thread":
            self.job_setup.ensure()
            self.queue.add(job, lambda: self._launch(job, code, None, False))
        else:
            self.ensure_flusher()
            self.queue.add(job, lambda: self.cluster.start(job, code, None))
        return job

    def start_job(
        self, code, origin, cell_id=None, notebook=None, job_id=None, func=None, wait=True
    ):
        """Start ``code`` (a cell's source) or ``func`` (a callable) as a background job.

        With ``wait=False`` a big cell is compiled on a thread of its own, so that the
        caller (a comm handler) returns at once; a SyntaxError still comes before any
        thread of the job's starts.
        """
        self.job_setup.ensure()
        first = _first_line(code) if func is None else None
        job = self._new_job(
            origin, cell_id, notebook, job_id, "thread", first_line=first, source=code
        )
        self._maybe_display(job)
        self.queue.hold(job)  # from code: starts at once, but takes a slot
        self._launch(job, code, func, wait)
        return job

    def _maybe_display(self, job):
        """A job started from code while no page is linked writes its cell itself, in
        messages every frontend shows (display.py). A page that links later lists it but
        leaves its cell alone: it gets no cell id."""
        if job.origin != "kernel" or not Config.cell_displays or self._open_comms():
            return
        display = display_for(self.shell, job)
        if display is not None:
            job.cell_id = None  # both callers have started the flusher
            self.displays.attach(job, display)

    def _launch(self, job, code, func, wait):
        if func is None and not wait and len(code) > _COMPILE_INLINE_CHARS:
            name = f"parallel-cell compile {job.num}"
            internal_thread(self._compile_and_start, name, job, code, None).start()
        else:
            self._compile_and_start(job, code, func)

    def _new_job(self, origin, cell_id, notebook, job_id, target, **extra):
        with self.lock:
            if job_id is not None and job_id in self._used_ids:
                raise ProtocolError(f"a job with id {job_id} already exists", job_id)
            num = next(self._nums)
            if job_id is None:
                job_id = f"k{num}"
                while job_id in self._used_ids:
                    job_id += "_"
            self._used_ids[job_id] = None
            label = f"<background job {num}>"
            job = Job(self, job_id, num, cell_id, notebook, origin, label, target, **extra)
            self.jobs[job_id] = job
            self.live[job_id] = job
            self.records.note(job)
        return job

    def forgotten(self, job):
        """Under ``lock``: ``job`` was forgotten; its id stays taken, with its end."""
        self._used_ids[job.job_id] = job.state

    def forgotten_state(self, job_id):
        """Under ``lock``: how a forgotten job ended (None if the id is unknown)."""
        return self._used_ids.get(job_id)

    def on_pre_run_cell(self, info):
        """IPython's ``pre_run_cell``: a cell run in the foreground supersedes its jobs."""
        if getattr(info, "silent", False):  # the bootstrap, probes: no cell of a notebook
            return
        cell_id = getattr(info, "cell_id", None)
        if cell_id is None:  # an IPython without ExecutionInfo.cell_id
            parent = getattr(self.shell, "parent_header", None) or {}
            cell_id = (parent.get("metadata") or {}).get("cellId")
        if isinstance(cell_id, str) and cell_id:
            self.records.cell_ran(cell_id)
        raw = getattr(info, "raw_cell", None)
        # IPython 9 gives its transform of the cell (seen in 9.19; 8.39 does not): not done
        # twice. Where the transform failed, IPython gives the raw cell back as it.
        transformed = getattr(info, "transformed_cell", None)
        self.conflicts.foreground(raw, cell_id, None if transformed is raw else transformed)

    def start_cluster_job(self, code, origin, cell_id=None, notebook=None, job_id=None, call=None):
        """Send a cell (``code``), or ``call`` = (fn, items) of ``map``, to the Dask
        cluster; returns the job at once (``started`` follows once it is sent)."""
        self.ensure_flusher()
        line = _first_line(code) if call is None else None
        job = self._new_job(origin, cell_id, notebook, job_id, "dask", first_line=line, source=code)
        self._maybe_display(job)
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
            # A function or class the cell defines may outlive the job's record: its
            # traceback lines need the cell's source (kept in linecache) for good.
            job.keeps_source = cell.defines_code
            body = (run_cell, cell)
        else:
            body = (func, None)
        self.broadcast(msg_started(job))
        self.conflicts.job_starting(job)  # after `started`: the page knows its number
        pool.JOBS.run((run_job, f"parallel-cell job {job.num}", (self, job, body)))

    def finish_job(self, job, state, error, result, names, show_error=True):
        """End ``job`` (see ``ending.finish``)."""
        ending.finish(self, job, state, error, result, names, show_error)

    def threads_changed(self, job):
        """A thread of ``job`` ended (see ``ending.threads_changed``)."""
        ending.threads_changed(self, job)

    # -- output and kills -----------------------------------------------------------
    def ensure_flusher(self):
        self.outbox.ensure_running()
        self.flusher.ensure_running()

    def mark_dirty(self, job, urgent=False):
        self.flusher.mark_dirty(job, urgent)

    def kill(self, job, restart_worker=False):
        """Start killing ``job``; False if it has already ended.

        ``restart_worker``: for a cluster job that does not stop, restart its worker.
        """
        if self.queue.kill(job):  # still in line: it ends without running
            return True
        if job.target == "dask":
            return self.cluster.kill(job, restart_worker)
        return _kill.kill(job, self.broadcast)


# A cell's first non-blank line, found without splitting a whole (maybe huge) cell.
_FIRST_LINE = re.compile("\\s*([^\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]*)")


def _first_line(code):
    """A cell's first line of code, short: it names the job in messages."""
    line = _FIRST_LINE.match(code or "").group(1).strip()
    if not line:
        return None
    return line if len(line) <= 60 else line[:57] + "..."


_RUNTIME = None  # the registered Runtime (see ``register`` in __init__)


def current():
    """The registered runtime; raises if this runtime is not registered with a kernel."""
    if _RUNTIME is None:
        raise RuntimeError("parallel-cell is not registered with an IPython kernel")
    return _RUNTIME
