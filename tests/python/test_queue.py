"""The kernel owns the queue (protocol version 2): cap, order, chains, clear, budget."""

import time
import uuid

import pytest
from helpers import plain

RT = "__import__('_parallel_cell_runtime')"
SETTINGS = {"type": "configure", "log_limit": 5000, "kill_grace_ms": 500}
BUDGET = 64 * 1024 * 1024
# A job that waits for the foreground to let it go (``q_go = True``).
HELD = "import time\nwhile not q_go:\n    time.sleep(0.01)"


def configure(comm, **settings):
    comm.send({**SETTINGS, "interruptible_sleep": True, **settings})


@pytest.fixture
def qcomm(kernel, comm):
    """A comm; the kernel's cap and log budget are put back afterwards, and every job
    of the test released."""
    kernel.ok("q_go = False")
    yield comm
    kernel.ok("q_go = True")
    configure(comm, cap=4, log_budget=BUDGET)
    comm.request({"type": "list"}, "jobs")  # handled after the configure
    kernel.ok(f"{RT}.jobs.configure(logged_jobs=100)")


def types_of(comm, job):
    return [m["type"] for m in comm.of_job(job)]


def finished(comm, jobs, timeout=30):
    return [comm.wait_type("finished", j, timeout=timeout) for j in jobs]


def test_cap_and_arrival_order(kernel, qcomm, gate):
    kernel.ok("import threading, time\nq_lock = threading.Lock()\nq_now = q_peak = 0\nq_order = []")
    configure(qcomm, cap=2)
    # Every job waits on the gate: until it opens, the first two run and the rest are
    # queued, however slowly the kernel takes the submits in.
    jobs = [
        qcomm.submit(
            f"with q_lock:\n    q_now += 1\n    q_peak = max(q_peak, q_now)\n"
            f"    q_order.append({i})\n" + gate.code() + "with q_lock:\n    q_now -= 1"
        )
        for i in range(6)
    ]
    for job in jobs[:2]:
        qcomm.wait_type("started", job)
    for job in jobs[2:]:
        qcomm.wait_type("queued", job)
    gate.open()
    assert all(f["state"] == "done" for f in finished(qcomm, jobs))
    assert kernel.evaluate("q_order") == "[0, 1, 2, 3, 4, 5]"
    assert kernel.evaluate("q_peak") == "2"
    # The first two started at once; the others were queued, then started in turn.
    for job in jobs[:2]:
        assert "queued" not in types_of(qcomm, job)
    for job in jobs[2:]:
        kinds = types_of(qcomm, job)
        assert kinds.index("queued") < kinds.index("started") < kinds.index("finished")
        queued = qcomm.wait_type("queued", job)
        assert queued["after"] is None and queued["origin"] == "frontend"
    starts = [qcomm.index_of(qcomm.wait_type("started", j)) for j in jobs]
    assert starts == sorted(starts)


def test_queued_jobs_show_in_list_and_status(kernel, qcomm):
    configure(qcomm, cap=1)
    held = qcomm.submit(HELD)
    waiting = qcomm.submit("1", source_hash="abc123")
    chained = qcomm.submit("2", after=waiting)
    qcomm.wait_type("queued", chained)
    listed = qcomm.list_jobs()
    assert listed[held]["state"] == "running"
    info = listed[waiting]
    assert info["state"] == "queued" and info["started_at"] is None
    assert info["source_hash"] == "abc123" and info["after"] is None
    assert listed[chained]["after"] == waiting
    status = kernel.ok(f"print({RT}.jobs.status())")
    assert "(waits for a slot (cap 1))" in status
    assert f"(waits for job {info['num']} to end)" in status
    kernel.ok("q_go = True")
    assert [f["state"] for f in finished(qcomm, [held, waiting, chained])] == ["done"] * 3


def test_jobs_from_code_start_at_once_but_take_slots(kernel, qcomm):
    configure(qcomm, cap=1)
    kernel.ok(f"q_code = {RT}.jobs.new({HELD!r})")
    waiting = qcomm.submit("1")
    qcomm.wait_type("queued", waiting)
    kernel.ok(f"q_code2 = {RT}.jobs.new('q_second = 2')")  # from code: not held back
    assert kernel.evaluate(f"{RT}.jobs.wait(q_code2, 30)", timeout=60) == "'done'"
    assert qcomm.list_jobs()[waiting]["state"] == "queued"
    kernel.ok("q_go = True")
    assert qcomm.wait_type("finished", waiting)["state"] == "done"


