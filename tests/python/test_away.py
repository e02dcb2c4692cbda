"""With no page on a notebook, the server writes its background jobs' outputs into it.

A real `jupyter server` (with the extension), a real kernel (this venv's ipykernel), and
pages that are kernel websockets: a page submits jobs and closes; the file on disk gets
every line once, valid nbformat; a page that comes back finds nothing to replay.
"""

from __future__ import annotations

import json
import time

import nbformat
import pytest
from kernel_client import wait_until
from server_client import Page, Server, notebook

from parallel_cell.server.cells import read_mark


def printing(tag, n, pause):
    return (
        f"import time\nfor i in range({n}):\n"
        f"    print('{tag}%d' % i, flush=True)\n    time.sleep({pause})"
    )


def printing_on(tag, pause):
    """A cell that prints until its kernel stops: the server has output to write after
    whatever the test does, however late that comes on a loaded machine."""
    return (
        "import itertools, time\nfor i in itertools.count():\n"
        f"    print('{tag}%d' % i, flush=True)\n    time.sleep({pause})"
    )


def stdout_of(cell) -> str:
    return "".join(
        "".join(o["text"]) if isinstance(o["text"], list) else o["text"]
        for o in cell["outputs"]
        if o["output_type"] == "stream" and o["name"] == "stdout"
    )


def lines_of(cell):
    return stdout_of(cell).splitlines()


def normal(cell) -> dict:
    """A cell as nbformat means it: multi-line strings may be stored as lists of lines."""
    joined = {
        k: "".join(v) if k == "source" and isinstance(v, list) else v for k, v in cell.items()
    }
    return json.loads(json.dumps(joined, sort_keys=True))


def read_nb(server, name, timeout=30) -> dict:
    """The notebook file as it is on disk once it parses: jupyter_server saves in place
    (a backup copy aside), so a read can meet a file half written."""
    text = wait_until(
        lambda: _parsed(server.root / name), timeout=timeout, interval=0.05, what=f"{name} read"
    )
    return json.loads(text)


def _parsed(path):
    try:
        text = path.read_text()
        json.loads(text)
    except ValueError:
        return None
    return text


def valid(server, name) -> dict:
    nb = read_nb(server, name)
    nbformat.validate(nbformat.reads(json.dumps(nb), as_version=4))
    return nb


@pytest.fixture
def server():
    s = Server(
        {
            "away.ipynb": notebook(
                [printing("a", 6, 0.3), printing("b", 4, 0.2), "untouched = 1", "x = 2"]
            ),
        }
    )
    yield s
    s.stop()


def _ended(server, name, index, last_line):
    def check():
        return last_line in lines_of(read_nb(server, name)["cells"][index])

    return check


def test_a_job_that_ends_with_no_page_lands_in_the_file_once(server):
    before = server.read("away.ipynb")
    kid = server.session("away.ipynb")
    page = Page(server, kid)
    job_a = page.submit("away.ipynb", "cell-0", before["cells"][0]["source"])
    job_b = page.submit("away.ipynb", "cell-1", before["cells"][1]["source"])
    page.wait_type("output", job_a)
    page.close()
    wait_until(lambda: server.connections(kid) == 0, what="the page gone")
    wait_until(_ended(server, "away.ipynb", 0, "a5"), timeout=60, what="a5 in the file")
    wait_until(_ended(server, "away.ipynb", 1, "b3"), timeout=60, what="b3 in the file")
    nb = valid(server, "away.ipynb")
    assert lines_of(nb["cells"][0]) == [f"a{i}" for i in range(6)]
    assert lines_of(nb["cells"][1]) == [f"b{i}" for i in range(4)]
    assert read_mark(nb["cells"][0])[0] == job_a
    assert read_mark(nb["cells"][1])[0] == job_b
    # The cells without jobs are exactly as they were; so is the notebook's metadata.
    assert [normal(c) for c in nb["cells"][2:]] == [normal(c) for c in before["cells"][2:]]
    assert nb["metadata"] == before["metadata"]
    assert "wrote" in server.log() or "writes" in server.log()

    # A page comes back: the kernel's jobs are all in the cells' marks, nothing to replay.
    again = Page(server, kid)
    jobs = again.jobs()
    for index, job in ((0, job_a), (1, job_b)):
        assert jobs[job]["state"] == "done"
        assert read_mark(nb["cells"][index]) == (job, jobs[job]["next_seq"])
    again.close()


