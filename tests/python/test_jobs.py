"""Running cells in the background: output, results, names, errors."""

import time

import pytest
from helpers import plain


def test_run_cell_streams_stdout_and_finishes_done(comm):
    job = comm.submit("import time\nfor i in range(3):\n    print(i)\n    time.sleep(0.05)\n")
    started = comm.wait_type("started", job)
    assert started["num"] >= 1 and started["origin"] == "frontend"
    assert started["cell_id"] == "cell-1" and started["notebook"] == "test.ipynb"
    assert abs(started["started_at"] - time.time() * 1000) < 60_000
    finished = comm.wait_type("finished", job)
    assert finished["state"] == "done" and finished["error"] is None
    assert finished["ended_at"] >= started["started_at"]
    assert comm.text(job) == "0\n1\n2\n"
    kinds = [m["type"] for m in comm.of_job(job)]
    assert kinds[0] == "started" and kinds[-1] == "finished"


def test_assignment_lands_in_namespace_and_is_reported(kernel, comm):
    finished = comm.run("x = 42\ny, *rest = 1, 2, 3\ndef helper(): pass\n")
    assert finished["assigned"] == ["x", "y", "rest", "helper"]
    assert kernel.evaluate("x") == "42"
    assert kernel.ok("print(x + 1)") == "43\n"


def test_trailing_expression_is_an_execute_result(comm):
    job = comm.submit("6 * 7")
    comm.wait_type("finished", job)
    (out,) = comm.outputs(job)
    assert out == {
        "output_type": "execute_result",
        "data": {"text/plain": "42"},
        "metadata": {},
        "execution_count": None,
    }
    job = comm.submit("6 * 7;")
    comm.wait_type("finished", job)
    assert comm.outputs(job) == []


def test_stderr_and_partial_lines(comm):
    job = comm.submit(
        "import sys\nprint('a', end='')\nprint('b', flush=True)\n"
        "print('oops', file=sys.stderr)\nprint('\\rprogress', end='')"
    )
    comm.wait_type("finished", job)
    assert comm.text(job, "stdout") == "ab\n\rprogress"
    assert comm.text(job, "stderr") == "oops\n"


def test_raising_cell_reports_error_with_source_line(comm):
    finished = comm.run("def boom():\n    raise ValueError('bad value')\n\nboom()\n")
    assert finished["state"] == "error"
    error = finished["error"]
    assert error["ename"] == "ValueError" and error["evalue"] == "bad value"
    text = plain(error["traceback"])
    assert "raise ValueError('bad value')" in text
    assert "boom()" in text
    assert "parallel_cell" not in text  # the runtime's own frames are hidden
    # As on iopub, the error is also the cell's last output, with the same traceback.
    last = comm.outputs(finished["job_id"])[-1]
    assert last["output_type"] == "error"
    assert last["ename"] == "ValueError" and last["traceback"] == error["traceback"]


def test_syntax_error_reported_without_a_thread(kernel, comm):
    job = comm.submit("x = (1,\n")
    finished = comm.wait_type("finished", job)
    assert finished["state"] == "error"
    assert finished["error"]["ename"] == "SyntaxError"
    assert "x = (1," in plain(finished["error"]["traceback"])
    assert [m["type"] for m in comm.of_job(job)] == ["output", "finished"]
    # As on iopub, the error is also the cell's output.
    assert [o["output_type"] for o in comm.outputs(job)] == ["error"]
    assert comm.outputs(job)[0]["ename"] == "SyntaxError"
    threads = "[t.name for t in __import__('threading').enumerate() if 'job' in t.name]"
    assert kernel.evaluate(threads) == "[]"


def test_magics_and_shell_commands(comm):
    job = comm.submit(
        "%env PC_TEST_VAR=1\nimport os\nprint(os.environ['PC_TEST_VAR'])\n!echo shell"
    )
    finished = comm.wait_type("finished", job, timeout=20)
    assert finished["state"] == "done", finished
    assert comm.text(job).startswith("env: PC_TEST_VAR=1\n1\n")


def test_top_level_await(comm):
    job = comm.submit("import asyncio\nawait asyncio.sleep(0.01)\nv = await asyncio.sleep(0, 5)\nv")
    finished = comm.wait_type("finished", job)
    assert finished["state"] == "done", finished
    assert comm.outputs(job)[-1]["data"] == {"text/plain": "5"}


def test_display_and_update_display(comm):
    job = comm.submit(
        "from IPython.display import display, HTML, clear_output\n"
        "h = display(HTML('<b>hi</b>'), display_id='d1')\n"
        "h.update('2')\n"
        "clear_output(wait=True)\n"
        "print('after')"
    )
    comm.wait_type("finished", job)
    outs = comm.outputs(job)
    assert outs[0]["output_type"] == "display_data"
    assert outs[0]["data"]["text/html"] == "<b>hi</b>"
    assert outs[0]["transient"] == {"display_id": "d1"}
    assert outs[1]["output_type"] == "update_display_data"
    assert outs[1]["data"]["text/plain"] == "'2'"
    assert outs[2] == {"output_type": "clear_output", "wait": True}
    assert outs[3] == {"output_type": "stream", "name": "stdout", "text": "after\n"}


