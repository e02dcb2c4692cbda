"""Job threads are reused (runtime/pool.py): a job on a reused thread sees what it would
on a new one, and a thread whose job was killed, or that keeps a trace function, is not
reused."""

import time

import pytest

RT = "__import__('_parallel_cell_runtime')"


@pytest.fixture
def cap_one(kernel):
    # One slot: each queued job is started by the one before as it ends, on its thread.
    kernel.ok(f"{RT}.jobs.configure(cap=1)")
    yield
    kernel.ok(f"{RT}.jobs.configure(cap=4)")


def _run_in_line(comm, codes):
    jobs = [comm.submit(code) for code in codes]
    return [comm.wait_type("finished", job, timeout=30) for job in jobs]


def test_queued_jobs_run_on_one_thread_and_see_none_of_the_last_ones_state(kernel, comm, cap_one):
    kernel.ok(
        "import threading, contextvars\npool_local = threading.local()\n"
        "pool_var = contextvars.ContextVar('pool_var', default='unset')\npool_seen = []"
    )
    step = (
        "import threading, decimal, asyncio\n"
        "pool_seen.append((threading.get_ident(), threading.current_thread().name,\n"
        "    getattr(pool_local, 'x', None), pool_var.get(), decimal.getcontext().prec,\n"
        "    getattr(threading.current_thread(), 'mark', None),\n"
        "    asyncio.get_event_loop_policy()._local._loop))\n"
        "pool_local.x = len(pool_seen)\npool_var.set('set')\ndecimal.getcontext().prec = 5\n"
        "threading.current_thread().mark = 'left'\n"
        "asyncio.set_event_loop(asyncio.new_event_loop())"
    )
    finished = _run_in_line(comm, [step] * 4)
    assert [f["state"] for f in finished] == ["done"] * 4, finished
    seen = eval(kernel.evaluate("pool_seen"), {})  # a list of tuples of our own making
    assert len({ident for ident, *_ in seen}) == 1  # one thread ran them all
    for k, (_, name, local, var, prec, mark, loop) in enumerate(seen):
        assert name.startswith("parallel-cell job ")
        assert (local, var, prec, mark, loop) == (None, "unset", 28, None, None), k


def test_a_display_hook_a_job_left_does_not_take_the_next_jobs_displays(kernel, comm, cap_one):
    left = "get_ipython().display_pub.register_hook(lambda msg: None)\nprint('left')"
    shown = "from IPython.display import display\ndisplay('shown')"
    first, second = _run_in_line(comm, [left, shown])
    assert first["state"] == second["state"] == "done"
    outputs = comm.outputs(second["job_id"])
    assert [o["output_type"] for o in outputs] == ["display_data"]
    assert outputs[0]["data"]["text/plain"] == "'shown'"


def _thread_of(kernel, name):
    return kernel.evaluate(f"{name}.ident")


def test_a_killed_jobs_thread_is_not_reused(kernel, comm):
    job = comm.submit(
        "import threading\nkilled_thread = threading.current_thread()\nwhile True:\n    pass"
    )
    comm.wait_type("started", job)
    kernel.wait_true("'killed_thread' in globals()")  # its code runs: the name is bound
    comm.kill(job)
    assert comm.wait_type("finished", job)["state"] == "killed"
    deadline = time.monotonic() + 20
    while kernel.evaluate("killed_thread.is_alive()") == "True" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert kernel.evaluate("killed_thread.is_alive()") == "False"
    for _ in range(3):  # and every later job runs undisturbed
        finished = comm.run("import threading\nafter_kill = threading.current_thread()\n1")
        assert finished["state"] == "done"
        assert kernel.evaluate("after_kill is killed_thread") == "False"


def test_a_job_that_caught_its_kill_and_ended_leaves_its_thread(kernel, comm, cap_one):
    job = comm.submit(
        "import threading, time\ncaught_thread = threading.current_thread()\n"
        "try:\n    caught_ready = True\n    while True:\n        time.sleep(0.01)\n"
        "except BaseException as err:\n"
        "    kept = err\nprint('ran on')"
    )
    after = comm.submit("import threading\nnext_thread = threading.current_thread()\n2")
    comm.wait_type("started", job)
    kernel.wait_true("globals().get('caught_ready', False)")  # in the try before the kill
    comm.kill(job)
    assert comm.wait_type("finished", job)["state"] == "killed"
    finished = comm.wait_type("finished", after)
    assert finished["state"] == "done"
    assert comm.outputs(after)[-1]["data"] == {"text/plain": "2"}
    assert kernel.evaluate("next_thread is caught_thread") == "False"


def test_a_trace_function_a_job_left_goes_with_its_thread(kernel, comm, cap_one):
    tracer = (
        "import sys, threading\ntraced_thread = threading.current_thread()\n"
        "def pool_tracer(frame, event, arg):\n    return None\nsys.settrace(pool_tracer)"
    )
    check = (
        "import sys, threading\nnext_trace = sys.gettrace()\n"
        "next_thread = threading.current_thread()"
    )
    first, second = _run_in_line(comm, [tracer, check])
    assert first["state"] == second["state"] == "done"
    assert kernel.evaluate("next_trace") == "None"
    assert kernel.evaluate("next_thread is traced_thread") == "False"


def test_without_a_pool_every_job_gets_a_new_thread(kernel, comm, cap_one):
    kernel.ok(f"kept_pool = {RT}.Config.pool_threads\n{RT}.jobs.configure(pool_threads=0)")
    kernel.ok("no_pool = []")
    try:
        code = "import threading\nno_pool.append(threading.current_thread())"
        assert [f["state"] for f in _run_in_line(comm, [code] * 3)] == ["done"] * 3
        assert kernel.evaluate("len({id(t) for t in no_pool})") == "3"
    finally:
        kernel.ok(f"{RT}.jobs.configure(pool_threads=kept_pool)")


def test_idle_pool_threads_are_not_named_as_jobs(kernel, comm):
    assert comm.run("1")["state"] == "done"
    names = "[t.name for t in __import__('threading').enumerate() if 'job' in t.name]"
    deadline = time.monotonic() + 20
    while kernel.evaluate(names) != "[]" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert kernel.evaluate(names) == "[]"


def test_a_job_waiting_for_another_jobs_end_is_killable(kernel, comm):
    other = comm.submit("import time\nwhile not globals().get('stop_other'):\n    time.sleep(0.01)")
    num = comm.wait_type("started", other)["num"]
    waiter = comm.submit(f"{RT}.jobs.wait({num})")  # the other job's done_event
    comm.wait_type("started", waiter)
    time.sleep(0.2)
    comm.kill(waiter)
    try:
        assert comm.wait_type("finished", waiter)["state"] == "killed"
    finally:
        kernel.ok("stop_other = True")
    assert comm.wait_type("finished", other)["state"] == "done"