# -- more journeys -------------------------------------------------------------------------


def lines_in(server, name, index):
    """The stdout lines of a cell in the file on disk now ([] while it cannot be read)."""
    return lines_of(read_nb(server, name)["cells"][index])


def has_lines(server, name, index, count):
    return lambda: len(lines_in(server, name, index)) >= count


def snapshot(server, name):
    path = server.root / name
    return path.stat().st_mtime_ns, path.read_bytes()


def stays(server, name, seconds=2.0, interval=0.1):
    """Whether the file stays exactly as it is for ``seconds``."""
    before = snapshot(server, name)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(interval)
        if snapshot(server, name) != before:
            return False
    return True


def leave(server, kid, page):
    page.close()
    wait_until(lambda: server.connections(kid) == 0, what="the page gone")


def start(server, name, index, code=None):
    """A session on ``name``, a page that submits the code of cell ``index`` and hears its
    first output; ``(kernel id, page, job id)``."""
    nb = server.read(name)
    kid = server.session(name)
    page = Page(server, kid)
    cell = nb["cells"][index]
    job = page.submit(name, cell.get("id", f"page-id-{index}"), code or cell["source"])
    page.wait_type("output", job)
    return kid, page, job


def own_server(cells, name="nb.ipynb", args=(), nbformat_minor=5):
    return Server({name: notebook(cells, nbformat_minor)}, args=args)


@pytest.fixture
def servers():
    made = []
    yield lambda *a, **kw: made.append(own_server(*a, **kw)) or made[-1]
    for s in made:
        s.stop()


def test_the_server_goes_on_from_what_a_page_saved(servers):
    server = servers([printing("p", 30, 0.05), "x = 1"])
    kid, page, job = start(server, "nb.ipynb", 0)
    heard = wait_until(lambda: len(page.outputs(job)) >= 3 and page.outputs(job), what="3 outputs")
    k = 0
    while k in heard:
        k += 1
    # The page saves what it shows (outputs 0..k-1 and the mark), then its tab closes.
    nb = server.read("nb.ipynb")
    cell = nb["cells"][0]
    cell["outputs"] = [
        {
            "output_type": "stream",
            "name": "stdout",
            "text": "".join(heard[s]["text"] for s in range(k)),
        }
    ]
    cell["metadata"] = {
        "parallel_cell": {"job": job, "seq": k},
        "execution": {"shell.execute_reply": "page"},
    }
    server.write("nb.ipynb", nb)
    leave(server, kid, page)
    wait_until(_ended(server, "nb.ipynb", 0, "p29"), what="p29 in the file")
    nb = valid(server, "nb.ipynb")
    assert lines_of(nb["cells"][0]) == [f"p{i}" for i in range(30)]
    # Gone on from the page's mark: the cell was not claimed again (that would drop this).
    assert nb["cells"][0]["metadata"]["execution"] == {"shell.execute_reply": "page"}
    again = Page(server, kid)
    assert read_mark(nb["cells"][0]) == (job, again.jobs()[job]["next_seq"])
    again.close()


def test_a_page_that_comes_back_mid_job_writes_from_then_on(servers):
    server = servers([printing("r", 80, 0.1)])
    kid, page, job = start(server, "nb.ipynb", 0)
    leave(server, kid, page)
    wait_until(has_lines(server, "nb.ipynb", 0, 3), what="3 lines written by the server")
    again = Page(server, kid)
    assert stays(server, "nb.ipynb", 2.0), "the server wrote the file after a page came back"
    nb = valid(server, "nb.ipynb")
    mark = read_mark(nb["cells"][0])
    assert mark is not None and mark[0] == job
    assert lines_of(nb["cells"][0]) == [f"r{i}" for i in range(len(lines_of(nb["cells"][0])))]
    info = again.jobs()[job]
    assert info["state"] == "running"
    assert info["next_seq"] > mark[1]  # the page replays the rest from the mark
    again.close()
    # The server closed its comm before deleting its subshell (ipykernel 7): the kernel
    # handled the close ("Unknown subshell_id" otherwise).
    assert "Unknown subshell_id" not in server.log()


