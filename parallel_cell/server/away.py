"""Job outputs reach their notebook while no page holds it.

One writer at a time, never a duplicate:

- While a page is connected to a kernel (a kernel websocket), the page writes its jobs'
  outputs into the cells, and the server writes nothing.
- When the last page's websocket closes and none comes back within ``takeover_delay``,
  the server opens its own comm to the kernel's runtime (if the runtime is there), asks
  for the jobs, and for each one finds its cell in the notebook of the kernel's session
  (the server's own records, never a path a kernel message names) and goes on from the
  cell's replay mark: it asks the kernel to replay what the cell lacks, then writes
  outputs as they come, at most one save per ``save_interval`` per notebook and at once
  when a job ends. With jupyter-collaboration holding the notebook's shared document, it
  writes into that document (which saves itself); otherwise into the file.
- When a page connects again, the server stops at once, before that page can ask the
  kernel for anything, and drops what it had not written: the page asks the kernel for
  whatever its cells' marks lack. A notebook file read through the contents API while
  the server writes it (a page opening it) is not written again for ``hold_after_read``
  seconds, so the page's copy is not older than the file behind its back.
"""

from __future__ import annotations

import asyncio
import functools

from jupyter_server.utils import ensure_async

from . import pages
from .documents import FileNotebook, SharedNotebook
from .writer import KernelWriter

_PATCHED = "_parallel_cell_away"


