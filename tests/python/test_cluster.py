"""Run on Cluster (#8): cells on a real Dask LocalCluster, started by the real kernel.

The kernel's runtime starts the embedded LocalCluster (2 worker processes on this
machine) on the first cluster job and reuses it; every test here talks to it through
the comm, as the frontend does.
"""

import time

import pytest
from helpers import plain
from test_protocol import CLUSTER_GOLDEN, golden, shape_ok

CLUSTER_TIMEOUT = 120  # the first job starts the cluster


def placed(comm, job_id, timeout=30):
    return comm.wait_type("placed", job_id, timeout)


# The kernel's registered runtime, as an expression the tests evaluate in the kernel.
RUNTIME = "__import__('_parallel_cell_runtime').kernel.current()"


def configure_cluster(comm, address):
    """The frontend's ``configure`` with the default settings and ``cluster`` = address."""
    comm.send(
        {
            "type": "configure",
            "log_limit": 5000,
            "kill_grace_ms": 500,
            "interruptible_sleep": True,
            "cluster": address,
        }
    )


def cluster_threads(kernel):
    """Worker threads of the kernel's cluster (one per core, at most 4; 2 on CI)."""
    return int(
        kernel.evaluate(
            "__import__('_parallel_cell_runtime').api._cluster_threads()",
        )
    )


def test_namespace_goes_out_and_assigned_names_come_back(kernel, comm):
    kernel.ok("base = 10\ndef sq(x):\n    return x * x\n")
    fin = comm.run(
        "import os\ny = sq(base) + 1\nworker_pid = os.getpid()\ny * 2",
        target="dask",
        timeout=CLUSTER_TIMEOUT,
    )
    assert fin["state"] == "done", fin
    assert {"os", "y", "worker_pid"} <= set(fin["assigned"])
    assert kernel.evaluate("y") == "101"
    assert kernel.evaluate("worker_pid != __import__('os').getpid()") == "True"
    job = fin["job_id"]
    started = comm.wait_type("started", job)
    assert started["target"] == "dask" and started["worker"] is None
    assert started["dashboard"].startswith("http://127.0.0.1:")
    assert placed(comm, job)["worker"].startswith("tcp://127.0.0.1:")
    results = [o for o in comm.outputs(job) if o["output_type"] == "execute_result"]
    assert [r["data"]["text/plain"] for r in results] == ["202"]
    # The kernel's job list says where it ran.
    start = len(comm.messages)
    comm.send({"type": "list"})
    info = next(j for j in comm.wait_type("jobs", start=start)["jobs"] if j["job_id"] == job)
    assert info["target"] == "dask" and info["worker"].startswith("tcp://")


def test_cluster_messages_match_golden_shapes(kernel, comm, gate):
    gold = golden("kernel")
    job = comm.submit(gate.code(), target="dask")  # runs until the list below is answered
    seen = {"started_dask": comm.wait_type("started", job, CLUSTER_TIMEOUT)}
    seen["placed"] = placed(comm, job)
    start = len(comm.messages)
    comm.send({"type": "list"})
    listed = comm.wait_type("jobs", start=start)
    seen["jobs_dask"] = {**listed, "jobs": [j for j in listed["jobs"] if "target" in j]}
    assert sorted(seen) == sorted(CLUSTER_GOLDEN)
    for name, msg in seen.items():
        assert shape_ok(msg, gold[name]), (name, msg)
    gate.open()
    comm.wait_type("finished", job, 30)


