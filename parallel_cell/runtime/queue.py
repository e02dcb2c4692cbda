"""The kernel's line of jobs: the cap on thread jobs, arrival order, chains (``after``).

The kernel owns the queue (docs/protocol.md, version 2). A frontend ``submit`` is taken
in line at once; a thread job starts while fewer than ``Config.cap`` thread jobs run
(jobs started from code count too, though they never wait), and when one ends the next
one starts from here, with no page needed. A job with ``after`` waits for that job to
end and runs only if it ended ``done``; otherwise it ends ``DependencyFailed`` without
running, and so do the jobs after it. Waiting on ``after`` holds up no job behind it.
Dask jobs take no slot: they only wait for their ``after``.

Decisions are taken under the runtime's lock; what they lead to (``queued``, starting,
ending) is carried out by one thread at a time outside it (``pump``), in the order
decided: a job's ``queued`` goes out before its ``started`` or ``finished``, and a comm
handler never waits for another thread's work (another thread pumping picks it up).
"""

import heapq

from .config import Config, log, now_ms
from .executor import NO_RESULT, format_error
from .job import TERMINAL
from .protocol import msg_queued

_ENDED_HOW = {"error": "ended with error", "killed": "was killed", "lost": "was lost"}


class JobQueue:
    """Jobs waiting in the kernel, the slots of the running thread jobs, chains."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.lock = runtime.lock  # the runtime's: jobs and queue change together
        self.waiting = {}  # job_id -> (job, start) for every job still in line
        self.running = set()  # thread jobs holding a slot under the cap
        self._ready = []  # heap of (num, job_id): thread jobs free to start, by arrival
        self._dask_ready = []  # Dask jobs whose ``after`` is over: sent at once
        self._blocked = {}  # job_id waited on -> job_ids waiting for it to end
        self._fresh = []  # jobs taken in line since the last decision
        self._todo = []  # (action, job, arg) decided already, carried out in order
        self._pumping = False

    # -- what the runtime calls -------------------------------------------------------
    def add(self, job, start):
        """Take a frontend job in line; ``start()`` starts it when its turn comes."""
        with self.lock:
            self.waiting[job.job_id] = (job, start)
            self._fresh.append(job)
            if job.after is None:
                self._release(job)
            else:
                outcome = self._outcome(job.after, job)
                if outcome is None:
                    self._blocked.setdefault(job.after, []).append(job.job_id)
                else:
                    self._settle(job, *outcome)
        self.pump()

    def hold(self, job):
        """A thread job started from code: it starts at once, and takes a slot."""
        with self.lock:
            self.running.add(job)
            self._mark_running(job)

    def ended(self, job):
        """``job`` ended: its slot is free, the jobs after it run or fail."""
        with self.lock:
            self.running.discard(job)
            for job_id in self._blocked.pop(job.job_id, ()):
                entry = self.waiting.get(job_id)
                if entry is not None:  # else killed while it waited
                    self._settle(entry[0], *self._describe(job.job_id, job, job.state))
        self.pump()

    def kill(self, job):
        """End a job still in line as ``killed``; False if it is not in line."""
        with self.lock:
            if self.waiting.pop(job.job_id, None) is None:
                return False
            # Its ids left in _ready/_blocked are skipped when reached.
            self._todo.append(("end", job, ("killed", None)))
        self.pump()
        return True

    def waits_for(self, job):
        """What a job in line waits for (for ``jobs.status()``), or None."""
        with self.lock:
            if job.job_id not in self.waiting:
                return None
            other = self.runtime.jobs.get(job.after) if job.after is not None else None
            if other is not None and other.state not in TERMINAL:
                return f"job {other.num} to end"
            return f"a slot (cap {Config.cap})" if job.target == "thread" else "its turn"

    # -- deciding, under the lock -------------------------------------------------------
    def _mark_running(self, job):
        with job.lock:
            job.state = "running"
            job.started_at = now_ms()

    def _outcome(self, after, job):
        """None while job ``after`` has not ended; else (ok, why it failed)."""
        other = self.runtime.jobs.get(after)
        if other is job:
            return False, "a job cannot run after itself: this cell did not run"
        if other is not None:
            return None if other.state not in TERMINAL else self._describe(after, other)
        # A forgotten job (``clear``) keeps its final state; None: never seen here.
        return self._describe(after, None, self.runtime.forgotten_state(after))

    def _describe(self, after, other, state=None):
        state = other.state if other is not None else state
        if state == "done":
            return True, None
        if other is None and state is None:
            return False, (
                f"job {after} is not known to this kernel (restarted since, or never "
                "submitted here): this cell did not run"
            )
        if other is not None:
            name = f"job {other.num} ({other.first_line or other.label})"
        else:
            name = f"job {after}"
        how = _ENDED_HOW.get(state, f"ended {state}")
        return False, f"{name} {how}: this cell did not run"

    def _settle(self, job, ok, why):
        """A job's ``after`` is over: it may run, or it ends without running."""
        if ok:
            self._release(job)
            return
        del self.waiting[job.job_id]
        error = {"ename": "DependencyFailed", "evalue": why, "traceback": []}
        self._todo.append(("end", job, ("error", error)))

    def _release(self, job):
        if job.target == "thread":
            heapq.heappush(self._ready, (job.num, job.job_id))
        else:
            self._dask_ready.append(job.job_id)

    def _decide(self):
        """The next things to carry out (and take them off the lists)."""
        actions, self._todo = self._todo, []
        starts = []
        for job_id in self._dask_ready:
            entry = self.waiting.pop(job_id, None)
            if entry is not None:
                starts.append(("start", *entry))
        self._dask_ready = []
        while self._ready and len(self.running) < Config.cap:
            _, job_id = heapq.heappop(self._ready)
            entry = self.waiting.pop(job_id, None)
            if entry is None:
                continue  # killed while it waited
            job, start = entry
            self.running.add(job)
            self._mark_running(job)
            starts.append(("start", job, start))
        actions += [("queued", j, None) for j in self._fresh if j.job_id in self.waiting]
        self._fresh = []
        return actions + starts

    # -- carrying it out, one thread at a time -------------------------------------------
    def pump(self):
        """Carry out what was decided; returns at once when another thread is at it."""
        with self.lock:
            if self._pumping:
                return  # that thread decides again before it stops
            self._pumping = True
        try:
            while True:
                with self.lock:
                    actions = self._decide()
                    if not actions:
                        self._pumping = False
                        return
                for action, job, arg in actions:
                    self._carry_out(action, job, arg)
        except BaseException:
            with self.lock:
                self._pumping = False
            raise

    def _carry_out(self, action, job, arg):
        runtime = self.runtime
        try:
            if action == "queued":
                runtime.broadcast(msg_queued(job))
            elif action == "start":
                arg()
            else:
                state, error = arg
                runtime.finish_job(job, state, error, NO_RESULT, [], show_error=False)
        except Exception as err:
            log.exception("parallel-cell: the queue could not %s job %s", action, job.num)
            if action == "start" and job.state not in TERMINAL:
                error = format_error(None, type(err), err, err.__traceback__)
                runtime.finish_job(job, "error", error, NO_RESULT, [])
