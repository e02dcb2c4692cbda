"""Running a cell with IPython semantics, without ``shell.run_cell``."""

import ast
import io
import linecache
import re
import sys
import threading
import tokenize
import types

from . import cellrun
from .cellrun import NO_RESULT
from .config import is_runtime_frame, log
from .transform import transform_cell


def _bound_names(target, out):
    if isinstance(target, ast.Name):
        out.append(target.id)
    elif isinstance(target, (ast.Tuple, ast.List)):
        for elt in target.elts:
            _bound_names(elt, out)
    elif isinstance(target, ast.Starred):
        _bound_names(target.value, out)


class _AssignedNames(ast.NodeVisitor):
    """Global names a module binds: module-level bindings, plus ``global`` ones."""

    def __init__(self):
        self.names = []

    def visit_Assign(self, node):
        for target in node.targets:
            _bound_names(target, self.names)
        self.generic_visit(node)

    def _visit_target(self, node):
        _bound_names(node.target, self.names)
        self.generic_visit(node)

    visit_AugAssign = visit_AnnAssign = visit_NamedExpr = _visit_target
    visit_For = visit_AsyncFor = _visit_target

    def visit_withitem(self, node):
        if node.optional_vars is not None:
            _bound_names(node.optional_vars, self.names)
        self.generic_visit(node)

    def visit_Import(self, node):
        for alias in node.names:
            self.names.append(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node):
        for alias in node.names:
            if alias.name != "*":
                self.names.append(alias.asname or alias.name)

    def _scope(self, node):
        # A nested scope binds globals only through ``global`` statements.
        if hasattr(node, "name"):
            self.names.append(node.name)
        for sub in ast.walk(node):
            if isinstance(sub, ast.Global):
                self.names.extend(sub.names)
        for deco in getattr(node, "decorator_list", ()):
            self.visit(deco)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _scope

    def _comprehension(self, node):
        # Only walrus targets inside a comprehension leak into the module scope.
        for sub in ast.walk(node):
            if isinstance(sub, ast.NamedExpr):
                _bound_names(sub.target, self.names)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension


def assigned_names(tree, source=None):
    """Names ``tree`` may bind in the global namespace, first binding first.

    Given the source, a cell without ``:=`` is read statement by statement (only a walrus
    binds from inside an expression): the same names, many times faster on big cells.
    """
    if source is not None and ":=" not in source:
        names = []
        _statement_names(tree.body, names, "global" in source)
        return list(dict.fromkeys(names))
    finder = _AssignedNames()
    finder.visit(tree)
    return list(dict.fromkeys(finder.names))


def _statement_names(stmts, out, has_global):
    for node in stmts:
        kind = type(node)
        if kind is ast.Assign:
            for target in node.targets:
                _bound_names(target, out)
        elif kind in (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor):
            _bound_names(node.target, out)
        elif kind in (ast.With, ast.AsyncWith):
            for item in node.items:
                if item.optional_vars is not None:
                    _bound_names(item.optional_vars, out)
        elif kind is ast.Import:
            out.extend(alias.asname or alias.name.split(".")[0] for alias in node.names)
        elif kind is ast.ImportFrom:
            out.extend(alias.asname or alias.name for alias in node.names if alias.name != "*")
        elif kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            out.append(node.name)
            if has_global:
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Global):
                        out.extend(sub.names)
            continue
        for field in ("body", "handlers", "orelse", "finalbody", "cases"):
            block = getattr(node, field, None)
            if not block:
                continue
            if field in ("handlers", "cases"):
                for part in block:
                    _statement_names(part.body, out, has_global)
            else:
                _statement_names(block, out, has_global)


def _ends_with_semicolon(source):
    last = None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type not in (
                tokenize.COMMENT,
                tokenize.NL,
                tokenize.NEWLINE,
                tokenize.ENDMARKER,
                tokenize.INDENT,
                tokenize.DEDENT,
            ):
                last = tok
    except (tokenize.TokenError, SyntaxError):
        return False
    return last is not None and last.type == tokenize.OP and last.string == ";"