def test_cluster_jobs_take_no_slot_and_honour_after(kernel, comm):
    settings = {"type": "configure", "log_limit": 5000, "kill_grace_ms": 500}
    comm.send({**settings, "interruptible_sleep": True, "cap": 1})
    kernel.ok("dask_go = False")
    try:
        held = comm.submit("import time\nwhile not dask_go:\n    time.sleep(0.01)")
        free = comm.submit("1 + 1", target="dask")  # the one slot is taken: no matter
        chained = comm.submit("z_after = 5", target="dask", after=held)
        queued = comm.wait_type("queued", chained)
        assert queued["target"] == "dask" and queued["after"] == held
        assert comm.wait_type("finished", free, CLUSTER_TIMEOUT)["state"] == "done"
        assert "queued" not in [m["type"] for m in comm.of_job(free)]
        assert "started" not in [m["type"] for m in comm.of_job(chained)]
        kernel.ok("dask_go = True")
        assert comm.wait_type("finished", chained, CLUSTER_TIMEOUT)["state"] == "done"
        assert kernel.evaluate("z_after") == "5"
        never = comm.submit("1", target="dask", after=comm.run("1 / 0")["job_id"])
        assert comm.wait_type("finished", never)["error"]["ename"] == "DependencyFailed"
    finally:
        kernel.ok("dask_go = True")
        comm.send({**settings, "interruptible_sleep": True, "cap": 4})


def test_output_streams_live_from_the_worker(kernel, comm, gate):
    # The cell waits on the gate after its first outputs: they came live, before its end.
    job = comm.submit(
        "import sys, time\nprint('first')\nprint('warn', file=sys.stderr)\n"
        "display({'a': 1})\n" + gate.code() + "print('last')",
        target="dask",
    )
    first = comm.wait_for(
        lambda m: (
            m.get("job_id") == job
            and m["type"] == "output"
            and any("first" in o.get("text", "") for o in m["outputs"])
        ),
        timeout=CLUSTER_TIMEOUT,
    )
    assert not [m for m in comm.of_job(job) if m["type"] == "finished"], "output came live"
    gate.open()
    assert comm.index_of(first) < comm.index_of(comm.wait_type("finished", job, 30))
    assert comm.text(job) == "first\nlast\n"
    assert comm.text(job, "stderr") == "warn\n"
    displays = [o for o in comm.outputs(job) if o["output_type"] == "display_data"]
    assert displays and displays[0]["data"]["text/plain"] == "{'a': 1}"


def test_displays_updates_clears_and_threads_on_the_worker_reach_the_cell(kernel, comm):
    fin = comm.run(
        "import threading\nfrom IPython.display import display, clear_output\n"
        "h = display('first', display_id=True)\nh.update('second')\n"
        "print('gone')\nclear_output(wait=True)\n"
        "t = threading.Thread(target=print, args=('from a thread',))\nt.start()\nt.join()",
        target="dask",
        timeout=CLUSTER_TIMEOUT,
    )
    assert fin["state"] == "done", fin
    outs = comm.outputs(fin["job_id"])
    kinds = [o["output_type"] for o in outs]
    assert kinds[:5] == ["display_data", "update_display_data", "stream", "clear_output", "stream"]
    shown, updated = outs[0], outs[1]
    assert shown["data"]["text/plain"] == "'first'" and updated["data"]["text/plain"] == "'second'"
    assert shown["transient"]["display_id"] == updated["transient"]["display_id"]
    assert outs[3]["wait"] is True
    assert outs[4]["text"] == "from a thread\n"
    # What the cell imported comes back as IPython's own; the thread cannot be pickled.
    assert set(fin["assigned"]) == {"threading", "display", "clear_output", "h"}
    assert outs[5:] == [
        {
            "output_type": "stream",
            "name": "stderr",
            "text": "[parallel-cell: t did not come back from the worker: TypeError: "
            "cannot pickle '_thread.lock' object]\n",
        }
    ]
    assert kernel.evaluate("display.__module__") == "'IPython.core.display_functions'"


