"""``%load_ext parallel_cell`` with no page of ours: a job's output reaches the cell that
started it in standard messages (``display_data`` with a ``display_id``, then
``update_display_data``), as VS Code, Colab or JupyterLab without the extension get it."""

import re

import pytest
from conftest import ROOT
from kernel_client import Kernel

from parallel_cell._bootstrap import runtime_version

MODULE_ID = "id(__import__('sys').modules['_parallel_cell_runtime'])"
DISPLAYS = ("display_data", "update_display_data")


def load_ext(k):
    # parallel-cell installed in the kernel's environment: here, the source tree on its path.
    k.ok(f"import sys; sys.path.insert(0, {str(ROOT)!r})")
    reply = k.execute("%load_ext parallel_cell")
    assert reply.reply["status"] == "ok", reply.reply


@pytest.fixture(scope="module")
def k():
    kernel = Kernel()
    try:
        load_ext(kernel)
        yield kernel
    finally:
        kernel.shutdown()


def ours(messages, display_id=None):
    """The display messages of our status displays (all of them, or one display id)."""
    found = []
    for m in messages:
        if m["header"]["msg_type"] not in DISPLAYS:
            continue
        did = (m["content"].get("transient") or {}).get("display_id", "")
        if re.fullmatch(r"parallel-cell-k\d+", did) and did == (display_id or did):
            found.append(m)
    return found


def text(m):
    return m["content"]["data"]["text/plain"]


def ended(display_id=None):
    """A predicate: the (or every) status display has said its job ended."""

    def check(messages):
        shown = ours(messages, display_id)
        ids = {m["content"]["transient"]["display_id"] for m in shown}
        last = {m["content"]["transient"]["display_id"]: text(m) for m in shown}
        return bool(ids) and all(re.match(r"\[job \d+\] (done|error|killed)", last[i]) for i in ids)

    return check


def run_job(k, cell, timeout=30):
    """Run a ``%%job`` cell; returns (its reply, every message of its cell once the job
    ended)."""
    msg_id = k.execute_async(cell)
    result = k.wait_execute(msg_id)
    return result, k.wait_parent(msg_id, ended(), timeout)


def test_load_ext_loads_the_runtime_once_and_a_page_keeps_it(fresh_kernel):
    k = fresh_kernel
    load_ext(k)
    assert (
        k.evaluate("sorted(m for m in get_ipython().magics_manager.magics['cell'] if m == 'job')")
        == "['job']"
    )
    assert k.evaluate("__import__('sys').modules['_parallel_cell_runtime'].VERSION") == repr(
        runtime_version()
    )
    first = k.evaluate(MODULE_ID)
    k.execute("%load_ext parallel_cell")
    k.execute("%reload_ext parallel_cell")
    assert k.evaluate(MODULE_ID) == first
    # The JupyterLab extension's bootstrap finds the same runtime and adopts it.
    k.bootstrap()
    assert k.evaluate(MODULE_ID) == first
    c = k.open_comm()
    assert c.wait_type("hello")["runtime"] == runtime_version()


def test_a_job_cell_returns_at_once_and_its_display_follows_the_job(k):
    # The job waits for a name the next foreground cell sets: the %%job cell has returned
    # and the foreground runs while the job is running.
    msg_id = k.execute_async(
        "%%job\nimport time\nprint('waiting', flush=True)\n"
        "while 'go_on' not in globals():\n    time.sleep(0.02)\n"
        "for i in range(5):\n    print('line', i, flush=True)\n    time.sleep(0.1)\n6 * 7"
    )
    first = k.wait_execute(msg_id)
    assert first.reply["status"] == "ok"
    assert [text(m).splitlines()[0] for m in ours(first.iopub)] != []
    waiting = k.wait_parent(msg_id, lambda ms: any("waiting" in text(m) for m in ours(ms)))
    assert re.match(r"\[job \d+\] running", text(ours(waiting)[-1]))
    k.ok("go_on = True")
    messages = k.wait_parent(msg_id, ended())
    shown = ours(messages)
    assert shown[0]["header"]["msg_type"] == "display_data"
    assert all(m["header"]["msg_type"] == "update_display_data" for m in shown[1:])
    final = text(shown[-1])
    assert re.match(r"\[job \d+\] done in \d", final)
    assert final.splitlines()[1:] == ["waiting"] + [f"line {i}" for i in range(5)]
    # Every update shows the lines in order (a growing tail), never out of order.
    for m in shown:
        body = [line for line in text(m).splitlines()[1:] if line.startswith("line")]
        assert body == [f"line {i}" for i in range(len(body))]
    # The result: a display of its own in the same cell, before the final status.
    results = [m for m in messages if m["header"]["msg_type"] == "display_data" and m not in shown]
    assert [r["content"]["data"]["text/plain"] for r in results] == ["42"]
    assert messages.index(results[0]) < messages.index(shown[-1])


