"""The runtime's pure parts, without a kernel: names a cell binds, `;`, the replay log."""

import ast

import pytest

from parallel_cell._bootstrap import load_runtime


@pytest.fixture(scope="module")
def rt():
    return load_runtime(register=False)


@pytest.mark.parametrize(
    "code,names",
    [
        ("x = 1", ["x"]),
        ("a, (b, *c) = 1, (2, 3)", ["a", "b", "c"]),
        ("x += 1\ny: int = 2\nz: int", ["x", "y", "z"]),
        ("for i, j in []: pass\nelse: k = 1", ["i", "j", "k"]),
        ("with open('f') as f, open('g') as (g, h): pass", ["f", "g", "h"]),
        ("import os.path, numpy as np\nfrom a import b, c as d\nfrom e import *", None),
        ("def f():\n    local = 1\n    global g\n    g = 2", ["f", "g"]),
        ("class C:\n    attr = 1", ["C"]),
        ("async def co(): pass", ["co"]),
        ("[w := 1 for _ in range(1)]\nlambda q: q", ["w"]),
        ("if (n := 3) > 2:\n    m = 1\nwhile False:\n    o = 2", ["n", "m", "o"]),
        ("try:\n    p = 1\nexcept Exception as e:\n    r = 2", ["p", "r"]),
        ("print(x)\nx.attr = 1\nx[0] = 2", []),
    ],
)
def test_assigned_names(rt, code, names):
    if names is None:
        names = ["os", "np", "b", "d"]
    assert rt.assigned_names(ast.parse(code)) == names


@pytest.mark.parametrize(
    "source,quiet",
    [
        ("x", False),
        ("x;", True),
        ("x;  # comment", True),
        ("x  # comment;", False),
        ("'a;'", False),
        ("f(1);\n\n", True),
        ("if x:\n    y;\n", True),
        ("x = (1,", False),
    ],
)
def test_trailing_semicolon(rt, source, quiet):
    assert rt._ends_with_semicolon(source) is quiet


class FakeRuntime:
    def mark_dirty(self, job, urgent=False):
        pass


def _job(rt):
    return rt.Job(FakeRuntime(), "j", 1, None, None, "kernel", "<job>")


def test_stream_output_is_coalesced(rt):
    job = _job(rt)
    for text in ["a", "b\n", "c"]:
        job.emit_stream("stdout", text)
    job.emit_stream("stderr", "e")
    job.emit_stream("stdout", "d")
    assert job.take_pending() == [
        {"output_type": "stream", "name": "stdout", "text": "ab\nc"},
        {"output_type": "stream", "name": "stderr", "text": "e"},
        {"output_type": "stream", "name": "stdout", "text": "d"},
    ]


def test_log_trimming_keeps_seqs_consecutive(rt, monkeypatch):
    monkeypatch.setattr(rt.Config, "log_limit_outputs", 4)
    job = _job(rt)
    outs = [{"output_type": "stream", "name": "stdout", "text": f"{i}\n"} for i in range(10)]
    for seq in range(0, 10, 2):
        job.log_outputs(seq, outs[seq : seq + 2])
    logged = job.logged_since(0)
    seqs = [seq for seq, _ in logged]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) and len(logged) == 4
    marker = logged[0][1]
    assert marker["name"] == "stderr" and "7 earlier output(s)" in marker["text"]
    assert "_pc_marker" not in marker
    assert [o["text"] for _, o in logged[1:]] == ["7\n", "8\n", "9\n"]
    assert job.logged_since(9) == [(9, outs[9])]
    job.drop_log("test")
    ((seq, marker),) = job.logged_since(0)
    assert seq == 9 and "10 earlier output(s)" in marker["text"]


def test_job_info_has_the_protocol_keys(rt):
    import json
    from pathlib import Path

    golden = json.loads((Path(__file__).parents[1] / "golden/kernel/jobs.json").read_text())
    assert sorted(_job(rt).info()) == sorted(golden["jobs"][0])


@pytest.mark.parametrize(
    "module", ["threading", "typing", "asyncio.base_events", "argparse", "inspect", "dataclasses"]
)
def test_fast_assigned_names_match_the_full_walk(rt, module):
    # Big cells are read statement by statement when they have no walrus; the answer
    # must be the full visitor's, on real code.
    import importlib
    import inspect

    source = inspect.getsource(importlib.import_module(module))
    assert ":=" not in source  # else the full walk runs for both
    tree = ast.parse(source)
    assert rt.assigned_names(tree, source) == rt.assigned_names(tree)


@pytest.mark.parametrize(
    "source,has_result",
    [
        ("x", True),
        ("x;", False),
        ("x ;  # comment", False),
        ("x  # comment;", True),
        ("'a;'", True),
        ("f(1);\n\n", False),
        ("a = 1; b", True),
        ('s = """\nq"""; s;', False),
        ("y = 'é' ; 'é';", False),
        ("(1,\n 2)\n", True),
        ("(1,\n 2);\n", False),
        ("x = 1\r\nx;\r\n", False),
        ("x = 1\rx\r", True),
    ],
)
def test_trailing_expression_found_from_its_end(rt, source, has_result):
    cell = rt.compile_cell(None, source, "<test>")
    assert (cell.expr is not None) is has_result