def test_a_notebook_deleted_while_away(servers):
    # a.ipynb's job prints on: the server meets the file gone at its next write.
    server = servers([printing_on("d", 0.1)], name="a.ipynb")
    server.write("b.ipynb", notebook([printing("e", 15, 0.2)]))
    kid_a, page_a, _ = start(server, "a.ipynb", 0)
    kid_b, page_b, job_b = start(server, "b.ipynb", 0)
    leave(server, kid_a, page_a)
    leave(server, kid_b, page_b)
    wait_until(has_lines(server, "a.ipynb", 0, 2), what="a.ipynb written")
    server.api("DELETE", "/api/contents/a.ipynb")
    wait_until(lambda: "a.ipynb is not there any more" in server.log(), what="the log line")
    wait_until(_ended(server, "b.ipynb", 0, "e14"), what="b.ipynb's job written to its end")
    assert not (server.root / "a.ipynb").exists()
    assert server.api("GET", "/api/status") is not None
    nb = valid(server, "b.ipynb")
    assert lines_of(nb["cells"][0]) == [f"e{i}" for i in range(15)]
    assert read_mark(nb["cells"][0])[0] == job_b
    assert not (server.root / "a.ipynb").exists()


def test_a_notebook_renamed_while_away_without_its_session(servers):
    server = servers([printing_on("m", 0.1)], name="old.ipynb")
    kid, page, _ = start(server, "old.ipynb", 0)
    leave(server, kid, page)
    wait_until(has_lines(server, "old.ipynb", 0, 2), what="old.ipynb written")
    server.api("PATCH", "/api/contents/old.ipynb", {"path": "new.ipynb"})
    wait_until(lambda: "old.ipynb is not there any more" in server.log(), what="the log line")
    assert not (server.root / "old.ipynb").exists()
    nb = valid(server, "new.ipynb")
    lines = lines_of(nb["cells"][0])
    assert lines == [f"m{i}" for i in range(len(lines))]


def test_a_notebook_renamed_while_away_with_its_session(servers):
    server = servers([printing("n", 50, 0.1)], name="old.ipynb")
    kid, page, job = start(server, "old.ipynb", 0)
    leave(server, kid, page)
    wait_until(has_lines(server, "old.ipynb", 0, 2), what="old.ipynb written")
    # JupyterLab renames the file, then moves the session to the new path.
    server.api("PATCH", "/api/contents/old.ipynb", {"path": "new.ipynb"})
    server.api(
        "PATCH",
        f"/api/sessions/{server.session_id(kid)}",
        {"path": "new.ipynb", "name": "new.ipynb"},
    )
    wait_until(_ended(server, "new.ipynb", 0, "n49"), timeout=60, what="n49 in new.ipynb")
    nb = valid(server, "new.ipynb")
    assert lines_of(nb["cells"][0]) == [f"n{i}" for i in range(50)]
    assert read_mark(nb["cells"][0])[0] == job
    assert not (server.root / "old.ipynb").exists()


# A hold well past the 2-2.5 s `stays` checks below: a slow moment of this process
# cannot make a write after the hold look like one within it.
HOLD = ("--ParallelCellServer.hold_after_read=5",)


def _writing(server):
    kid, page, job = start(server, "nb.ipynb", 0)
    leave(server, kid, page)
    wait_until(has_lines(server, "nb.ipynb", 0, 2), what="the server writing")
    return kid, job


