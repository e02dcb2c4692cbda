"""One background run: its state, thread, cancel event, output buffer and replay log."""

import os
import signal
import socket
import subprocess
import threading
import time
from collections import deque

from . import routing
from .capture import display_hook
from .config import Config
from .executor import NO_RESULT
from .pool import Done
from .protocol import with_target
from .threads import _waiting, checkpoint, orig_sleep, register, unregister

TERMINAL = ("done", "error", "killed")


class LogTotal:
    """The bytes of every job's replay log together (``Config.log_budget_bytes``)."""

    def __init__(self):
        self._lock = threading.Lock()  # taken last, under a job's lock
        self.value = 0

    def add(self, delta):
        with self._lock:
            self.value += delta


LOG_TOTAL = LogTotal()


def output_size(out):
    if out.get("output_type") == "stream":
        return len(out["text"])
    return sum(len(str(v)) for v in out.get("data", {}).values()) + 64


class Job:
    """One background run: state, thread, cancel event, output buffer and log."""

    # What every job starts with and only some change: read from the class until set
    # (a trivial job's set-up is part of P2's per-job cost). Immutable values only.
    worker = None  # the Dask worker running it, once placed
    task = None  # a cluster job's Dask task, once sent (cluster.Task)
    dashboard = None  # the cluster's dashboard URL, when it serves one
    superseded = False  # its cell ran again since (foreground or a newer job)
    display = None  # no page linked when it started: it writes its cell (display.py)
    log_trimmed = None  # why its replay log was freed, once it was
    keeps_source = False  # its cell defines code: keep its lines for tracebacks
    state = "queued"  # until it starts (a thread) or is placed (Dask)
    started_at = None
    ended_at = None
    error = None
    cell_names = None  # what its code reads and writes (conflicts.py), once asked
    result = NO_RESULT
    ident = None
    loop = None  # the event loop of a cell with top-level await
    in_user_code = False
    closed = False  # set when the job takes no more output
    code_ended = False  # its own code has ended (its threads may still run)
    finished_sent = False
    threads_told = 0  # the running threads the last ``threads`` message said
    # A kill (kill.py) raises JobKilled once per thread, then lets cleanup run for
    # Config.cleanup_grace_seconds before it forces the job out.
    kill_at = None  # time.monotonic() of the first kill
    forcing = False  # the grace is over: waits end, the reaper raises again
    force_asked = False  # killed again while cancelling: no more grace
    loop_cancels = 0  # kills that came as a cancel of its event loop's tasks
    _pending_bytes = 0
    next_seq = 0
    _log_bytes = 0
    _dropped = 0

    def __init__(
        self, runtime, job_id, num, cell_id, notebook, origin, label, target="thread", **extra
    ):
        self.runtime = runtime
        self.job_id = job_id
        self.num = num
        self.cell_id = cell_id
        self.notebook = notebook
        self.origin = origin
        self.label = label
        self.target = target  # "thread", or "dask" (cluster.py drives it)
        self.after = extra.get("after")  # the job it runs after (a chain), by id
        self.source_hash = extra.get("source_hash")  # the page's, kept and given back
        self.first_line = extra.get("first_line")  # its code's, short (None: a function)
        self.source = extra.get("source")  # its cell's code (None: a function, ``map``)
        self.assigned = []
        self.conflicts = []  # its names another cell rebound while it ran or waited
        self.threads = {}  # ident -> entries: threads it started (or serving it) that run
        self.kill_taken = set()  # threads a JobKilled was raised in, or is on its way to
        self.kill_doomed = set()  # its threads when the kill came (not cleanup's own)
        self.kill_hits = {}  # thread ident -> JobKilled raised in it since the kill
        self.waiting = set()  # threads inside one of the runtime's waits
        self.cancel = Done()
        self.children = []  # weakrefs to the Popen objects it started
        self.sockets = []  # weakrefs to the sockets it opened
        self.lock = threading.Lock()  # state, pending outputs, in_user_code
        self.send_lock = threading.Lock()  # seq assignment + sending stay in order
        self.done_event = Done()
        self._wake = threading.Lock()  # held while running; released to end sleeps
        self._wake.acquire()
        self._force = threading.Lock()  # held until the grace is over; then as _wake
        self._force.acquire()
        self._pending = []  # [stream name or None, list of text parts or an output]
        self._log = deque()  # (seq, output, size)

    # -- output, called from the job's threads -------------------------------------
    def emit_stream(self, name, text, block=True):
        """Queue stream text; False if the job has ended and takes no more.

        ``block``: a job printing faster than outputs are sent waits (not so for
        outputs arriving from a Dask worker, handled on the Dask client's event loop).
        """
        return self._pend(name, text, len(text), block) if text else True

    def emit(self, output, block=True):
        """Queue a (non-stream) output; False if the job has ended and takes no more."""
        return self._pend(None, output, output_size(output), block)

    def _pend(self, name, item, size, block):
        with self.lock:
            if self.closed:  # e.g. a thread it started, printing after it ended
                return False
            routing.pend(self._pending, name, item)
            self._after_emit(size)
        if block:
            self._backpressure()
        return True

    def _after_emit(self, size):
        before = self._pending_bytes
        self._pending_bytes += size
        if before == 0:
            self.runtime.mark_dirty(self, urgent=self._pending_bytes >= Config.batch_bytes)
        elif before < Config.batch_bytes <= self._pending_bytes:
            self.runtime.mark_dirty(self, urgent=True)

    def _backpressure(self):
        while self._pending_bytes > Config.pending_limit_bytes and not self.cancel.is_set():
            orig_sleep(0.005)

    def take_pending(self):
        """Under ``lock``: the pending outputs as nbformat dicts, coalesced."""
        outputs = routing.as_outputs(self._pending, Config.batch_bytes)
        self._pending = []
        self._pending_bytes = 0
        return outputs

    def log_outputs(self, seq, outputs):
        """Under ``lock``: keep outputs for replay, within the configured limits."""
        before = self._log_bytes
        for i, out in enumerate(outputs):
            size = output_size(out)
            self._log.append((seq + i, out, size))
            self._log_bytes += size
        self.enforce_log_limit()
        LOG_TOTAL.add(self._log_bytes - before)

    def enforce_log_limit(self):
        """Under ``lock``: trim the log to the configured limits, marking what went."""
        limit_n, limit_bytes = Config.log_limit_outputs, Config.log_limit_bytes
        if len(self._log) > limit_n or self._log_bytes > limit_bytes:
            before = self._log_bytes
            self._trim_log(limit_n, limit_bytes, f"limit: {limit_n} outputs / {limit_bytes} bytes")
            LOG_TOTAL.add(self._log_bytes - before)

    def drop_log(self, why):
        """Under ``lock``: forget every logged output, leaving only the marker; True if
        anything went."""
        if self._log and not (len(self._log) == 1 and self._log[0][1].get("_pc_marker")):
            before = self._log_bytes
            self._trim_log(0, 0, why)
            LOG_TOTAL.add(self._log_bytes - before)
            return True
        return False

    @property
    def log_bytes(self):
        return self._log_bytes

    def forget_log(self):
        """Under ``lock``: free the log, marker and all (the job itself is forgotten)."""
        LOG_TOTAL.add(-self._log_bytes)
        self._log.clear()
        self._log_bytes = 0

    def _trim_log(self, limit_n, limit_bytes, why):
        dropped_to = None
        if self._log and self._log[0][1].get("_pc_marker"):
            dropped_to, _, size = self._log.popleft()
            self._log_bytes -= size
        # Room for the marker itself, which counts toward the limits.
        while self._log and (len(self._log) + 1 > limit_n or self._log_bytes + 200 > limit_bytes):
            dropped_to, _, size = self._log.popleft()
            self._log_bytes -= size
            self._dropped += 1
        if dropped_to is None:
            return
        # The marker takes the last dropped seq, so a replay stays consecutive.
        text = (
            f"[parallel-cell: {self._dropped} earlier output(s) of job {self.num} were "
            f"dropped from the kernel's replay log ({why})]\n"
        )
        marker = {"output_type": "stream", "name": "stderr", "text": text, "_pc_marker": True}
        self._log.appendleft((dropped_to, marker, len(text)))
        self._log_bytes += len(text)

    def logged_since(self, since):
        """Under ``lock``: (seq, output) pairs with seq >= since."""
        out = []
        for seq, item, _ in self._log:
            if seq >= since:
                clean = {k: v for k, v in item.items() if k != "_pc_marker"}
                out.append((seq, clean))
        return out

    # -- threads ------------------------------------------------------------------
    def enter_thread(self):
        """Make the calling thread part of this job: its output and displays go here."""
        ident = threading.get_ident()
        register(ident, self)
        if ident != self.ident:  # a thread it started, or a work item it submitted
            with self.lock:
                self.threads[ident] = self.threads.get(ident, 0) + 1
        hook = display_hook(self)
        display_pub = getattr(self.runtime.shell, "display_pub", None)
        if hasattr(display_pub, "register_hook"):
            display_pub.register_hook(hook)  # thread-local in ipykernel
        return ident, display_pub, hook

    def leave_thread(self, token):
        ident, display_pub, hook = token
        if hasattr(display_pub, "unregister_hook"):
            display_pub.unregister_hook(hook)
        unregister(ident, self)
        if ident == self.ident:
            return
        with self.lock:
            left = self.threads.get(ident, 0) - 1
            if left > 0:
                self.threads[ident] = left
            else:
                self.threads.pop(ident, None)
            after_its_code = self.code_ended
        if after_its_code:
            self.runtime.threads_changed(self)

    # -- control ------------------------------------------------------------------
    def checkpoint(self):
        """``parallel_cell.checkpoint()`` in one of this job's threads."""
        checkpoint()

    def sleep(self, secs):
        """time.sleep inside a job thread. A kill ends it at once, with JobKilled, in a
        thread that is still to get its JobKilled (``first_kill_due``); in any other
        (its cleanup runs) it sleeps on until the cleanup grace is over."""
        if self.closed or not Config.interruptible_sleep:
            return orig_sleep(secs)
        secs = float(secs)
        if secs < 0:
            raise ValueError("sleep length must be non-negative")
        ident = threading.get_ident()
        deadline = time.monotonic() + secs
        try:
            _waiting(self, ident, True)
            checkpoint()
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                first = not self.cancel.is_set() or self.first_kill_due(ident)
                gate = self._wake if first else self._force
                if ident in self.kill_taken and not self.kill_hits.get(ident):
                    # The kill's async raise is on its way; it lands in Python code,
                    # not inside a C wait: do not sleep through it.
                    left = min(left, 0.01)
                if gate.acquire(timeout=min(left, threading.TIMEOUT_MAX)):
                    gate.release()  # let every other sleeper of this job wake too
                    checkpoint()
        finally:
            _waiting(self, ident, False)
        checkpoint()  # a kill that came as it left: it found the thread still sleeping

    def first_kill_due(self, ident):
        """Whether thread ``ident`` is still to get the kill's one JobKilled: the job's
        own thread, or one of its threads when the kill came. Not a thread started
        since: that is part of the cleanup, and sleeps until the grace is over."""
        return ident not in self.kill_taken and (ident == self.ident or ident in self.kill_doomed)

    def request_cancel(self, force=False):
        """Wake the job's sleeps and waits: in threads that have not had their JobKilled
        yet; with ``force`` (the cleanup grace is over) in all of them."""
        gate = self._wake
        if force:
            with self.lock:
                self.forcing = True
            gate = self._force
        self.cancel.set()
        try:
            gate.release()
        except RuntimeError:  # released already
            pass

    def shut_sockets(self):
        """Shut the job's sockets down: a recv/accept blocked in C returns at once."""
        for ref in list(self.sockets):
            sock = ref()
            if sock is None or sock.fileno() < 0:
                continue
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def terminate_children(self, hard=False):
        for ref in list(self.children):
            proc = ref()
            if proc is None:
                continue
            try:
                if isinstance(proc, subprocess.Popen):
                    if proc.poll() is None:
                        proc.kill() if hard else proc.terminate()
                elif proc.isalive():
                    # A pty child (IPython's `!cmd`, through pexpect) leads its own
                    # session: end its whole process group (`sh -c` and what it runs).
                    os.killpg(proc.pid, signal.SIGKILL if hard else signal.SIGTERM)
            except OSError:
                pass

    def info(self):
        return with_target(
            self,
            {
                "job_id": self.job_id,
                "num": self.num,
                "first_line": self.first_line,
                "cell_id": self.cell_id,
                "notebook": self.notebook,
                "state": self.state,
                # A Dask job's ``started`` time is when it was sent; it is queued until placed.
                "started_at": None if self.state == "queued" else self.started_at,
                "ended_at": self.ended_at,
                "next_seq": self.next_seq,
                "error": self.error,
                "assigned": list(self.assigned),
                "origin": self.origin,
                "after": self.after,
                "source_hash": self.source_hash,
                "superseded": self.superseded,
                "log_trimmed": self.log_trimmed,
                "threads": self.threads_told,
                "conflicts": list(self.conflicts),
            },
        )
