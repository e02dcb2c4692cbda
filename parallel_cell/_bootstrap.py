"""The code the frontend runs (as a silent execute) to load the kernel runtime.

Nothing of ours is installed in the kernel's environment, so the runtime travels as
data: ``runtime.py``'s text, base64-encoded, is executed into a fresh module object
registered as ``sys.modules["_parallel_cell_runtime"]``. The bootstrap is idempotent and
versioned: a runtime of the same or a newer version already loaded is kept. It leaves
nothing in the user's namespace. This module must stay importable without IPython: the
build imports it to generate the frontend's copy of the code.
"""

import base64
import re
from pathlib import Path

MODULE_NAME = "_parallel_cell_runtime"
RUNTIME_FILENAME = "<parallel_cell.runtime>"

_LOADER = """
import base64, sys, types

def _version_key(text):
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in text.replace("-", ".").split("."))

def _load(name, version, source, register):
    shell = None
    if register:
        try:
            from IPython import get_ipython
        except ImportError:
            get_ipython = lambda: None
        shell = get_ipython()
        if shell is None:
            raise RuntimeError(
                "parallel-cell needs an IPython kernel (ipykernel): this kernel has no "
                "running IPython shell, so background cells cannot run here."
            )
    current = sys.modules.get(name)
    current_version = getattr(current, "VERSION", None)
    if current_version is None or _version_key(current_version) < _version_key(version):
        module = types.ModuleType(name, "parallel-cell kernel runtime " + version)
        module.__file__ = FILENAME
        sys.modules[name] = module
        try:
            exec(compile(base64.b64decode(source).decode("utf-8"), FILENAME, "exec"),
                 module.__dict__)
        except BaseException:
            if current is None:
                del sys.modules[name]
            else:
                sys.modules[name] = current
            raise
        current = module
    if register:
        current.register(shell)
    return current

RESULT = _load(NAME, VERSION, SOURCE, REGISTER)
"""


def runtime_source() -> str:
    return (Path(__file__).with_name("runtime.py")).read_text(encoding="utf-8")


def runtime_version(source: str) -> str:
    match = re.search(r'^VERSION = "([^"]+)"$', source, re.M)
    if match is None:
        raise ValueError("runtime.py has no VERSION")
    return match.group(1)


def _runtime_b64(source: str) -> str:
    return base64.b64encode(source.encode("utf-8")).decode("ascii")


def loader_source(register: bool = True, embed_source: bool = True) -> str:
    """The loader's Python source; the runtime goes in as base64 data (``SOURCE``)."""
    source = runtime_source()
    header = (
        f"NAME = {MODULE_NAME!r}\n"
        f"VERSION = {runtime_version(source)!r}\n"
        f"FILENAME = {RUNTIME_FILENAME!r}\n"
        f"REGISTER = {bool(register)!r}\n"
    )
    if embed_source:
        header += f"SOURCE = {_runtime_b64(source)!r}\n"
    return header + _LOADER


def bootstrap_code() -> str:
    """Source for a silent execute_request: loads and registers the runtime.

    Everything runs inside ``exec`` with a fresh globals dict (which also carries the
    runtime's base64 text as ``SOURCE``), so the user namespace is left untouched.
    """
    loader = base64.b64encode(loader_source(embed_source=False).encode("utf-8")).decode("ascii")
    runtime = _runtime_b64(runtime_source())
    return (
        f'exec(__import__("base64").b64decode("{loader}").decode("utf-8"), '
        f'{{"__name__": "_parallel_cell_bootstrap", "SOURCE": "{runtime}"}})\n'
    )


def load_runtime(register: bool = True):
    """Load the runtime into this process (as the bootstrap does) and return it."""
    namespace = {"__name__": "_parallel_cell_bootstrap"}
    exec(loader_source(register), namespace)
    return namespace["RESULT"]
