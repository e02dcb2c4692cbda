"""The code the frontend runs (as a silent execute) to load the kernel runtime.

Nothing of ours is installed in the kernel's environment, so the runtime travels as
data: a JSON payload, zlib-compressed and base64-encoded, holding the {module name:
source} map of the package ``parallel_cell/runtime/``. A fixed loader (``_LOADER``, also
base64) builds the package in ``sys.modules`` as ``_parallel_cell_runtime`` and its
submodules, running the modules in ``MODULES`` order (each imports only earlier ones;
``__init__`` last). Nothing of the payload is ever pasted into Python source: the only
source executed is the fixed loader and a one-line ``exec`` whose two string literals
are base64 (no quotes, no backslashes). The bootstrap is idempotent and versioned by
identity (package version + digest of the sources): a kernel keeps a runtime of the same
identity or of a newer release. It leaves nothing in the user's namespace. This module
must stay importable without IPython: the build imports it to generate the frontend's
copy of the code.
"""

import base64
import hashlib
import json
import zlib
from pathlib import Path

PACKAGE = "_parallel_cell_runtime"
RUNTIME_DIR = Path(__file__).with_name("runtime")
# File names in tracebacks: "<parallel_cell.runtime/kernel.py>".
FILE_PREFIX = "<parallel_cell.runtime/"
# The worker side of "Run on Cluster", sent on to Dask workers and built there in this
# order: the two stdlib-only modules it shares with the kernel (also in MODULES), then
# its own two (not run in the kernel).
WORKER_MODULES = ("routing", "cellrun", "worker_hooks", "worker")
MODULES = (
    "config",
    "routing",
    "protocol",
    "threads",
    "pool",
    "children",
    "outbox",
    "figures",
    "capture",
    "cellrun",
    "transform",
    "executor",
    "names",
    "conflicts",
    "job",
    "flusher",
    "display",
    "kill",
    "runner",
    "queue",
    "records",
    "ending",
    "shipping",
    "cluster",
    "kernel",
    "api",
    "__init__",
)

_LOADER = """
import base64, json, sys, types, zlib

def _version_key(text):
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in text.replace("-", ".").split("."))

def _replaces(offered, current):
    # Identities are "<release>+<digest of the sources>". A kernel keeps its runtime for
    # the same identity or an older page's release; other sources of the same release
    # (an edited runtime) replace it.
    if current is None:
        return True
    if offered == current:
        return False
    return _version_key(current.split("+")[0]) <= _version_key(offered.split("+")[0])

def _shell():
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
    return shell

def _build(name, version, prefix, modules):
    package = types.ModuleType(name, "parallel-cell kernel runtime " + version)
    package.VERSION = version
    package.__file__ = prefix + "__init__.py>"
    package.__path__ = []
    package.__package__ = name
    sys.modules[name] = package
    for sub, source in modules.items():
        if sub == "__init__":
            module = package
        else:
            module = types.ModuleType(name + "." + sub)
            module.__file__ = prefix + sub + ".py>"
            module.__package__ = name
            sys.modules[module.__name__] = module
        exec(compile(source, module.__file__, "exec"), module.__dict__)
        if module is not package:
            setattr(package, sub, module)
    return package

def _load(payload):
    spec = json.loads(zlib.decompress(base64.b64decode(payload)).decode("utf-8"))
    name, version = spec["name"], spec["version"]
    # Sent on to Dask workers as source (see runtime/shipping.py); null: the module of
    # the same name above (routing, cellrun: shared by the kernel and the workers).
    worker_sources = {
        stem: spec["modules"][stem] if source is None else source
        for stem, source in (spec.get("worker") or {}).items()
    }
    shell = _shell() if spec["register"] else None
    current = sys.modules.get(name)
    current_version = getattr(current, "VERSION", None)
    if _replaces(version, current_version):
        ours = lambda key: key == name or key.startswith(name + ".")
        saved = {key: mod for key, mod in sys.modules.items() if ours(key)}
        for key in saved:
            del sys.modules[key]
        try:
            current = _build(name, version, spec["prefix"], spec["modules"])
            current.WORKER_SOURCES = worker_sources
        except BaseException:
            for key in [key for key in sys.modules if ours(key)]:
                del sys.modules[key]
            sys.modules.update(saved)
            raise
    if shell is not None:
        current.register(shell)
    return current

RESULT = _load(PAYLOAD)
"""


def runtime_sources() -> dict:
    """The runtime package as {module name: source}, in the order the loader runs it."""
    return {name: (RUNTIME_DIR / f"{name}.py").read_text(encoding="utf-8") for name in MODULES}


def worker_sources(sources=None) -> dict:
    """The worker side's modules: None for one the kernel's runtime also has."""
    sources = sources or runtime_sources()
    return {
        stem: None if stem in sources else (RUNTIME_DIR / f"{stem}.py").read_text("utf-8")
        for stem in WORKER_MODULES
    }


def runtime_version(sources=None, worker=None) -> str:
    """The runtime's identity: the package's version and a digest of every source it
    ships, so an edited runtime is a new one without anyone bumping a number."""
    from . import __version__

    sources = sources or runtime_sources()
    worker = worker if worker is not None else worker_sources(sources)
    digest = hashlib.sha256()
    for name, source in [*sources.items(), *sorted(worker.items())]:
        digest.update(f"{name}\0{source or ''}\0".encode())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def payload(register: bool = True) -> str:
    """The runtime as data for the loader: base64 of a zlib-compressed JSON object
    (3.7 times smaller than the JSON: it travels to every kernel the page connects to)."""
    sources = runtime_sources()
    worker = worker_sources(sources)
    spec = {
        "name": PACKAGE,
        "version": runtime_version(sources, worker),
        "prefix": FILE_PREFIX,
        "register": bool(register),
        "modules": sources,
        "worker": worker,
    }
    packed = zlib.compress(json.dumps(spec).encode("utf-8"), 9)
    return base64.b64encode(packed).decode("ascii")


def bootstrap_code() -> str:
    """Source for a silent execute_request: loads and registers the runtime.

    Everything runs inside ``exec`` with a fresh globals dict (which carries the payload
    as ``PAYLOAD``), so the user namespace is left untouched.
    """
    return (
        f'exec(__import__("base64").b64decode("{_b64(_LOADER)}").decode("utf-8"), '
        f'{{"__name__": "_parallel_cell_bootstrap", "PAYLOAD": "{payload()}"}})\n'
    )


def load_runtime(register: bool = True):
    """Load the runtime into this process (as the bootstrap does) and return it."""
    namespace = {"__name__": "_parallel_cell_bootstrap", "PAYLOAD": payload(register)}
    exec(_LOADER, namespace)
    return namespace["RESULT"]
