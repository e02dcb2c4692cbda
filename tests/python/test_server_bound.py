"""A job that prints a lot while no page is open: the server bounds its stream output as
the page would (head, one gap line, live tail) to the person's ``streamLimit`` from the
lab user settings, so the notebook file stays small.

A real `jupyter server` with the extension, a real kernel; the page is a kernel websocket
that submits the job and closes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from kernel_client import wait_until
from server_client import Page, Server, notebook
from test_away import valid

from parallel_cell.server.cells import read_mark
from parallel_cell.server.streams import MIN_LIMIT, STREAM_LIMIT

LIMIT = 10_000  # the setting's lowest value
LINES = 3000
WIDTH = len(f"line {0:05d} " + "x" * 40 + "\n")
JOB = (
    "import time\n"
    f"for i in range({LINES}):\n"
    "    print(f'line {i:05d} ' + 'x' * 40)\n"
    "    if i % 200 == 0:\n"
    "        time.sleep(0.1)\n"
)
GAP = re.compile(r"⋯ ([\d,]+) lines \(([\d,]+) characters\) not shown here[^\n]* ⋯\n")


def settings(server: Server, **values) -> None:
    """The person's lab settings for parallel-cell (where `jupyter lab` keeps them)."""
    folder = server.dir / "config" / "lab" / "user-settings" / "parallel-cell"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.jupyterlab-settings").write_text(json.dumps(values))


@pytest.fixture
def server():
    s = Server({"big.ipynb": notebook([JOB, "x = 1"])})
    yield s
    s.stop()


def run_away(server: Server) -> tuple[str, str]:
    """Submit the job from a page that closes at its first output; the job's id and the
    kernel's."""
    kid = server.session("big.ipynb")
    page = Page(server, kid)
    job = page.submit("big.ipynb", "cell-0", JOB)
    page.wait_type("output", job)
    page.close()
    wait_until(lambda: server.connections(kid) == 0, what="the page gone")
    return job, kid


def ended(server: Server):
    def check():
        text = stdout_text(valid(server, "big.ipynb")["cells"][0])
        return text.endswith(f"line {LINES - 1:05d} " + "x" * 40 + "\n")

    return check


def stdout_text(cell) -> str:
    outputs = [o for o in cell["outputs"] if o["output_type"] == "stream"]
    return "".join("".join(o["text"]) for o in outputs)


def test_a_huge_stream_with_no_page_is_bounded_in_the_file(server):
    settings(server, streamLimit=LIMIT)
    job, kid = run_away(server)
    wait_until(ended(server), timeout=60, what="the last line on disk")
    nb = valid(server, "big.ipynb")
    outputs = nb["cells"][0]["outputs"]
    assert [(o["output_type"], o["name"]) for o in outputs] == [("stream", "stdout")]
    text = "".join(outputs[0]["text"])
    gap = GAP.search(text)
    assert gap, text[:300]
    head, tail = text[: gap.start()], text[gap.end() :]
    assert head.startswith("line 00000 ")
    assert tail.endswith(f"line {LINES - 1:05d} " + "x" * 40 + "\n")
    assert len(head) <= LIMIT // 5 and len(head) + len(tail) <= LIMIT
    # Lines shown and lines the gap counts are the lines printed, each once, in order.
    shown = [int(n) for n in re.findall(r"^line (\d{5}) ", head + tail, re.M)]
    hidden = int(gap.group(1).replace(",", ""))
    assert len(shown) + hidden == LINES
    assert shown == list(range(len(head.splitlines()))) + list(
        range(LINES - len(tail.splitlines()), LINES)
    )
    assert int(gap.group(2).replace(",", "")) == hidden * WIDTH
    # The file holds the limit, not the 150 KB printed.
    assert (server.root / "big.ipynb").stat().st_size < LIMIT + 4_000

    # A page that comes back finds nothing to replay: the mark covers the job.
    again = Page(server, kid)
    jobs = again.jobs()
    assert jobs[job]["state"] == "done"
    assert read_mark(nb["cells"][0]) == (job, jobs[job]["next_seq"])
    again.close()


def test_without_a_setting_the_server_bounds_at_the_default(server):
    # 3,000 lines of 51 characters: 153,000, past the default as well.
    run_away(server)
    wait_until(ended(server), timeout=60, what="the last line on disk")
    text = stdout_text(valid(server, "big.ipynb")["cells"][0])
    gap = GAP.search(text)
    assert gap
    assert 0.8 * STREAM_LIMIT < len(text) - len(gap.group(0)) <= STREAM_LIMIT


def test_the_server_default_is_the_page_setting_default():
    schema = json.loads(
        (Path(__file__).parents[2] / "labextension" / "schema" / "plugin.json").read_text()
    )
    setting = schema["properties"]["streamLimit"]
    assert (setting["default"], setting["minimum"]) == (STREAM_LIMIT, MIN_LIMIT)


def test_the_server_goes_on_when_the_kernel_dropped_the_first_outputs(server):
    # The kernel keeps few outputs per job: by the time the server asks for the job's
    # outputs from the start, the first ones are gone, and its replay says so.
    code = "import time\nfor i in range(200):\n    print(f'row {i:03d}')\n    time.sleep(0.03)\n"
    kid = server.session("big.ipynb")
    page = Page(server, kid)
    page.send(
        {"type": "configure", "log_limit": 5, "kill_grace_ms": 500, "interruptible_sleep": True}
    )
    job = page.submit("big.ipynb", "cell-1", code)
    page.wait_type("output", job)
    page.close()
    wait_until(lambda: server.connections(kid) == 0, what="the page gone")

    def last_row():
        cell = valid(server, "big.ipynb")["cells"][1]
        return "row 199\n" in stdout_text(cell)

    wait_until(last_row, timeout=60, what="the last row on disk")
    cell = valid(server, "big.ipynb")["cells"][1]
    streams = [(o["name"], "".join(o["text"])) for o in cell["outputs"]]
    assert streams[0][0] == "stderr", streams
    assert streams[0][0] == "stderr" and "dropped from the kernel's replay log" in streams[0][1]
    rows = [int(n) for n in re.findall(r"^row (\d{3})$", stdout_text(cell), re.M)]
    assert rows == list(range(rows[0], 200)) and rows[0] > 0
    assert read_mark(cell)[0] == job


def test_take_accepts_a_replay_that_starts_after_the_kernel_s_marker():
    from parallel_cell.server.jobs import JobOutputs

    job = JobOutputs("j", "c", None, "page", None)
    job.next = job.written = 0
    assert job.take(7, [{"output_type": "stream", "name": "stdout", "text": "live\n"}]) == 0
    # Live outputs before the replay's answer: still waiting for it.
    assert job.take(8, [{"output_type": "stream", "name": "stdout", "text": "x\n"}]) is None
    marker = "[parallel-cell: 5 earlier output(s) of job 3 were dropped from the kernel's "
    marker += "replay log (limit: 5 outputs / 4194304 bytes)]\n"
    # A stderr line a job printed that only looks like it is not the kernel's answer
    # while no replay is asked for.
    job.asked = None
    fake = [{"output_type": "stream", "name": "stderr", "text": marker}]
    assert job.take(9, fake) == 0
    answer = [{"output_type": "stream", "name": "stderr", "text": marker}]
    answer += [{"output_type": "stream", "name": "stdout", "text": f"{k}\n"} for k in (6, 7, 8)]
    assert job.take(5, answer) is None
    assert job.next == 9 and [o["text"] for o in job.pending][1:] == ["6\n", "7\n", "8\n"]
