"""parallel-cell: run notebook cells in the background, inside the notebook's own kernel.

The kernel side lives in the package :mod:`parallel_cell.runtime`; the frontend sends its
source to the kernel when it first connects, so nothing of ours needs to be installed in
the kernel's environment. Installing this package (``pip install .``) ships the prebuilt
JupyterLab extension.
"""


def _read_version():
    """The one version, written in package.json. In a source tree it is read from there;
    an installed package has the copy the build wrote into _version.py."""
    import json
    from pathlib import Path

    manifest = Path(__file__).resolve().parent.parent / "package.json"
    try:
        return json.loads(manifest.read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        pass
    try:
        from ._version import __version__ as version
    except ImportError:
        version = "0+unknown"
    return version


__version__ = _read_version()


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "parallel-cell"}]


def load_ipython_extension(ipython):
    """``%load_ext parallel_cell``: load the kernel runtime the JupyterLab extension would
    send (the same code: a kernel that has it keeps it), with ``%job``, ``%%job`` and
    ``%jobs``. With no page of ours linked, a job's output goes to its cell in standard
    display messages (any frontend), or is printed in a terminal IPython."""
    from ._bootstrap import load_runtime

    load_runtime(register=True)


# The user API lives in the kernel runtime, which the frontend loads as the module
# ``_parallel_cell_runtime``; these names resolve to that module's objects (loading it
# if needed) so that ``except parallel_cell.JobKilled`` matches what a kill raises.
_RUNTIME_API = ("checkpoint", "JobKilled", "jobs", "map")


def __getattr__(name):
    if name not in _RUNTIME_API:
        raise AttributeError(f"module 'parallel_cell' has no attribute {name!r}")
    import sys

    runtime = sys.modules.get("_parallel_cell_runtime")
    if runtime is None:
        from ._bootstrap import load_runtime

        try:
            from IPython import get_ipython

            in_ipython = get_ipython() is not None
        except ImportError:
            in_ipython = False
        runtime = load_runtime(register=in_ipython)
    return getattr(runtime, name)