def test_updates_are_rate_limited_and_the_text_bounded_the_log_whole(k):
    result, messages = run_job(
        k,
        "%%job\nimport time\nfor i in range(5000):\n    print('n', i, flush=True)\n"
        "    if i % 500 == 0:\n        time.sleep(0.1)",
    )
    shown = ours(messages)
    num = int(re.match(r"\[job (\d+)\]", text(shown[0])).group(1))
    final = text(shown[-1])
    assert final.splitlines()[-1] == "n 4999"
    assert final.splitlines()[1] == f"… 4,000 earlier lines: jobs.text({num}) has them all"
    assert final.splitlines()[2] == "n 4000"
    assert len(final) < 110_000
    # Live updates: at most 4 a second on the kernel's own clock, plus the first and last.
    times = [m["header"]["date"] for m in shown]
    span = (times[-1] - times[0]).total_seconds()
    assert len(shown) <= 4 * span + 3, (len(shown), span)
    assert all(len(text(m)) < 9_000 for m in shown[:-1])
    whole = k.evaluate(f"__import__('parallel_cell').jobs.text({num}).count('\\n')")
    assert whole == "5000"


def test_an_error_is_shown_with_its_traceback(k):
    _, messages = run_job(k, "%%job\ndef inner():\n    raise ValueError('boom')\ninner()")
    errors = [m for m in messages if m["header"]["msg_type"] == "error"]
    assert [e["content"]["ename"] for e in errors] == ["ValueError"]
    assert any("inner" in line for line in errors[0]["content"]["traceback"])
    assert re.match(r"\[job \d+\] error after .*: ValueError: boom", text(ours(messages)[-1]))


def test_kill_by_magic_and_by_jobs(k):
    msg_id = k.execute_async("%%job\nimport time\nprint('asleep', flush=True)\ntime.sleep(60)")
    k.wait_execute(msg_id)
    shown = k.wait_parent(msg_id, lambda ms: any("asleep" in text(m) for m in ours(ms)))
    num = re.match(r"\[job (\d+)\]", text(shown[-1])).group(1)
    killed = k.execute(f"%job --kill {num}")
    assert f"job {num}:" in killed.stdout
    final = text(ours(k.wait_parent(msg_id, ended()))[-1])
    assert re.match(rf"\[job {num}\] killed after", final)
    msg_id = k.execute_async("%%job\nimport time\ntime.sleep(60)")
    k.wait_execute(msg_id)
    shown = k.wait_parent(msg_id, lambda ms: "running" in text(ours(ms)[-1]))
    num = re.match(r"\[job (\d+)\]", text(shown[-1])).group(1)
    k.ok(f"__import__('parallel_cell').jobs.kill({num})")
    assert "killed" in text(ours(k.wait_parent(msg_id, ended()))[-1])


def test_map_and_two_jobs_each_to_its_own_display(k):
    msg_id = k.execute_async(
        "import parallel_cell\nr = parallel_cell.map(lambda x: x * x, range(6), workers=2)"
    )
    k.wait_execute(msg_id)
    messages = k.wait_parent(msg_id, ended())
    ids = {m["content"]["transient"]["display_id"] for m in ours(messages)}
    assert len(ids) == 2
    assert k.evaluate("r.result()") == "[0, 1, 4, 9, 16, 25]"
    # Two cells, two jobs running at once: each display has its own lines only.
    ticks = "%%job\nimport time\nfor i in range(6):\n    print({!r}, i)\n    time.sleep(0.05)"
    a = k.execute_async(ticks.format("A"))
    b = k.execute_async(ticks.format("B"))
    final_a = text(ours(k.wait_parent(a, ended()))[-1]).splitlines()[1:]
    final_b = text(ours(k.wait_parent(b, ended()))[-1]).splitlines()[1:]
    assert final_a == [f"A {i}" for i in range(6)]
    assert final_b == [f"B {i}" for i in range(6)]


def test_a_page_that_links_later_lists_the_job_and_leaves_its_cell_alone(fresh_kernel):
    k = fresh_kernel
    load_ext(k)
    # The job waits for `linked_go`, set once the page has linked: it runs all along.
    msg_id = k.execute_async(
        "%%job\nimport time\nprint('before', flush=True)\n"
        "while 'linked_go' not in globals():\n    time.sleep(0.02)\nprint('after', flush=True)"
    )
    k.wait_execute(msg_id)
    k.wait_parent(msg_id, lambda ms: any("before" in text(m) for m in ours(ms)))
    k.bootstrap()  # the extension attaches: same runtime
    c = k.open_comm()
    c.wait_type("hello")
    listed = c.list_jobs().values()
    assert [(j["num"], j["origin"], j["cell_id"]) for j in listed] == [(1, "kernel", None)]
    assert [j["state"] for j in listed] == ["running"]
    (first_job,) = [j["job_id"] for j in listed]
    k.ok("linked_go = True")
    # Its cell still gets the rest, through the display (no duplicate from the page).
    final = text(ours(k.wait_parent(msg_id, ended()))[-1])
    assert final.splitlines()[1:] == ["before", "after"]
    # A job started while a page is linked is the page's to show: no display of ours.
    started = k.execute_async("%job print('linked')")
    k.wait_execute(started)
    c.wait_for(
        lambda m: m.get("type") == "finished" and m["state"] == "done" and m["job_id"] != first_job
    )
    assert ours(k.wait_parent(started, lambda ms: True)) == []


def test_carriage_returns_rewrite_the_line_as_a_terminal_does():
    from parallel_cell._bootstrap import load_runtime

    tail = load_runtime(register=False).display.TextTail()
    for i in range(1, 101):  # a progress bar (tqdm writes "\r" + the whole bar)
        tail.write(f"\r{i:3d}/100 [{'#' * (i // 10):<10}]")
    tail.write("\nfinished\n")
    tail.write("half")
    tail.write(" a line\r\n")
    assert tail.render(40, 8_000, 1) == "100/100 [##########]\nfinished\nhalf a line"
