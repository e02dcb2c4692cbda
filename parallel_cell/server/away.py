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
import contextlib
import functools

from jupyter_server.utils import ensure_async

from .documents import FileNotebook, Gone, SharedNotebook
from .jobs import JobOutputs
from .link import TARGET, KernelLink, job_fields

_PATCHED = "_parallel_cell_away"
TARGET_BYTES = TARGET.encode()
GONE = "its notebook is not at its path any more"


class AwayWriter:
    """Watches kernel connections and writes for the kernels no page holds."""

    def __init__(self, serverapp, settings):
        self.serverapp = serverapp
        self.settings = settings
        self.log = serverapp.log
        self._away: dict[str, Away] = {}  # kernel id → the server writing for it
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._holds: dict[str, float] = {}  # notebook path → loop time the hold ends
        self._locks: dict[str, asyncio.Lock] = {}
        self._cm_get = serverapp.contents_manager.get
        self._runtime_kernels: set[str] = set()  # kernels a page opened a runtime comm on

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
        self._watch_comm_opens()
        self.log.info("parallel-cell: job outputs reach notebooks no page holds")

    def _watch_comm_opens(self) -> None:
        """Note the kernels a page opened a runtime comm on. The server opens its own comm
        only there: the runtime is known to be in them (a page closes its comm when it
        leaves, so the kernel's list of open comms cannot say it)."""
        from jupyter_server.services.kernels.websocket import KernelWebsocketHandler

        seen = self._runtime_kernels
        original = KernelWebsocketHandler.on_message
        if getattr(original, _PATCHED, False):
            KernelWebsocketHandler._parallel_cell_seen = seen
            return

        @functools.wraps(original)
        def on_message(handler, message):
            # A cheap look at what a page sends (no parsing): a comm_open on our target.
            probe = message if isinstance(message, bytes) else str(message).encode()
            if TARGET_BYTES in probe and b"comm_open" in probe:
                handler._parallel_cell_seen.add(handler.kernel_id)
            return original(handler, message)

        setattr(on_message, _PATCHED, True)
        KernelWebsocketHandler._parallel_cell_seen = seen
        KernelWebsocketHandler.on_message = on_message

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
        if kernel_id not in self._runtime_kernels:
            return
        if self._connections(kernel_id) != 0 or kernel_id in self._away:
            return
        away = Away(self, kernel_id)
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
        for timer in self._pending.values():
            timer.cancel()
        self._pending.clear()
        aways = list(self._away.values())
        self._away.clear()
        for away in aways:
            with contextlib.suppress(Exception):
                await away.flush(final=True)
            away.stop()
            await away.close()

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