def test_parallel_cell_names_travel_both_ways(kernel, comm):
    # The package where the kernel's environment has it, else the runtime it forwards to.
    kernel.ok(
        "try:\n    import parallel_cell\nexcept ImportError:\n"
        "    parallel_cell = __import__('sys').modules['_parallel_cell_runtime']\n"
        "checkpoint = parallel_cell.checkpoint"
    )
    fin = comm.run(
        "checkpoint()\nparallel_cell.checkpoint()\ncp = checkpoint\nmod = parallel_cell",
        target="dask",
        timeout=CLUSTER_TIMEOUT,
    )
    assert fin["state"] == "done", fin
    assert kernel.evaluate("cp is checkpoint") == "True"
    assert kernel.evaluate("mod is parallel_cell") == "True"


def test_an_unpicklable_value_is_named(kernel, comm):
    kernel.ok("import threading\nlock = threading.Lock()")
    fin = comm.run("with lock:\n    pass", target="dask", timeout=CLUSTER_TIMEOUT)
    assert fin["state"] == "error"
    assert fin["error"]["ename"] == "ClusterError"
    assert "cannot send 'lock' (a lock) to the cluster" in fin["error"]["evalue"]
    # A name the cell binds itself is not sent: the cell makes its own.
    fin = comm.run("lock = 5\nlock + 1", target="dask", timeout=CLUSTER_TIMEOUT)
    assert fin["state"] == "done", fin
    assert kernel.evaluate("lock") == "5"


def test_magics_and_syntax_errors_are_refused_before_sending(kernel, comm):
    for code, named in [("%time x = 1", "%time"), ("!echo hi", "!cmd"), ("%%bash\necho", "%%bash")]:
        job = comm.submit(code, target="dask")
        fin = comm.wait_type("finished", job, 20)
        assert fin["state"] == "error" and fin["error"]["ename"] == "ClusterError", fin
        assert fin["error"]["evalue"].startswith(f"{named} needs the kernel")
        assert not [m for m in comm.of_job(job) if m["type"] == "started"]
    fin = comm.run("def (:", target="dask")
    assert fin["error"]["ename"] == "SyntaxError"


def test_an_error_on_the_worker_has_the_cells_traceback(kernel, comm):
    fin = comm.run("def f():\n    return 1 / 0\n\nf()", target="dask", timeout=CLUSTER_TIMEOUT)
    assert fin["state"] == "error" and fin["error"]["ename"] == "ZeroDivisionError"
    text = plain(fin["error"]["traceback"])
    assert "return 1 / 0" in text
    assert "worker.py" not in text, text


def test_map_spreads_chunks_over_the_cluster(kernel, comm):
    start = len(comm.messages)
    kernel.ok(
        "import sys\npc = sys.modules['_parallel_cell_runtime']\n"
        "r = pc.map(lambda x: x * x, range(10), backend='dask')"
    )
    assert kernel.evaluate("r.result(timeout=60)") == str([x * x for x in range(10)])
    threads = cluster_threads(kernel)  # one chunk per worker thread
    # the outbox thread may send `started` after the reply above
    started = comm.wait_count(lambda m: m["type"] == "started", threads, start=start)
    assert [m for m in comm.messages[start:] if m["type"] == "started"] == started
    assert len({m["job_id"] for m in started}) == threads
    assert all(m["target"] == "dask" and m["origin"] == "kernel" for m in started)
    assert "dask tcp://127.0.0.1:" in kernel.ok("print(pc.jobs.status())")
    with pytest.raises(AssertionError, match="backend must be"):
        kernel.ok("pc.map(abs, [1], backend='gpu')")


def test_kill_cancels_a_queued_task_and_stops_running_ones(kernel, comm):
    busy = cluster_threads(kernel)
    blockers = [comm.submit("import time\ntime.sleep(60)", target="dask") for _ in range(busy)]
    for job in blockers:
        placed(comm, job, CLUSTER_TIMEOUT)
    queued = comm.submit("print('never')", target="dask")
    comm.wait_type("started", queued, 20)
    time.sleep(0.5)
    assert not [m for m in comm.of_job(queued) if m["type"] == "placed"]
    comm.kill(queued)
    fin = comm.wait_type("finished", queued, 20)
    assert fin["state"] == "killed"
    assert comm.text(queued) == ""
    t0 = time.monotonic()
    for job in blockers:  # time.sleep on a worker ends at once on a kill
        comm.kill(job)
    for job in blockers:
        assert comm.wait_type("finished", job, 20)["state"] == "killed"
        assert comm.wait_type("cancelling", job)["reason"] is None
    print(f"{busy} sleeping tasks killed in {time.monotonic() - t0:.2f} s")