class AwayWriter:
    """Watches kernel connections and writes for the kernels no page holds."""

    def __init__(self, serverapp, settings):
        self.serverapp = serverapp
        self.settings = settings
        self.log = serverapp.log
        self._away: dict[str, KernelWriter] = {}  # kernel id → the server writing for it
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._holds: dict[str, float] = {}  # notebook path → loop time the hold ends
        self._locks: dict[str, asyncio.Lock] = {}
        self._cm_get = serverapp.contents_manager.get
        self._pages: pages.PageComms | None = None  # what pages opened (set by start)
        self._sweeper: asyncio.Task | None = None

    # -- watching ---------------------------------------------------------------------
    def start(self) -> None:
        km = self.serverapp.kernel_manager
        cm = self.serverapp.contents_manager
        if not hasattr(km, "notify_connect") or getattr(km.notify_connect, _PATCHED, False):
            self.log.warning(
                "parallel-cell: this jupyter_server does not report kernel connections; "
                "job outputs are written by pages only"
            )
            return
        connect, disconnect = km.notify_connect, km.notify_disconnect

        def notify_connect(kernel_id):
            connect(kernel_id)
            self._page_came(kernel_id)

        def notify_disconnect(kernel_id):
            disconnect(kernel_id)
            if self._connections(kernel_id) == 0:
                self._schedule_takeover(kernel_id)

        setattr(notify_connect, _PATCHED, True)
        km.notify_connect, km.notify_disconnect = notify_connect, notify_disconnect

        get = self._cm_get

        @functools.wraps(get)
        async def watched_get(path, content=True, type=None, format=None, **kwargs):
            key = path.strip("/")  # the contents API's paths may start with "/"
            if content and type in (None, "notebook") and self._writes(key):
                self._holds[key] = self._now() + self.settings.hold_after_read
                async with self._lock(key):  # a save under way ends before the read
                    pass
            return await ensure_async(
                get(path, content=content, type=type, format=format, **kwargs)
            )

        cm.get = watched_get
        self._pages = pages.watch(self.serverapp, self.settings.comm_grace)
        self.log.info("parallel-cell: job outputs reach notebooks no page holds")

    def _connections(self, kernel_id: str) -> int:
        km = self.serverapp.kernel_manager
        try:
            return int(km.kernel_model(kernel_id).get("connections", 0))
        except Exception:  # noqa: BLE001 - the kernel is gone
            return -1

    def _now(self) -> float:
        return asyncio.get_event_loop().time()

    def _schedule_takeover(self, kernel_id: str) -> None:
        if kernel_id in self._away or kernel_id in self._pending:
            return
        loop = asyncio.get_event_loop()
        self._pending[kernel_id] = loop.call_later(
            self.settings.takeover_delay,
            lambda: asyncio.ensure_future(self._takeover(kernel_id)),
        )

    async def _takeover(self, kernel_id: str) -> None:
        self._pending.pop(kernel_id, None)
        if self._pages is None or kernel_id not in self._pages.runtime_kernels:
            return
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.ensure_future(self._sweep())
        if self._connections(kernel_id) != 0 or kernel_id in self._away:
            return
        away = KernelWriter(self, kernel_id)
        self._away[kernel_id] = away
        try:
            opened = await away.open()
        except Exception:  # noqa: BLE001 - never break the server for this
            self.log.exception("parallel-cell: could not link to kernel %s", kernel_id)
            opened = False
        if not opened or self._away.get(kernel_id) is not away:
            if self._away.get(kernel_id) is away:
                del self._away[kernel_id]
            await away.close()
            return
        if self._connections(kernel_id) != 0:  # a page came while the comm opened
            self._page_came(kernel_id)

    async def _sweep(self, every: float = 5.0) -> None:
        """Let go of kernels that were shut down while the server wrote for them (a culler,
        the API): what is pending is written, the link closed."""
        while self._away or (self._pages and self._pages.runtime_kernels):
            await asyncio.sleep(every)
            alive = set(self.serverapp.kernel_manager.list_kernel_ids())
            self._pages.runtime_kernels &= alive
            for kernel_id in [k for k in self._away if k not in alive]:
                await self._away.pop(kernel_id).finish()
                self.log.info(
                    "parallel-cell: kernel %s was shut down; the server stopped writing for it",
                    kernel_id,
                )

    def _page_came(self, kernel_id: str) -> None:
        """A page connected to the kernel: it writes from now on (synchronous, so nothing
        of ours is written after the page can ask the kernel anything)."""
        timer = self._pending.pop(kernel_id, None)
        if timer is not None:
            timer.cancel()
        away = self._away.pop(kernel_id, None)
        if away is not None:
            away.stop()
            asyncio.ensure_future(away.close())
            self.log.info(
                "parallel-cell: a page holds kernel %s again: it writes its job outputs", kernel_id
            )

    async def stop(self) -> None:
        """The server stops: write what is pending, then let go of every kernel."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        for timer in self._pending.values():
            timer.cancel()
        self._pending.clear()
        aways = list(self._away.values())
        self._away.clear()
        for away in aways:
            await away.finish()

    # -- notebooks ----------------------------------------------------------------------
    def _writes(self, path: str) -> bool:
        return any(path in away.paths for away in self._away.values())

    def _lock(self, path: str) -> asyncio.Lock:
        return self._locks.setdefault(path, asyncio.Lock())

    def held(self, path: str) -> float:
        """Seconds left before the file at ``path`` may be written again (0: it may)."""
        until = self._holds.get(path)
        if until is None:
            return 0.0
        left = until - self._now()
        if left <= 0:
            del self._holds[path]
            return 0.0
        return left

    async def document(self, path: str):
        """The shared document jupyter-collaboration holds for ``path``, else the file."""
        ydoc = self.serverapp.web_app.settings.get("jupyter_server_ydoc")
        if ydoc is not None:
            try:
                shared = await ydoc.get_document(
                    path=path, content_type="notebook", file_format="json", copy=False
                )
            except Exception as err:  # noqa: BLE001 - no room for it: the file then
                self.log.debug("parallel-cell: no shared document for %s (%s)", path, err)
                shared = None
            if shared is not None:
                return SharedNotebook(shared)
        doc = FileNotebook(self.serverapp.contents_manager, path, self._cm_get)
        await doc.load()
        return doc

    async def session_paths(self, kernel_id: str) -> list[str]:
        sessions = await ensure_async(self.serverapp.session_manager.list_sessions())
        return [
            s["path"].strip("/")
            for s in sessions
            if (s.get("kernel") or {}).get("id") == kernel_id
            and s.get("type", "notebook") == "notebook"
            and isinstance(s.get("path"), str)
        ]