def test_a_read_holds_writes_then_a_page_takes_over(servers):
    server = servers([printing("h", 100, 0.1)], args=HOLD)
    kid, job = _writing(server)
    server.api("GET", "/api/contents/nb.ipynb?content=1")
    page = Page(server, kid)
    assert stays(server, "nb.ipynb", 2.5)
    nb = valid(server, "nb.ipynb")
    assert page.jobs()[job]["next_seq"] > read_mark(nb["cells"][0])[1]
    page.close()


def test_a_read_holds_writes_for_a_while_then_they_go_on(servers):
    server = servers([printing("h", 100, 0.1)], args=HOLD)
    _writing(server)
    server.api("GET", "/api/contents/nb.ipynb?type=notebook&content=1")
    assert stays(server, "nb.ipynb", 2.0), "the server wrote a notebook just read"
    count = len(lines_in(server, "nb.ipynb", 0))
    wait_until(has_lines(server, "nb.ipynb", 0, count + 1), what="writes again after the hold")
    lines = lines_in(server, "nb.ipynb", 0)
    assert lines == [f"h{i}" for i in range(len(lines))]


def test_a_page_that_opens_and_closes_within_the_hold(servers):
    """A person opens the notebook (a read, a kernel websocket) and closes it again within
    `hold_after_read`: the server takes over again and, once the hold is over, writes."""
    server = servers([printing("o", 70, 0.1)], args=HOLD)
    kid, job = _writing(server)
    server.api("GET", "/api/contents/nb.ipynb?content=1")
    page = Page(server, kid)
    leave(server, kid, page)
    wait_until(_ended(server, "nb.ipynb", 0, "o69"), timeout=60, what="o69 in the file")
    nb = valid(server, "nb.ipynb")
    assert lines_of(nb["cells"][0]) == [f"o{i}" for i in range(70)]
    assert read_mark(nb["cells"][0])[0] == job


def test_queued_and_chained_jobs_land_in_their_cells(servers):
    server = servers([printing(f"q{c}_", 3, 0.15) for c in range(4)])
    nb = server.read("nb.ipynb")
    kid = server.session("nb.ipynb")
    page = Page(server, kid)
    page.send(
        {
            "type": "configure",
            "log_limit": 10000,
            "kill_grace_ms": 500,
            "interruptible_sleep": True,
            "cap": 1,
        }
    )
    jobs = [page.submit("nb.ipynb", f"cell-{c}", nb["cells"][c]["source"]) for c in range(3)]
    jobs.append(page.submit("nb.ipynb", "cell-3", nb["cells"][3]["source"], after=jobs[1]))
    page.wait_type("output", jobs[0])
    assert page.jobs()[jobs[1]]["state"] == "queued"
    leave(server, kid, page)
    for c in range(4):
        wait_until(_ended(server, "nb.ipynb", c, f"q{c}_2"), what=f"cell {c} written")
    nb = valid(server, "nb.ipynb")
    for c in range(4):
        assert lines_of(nb["cells"][c]) == [f"q{c}_{i}" for i in range(3)]
        assert read_mark(nb["cells"][c])[0] == jobs[c]


def test_a_notebook_without_cell_ids(servers):
    same = printing("s", 3, 0.1)
    server = servers([printing("u", 8, 0.1), same, same], nbformat_minor=4)
    nb = server.read("nb.ipynb")
    for cell in nb["cells"]:
        del cell["id"]
    server.write("nb.ipynb", nb)
    nbformat.validate(nbformat.read(str(server.root / "nb.ipynb"), as_version=4))
    kid = server.session("nb.ipynb")
    page = Page(server, kid)
    # The page gave the cells ids of its own when it loaded the file.
    unique = page.submit("nb.ipynb", "loaded-0", nb["cells"][0]["source"])
    twin = page.submit("nb.ipynb", "loaded-1", same)
    page.wait_type("output", unique)
    leave(server, kid, page)
    wait_until(_ended(server, "nb.ipynb", 0, "u7"), what="u7 in the file")
    wait_until(lambda: twin in server.log(), what="a log line on the job of the twin cells")
    nb = valid(server, "nb.ipynb")
    assert lines_of(nb["cells"][0]) == [f"u{i}" for i in range(8)]
    assert nb["cells"][1]["outputs"] == nb["cells"][2]["outputs"] == []
    assert read_mark(nb["cells"][1]) is None and read_mark(nb["cells"][2]) is None
    why = [line for line in server.log().splitlines() if twin in line]
    assert any("2 cells" in line for line in why), why