@pytest.mark.parametrize(
    "code",
    [
        "import parallel_cell\nwhile True:\n    parallel_cell.checkpoint()",
        "i = 0\nwhile True:\n    i += 1\n    if i % 100000 == 0:\n        print(i)",
    ],
    ids=["checkpoint", "print"],
)
def test_kill_is_cooperative_at_checkpoints_and_prints(kernel, comm, code):
    job = comm.submit(code, target="dask")
    placed(comm, job, CLUSTER_TIMEOUT)
    time.sleep(0.3)
    t0 = time.monotonic()
    comm.kill(job)
    assert comm.wait_type("finished", job, 20)["state"] == "killed"
    print(f"killed in {time.monotonic() - t0:.2f} s")


def test_a_worker_that_dies_ends_the_job_and_the_cell_is_not_run_again(kernel, comm):
    fin = comm.run(
        "import os, time\nprint('run', flush=True)\ntime.sleep(0.3)\nos._exit(3)",
        target="dask",
        timeout=60,
    )
    assert fin["state"] == "error" and fin["error"]["ename"] == "WorkerDied", fin
    assert "died before it ended" in fin["error"]["evalue"]
    assert comm.text(fin["job_id"]).count("run") == 1
    assert comm.run("6 * 7", target="dask", timeout=60)["state"] == "done"


def test_a_finished_job_is_not_run_again_when_its_worker_restarts(kernel, comm, tmp_path):
    # Dask recomputes a lost result some client still holds: the kernel lets go of a
    # job's task when the job ends, so the cell never runs twice.
    runs = tmp_path / "runs.txt"
    kernel.ok(f"runs_file = {str(runs)!r}")
    fin = comm.run("with open(runs_file, 'a') as f:\n    f.write('x')", target="dask", timeout=60)
    assert fin["state"] == "done", fin
    worker = placed(comm, fin["job_id"])["worker"]
    kernel.ok(f"{RUNTIME}.cluster.link.get_client().restart_workers([{worker!r}])", timeout=60)
    time.sleep(2)
    assert runs.read_text() == "x"


def test_a_restart_that_fails_is_not_called_a_kill(kernel, comm, gate):
    # The kernel's client is made to fail the restart (as on workers without a nanny);
    # the task (a loop with no checkpoint, that ends once the gate opens) is left to end
    # on its worker.
    kernel.ok(
        f"_pc_client = {RUNTIME}.cluster.link.get_client()\n"
        "def _no_restart(*args, **kwargs):\n    raise RuntimeError('no nanny here')\n"
        "_pc_client.restart_workers = _no_restart"
    )
    try:
        job = comm.submit(
            f"import os\nwhile not os.path.exists({str(gate.path)!r}):\n    pass", target="dask"
        )
        placed(comm, job, CLUSTER_TIMEOUT)
        comm.kill(job)
        comm.wait_for(
            lambda m: m.get("job_id") == job and m["type"] == "cancelling" and m["reason"],
            timeout=20,
        )
        comm.kill(job, restart_worker=True)
        fin = comm.wait_type("finished", job, 30)
        assert fin["state"] == "error" and fin["error"]["ename"] == "NotStopped", fin
        assert "no nanny here" in fin["error"]["evalue"]
        assert "may still be running there" in fin["error"]["evalue"]
    finally:
        gate.open()  # the loop ends on its worker
        kernel.ok("del _pc_client.restart_workers")


