"""Opt-in stress runs (PC_STRESS=1): slow, for hunting rare races."""

import os
import time

import pytest

pytestmark = pytest.mark.skipif(not os.environ.get("PC_STRESS"), reason="set PC_STRESS=1")

FOREGROUND = (
    "import time, sys\nfor i in range(40):\n    print(f'fg {i}')\n"
    "    print(f'fg err {i}', file=sys.stderr)\n    time.sleep(0.005)\n"
)
# The job's loop variable is its own: with `i` in both cells the job rebinds the
# foreground's `i` between its two prints now and then, and a line reads "fg err 300"
# (the job's `i` at one of its sleeps). That was the whole "altered stderr line".
QUIET_JOB = (
    "x = 0\nfor j in range(2000):\n    x += 1\n    if j % 50 == 0:\n        time.sleep(0.01)"
)


def test_foreground_output_complete_while_a_job_runs(kernel, comm):
    """Foreground output stays whole and its own while a job runs, trial after trial."""
    kernel.ok("import time")
    lost = []
    for trial in range(int(os.environ.get("PC_STRESS_TRIALS", "40"))):
        job = comm.submit(QUIET_JOB)
        comm.wait_type("started", job)
        fg = kernel.execute(FOREGROUND)
        comm.wait_type("finished", job, timeout=20)
        time.sleep(0.2)
        want = [f"fg err {i}" for i in range(40)]
        missing = [line for line in want if line not in fg.stderr.splitlines()]
        if missing or fg.stdout != "".join(f"fg {i}\n" for i in range(40)):
            lost.append((trial, missing, fg.stderr[:40]))
    print(f"foreground output altered in {len(lost)} of {trial + 1} trials")
    assert lost == []
