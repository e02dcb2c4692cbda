"""A small client for a real ipykernel, speaking the parallel-cell comm protocol.

It does what the frontend does: bootstrap the runtime with a silent execute, open a
comm (optionally through a kernel subshell), send requests and read the kernel's
messages from iopub. One background thread reads iopub; the shell and control
channels are only used from the test's own thread.
"""

from __future__ import annotations

import queue
import tempfile
import threading
import time
import uuid
from collections import defaultdict

from jupyter_client.manager import start_new_kernel

from parallel_cell._bootstrap import bootstrap_code

TARGET = "parallel_cell.v2"


def kernel_messages(data):
    """The runtime's messages in one comm message's data: a list is several sent in one go."""
    return data if isinstance(data, list) else [data]


def submit_message(job_id, cell_id, notebook, code, target=None, after=None, source_hash=None):
    """A `submit`, with its optional fields only when given (as the page sends it)."""
    msg = {"type": "submit", "job_id": job_id, "cell_id": cell_id, "notebook": notebook}
    msg["code"] = code
    optional = {"target": target, "after": after, "source_hash": source_hash}
    msg.update({k: v for k, v in optional.items() if v is not None})
    return msg


def wait_until(predicate, timeout=30, interval=0.1, what="condition"):
    """Call ``predicate`` until it returns something true (returned); fail the test if it
    has not by ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(interval)


class KernelError(AssertionError):
    pass


class Kernel:
    """A running ipykernel with an iopub reader thread."""

    def __init__(self, startup_timeout=60):
        # Started outside the repository, so the kernel cannot import parallel_cell:
        # like a user's kernel, it gets the runtime only through the bootstrap.
        self.km, self.kc = start_new_kernel(
            kernel_name="python3", startup_timeout=startup_timeout, cwd=tempfile.gettempdir()
        )
        self._cv = threading.Condition()
        self._by_parent = defaultdict(list)  # parent msg_id -> iopub messages
        self._all_by_parent = defaultdict(list)  # the same, never taken away
        self._comms = {}  # comm_id -> CommClient
        self._shell_replies = {}
        self._stop = False
        self._reader = threading.Thread(target=self._read_iopub, daemon=True)
        self._reader.start()

    # -- plumbing -------------------------------------------------------------------
    def _read_iopub(self):
        while not self._stop:
            try:
                msg = self.kc.iopub_channel.get_msg(timeout=0.1)
            except queue.Empty:
                continue
            except Exception:
                if self._stop:
                    return
                continue
            kind = msg["header"]["msg_type"]
            if kind in ("comm_msg", "comm_close"):
                comm = self._comms.get(msg["content"].get("comm_id"))
                if comm is not None:
                    comm._receive(msg)
                    continue
            parent = msg.get("parent_header", {}).get("msg_id")
            with self._cv:
                self._by_parent[parent].append(msg)
                self._all_by_parent[parent].append(msg)
                self._cv.notify_all()

    def _send_shell(self, kind, content, subshell_id=None, metadata=None):
        msg = self.kc.session.msg(kind, content, metadata=metadata)
        if subshell_id is not None:
            msg["header"]["subshell_id"] = subshell_id
        self.kc.shell_channel.send(msg)
        return msg["header"]["msg_id"]

    def shell_reply(self, msg_id, timeout=30):
        deadline = time.monotonic() + timeout
        while msg_id not in self._shell_replies:
            left = deadline - time.monotonic()
            if left <= 0:
                raise KernelError(f"no shell reply to {msg_id} within {timeout}s")
            try:
                reply = self.kc.get_shell_msg(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            self._shell_replies[reply["parent_header"].get("msg_id")] = reply
        return self._shell_replies.pop(msg_id)

    def wait_idle(self, msg_id, timeout=30):
        """Wait for the status idle that ends the handling of ``msg_id``."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                for msg in self._by_parent.get(msg_id, ()):
                    if (
                        msg["header"]["msg_type"] == "status"
                        and msg["content"]["execution_state"] == "idle"
                    ):
                        return self._by_parent.pop(msg_id)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise KernelError(f"kernel not idle after {msg_id} within {timeout}s")
                self._cv.wait(left)

    def wait_parent(self, msg_id, predicate, timeout=30):
        """Every iopub message so far whose parent is ``msg_id`` (also those after the
        request's idle: a background job's), once ``predicate`` of them is true."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                messages = list(self._all_by_parent.get(msg_id, ()))
                if predicate(messages):
                    return messages
                left = deadline - time.monotonic()
                if left <= 0:
                    kinds = [m["header"]["msg_type"] for m in messages]
                    raise KernelError(f"{msg_id}: not as expected in {timeout}s: {kinds}")
                self._cv.wait(left)

    # -- executing --------------------------------------------------------------------
    def execute_async(
        self, code, silent=False, user_expressions=None, subshell_id=None, metadata=None
    ):
        content = {
            "code": code,
            "silent": silent,
            "store_history": not silent,
            "user_expressions": user_expressions or {},
            "allow_stdin": False,
            "stop_on_error": False,
        }
        return self._send_shell("execute_request", content, subshell_id, metadata)

    def wait_execute(self, msg_id, timeout=30):
        reply = self.shell_reply(msg_id, timeout)
        iopub = self.wait_idle(msg_id, timeout)
        return ExecuteResult(reply["content"], iopub)

    def execute(self, code, timeout=30, **kwargs):
        return self.wait_execute(self.execute_async(code, **kwargs), timeout)

    def ok(self, code, timeout=30):
        """Execute in the foreground; fail the test on an error; return stdout."""
        result = self.execute(code, timeout)
        if result.reply["status"] != "ok":
            raise KernelError(f"foreground error: {result.reply}\nstderr: {result.stderr}")
        return result.stdout

    def evaluate(self, expression, timeout=30):
        """The text/plain repr of ``expression``, evaluated silently (no history)."""
        result = self.execute("", timeout, silent=True, user_expressions={"v": expression})
        value = result.reply["user_expressions"]["v"]
        if value["status"] != "ok":
            raise KernelError(f"evaluating {expression!r}: {value}")
        return value["data"]["text/plain"]

    def wait_true(self, expression, timeout=20):
        """Evaluate ``expression`` until it is ``True``; fail the test if it is not by then."""
        wait_until(lambda: self.evaluate(expression) == "True", timeout, 0.02, expression)

    def bootstrap(self):
        result = self.execute(bootstrap_code(), silent=True)
        if result.reply["status"] != "ok":
            raise KernelError(f"bootstrap failed: {result.reply}")
        return result

    # -- comms --------------------------------------------------------------------------
    def open_comm(self, data=None, subshell_id=None):
        comm = CommClient(self, uuid.uuid4().hex, subshell_id)
        self._comms[comm.comm_id] = comm
        content = {
            "comm_id": comm.comm_id,
            "target_name": TARGET,
            "data": {"protocol": 2} if data is None else data,
        }
        self._send_shell("comm_open", content, subshell_id)
        return comm

    def create_subshell(self, timeout=30):
        msg = self.kc.session.msg("create_subshell_request", {})
        self.kc.control_channel.send(msg)
        reply = self.kc.get_control_msg(timeout=timeout)
        assert reply["parent_header"]["msg_id"] == msg["header"]["msg_id"]
        assert reply["content"]["status"] == "ok", reply["content"]
        return reply["content"]["subshell_id"]

    def delete_subshell(self, subshell_id, timeout=30):
        msg = self.kc.session.msg("delete_subshell_request", {"subshell_id": subshell_id})
        self.kc.control_channel.send(msg)
        reply = self.kc.get_control_msg(timeout=timeout)
        assert reply["parent_header"]["msg_id"] == msg["header"]["msg_id"]
        assert reply["content"]["status"] == "ok", reply["content"]

    def shutdown(self):
        self._stop = True
        # The reader must be out of its poll before the channels close: a zmq socket
        # closed under a polling thread aborts the process (signaler.cpp assertion).
        self._reader.join(timeout=5)
        try:
            self.kc.stop_channels()
        finally:
            self.km.shutdown_kernel(now=True)


class ExecuteResult:
    def __init__(self, reply, iopub):
        self.reply = reply
        self.iopub = iopub

    def _stream(self, name):
        return "".join(
            m["content"]["text"]
            for m in self.iopub
            if m["header"]["msg_type"] == "stream" and m["content"]["name"] == name
        )

    @property
    def stdout(self):
        return self._stream("stdout")

    @property
    def stderr(self):
        return self._stream("stderr")


class CommClient:
    """One comm to the runtime: what the frontend's comm.ts is to JupyterLab."""

    def __init__(self, kernel, comm_id, subshell_id=None):
        self.kernel = kernel
        self.comm_id = comm_id
        self.subshell_id = subshell_id
        self.messages = []  # every message's data, in arrival order
        # When the kernel sent each message (its comm message's header date): unlike the
        # time it is read here, not bunched up by this process being slow on a loaded machine.
        self.sent_at = []
        self.closed = False
        self._cv = threading.Condition()

    def _receive(self, msg):
        with self._cv:
            if msg["header"]["msg_type"] == "comm_close":
                self.closed = True
            else:
                batch = kernel_messages(msg["content"]["data"])
                self.messages.extend(batch)
                self.sent_at.extend([msg["header"]["date"]] * len(batch))
            self._cv.notify_all()

    def send(self, data):
        content = {"comm_id": self.comm_id, "data": data}
        return self.kernel._send_shell("comm_msg", content, self.subshell_id)

    def wait_for(self, predicate, timeout=30, start=0):
        """The first message (from index ``start``) that satisfies ``predicate``. The
        timeouts are generous (a loaded 2-core CI machine): a wait ends once it holds."""
        deadline = time.monotonic() + timeout
        with self._cv:
            i = start
            while True:
                while i < len(self.messages):
                    if predicate(self.messages[i]):
                        return self.messages[i]
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    raise KernelError(
                        f"no matching comm message within {timeout}s; got {self.messages[-5:]}"
                    )
                self._cv.wait(left)

    def wait_count(self, predicate, count, timeout=30, start=0):
        """The messages (from ``start``) that satisfy ``predicate``, once ``count`` came."""
        matching = []

        def enough(m):
            if predicate(m):
                matching.append(m)
            return len(matching) >= count

        self.wait_for(enough, timeout, start)
        return matching

    def wait_type(self, kind, job_id=None, timeout=30, start=0):
        return self.wait_for(
            lambda m: m.get("type") == kind and (job_id is None or m.get("job_id") == job_id),
            timeout,
            start,
        )

    def index_of(self, message):
        with self._cv:
            return next(i for i, m in enumerate(self.messages) if m is message)

    def sent_apart(self, earlier, later):
        """Seconds between the kernel's sending of two messages (its clock, not ours)."""
        return (
            self.sent_at[self.index_of(later)] - self.sent_at[self.index_of(earlier)]
        ).total_seconds()

    def of_job(self, job_id):
        with self._cv:
            return [m for m in self.messages if m.get("job_id") == job_id]

    def submit(
        self,
        code,
        job_id=None,
        cell_id="cell-1",
        notebook="test.ipynb",
        target=None,
        after=None,
        source_hash=None,
    ):
        job_id = job_id or uuid.uuid4().hex
        self.send(submit_message(job_id, cell_id, notebook, code, target, after, source_hash))
        return job_id

    def close(self):
        """Close the comm from this side, as a page going away does."""
        self.kernel._send_shell(
            "comm_close", {"comm_id": self.comm_id, "data": {}}, self.subshell_id
        )

    def kill(self, job_id, restart_worker=False):
        msg = {"type": "kill", "job_id": job_id}
        if restart_worker:
            msg["restart_worker"] = True
        self.send(msg)

    def request(self, data, answer, timeout=30):
        """Send ``data``; the first later message of type ``answer``."""
        start = len(self.messages)
        self.send(data)
        return self.wait_type(answer, timeout=timeout, start=start)

    def list_jobs(self, timeout=30):
        """The kernel's jobs (a ``list`` answered), by job id."""
        return {j["job_id"]: j for j in self.request({"type": "list"}, "jobs", timeout)["jobs"]}

    def run_in(self, cell_id, code, notebook="test.ipynb", timeout=30):
        """Run ``code`` as a job of cell ``cell_id``; its job id once it finished."""
        job = self.submit(code, cell_id=cell_id, notebook=notebook)
        self.wait_type("finished", job, timeout)
        return job

    def run(self, code, timeout=30, target=None):
        """Submit ``code`` and wait until it finishes; returns the finished message."""
        job_id = self.submit(code, target=target)
        return self.wait_type("finished", job_id, timeout)

    def outputs(self, job_id):
        """The job's outputs in seq order; checks seqs are consecutive from 0."""
        batches = sorted(
            (m for m in self.of_job(job_id) if m["type"] == "output"), key=lambda m: m["seq"]
        )
        outputs, expected = [], 0
        for batch in batches:
            assert batch["seq"] == expected, f"seq gap: expected {expected}, got {batch['seq']}"
            outputs.extend(batch["outputs"])
            expected += len(batch["outputs"])
        return outputs

    def text(self, job_id, name="stdout"):
        return "".join(
            o["text"]
            for o in self.outputs(job_id)
            if o["output_type"] == "stream" and o["name"] == name
        )
