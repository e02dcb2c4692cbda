"""What a cluster job sends to Dask: the cell, checked (no magics), the globals it reads
(pickled, a value that cannot be is named), and the functions that run on the workers
and the scheduler, which travel by value (nothing of parallel-cell is installed there).
"""

import ast
import re
import sys

from .executor import compile_cell
from .threads import JobKilled, checkpoint

# IPython's own names in the user namespace: never shipped to a worker.
_IPYTHON_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "_", "__", "___"}
_IPYTHON_NAME_RE = re.compile(r"_i{1,3}\d*\Z|_\d+\Z|_[iod]h\Z|_sh\Z")
_STAND_IN = "__parallel_cell_stand_in__"
_MAGIC_CALLS = {
    "run_line_magic": "%{}",
    "run_cell_magic": "%%{}",
    "system": "!{}",
    "getoutput": "!!{}",
}


class ClusterError(Exception):
    """A job cannot be sent to the cluster (no Dask, unreachable scheduler, ...)."""


def refused_magic(tree):
    """The first magic (or ``get_ipython()`` use) in a transformed cell, or None."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "get_ipython":
                return "get_ipython()"
            continue
        owner = node.func.value
        if isinstance(owner, ast.Call) and getattr(owner.func, "id", None) == "get_ipython":
            form = _MAGIC_CALLS.get(node.func.attr)
            first = node.args[0] if node.args else None
            name = first.value if isinstance(first, ast.Constant) else ""
            if form is None or not isinstance(name, str):
                return "get_ipython()"
            return form.format(name if form[0] == "%" else "cmd")
    return None


def read_names(tree):
    """Global names a cell may read (loads anywhere, and augmented assignments)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def shipped_name(name):
    return not (name in _IPYTHON_NAMES or name.startswith("__") or _IPYTHON_NAME_RE.match(name))


def _stand_ins():
    """The runtime's own objects a cell may use, by identity: they travel as markers
    and become the worker's ``parallel_cell`` stand-ins there."""
    found = {}
    for name in ("parallel_cell", "_parallel_cell_runtime"):
        module = sys.modules.get(name)
        if module is not None:
            found[id(module)] = "module"
    found[id(checkpoint)] = "checkpoint"
    found[id(JobKilled)] = "JobKilled"
    return found


def from_worker(value):
    """A value back from a worker, with parallel-cell's markers made this runtime's."""
    if isinstance(value, tuple) and len(value) == 2 and value[0] == _STAND_IN:
        if value[1] == "checkpoint":
            return checkpoint
        if value[1] == "JobKilled":
            return JobKilled
        if value[1] == "module":
            return sys.modules.get("parallel_cell") or sys.modules[__name__.rpartition(".")[0]]
        if value[1] in ("display", "clear_output"):
            from IPython.core import display_functions

            return getattr(display_functions, value[1])
    return value


def cell_spec(shell, code, label):
    """What the worker needs of a cell (transformed as IPython would, checked).

    Raises SyntaxError, or ClusterError for a magic that needs the kernel.
    """
    source = shell.transform_cell(code) if shell is not None else code
    cell = compile_cell(None, source, label)
    tree = ast.parse(source)
    magic = refused_magic(tree)
    if magic is not None:
        raise ClusterError(
            f"{magic} needs the kernel and cannot run on a Dask worker; run this "
            "cell in the background (a thread of this kernel) instead"
        )
    return {
        "kind": "cell",
        "code": source,
        "has_result": cell.expr is not None,
        "names": list(cell.names),
        "reads": read_names(tree),
    }


def call_spec(fn, items):
    """What the worker needs of a chunk of ``map``: the function and its items."""
    return {"kind": "call", "names": [], "values": {"fn": fn, "items": list(items)}}


def pickle_namespace(values, rebound=()):
    """``values`` (a {name: object} dict) as cloudpickle bytes, runtime objects replaced.

    Raises ClusterError naming the first value that cannot be pickled. A name the cell
    binds itself (``rebound``) is left out instead: the cell makes its own.
    """
    import cloudpickle

    marks = _stand_ins()
    shipped = {
        name: (_STAND_IN, marks[id(value)]) if id(value) in marks else value
        for name, value in values.items()
    }
    try:
        return cloudpickle.dumps(shipped)
    except Exception:
        pass
    for name in sorted(shipped):
        try:
            cloudpickle.dumps(shipped[name])
        except Exception as err:
            if name in rebound:
                del shipped[name]
                continue
            kind = type(values[name]).__name__
            raise ClusterError(
                f"cannot send {name!r} (a {kind}) to the cluster: {type(err).__name__}: "
                f"{err}. Create it inside the cell, or run the cell in the background "
                "(a thread of this kernel) instead."
            ) from None
    return cloudpickle.dumps(shipped)


def _by_value(source, name):
    """Function ``name`` defined by ``source`` in a module nobody can import, so that
    cloudpickle sends it by value to workers and the scheduler (where nothing of
    parallel-cell is installed); it may use nothing but builtins and imports."""
    namespace = {"__name__": "_parallel_cell_entry"}
    exec(source, namespace)
    return namespace[name]


def _worker_entry():
    """The task function: builds the worker modules from their sources once per worker
    process and version, in order (``routing.py``, ``cellrun.py``, ``worker_hooks.py``,
    ``worker.py`` as ``_parallel_cell_worker_routing``, ``_parallel_cell_worker_cellrun``,
    ``_parallel_cell_worker_hooks``, ``_parallel_cell_worker``), then runs the job."""
    return _by_value(
        "def entry(sources, version, spec):\n"
        "    import sys, types\n"
        "    module = sys.modules.get('_parallel_cell_worker')\n"
        "    if getattr(module, 'SOURCE_VERSION', None) != version:\n"
        "        for stem, source in sources:\n"
        "            name = stem if stem.startswith('worker') else 'worker_' + stem\n"
        "            module = types.ModuleType('_parallel_cell_' + name)\n"
        "            module.__file__ = '<parallel_cell.runtime/' + stem + '.py>'\n"
        "            sys.modules[module.__name__] = module\n"
        "            exec(compile(source, module.__file__, 'exec'), module.__dict__)\n"
        "        module.SOURCE_VERSION = version\n"
        "    return module.run(spec)\n",
        "entry",
    )


ENTRY = _worker_entry()


# The scheduler keeps the last 1,000 events of every topic for good (up to ~60 MB for a
# job that printed a lot); a job's topic is emptied when it ends. Dask has no public
# call for it: best effort, through the scheduler's event broker.
FORGET_EVENTS = _by_value(
    "def forget(topic, dask_scheduler=None):\n    dask_scheduler._broker.truncate(topic)\n",
    "forget",
)


_WORKER = []  # [(sources, version)], computed on the first cluster job


def worker_code():
    """The worker side as ``entry`` takes it: [(module stem, source)] in the order the
    bootstrap gives them (``WORKER_MODULES``: the modules shared with the kernel first,
    ``worker`` last), and the runtime's identity, which names those sources. They do not
    change while this runtime is loaded: computed once."""
    if not _WORKER:
        package = sys.modules[__name__.rpartition(".")[0]]
        sources = list(package.WORKER_SOURCES.items())  # set by the bootstrap's loader
        # The runtime's identity digests the worker's sources too.
        _WORKER.append((sources, package.VERSION))
    return _WORKER[0]


def plain_error(ename, evalue):
    """An error without a traceback worth showing (the message says it all)."""
    return {"ename": ename, "evalue": evalue, "traceback": [f"{ename}: {evalue}"]}
