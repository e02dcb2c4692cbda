"""The recipe's API, kept and improved: %job, %%job, jobs, map; jobs started from code."""

import time

from helpers import plain

RT = "__import__('_parallel_cell_runtime')"


def test_job_line_magic_runs_statements_and_is_announced(kernel, comm):
    out = kernel.ok("%job from_magic = 6 * 7\nprint('fg continues')")
    assert "started job" in out and "fg continues" in out
    started = comm.wait_for(lambda m: m["type"] == "started" and m["origin"] == "kernel")
    assert started["cell_id"] is None and started["notebook"] is None
    finished = comm.wait_type("finished", started["job_id"])
    assert finished["state"] == "done" and finished["assigned"] == ["from_magic"]
    assert kernel.evaluate("from_magic") == "42"


def test_job_magic_knows_the_cell_it_came_from(kernel, comm):
    # JupyterLab puts the cell's id in the execute_request's metadata
    start = len(comm.messages)
    msg_id = kernel.execute_async("%job print('in my cell')", metadata={"cellId": "cell-42"})
    kernel.wait_execute(msg_id)
    started = comm.wait_for(
        lambda m: m["type"] == "started" and m["origin"] == "kernel", start=start
    )
    assert started["cell_id"] == "cell-42"


def test_job_cell_magic_streams_to_the_comm(kernel, comm):
    start = len(comm.messages)
    kernel.ok("%%job\nfor i in range(3):\n    print('cell magic', i)\ncell_total = 3")
    started = comm.wait_for(
        lambda m: m["type"] == "started" and m["origin"] == "kernel", start=start
    )
    comm.wait_type("finished", started["job_id"])
    assert comm.text(started["job_id"]) == "".join(f"cell magic {i}\n" for i in range(3))


def test_jobs_object(kernel, comm):
    kernel.ok(f"jobs = {RT}.jobs\nok_n = jobs.new('21 * 2')\nbad_n = jobs.new('1/0')")
    kernel.ok("jobs.wait(ok_n, 60); jobs.wait(bad_n, 60)", timeout=90)
    assert kernel.evaluate("jobs.result(ok_n)") == "42"
    assert kernel.evaluate("jobs.state(bad_n)") == "'error'"
    tb = kernel.evaluate("str(jobs.traceback(bad_n))")
    assert "ZeroDivisionError" in tb and "1/0" in tb and "\\x1b" not in tb
    assert kernel.evaluate("jobs.traceback(ok_n)") == "None"
    err = kernel.execute("jobs.result(bad_n)").reply
    assert err["ename"] == "RuntimeError" and "failed" in err["evalue"]
    status = kernel.ok("print(jobs.status())")
    assert "done" in status and "error" in status
    # jobs from a function, and kill
    kernel.ok("import time\nspin_n = jobs.new(time.sleep, 1000)")
    assert kernel.evaluate("jobs.kill(spin_n)") in ("'cancelling'", "'killed'")
    assert kernel.evaluate("jobs.wait(spin_n, 30)", timeout=60) == "'killed'"
    # flush forgets finished jobs without reusing their numbers
    last = int(kernel.evaluate("spin_n"))
    ok_id = kernel.evaluate("jobs[ok_n].job_id").strip("'")
    assert int(kernel.evaluate("jobs.flush()")) >= 3
    assert "KeyError" in kernel.execute("jobs.state(ok_n)").reply["ename"]
    assert int(kernel.evaluate("jobs.new('pass')")) > last
    # ids stay unique even after flush
    start = len(comm.messages)
    comm.submit("pass", job_id=ok_id)
    assert comm.wait_type("error", start=start)["job_id"] == ok_id


def test_jobs_traceback_is_text_with_the_source(kernel, comm):
    kernel.ok(f"jobs = {RT}.jobs\nn = jobs.new('def f():\\n    raise KeyError(\"k\")\\nf()')")
    kernel.ok("jobs.wait(n, 60)", timeout=90)
    text = kernel.ok("print(jobs.traceback(n))")
    assert 'raise KeyError("k")' in text and "KeyError" in text
    assert text == plain([text])


def test_map(kernel, comm):
    start = len(comm.messages)
    kernel.ok(f"r = {RT}.map(lambda v: v * v, range(10), workers=3)")
    assert kernel.evaluate("r.result(timeout=60)", timeout=90) == str([v * v for v in range(10)])
    assert kernel.evaluate("len(r.jobs)") == "3"
    # the outbox thread may send `started` after the reply above
    announced = comm.wait_count(
        lambda m: m["type"] == "started" and m["origin"] == "kernel", 3, start=start
    )
    assert len({m["job_id"] for m in announced}) == 3
    assert [m for m in comm.messages[start:] if m["type"] == "started"] == announced
    # a failing chunk is reported, and a long map can be killed
    kernel.ok(f"bad = {RT}.map(lambda v: 1 / v, [1, 0, 2], workers=3)")
    assert kernel.execute("bad.result(timeout=60)", timeout=90).reply["ename"] == "RuntimeError"
    kernel.ok(f"import time\nslow = {RT}.map(time.sleep, [100] * 4, workers=2)")
    time.sleep(0.2)
    kernel.ok("slow.kill()")
    assert kernel.evaluate("slow.wait(30)", timeout=60) == "['killed', 'killed']"


def test_checkpoint_and_jobkilled_are_importable_in_jobs(kernel, comm):
    job = comm.submit(
        f"pc = {RT}\nfor i in range(10**9):\n    try:\n        pc.checkpoint()\n"
        "    except pc.JobKilled:\n        print('stopping cleanly')\n        raise"
    )
    comm.wait_type("started", job)
    comm.kill(job)
    finished = comm.wait_type("finished", job)
    assert finished["state"] == "killed"


def test_list_reply(kernel, comm):
    done = comm.run("pass")
    job = comm.submit("import time\ntime.sleep(30)")
    comm.wait_type("started", job)
    start = len(comm.messages)
    comm.send({"type": "list"})
    reply = comm.wait_type("jobs", start=start)
    by_id = {j["job_id"]: j for j in reply["jobs"]}
    assert by_id[done["job_id"]]["state"] == "done"
    assert by_id[done["job_id"]]["ended_at"] is not None
    assert by_id[job]["state"] == "running" and by_id[job]["ended_at"] is None
    nums = [j["num"] for j in reply["jobs"]]
    assert nums == sorted(nums) and len(set(nums)) == len(nums)
    comm.kill(job)
    comm.wait_type("finished", job)
