"""Many trivial jobs back to back, in the kernel and through the comm, all end `done`.

The figures (µs per job) are printed for information; the benchmark that compares them
with a bare thread and the recipe's BackgroundJobManager is `make bench` (P2). No timing
is asserted here.
"""

import json
import time

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