def test_a_job_started_with_the_job_magic(servers):
    code = "%%job\n" + printing("k", 10, 0.15)
    server = servers([code, "x = 1"])
    kid = server.session("nb.ipynb")
    page = Page(server, kid)
    start_at = len(page.messages)
    reply = page.execute(code, cell_id="cell-0")
    assert reply["content"]["status"] == "ok", reply["content"]
    started = page.wait_for(
        lambda m: m.get("type") == "started" and m.get("origin") == "kernel", start=start_at
    )
    job = started["job_id"]
    assert started["cell_id"] == "cell-0"
    page.wait_type("output", job)
    # The page saves the cell as it shows it: the magic's own output, its count.
    nb = server.read("nb.ipynb")
    nb["cells"][0]["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": "started (foreground)\n"}
    ]
    nb["cells"][0]["execution_count"] = 1
    server.write("nb.ipynb", nb)
    leave(server, kid, page)
    wait_until(_ended(server, "nb.ipynb", 0, "k9"), what="k9 in the file")
    nb = valid(server, "nb.ipynb")
    assert lines_of(nb["cells"][0]) == ["started (foreground)"] + [f"k{i}" for i in range(10)]
    assert nb["cells"][0]["execution_count"] == 1
    assert read_mark(nb["cells"][0])[0] == job


def test_the_server_stops_with_outputs_it_had_not_saved(servers, tmp_path):
    marker = tmp_path / "printed"
    code = (
        "import time\n"
        "for i in range(10):\n"
        "    print('t%d' % i, flush=True)\n"
        "    time.sleep(0.4)\n"
        "time.sleep(1)\n"
        f"open({str(marker)!r}, 'w').write('done')\n"
        "time.sleep(60)"
    )
    server = servers([code], args=("--ParallelCellServer.save_interval=30",))
    kid, page, job = start(server, "nb.ipynb", 0)
    leave(server, kid, page)
    wait_until(
        lambda: read_mark(read_nb(server, "nb.ipynb")["cells"][0]), what="the server's first save"
    )
    wait_until(marker.exists, timeout=30, what="all lines printed")
    assert "t9" not in lines_in(server, "nb.ipynb", 0)  # held back by save_interval
    server.api("POST", "/api/shutdown")
    server.proc.wait(timeout=30)
    nb = valid(server, "nb.ipynb")
    assert lines_of(nb["cells"][0]) == [f"t{i}" for i in range(10)]
    assert read_mark(nb["cells"][0])[0] == job


def test_the_kernel_restarted_while_away(servers):
    server = servers([printing("w", 80, 0.1)])
    kid, page, job = start(server, "nb.ipynb", 0)
    leave(server, kid, page)
    wait_until(has_lines(server, "nb.ipynb", 0, 3), what="3 lines written")
    server.api("POST", f"/api/kernels/{kid}/restart")
    written = lines_in(server, "nb.ipynb", 0)
    time.sleep(1.5)  # what the server does after the restart, if anything
    assert server.api("GET", "/api/status") is not None
    nb = valid(server, "nb.ipynb")
    lines = lines_of(nb["cells"][0])
    assert lines[: len(written)] == written
    assert lines == [f"w{i}" for i in range(len(lines))]
    assert read_mark(nb["cells"][0])[0] == job
    # The server still serves the kernel: a page runs the runtime again and a job lands.
    again = Page(server, kid)
    assert again.jobs() == {}
    again.close()


