"""Many trivial jobs back to back, in the kernel and through the comm, all end `done`.

The figures (µs per job) are printed for information; the benchmark that compares them
with a bare thread and the recipe's BackgroundJobManager is `make bench` (P2). No timing
is asserted here.
"""

import json
import time

from helpers import plain

MANY = """
import json, time
_rt = __import__('_parallel_cell_runtime')._RUNTIME
_states = []
_t = time.perf_counter()
for _i in range(200):
    _job = _rt.start_job('pass', 'kernel')
    _job.done_event.wait()
    _states.append(_job.state)
print(json.dumps([round((time.perf_counter() - _t) / 200 * 1e6), _states]))
__import__('_parallel_cell_runtime').jobs.flush()
"""


def test_many_trivial_jobs_all_end_done(kernel, comm):
    us, states = json.loads(kernel.ok(MANY).strip().splitlines()[-1])
    assert states == ["done"] * 200
    t0 = time.perf_counter()
    finished = [comm.run("pass") for _ in range(50)]
    round_trip_us = (time.perf_counter() - t0) / 50 * 1e6
    assert [f["state"] for f in finished] == ["done"] * 50
    print(
        f"trivial job: {us} us in the kernel (start to end, 200 runs), "
        f"{round_trip_us:.0f} us submit-to-finished through the comm (50 runs)"
    )


def test_a_cell_run_again_keeps_its_own_job_label_in_tracebacks(comm):
    # Compiled cells are cached by source; each run's code still carries its own job's
    # name, nested functions included.
    code = "def f():\n    return 1/0\nf()"
    first, second = comm.run(code), comm.run(code)
    for finished in (first, second):
        num = next(m["num"] for m in comm.of_job(finished["job_id"]) if m["type"] == "started")
        text = plain(finished["error"]["traceback"])
        assert f"File <background job {num}>:3" in text
        assert f"File <background job {num}>:2, in f()" in text
        assert "return 1/0" in text


def test_a_changed_namespace_changes_what_a_one_line_cell_means(kernel, comm):
    # One-line cells go through IPython's dynamic prefilter (automagic: `pwd` is
    # `%pwd` until a variable of that name exists); nothing may cache that away.
    first = comm.run("pwd")
    assert first["state"] == "done"
    kernel.ok("pwd = 'a variable now'")
    job = comm.submit("pwd")
    comm.wait_type("finished", job)
    assert comm.outputs(job)[0]["data"]["text/plain"] == "'a variable now'"
    kernel.ok("del pwd")


def test_jobs_started_under_a_profiler_do_not_hang(kernel):
    # A cleared async exception left CPython's eval-breaker flag set; with a profiler
    # on, the next thread start hung (seen with cProfile around a loop of jobs).
    out = kernel.ok(
        "import cProfile\n_pr = cProfile.Profile()\n_pr.enable()\n"
        "_rt = __import__('_parallel_cell_runtime')\n"
        "_states = []\nfor _ in range(150):\n"
        "    _job = _rt._RUNTIME.start_job('None', 'kernel')\n"
        "    _job.done_event.wait(60)\n    _states.append(_job.state)\n"
        "_pr.disable()\nprint(sorted(set(_states)))\n_rt.jobs.flush()",
        timeout=180,
    )
    assert out == "['done']\n"
