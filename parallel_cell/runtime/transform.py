"""IPython's ``transform_cell`` for a job, its static part cached by the cell's text.

``shell.transform_cell`` is two steps. The static one (``%magic``, ``!cmd``, ``%%cell``,
prompts, ``a = !ls``) is a pure function of the text while the transformers are
IPython's own, so it is cached by text (a user's own transformer may keep state: with
one, nothing is cached). The dynamic one, for a one-line cell only (automagic, autocall,
macros), reads the namespace and the shell's settings: it runs every time, as does every
``input_transformers_post`` function.
"""

import re
import threading
from typing import NamedTuple

# Text IPython's static transforms change: escapes at a line's start, x = !cmd, help?,
# prompts; and line breaks other than "\n", where its line transforms also see a start.
_IPYTHON_SYNTAX = re.compile(r"\n[ \t]*[%!?,;/]|=[ \t]*[%!]|\?[ \t]*\n|\n(>>>|\.\.\.|In \[)")
_OTHER_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_LOCK = threading.Lock()
_MAX = 128  # cells
_MAX_CHARS = 64 * 1024  # a longer cell's static transform is not kept
_cache = {}  # raw cell -> its static transform
_cached_for = [None]  # the transformers the cache holds results of: (cleanup, line, token)
_ipython = []  # (InteractiveShell.transform_cell, TransformerManager.transform_cell)
_prefilter = []  # [_Prefilter], made on first use (IPython is imported then)


class _Prefilter(NamedTuple):
    """IPython's own prefilter parts, which ``_prefiltered`` checks a shell's against."""

    manager: type  # PrefilterManager
    normal: type  # the handler of a line no checker claims
    checkers: frozenset  # IPython's checker classes
    line_split: re.Pattern  # splits a line into its parts
    specials: tuple  # (Macro, IPyAutocall): a name bound to one changes the line


def _originals():
    if not _ipython:
        from IPython.core.inputtransformer2 import TransformerManager
        from IPython.core.interactiveshell import InteractiveShell

        _ipython[:] = [InteractiveShell.transform_cell, TransformerManager.transform_cell]
    return _ipython


def _prefilter_parts():
    if not _prefilter:
        from IPython.core import prefilter as p
        from IPython.core.autocall import IPyAutocall
        from IPython.core.macro import Macro
        from IPython.core.splitinput import line_split

        checkers = (p.EmacsChecker, p.MacroChecker, p.IPyAutocallChecker, p.AssignmentChecker)
        checkers += (p.AutoMagicChecker, p.PythonOpsChecker, p.AutocallChecker)
        parts = (p.PrefilterManager, p.PrefilterHandler, frozenset(checkers), line_split)
        _prefilter[:] = [_Prefilter(*parts, specials=(Macro, IPyAutocall))]
    return _prefilter[0]


def _prefiltered(shell, cell):
    """``shell.prefilter_manager.prefilter_lines(cell)`` for a one-line cell.

    Measured (P2): prefiltering is ~15 µs of a trivial job, most of it IPython's checkers
    reading their settings. With IPython's own prefilter, no line transformer and autocall
    off, only a macro, an IPyAutocall or a magic named by the line's first word (or an
    Emacs mark) changes the line: without one, the line is what IPython would return."""
    line = cell.rstrip("\n")
    own = _prefilter_parts()
    mgr = shell.prefilter_manager
    if (
        type(mgr) is own.manager
        and not mgr.transformers
        and not shell.autocall
        and type(mgr.get_handler_by_name("normal")) is own.normal
        and own.checkers.issuperset(map(type, mgr.checkers))
        and not line.endswith("# PYTHON-MODE")
    ):
        found = own.line_split.match(line)
        ifun = found.group(3).strip() if found else None
        if ifun is not None and not (
            isinstance(shell.user_ns.get(ifun), own.specials)
            or (ifun and shell.automagic and shell.find_magic(ifun))
        ):
            shell._last_input_line = line  # as prefilter_line leaves it
            return line
    with shell.builtin_trap:
        return mgr.prefilter_lines(cell)


def _transformers(mgr):
    return tuple(mgr.cleanup_transforms), tuple(mgr.line_transforms), tuple(mgr.token_transformers)


def _own(mgr, by=None):
    """Whether the static transformers are all IPython's own."""
    by = _transformers(mgr) if by is None else by
    return all(getattr(t, "__module__", "").startswith("IPython.") for t in sum(by, ()))


def _static(mgr, raw):
    by = _transformers(mgr)
    if by != _cached_for[0]:
        own = _own(mgr, by)
        with _LOCK:
            _cache.clear()
            _cached_for[0] = by if own else None
    cell = _cache.get(raw) if _cached_for[0] is not None else None
    if cell is None:
        cell = mgr.transform_cell(raw)
        if _cached_for[0] == by and len(raw) <= _MAX_CHARS:
            with _LOCK:
                if len(_cache) >= _MAX:
                    del _cache[next(iter(_cache))]
                _cache[raw] = cell
    return cell


def _ipythons(shell):
    """The shell's input transformer manager if its ``transform_cell`` is IPython's own
    (and the manager's); else None."""
    shell_transform, manager_transform = _originals()
    mgr = getattr(shell, "input_transformer_manager", None)
    own = type(shell).transform_cell is shell_transform
    return mgr if own and type(mgr).transform_cell is manager_transform else None


def transform_cell(shell, raw):
    """What ``shell.transform_cell(raw)`` returns."""
    mgr = _ipythons(shell)
    if mgr is None:
        return shell.transform_cell(raw)  # not IPython's own: as it is
    cell = _static(mgr, raw)
    # The rest of InteractiveShell.transform_cell, as it is there (IPython 7 to 9).
    if len(cell.splitlines()) == 1:
        cell = _prefiltered(shell, cell) + "\n"
    lines = cell.splitlines(keepends=True)
    for transform in shell.input_transformers_post:
        lines = transform(lines)
    return "".join(lines)


def cell_source(shell, raw):
    """What ``shell.transform_cell(raw)`` returns, for reading a cell's names (names.py),
    without IPython's tokenizing where its static transforms give the text back: no
    IPython syntax, IPython's own transforms only, nothing after them. Several such lines
    are as they are; one goes through the prefilter only (automagic ``ls``, autocall, a
    macro), as there. Measured: 58 µs of transform for ``x = f(y)``, ~10 for the prefilter.
    Not cached: the analysis is."""
    mgr = _ipythons(shell)
    if (
        mgr is None
        or raw[:1].isspace()
        or _IPYTHON_SYNTAX.search(f"\n{raw}\n")
        or _OTHER_BREAKS.search(raw)
        or shell.input_transformers_post
        or not _own(mgr)
    ):
        return shell.transform_cell(raw)
    line = raw if raw.endswith("\n") else raw + "\n"
    if line.count("\n") > 1:  # blank lines count, as there
        return line
    return _prefiltered(shell, line) + "\n"  # as transform_cell does after the static step
