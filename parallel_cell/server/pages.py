"""The runtime comms pages open over their kernel websockets; the ones a page leaves open
are closed for it when its websocket goes.

A page closes its comm as it leaves, but not always: a browser tab killed sends nothing,
and with JupyterLab ≥ 4.4 on ipykernel 7 the page's subshell can be deleted (control
channel) before its ``comm_close`` (shell channel) is handled, and the kernel drops the
close ("Unknown subshell_id"). The runtime would then send every message to that dead
comm too, for as long as the kernel lives. So the server notes each runtime comm a page
opens, forgets those a newer page ``replaces``, and closes what is left once the page's
websocket has been closed for ``comm_grace`` seconds without the same page (its session
id) reconnecting, if the kernel still has them. A reconnecting page keeps its comms: a
network drop is not a page gone. (A page's last ``comm_close`` can be lost with its
websocket: seen in tests/python/test_pages.py, a close sent just before the socket closed
did not reach the kernel; so the kernel is asked, not the page's messages.)

The look at a page's messages is cheap (a byte search; a regex only on runtime comm
opens), and never changes or holds them.
"""

from __future__ import annotations

import asyncio
import functools
import re

from .link import TARGET, kernel_client

_PATCHED = "_parallel_cell_pages"
_TARGET = TARGET.encode()
_ID = rb'"([A-Za-z0-9_.:-]{1,64})"'
_COMM_ID = re.compile(rb'"comm_id"\s*:\s*' + _ID)  # an unescaped key: not inside a string
_REPLACES = re.compile(rb'"replaces"\s*:\s*\[([^\]]{0,5000})\]')  # a reloaded page's old ids


class PageComms:
    """What pages opened: the kernels with a runtime comm, and each open comm's page."""

    def __init__(self, serverapp, grace: float):
        self.serverapp = serverapp
        self.log = serverapp.log
        self.grace = grace
        self.runtime_kernels: set[str] = set()  # kernels a page opened a runtime comm on
        self.owners: dict[str, object] = {}  # comm id → the websocket handler it came by
        self._waiting: dict[tuple, tuple] = {}  # page → (timer, its comm ids): gone for now

    def heard(self, handler, message) -> None:
        """A message a page sent over ``handler``'s websocket."""
        if self._waiting:
            waiting = self._waiting.pop(_page(handler), None)
            if waiting is not None:  # the same page, reconnected: its comms live on
                waiting[0].cancel()
                self.owners.update(dict.fromkeys(waiting[1], handler))
        probe = message if isinstance(message, bytes) else str(message).encode()
        if b"comm_open" in probe and _TARGET in probe:
            self.runtime_kernels.add(handler.kernel_id)
            found = _COMM_ID.search(probe)
            if found is not None:
                self.owners[found.group(1).decode()] = handler
            replaced = _REPLACES.search(probe)
            for old in re.findall(_ID, replaced.group(1)) if replaced else ():
                self.owners.pop(old.decode(), None)  # the runtime drops them itself

    def gone(self, handler) -> None:
        """``handler``'s websocket closed: unless its page reconnects within the grace,
        close the runtime comms it left open."""
        left = [cid for cid, owner in self.owners.items() if owner is handler]
        for cid in left:
            del self.owners[cid]
        if not left:
            return
        page = _page(handler)
        earlier = self._waiting.pop(page, None)
        if earlier is not None:
            earlier[0].cancel()
            left += earlier[1]
        timer = asyncio.get_event_loop().call_later(self.grace, self._expire, page)
        self._waiting[page] = (timer, left)

    def _expire(self, page: tuple) -> None:
        _, comm_ids = self._waiting.pop(page, (None, []))
        if comm_ids:
            asyncio.ensure_future(self._close(page[0], comm_ids))

    async def _close(self, kernel_id: str, comm_ids: list[str], wait: float = 60.0) -> None:
        km = self.serverapp.kernel_manager
        if kernel_id not in km.list_kernel_ids():
            return
        client = None
        try:
            client = kernel_client(km.get_kernel(kernel_id))
            left = await _still_open(client, comm_ids, wait)
            for cid in left:
                client.shell_channel.send(client.session.msg("comm_close", {"comm_id": cid}))
            await asyncio.sleep(0.1)  # the socket sends before it is closed
        except Exception:  # noqa: BLE001 - never break the server for this
            self.log.exception("parallel-cell: could not close a page's comm")
            return
        finally:
            if client is not None:
                client.stop_channels()
        if left:
            self.log.info(
                "parallel-cell: closed %d runtime comm(s) a page left open on kernel %s",
                len(left),
                kernel_id,
            )


async def _still_open(client, comm_ids: list[str], wait: float) -> list[str]:
    """Those of ``comm_ids`` the kernel still has open. A page's own close may have reached
    it (closing one again would log "No such comm"), or may have been lost with the
    websocket: asked, not guessed. Not answered within ``wait`` s (a busy foreground on
    ipykernel 6): all of them."""
    loop = asyncio.get_event_loop()
    deadline = loop.time() + wait
    asked = client.comm_info(TARGET)
    while True:
        try:
            reply = await client.get_shell_msg(timeout=max(0.0, deadline - loop.time()))
        except Exception:  # noqa: BLE001 - queue.Empty: no answer in time
            return comm_ids
        if reply.get("parent_header", {}).get("msg_id") == asked:
            comms = (reply.get("content") or {}).get("comms")
            return [c for c in comm_ids if isinstance(comms, dict) and c in comms]


def _page(handler) -> tuple:
    """The page a websocket serves: its kernel and its session id, which JupyterLab keeps
    across reconnects (without one: this websocket only)."""
    page = getattr(handler, "_parallel_cell_page", None)
    if page is None:
        session = handler.get_argument("session_id", None) or f"socket-{id(handler)}"
        page = handler._parallel_cell_page = (handler.kernel_id, session)
    return page


def watch(serverapp, grace: float = 150.0) -> PageComms:
    """Watch every kernel websocket's messages and closing (once per process; a later
    call hands the watching to its own ``PageComms``)."""
    from jupyter_server.services.kernels.websocket import KernelWebsocketHandler as Handler

    pages = PageComms(serverapp, grace)
    Handler._parallel_cell_pages = pages
    if getattr(Handler.on_message, _PATCHED, False):
        return pages
    on_message, on_close = Handler.on_message, Handler.on_close

    @functools.wraps(on_message)
    def heard(handler, message):
        try:
            handler._parallel_cell_pages.heard(handler, message)
        except Exception:  # noqa: BLE001 - a look only: the message goes on regardless
            handler.log.exception("parallel-cell: could not read a page's message")
        return on_message(handler, message)

    @functools.wraps(on_close)
    def gone(handler):
        try:
            return on_close(handler)
        finally:
            handler._parallel_cell_pages.gone(handler)

    setattr(heard, _PATCHED, True)
    Handler.on_message, Handler.on_close = heard, gone
    return pages