def test_a_kernel_shut_down_while_away_is_let_go(servers):
    server = servers([printing("k", 80, 0.1)])
    kid, page, job = start(server, "nb.ipynb", 0)
    leave(server, kid, page)
    wait_until(has_lines(server, "nb.ipynb", 0, 3), what="3 lines written")
    server.api("DELETE", f"/api/kernels/{kid}")  # a culler, or the person, shut it down
    wait_until(
        lambda: f"kernel {kid} was shut down; the server stopped writing" in server.log(),
        timeout=60,
        what="the server letting go of the kernel",
    )
    nb = valid(server, "nb.ipynb")
    lines = lines_of(nb["cells"][0])
    assert len(lines) >= 3 and lines == [f"k{i}" for i in range(len(lines))]
    assert read_mark(nb["cells"][0])[0] == job
    assert "Traceback" not in server.log()


def test_edits_saved_before_leaving_stay(servers):
    server = servers([printing("v", 12, 0.15), "y = 1", "z = 2"])
    kid, page, job = start(server, "nb.ipynb", 0)
    nb = server.read("nb.ipynb")
    nb["cells"][0]["source"] = "# edited while it ran\n" + nb["cells"][0]["source"]
    nb["cells"][0]["metadata"]["tags"] = ["mine"]
    nb["cells"][1]["source"] = "y = 'edited'"
    nb["cells"].insert(
        2, {"cell_type": "markdown", "id": "note", "metadata": {}, "source": "a note"}
    )
    nb["metadata"]["edited"] = True
    server.write("nb.ipynb", nb)
    saved = server.read("nb.ipynb")
    leave(server, kid, page)
    wait_until(_ended(server, "nb.ipynb", 0, "v11"), what="v11 in the file")
    after = valid(server, "nb.ipynb")
    assert lines_of(after["cells"][0]) == [f"v{i}" for i in range(12)]
    assert after["metadata"] == saved["metadata"]
    assert [normal(c) for c in after["cells"][1:]] == [normal(c) for c in saved["cells"][1:]]

    def rest(cell):
        cell = normal(cell)
        meta = {k: v for k, v in cell["metadata"].items() if k != "parallel_cell"}
        return {
            **{k: v for k, v in cell.items() if k not in ("outputs", "execution_count")},
            "metadata": meta,
        }

    assert rest(after["cells"][0]) == rest(saved["cells"][0])
    assert read_mark(after["cells"][0])[0] == job


def test_output_types_read_as_jupyterlab_shows_them(servers):
    code = (
        "import time\n"
        "from IPython.display import clear_output, display, update_display\n"
        "print('first', flush=True)\n"
        "time.sleep(1.5)\n"
        "print('cleared', flush=True)\n"
        "clear_output(wait=True)\n"
        "print('after clear', flush=True)\n"
        "display({'text/plain': 'v1'}, raw=True, display_id='d1')\n"
        "time.sleep(0.3)\n"
        "update_display({'text/plain': 'v2'}, raw=True, display_id='d1')\n"
        "for i in range(5):\n"
        "    print('\\r%d%%' % (i * 20), end='', flush=True)\n"
        "    time.sleep(0.1)\n"
        "print('\\r100%', flush=True)\n"
        "raise ValueError('boom')"
    )
    server = servers([code])
    kid, page, job = start(server, "nb.ipynb", 0)
    leave(server, kid, page)

    def ended():
        cell = read_nb(server, "nb.ipynb")["cells"][0]
        return any(o["output_type"] == "error" for o in cell["outputs"]) and cell

    cell = wait_until(ended, what="the error in the file")
    valid(server, "nb.ipynb")
    outputs = cell["outputs"]
    assert [o["output_type"] for o in outputs] == ["stream", "display_data", "stream", "error"], (
        outputs
    )
    assert "".join(outputs[0]["text"]) == "after clear\n"
    assert "".join(outputs[1]["data"]["text/plain"]) == "v2"
    assert "".join(outputs[2]["text"]) == "100%\n"
    assert (outputs[3]["ename"], outputs[3]["evalue"]) == ("ValueError", "boom")
    assert read_mark(cell)[0] == job
