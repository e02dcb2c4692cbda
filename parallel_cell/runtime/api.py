"""The user API: the spirit of IPython's BackgroundJobManager, without its faults.

``jobs`` (status, result, traceback, kill, flush, wait), ``map`` and ``%job``/``%%job``.
"""

import re
import time

from . import kernel as _kernel
from .config import Config, now_ms
from .executor import NO_RESULT
from .job import TERMINAL
from .records import logged_text
from .threads import checkpoint

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # IPython colours tracebacks with SGR only
_KILL_RE = re.compile(r"--kill\s+(\d+)")


def plain_traceback(lines):
    """Traceback lines (as a job's error carries them) joined, without ANSI colours."""
    return _ANSI_RE.sub("", "\n".join(lines))


def _runtime():
    return _kernel.current()


def _foreground_cell_id():
    """The cell id JupyterLab puts in an execute_request's metadata, if any."""
    runtime = _kernel._RUNTIME
    shell = runtime.shell if runtime is not None else None
    parent = getattr(shell, "parent_header", None) or {}
    cell_id = (parent.get("metadata") or {}).get("cellId")
    return cell_id if isinstance(cell_id, str) else None


class _Text(str):
    """Text that shows as itself (not as a quoted string) when it ends a cell."""

    def __repr__(self):
        return str(self)

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


class JobManager:
    """``jobs``: start, inspect and kill background jobs from code.

    Numbers are never reused (``flush()`` only forgets finished jobs), ``traceback(n)``
    returns text, and a killed job is reported ``killed``, never left ``running``.
    """

    def new(self, code_or_func, *args, **kwargs):
        """Start a job: a cell's source (any statements) or a callable with arguments."""
        rt = _runtime()
        if isinstance(code_or_func, str):
            job = rt.start_job(code_or_func, "kernel", _foreground_cell_id())
        elif callable(code_or_func):
            job = rt.start_job(
                None, "kernel", _foreground_cell_id(), func=lambda: code_or_func(*args, **kwargs)
            )
        else:
            raise TypeError("jobs.new() takes a string of code or a callable")
        return job.num

    def _get(self, n):
        rt = _runtime()
        with rt.lock:
            for job in rt.jobs.values():
                if job.num == n or job.job_id == n:
                    return job
        raise KeyError(f"no job {n!r}")

    def __getitem__(self, n):
        return self._get(n)

    def status(self):
        """A table of every job: number, state, elapsed time, origin, where it runs (a
        thread, or a Dask worker), names it bound; for a job waiting in the queue, what
        it waits for."""
        rt = _runtime()
        with rt.lock:
            jobs = sorted(rt.jobs.values(), key=lambda j: j.num)
        lines = [f"{'#':>4}  {'state':<10} {'time':>8}  origin    {'where':<24}  assigned"]
        for job in jobs:
            end = job.ended_at if job.ended_at is not None else now_ms()
            secs = (end - job.started_at) / 1000.0 if job.started_at is not None else 0.0
            names = ", ".join(job.assigned)
            where = "thread" if job.target == "thread" else f"dask {job.worker or '(queued)'}"
            head = f"{job.num:>4}  {job.state:<10} {secs:>7.1f}s  {job.origin:<8}"
            waits = rt.queue.waits_for(job)
            if waits is not None:
                names = f"(waits for {waits})"
            lines.append(f"{head}  {where:<24}  {names}")
        return _Text("\n".join(lines))

    def state(self, n):
        return self._get(n).state

    def wait(self, n, timeout=None):
        """Wait for job ``n`` to end; returns its state."""
        job = self._get(n)
        job.done_event.wait(timeout)
        return job.state

    def result(self, n):
        """The value of the job's last expression (or its function's return value)."""
        job = self._get(n)
        if job.state == "done":
            return None if job.result is NO_RESULT else job.result
        if job.state == "error":
            err = job.error or {}
            raise RuntimeError(
                f"job {job.num} failed: {err.get('ename')}: {err.get('evalue')} "
                f"(see jobs.traceback({job.num}))"
            )
        raise RuntimeError(f"job {job.num} has no result: it is {job.state}")

    def text(self, n):
        """Everything job ``n`` printed (stdout and stderr, in order) that its replay log
        still holds (``Config.log_limit_outputs`` outputs, ``log_limit_bytes``)."""
        return _Text(logged_text(self._get(n)))

    def traceback(self, n):
        """The job's traceback as plain text, or None if it did not fail."""
        job = self._get(n)
        if job.error is None:
            return None
        return _Text(plain_traceback(job.error["traceback"]))

    def kill(self, n):
        """Kill job ``n``; returns its state right after asking (often ``cancelling``)."""
        job = self._get(n)
        _runtime().kill(job)
        return job.state

    def conflicts(self):
        """Name conflicts seen, oldest first: dicts with ``job``/``num`` (the job whose
        names were rebound), ``names``, ``by``/``by_num`` (the job that rebound them;
        None for a foreground cell, whose id is ``cell_id`` when known) and ``at`` (ms).
        The same the pages are told; turned off with ``configure(warn_conflicts=False)``."""
        return _runtime().conflicts.listed()

    def flush(self):
        """Forget ended jobs (their numbers are not reused; every page is told, with
        ``cleared``); returns how many."""
        return len(_runtime().records.forget())

    def configure(self, **settings):
        """Change tunables of ``Config`` (e.g. ``log_limit_outputs=100``, ``cap=8``)."""
        for key, value in settings.items():
            if not hasattr(Config, key) or key.startswith("_"):
                raise AttributeError(f"unknown setting {key!r}")
            setattr(Config, key, value)
        rt = _kernel._RUNTIME
        if rt is not None:  # a larger cap, a smaller budget: they hold at once
            rt.records.enforce_budget()
            rt.queue.pump()

    def __repr__(self):
        return str(self.status())


