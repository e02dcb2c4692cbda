"""How a job ends: its last outputs, ``finished``, the next job; and threads it started
that outlive its code (they still write into it until the last has ended)."""

from .config import now_ms
from .protocol import msg_finished, msg_threads


def finish(runtime, job, state, error, result, names, show_error=True):
    """End ``job``: its last outputs, then ``finished``, then its waiters.

    ``show_error``: the error is also the cell's last output (not so for a job that
    never ran).
    """
    if state == "error" and error is not None and show_error:
        # As on iopub, the error is also an output of the cell (and of its replay log).
        job.emit({"output_type": "error", **error}, block=False)
    with job.lock:
        job.code_ended = True
        # Threads it started still run: they still write into its cell (see
        # ``threads_changed``); otherwise it takes no more output from now on.
        job.closed = not job.threads
    runtime.flusher.flush_job(job)
    if job.closed:
        runtime.flusher.discard(job)
    with job.send_lock:
        with job.lock:
            job.state, job.error, job.result = state, error, result
            job.assigned = names
            job.ended_at = now_ms()
            job.finished_sent = True
        runtime.broadcast(msg_finished(job))
    job.done_event.set()
    with runtime.lock:
        runtime.live.pop(job.job_id, None)
    threads_changed(runtime, job)
    runtime.records.ended(job)
    runtime.queue.ended(job)  # the next job may start: after the ``finished``


def threads_changed(runtime, job):
    """After ``job``'s code ended: say how many threads it started still run, and
    close the job once the last has ended (its last outputs sent first)."""
    with job.lock:
        if not job.finished_sent or job.closed:
            return
        closing = not job.threads
        job.closed = closing
    if closing:
        runtime.flusher.flush_job(job)
        runtime.flusher.discard(job)
    with job.send_lock:
        with job.lock:
            if job.closed and not closing:
                return  # the call that closed it says so, after its last outputs
            running = 0 if closing else len(job.threads)
            if running == job.threads_told:
                return
            job.threads_told = running
        runtime.broadcast(msg_threads(job.job_id, running))