_LINE_END = re.compile(r"\r\n|\r|\n")  # the tokenizer's line ends, and only those


def _text_after(source, node):
    """The source after ``node`` (a trailing ``;`` is there), or all of it if unknown."""
    end, col = getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)
    lines = _LINE_END.split(source)
    if end is None or col is None or not 0 < end <= len(lines):
        return source
    line = lines[end - 1]
    rest = line.encode("utf-8")[col:].decode("utf-8", "replace")  # col counts bytes
    return rest + "\n" + "\n".join(lines[end:])


class CompiledCell:
    """A cell ready to run: its statements, an optional trailing expression."""

    __slots__ = ("body", "expr", "names", "is_async", "defines_code")

    def __init__(self, body, expr, names, is_async, defines_code=None):
        self.body = body
        self.expr = expr
        self.names = names
        self.is_async = is_async
        # It defines functions or classes (code objects among its constants): they may
        # outlive the job, and their tracebacks need the cell's lines.
        if defines_code is None:
            defines_code = any(
                isinstance(const, types.CodeType)
                for code in (body, expr)
                if code is not None
                for const in code.co_consts
            )
        self.defines_code = defines_code


# Compiled cells by (transformed source, flags): running the same cell again (a loop of
# jobs, ``map``-like use) skips parsing, the name analysis and compiling.
_COMPILED = {}
_COMPILED_LOCK = threading.Lock()
_COMPILED_MAX = 128
_COMPILED_MAX_SOURCE = 1 << 20


