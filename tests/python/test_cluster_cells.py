"""Run on Cluster runs cells as a thread job does (#15, point 5): the worker uses the
kernel's routing layer (``routing.py``) and cell runner (``cellrun.py``).

A module of its own (test_cluster.py is at its size limit); like it, it talks to the
LocalCluster the real kernel starts, through the comm, as the frontend does.
"""

import pytest
from test_cluster import CLUSTER_TIMEOUT, cluster_threads, placed


def streams(comm, job):
    """The job's stream outputs as [(name, text)], neighbours of one name joined."""
    out = []
    for o in comm.outputs(job):
        if o["output_type"] != "stream":
            continue
        if out and out[-1][0] == o["name"]:
            out[-1] = (o["name"], out[-1][1] + o["text"])
        else:
            out.append((o["name"], o["text"]))
    return out


def test_a_cells_own_redirect_keeps_its_output_the_rest_reaches_the_cell(kernel, comm):
    fin = comm.run(
        "import contextlib, io, sys\nbuf = io.StringIO()\nprint('before')\n"
        "with contextlib.redirect_stdout(buf):\n    print('kept')\n"
        "    print('to the cell', file=sys.stderr)\nprint('after')\ncaptured = buf.getvalue()",
        target="dask",
        timeout=CLUSTER_TIMEOUT,
    )
    assert fin["state"] == "done", fin
    assert streams(comm, fin["job_id"]) == [
        ("stdout", "before\n"),
        ("stderr", "to the cell\n"),
        ("stdout", "after\n"),
    ]
    assert kernel.evaluate("captured") == repr("kept\n")


def test_a_redirect_a_job_leaves_behind_takes_no_later_jobs_output(kernel, comm, gate):
    # One such job on every worker (one thread each, and none ends before the gate
    # opens: the second task goes to the idle worker); each leaves sys.stdout set to its
    # own buffer.
    busy = cluster_threads(kernel)
    leaky = [
        comm.submit(
            "import io, sys\nsys.stdout = io.StringIO()\nprint('swallowed')\n" + gate.code(),
            target="dask",
        )
        for _ in range(busy)
    ]
    workers = {placed(comm, job, CLUSTER_TIMEOUT)["worker"] for job in leaky}
    gate.open()
    for job in leaky:
        assert comm.wait_type("finished", job, 30)["state"] == "done"
        assert comm.text(job) == ""
    assert len(workers) == busy
    fin = comm.run("import sys\nprint('mine')\nprint('err', file=sys.stderr)", target="dask")
    assert fin["state"] == "done", fin
    assert placed(comm, fin["job_id"])["worker"] in workers
    assert streams(comm, fin["job_id"]) == [("stdout", "mine\n"), ("stderr", "err\n")]


def test_stdout_and_stderr_arrive_in_order(kernel, comm):
    fin = comm.run(
        "import sys\nfor i in range(3):\n    print(f'o{i}')\n"
        "    print(f'e{i}', file=sys.stderr)\nsys.stdout.write('end')\nsys.stdout.flush()",
        target="dask",
        timeout=CLUSTER_TIMEOUT,
    )
    assert fin["state"] == "done", fin
    pairs = [("stdout", "o"), ("stderr", "e")]
    expected = [(name, f"{mark}{i}\n") for i in range(3) for name, mark in pairs]
    assert streams(comm, fin["job_id"]) == expected + [("stdout", "end")]


@pytest.mark.parametrize(
    "code, result",
    [
        ("x = 6\nx * 7", "42"),
        ("1 + 1;", None),
        ("import asyncio\nawait asyncio.sleep(0.01)\nv = await asyncio.sleep(0, 20)\nv + 1", "21"),
        ("import asyncio\nawait asyncio.sleep(0, result='awaited')", "'awaited'"),
        ("import asyncio\nasync def f():\n    return 5\n\nw = await f()", None),
    ],
    ids=["expression", "semicolon", "await-then-expression", "await-expression", "await"],
)
def test_trailing_expressions_and_top_level_await_give_their_result(kernel, comm, code, result):
    fin = comm.run(code, target="dask", timeout=CLUSTER_TIMEOUT)
    assert fin["state"] == "done", fin
    results = [o for o in comm.outputs(fin["job_id"]) if o["output_type"] == "execute_result"]
    assert [r["data"]["text/plain"] for r in results] == ([] if result is None else [result])
    if "w = " in code:
        assert kernel.evaluate("w") == "5"


def test_a_kill_cancels_the_awaits_of_a_cell_with_top_level_await(kernel, comm):
    # asyncio.sleep is no time.sleep: the kill cancels the cell's event loop's tasks.
    job = comm.submit(
        "import asyncio\nprint('waiting', flush=True)\nawait asyncio.sleep(60)\nprint('end')",
        target="dask",
    )
    comm.wait_for(
        lambda m: m.get("job_id") == job and m["type"] == "output", timeout=CLUSTER_TIMEOUT
    )
    comm.kill(job)
    assert comm.wait_type("finished", job, 20)["state"] == "killed"  # not the 60 s
    assert comm.text(job) == "waiting\n"


def test_sys_and_functions_that_use_it_travel_both_ways(kernel, comm):
    # With routing installed, sys's class is routing's (a ModuleType subclass), in the
    # kernel and on the workers: it still pickles as the module.
    kernel.ok("import sys\ndef where():\n    return sys.platform")
    fin = comm.run("same = where() == sys.platform\nmod = sys", target="dask", timeout=60)
    assert fin["state"] == "done", fin
    assert set(fin["assigned"]) == {"same", "mod"}
    assert kernel.evaluate("same, mod is sys") == "(True, True)"
    assert comm.text(fin["job_id"], "stderr") == ""


def _killed_after_output(comm, code):
    job = comm.submit(code, target="dask")
    comm.wait_for(
        lambda m: m.get("job_id") == job and m["type"] == "output", timeout=CLUSTER_TIMEOUT
    )
    comm.kill(job)
    finished = comm.wait_type("finished", job, 20)
    return job, finished


def test_a_kill_on_a_worker_lets_cleanup_print_and_sleep(kernel, comm):
    # The kill raises once (at the next sleep, print or checkpoint); the cleanup's own
    # sleep and print then run, as in the kernel.
    job, finished = _killed_after_output(
        comm,
        "import time\ntry:\n    print('working', flush=True)\n    while True:\n"
        "        time.sleep(0.05)\nfinally:\n    t0 = time.monotonic()\n    time.sleep(0.3)\n"
        "    print('cleaned up after a whole sleep:', time.monotonic() - t0 >= 0.3)",
    )
    assert finished["state"] == "killed"
    # A lower bound: a loaded machine oversleeps (0.36 s rounded to 0.4), never less.
    assert comm.text(job) == "working\ncleaned up after a whole sleep: True\n"


def test_a_kill_caught_on_a_worker_is_never_a_plain_done(kernel, comm):
    # On a worker the kill is cooperative: code that swallows it runs on to its end,
    # and the job says so.
    job, finished = _killed_after_output(
        comm,
        "import time\ntry:\n    print('working', flush=True)\n    while True:\n"
        "        time.sleep(0.05)\nexcept BaseException:\n    pass\nprint('ran on')",
    )
    assert finished["state"] == "killed"
    assert comm.text(job) == "working\nran on\n"
    assert "caught the kill" in comm.text(job, "stderr")
