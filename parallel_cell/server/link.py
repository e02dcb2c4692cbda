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
import uuid
from typing import Any, Callable

TARGET = "parallel_cell.v2"
PROTOCOL = 2


def _ident(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= 64 else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def job_fields(info: dict) -> dict | None:
    """The fields of a ``queued``/``started`` message or a ``JobInfo`` the server uses, or
    ``None`` when they are not all of the right shape."""
    job_id = _ident(info.get("job_id"))
    if job_id is None:
        return None
    origin = info.get("origin")
    return {
        "job_id": job_id,
        "cell_id": _ident(info.get("cell_id")),
        "notebook": info.get("notebook") if isinstance(info.get("notebook"), str) else None,
        "source_hash": _ident(info.get("source_hash")),
        "origin": origin if origin in ("frontend", "kernel") else "frontend",
        "superseded": info.get("superseded") is True,
        "next_seq": _count(info.get("next_seq")) or 0,
        "ended": info.get("state") in ("done", "error", "killed", "lost"),
    }


class KernelLink:
    """A comm from this server to one kernel's runtime, over the kernel's own channels
    (not a websocket: it counts as no page)."""

    def __init__(self, kernel_manager, on_message: Callable[[dict], None], log):
        self._km = kernel_manager
        self._on_message = on_message
        self._log = log
        self._client = None
        self._reader: asyncio.Task | None = None
        self.comm_id: str | None = None

    async def open(self) -> bool:
        """Open the comm (the caller knows the runtime is in the kernel: a page opened one
        on it). Should the runtime be gone (a kernel restarted), the kernel closes the
        comm and the link ends (``comm_closed``)."""
        from jupyter_client.asynchronous import AsyncKernelClient

        client = AsyncKernelClient()
        client.load_connection_info(self._km.get_connection_info())
        client.start_channels(shell=True, iopub=True, stdin=False, hb=False, control=False)
        self._client = client
        self.comm_id = uuid.uuid4().hex
        self._reader = asyncio.ensure_future(self._read())
        self._send(
            "comm_open",
            {"comm_id": self.comm_id, "target_name": TARGET, "data": {"protocol": PROTOCOL}},
        )
        return True

    def send(self, data: dict) -> None:
        """Send one protocol message to the runtime."""
        if self.comm_id is not None:
            self._send("comm_msg", {"comm_id": self.comm_id, "data": data})

    def _send(self, msg_type: str, content: dict) -> None:
        client = self._client
        if client is None:
            return
        client.shell_channel.send(client.session.msg(msg_type, content))

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
            content = msg.get("content") or {}
            if content.get("comm_id") != self.comm_id:
                continue
            if msg.get("msg_type") == "comm_close":
                self.comm_id = None
                self._on_message({"type": "comm_closed"})
                return
            data = content.get("data")
            if msg.get("msg_type") == "comm_msg" and isinstance(data, dict):
                try:
                    self._on_message(data)
                except Exception:  # noqa: BLE001 - one bad message must not end the link
                    self._log.exception("parallel-cell: a kernel message could not be handled")

    async def close(self) -> None:
        """Close the comm (the runtime stops sending to it) and the channels."""
        if self.comm_id is not None:
            self._send("comm_close", {"comm_id": self.comm_id, "data": {}})
            self.comm_id = None
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
            self._reader = None
        client, self._client = self._client, None
        if client is not None:
            # Give the comm_close a moment to leave before the socket goes.
            await asyncio.sleep(0.05)
            client.stop_channels()
