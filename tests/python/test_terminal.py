"""A terminal IPython (through a pty): ``%load_ext parallel_cell``, a ``%%job`` whose
lines are printed with the job's number, ``%jobs``."""

import os
import pty
import re
import select
import subprocess
import sys
import time

from conftest import ROOT


class Terminal:
    def __init__(self):
        master, slave = pty.openpty()
        env = dict(os.environ, PYTHONPATH=str(ROOT), TERM="dumb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "IPython", "--simple-prompt", "--no-banner",
             "--colors=NoColor", "--HistoryManager.enabled=False"],
            stdin=slave, stdout=slave, stderr=slave, env=env, cwd="/tmp",
        )  # fmt: skip
        os.close(slave)
        self.master = master
        self.out = ""

    def type(self, text):
        os.write(self.master, text.encode())

    def until(self, needle, timeout=20):
        deadline = time.monotonic() + timeout
        while needle not in self.out:
            left = deadline - time.monotonic()
            assert left > 0, f"{needle!r} not printed; the terminal shows:\n{self.out}"
            ready, _, _ = select.select([self.master], [], [], min(left, 0.2))
            if ready:
                self.out += os.read(self.master, 65536).decode(errors="replace")
        return self.out

    def close(self):
        self.type("exit\n")
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self.master)


def test_job_lines_are_printed_with_the_job_number_and_jobs_shows_the_table():
    t = Terminal()
    try:
        t.type("%load_ext parallel_cell\n")
        t.until("In [2]")
        # A cell magic ends at a blank line (two, with the simple prompt).
        t.type(
            "%%job\nimport time\nfor i in range(3):\n    print('tick', i)\n    time.sleep(0.1)\n"
            "\n\n"
        )
        out = t.until("[job 1] done in")
        # A line may share the terminal's line with a prompt ("In [3]: [1] tick 0").
        assert re.findall(r"\[1\] [^\r\n]*", out) == ["[1] tick 0", "[1] tick 1", "[1] tick 2"]
        assert "[job 1] started" in out
        t.type("%job raise ValueError('in a terminal')\n")
        t.until("[job 2] error after")
        assert "[2] ValueError: in a terminal" in t.out
        t.type("%jobs\n")
        table = t.until("   2  error")
        assert "   1  done" in table
    finally:
        t.close()
