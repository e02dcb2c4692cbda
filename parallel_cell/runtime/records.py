"""What the kernel keeps of its jobs once they end, and for how long.

Replay logs: those of the last ``Config.logged_jobs`` ended jobs, within
``Config.log_budget_bytes`` for all logs together (the logs of jobs whose outputs the
server saved into their notebook go first, then the oldest ended jobs');
each freed log leaves a marker and is announced with ``log_trimmed``. Records:
``clear`` and ``jobs.flush()`` forget ended jobs entirely (announced with ``cleared``).
And which jobs' cells ran again since (``superseded``): a newer job of the same cell,
or the cell run in the foreground.
"""

import linecache

from .config import Config
from .executor import NO_RESULT
from .job import LOG_TOTAL, TERMINAL, output_size
from .protocol import msg_cleared, msg_log_trimmed, msg_output


def logged_text(job):
    """Everything ``job`` printed (stdout and stderr, in order) that its replay log holds."""
    with job.lock:
        logged = job.logged_since(0)
    return "".join(out.get("text", "") for _, out in logged if out.get("output_type") == "stream")


def replayed(job, since):
    """``output`` messages of ``job``'s logged outputs from ``since``: consecutive seqs,
    at most about ``Config.batch_bytes`` each."""
    with job.lock:
        items = job.logged_since(since)
    batch, size = [], 0
    for seq, out in items:
        if batch and (size > Config.batch_bytes or seq != batch[0][0] + len(batch)):
            yield msg_output(job.job_id, batch[0][0], [o for _, o in batch])
            batch, size = [], 0
        batch.append((seq, out))
        size += output_size(out)
    if batch:
        yield msg_output(job.job_id, batch[0][0], [o for _, o in batch])


def _size(n):
    mib = n / (1024 * 1024)
    return f"{mib:g} MiB" if mib >= 1 and mib == int(mib) else f"{n} bytes"


class Records:
    """Ended jobs' replay logs and records; which jobs are superseded."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.lock = runtime.lock
        self._logged = {}  # job_id -> ended job whose log is kept, oldest first
        self._by_cell = {}  # cell_id -> jobs of that cell not superseded yet
        self._saved = set()  # ended jobs whose outputs are all in their notebook

    # -- superseded ---------------------------------------------------------------------
    def note(self, job):
        """Under the runtime's lock: a new job. A frontend job supersedes the earlier
        jobs of its cell (same notebook)."""
        if job.cell_id is None:
            return
        jobs = self._by_cell.setdefault(job.cell_id, [])
        if job.origin == "frontend":
            for other in [j for j in jobs if j.notebook == job.notebook]:
                other.superseded = True
                jobs.remove(other)
        jobs.append(job)

    def cell_ran(self, cell_id):
        """The cell ran in the foreground: its jobs' outputs are no longer its own."""
        with self.lock:
            for job in self._by_cell.pop(cell_id, ()):
                job.superseded = True

    # -- replay logs --------------------------------------------------------------------
    def ended(self, job):
        """``job`` ended: its log is kept, an older one may go."""
        with self.lock:
            if self.runtime.jobs.get(job.job_id) is not job:
                return  # forgotten already (a ``clear`` right after ``finished``)
            self._logged[job.job_id] = job
            retired = []
            while len(self._logged) > Config.logged_jobs:
                retired.append(self._logged.pop(next(iter(self._logged))))
        if retired:
            why = f"the kernel keeps the logs of the last {Config.logged_jobs} ended jobs"
            self._free(retired, why)
        self.enforce_budget()

    def saved(self, job_ids):
        """The server wrote all of these ended jobs' outputs into their notebook: their
        logs are the first to go when the logs exceed their budget."""
        with self.lock:
            self._saved.update(j for j in job_ids if j in self._logged)
        self.enforce_budget()

    def enforce_budget(self):
        """Free logs while all logs exceed the budget: those of jobs already saved into
        their notebook first, then the oldest ended jobs'."""
        budget = Config.log_budget_bytes
        if LOG_TOTAL.value <= budget:
            return
        saved, oldest, excess = [], [], LOG_TOTAL.value - budget
        with self.lock:
            first = [j for j in self._logged if j in self._saved]
            for job_id in first + [j for j in self._logged if j not in self._saved]:
                if excess <= 0:
                    break
                job = self._logged.pop(job_id)
                (saved if job_id in self._saved else oldest).append(job)
                self._saved.discard(job_id)
                excess -= job.log_bytes
        self._free(
            saved,
            f"its outputs are in its notebook (the server saved them while no page was open); "
            f"the kernel keeps at most {_size(budget)} of job output for replay",
        )
        why = (
            f"the kernel keeps at most {_size(budget)} of job output for replay; "
            "this job's was freed, oldest first"
        )
        self._free(oldest, why)

    def _free(self, jobs, why):
        for job in jobs:
            with job.lock:
                freed = job.drop_log(why)
                if freed:
                    job.log_trimmed = why
            if freed:
                self.runtime.broadcast(msg_log_trimmed(job.job_id, why))

    # -- forgetting -----------------------------------------------------------------------
    def forget(self, job_ids=None, announce_none=False):
        """Forget these ended jobs (None: every ended job) and say so to every page
        (``cleared``; with none forgotten only if ``announce_none``); returns their ids.
        Unfinished and unknown ids are skipped."""
        runtime = self.runtime
        with self.lock:
            if job_ids is None:
                job_ids = list(runtime.jobs)
            gone = []
            for job_id in dict.fromkeys(job_ids):
                job = runtime.jobs.get(job_id)
                if job is None or job.state not in TERMINAL:
                    continue
                del runtime.jobs[job_id]
                runtime.forgotten(job)
                self._logged.pop(job_id, None)
                self._saved.discard(job_id)
                jobs = self._by_cell.get(job.cell_id)
                if jobs is not None and job in jobs:
                    jobs.remove(job)
                    if not jobs:
                        del self._by_cell[job.cell_id]
                gone.append(job)
        for job in gone:
            with job.lock:
                job.forget_log()
                job.result = NO_RESULT
            if not job.keeps_source:
                linecache.cache.pop(job.label, None)  # the lines of its cell
        ids = [job.job_id for job in gone]
        if ids or announce_none:
            runtime.broadcast(msg_cleared(ids))
        return ids
