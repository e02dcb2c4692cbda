"""IPython's ``transform_cell`` for a job, its static part cached by the cell's text.

``shell.transform_cell`` is two steps. The static one (``%magic``, ``!cmd``, ``%%cell``,
prompts, ``a = !ls``) is a pure function of the text while the transformers are
IPython's own, so it is cached by text (a user's own transformer may keep state: with
one, nothing is cached). The dynamic one, for a one-line cell only (automagic, autocall,
macros), reads the namespace and the shell's settings: it runs every time, as does every
``input_transformers_post`` function.
"""

import threading

_LOCK = threading.Lock()
_MAX = 128  # cells
_MAX_CHARS = 64 * 1024  # a longer cell's static transform is not kept
_cache = {}  # raw cell -> its static transform
_cached_for = [None]  # the transformers the cache holds results of: (cleanup, line, token)
_ipython = []  # (InteractiveShell.transform_cell, TransformerManager.transform_cell)


def _originals():
    if not _ipython:
        from IPython.core.inputtransformer2 import TransformerManager
        from IPython.core.interactiveshell import InteractiveShell

        _ipython[:] = [InteractiveShell.transform_cell, TransformerManager.transform_cell]
    return _ipython


def _static(mgr, raw):
    by = (tuple(mgr.cleanup_transforms), tuple(mgr.line_transforms), tuple(mgr.token_transformers))
    if by != _cached_for[0]:
        own = all(getattr(t, "__module__", "").startswith("IPython.") for t in sum(by, ()))
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


def transform_cell(shell, raw):
    """What ``shell.transform_cell(raw)`` returns."""
    shell_transform, manager_transform = _originals()
    mgr = getattr(shell, "input_transformer_manager", None)
    if (
        type(shell).transform_cell is not shell_transform
        or type(mgr).transform_cell is not manager_transform
    ):
        return shell.transform_cell(raw)  # not IPython's own: as it is
    cell = _static(mgr, raw)
    # The rest of InteractiveShell.transform_cell, as it is there (IPython 7 to 9).
    if len(cell.splitlines()) == 1:
        with shell.builtin_trap:
            cell = shell.prefilter_manager.prefilter_lines(cell) + "\n"
    lines = cell.splitlines(keepends=True)
    for transform in shell.input_transformers_post:
        lines = transform(lines)
    return "".join(lines)
