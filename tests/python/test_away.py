"""With no page on a notebook, the server writes its background jobs' outputs into it.

A real `jupyter server` (with the extension), a real kernel (this venv's ipykernel), and
pages that are kernel websockets: a page submits jobs and closes; the file on disk gets
every line once, valid nbformat; a page that comes back finds nothing to replay.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from server_client import Page, Server, notebook, wait_until

from parallel_cell.server.cells import read_mark


def printing(tag, n, pause):
    return f"import time\nfor i in range({n}):\n    print('{tag}%d' % i, flush=True)\n    time.sleep({pause})"


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
    joined = {k: "".join(v) if k == "source" and isinstance(v, list) else v for k, v in cell.items()}
    return json.loads(json.dumps(joined, sort_keys=True))


def valid(server, name) -> dict:
    nb = nbformat.read(str(server.root / name), as_version=4)
    nbformat.validate(nb)
    return json.loads((server.root / name).read_text())


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
        nb = json.loads((server.root / name).read_text())
        return last_line in lines_of(nb["cells"][index])

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
    wait_until(_ended(server, "away.ipynb", 0, "a5"), timeout=30, what="a5 in the file")
    wait_until(_ended(server, "away.ipynb", 1, "b3"), timeout=30, what="b3 in the file")
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
