"""Name conflicts in a real kernel: a foreground cell or a starting job that rebinds
names a running or queued job uses is told, at once, and runs as usual."""

import time

import pytest

SETTINGS = {"type": "configure", "log_limit": 5000, "kill_grace_ms": 500}
# Reads until killed (the fixture kills it): however slow the test, it is running.
READER = "import time\nwhile True:\n    _n = len(acc_pages)\n    time.sleep(0.05)"


def _conflicts(comm, start=0):
    return [m for m in comm.messages[start:] if m["type"] == "conflict"]


def _told(comm, start, count):
    """The ``conflict`` messages since ``start``, once ``count`` came (20 s at most): a
    foreground cell's are sent from the runtime's own thread and may come after its reply."""
    deadline = time.monotonic() + 20
    while len(_conflicts(comm, start)) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return _conflicts(comm, start)


def _quiet(comm, start, seconds=0.5):
    """No `conflict` came since ``start`` (the check runs before the cell: a finished
    foreground cell has had its chance)."""
    time.sleep(seconds)
    return _conflicts(comm, start) == []


@pytest.fixture
def reader(kernel, comm):
    kernel.ok("acc_pages = {}")
    job = comm.submit(READER)
    comm.wait_type("started", job)
    yield job
    comm.kill(job)
    comm.wait_type("finished", job, timeout=20)


def test_a_foreground_rebind_is_told_at_once_and_the_cell_runs(kernel, comm, reader, gate):
    start = len(comm.messages)
    # The cell waits on the gate: a conflict that comes before it opens came while the
    # cell ran, not after it.
    msg_id = kernel.execute_async("acc_pages = {'fresh': 1}\n" + gate.code())
    found = comm.wait_for(lambda m: m["type"] == "conflict", start=start, timeout=10)
    gate.open()
    reply = kernel.wait_execute(msg_id)
    assert reply.reply["status"] == "ok"
    assert found == {"type": "conflict", "job_id": reader, "names": ["acc_pages"], "by": None}
    assert kernel.evaluate("acc_pages") == "{'fresh': 1}"
    assert comm.list_jobs()[reader]["conflicts"] == ["acc_pages"]
    listed = kernel.evaluate(
        "[(c['names'], c['by']) for c in __import__('_parallel_cell_runtime').jobs.conflicts()][-1]"
    )
    assert listed == "(['acc_pages'], None)"


def test_in_place_changes_reads_and_ipythons_names_are_not_flagged(kernel, comm, reader):
    start = len(comm.messages)
    kernel.ok("acc_pages['k'] = 1\nacc_pages.update(a=2)\ndel acc_pages['a']")
    kernel.ok("print(len(acc_pages))\nsnapshot = dict(acc_pages)")
    kernel.ok("_ = 1\n__ = 2\n_i = ''\nOut = Out\nIn = In\n_7 = 3")
    kernel.ok("def helper():\n    global acc_pages\n    acc_pages = {}")  # defined, not called
    assert _quiet(comm, start)


def test_deleting_or_rebinding_through_a_function_is_flagged(kernel, comm, reader):
    start = len(comm.messages)
    kernel.ok("def reset():\n    global acc_pages\n    acc_pages = {}")
    kernel.ok("reset()")
    assert [c["names"] for c in _told(comm, start, 1)] == [["acc_pages"]]
    start = len(comm.messages)
    kernel.ok("del acc_pages\nacc_pages = {}")
    assert [c["names"] for c in _told(comm, start, 1)] == [["acc_pages"]]


def test_rebinding_through_a_decorated_notebook_function_is_flagged(kernel, comm, reader):
    # lru_cache wraps the function in an object of its own: still the notebook's code.
    start = len(comm.messages)
    kernel.ok(
        "import functools\n@functools.lru_cache\n"
        "def renew():\n    global acc_pages\n    acc_pages = {}"
    )
    # A decorated def counts as run (its decorator is handed the function and may call
    # it): told too. Its message may follow the cell's reply, so it is awaited here.
    assert [c["names"] for c in _told(comm, start, 1)] == [["acc_pages"]]
    start = len(comm.messages)
    kernel.ok("renew()")
    assert [c["names"] for c in _told(comm, start, 1)] == [["acc_pages"]]


