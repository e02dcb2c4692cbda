"""The foreground pays nothing while no thread works for a job (threads.idle,
routing.set_fast): from the next foreground cell on, its writes reach its stream with no
runtime frame between, the waits, joins, thread starts and sockets are the originals; a
job starting puts the routing and the patches back before any of its code runs."""

import json
import time

import pytest
from kernel_client import wait_until

RT = "__import__('_parallel_cell_runtime')"

CALLER = """
import contextlib, sys
class _Caller:
    def __init__(self):
        self.files = []
    def write(self, text):
        self.files.append(sys._getframe(1).f_code.co_filename)
        return len(text)
    def flush(self):
        pass
def who_writes():
    caller = _Caller()
    with contextlib.redirect_stdout(caller):
        print('x')
    return caller.files
def runtime_frames():
    return [f for f in who_writes() if f.startswith('<parallel_cell.runtime/')]
def patched():
    import socket, threading
    found = [threading.Condition.wait, threading.Thread.join, threading.Thread.start,
             socket.socket.__init__, threading.Thread._bootstrap_inner]
    return [hasattr(f, '_parallel_cell_original') for f in found]
"""

# ipykernel 6.29–6.x maps threads by ident: every thread start must forget its ident there,
# so the bootstrap patch stays on (threads._forget_reused_ident); 7.x has no such map.
MAPS = "isinstance(getattr(sys.stdout, '_thread_to_parent', None), dict)"


def _wait_idle(kernel):
    """Until no thread works for a job, then a foreground cell (it starts past the
    runtime)."""
    wait_until(
        lambda: kernel.evaluate(f"len({RT}.threads.THREAD_JOBS)") == "0",
        timeout=30,
        interval=0.05,
        what="no job thread registered",
    )
    kernel.ok("pass")


def test_foreground_writes_and_calls_skip_the_runtime_only_while_no_job_runs(kernel, comm):
    kernel.ok(CALLER)
    idle = f"[False, False, False, False, {kernel.evaluate(MAPS)}]"
    assert comm.run("x_before = 1")["state"] == "done"
    _wait_idle(kernel)
    assert kernel.evaluate("runtime_frames()") == "[]"
    assert kernel.evaluate("patched()") == idle
    job = comm.submit(
        "fg_job_ran = True\nimport time\nwhile not globals().get('stop_fg_job'):\n"
        "    time.sleep(0.01)"
    )
    comm.wait_type("started", job)
    try:
        # `started` leaves before the job's thread takes it up; its code runs once the
        # routing and the patches are back.
        kernel.wait_true("globals().get('fg_job_ran', False)", timeout=30)
        # A job runs: every write is looked at (it may be the job's), its waits patched.
        assert kernel.evaluate("runtime_frames()") != "[]"
        assert kernel.evaluate("patched()") == "[True, True, True, True, True]"
    finally:
        kernel.ok("stop_fg_job = True")
    assert comm.wait_type("finished", job)["state"] == "done"
    _wait_idle(kernel)
    assert kernel.evaluate("runtime_frames()") == "[]"
    assert kernel.evaluate("patched()") == idle


def test_a_job_started_while_idle_is_killable_in_a_wait(kernel, comm):
    _wait_idle(kernel)
    job = comm.submit("import threading\nidle_wait_ready = True\nthreading.Event().wait()")
    comm.wait_type("started", job)
    # its code runs, about to wait, before the kill
    kernel.wait_true("globals().get('idle_wait_ready', False)", timeout=30)
    time.sleep(0.2)
    comm.kill(job)
    assert comm.wait_type("finished", job)["state"] == "killed"


def test_jobs_starting_and_ending_while_the_foreground_prints(kernel, comm):
    code = (
        "import time\nfg_jobs = []\n"
        "for i in range(120):\n    print('fg', i)\n"
        "    if i % 30 == 0:\n"
        f"        fg_jobs.append({RT}._RUNTIME.start_job(f'print(\"job\", {{i}})', 'kernel'))\n"
        "    time.sleep(0.003)\n"
        "for j in fg_jobs:\n    j.done_event.wait(60)\n"
        "fg_ids = [j.job_id for j in fg_jobs]"
    )
    result = kernel.execute(code, timeout=120)
    assert result.reply["status"] == "ok"
    assert result.stdout == "".join(f"fg {i}\n" for i in range(120))
    ids = json.loads(kernel.evaluate("fg_ids").replace("'", '"'))
    for k, job in zip(range(0, 120, 30), ids):
        comm.wait_type("finished", job)
        assert comm.text(job) == f"job {k}\n"


def test_a_foreground_cell_output_is_kept_in_history_once(fresh_kernel):
    kernel = fresh_kernel
    if kernel.evaluate("hasattr(get_ipython().history_manager, 'outputs')") != "True":
        pytest.skip("IPython keeps no output history before 9")
    kernel.bootstrap()  # in a cell with IPython's tee on the kernel's own stream
    comm = kernel.open_comm()
    comm.wait_type("hello")
    kernel.ok("x_history = 0")
    assert comm.run("x_history = 1")["state"] == "done"
    _wait_idle(kernel)
    kernel.ok("print('kept once')")
    # In this cell's history and in no other (an earlier cell's tee left in the way
    # would keep it twice).
    kept = (
        "[(n, ''.join(o.bundle['stream'])) for n, outs in "
        "get_ipython().history_manager.outputs.items() for o in outs "
        "if o.output_type == 'out_stream' and 'kept once' in ''.join(o.bundle['stream'])]"
    )
    count = kernel.evaluate("get_ipython().execution_count - 1")
    assert kernel.evaluate(kept) == f"[({count}, 'kept once\\n')]"
