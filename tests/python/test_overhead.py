"""Figures: the cost of a trivial job, in the kernel and through the comm."""

import time

OVERHEAD = """
import time
_rt = __import__('_parallel_cell_runtime')._RUNTIME
_t = time.perf_counter()
for _i in range(200):
    _rt.start_job('pass', 'kernel').done_event.wait()
print(round((time.perf_counter() - _t) / 200 * 1e6))
__import__('_parallel_cell_runtime').jobs.flush()
"""


def test_trivial_job_overhead(kernel, comm):
    in_kernel_us = int(kernel.ok(OVERHEAD))
    t0 = time.perf_counter()
    for _ in range(50):
        comm.run("pass")
    round_trip_us = (time.perf_counter() - t0) / 50 * 1e6
    print(
        f"trivial job: {in_kernel_us} us in the kernel (start to end, 200 runs), "
        f"{round_trip_us:.0f} us submit-to-finished through the comm (50 runs)"
    )
    assert in_kernel_us < 20_000