def test_raising_the_cap_starts_queued_jobs_at_once(kernel, qcomm):
    configure(qcomm, cap=1)
    held = qcomm.submit(HELD)
    qcomm.wait_type("started", held)
    more = [qcomm.submit(HELD) for _ in range(2)]
    for job in more:
        qcomm.wait_type("queued", job)
    configure(qcomm, cap=3)
    for job in more:  # while the first still runs
        qcomm.wait_type("started", job)
    assert qcomm.list_jobs()[held]["state"] == "running"
    kernel.ok("q_go = True")
    finished(qcomm, [held, *more])


def test_a_chain_runs_in_order_and_shares_names(kernel, qcomm, gate):
    first = qcomm.submit(gate.code() + "chain_x = 41")  # runs until the gate opens
    second = qcomm.submit("chain_y = chain_x + 1\nprint(chain_y)", after=first)
    assert qcomm.wait_type("queued", second)["after"] == first
    gate.open()
    assert [f["state"] for f in finished(qcomm, [first, second])] == ["done", "done"]
    assert qcomm.text(second) == "42\n"
    started = qcomm.wait_type("started", second)
    assert started["after"] == first
    assert started["started_at"] >= qcomm.wait_type("finished", first)["ended_at"]


def test_a_failing_cell_fails_the_rest_of_its_chain(kernel, qcomm):
    a = qcomm.submit("chain_a = 1")
    b = qcomm.submit("chain_b = 1 / 0", after=a)
    c = qcomm.submit("chain_c = 2", after=b)
    d = qcomm.submit("chain_d = 3", after=c)
    fa, fb, fc, fd = finished(qcomm, [a, b, c, d])
    assert (fa["state"], fb["state"]) == ("done", "error")
    assert fb["error"]["ename"] == "ZeroDivisionError"
    num_b = qcomm.wait_type("started", b)["num"]
    num_c = qcomm.list_jobs()[c]["num"]
    for fin, who in ((fc, f"job {num_b} (chain_b = 1 / 0) ended with error"), (fd, f"job {num_c}")):
        assert fin["state"] == "error" and fin["assigned"] == []
        assert fin["error"]["ename"] == "DependencyFailed" and fin["error"]["traceback"] == []
        assert fin["error"]["evalue"].startswith(who)
        assert "this cell did not run" in fin["error"]["evalue"]
    for job in (c, d):
        assert "started" not in types_of(qcomm, job)
        assert qcomm.outputs(job) == []  # its cell keeps what it had
    assert "chain_c" not in kernel.evaluate("list(globals())")


def test_an_unknown_after_fails_at_once(qcomm):
    job = qcomm.submit("never = 1", after="no-such-job")
    fin = qcomm.wait_type("finished", job)
    assert fin["error"]["ename"] == "DependencyFailed"
    assert "job no-such-job is not known to this kernel" in fin["error"]["evalue"]
    assert types_of(qcomm, job) == ["finished"]


def test_kill_of_a_queued_job_ends_it_and_its_dependents(kernel, qcomm):
    configure(qcomm, cap=1)
    held = qcomm.submit(HELD)
    waiting = qcomm.submit("q_ran = True")
    after = qcomm.submit("q_ran_after = True", after=waiting)
    qcomm.wait_type("queued", after)
    qcomm.kill(waiting)
    killed = qcomm.wait_type("finished", waiting)
    assert killed["state"] == "killed" and killed["error"] is None
    num = qcomm.list_jobs()[waiting]["num"]
    failed = qcomm.wait_type("finished", after)
    assert (
        failed["error"]["evalue"] == f"job {num} (q_ran = True) was killed: this cell did not run"
    )
    assert qcomm.list_jobs()[held]["state"] == "running"  # untouched
    for job in (waiting, after):
        assert "started" not in types_of(qcomm, job)
    kernel.ok("q_go = True")
    qcomm.wait_type("finished", held)
    assert kernel.evaluate("'q_ran' in globals() or 'q_ran_after' in globals()") == "False"