def test_foreground_runs_while_job_runs(kernel, comm, gate):
    job = comm.submit(gate.code() + "print('job done')")
    comm.wait_type("started", job)
    assert kernel.ok("print('fg')") == "fg\n"  # the job cannot end before the gate opens
    assert "finished" not in [m["type"] for m in comm.of_job(job)]
    gate.open()
    comm.wait_type("finished", job, timeout=10)
    assert comm.text(job) == "job done\n"


def test_job_error_leaves_the_foregrounds_last_traceback_alone(kernel, comm):
    assert kernel.execute("1/0").reply["ename"] == "ZeroDivisionError"
    assert comm.run("raise KeyError('from the job')")["state"] == "error"
    assert kernel.evaluate("type(__import__('sys').last_value).__name__") == "'ZeroDivisionError'"
    shown = str([m["content"] for m in kernel.execute("%tb").iopub])
    assert "ZeroDivisionError" in shown and "from the job" not in shown


def test_duplicate_job_id_is_refused(comm):
    first = comm.run("dup = 1")
    start = len(comm.messages)
    comm.submit("dup = 2", job_id=first["job_id"])
    assert comm.wait_type("error", start=start)["job_id"] == first["job_id"]


def test_rich_outputs_image_and_html(comm):
    job = comm.submit(
        "import base64\nfrom IPython.display import Image, HTML, display\n"
        "png = base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8"
        "z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==')\n"
        "display(Image(data=png))\nHTML('<i>last</i>')"
    )
    assert comm.wait_type("finished", job)["state"] == "done"
    image, html = comm.outputs(job)
    assert image["output_type"] == "display_data"
    assert image["data"]["image/png"].startswith("iVBORw0KGgo")  # base64 text, JSON-safe
    assert html["output_type"] == "execute_result"
    assert html["data"]["text/html"] == "<i>last</i>"


def test_matplotlib_figures_go_to_the_job(kernel, comm):
    try:
        kernel.ok("import matplotlib")
    except AssertionError:
        pytest.skip("matplotlib is not installed in this kernel's environment")
    shown = comm.submit("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()")
    assert comm.wait_type("finished", shown, timeout=30)["state"] == "done"
    left = comm.submit("import matplotlib.pyplot as plt\nplt.plot([3, 2, 1])\nplt.title('t')")
    assert comm.wait_type("finished", left, timeout=30)["state"] == "done"
    for job in (shown, left):
        images = [o for o in comm.outputs(job) if "image/png" in o.get("data", {})]
        assert len(images) == 1, comm.outputs(job)
    # nothing is left for the next foreground cell to show
    foreground = kernel.execute("1")
    assert not [m for m in foreground.iopub if m["header"]["msg_type"] == "display_data"]


def test_input_in_a_job_fails_clearly(kernel, comm):
    finished = comm.run("answer = input('name? ')")
    assert finished["state"] == "error"
    assert "not available in a background job" in finished["error"]["evalue"]
    # the foreground's input() is untouched
    reply = kernel.execute("input('x')").reply
    assert reply["ename"] == "StdinNotImplementedError"
    assert "background" not in reply["evalue"]


SETUPS = """
_rt = __import__('_parallel_cell_runtime')
_setups = [0]
_install_streams = _rt.capture.install_streams
def _counted():
    _setups[0] += 1
    _install_streams()
_rt.capture.install_streams = _counted
"""


def test_a_job_sets_up_again_only_what_the_foreground_replaced(kernel, comm):
    # Set up once, then skipped (capture.JobSetup) until the foreground replaces a stream.
    assert comm.run("pass")["state"] == "done"
    kernel.ok(SETUPS)
    for _ in range(3):
        assert comm.run("pass")["state"] == "done"
    assert kernel.evaluate("_setups[0]") == "0"
    kernel.ok(
        "import sys\n"
        "class Shouting:\n"
        "    def __init__(self, to): self.to = to\n"
        "    def write(self, text): return self.to.write(text.upper())\n"
        "    def flush(self): self.to.flush()\n"
        "_kept = sys.stdout\n"
        "sys.stdout = Shouting(sys.stdout)"
    )
    finished = comm.run("print('from the job')")
    assert finished["state"] == "done"
    assert kernel.evaluate("_setups[0]") == "1"
    assert comm.text(finished["job_id"]) == "from the job\n"
    kernel.ok("sys.stdout = _kept\n_rt.capture.install_streams = _install_streams")
