"""The server's own comm to a kernel's parallel-cell runtime.

While no page holds a notebook, the server speaks the protocol a page speaks (version 2,
``docs/protocol.md``): it opens a comm on the runtime's target, asks for the jobs, asks
for replays, and hears outputs and ends. It opens one only on a kernel a page opened a
runtime comm on: the server never runs code in a kernel.

Everything a kernel sends is untrusted: messages are checked for shape here, and a
message that is not understood is dropped with a debug line, never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from typing import Any, Callable

TARGET = "parallel_cell.v2"
PROTOCOL = 2


U64 = 2**64 - 1  # seqs and counts are u64 on the wire (crate/src/protocol/kernel.rs)


# An id as the runtime checks it (runtime/protocol.py's _ID_RE; test_server_golden ties them).
ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}\Z")


def as_id(value: Any) -> str | None:
    return value if isinstance(value, str) and ID_RE.match(value) else None


def as_count(value: Any) -> int | None:
    """``value`` if it is an integer from 0 to u64's largest (not ``True``), else ``None``."""
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= U64
    return value if ok else None


def job_fields(info: dict) -> dict | None:
    """The fields of a ``queued``/``started`` message or a ``JobInfo`` the server uses, or
    ``None`` when they are not all of the right shape."""
    job_id = as_id(info.get("job_id"))
    if job_id is None:
        return None
    origin = info.get("origin")
    return {
        "job_id": job_id,
        "cell_id": as_id(info.get("cell_id")),
        "notebook": info.get("notebook") if isinstance(info.get("notebook"), str) else None,
        "source_hash": as_id(info.get("source_hash")),
        "origin": origin if origin in ("frontend", "kernel") else "frontend",
        "superseded": info.get("superseded") is True,
        "next_seq": as_count(info.get("next_seq")) or 0,
        "ended": info.get("state") in ("done", "error", "killed", "lost"),
        "threads": as_count(info.get("threads")) or 0,
    }


# What the server sends, built here only (tests/python/test_protocol.py holds each to its
# golden in tests/golden/client, as the Rust core's are).
def open_data() -> dict:
    """The data of the comm opening."""
    return {"protocol": PROTOCOL}


def msg_list() -> dict:
    return {"type": "list"}


def msg_replay(job_id: str, since: int) -> dict:
    return {"type": "replay", "job_id": job_id, "since": since}


def msg_saved(job_ids: list[str]) -> dict:
    return {"type": "saved", "job_ids": job_ids}


def kernel_client(kernel, iopub: bool = False, control: bool = False):
    """An ``AsyncKernelClient`` on the channels of ``kernel`` (its manager): shell, and
    iopub and control if asked; the caller stops them (``stop_channels``)."""
    from jupyter_client.asynchronous import AsyncKernelClient

    client = AsyncKernelClient()
    client.load_connection_info(kernel.get_connection_info())
    try:
        client.start_channels(shell=True, iopub=iopub, stdin=False, hb=False, control=control)
    except BaseException:
        client.stop_channels()  # those that did start
        raise
    return client