def test_a_job_waiting_on_after_does_not_hold_up_the_line(kernel, qcomm):
    configure(qcomm, cap=2)
    held = qcomm.submit(HELD)
    waiting = qcomm.submit("print('after the held one')", after=held)
    behind = qcomm.submit("print('behind')")
    assert qcomm.wait_type("finished", behind)["state"] == "done"
    assert qcomm.list_jobs()[waiting]["state"] == "queued"
    kernel.ok("q_go = True")
    assert qcomm.wait_type("finished", waiting)["state"] == "done"
    assert qcomm.text(waiting) == "after the held one\n"


def test_clear_forgets_ended_jobs_and_tells_every_page(kernel, qcomm):
    other = kernel.open_comm()
    other.wait_type("hello")
    done = qcomm.submit("q_result = 7\nq_result")
    failed = qcomm.submit("1 / 0")
    held = qcomm.submit(HELD)
    finished(qcomm, [done, failed])
    num = qcomm.wait_type("started", done)["num"]
    assert kernel.evaluate(f"{RT}.jobs.result({num})") == "7"
    ids = [done, failed, held, "no-such-job"]
    cleared = qcomm.request({"type": "clear", "job_ids": ids}, "cleared")
    assert cleared["job_ids"] == [done, failed]  # not the running one, not the unknown
    assert other.wait_type("cleared")["job_ids"] == [done, failed]
    listed = qcomm.list_jobs()
    assert done not in listed and failed not in listed and held in listed
    result = kernel.execute(f"{RT}.jobs.result({num})").reply
    assert result["ename"] == "KeyError"
    # Their ids stay taken; their numbers are not reused.
    start = len(qcomm.messages)
    qcomm.submit("1", job_id=done)
    assert qcomm.wait_type("error", start=start)["job_id"] == done
    kernel.ok("q_go = True")
    qcomm.wait_type("finished", held)
    newer = qcomm.run("1")["job_id"]
    assert qcomm.wait_type("started", newer)["num"] > num


def test_functions_of_a_cleared_job_keep_their_source(kernel, qcomm):
    job = qcomm.run("def q_boom():\n    raise ValueError('from a cleared job')")["job_id"]
    qcomm.request({"type": "clear", "job_ids": [job]}, "cleared")
    traceback = kernel.execute("q_boom()").reply["traceback"]
    assert "raise ValueError('from a cleared job')" in plain(traceback)


def test_jobs_flush_in_the_kernel_tells_every_page(kernel, qcomm):
    job = qcomm.run("1")["job_id"]
    start = len(qcomm.messages)
    assert int(kernel.evaluate(f"{RT}.jobs.flush()")) >= 1
    assert job in qcomm.wait_type("cleared", start=start)["job_ids"]
    assert job not in qcomm.list_jobs()


def test_a_chain_after_a_cleared_job_follows_how_it_ended(qcomm):
    ok, bad = qcomm.run("1")["job_id"], qcomm.run("1 / 0")["job_id"]
    qcomm.request({"type": "clear", "job_ids": [ok, bad]}, "cleared")
    assert qcomm.wait_type("finished", qcomm.submit("2", after=ok))["state"] == "done"
    fin = qcomm.wait_type("finished", qcomm.submit("3", after=bad))
    assert fin["error"]["evalue"] == f"job {bad} ended with error: this cell did not run"


def test_the_log_budget_frees_the_oldest_ended_logs(kernel, qcomm):
    configure(qcomm, log_budget=3000)
    first = qcomm.run("print('a' * 1500)")["job_id"]
    second = qcomm.run("print('b' * 1500)")["job_id"]
    trimmed = qcomm.wait_type("log_trimmed", first)
    assert trimmed["reason"] == (
        "the kernel keeps at most 3000 bytes of job output for replay; "
        "this job's was freed, oldest first"
    )
    listed = qcomm.list_jobs()
    assert listed[first]["log_trimmed"] == trimmed["reason"]
    assert listed[second]["log_trimmed"] is None
    assert kernel.evaluate(f"{RT}.job.LOG_TOTAL.value <= 3000") == "True"
    start = len(qcomm.messages)
    qcomm.send({"type": "replay", "job_id": first, "since": 0})
    (marker,) = qcomm.wait_type("output", first, start=start)["outputs"]
    assert "dropped from the kernel's replay log" in marker["text"]


