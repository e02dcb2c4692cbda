"""Every output finds its cell: routing that does not depend on being ``sys.stdout``.

The foreground captures or redirects, logging was set up before the runtime, the job
captures its own output: a job's lines land in the job, and nowhere else.
"""

import pytest

# A job that prints a numbered line every 10 ms until the foreground says stop; the
# foreground reads how far it got in `printer_k`.
PRINTER = (
    "import itertools, time, sys\nfor k in itertools.count():\n    print(f'job line {k}')\n"
    "    print(f'job err {k}', file=sys.stderr)\n    printer_k = k\n    time.sleep(0.01)\n"
    "    if {flag}:\n        break\n"
)


def _printing_job(kernel, comm, flag):
    kernel.ok(f"{flag} = False")
    job = comm.submit(PRINTER.replace("{flag}", flag))
    comm.wait_type("started", job)
    comm.wait_for(lambda m: m["type"] == "output" and m["job_id"] == job)
    return job


def _lines(text, prefix):
    return [line for line in text.splitlines() if line.startswith(prefix)]


def _consecutive(lines, prefix):
    numbers = [int(line[len(prefix) :]) for line in lines]
    return numbers == list(range(len(numbers)))


@pytest.mark.parametrize(
    "capture",
    [
        "%%capture captured\n",
        "import contextlib, io\ncaptured = io.StringIO()\nwith contextlib.redirect_stdout("
        "captured), contextlib.redirect_stderr(captured):\n",
    ],
    ids=["%%capture", "redirect_stdout"],
)
def test_a_foreground_capture_takes_none_of_a_jobs_lines(kernel, comm, capture):
    job = _printing_job(kernel, comm, "stop_printer")
    body = "    " if capture.endswith(":\n") else ""
    # The capture lasts until the job has printed 10 more lines: they came during it.
    fg = kernel.execute(
        capture
        + f"{body}import time\n{body}k_from = printer_k\n{body}for i in range(10):\n"
        + f"{body}    print(f'fg line {{i}}')\n{body}    time.sleep(0.03)\n"
        + f"{body}while printer_k < k_from + 10:\n{body}    time.sleep(0.01)\n"
        + f"{body}stop_printer = True\n"
    )
    assert fg.stdout == ""  # the foreground's own lines went to its capture
    comm.wait_type("finished", job)
    captured = kernel.evaluate(
        "captured.stdout + captured.stderr if hasattr(captured, 'stdout') else captured.getvalue()"
    )
    assert "fg line 9" in captured
    assert "job" not in captured
    job_out = _lines(comm.text(job), "job line ")
    assert len(job_out) >= 10 and _consecutive(job_out, "job line ")
    assert _consecutive(_lines(comm.text(job, "stderr"), "job err "), "job err ")
    # and the streams are themselves again after the capture
    assert kernel.ok("print('fg after')") == "fg after\n"


def test_a_job_capturing_its_own_output_keeps_it(kernel, comm):
    job = comm.submit(
        "import contextlib, io\nown = io.StringIO()\nwith contextlib.redirect_stdout(own):\n"
        "    print('kept by the job')\nprint('to the cell', own.getvalue().strip())"
    )
    finished = comm.wait_type("finished", job)
    assert finished["state"] == "done"
    assert comm.text(job) == "to the cell kept by the job\n"


def test_a_jobs_redirect_does_not_take_the_foregrounds_lines(kernel, comm):
    job = comm.submit(
        "import contextlib, io, time\nmine = io.StringIO()\n"
        "with contextlib.redirect_stdout(mine):\n    job_redirected = True\n"
        "    while not globals().get('fg_printed'):\n        time.sleep(0.01)\n"
        "print('job saw', repr(mine.getvalue()))"
    )
    comm.wait_type("started", job)
    kernel.ok("import time\nwhile not globals().get('job_redirected'):\n    time.sleep(0.01)")
    assert kernel.ok("print('foreground line')\nfg_printed = True") == "foreground line\n"
    comm.wait_type("finished", job)
    assert comm.text(job) == "job saw ''\n"


