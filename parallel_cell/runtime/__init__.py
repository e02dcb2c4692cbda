"""parallel-cell kernel runtime: runs notebook cells in background threads of the kernel.

This package is sent to the kernel as data (a {module name: source} map, see
``parallel_cell/_bootstrap.py``) and built there as the package
``_parallel_cell_runtime``, so it may only use the standard library and what every
IPython kernel has (IPython, ipykernel, comm). Modules, each importing only earlier ones
(the bootstrap runs them in this order, this one last):

- config: tunables, the logger, which frames are the runtime's own
- protocol: decoding client messages, building kernel messages (docs/protocol.md)
- threads: which job a thread works for; interruptible sleeps and waits, children
- pool: job threads reused for the next job (a killed one is retired), and the
  foreground past the runtime while no thread works for a job
- children: child processes a job starts: their output is the job's
- outbox: the one thread every comm message leaves from
- routing: where stdout/stderr writes go, whatever the foreground does to the streams
  (standard library only: Dask workers build it too)
- capture: the runtime's routing installed, and the display hook per job thread
- figures: pyplot's figures per job (a job's current figure is its own)
- cellrun: running a compiled cell (its statements, its trailing expression, top-level
  await in a loop of its own; standard library only: Dask workers build it too)
- transform: IPython's static transform of a cell, cached by its text
- executor: compiling a cell with IPython semantics, without run_cell, and running it
  (through cellrun); formatting its result and errors
- names: which global names a cell reads and which it rebinds
- conflicts: telling when a cell about to run rebinds names a live job uses
- job: one ``Job`` per background run, with its output buffer and replay log
- flusher: batched, paced sending of outputs
- display: a job's output in its cell through display messages when no page is linked
  (VS Code, Colab, JupyterLab without the extension), or printed in a terminal
- kill: kill escalation and the reasons a kill is not taken
- runner: a thread job's own thread (its cell run, its outcome)
- queue: the kernel's line of jobs: the cap, arrival order, chains (``after``)
- records: what is kept of ended jobs (replay logs within budget, forgetting them),
  and which jobs are superseded
- ending: how a job ends (``finished``), and threads it started that outlive its code
- shipping: what a cluster job sends to Dask (the checked cell, its pickled globals,
  the functions run on workers and the scheduler)
- cluster: jobs on a Dask cluster (their worker side, ``worker_hooks.py`` and
  ``worker.py``, is not run here: it travels to the workers as source, with routing
  and cellrun)
- kernel: the comm endpoint, the registry, running jobs
- api: ``jobs``, ``map``, ``%job`` / ``%%job``
"""

from . import children as _children
from . import kernel as _kernel
from .api import JobManager, MapResult, jobs, map, register_magics
from .capture import install_streams
from .config import Config, log
from .executor import _ends_with_semicolon, assigned_names, compile_cell, warm_tracebacks
from .job import Job
from .kernel import Runtime
from .protocol import COMM_TARGET, PROTOCOL, VERSION, ProtocolError, decode_client_msg
from .threads import JobKilled, checkpoint, install_input_guard, install_patches

__all__ = [
    "COMM_TARGET",
    "PROTOCOL",
    "VERSION",
    "Config",
    "Job",
    "JobKilled",
    "JobManager",
    "MapResult",
    "ProtocolError",
    "Runtime",
    "_ends_with_semicolon",
    "assigned_names",
    "checkpoint",
    "compile_cell",
    "decode_client_msg",
    "jobs",
    "map",
    "register",
]


def __getattr__(name):
    # The registered runtime changes on registration; read it where it lives.
    if name == "_RUNTIME":
        return _kernel._RUNTIME
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register(shell):
    """Make this runtime the kernel's parallel-cell endpoint; idempotent."""
    runtime = _kernel._RUNTIME
    if runtime is None or runtime.shell is not shell:
        runtime = _kernel._RUNTIME = Runtime(shell)
    install_patches()
    _children.install()
    install_streams()
    install_input_guard(shell)
    kernel = getattr(shell, "kernel", None)
    if kernel is not None:  # a terminal IPython has no kernel: no page can link
        manager = getattr(kernel, "comm_manager", None)
        if manager is None:
            import comm

            manager = comm.get_comm_manager()
        manager.register_target(COMM_TARGET, runtime.on_comm_open)
    _watch_foreground(shell, runtime)
    runtime.ensure_flusher()
    warm_tracebacks()
    try:
        register_magics(shell)
    except Exception:
        log.exception("parallel-cell: could not register the %job magics")
    return runtime


# Where the shell keeps the callback it calls before each cell (one runtime's at a time).
_PRE_RUN_CELL = "_parallel_cell_pre_run_cell"


def _watch_foreground(shell, runtime):
    """A cell run in the foreground supersedes its background jobs: register for
    IPython's ``pre_run_cell`` once, replacing an older runtime's callback."""
    events = getattr(shell, "events", None)
    if events is None:
        return
    old = getattr(shell, _PRE_RUN_CELL, None)
    if old is not None:
        try:
            events.unregister("pre_run_cell", old)
        except ValueError:
            pass
    callback = runtime.on_pre_run_cell
    events.register("pre_run_cell", callback)
    setattr(shell, _PRE_RUN_CELL, callback)
