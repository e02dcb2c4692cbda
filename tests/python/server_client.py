"""A real `jupyter server` with parallel-cell's server extension, and pages without a
browser: a page here is what JupyterLab is to the server — a session for a notebook and a
kernel websocket, over which it bootstraps the runtime, opens the comm and submits jobs.

The server runs from the project's `.venv` (where `make build` installed the extension);
its kernel runs on this test's interpreter, so the tests run on both ipykernel majors.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import websocket
from kernel_client import kernel_messages, submit_message

from parallel_cell._bootstrap import bootstrap_code
from parallel_cell.server.cells import source_hash

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "parallel-cell-server-test"
TARGET = "parallel_cell.v2"


def notebook(sources, nbformat_minor=5):
    return {
        "cells": [
            {
                "cell_type": "code",
                "id": f"cell-{i}",
                "metadata": {},
                "source": source,
                "outputs": [],
                "execution_count": None,
            }
            for i, source in enumerate(sources)
        ],
        "metadata": {
            "kernelspec": {"name": "pc-test", "display_name": "test", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": nbformat_minor,
    }


# Quick settings for tests; an argument naming the same setting replaces its default
# (traitlets refuses a setting given twice on the command line).
DEFAULTS = ("--ParallelCellServer.takeover_delay=0.5", "--ParallelCellServer.save_interval=0.5")


def _defaults_unless_given(args):
    given = {a.split("=", 1)[0] for a in args}
    return [d for d in DEFAULTS if d.split("=", 1)[0] not in given]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`jupyter server` on a free loopback port in a temporary root."""

    def __init__(self, files=None, args=(), venv=".venv"):
        self.dir = Path(tempfile.mkdtemp(prefix="pc-server-"))
        self.root = self.dir / "root"
        self.root.mkdir()
        for name, content in (files or {}).items():
            self.write(name, content)
        spec = self.dir / "jupyter-path" / "kernels" / "pc-test"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                    "display_name": "test",
                    "language": "python",
                }
            )
        )
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = self.dir / "server.log"
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(self.dir / "config"),
            "JUPYTER_PATH": str(self.dir / "jupyter-path"),
        }
        self.proc = subprocess.Popen(
            [
                str(ROOT / venv / "bin" / "jupyter"),
                "server",
                "--no-browser",
                "--ip=127.0.0.1",
                f"--port={self.port}",
                "--ServerApp.port_retries=0",
                f"--ServerApp.root_dir={self.root}",
                f"--IdentityProvider.token={TOKEN}",
                "--allow-root",
                *_defaults_unless_given(args),
                *args,
            ],
            cwd=self.dir,
            env=env,
            stdout=open(self._log, "wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter server exited:\n{self.log()}")
            try:
                self.api("GET", "/api/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.proc.kill()
                    raise RuntimeError(f"jupyter server did not start:\n{self.log()}") from None
                time.sleep(0.2)

    def log(self) -> str:
        return self._log.read_text(errors="replace")

    def api(self, method, path, body=None):
        req = urllib.request.Request(
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as res:
            text = res.read()
        return json.loads(text) if text else None

    def write(self, name, content):
        path = self.root / name
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return path

    def read(self, name) -> dict:
        return json.loads((self.root / name).read_text())

    def session(self, path) -> str:
        """A session for the notebook at ``path`` with a new kernel; its kernel id."""
        model = self.api(
            "POST",
            "/api/sessions",
            {"path": path, "name": path, "type": "notebook", "kernel": {"name": "pc-test"}},
        )
        return model["kernel"]["id"]

    def connections(self, kernel_id) -> int:
        return self.api("GET", f"/api/kernels/{kernel_id}")["connections"]

    def session_id(self, kernel_id) -> str:
        """The id of the session whose kernel is ``kernel_id``."""
        (found,) = [
            s["id"] for s in self.api("GET", "/api/sessions") if s["kernel"]["id"] == kernel_id
        ]
        return found

    def stop(self):
        try:
            self.api("POST", "/api/shutdown")
        except OSError:
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Page:
    """A page on a notebook: a kernel websocket, the runtime bootstrapped, a comm open."""

    def __init__(self, server: Server, kernel_id: str, bootstrap=True, replaces=()):
        self.server = server
        self.session = uuid.uuid4().hex
        self.url = (
            f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_id}/channels"
            f"?session_id={self.session}&token={TOKEN}"
        )
        self.ws = websocket.create_connection(self.url, timeout=30)
        self.messages = []  # comm data from the runtime, in order
        self.replies = {}
        self._cv = threading.Condition()
        self._closed = False
        self.comm_id = uuid.uuid4().hex
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if bootstrap:
            reply = self.request("execute_request", {"code": bootstrap_code(), "silent": True})
            assert reply["content"]["status"] == "ok", reply["content"]
        data = {"protocol": 2, **({"replaces": list(replaces)} if replaces else {})}
        self._send("comm_open", {"comm_id": self.comm_id, "target_name": TARGET, "data": data})
        self.wait_type("hello", timeout=30)

    def _send(self, msg_type, content, channel="shell", metadata=None):
        msg_id = uuid.uuid4().hex
        self.ws.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": msg_type,
                        "session": self.session,
                        "username": "test",
                        "version": "5.3",
                        "date": "",
                    },
                    "parent_header": {},
                    "metadata": metadata or {},
                    "content": content,
                    "channel": channel,
                    "buffers": [],
                }
            )
        )
        return msg_id

    def _read(self):
        while not self._closed:
            try:
                text = self.ws.recv()
            except Exception:  # noqa: BLE001 - the socket closed
                return
            if not text or not isinstance(text, str):
                continue
            msg = json.loads(text)
            kind = msg.get("msg_type") or msg["header"]["msg_type"]
            with self._cv:
                if kind == "comm_msg" and msg["content"].get("comm_id") == self.comm_id:
                    self.messages.extend(kernel_messages(msg["content"]["data"]))
                elif msg.get("channel") == "shell":
                    self.replies[msg["parent_header"].get("msg_id")] = msg
                self._cv.notify_all()

    def request(self, msg_type, content, timeout=30, metadata=None):
        msg_id = self._send(msg_type, content, metadata=metadata)
        with self._cv:
            if not self._cv.wait_for(lambda: msg_id in self.replies, timeout):
                raise AssertionError(f"no reply to {msg_type} within {timeout}s")
            return self.replies.pop(msg_id)

    def evaluate(self, expression):
        """``expression``'s repr in the kernel (a silent execute's user expression)."""
        content = {"code": "", "silent": True, "user_expressions": {"x": expression}}
        found = self.request("execute_request", content)["content"]["user_expressions"]["x"]
        assert found["status"] == "ok", found
        return found["data"]["text/plain"]

    def send(self, data):
        self._send("comm_msg", {"comm_id": self.comm_id, "data": data})

    def execute(self, code, cell_id=None, timeout=30):
        """Run ``code`` in the foreground as JupyterLab runs a cell (its id in the
        request's metadata); the ``execute_reply``."""
        metadata = {"cellId": cell_id} if cell_id else None
        return self.request("execute_request", {"code": code, "silent": False}, timeout, metadata)

    def outputs(self, job_id) -> dict:
        """The job's outputs this page heard, by seq."""
        with self._cv:
            found = {}
            for m in self.messages:
                if m.get("type") == "output" and m.get("job_id") == job_id:
                    for k, output in enumerate(m["outputs"]):
                        found[m["seq"] + k] = output
            return found

    def wait_for(self, predicate, timeout=30, start=0):
        with self._cv:
            found = []

            def check():
                found[:] = [m for m in self.messages[start:] if predicate(m)]
                return bool(found)

            if not self._cv.wait_for(check, timeout):
                raise AssertionError(f"no matching message in {timeout}s: {self.messages[-5:]}")
            return found[0]

    def wait_type(self, kind, job_id=None, timeout=30, start=0):
        return self.wait_for(
            lambda m: m.get("type") == kind and job_id in (None, m.get("job_id")), timeout, start
        )

    def submit(self, path, cell_id, code, job_id=None, after=None):
        job_id = job_id or uuid.uuid4().hex
        self.send(
            submit_message(job_id, cell_id, path, code, after=after, source_hash=source_hash(code))
        )
        return job_id

    def jobs(self) -> dict:
        start = len(self.messages)
        self.send({"type": "list"})
        answer = self.wait_type("jobs", start=start)
        return {info["job_id"]: info for info in answer["jobs"]}

    def reconnect(self):
        """The websocket drops and comes back, as JupyterLab reconnects: the same session
        id, the same comm."""
        self._closed = True
        self.ws.close()
        self._reader.join(timeout=5)
        self._closed = False
        self.ws = websocket.create_connection(self.url, timeout=30)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.request("kernel_info_request", {})  # what JupyterLab asks first

    def close(self, close_comm=True):
        """The tab closes: like JupyterLab's page, it closes its comm as it goes (when the
        page can), then the websocket goes."""
        if close_comm:
            self._send("comm_close", {"comm_id": self.comm_id, "data": {}})
        self._closed = True
        self.ws.close()
        self._reader.join(timeout=5)