jobs = JobManager()


class MapResult:
    """What ``map`` returns: the jobs running the chunks, and their joined results."""

    def __init__(self, nums, sizes):
        self.jobs = nums
        self._sizes = sizes

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        for n in self.jobs:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            jobs.wait(n, left)
        return [jobs.state(n) for n in self.jobs]

    def result(self, timeout=None):
        """Wait, then the results in the order of the items; raises if a chunk failed."""
        self.wait(timeout)
        out = []
        for n in self.jobs:
            out.extend(jobs.result(n))
        return out

    def kill(self):
        return [jobs.kill(n) for n in self.jobs if jobs.state(n) not in TERMINAL]

    def __repr__(self):
        states = ", ".join(f"{n}: {jobs.state(n)}" for n in self.jobs)
        return f"<parallel_cell map over {sum(self._sizes)} items; jobs {states}>"


def map(fn, items, workers=None, backend="thread"):  # noqa: A001 - the recipe's name
    """Apply ``fn`` to every item in ``workers`` background jobs (one chunk each).

    ``backend="thread"``: threads of this kernel (``workers`` defaults to 4);
    ``backend="dask"``: tasks on the Dask cluster (``workers`` defaults to its number
    of worker threads; the first use starts the embedded cluster). Returns at once with
    a ``MapResult``; ``.result()`` waits for the ordered results.
    """
    if backend not in ("thread", "dask"):
        raise ValueError(f'backend must be "thread" or "dask", not {backend!r}')
    items = list(items)
    if workers is None:
        workers = 4 if backend == "thread" else _cluster_threads()
    workers = max(1, min(int(workers), len(items) or 1))
    size, extra = divmod(len(items), workers)
    chunks, start = [], 0
    for i in range(workers):
        end = start + size + (1 if i < extra else 0)
        chunks.append(items[start:end])
        start = end
    nums = []
    for chunk in chunks:
        if backend == "dask":
            job = _runtime().start_cluster_job(
                None, "kernel", _foreground_cell_id(), call=(fn, chunk)
            )
            nums.append(job.num)
            continue

        def run(chunk=chunk):
            out = []
            for item in chunk:
                checkpoint()
                out.append(fn(item))
            return out

        nums.append(jobs.new(run))
    return MapResult(nums, [len(c) for c in chunks])


def _cluster_threads():
    client = _runtime().cluster.link.get_client()
    workers = client.scheduler_info().get("workers", {})
    return max(1, sum(w.get("nthreads", 1) for w in workers.values()))


def register_magics(shell):
    from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class

    @magics_class
    class JobMagics(Magics):
        @line_cell_magic
        def job(self, line, cell=None):
            """%job <code> / %%job: run code (any statements) as a background job.
            %job --kill N: kill job N."""
            kill = _KILL_RE.fullmatch(line.strip()) if cell is None else None
            if kill:
                print(f"[parallel-cell] job {kill.group(1)}: {jobs.kill(int(kill.group(1)))}")
                return
            code = line if cell is None else cell
            n = jobs.new(code)
            if jobs[n].display is None:  # otherwise its display says so
                print(f"[parallel-cell] started job {n}")

        @line_magic
        def jobs(self, line):
            """%jobs: the ``jobs`` object (``jobs = %jobs``)."""
            return jobs

    shell.register_magics(JobMagics)
