"""One kernel's job outputs written by the server, from takeover to hand-back.

`away.py` decides when the server writes; this hears the kernel (through `link.py`) and
writes each job's outputs into its cell (`jobs.py`, `documents.py`): one read and one
save per notebook per flush, at most one save per ``save_interval`` while jobs print, at
once when one ends.
"""

from __future__ import annotations

import asyncio

from .cells import find_cell
from .documents import Gone, SharedNotebook
from .jobs import JobOutputs
from .limit import stream_limit
from .link import KernelLink, as_count, as_id, job_fields, msg_list, msg_replay, msg_saved
from .streams import STREAM_LIMIT

GONE = "its notebook is not at its path any more"


class KernelWriter:
    """The server writing one kernel's job outputs, from takeover to hand-back."""

    def __init__(self, writer, kernel_id: str):
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
        self.stream_limit = STREAM_LIMIT

    async def open(self) -> bool:
        km = self.writer.serverapp.kernel_manager.get_kernel(self.kernel_id)
        self.paths = set(await self.writer.session_paths(self.kernel_id))
        if not self.paths:
            return False
        # Read at each takeover: a change the person made in a page holds from the next.
        self.stream_limit = stream_limit(self.writer.serverapp, self.log)
        self.link = KernelLink(km, self._heard, self.log)
        if not await self.link.open():
            return False
        self.link.send(msg_list())
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

    async def finish(self) -> None:
        """Write what is pending (the kernel or the server is going), then let go."""
        try:
            await self.flush(final=True)
        except Exception:  # noqa: BLE001 - the notebook may be gone too
            self.log.exception("parallel-cell: last write for kernel %s failed", self.kernel_id)
        self.stop()
        await self.close()

    # -- what the kernel says (every golden kind: tests/python/test_server_golden.py) -----
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
            job = self._job(msg)
            if job is not None:
                job.ended = True
                self._flush_soon(0)
        elif kind == "threads":
            job = self._job(msg)
            running = as_count(msg.get("running"))
            if job is not None and running is not None:
                job.threads = running
                if not running:
                    self._flush_soon(0)
        elif kind == "cleared" and isinstance(msg.get("job_ids"), list):
            for job_id in msg["job_ids"]:
                if isinstance(job_id, str):
                    self.jobs.pop(job_id, None)
        elif kind == "comm_closed":
            self.log.info("parallel-cell: kernel %s closed the server's comm", self.kernel_id)
            self.stopped = True

    def _job(self, msg: dict) -> JobOutputs | None:
        # Checked first: an unhashable job_id (a list) would raise in the lookup.
        return self.jobs.get(as_id(msg.get("job_id")))

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
            threads=fields["threads"],
        )

    def _output(self, msg: dict) -> None:
        job = self._job(msg)
        seq, outputs = as_count(msg.get("seq")), msg.get("outputs")
        if job is None or seq is None or not isinstance(outputs, list):
            return
        since = job.take(seq, outputs)
        if since is not None:
            self._replay(job, since)
        if job.pending:
            self._flush_soon(self.writer.settings.save_interval)

    def _ask_missing(self, jobs) -> None:
        """Ask a replay for each of ``jobs`` that lacks outputs the kernel has."""
        for job in jobs:
            since = job.missing()
            if since is not None:
                self._replay(job, since)

    def _replay(self, job: JobOutputs, since: int) -> None:
        if self.link is not None:
            self.link.send(msg_replay(job.job_id, since))

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
        self._ask_missing(self.jobs.values())
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
                    index, _ = job.resolve(cells, path)  # its replay: asked by `flush`
                else:
                    index = self._index(cells, job)
                if index is not None and job.write(cells[index], self.stream_limit):
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
        self._ask_missing(jobs)  # before `saved`, which lets the kernel free the logs they read
        # Their logs may go first in the kernel now: the notebook has their outputs.
        saved = [j for j in jobs if j.complete and not j.saved]
        if saved and self.link is not None:
            for job in saved:
                job.saved = True
            self.link.send(msg_saved([j.job_id for j in saved]))
        return True

    @staticmethod
    def _index(cells: list[dict], job: JobOutputs) -> int | None:
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