def test_logging_configured_before_the_runtime_reaches_the_job(fresh_kernel):
    kernel = fresh_kernel
    kernel.ok(
        "import logging, sys\nlogging.basicConfig(level=logging.INFO, stream=sys.stderr, "
        "format='%(levelname)s %(message)s', force=True)\nlog = logging.getLogger('nb')"
    )
    kernel.bootstrap()
    comm = kernel.open_comm()
    comm.wait_type("hello")
    job = comm.submit("for k in range(3):\n    log.info('step %d', k)\nprint('done')")
    comm.wait_type("finished", job)
    assert comm.text(job, "stderr") == "INFO step 0\nINFO step 1\nINFO step 2\n"
    assert comm.text(job) == "done\n"
    fg = kernel.execute("log.info('foreground')")
    assert fg.stderr == "INFO foreground\n"


def test_a_stream_object_taken_before_the_runtime_routes(fresh_kernel):
    kernel = fresh_kernel
    kernel.ok("import sys\nearly_out = sys.stdout")
    kernel.bootstrap()
    comm = kernel.open_comm()
    comm.wait_type("hello")
    job = comm.submit("print('via the early stream', file=early_out)")
    comm.wait_type("finished", job)
    assert comm.text(job) == "via the early stream\n"


def test_logging_configured_after_the_runtime_reaches_the_job(kernel, comm):
    kernel.ok(
        "import logging, sys\nlate = logging.getLogger('late')\nlate.propagate = False\n"
        "late.addHandler(logging.StreamHandler(sys.stdout))\nlate.setLevel(logging.INFO)"
    )
    job = comm.submit("late.info('late handler line')")
    comm.wait_type("finished", job)
    assert comm.text(job) == "late handler line\n"


def test_a_foreground_capture_takes_none_of_a_jobs_displays(kernel, comm):
    # The job displays only once the capture began, and the capture lasts until it is
    # done: its displays came during the capture.
    job = comm.submit(
        "import time\nfrom IPython.display import display, HTML\n"
        "while not globals().get('fg_capturing'):\n    time.sleep(0.01)\nfor i in range(10):\n"
        "    display(HTML(f'<b>{i}</b>'))\n    time.sleep(0.05)\njob_displayed = True"
    )
    comm.wait_type("started", job)
    kernel.ok(
        "%%capture fg_cap\nimport time\nfg_capturing = True\n"
        "while not globals().get('job_displayed'):\n    time.sleep(0.01)\ndisplay('fg display')"
    )
    comm.wait_type("finished", job)
    shown = [
        o["data"]["text/html"] for o in comm.outputs(job) if o["output_type"] == "display_data"
    ]
    assert shown == [f"<b>{i}</b>" for i in range(10)]
    assert kernel.evaluate("[o.data['text/plain'] for o in fg_cap.outputs]") == "[\"'fg display'\"]"


def test_a_job_capturing_its_own_displays_keeps_them(kernel, comm):
    job = comm.submit(
        "from IPython.utils.capture import capture_output\nfrom IPython.display import display\n"
        "with capture_output() as mine:\n    display('kept')\n    print('kept too')\n"
        "print(len(mine.outputs), repr(mine.stdout))"
    )
    assert comm.wait_type("finished", job)["state"] == "done"
    assert comm.text(job) == "1 'kept too\\n'\n"


def test_a_job_sending_its_stdout_to_stderr_gets_it_on_stderr(kernel, comm):
    job = comm.submit(
        "import contextlib, sys\nwith contextlib.redirect_stdout(sys.stderr):\n"
        "    print('meant for stderr')\nprint('back on stdout')"
    )
    assert comm.wait_type("finished", job)["state"] == "done"
    assert comm.text(job, "stderr") == "meant for stderr\n"
    assert comm.text(job) == "back on stdout\n"
    fg = kernel.execute(
        "import contextlib, sys\nwith contextlib.redirect_stdout(sys.stderr):\n    print('fg err')"
    )
    assert fg.stderr == "fg err\n" and fg.stdout == ""