class KernelLink:
    """A comm from this server to one kernel's runtime, over the kernel's own channels
    (not a websocket: it counts as no page)."""

    def __init__(self, kernel_manager, on_message: Callable[[dict], None], log):
        self._km = kernel_manager
        self._on_message = on_message
        self._log = log
        self._client = None
        self._reader: asyncio.Task | None = None
        self._subshell: str | None = None
        self.comm_id: str | None = None

    async def open(self, timeout: float = 10.0) -> bool:
        """Open the comm (the caller knows the runtime is in the kernel: a page opened one
        on it). Should the runtime be gone (a kernel restarted), the kernel closes the
        comm and the link ends (``comm_closed``). ``False`` if the kernel does not answer
        on its control channel within ``timeout`` s."""
        self._client = kernel_client(self._km, iopub=True, control=True)
        info = await self._ready(timeout)
        if info is None:
            await self.close()
            return False
        if "kernel subshells" in (info.get("supported_features") or []):
            # A subshell answers at once even while a foreground cell runs (ipykernel 7).
            self._subshell = await self._control("create_subshell_request", timeout)
            self._subshell = (self._subshell or {}).get("subshell_id")
        self.comm_id = uuid.uuid4().hex
        self._reader = asyncio.ensure_future(self._read())
        self._send(
            "comm_open",
            {"comm_id": self.comm_id, "target_name": TARGET, "data": open_data()},
        )
        return True

    async def _ready(self, timeout: float) -> dict | None:
        """The kernel's ``kernel_info``, once this client's iopub subscription is live (a
        new subscriber misses what is published before it connects): asked on the control
        channel, which a busy foreground does not hold up."""
        client = self._client
        loop = asyncio.get_event_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            msg = client.session.msg("kernel_info_request", {})
            client.control_channel.send(msg)
            heard = loop.time() + 0.5
            reply = None
            while loop.time() < heard:
                try:
                    got = await client.get_iopub_msg(timeout=max(0.01, heard - loop.time()))
                except Exception:  # noqa: BLE001 - nothing yet (queue.Empty)
                    continue
                if got.get("parent_header", {}).get("msg_id") == msg["header"]["msg_id"]:
                    reply = await self._control_reply(msg["header"]["msg_id"], deadline)
                    return (reply or {}).get("content") or {}
        return None

    async def _control(self, msg_type: str, timeout: float) -> dict | None:
        client = self._client
        msg = client.session.msg(msg_type, {})
        client.control_channel.send(msg)
        reply = await self._control_reply(
            msg["header"]["msg_id"], asyncio.get_event_loop().time() + timeout
        )
        content = (reply or {}).get("content") or {}
        return content if content.get("status") == "ok" else None

    async def _control_reply(self, msg_id: str, deadline: float) -> dict | None:
        loop = asyncio.get_event_loop()
        while loop.time() < deadline:
            try:
                reply = await self._client.get_control_msg(
                    timeout=max(0.01, deadline - loop.time())
                )
            except Exception:  # noqa: BLE001 - no reply in time
                return None
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return reply
        return None

    async def _shell_round_trip(self, timeout: float) -> None:
        msg_id = self._send("comm_info_request", {"target_name": TARGET})
        loop = asyncio.get_event_loop()
        deadline = loop.time() + timeout
        while msg_id is not None and loop.time() < deadline:
            try:
                reply = await self._client.get_shell_msg(timeout=max(0.01, deadline - loop.time()))
            except Exception:  # noqa: BLE001 - no reply in time: go on closing
                return
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return

    def send(self, data: dict) -> None:
        """Send one protocol message to the runtime."""
        if self.comm_id is not None:
            self._send("comm_msg", {"comm_id": self.comm_id, "data": data})

    def _send(self, msg_type: str, content: dict) -> str | None:
        client = self._client
        if client is None:
            return None
        msg = client.session.msg(msg_type, content)
        if self._subshell is not None:
            msg["header"]["subshell_id"] = self._subshell
        client.shell_channel.send(msg)
        return msg["header"]["msg_id"]

    async def _read(self) -> None:
        client = self._client
        while client is not None:
            try:
                msg = await client.get_iopub_msg()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - a closed socket ends the reader
                self._log.debug("parallel-cell: iopub reader ended: %s", err)
                return
            content = msg.get("content")
            if not isinstance(content, dict) or content.get("comm_id") != self.comm_id:
                continue
            if msg.get("msg_type") == "comm_close":
                self.comm_id = None
                self._on_message({"type": "comm_closed"})
                return
            data = content.get("data")  # a list: messages the kernel sent in one go
            if msg.get("msg_type") != "comm_msg":
                continue
            for item in data if isinstance(data, list) else [data]:
                if not isinstance(item, dict):
                    continue
                try:
                    self._on_message(item)
                except Exception:  # noqa: BLE001 - one bad message must not end the link
                    self._log.exception("parallel-cell: a kernel message could not be handled")

    async def close(self) -> None:
        """Close the comm (the runtime stops sending to it) and the channels."""
        if self.comm_id is not None:
            self._send("comm_close", {"comm_id": self.comm_id, "data": {}})
            self.comm_id = None
            if self._subshell is not None:
                # A subshell handles its messages in order, and the delete below goes on
                # the control channel, which overtakes them: a reply to a request sent
                # after the close says the kernel has handled it ("Unknown subshell_id"
                # otherwise, and the runtime keeps sending to a comm nobody holds).
                await self._shell_round_trip(1.0)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
            self._reader = None
        if self._subshell is not None and self._client is not None:
            msg = self._client.session.msg(
                "delete_subshell_request", {"subshell_id": self._subshell}
            )
            self._client.control_channel.send(msg)
            self._subshell = None
        client, self._client = self._client, None
        if client is not None:
            # Give the last messages a moment to leave before the sockets go.
            await asyncio.sleep(0.05)
            client.stop_channels()