def compile_cell(shell, raw, filename):
    """Transform and compile ``raw`` the way IPython would; raises SyntaxError."""
    source = transform_cell(shell, raw) if shell is not None else raw
    flags = getattr(getattr(shell, "compile", None), "flags", 0)
    flags |= getattr(ast, "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0)
    # AST transformers are the user's and may keep state: with any, compile every time.
    cacheable = not getattr(shell, "ast_transformers", None)
    key = (source, flags)
    hit = _COMPILED.get(key) if cacheable else None
    if hit is None:
        lines = [line + "\n" for line in source.splitlines()]
        linecache.cache[filename] = (len(source), None, lines, filename)
        cell = _compile(shell, source, filename, flags)
        if cacheable and len(source) <= _COMPILED_MAX_SOURCE:
            with _COMPILED_LOCK:
                if len(_COMPILED) >= _COMPILED_MAX:
                    del _COMPILED[next(iter(_COMPILED))]
                _COMPILED[key] = (cell, lines)
        return cell
    cell, lines = hit
    linecache.cache[filename] = (len(source), None, lines, filename)
    nested = cell.defines_code
    return CompiledCell(
        _relabel(cell.body, filename, nested),
        None if cell.expr is None else _relabel(cell.expr, filename, nested),
        cell.names,
        cell.is_async,
        nested,
    )


def _relabel(code, filename, nested=True):
    """``code`` (and the functions and classes it defines) as if compiled from ``filename``.
    ``nested`` False: the cell defines none (its constants need no look)."""
    consts = code.co_consts
    if nested and any(isinstance(c, types.CodeType) for c in consts):
        consts = tuple(
            _relabel(c, filename) if isinstance(c, types.CodeType) else c for c in consts
        )
    return code.replace(co_filename=filename, co_consts=consts)


def _compile(shell, source, filename, flags):
    tree = ast.parse(source, filename=filename)
    if shell is not None and hasattr(shell, "transform_ast"):
        tree = shell.transform_ast(tree) or tree
    names = assigned_names(tree, source)
    body = list(tree.body)
    expr = None
    if (
        body
        and isinstance(body[-1], ast.Expr)
        and not _ends_with_semicolon(_text_after(source, body[-1]))
    ):
        expr = body.pop()
    body_code = compile(ast.Module(body, []), filename, "exec", flags=flags, dont_inherit=True)
    expr_code = None
    if expr is not None:
        node = ast.Expression(expr.value)
        expr_code = compile(node, filename, "eval", flags=flags, dont_inherit=True)
    coroutine = 0x80  # inspect.CO_COROUTINE, set by top-level await
    is_async = bool(body_code.co_flags & coroutine) or bool(
        expr_code is not None and expr_code.co_flags & coroutine
    )
    return CompiledCell(body_code, expr_code, names, is_async)


def run_compiled(cell, glob, loc, on_loop=None):
    """Run a compiled cell; returns the trailing expression's value or NO_RESULT.

    The running is ``cellrun.run``'s (shared with Dask workers): a cell with top-level
    ``await`` runs in an event loop of its own (this thread's), handed to ``on_loop`` so
    that a kill can cancel its tasks.
    """
    return cellrun.run(cell.body, cell.expr, glob, loc, on_loop)


def _pyplot():
    """pyplot, if loaded: not while another thread is still importing it (a job that
    started as another's first ``import matplotlib.pyplot`` ran failed on its half-made
    module). A job that imports it itself has it whole before its code goes on."""
    plt = sys.modules.get("matplotlib.pyplot")
    return None if getattr(getattr(plt, "__spec__", None), "_initializing", False) else plt


def figure_numbers():
    """Numbers of the calling job's open pyplot figures (each job has its own, see
    ``figures.py``; None when pyplot is not loaded)."""
    plt = _pyplot()
    return None if plt is None else set(plt.get_fignums())


def show_new_figures(before):
    """Show (in the job) and close the figures a job opened, as the inline backend's
    post-execute hook would; otherwise the next foreground cell would show them."""
    plt = _pyplot()
    if plt is None or "inline" not in str(plt.get_backend()).lower():
        return
    import base64

    from IPython.core.pylabtools import print_figure
    from IPython.display import display
    from matplotlib._pylab_helpers import Gcf

    for manager in Gcf.get_all_fig_managers():
        if before is None or manager.num not in before:
            figure = manager.canvas.figure
            # Rendered here rather than through the shell's formatters: the inline
            # backend may register its PNG formatter only after the next foreground cell.
            png = print_figure(figure, "png", bbox_inches="tight")
            if png:
                bundle = {
                    "image/png": base64.b64encode(png).decode("ascii"),
                    "text/plain": repr(figure),
                }
                display(bundle, raw=True)
            plt.close(figure)


_TB_LOCK = threading.Lock()


def warm_tracebacks():
    """Fill ``inspect``'s module-by-file cache while the kernel is idle. A job's first
    traceback otherwise resolves the path of every loaded module, and while a busy
    foreground holds the GIL each of those system calls waits for it: a job's error
    took 3.3 s to be told instead of 0.04 s (measured, ipykernel 7)."""
    import inspect

    try:
        inspect.getmodule(None, "<parallel_cell>")
    except Exception:
        pass


def format_error(shell, etype, evalue, tb):
    """An nbformat-style error dict, with IPython's coloured traceback when possible."""
    while tb is not None and is_runtime_frame(tb.tb_frame):
        tb = tb.tb_next
    stb = None
    if shell is not None:
        try:
            with _TB_LOCK:  # the formatter keeps state (``tb``) for the foreground's %debug
                if issubclass(etype, SyntaxError):
                    stb = shell.SyntaxTB.structured_traceback(etype, evalue, [])
                else:
                    itb = shell.InteractiveTB
                    saved = getattr(itb, "tb", None)
                    stb = itb.structured_traceback(etype, evalue, tb, tb_offset=0)
                    itb.tb = saved
        except Exception:
            log.debug("IPython traceback formatting failed", exc_info=True)
    if stb is None:
        import traceback

        stb = traceback.format_exception(etype, evalue, tb)
    return {"ename": etype.__name__, "evalue": str(evalue), "traceback": list(stb)}


def format_result(shell, value):
    """An execute_result output for a trailing expression's value, or None."""
    if value is NO_RESULT or value is None:
        return None
    data, metadata = shell.display_formatter.format(value)
    if not data:
        return None
    try:
        from ipykernel.jsonutil import encode_images, json_clean

        data, metadata = json_clean(encode_images(data)), json_clean(metadata)
    except ImportError:
        pass
    return {
        "output_type": "execute_result",
        "data": data,
        "metadata": metadata,
        "execution_count": None,
    }
