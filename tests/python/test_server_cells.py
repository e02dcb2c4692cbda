"""The server writer's pure parts (``parallel_cell/server/cells.py`` and ``jobs.py``): no
server, no kernel; dicts in, dicts out."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from parallel_cell.server.cells import (
    MARK_KEY,
    CellOutputs,
    Plan,
    claim,
    find_cell,
    plan,
    process_text,
    read_mark,
    set_mark,
    source_hash,
)
from parallel_cell.server.jobs import JobOutputs

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "streams.json"
STREAM_CASES = json.loads(GOLDEN.read_text())["cases"]


# -- source_hash ------------------------------------------------------------------------


def fnv1a64(text: str) -> str:
    """FNV-1a, 64 bits, over UTF-8, written out from its definition."""
    h = 14695981039346656037
    for byte in text.encode("utf-8"):
        h ^= byte
        h = (h * 1099511628211) % 2**64
    return format(h, "016x")


def test_source_hash_known_vectors():
    assert source_hash("") == "cbf29ce484222325"
    assert source_hash("a") == "af63dc4c8601ec8c"
    assert source_hash("foobar") == "85944171f73967e8"


@pytest.mark.parametrize(
    "code",
    [
        "print(1)",
        "x = 1\ny = 2\n",
        "é ünïcödé ✓ 🐍",
        "\r\n\t\x00",
        "for i in range(3):\n    print(i)",
    ],
)
def test_source_hash_is_fnv1a_64_over_utf8(code):
    assert source_hash(code) == fnv1a64(code)
    assert len(source_hash(code)) == 16


# -- process_text -----------------------------------------------------------------------


@pytest.mark.parametrize("case", STREAM_CASES, ids=[repr(c["parts"]) for c in STREAM_CASES])
def test_process_text_matches_jupyterlab(case):
    text, cursor = "", 0
    for part in case["parts"]:
        text, cursor = process_text(cursor, part, text)
    assert (text, cursor) == (case["text"], case["cursor"])


@pytest.mark.parametrize("case", STREAM_CASES, ids=[repr(c["parts"]) for c in STREAM_CASES])
def test_cell_outputs_stream_matches_jupyterlab(case):
    """The same parts as stream outputs of one name, one batch each, give one output with
    the text JupyterLab shows."""
    cell = {"outputs": []}
    state = CellOutputs()
    for part in case["parts"]:
        state.apply(cell, [{"output_type": "stream", "name": "stdout", "text": part}])
    assert len(cell["outputs"]) == 1
    assert cell["outputs"][0]["text"] == case["text"]


# -- CellOutputs ------------------------------------------------------------------------


def out(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


def display(value, display_id=None):
    o = {"output_type": "display_data", "data": {"text/plain": value}, "metadata": {}}
    if display_id:
        o["transient"] = {"display_id": display_id}
    return o


def update(value, display_id):
    return {
        "output_type": "update_display_data",
        "data": {"text/plain": value},
        "metadata": {},
        "transient": {"display_id": display_id},
    }


def test_streams_of_one_name_merge():
    cell = {"outputs": []}
    CellOutputs().apply(cell, [out("a\n"), out("b\n")])
    assert cell["outputs"] == [out("a\nb\n")]


def test_streams_merge_across_batches_and_with_text_saved_as_a_list():
    cell = {"outputs": [{"output_type": "stream", "name": "stdout", "text": ["a\n", "b\n"]}]}
    state = CellOutputs()
    state.apply(cell, [out("c\n")])
    state.apply(cell, [out("d")])
    assert cell["outputs"] == [out("a\nb\nc\nd")]


def test_streams_of_different_names_do_not_merge():
    cell = {"outputs": []}
    CellOutputs().apply(cell, [out("a\n"), out("e\n", "stderr"), out("b\n")])
    assert cell["outputs"] == [out("a\n"), out("e\n", "stderr"), out("b\n")]


def test_clear_output_clears_at_once():
    cell = {"outputs": [out("old\n")]}
    state = CellOutputs()
    state.apply(cell, [out("x\n"), {"output_type": "clear_output", "wait": False}])
    assert cell["outputs"] == []
    state.apply(cell, [out("y\n")])
    assert cell["outputs"] == [out("y\n")]


def test_clear_output_wait_clears_at_the_next_output_even_in_a_later_batch():
    cell = {"outputs": []}
    state = CellOutputs()
    state.apply(cell, [out("x\n"), {"output_type": "clear_output", "wait": True}])
    assert cell["outputs"] == [out("x\n")]  # shown until something replaces it
    state.apply(cell, [out("y\n")])
    assert cell["outputs"] == [out("y\n")]


def test_clear_output_resets_the_stream_cursor():
    cell = {"outputs": []}
    state = CellOutputs()
    state.apply(cell, [out("abcdef\r"), {"output_type": "clear_output", "wait": False}])
    state.apply(cell, [out("xy")])
    assert cell["outputs"] == [out("xy")]


def test_update_display_data_replaces_the_display_in_place():
    cell = {"outputs": []}
    state = CellOutputs()
    state.apply(cell, [display("v1", "d1"), out("between\n"), display("other", "d2")])
    state.apply(cell, [update("v2", "d1")])
    assert [o["output_type"] for o in cell["outputs"]] == ["display_data", "stream", "display_data"]
    assert cell["outputs"][0]["data"] == {"text/plain": "v2"}
    assert cell["outputs"][2]["data"] == {"text/plain": "other"}
    assert all("transient" not in o for o in cell["outputs"])


def test_update_display_data_of_an_unknown_id_adds_nothing():
    cell = {"outputs": []}
    CellOutputs().apply(cell, [out("a\n"), update("v", "nope")])
    assert cell["outputs"] == [out("a\n")]


def test_update_display_data_after_a_clear_adds_nothing():
    cell = {"outputs": []}
    state = CellOutputs()
    state.apply(cell, [display("v1", "d1"), {"output_type": "clear_output", "wait": False}])
    state.apply(cell, [out("a\n"), update("v2", "d1")])
    assert cell["outputs"] == [out("a\n")]


def test_transient_is_not_written():
    cell = {"outputs": []}
    CellOutputs().apply(cell, [display("v", "d1")])
    assert cell["outputs"] == [
        {"output_type": "display_data", "data": {"text/plain": "v"}, "metadata": {}}
    ]


def test_a_display_shown_twice_is_updated_twice():
    cell = {"outputs": []}
    state = CellOutputs()
    state.apply(cell, [display("v1", "d"), out("s\n"), display("v1", "d")])
    state.apply(cell, [update("v2", "d")])
    assert [o.get("data") for o in cell["outputs"]] == [
        {"text/plain": "v2"},
        None,
        {"text/plain": "v2"},
    ]


# -- find_cell --------------------------------------------------------------------------


def code(source, cell_id=None):
    cell = {
        "cell_type": "code",
        "source": source,
        "metadata": {},
        "outputs": [],
        "execution_count": None,
    }
    if cell_id is not None:
        cell["id"] = cell_id
    return cell


def markdown(source, cell_id=None):
    cell = {"cell_type": "markdown", "source": source, "metadata": {}}
    if cell_id is not None:
        cell["id"] = cell_id
    return cell


def test_find_cell_by_id():
    cells = [code("a", "c0"), code("b", "c1")]
    assert find_cell(cells, "c1", source_hash("zzz")) == (1, "")


def test_find_cell_by_id_not_a_code_cell_any_more():
    cells = [code("a", "c0"), markdown("b", "c1")]
    index, why = find_cell(cells, "c1", source_hash("b"))
    assert index is None
    assert "not a code cell" in why


def test_find_cell_by_hash_when_the_id_is_not_there():
    cells = [code("a"), code(["x = 1\n", "y = 2"]), markdown("x = 1\ny = 2")]
    assert find_cell(cells, "new-id-on-load", source_hash("x = 1\ny = 2")) == (1, "")


def test_find_cell_by_hash_ambiguous():
    cells = [code("same"), code("other"), code("same")]
    index, why = find_cell(cells, "gone", source_hash("same"))
    assert index is None
    assert "2 cells" in why


def test_find_cell_by_hash_ignores_markdown_cells():
    cells = [markdown("same"), code("other")]
    index, why = find_cell(cells, None, source_hash("same"))
    assert index is None
    assert why


def test_find_cell_without_id_or_hash():
    index, why = find_cell([code("a", "c0")], "c9", None)
    assert index is None
    assert "not in the notebook" in why


# -- plan -------------------------------------------------------------------------------


def marked(job, seq, outputs=()):
    cell = code("x", "c0")
    cell["outputs"] = list(outputs)
    set_mark(cell, job, seq)
    return cell


def test_plan_superseded_leaves_the_cell():
    assert plan(marked("j1", 3), "j1", "frontend", True).since is None


def test_plan_same_job_goes_on_from_the_mark():
    assert plan(marked("j1", 3), "j1", "frontend", False) == Plan(3, clear=False)


def test_plan_other_job_mark_clears_and_starts_at_zero():
    assert plan(marked("j0", 7), "j1", "frontend", False) == Plan(0, clear=True)
    assert plan(code("x", "c0"), "j1", "frontend", False) == Plan(0, clear=True)


def test_plan_kernel_origin_keeps_the_cell_outputs():
    assert plan(code("%%job\nx", "c0"), "k1", "kernel", False) == Plan(0, clear=False)
    assert plan(marked("k1", 4), "k1", "kernel", False) == Plan(4, clear=False)


def test_read_mark_rejects_bad_marks():
    cell = code("x")
    for bad in ({"job": 1, "seq": 0}, {"job": "j", "seq": -1}, {"job": "j", "seq": True}, "j"):
        cell["metadata"][MARK_KEY] = bad
        assert read_mark(cell) is None
    cell["metadata"][MARK_KEY] = {"job": "j", "seq": 0}
    assert read_mark(cell) == ("j", 0)


def test_claim_empties_the_cell():
    cell = marked("old", 5, [out("old\n")])
    cell["execution_count"] = 4
    cell["metadata"]["execution"] = {"iopub.status.busy": "x"}
    cell["metadata"]["tags"] = ["keep"]
    claim(cell, "new")
    assert cell["outputs"] == []
    assert cell["execution_count"] is None
    assert cell["metadata"] == {"tags": ["keep"], MARK_KEY: {"job": "new", "seq": 0}}


# -- JobOutputs -------------------------------------------------------------------------


def lines(start, stop):
    return [out(f"l{i}\n") for i in range(start, stop)]


def text_of(cell):
    return "".join(o["text"] for o in cell["outputs"] if o["output_type"] == "stream")


def job(job_id="j1", origin="frontend", known_next=0, cell_id="c0"):
    return JobOutputs(
        job_id=job_id,
        cell_id=cell_id,
        source_hash=source_hash("x"),
        origin=origin,
        notebook="nb.ipynb",
        known_next=known_next,
    )


def resolved(cell, **kw):
    j = job(**kw)
    cells = [cell]
    assert j.resolve(cells, "nb.ipynb") == (0, "")
    return j


def test_resolve_from_the_mark_asks_for_what_the_cell_lacks():
    cell = marked("j1", 2, lines(0, 2))
    j = resolved(cell, known_next=5)
    assert (j.next, j.written, j.clear_first) == (2, 2, False)
    assert j.missing() == 2
    assert j.missing() is None  # asked once


def test_resolve_superseded_drops():
    j = job()
    j.superseded = True
    index, why = j.resolve([marked("j1", 2)], "nb.ipynb")
    assert index is None
    assert j.dropped and why == j.dropped
    assert not j.has_work
    assert j.take(2, lines(2, 3)) is None and j.pending == []


def test_take_overlap_keeps_only_what_is_new():
    j = resolved(marked("j1", 3, lines(0, 3)))
    assert j.take(1, lines(1, 6)) is None
    assert j.pending == lines(3, 6)
    assert j.next == 6
    assert j.take(0, lines(0, 4)) is None  # all already taken
    assert j.pending == lines(3, 6)


def test_take_a_gap_asks_a_replay_once_then_the_replay_fills_it():
    j = resolved(marked("j1", 3, lines(0, 3)))
    assert j.take(5, lines(5, 6)) == 3
    assert j.take(6, lines(6, 7)) is None  # the replay is already asked for
    assert j.missing() is None
    assert j.pending == []
    assert j.take(3, lines(3, 7)) is None  # the replay's answer
    assert j.pending == lines(3, 7)
    assert j.next == 7
    assert j.asked is None
    assert j.take(9, lines(9, 10)) == 7  # a later gap is asked for again


def test_outputs_heard_before_resolving_are_taken_from_the_mark():
    j = job(known_next=2)
    assert j.take(2, lines(2, 4)) is None
    assert j.take(4, lines(4, 5)) is None
    assert j.next is None and j.pending == []
    j.resolve([marked("j1", 3, lines(0, 3))], "nb.ipynb")
    assert j.pending == lines(3, 5)
    assert j.next == 5
    assert j.missing() is None


def test_outputs_heard_before_resolving_that_skip_past_the_mark_ask_a_replay():
    """The cell's mark is at 2; the kernel's next was 6 when the server heard the job's
    list, and live outputs 6 and 7 came before the cell was read. Whatever the order of
    `resolve` and `missing`, the seqs 2..5 must be asked for."""
    j = job(known_next=6)
    j.take(6, lines(6, 7))
    j.take(7, lines(7, 8))
    j.resolve([marked("j1", 2, lines(0, 2))], "nb.ipynb")
    assert j.missing() == 2


def test_write_claims_a_cell_of_an_earlier_run():
    cell = marked("old", 4, [out("old\n"), display("d")])
    cell["execution_count"] = 9
    j = resolved(cell)
    assert j.clear_first
    j.take(0, lines(0, 2))
    assert j.write(cell)
    assert cell["outputs"] == [out("l0\nl1\n")]
    assert cell["execution_count"] is None
    assert read_mark(cell) == ("j1", 2)
    assert not j.clear_first and j.pending == []


def test_write_claims_even_with_nothing_to_write_yet():
    cell = marked("old", 4, [out("old\n")])
    j = resolved(cell)
    assert j.has_work
    assert j.write(cell)
    assert cell["outputs"] == []
    assert read_mark(cell) == ("j1", 0)
    assert not j.has_work


def test_write_advances_the_mark():
    cell = marked("j1", 2, lines(0, 2))
    j = resolved(cell)
    j.take(2, lines(2, 4))
    assert j.write(cell)
    assert text_of(cell) == "l0\nl1\nl2\nl3\n"
    assert read_mark(cell) == ("j1", 4)
    j.take(4, lines(4, 5))
    assert j.write(cell)
    assert text_of(cell) == "l0\nl1\nl2\nl3\nl4\n"
    assert read_mark(cell) == ("j1", 5)
    assert not j.write(cell)  # nothing pending: the cell is left as it is


def test_write_when_another_writer_went_further_takes_only_what_the_cell_lacks():
    cell = marked("j1", 2, lines(0, 2))
    j = resolved(cell)
    j.take(2, lines(2, 6))
    set_mark(cell, "j1", 4)  # a page wrote 2 and 3 meanwhile
    cell["outputs"] = [out("l0\nl1\nl2\nl3\n")]
    assert j.write(cell)
    assert text_of(cell) == "".join(f"l{i}\n" for i in range(6))
    assert read_mark(cell) == ("j1", 6)


def test_write_when_another_writer_went_beyond_all_it_has():
    cell = marked("j1", 2, lines(0, 2))
    j = resolved(cell)
    j.take(2, lines(2, 4))
    full = marked("j1", 8, [out("".join(f"l{i}\n" for i in range(8)))])
    assert not j.write(full)
    assert read_mark(full) == ("j1", 8)
    assert text_of(full).count("l3\n") == 1
    assert j.take(4, lines(4, 8)) is None and j.pending == []  # already in the cell
    j.take(8, lines(8, 9))
    assert j.write(full)
    assert text_of(full).splitlines() == [f"l{i}" for i in range(9)]


def test_write_drops_the_job_when_its_cell_was_taken_by_another_run():
    cell = marked("j1", 2, lines(0, 2))
    j = resolved(cell)
    j.take(2, lines(2, 4))
    taken = marked("j2", 1, [out("new run\n")])
    before = copy.deepcopy(taken)
    assert not j.write(taken)
    assert taken == before
    assert j.dropped and not j.has_work and j.pending == []
    assert j.take(4, lines(4, 5)) is None and j.pending == []


def test_write_kernel_origin_keeps_the_cells_own_outputs():
    cell = code("%%job\nx", "c0")
    cell["outputs"] = [out("[parallel-cell] started job 1\n")]
    cell["execution_count"] = 3
    j = resolved(cell, job_id="k1", origin="kernel")
    j.take(0, [out("x\n", "stderr")])
    assert j.write(cell)
    assert cell["outputs"] == [out("[parallel-cell] started job 1\n"), out("x\n", "stderr")]
    assert cell["execution_count"] == 3
    assert read_mark(cell) == ("k1", 1)


# -- untrusted outputs --------------------------------------------------------------------

MALFORMED = [
    "not an output",
    None,
    {"output_type": "stream", "name": "stdin", "text": "x"},
    {"output_type": "stream", "name": "stdout", "text": 5},
    {"output_type": "stream", "name": "stdout", "text": ["a", 1]},
    {"output_type": "display_data", "data": "text/plain", "metadata": {}},
    {"output_type": "display_data", "data": {}, "metadata": []},
    {"output_type": "execute_result", "data": {}, "metadata": {}, "execution_count": "1"},
    {"output_type": "execute_result", "data": {}, "metadata": {}, "execution_count": True},
    {"output_type": "error", "ename": "E", "evalue": "v", "traceback": "tb"},
    {"output_type": "error", "ename": 1, "evalue": "v", "traceback": []},
    {"output_type": "something_else", "data": {}},
    {"output_type": None},
]


@pytest.mark.parametrize("output", MALFORMED, ids=range(len(MALFORMED)))
def test_an_output_nbformat_would_refuse_is_left_out(output):
    cell = {"cell_type": "code", "id": "c", "metadata": {}, "source": "", "outputs": []}
    cell["execution_count"] = None
    CellOutputs().apply(cell, [output])
    assert cell["outputs"] == []


def test_outputs_written_make_a_valid_notebook():
    nbformat = pytest.importorskip("nbformat")
    cell = {
        "cell_type": "code",
        "id": "c",
        "metadata": {},
        "source": "",
        "outputs": [],
        "execution_count": None,
    }
    CellOutputs().apply(
        cell,
        [
            *MALFORMED,
            {"output_type": "stream", "name": "stdout", "text": ["a\n", "b\n"], "extra": 1},
            {
                "output_type": "display_data",
                "data": {"text/plain": "d"},
                "transient": {"display_id": "x"},
            },
            {"output_type": "execute_result", "data": {"text/plain": "1"}, "metadata": {}},
            {"output_type": "error", "ename": "E", "evalue": "v", "traceback": ["t"]},
        ],
    )
    assert [o["output_type"] for o in cell["outputs"]] == [
        "stream",
        "display_data",
        "execute_result",
        "error",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.from_dict(cell)])
    nbformat.validate(nb)
