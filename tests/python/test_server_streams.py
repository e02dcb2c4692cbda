"""Stream outputs bounded by the server (``parallel_cell/server/streams.py``) as the page
bounds them: the same text as the page's own code for the same parts (a golden file the
page's code made), and the gap's counts adding up. Pure: no server, no kernel."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from parallel_cell.server.cells import CellOutputs
from parallel_cell.server.streams import bounded_text, overwrite, parse_gap

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "bounded.json"
CASES = json.loads(GOLDEN.read_text())["cases"]
GAP = re.compile(r"\n?⋯ ([\d,]+) lines \(([\d,]+) characters\) not shown here[^\n]* ⋯\n")


def line(n: int) -> str:
    """Line ``n`` of a job that numbers its lines (the golden's short parts)."""
    return f"line {n:05d} xxxxxxxxxx\n"


def expand(parts: list) -> list[str]:
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        start, stop = part["lines"]
        for n in range(start, stop, part["per"]):
            out.append("".join(line(k) for k in range(n, min(n + part["per"], stop))))
    return out


def run(limit: int, before: str | None, parts: list[str]) -> str | None:
    text = before
    for part in parts:
        bounded = bounded_text(text, part, limit)
        text = bounded if bounded is not None else (text or "") + part
    return text


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c["about"] for c in CASES])
def test_bounds_as_the_page_does(index):
    case = CASES[index]
    before = case["before"]
    if isinstance(before, int):
        before = CASES[before]["text"]
    assert run(case["limit"], before, expand(case["parts"])) == case["text"]


def counts(text: str) -> tuple[list[int], int, int]:
    """The numbered lines ``text`` shows, and the lines and characters its gap hides."""
    found = GAP.search(text)
    assert found, text[:300]
    shown = [int(m) for m in re.findall(r"^line (\d{5}) ", text, re.M)]
    return shown, int(found.group(1).replace(",", "")), int(found.group(2).replace(",", ""))


@pytest.mark.parametrize("per", [1, 7, 64, 3000])
def test_lines_shown_and_hidden_are_the_lines_printed(per):
    parts = expand([{"lines": [0, 3000], "per": per}])
    text = run(10_000, None, parts)
    shown, hidden, chars = counts(text)
    assert shown[0] == 0 and shown[-1] == 2999
    assert len(shown) + hidden == 3000
    # The gap hides one run of lines, each once: the tail starts right after them.
    jump = next(k for k in range(1, len(shown)) if shown[k] != shown[k - 1] + 1)
    assert shown[jump] - shown[jump - 1] - 1 == hidden
    assert chars == hidden * len(line(0))
    assert len(GAP.sub("", text)) <= 10_000


def test_another_limit_goes_on_from_the_gap_and_the_counts_still_add_up():
    first = run(50_000, None, expand([{"lines": [0, 5000], "per": 100}]))
    assert len(parse_gap(first).head) > 2_000  # a fifth of 50,000: longer than 10,000's
    for limit, more in ((10_000, [5000, 6000]), (50_000, [6000, 7000]), (10_000, [7000, 7100])):
        first = run(limit, first, expand([{"lines": more, "per": 50}]))
        shown, hidden, _ = counts(first)
        assert shown[0] == 0 and shown[-1] == more[1] - 1
        assert len(shown) + hidden == more[1], (limit, more)
        assert len(parse_gap(first).head) <= limit // 5


def test_under_the_limit_nothing_is_bounded():
    assert bounded_text(None, "x" * 10_000, 10_000) is None
    assert bounded_text("a\n" * 2000, "b" * 6000, 10_000) is None
    assert bounded_text("a\n" * 2000, "b" * 6001, 10_000) is not None


def test_a_line_that_only_looks_like_a_gap_needs_two_numbers():
    assert parse_gap("⋯ not a gap ⋯\n") is None
    assert parse_gap("x ⋯ 1 lines (2 characters) ⋯\n") is None  # not at a line start
    found = parse_gap("a\n⋯ 1,234 lines (5.678 characters) ⋯\nb")
    assert (found.head, found.tail, found.hidden_lines, found.hidden_chars) == (
        "a\n",
        "b",
        1234,
        5678,
    )


@pytest.mark.parametrize(
    "text, shown",
    [
        ("a\rb", "b"),
        ("abc\rd", "dbc"),
        ("abc\r\n", "abc\n"),
        ("x\nstep 1\rstep 2\r", "x\nstep 2\r"),
        ("no returns", "no returns"),
    ],
)
def test_overwrite_applies_carriage_returns_per_line(text, shown):
    assert overwrite(text) == shown


def out(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


def test_cell_outputs_bound_one_stream_output_and_go_on_with_it():
    cell = {"outputs": []}
    state = CellOutputs()
    for part in expand([{"lines": [0, 3000], "per": 64}]):
        state.apply(cell, [out(part)], 10_000)
    shown, hidden, _ = counts(cell["outputs"][0]["text"])
    assert len(cell["outputs"]) == 1 and len(shown) + hidden == 3000 and shown[-1] == 2999
    # A new server (no memory of the cell) goes on from the text alone.
    for part in expand([{"lines": [3000, 4000], "per": 64}]):
        CellOutputs().apply(cell, [out(part)], 10_000)
    shown, hidden, _ = counts(cell["outputs"][0]["text"])
    assert len(cell["outputs"]) == 1 and len(shown) + hidden == 4000 and shown[-1] == 3999
    state.apply(cell, [out("err\n", "stderr"), out("end\n")], 10_000)
    assert [o["name"] for o in cell["outputs"]] == ["stdout", "stderr", "stdout"]
    assert cell["outputs"][2]["text"] == "end\n"


def test_cell_outputs_one_huge_batch_is_bounded_at_once():
    cell = {"outputs": [{"output_type": "display_data", "data": {}, "metadata": {}}]}
    CellOutputs().apply(cell, [out("".join(line(n) for n in range(3000)))], 10_000)
    assert len(cell["outputs"]) == 2
    shown, hidden, _ = counts(cell["outputs"][1]["text"])
    assert len(shown) + hidden == 3000


def test_a_pending_carriage_return_overwrites_when_the_output_becomes_bounded():
    # Under the limit the cursor waits at the line's start; the next part crosses it.
    cell = {"outputs": []}
    state = CellOutputs()
    state.apply(cell, [out("".join(line(n) for n in range(400)) + "step 1\r")], 10_000)
    assert cell["outputs"][0]["text"].endswith("step 1")
    state.apply(cell, [out("".join(line(n) for n in range(400, 500)) + "step 2\r")], 10_000)
    text = cell["outputs"][0]["text"]
    assert GAP.search(text) and text.endswith("step 2\r")
    assert "step 1" not in text and "line 00400" in text
    state.apply(cell, [out("done")], 10_000)
    assert cell["outputs"][0]["text"].endswith("\ndone 2")  # as a terminal: "done" over it