def test_a_task_that_never_stops_is_cancelling_until_its_worker_restarts(kernel, comm):
    job = comm.submit("while True:\n    pass", target="dask")
    worker = placed(comm, job, CLUSTER_TIMEOUT)["worker"]
    comm.kill(job)
    stuck = comm.wait_for(
        lambda m: m.get("job_id") == job and m["type"] == "cancelling" and m["reason"],
        timeout=20,
    )
    assert f"the task on {worker} has not stopped" in stuck["reason"]
    assert not [m for m in comm.of_job(job) if m["type"] == "finished"]
    t0 = time.monotonic()
    comm.kill(job, restart_worker=True)
    # A worker whose thread spins is killed by its nanny after the close times out: on a
    # loaded machine that took over 60 s. The runtime itself waits up to 120 s for it.
    assert comm.wait_type("finished", job, 150)["state"] == "killed"
    print(f"worker restarted, job killed in {time.monotonic() - t0:.2f} s")
    assert f"worker {worker} was restarted" in comm.text(job, "stderr")
    # The cluster keeps working.
    fin = comm.run("6 * 7", target="dask", timeout=60)
    assert fin["state"] == "done"


def test_an_unreachable_scheduler_is_a_clear_error(kernel, comm):
    configure_cluster(comm, "tcp://127.0.0.1:9")
    try:
        fin = comm.run("1", target="dask", timeout=60)
        assert fin["state"] == "error" and fin["error"]["ename"] == "ClusterError"
        assert "could not reach the Dask cluster (tcp://127.0.0.1:9)" in fin["error"]["evalue"]
    finally:
        configure_cluster(comm, "")
    assert comm.run("1", target="dask", timeout=60)["state"] == "done"


def test_a_job_killed_as_it_is_sent_ends_killed(kernel, comm):
    # The kill follows the submit at once: it finds the job being sent, queued, or just
    # started (a warm cluster starts a task in milliseconds); it ends killed either way.
    job = comm.submit("import time\nprint('ran')\ntime.sleep(30)\nprint('end')", target="dask")
    comm.kill(job)
    assert comm.wait_type("finished", job, 30)["state"] == "killed"
    assert "end" not in comm.text(job)


def test_a_finished_jobs_events_are_forgotten_by_the_scheduler(kernel, comm):
    fin = comm.run("for i in range(50):\n    print(i)", target="dask", timeout=CLUSTER_TIMEOUT)
    assert fin["state"] == "done"
    assert comm.text(fin["job_id"]) == "".join(f"{i}\n" for i in range(50))
    # The kernel's client reads the scheduler's event log: the job's topic is empty.
    topic = f"{RUNTIME}.jobs[{fin['job_id']!r}].task.topic"
    left = kernel.evaluate(f"len({RUNTIME}.cluster.link.client.get_events({topic}))")
    assert left == "0"


def test_without_dask_in_the_kernel_the_error_says_what_to_install(fresh_kernel):
    fresh_kernel.bootstrap()
    fresh_kernel.ok("import sys\nsys.modules['distributed'] = None  # as if not installed")
    comm = fresh_kernel.open_comm()
    comm.wait_type("hello")
    fin = comm.run("1", target="dask", timeout=30)
    assert fin["state"] == "error" and fin["error"]["ename"] == "ClusterError"
    assert 'pip install "dask[distributed]"' in fin["error"]["evalue"]


def test_a_configured_scheduler_address_is_used(kernel, comm):
    """An existing cluster (here: one this test starts, outside the kernel)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as outside:
        workers = set(outside.scheduler_info["workers"])
        configure_cluster(comm, outside.scheduler_address)
        try:
            fin = comm.run("import os\nos.getpid()", target="dask", timeout=60)
            assert fin["state"] == "done", fin
            assert placed(comm, fin["job_id"])["worker"] in workers
        finally:
            configure_cluster(comm, "")
    # Back to the kernel's own cluster.
    fin = comm.run("1", target="dask", timeout=60)
    assert placed(comm, fin["job_id"])["worker"] not in workers