def test_logs_of_jobs_saved_into_their_notebook_go_first(kernel, qcomm):
    configure(qcomm, log_budget=4000)
    older = qcomm.run("print('a' * 1500)")["job_id"]
    saved = qcomm.run("print('b' * 1500)")["job_id"]
    # The server wrote the newer job's outputs into its notebook: its log goes first.
    qcomm.send({"type": "saved", "job_ids": [saved, "unknown-job"]})
    start = len(qcomm.messages)
    qcomm.run("print('c' * 1500)")
    trimmed = qcomm.wait_type("log_trimmed", saved, start=start)
    assert trimmed["reason"].startswith("its outputs are in its notebook")
    listed = qcomm.list_jobs()
    assert listed[saved]["log_trimmed"] == trimmed["reason"]
    assert listed[older]["log_trimmed"] is None
    assert not [m for m in qcomm.messages[start:] if m["type"] == "error"]


def test_retired_logs_are_announced(kernel, qcomm):
    kernel.ok(f"{RT}.jobs.configure(logged_jobs=1)")
    first = qcomm.run("print('one')")["job_id"]
    qcomm.run("print('two')")
    trimmed = qcomm.wait_type("log_trimmed", first)
    assert trimmed["reason"] == "the kernel keeps the logs of the last 1 ended jobs"
    assert qcomm.list_jobs()[first]["log_trimmed"] == trimmed["reason"]


def test_superseded_by_a_newer_job_of_the_cell(qcomm):
    cell = uuid.uuid4().hex
    old = qcomm.run_in(cell, "1")
    elsewhere = qcomm.run_in(cell, "2", notebook="other.ipynb")
    new = qcomm.run_in(cell, "3")
    listed = qcomm.list_jobs()
    assert listed[old]["superseded"] is True
    assert listed[elsewhere]["superseded"] is False  # another notebook's cell
    assert listed[new]["superseded"] is False


def test_superseded_by_a_foreground_run_of_the_cell(kernel, qcomm):
    cell, other = uuid.uuid4().hex, uuid.uuid4().hex
    job = qcomm.run_in(cell, "1")
    bystander = qcomm.run_in(other, "2")
    # Silent executes (the bootstrap, probes) are no run of a cell.
    kernel.execute("1", silent=True, metadata={"cellId": cell})
    assert qcomm.list_jobs()[job]["superseded"] is False
    kernel.execute("1", metadata={"cellId": cell})
    listed = qcomm.list_jobs()
    assert listed[job]["superseded"] is True
    assert listed[bystander]["superseded"] is False


def test_queued_jobs_run_with_no_page_open(fresh_kernel, gate):
    """The kernel starts the next job itself: no comm is open while the queue drains."""
    kernel = fresh_kernel
    kernel.bootstrap()
    page = kernel.open_comm()
    page.wait_type("hello")
    configure(page, cap=1)
    # The first job holds the line until the page has gone: all five run with none open.
    jobs = [
        page.submit(
            f"import time\n{gate.code() if i == 0 else ''}time.sleep(0.1)\nprint('job {i}')"
        )
        for i in range(5)
    ]
    page.wait_type("queued", jobs[-1])
    page.close()
    comms = f"len({RT}._RUNTIME.comms)"
    deadline = time.monotonic() + 30
    while kernel.evaluate(comms) != "0":  # the close was handled (in order, before this)
        assert time.monotonic() < deadline, "the page's comm did not close"
        time.sleep(0.05)
    assert kernel.evaluate(f"{RT}._RUNTIME.jobs[{jobs[0]!r}].state") == "'running'"
    gate.open()
    deadline = time.monotonic() + 30
    while kernel.evaluate(f"{RT}._RUNTIME.jobs[{jobs[-1]!r}].state") != "'done'":
        assert kernel.evaluate(comms) == "0"
        assert time.monotonic() < deadline, "the queue did not drain with no page open"
        time.sleep(0.1)
    later = kernel.open_comm()
    later.wait_type("hello")
    listed = later.list_jobs()
    assert [listed[j]["state"] for j in jobs] == ["done"] * 5
    for i, job in enumerate(jobs):
        start = len(later.messages)
        later.send({"type": "replay", "job_id": job, "since": 0})
        out = later.wait_type("output", job, start=start)
        assert out["seq"] == 0 and out["outputs"][0]["text"] == f"job {i}\n"
