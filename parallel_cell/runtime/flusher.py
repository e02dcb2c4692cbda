"""Sending job outputs: batched (~50 ms / 64 KB) and paced under the server's limits."""

import threading
import time

from .config import Config, log
from .job import output_size
from .protocol import msg_output
from .threads import orig_sleep, running_thread


class Flusher:
    """One thread that sends the pending outputs of every job that has some."""

    def __init__(self, broadcast, on_logged=None, on_display=None):
        self.broadcast = broadcast
        self.on_logged = on_logged  # after outputs were logged (the log budget)
        self.on_display = on_display  # (job, outputs) of a job that writes its own cell
        self._cv = threading.Condition(threading.Lock())
        self._dirty = {}  # job -> None, ordered
        self._urgent = False
        self._dirty_since = 0.0
        self._thread = None

    def ensure_running(self):
        """Start the thread (from the registering thread, never a job's)."""
        with self._cv:
            self._thread = running_thread(self._thread, self._loop, "parallel-cell flusher")

    def mark_dirty(self, job, urgent=False):
        with self._cv:
            if not self._dirty:
                self._dirty_since = time.monotonic()
            self._dirty[job] = None
            self._urgent = self._urgent or urgent
            self._cv.notify()

    def discard(self, job):
        """``job`` takes no more output and its last was sent: let it go."""
        with self._cv:
            self._dirty.pop(job, None)

    def _loop(self):
        while True:
            with self._cv:
                while not self._dirty:
                    self._cv.wait()
                deadline = self._dirty_since + Config.batch_seconds
                while not self._urgent and time.monotonic() < deadline:
                    self._cv.wait(deadline - time.monotonic())
                jobs = list(self._dirty)
                self._dirty.clear()
                self._urgent = False
            started, sent = time.monotonic(), 0
            for job in jobs:
                try:
                    sent += self.flush_job(job)
                except Exception:
                    log.exception("parallel-cell: flushing job output failed")
            jobs = job = None  # this thread waits next: it must not keep the last job alive
            if sent and self.on_logged is not None:
                try:
                    self.on_logged()
                except Exception:
                    log.exception("parallel-cell: keeping the log budget failed")
            # Pace messages so all jobs together stay under the server's rate limit.
            pause = sent / Config.max_messages_per_second - (time.monotonic() - started)
            if pause > 0:
                orig_sleep(pause)

    def flush_job(self, job):
        """Send the job's pending outputs; returns how many messages that took."""
        with job.send_lock:
            with job.lock:
                outputs = job.take_pending()
                if not outputs:
                    return 0
                seq = job.next_seq
                job.next_seq += len(outputs)
                job.log_outputs(seq, outputs)
            if job.display is not None and self.on_display is not None:
                self.on_display(job, outputs)
            # At most about batch_bytes per message (a single bigger output goes alone).
            sent, batch, size = 0, [], 0
            for out in outputs:
                out_size = output_size(out)
                if batch and size + out_size > Config.batch_bytes:
                    self.broadcast(msg_output(job.job_id, seq, batch))
                    seq, sent, batch, size = seq + len(batch), sent + 1, [], 0
                batch.append(out)
                size += out_size
            self.broadcast(msg_output(job.job_id, seq, batch))
            return sent + 1
