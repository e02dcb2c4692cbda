"""`make bench`'s Python scripts still load: a helper they import from the test harness
moved once, and P10 and P13 went missing from the table with nobody told. Loading runs
none of the measuring (each has a ``__main__`` guard); `rust_lines.py`, a filter, is run
on a line of the panel benchmark's output."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(p for p in BENCH.glob("*.py") if p.name != "rust_lines.py")


def test_every_script_is_listed():
    assert {p.name for p in SCRIPTS} >= {"away.py", "away_size.py", "overhead.py", "foreground.py"}


def _load(path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))  # their sibling imports (inkernel)
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_a_bench_script_loads(path, monkeypatch):
    module = _load(path, monkeypatch)
    assert callable(getattr(module, "main", None)) or path.name == "inkernel.py"


def test_the_panel_figures_filter_turns_a_bench_line_into_a_figure():
    lines = "noise\nbench: one tick, 100 running rows: 0.095 ms (budget 1.0 ms, median of 50)\n"
    out = subprocess.run(
        [sys.executable, str(BENCH / "rust_lines.py")],
        input=lines,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert len(out) == 1
    figure = json.loads(out[0])
    assert figure["id"] == "P4" and figure["ours"] == 0.095 and figure["baseline"] == 1.0


def test_p2_notes_say_what_the_threads_cost_each_side(monkeypatch):
    overhead = _load(BENCH / "overhead.py", monkeypatch)
    figures = {"ours": 150.0, "recipe": 130.0, "ours_inline": 50.0, "recipe_inline": 10.0}
    figures.update(round_trip=62.0, round_trip_1core=5.1)
    notes = overhead._cpu_notes(figures, "recipe")["notes"]
    assert "50 vs 10 µs, so its threads cost ours 100 µs and the recipe 120 µs" in notes
    assert "62 µs on two cores, 5.1 µs on one" in notes
    assert "notes" not in overhead._cpu_notes({"ours": 1.0, "bare": 1.0}, "bare")


def test_p9_takes_each_round_against_its_neighbours_and_gives_its_spread(monkeypatch):
    foreground = _load(BENCH / "foreground.py", monkeypatch)
    # Rounds of (A, B, C): A runs 10% slower after, whatever the load of each round.
    load = [1.0, 1.3, 0.9, 1.1, 1.2, 0.8, 1.0, 1.05]
    before = ([100 * x for x in load], [98 * x for x in load], [103 * x for x in load])
    after = tuple([v * 1.5 for v in side] for side in before)  # the machine got slower
    after[0][:] = [v * 1.1 for v in after[0]]
    assert foreground._paired(before, after, 0, (1, 2)) == pytest.approx(1.1)
    assert foreground._paired(before, after, 2, (1,)) == pytest.approx(1.0)
    assert foreground.spread(before, after, 0, (1, 2)) == pytest.approx((1.1, 1.1))
    # With noise in A, the spread brackets the figure and is the same on every call.
    after[0][1] *= 1.2
    after[0][4] *= 0.9
    low, high = foreground.spread(before, after, 0, (1, 2))
    assert low < high
    assert low <= foreground._paired(before, after, 0, (1, 2)) <= high
    assert (low, high) == foreground.spread(before, after, 0, (1, 2))


def test_an_added_cost_is_signed_once(monkeypatch):
    table = _load(BENCH / "table.py", monkeypatch)
    figure = {"ours": 1518.0, "baseline": 1530.0, "unit": "ms", "target": "≤ +30 ms"}
    assert table.verdict({**figure, "additive": 30, "extra": -4.2}) == ("-4 ms", True)
    assert table.verdict({**figure, "additive": 30, "extra": 13.0}) == ("+13 ms", True)
    assert table.verdict({**figure, "additive": 30, "extra": 31.0}) == ("+31 ms", False)