class Away:
    """The server writing one kernel's job outputs, from takeover to hand-back."""

    def __init__(self, writer: AwayWriter, kernel_id: str):
        self.writer = writer
        self.kernel_id = kernel_id
        self.log = writer.log
        self.jobs: dict[str, JobOutputs] = {}
        self.paths: set[str] = set()
        self.stopped = False
        self.link: KernelLink | None = None
        self._flushing: asyncio.Task | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_save: dict[str, float] = {}
        self._gone: set[str] = set()

    async def open(self) -> bool:
        km = self.writer.serverapp.kernel_manager.get_kernel(self.kernel_id)
        self.paths = set(await self.writer.session_paths(self.kernel_id))
        if not self.paths:
            return False
        self.link = KernelLink(km, self._heard, self.log)
        if not await self.link.open():
            return False
        self.link.send({"type": "list"})
        self.log.info(
            "parallel-cell: no page holds kernel %s: the server writes its job outputs into %s",
            self.kernel_id,
            ", ".join(sorted(self.paths)),
        )
        return True

    def stop(self) -> None:
        self.stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def close(self) -> None:
        if self.link is not None:
            await self.link.close()

    # -- what the kernel says -------------------------------------------------------------
    def _heard(self, msg: dict) -> None:
        if self.stopped:
            return
        kind = msg.get("type")
        if kind == "jobs" and isinstance(msg.get("jobs"), list):
            for info in msg["jobs"]:
                if isinstance(info, dict):
                    self._know(info)
            self._flush_soon(0)
        elif kind in ("queued", "started"):
            self._know(msg)
        elif kind == "output":
            self._output(msg)
        elif kind == "finished":
            job = self.jobs.get(msg.get("job_id"))
            if job is not None:
                job.ended = True
                self._flush_soon(0)
        elif kind == "cleared" and isinstance(msg.get("job_ids"), list):
            for job_id in msg["job_ids"]:
                self.jobs.pop(job_id, None) if isinstance(job_id, str) else None
        elif kind == "comm_closed":
            self.log.info("parallel-cell: kernel %s closed the server's comm", self.kernel_id)
            self.stopped = True

    def _know(self, info: dict) -> None:
        fields = job_fields(info)
        if fields is None or fields["job_id"] in self.jobs:
            return
        if fields["superseded"] or (fields["cell_id"] is None and fields["source_hash"] is None):
            return
        self.jobs[fields["job_id"]] = JobOutputs(
            job_id=fields["job_id"],
            cell_id=fields["cell_id"],
            source_hash=fields["source_hash"],
            origin=fields["origin"],
            notebook=fields["notebook"],
            ended=fields["ended"],
            known_next=fields["next_seq"],
        )

    def _output(self, msg: dict) -> None:
        job = self.jobs.get(msg.get("job_id"))
        seq, outputs = msg.get("seq"), msg.get("outputs")
        if job is None or not isinstance(seq, int) or seq < 0 or not isinstance(outputs, list):
            return
        since = job.take(seq, outputs)
        if since is not None:
            self._replay(job, since)
        if job.pending:
            self._flush_soon(self.writer.settings.save_interval)

    def _replay(self, job: JobOutputs, since: int) -> None:
        if self.link is not None:
            self.link.send({"type": "replay", "job_id": job.job_id, "since": since})

    # -- writing --------------------------------------------------------------------------
    def _flush_soon(self, delay: float) -> None:
        if self.stopped:
            return
        loop = asyncio.get_event_loop()
        when = loop.time() + delay
        if self._timer is not None:
            if self._timer.when() <= when:
                return
            self._timer.cancel()
        self._timer = loop.call_at(when, self._start_flush)

    def _start_flush(self) -> None:
        self._timer = None
        if self._flushing is not None and not self._flushing.done():
            self._flush_soon(0.1)
            return
        self._flushing = asyncio.ensure_future(self.flush())
        self._flushing.add_done_callback(self._flushed)

    def _flushed(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.log.error(
                "parallel-cell: writing kernel %s's job outputs failed",
                self.kernel_id,
                exc_info=task.exception(),
            )

    async def flush(self, final: bool = False) -> None:
        """Write what is pending, one read and one save per notebook."""
        looked: set[str] = set()  # unresolved jobs looked for in a notebook
        deferred: set[str] = set()  # unresolved jobs whose notebook was not read this time
        for path in sorted(self.paths - self._gone):
            jobs = [j for j in self.jobs.values() if j.has_work and self._may_go(j, path)]
            if not jobs:
                continue
            unresolved = {j.job_id for j in jobs if j.next is None}
            read = await self._write(path, jobs, final)
            (looked if read else deferred).update(unresolved)
        for job in self.jobs.values():
            if job.next is None and job.dropped is None and job.job_id in looked - deferred:
                # Not found in any notebook of the kernel: say so once, leave it.
                job.dropped = job.why or "its cell is not in the notebook any more"
                self.log.warning(
                    "parallel-cell: job %s's output is not written: %s", job.job_id, job.dropped
                )
            since = job.missing()
            if since is not None:
                self._replay(job, since)
        if self._gone and not self.stopped:
            await self._follow_sessions()

    async def _follow_sessions(self) -> None:
        """A notebook was not at its path: if its session moved on (a rename the page
        made), write at the new path from its cells' marks."""
        paths = set(await self.writer.session_paths(self.kernel_id))
        moved = paths - self.paths
        if not moved:
            return
        self.paths = paths
        self._gone &= paths
        for job in self.jobs.values():
            if job.dropped == GONE:
                job.restart()
        self.log.info(
            "parallel-cell: kernel %s's notebook is now %s: the server writes there",
            self.kernel_id,
            ", ".join(sorted(moved)),
        )
        self._flush_soon(0)

    def _may_go(self, job: JobOutputs, path: str) -> bool:
        if job.path is not None:
            return job.path == path
        # The page's path for the job is a hint among the kernel's sessions, nothing more.
        return job.notebook not in self.paths or job.notebook == path

    async def _write(self, path: str, jobs: list[JobOutputs], final: bool) -> bool:
        """Write ``jobs`` into the notebook at ``path``; whether it was read (``False``:
        not due yet, or held)."""
        writer = self.writer
        loop = asyncio.get_event_loop()
        due = self._last_save.get(path, -1e9) + writer.settings.save_interval - loop.time()
        wait = max(writer.held(path), 0.0 if any(j.ended for j in jobs) else due)
        if wait > 0 and not final:
            self._flush_soon(wait)
            return False
        async with writer._lock(path):
            if self.stopped and not final:
                return False
            try:
                doc = await writer.document(path)
            except Gone:
                self._lost(path, jobs)
                return True
            if not isinstance(doc, SharedNotebook) and writer.held(path) and not final:
                # A page is opening the file: it must not change under it (checked before
                # any job takes its outputs as written).
                self._flush_soon(writer.held(path))
                return False
            cells = doc.cells()
            changed: dict[int, dict] = {}
            for job in jobs:
                if job.next is None:
                    index, _ = job.resolve(cells, path)
                    since = job.missing()
                    if since is not None:
                        self._replay(job, since)
                else:
                    index = self._index(cells, job)
                if index is not None and job.write(cells[index]):
                    changed[index] = cells[index]
            if self.stopped and not final:
                return True
            if changed and isinstance(doc, SharedNotebook):
                doc.write(changed)
            elif changed:
                try:
                    await doc.save()
                except Gone:
                    self._lost(path, jobs)
                    return True
            if changed:
                self._last_save[path] = loop.time()
        # Their logs may go first in the kernel now: the notebook has their outputs.
        saved = [j for j in jobs if j.complete and not j.saved]
        if saved and self.link is not None:
            for job in saved:
                job.saved = True
            self.link.send({"type": "saved", "job_ids": [j.job_id for j in saved]})
        return True

    @staticmethod
    def _index(cells: list[dict], job: JobOutputs) -> int | None:
        from .cells import find_cell

        index, _ = find_cell(cells, job.cell_id, job.source_hash)
        return index

    def _lost(self, path: str, jobs: list[JobOutputs]) -> None:
        self._gone.add(path)
        for job in jobs:
            job.dropped = GONE
            job.pending = []
        self.log.warning(
            "parallel-cell: %s is not there any more (renamed, moved or deleted): the outputs "
            "of its background jobs are not written; they stay in kernel %s for a page to show",
            path,
            self.kernel_id,
        )