def test_a_job_using_a_name_through_a_notebook_function_is_covered(kernel, comm):
    kernel.ok("store = {}\ndef fill(k):\n    store[k] = k")
    job = comm.submit(
        "import time\nk = 0\nwhile True:\n    fill(k)\n    k += 1\n    time.sleep(0.05)"
    )
    comm.wait_type("started", job)
    try:
        start = len(comm.messages)
        kernel.ok("store = {}")
        assert [(c["job_id"], c["names"]) for c in _told(comm, start, 1)] == [(job, ["store"])]
    finally:
        comm.kill(job)
        comm.wait_type("finished", job, timeout=20)


def test_queued_jobs_count_and_a_second_job_is_told_when_it_starts(kernel, comm):
    comm.send({**SETTINGS, "interruptible_sleep": True, "cap": 1})
    try:
        first = comm.submit("import time\nmodel = 'a'\ntime.sleep(30)")
        comm.wait_type("started", first)
        waiting = comm.submit("print(model)")
        comm.wait_type("queued", waiting)
        start = len(comm.messages)
        kernel.ok("model = None")
        told = {c["job_id"]: c["names"] for c in _told(comm, start, 2)}
        assert told == {first: ["model"], waiting: ["model"]}
        comm.kill(waiting)
        comm.wait_type("finished", waiting)
        comm.send({**SETTINGS, "interruptible_sleep": True, "cap": 4})
        start = len(comm.messages)
        second = comm.submit("model = 'b'")
        comm.wait_type("finished", second)
        by_job = [c for c in _conflicts(comm, start) if c["by"] == second]
        assert by_job == [{"type": "conflict", "job_id": first, "names": ["model"], "by": second}]
        listed = comm.list_jobs()
        assert "model" in listed[first]["conflicts"] and listed[second]["conflicts"] == ["model"]
        comm.kill(first)
        comm.wait_type("finished", first, timeout=20)
    finally:
        comm.send({**SETTINGS, "interruptible_sleep": True, "cap": 4})


def test_a_chain_does_not_conflict_with_itself(kernel, comm):
    start = len(comm.messages)
    first = comm.submit("import time\ndf = [1]\ntime.sleep(0.3)")
    second = comm.submit("df = df + [2]", after=first)
    comm.wait_type("finished", second)
    assert kernel.evaluate("df") == "[1, 2]"
    assert _conflicts(comm, start) == []


def test_the_setting_turns_it_off(kernel, comm, reader):
    comm.send({**SETTINGS, "interruptible_sleep": True, "warn_conflicts": False})
    try:
        start = len(comm.messages)
        kernel.ok("acc_pages = {}")
        assert _quiet(comm, start)
    finally:
        comm.send({**SETTINGS, "interruptible_sleep": True, "warn_conflicts": True})
    start = len(comm.messages)
    kernel.ok("acc_pages = {}")
    assert len(_told(comm, start, 1)) == 1


def test_cells_the_analysis_cannot_read_run_untouched(kernel, comm, reader):
    start = len(comm.messages)
    kernel.execute("this is not python")
    kernel.ok("%%bash\necho acc_pages=1")
    kernel.ok("from os.path import *")
    assert kernel.evaluate("len(acc_pages) >= 0") == "True"
    assert _quiet(comm, start)


def test_a_foreground_cell_is_analysed_from_ipythons_own_transform_of_it(kernel, comm, reader):
    # A transformer of the user's sees each cell's text every time it is transformed:
    # with the check on, a cell is transformed no more often than with it off, where
    # IPython gives its transform to ``pre_run_cell`` (IPython 9); else once more.
    kernel.ok(
        "seen_cells = []\n"
        "def _seen(lines):\n"
        "    seen_cells.append(''.join(lines))\n"
        "    return lines\n"
        "get_ipython().input_transformers_cleanup.append(_seen)"
    )
    times = {}
    try:
        for on in (False, True):
            comm.send({**SETTINGS, "interruptible_sleep": True, "warn_conflicts": on})
            cell = f"%time acc_pages = {{}}  # check {'on' if on else 'off'}"
            start = len(comm.messages)
            kernel.ok(cell)
            assert len(_told(comm, start, 1) if on else _conflicts(comm, start)) == int(on)
            times[on] = int(kernel.evaluate(f"seen_cells.count({cell + chr(10)!r})"))
        given = kernel.evaluate(
            "'transformed_cell' in __import__('inspect').signature("
            "__import__('IPython').core.interactiveshell.ExecutionInfo).parameters"
        )
        assert times[True] == times[False] + (0 if given == "True" else 1), times
    finally:
        comm.send({**SETTINGS, "interruptible_sleep": True, "warn_conflicts": True})
        kernel.ok("get_ipython().input_transformers_cleanup.remove(_seen)")
