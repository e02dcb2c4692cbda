"""Tunables of the runtime, and what every module of it shares: its logger, the clock."""

import logging
import sys
import time


class Config:
    """Tunables; change them with ``jobs.configure(...)`` or the ``configure`` message."""

    batch_seconds = 0.05  # how long outputs wait to be batched into one message
    batch_bytes = 64 * 1024  # a batch this big is sent at once
    max_messages_per_second = 400  # all jobs together; jupyter_server drops >1000/s
    gather_seconds = 0.02  # in a burst, gather this long before sending (outbox.py)
    pending_limit_bytes = 8 * 1024 * 1024  # a job printing faster than we send waits
    log_limit_outputs = 5000  # per job, for replay
    log_limit_bytes = 4 * 1024 * 1024  # per job, for replay
    logged_jobs = 100  # ended jobs whose logs are kept; older ones keep a marker
    log_budget_bytes = 64 * 1024 * 1024  # all replay logs together; oldest ended go first
    text_part_chars = 256 * 1024  # a job's logged text goes to a page in parts this long
    cap = 4  # thread jobs running at once; frontend jobs beyond it wait in the queue
    kill_grace_seconds = 0.5  # a kill not taken this long is examined for a reason
    cleanup_grace_seconds = 2.0  # a killed job's finally/__exit__ may run this long
    interruptible_sleep = True  # sleeps and waits in job threads end at once on a kill
    warn_conflicts = True  # tell when a cell rebinds names a running or queued job uses
    cell_displays = True  # with no page linked, a job from code writes its cell (display.py)
    cluster_address = ""  # Dask scheduler for "Run on Cluster"; "": an embedded LocalCluster
    pool_threads = 1  # idle job threads kept for the next jobs (pool.py); 0: a new one each
    pool_idle_seconds = 30.0  # an idle job thread ends after this long


log = logging.getLogger("parallel_cell")

# Every module of the runtime has a file name under this prefix (the bootstrap names
# them "<parallel_cell.runtime/NAME.py>"), so tracebacks and stuck reasons can skip them.
_OWN_FILE = sys._getframe().f_code.co_filename
RUNTIME_FILES = _OWN_FILE[: _OWN_FILE.rfind("/") + 1] or _OWN_FILE


def is_runtime_frame(frame):
    return frame.f_code.co_filename.startswith(RUNTIME_FILES)


def now_ms():
    return time.time() * 1000.0
