"""Opt-in stress runs (PC_STRESS=1): slow, for hunting rare races."""

import os
import time

import pytest

pytestmark = pytest.mark.skipif(not os.environ.get("PC_STRESS"), reason="set PC_STRESS=1")

FOREGROUND = (
    "import time, sys\nfor i in range(40):\n    print(f'fg {i}')\n"
    "    print(f'fg err {i}', file=sys.stderr)\n    time.sleep(0.005)\n"
)
QUIET_JOB = (
    "x = 0\nfor i in range(2000):\n    x += 1\n    if i % 50 == 0:\n        time.sleep(0.01)"
)


def test_foreground_output_complete_while_a_job_runs(kernel, comm):
    """Reproduces a rare altered first foreground stderr line (both ipykernel majors)."""
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
            lost.append((trial, missing))
    assert lost == []
