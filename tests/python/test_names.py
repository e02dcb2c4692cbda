"""The name analysis behind "name conflict" warnings (``runtime/names.py``), without a
kernel: a corpus of tricky cells with the names each reads and writes, ``expand`` on a
real namespace, IPython's own names. ``pytest -s`` prints the corpus counts.

names.py uses only the standard library, so it is loaded straight from its file: the
same test runs on every Python the kernel supports (3.9-3.13), with or without
IPython (cells with IPython syntax need IPython's transform: skipped without it).
"""

import ast
import dis
import functools
import importlib.util
import json
import sys
import textwrap
import types
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _runtime_module(name):
    """A module of the kernel runtime, loaded straight from its file."""
    spec = importlib.util.spec_from_file_location(
        f"_pc_{name}_under_test", ROOT / "parallel_cell" / "runtime" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


names = _runtime_module("names")

try:
    import IPython  # noqa: F401

    HAVE_IPYTHON = True
except ImportError:
    HAVE_IPYTHON = False

V = sys.version_info[:2]

# (cell, reads, writes, unknown[, minimum Python]). reads/writes: space-separated names.
# Reads are the global loads Python would do, builtins included (print, range...): the
# kernel compares them with other cells' writes, where a builtin only shows up if a cell
# shadows it, which is then a real conflict.
CORPUS = [
    # Plain bindings, and what is not one.
    ("x = 1", "", "x", None),
    ("x = y + 1", "y", "x", None),
    ("x += 1", "x", "x", None),
    ("counts[k] += 1", "counts k", "", None),
    ("x: int", "int", "", None),
    ("x: int = 0", "int", "x", None),
    ("a, (b, *c) = t", "t", "a b c", None),
    ("first, *rest = items", "items", "first rest", None),
    ("pages[url] = fetch(url)", "pages url fetch", "", None),
    ("pages.update(more)", "pages more", "", None),
    ("obj.attr = 1", "obj", "", None),
    ("del x", "", "x", None),
    ("del x[k]", "x k", "", None),
    ("del obj.attr", "obj", "", None),
    ("part = data[lo:hi]", "data lo hi", "part", None),
    ("merged = {**a, **b}", "a b", "merged", None),
    ("list = [1]", "", "list", None),
    ("print = log", "log", "print", None),
    ("global x\nx = 1", "", "x", None),
    ("if TYPE_CHECKING:\n    import numpy as np", "TYPE_CHECKING", "np", None),
    # Comprehensions: the loop variable is the comprehension's own.
    ("[i for i in xs]", "xs", "", None),
    ("[i * j for i in xs for j in range(i)]", "xs range", "", None),
    ("[[j for j in row] for row in grid]", "grid", "", None),
    ("{k: v for k, v in d.items() if v > limit}", "d limit", "", None),
    ("total = sum(x * x for x in nums)", "sum nums", "total", None),
    ("[y := f(i) for i in xs]", "f xs", "y", None),
    (
        "if any((hit := w) == target for w in words):\n    print(hit)",
        "any target words print hit",
        "hit",
        None,
    ),
    ("i = 0\n[i for i in range(3)]\nprint(i)", "range print i", "i", None),
    ("while (line := f.readline()):\n    lines.append(line)", "f lines line", "line", None),
    # Functions: their body counts when the cell refers to them.
    ("def reset():\n    global pages\n    pages = {}\nreset()", "reset", "reset pages", None),
    ("def reset():\n    global pages\n    pages = {}", "", "reset", None),
    (
        "def work():\n    global done\n    done = True\nthreading.Thread(target=work).start()",
        "threading work",
        "work done",
        None,
    ),
    (
        "@app.route('/')\ndef index():\n    global hits\n    hits += 1",
        "app hits",
        "index hits",
        None,
    ),
    ("def drop():\n    global cache\n    del cache\ndrop()", "drop", "drop cache", None),
    ("def bump():\n    global n\n    n += 1\nbump()", "bump n", "bump n", None),
    (
        "def counter():\n    n = 0\n    def inc():\n        nonlocal n\n        n += 1\n"
        "        return n\n    return inc\nc = counter()",
        "counter",
        "counter c",
        None,
    ),
    (
        "def make(k):\n    def get():\n        return cache[k]\n    return get\ng = make(1)",
        "make cache",
        "make g",
        None,
    ),
    (
        "def helper():\n    global stats\n    stats = {}\ndef main():\n    helper()\nmain()",
        "main helper",
        "helper main stats",
        None,
    ),
    (
        "def helper():\n    return secret\ndef main():\n    return 1\nmain()",
        "main",
        "helper main",
        None,
    ),
    (
        "def even(n):\n    return n == 0 or odd(n - 1)\ndef odd(n):\n"
        "    return n != 0 and even(n - 1)\nprint(even(limit))",
        "print even limit odd",
        "even odd",
        None,
    ),
    (
        "def outer():\n    def inner():\n        global depth\n        depth = 2\n    inner()\n"
        "outer()",
        "outer",
        "outer depth",
        None,
    ),
    (
        "def total():\n    return sum(p.price for p in cart)\nprint(total())",
        "print total sum cart",
        "total",
        None,
    ),
    (
        "if fast:\n    def step():\n        global n\n        n = 1\nstep()",
        "fast step",
        "step n",
        None,
    ),
    (
        "@functools.lru_cache(maxsize=None)\ndef fib(n, memo=start):\n"
        "    return n if n < 2 else fib(n - 1) + fib(n - 2)",
        "functools start fib",
        "fib",
        None,
    ),
    ("def f(x: Foo = dflt) -> Bar:\n    pass", "Foo dflt Bar", "f", None),
    (
        "from __future__ import annotations\ndef f(x: Foo) -> Bar:\n    pass",
        "",
        "annotations f",
        None,
    ),
    ("def f():\n    return locals()\nf()", "f locals", "f", None),
    ("def f():\n    import os\n    return os.sep\nf()", "f", "f", None),
    # Lambdas, classes.
    ("key = lambda item: item[1] * weight", "weight", "key", None),
    ("fs = [lambda x, i=i: x + i + off for i in range(3)]", "range off", "fs", None),
    ("rows.sort(key=lambda r: r[col])", "rows col", "", None),
    ("(lambda: counter)()", "counter", "", None),
    (
        "class Config:\n    size = default_size\n    names = [n for n in base_names]\n"
        "    def scaled(self):\n        return self.size * factor",
        "default_size base_names",
        "Config",
        None,
    ),
    (
        "class Config:\n    size = default_size\n    def scaled(self):\n"
        "        return self.size * factor\ncfg = Config()",
        "default_size factor Config",
        "Config cfg",
        None,
    ),
    ("class K:\n    global registry\n    registry = {}", "", "K registry", None),
    (
        "class Store:\n    def reset(self):\n        global pages\n        pages = {}\n"
        "Store().reset()",
        "Store",
        "Store pages",
        None,
    ),
    (
        "@dataclass\nclass P:\n    x: int = default_x\n    def norm(self):\n        return scale",
        "dataclass int default_x",
        "P",
        None,
    ),
    # Loops, with, try, imports.
    ("for k, v in table.items():\n    out[k] = v", "table out k v", "k v", None),
    ("for i in range(3):\n    pass\nelse:\n    done = True", "range", "i done", None),
    ("with open(p) as f, lock:\n    data = f.read()", "open p lock f", "f data", None),
    ("with pair() as (a, b):\n    pass", "pair", "a b", None),
    (
        "try:\n    v = risky()\nexcept (KeyError, ValueError) as err:\n    log(err)\n"
        "finally:\n    cleanup()",
        "risky KeyError ValueError log err cleanup",
        "v err",
        None,
    ),
    ("try:\n    x = 1\nfinally:\n    y = 2", "", "x y", None),
    (
        "try:\n    pass\nexcept* OSError as eg:\n    handle(eg)",
        "OSError handle eg",
        "eg",
        None,
        (3, 11),
    ),
    ("import a.b.c", "", "a", None),
    ("import a.b as c", "", "c", None),
    ("from . import x", "", "x", None),
    ("from os.path import join as pjoin, exists", "", "pjoin exists", None),
    ("from math import *\ny = 2", "", "y", "from math import *"),
    ("from .. import *", "", "", "from .. import *"),
    ("import __main__\n__main__.x = 1", "__main__", "__main__", "import __main__"),
    # Newer syntax.
    (
        "match p:\n    case [a, *b] if c:\n        pass\n    case {'k': d, **e}:\n        pass\n"
        "    case Point(x=f) as g:\n        pass",
        "p c Point",
        "a b d e f g",
        None,
        (3, 10),
    ),
    (
        "match cmd:\n    case Color.RED:\n        hue = 0\n    case _:\n        hue = default",
        "cmd Color default",
        "hue",
        None,
        (3, 10),
    ),
    ("type Pair[T] = tuple[T, T] | Extra", "tuple Extra", "Pair", None, (3, 12)),
    ("def first[T](xs: list[T]) -> T:\n    return xs[0]", "list", "first", None, (3, 12)),
    (
        "async def fetch(u):\n    return await client.get(u)\nresult = await fetch(url)",
        "fetch client url",
        "fetch result",
        None,
    ),
    ("async for msg in stream():\n    inbox.append(msg)", "stream inbox msg", "msg", None),
    ("label = f'{name!r}: {value:{width}.2f}'", "name value width", "label", None),
    # Odds and ends.
    ("print(x)", "print x", "", None),
    ("_", "_", "", None),
    ("Out[1]", "Out", "", None),
    ("In", "In", "", None),
    ("", "", "", None),
    ("# just a note\n", "", "", None),
    ("def f(:", "", "", "syntax error"),
    ("nonlocal x", "", "", "syntax error"),
    # What defeats the analysis.
    ("exec('a = 1')", "exec", "", "exec()"),
    ("exec(code, env)", "exec code env", "", None),
    ("run = lambda s: eval(s)\nrun(x)", "run x eval", "run", "eval() in a function"),
    ("v = eval(expr)", "eval expr", "v", "eval()"),
    ("globals()['z'] = 1", "globals", "", "globals()"),
    ("print(vars())", "print vars", "", "vars()"),
    ("attrs = vars(obj)", "vars obj", "attrs", None),
    ("def f():\n    exec(src)\nf()", "f exec src", "f", "exec() in a function"),
    ("get_ipython().user_ns['q'] = 1", "get_ipython", "", "get_ipython()"),
    # IPython syntax (through IPython's own transform).
    ("%time x = f()", "f", "x", None),
    ("x = %time f()", "f", "x", None),
    ("%timeit -n1 y = 2", "", "", None),  # run inside a function of timeit's: y is local
    ("%timeit -n1 -r1 total = sum(data)", "sum data", "", None),
    ("%timeit -q -v best slow()", "slow", "best", None),
    ("%timeit -z x", "", "", "%timeit"),
    ("%%timeit -n1 setup_v = load()\nrun(setup_v)", "load run", "", None),
    ("%%time\nmodel = fit(data)\nscore = model.score()", "fit data model", "model score", None),
    ("%prun -s cumulative run(data)", "run data", "", None),
    ("%%capture out\nresult = compute()", "compute", "result out", None),
    ("%%capture --no-stderr\nprint(x)", "print x", "", None),
    ("%%capture c\n%time r = g()", "g", "c r", None),
    ("%%bash\necho $HOME > {path}", "", "", None),
    ("%%bash --out listing\nls", "", "listing", None),
    ("%%html\n<b>{x}</b>", "", "", None),
    ("%%writefile out.py\nx = 1", "", "", None),
    ("%matplotlib inline", "", "", None),
    ("%config InlineBackend.figure_format = 'retina'", "", "", None),
    ("%load_ext autoreload\n%autoreload 2", "", "", None),
    ("%aimport mymod", "", "", "%aimport"),
    ("%run script.py", "", "", "%run"),
    ("%reset -f", "", "", "%reset"),
    ("%store -r data", "", "", "%store -r"),
    ("%xdel big", "", "", "%xdel"),
    ("%mymagic arg", "", "", "%mymagic"),
    ("%%sql\nSELECT 1", "", "", "%%sql"),
    ("def f():\n    %time z = 1\nf()", "f get_ipython", "f", "get_ipython() in a function"),
    ("def f():\n    exec(src)", "", "f", None),  # defined, not run
    ("x = !ls", "", "x", None),
    ("files = %sx ls *.csv", "", "files", None),
    ("!pip install {pkg}", "", "", None),  # IPython's {expansion} reads are not counted
    ("!awk '{print $1}' data.txt", "", "", None),
    ("x = %who_ls", "", "x", None),
    ("?x", "", "", None),
    ("x??", "", "", None),
    ("%%job\npages = {}", "", "", None),
    ("%job crawl()", "", "", None),
    ("get_ipython().run_line_magic('matplotlib', 'inline')", "", "", None),
]

IPYTHON_SYNTAX = ("%", "!", "?")


def _case_id(case):
    return case[0].splitlines()[0][:40] if case[0] else "<empty>"


def _skip_reason(case):
    if len(case) > 4 and V < case[4]:
        return f"needs Python {case[4][0]}.{case[4][1]}"
    if not HAVE_IPYTHON and any(mark in case[0] for mark in IPYTHON_SYNTAX):
        return "IPython syntax needs IPython's transform"
    return None


def _compare(case):
    """(the analysis, counts of what it got wrong) for one cell."""
    cell, reads, writes, unknown = case[:4]
    got = names.analyse(cell)
    counts = {
        "fp_reads": len(got.reads - set(reads.split())),
        "fn_reads": len(set(reads.split()) - got.reads),
        "fp_writes": len(got.writes - set(writes.split())),
        "fn_writes": len(set(writes.split()) - got.writes),
        "unknown_wrong": int(got.unknown != unknown),
    }
    return got, counts


@pytest.mark.parametrize("case", CORPUS, ids=[_case_id(c) for c in CORPUS])
def test_corpus(case):
    reason = _skip_reason(case)
    if reason:
        pytest.skip(reason)
    got, counts = _compare(case)
    expected = (set(case[1].split()), set(case[2].split()), case[3])
    assert (set(got.reads), set(got.writes), got.unknown) == expected


def test_corpus_counts():
    """The corpus in figures (``-s`` prints them): no wrong answer where ``unknown``
    is None, and every expected "cannot tell" said."""
    totals = dict.fromkeys(["fp_reads", "fn_reads", "fp_writes", "fn_writes"], 0)
    run = skipped = with_unknown = wrong_cells = unknown_wrong = 0
    for case in CORPUS:
        if _skip_reason(case):
            skipped += 1
            continue
        run += 1
        got, counts = _compare(case)
        unknown_wrong += counts.pop("unknown_wrong")
        if got.unknown is not None:
            with_unknown += 1
            continue
        for key, value in counts.items():
            totals[key] += value
        wrong_cells += any(counts.values())
    summary = {
        "python": f"{V[0]}.{V[1]}",
        "cells": len(CORPUS),
        "run": run,
        "skipped": skipped,
        "answered_unknown": with_unknown,
        "wrong_unknown": unknown_wrong,
        "wrong_cells_where_known": wrong_cells,
        **totals,
    }
    print("\nname-analysis corpus:", json.dumps(summary))
    assert len(CORPUS) >= 60
    assert wrong_cells == 0 and unknown_wrong == 0, summary


# --- analyse against the compiler ---------------------------------------------------

# Standard-library modules cut into windows of a few lines: each window Python can
# compile is a cell. At module level the compiler's own bytecode says exactly which
# names it loads, stores and deletes (LOAD_NAME, STORE_NAME...); inside functions it says
# what they would do if run. So: module-level names ⊆ analysis ⊆ everything.
ORACLE_MODULES = "textwrap string csv difflib fractions statistics shlex argparse pprint calendar"
_LOADS = {"LOAD_NAME", "LOAD_GLOBAL", "LOAD_FROM_DICT_OR_GLOBALS"}
_STORES = {"STORE_NAME", "DELETE_NAME", "STORE_GLOBAL", "DELETE_GLOBAL"}
_COMPREHENSIONS = {"<listcomp>", "<setcomp>", "<dictcomp>", "<genexpr>"}


def _bytecode_names(code, module_only):
    reads, writes, stack = set(), set(), [code]
    while stack:
        co = stack.pop()
        for ins in dis.get_instructions(co):
            if ins.opname in _LOADS:
                reads.add(ins.argval)
            elif ins.opname in _STORES and (co is code or "GLOBAL" in ins.opname):
                writes.add(ins.argval)
        inner = [c for c in co.co_consts if isinstance(c, types.CodeType)]
        stack.extend(c for c in inner if not module_only or c.co_name in _COMPREHENSIONS)
    return reads, writes


def _windows():
    for module in ORACLE_MODULES.split():
        lines = Path(importlib.util.find_spec(module).origin).read_text("utf-8").splitlines()
        for start in range(0, len(lines), 7):
            yield textwrap.dedent("\n".join(lines[start : start + 1 + start % 11])) + "\n"


def _plain_names(found):  # dunders aside: the compiler's own (__doc__, __annotations__)
    return {n for n in found if not n[:2] == n[-2:] == "__"}


def _dead_code(tree):  # ``if 0:`` and the like: the compiler drops what they guard
    tests = (n.test for n in ast.walk(tree) if isinstance(n, (ast.If, ast.While, ast.IfExp)))
    return any(isinstance(t, ast.Constant) or getattr(t, "id", "") == "__debug__" for t in tests)


def test_agrees_with_the_compiler():
    checked = 0
    for cell in _windows():
        try:
            tree, code = ast.parse(cell), compile(cell, "<cell>", "exec")
        except (SyntaxError, ValueError):
            assert isinstance(names.analyse(cell, str), names.CellNames)
            continue
        got = names.analyse(cell, str)  # plain Python: no IPython transform
        if got.unknown or _dead_code(tree):
            continue
        low_reads, low_writes = map(_plain_names, _bytecode_names(code, module_only=True))
        high_reads, high_writes = map(_plain_names, _bytecode_names(code, module_only=False))
        assert low_reads <= _plain_names(got.reads) <= high_reads, cell
        assert low_writes <= _plain_names(got.writes) <= high_writes, cell
        checked += 1
    print(f"\nname analysis vs the compiler: {checked} cells agree")
    assert checked > 300


# --- analyse: what it must never do ------------------------------------------------


@pytest.mark.parametrize(
    "raw", [None, b"x = 1", 42, "\x00", "(" * 5000, "x = " + "[" * 300 + "]" * 300, "\ufeffx"]
)
def test_never_raises(raw):
    got = names.analyse(raw)
    assert isinstance(got, names.CellNames)


def test_never_raises_on_cut_cells():
    for cell, *_ in CORPUS:
        for end in range(0, len(cell), 3):
            assert isinstance(names.analyse(cell[:end]), names.CellNames)


def test_parsing_warns_nothing():
    """IPython shows a cell's SyntaxWarnings when it runs it: never again from here."""
    cell = 'import re\nm = re.match("\\d+", s)\nx = 1if y else 2\n'
    names.clear_cache()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")  # a person's filter, put first
        assert names.analyse(cell).writes == {"re", "m", "x"}
    assert seen == []


def test_too_big():
    got = names.analyse("x = 1\n" * 40_000)
    assert got.unknown == "cell too big to analyse" and not got.writes


def test_transform_is_used_and_may_fail():
    assert names.analyse("anything", lambda raw: "y = 2\n").writes == {"y"}

    def broken(raw):
        raise RuntimeError("a user's input transformer")

    assert names.analyse("x = 1", broken).unknown == "IPython could not transform the cell"

    def bad_syntax(raw):
        raise SyntaxError("no")

    assert names.analyse("x = 1", bad_syntax).unknown == "syntax error"
    assert names.analyse("z = 3", lambda raw: raw).writes == {"z"}


@pytest.mark.skipif(not HAVE_IPYTHON, reason="needs IPython's shell")
def test_one_plain_line_is_only_prefiltered_as_in_ipythons_transform(monkeypatch):
    # What the kernel passes (conflicts.py): transform.cell_source, IPython's transform
    # without its tokenizing where that gives the text back.
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.core.macro import Macro

    transform = _runtime_module("transform")
    shell = InteractiveShell.instance()
    source = functools.partial(transform.cell_source, shell)
    monkeypatch.setitem(shell.user_ns, "m", Macro("made = 1\n"))
    monkeypatch.setitem(shell.user_ns, "f", len)
    cells = ["x = f(y)", "x = f(y)\n", "df.head()", "total += 1", "ls", "ls\n\n", "pwd", "m"]
    cells += ["f 1", "a = 1\nb = a", "x = 1\x0cy = 2", "ls\r\n"]

    def whole(raw):
        return shell.transform_cell(raw)

    def both(cell):
        names.clear_cache()
        return names.analyse(cell, source), names.analyse(cell, whole)

    for autocall in (0, 1):
        monkeypatch.setattr(shell, "autocall", autocall)
        for cell in cells:
            short, full = both(cell)
            assert short == full, (cell, autocall)
    assert both("ls")[0].reads == frozenset()  # automagic: %ls, no name read
    assert both("ls\n\n")[0].reads == {"ls"}  # two lines: IPython leaves them alone

    seen = []
    manager = shell.input_transformer_manager
    own = type(manager).transform_cell

    def counted(raw):
        seen.append(raw)
        return own(manager, raw)

    monkeypatch.setattr(manager, "transform_cell", counted)
    both("x = f(y)")
    assert seen == ["x = f(y)"]  # the whole transform's call only
    seen.clear()
    names.clear_cache()
    assert names.analyse("%time x = f(y)", source).writes == {"x"}
    assert "%time x = f(y)" in seen  # IPython syntax: IPython's transform


def test_a_transform_made_already_is_taken_on_a_miss():
    def never(raw):
        raise AssertionError("transformed twice")

    names.clear_cache()
    got = names.analyse("%time y = f(x)", never, transformed="y = f(x)\n")
    assert got == names.CellNames(frozenset({"f", "x"}), frozenset({"y"}), None)
    assert names.analyse("%time y = f(x)", never) is got  # cached as the cell's own
    names.clear_cache()  # the hint was for that call only
    assert names.analyse("%time y = f(x)", never).unknown == "IPython could not transform the cell"
    assert names.analyse("z = 1", never, transformed=None).unknown  # no hint: transformed


def test_cache_hits_and_bounds():
    names.clear_cache()
    first = names.analyse("cached = 1")
    assert names.analyse("cached = 1") is first
    for i in range(300):
        names.analyse(f"v{i} = {i}")
    assert names._small.cache_info().currsize == 256
    assert names.analyse("cached = 1") is not first  # evicted, then analysed again
    big = "x = 1\n" * 3000  # big cells have a small cache of their own
    assert names.analyse(big) is names.analyse(big)
    assert names._big.cache_info().currsize == 1
    names.clear_cache()
    assert names._small.cache_info().currsize == names._big.cache_info().currsize == 0
    assert names.analyse("u = 1", transform=[].append).unknown  # unhashable: not cached


# --- expand: the notebook's own functions ---------------------------------------------


def _namespace(source):
    ns = {"__name__": "__main__"}
    exec(textwrap.dedent(source), ns)
    return ns


def _cell(reads="", writes=""):
    return names.CellNames(frozenset(reads.split()), frozenset(writes.split()), None)


def test_expand_one_level_and_transitive():
    ns = _namespace(
        """
        def get(u):
            return store[u]
        def fetch(u):
            pages[u] = get(u)
        pages, store = {}, {}
        """
    )
    job = names.analyse("for u in urls:\n    fetch(u)")
    got = names.expand(job, ns)
    assert {"urls", "fetch", "pages", "get", "store"} <= got.reads
    assert got.writes == {"u"} and got.unknown is None


def test_expand_cycles_and_global_writes():
    ns = _namespace(
        """
        def even(n):
            return n == 0 or odd(n - 1)
        def odd(n):
            return n != 0 and even(n - 1)
        def reset():
            global pages, stale
            pages = {}
            del stale
        """
    )
    got = names.expand(_cell("even"), ns)
    assert {"even", "odd"} <= got.reads and not got.writes
    got = names.expand(_cell("reset"), ns)
    assert got.writes == {"pages", "stale"}


def test_expand_classes_instances_methods_partials():
    ns = _namespace(
        """
        import functools
        class Base:
            def run(self):
                return seeds
        class Crawler(Base):
            limit = default_limit if False else 1
            @staticmethod
            def make():
                return factory
            @classmethod
            def build(cls):
                return builder
            @property
            def size(self):
                return sizes
            def step(self):
                global steps
                steps = 1
        crawler = Crawler()
        bound = crawler.step
        job = functools.partial(Crawler.make)
        """
    )
    expected = {"seeds", "factory", "builder", "sizes"}
    for name in ("Crawler", "crawler"):
        got = names.expand(_cell(name), ns)
        assert expected <= got.reads and got.writes == {"steps"}, name
    assert names.expand(_cell("bound"), ns).writes == {"steps"}
    assert "factory" in names.expand(_cell("job"), ns).reads


def test_expand_follows_wrappers():
    ns = _namespace(
        """
        import functools
        def logged(fn):
            def wrapper(*args):
                return fn(*args)
            return wrapper
        @logged
        def work():
            return inner_value
        @functools.wraps(work)
        def other():
            pass
        @functools.lru_cache()
        def cached():
            return cached_value
        """
    )
    assert "inner_value" in names.expand(_cell("work"), ns).reads
    assert "inner_value" in names.expand(_cell("other"), ns).reads  # its __wrapped__
    assert "cached_value" in names.expand(_cell("cached"), ns).reads


def test_expand_skips_what_is_not_the_notebooks():
    import json as json_module

    def elsewhere():  # this module's globals, not the notebook's
        return not_ours  # noqa: F821

    ns = {"len": len, "loads": json_module.loads, "elsewhere": elsewhere, "n": 3}
    assert names.expand(_cell("len loads elsewhere n"), ns) == _cell("len loads elsewhere n")
    assert names.expand(_cell("x"), "not a dict") == _cell("x")


def test_expand_touches_nothing():
    ns = _namespace(
        """
        touched = []
        class Proxy:
            def __getattribute__(self, name):
                touched.append(name)
                raise RuntimeError(name)
            def __getattr__(self, name):
                touched.append(name)
                raise RuntimeError(name)
        class Meta(type):
            def __getattribute__(cls, name):
                touched.append(name)
                raise RuntimeError(name)
            def __eq__(cls, other):
                touched.append("==")
                raise RuntimeError("==")
            def __hash__(cls):
                touched.append("hash")
                raise RuntimeError("hash")
        class Odd(metaclass=Meta):
            def m(self):
                return odd_value
        proxy = Proxy()
        """
    )
    got = names.expand(_cell("proxy Odd Proxy"), ns)
    assert ns["touched"] == []
    assert "odd_value" in got.reads


def test_expand_limit_and_exec():
    chain = "\n".join(f"def f{i}():\n    return f{i + 1}()" for i in range(10))
    ns = _namespace(chain + "\ndef f10():\n    return end\ndef runs():\n    exec(code)")
    full = names.expand(_cell("f0"), ns)
    assert "end" in full.reads and full.unknown is None
    cut = names.expand(_cell("f0"), ns, limit=3)
    assert cut.unknown == "too many functions to follow" and "end" not in cut.reads
    assert names.expand(_cell("runs"), ns).unknown == "exec() in runs"


# --- is_own_name ----------------------------------------------------------------------

OWN = "_ __ ___ _1 _42 _i _ii _iii _i7 _ih _oh _dh In Out get_ipython exit quit " + (
    "__builtins__ __name__ __doc__ __file__"
)
NOT_OWN = "x _x _private __mangled i_1 _i_ In2 output pages _ix"


@pytest.mark.parametrize("name", OWN.split())
def test_own_names(name):
    assert names.is_own_name(name)


@pytest.mark.parametrize("name", NOT_OWN.split())
def test_not_own_names(name):
    assert not names.is_own_name(name)


def test_hidden_names_and_odd_input():
    assert names.is_own_name("np", hidden={"np": 1})
    assert not names.is_own_name("np", hidden={})
    assert names.is_own_name(None) is False
    assert names.is_own_name(b"_") is False


def test_the_runtime_bundles_it():
    """The bootstrap builds names.py into the runtime package like any other module."""
    pytest.importorskip("ipykernel")
    from parallel_cell._bootstrap import MODULES, load_runtime

    assert MODULES.index("names") > MODULES.index("executor")
    load_runtime(register=False)
    built = sys.modules["_parallel_cell_runtime.names"]
    assert built.analyse("x = 1").writes == {"x"}


def test_partial_objects_in_namespace_are_safe():
    # A partial of a C function, and one of a notebook function with a function argument.
    ns = _namespace("def cb():\n    return callback_value\n")
    ns["p1"] = functools.partial(len)
    ns["p2"] = functools.partial(map, ns["cb"])
    assert names.expand(_cell("p1"), ns) == _cell("p1")
    assert "callback_value" in names.expand(_cell("p2"), ns).reads
