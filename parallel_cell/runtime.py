"""parallel-cell kernel runtime: runs notebook cells in background threads of the kernel.

This module is sent to the kernel as text (see ``_bootstrap.py``) and executed there as
the module ``_parallel_cell_runtime``, so it may only use the standard library and what
every IPython kernel has (IPython, ipykernel, comm). Layout:

- protocol: decoding client messages, building kernel messages (docs/protocol.md)
- patches: stdout/stderr routing, interruptible sleeps and waits, child processes
- executor: compiling and running a cell with IPython semantics, without run_cell
- jobs: one ``Job`` per background run, with its output buffer and replay log
- runtime: the comm endpoint, the registry, the output flusher and kill escalation
- user API: ``checkpoint``, ``jobs``, ``map``, ``%job`` / ``%%job``
"""

import ast
import asyncio
import ctypes
import io
import itertools
import json
import linecache
import logging
import platform
import re
import socket
import subprocess
import sys
import threading
import time
import tokenize
import weakref
from collections import deque

VERSION = "0.1.0"
PROTOCOL = 1
COMM_TARGET = "parallel_cell.v1"
MODULE_NAME = "_parallel_cell_runtime"


class Config:
    """Tunables; change them with ``jobs.configure(...)``."""

    batch_seconds = 0.05  # how long outputs wait to be batched into one message
    batch_bytes = 64 * 1024  # a batch this big is sent at once
    max_messages_per_second = 400  # all jobs together; jupyter_server drops >1000/s
    pending_limit_bytes = 8 * 1024 * 1024  # a job printing faster than we send waits
    log_limit_outputs = 5000  # per job, for replay
    log_limit_bytes = 4 * 1024 * 1024  # per job, for replay
    logged_jobs = 100  # finished jobs whose logs are kept; older ones keep a marker
    kill_grace_seconds = 0.5  # a kill not taken this long is examined for a reason
    interruptible_sleep = True  # sleeps and waits in job threads end at once on a kill


_log = logging.getLogger("parallel_cell")
_THIS_FILE = sys._getframe().f_code.co_filename
_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}\Z")
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class JobKilled(BaseException):
    """Raised inside a background job's thread when the job is killed."""

    def __init__(self, *args):
        super().__init__(*args)
        # Counting deliveries tells the reaper whether its async raises land at all.
        job = _current_job()
        if job is not None:
            job.kills_delivered += 1


def _now_ms():
    return time.time() * 1000.0


# ----------------------------------------------------------------------------------
# protocol


class ProtocolError(Exception):
    """A client message that cannot be handled; answered with an ``error`` message."""

    def __init__(self, message, job_id=None):
        super().__init__(message)
        self.message = message
        self.job_id = job_id


_CLIENT_FIELDS = {
    "submit": (("job_id", "id"), ("cell_id", "str?"), ("notebook", "str?"), ("code", "str")),
    "kill": (("job_id", "id"),),
    "list": (),
    "replay": (("job_id", "id"), ("since", "seq")),
    "configure": (
        ("log_limit", "count"),
        ("kill_grace_ms", "seq"),
        ("interruptible_sleep", "bool"),
    ),
}


_SHAPE_NAMES = {
    "id": "an id of 1-64 characters [A-Za-z0-9_.:-]",
    "str": "a string",
    "str?": "a string or null",
    "seq": "an integer >= 0",
    "count": "an integer >= 1",
    "bool": "true or false",
}


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def decode_client_msg(data):
    """Validate a client message (a comm message's data); raise ProtocolError."""
    if not isinstance(data, dict):
        raise ProtocolError(f"a message must be a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError('a message needs a string field "type"')
    if kind not in _CLIENT_FIELDS:
        raise ProtocolError(f"unknown message type: {json.dumps(kind)}")
    job_id = data.get("job_id") if isinstance(data.get("job_id"), str) else None
    msg = {"type": kind}
    for field, shape in _CLIENT_FIELDS[kind]:
        if field not in data:
            raise ProtocolError(f'{kind}: missing field "{field}"', job_id)
        value = data[field]
        ok = {
            "id": isinstance(value, str) and _ID_RE.match(value) is not None,
            "str": isinstance(value, str),
            "str?": value is None or isinstance(value, str),
            "seq": _is_int(value) and value >= 0,
            "count": _is_int(value) and value >= 1,
            "bool": isinstance(value, bool),
        }[shape]
        if not ok:
            want = _SHAPE_NAMES[shape]
            raise ProtocolError(f'{kind}: field "{field}" must be {want}', job_id)
        msg[field] = value
    return msg


def msg_hello(ipykernel_version, implementation):
    return {
        "type": "hello",
        "protocol": PROTOCOL,
        "runtime": VERSION,
        "python": platform.python_version(),
        "ipykernel": ipykernel_version,
        "implementation": implementation,
    }


def msg_started(job):
    return {
        "type": "started",
        "job_id": job.job_id,
        "num": job.num,
        "cell_id": job.cell_id,
        "notebook": job.notebook,
        "started_at": job.started_at,
        "origin": job.origin,
    }


def msg_output(job_id, seq, outputs):
    return {"type": "output", "job_id": job_id, "seq": seq, "outputs": outputs}


def msg_cancelling(job_id, reason):
    return {"type": "cancelling", "job_id": job_id, "reason": reason}


def msg_finished(job):
    return {
        "type": "finished",
        "job_id": job.job_id,
        "state": job.state,
        "ended_at": job.ended_at,
        "error": job.error,
        "assigned": list(job.assigned),
    }


def msg_jobs(jobs):
    return {"type": "jobs", "jobs": [job.info() for job in jobs]}


def msg_error(message, job_id=None):
    return {"type": "error", "message": message, "job_id": job_id}


# ----------------------------------------------------------------------------------
# patches: installed once per process; each replaced callable remembers the original
# under ``_parallel_cell_original`` so a newer runtime version re-patches cleanly.

_THREAD_JOBS = {}  # thread ident -> Job, for threads running job code


def _current_job():
    """The live job whose code runs on this thread (or a thread it started), if any."""
    job = _THREAD_JOBS.get(threading.get_ident())
    # Threads a job started and left running stay interruptible once it was killed.
    return None if job is None or (job.closed and not job.cancel.is_set()) else job


def _original(fn):
    return getattr(fn, "_parallel_cell_original", fn)


_orig_sleep = _original(time.sleep)
_orig_cond_wait = _original(threading.Condition.wait)
_orig_popen_init = _original(subprocess.Popen.__init__)
_orig_socket_init = _original(socket.socket.__init__)
_orig_thread_start = _original(threading.Thread.start)
_orig_thread_join = _original(threading.Thread.join)
_orig_thread_bootstrap = _original(getattr(threading.Thread, "_bootstrap_inner", None))
_WAIT_SLICE = 0.05


def checkpoint():
    """Raise JobKilled if the calling background job has been asked to stop."""
    job = _current_job()
    if job is not None and job.cancel.is_set():
        raise JobKilled(f"job {job.num} was killed")


def _interruptible_job():
    """The calling thread's job when its sleeps and waits are to end on a kill."""
    return _current_job() if Config.interruptible_sleep else None


def _sleep(secs):
    job = _interruptible_job()
    if job is None:
        return _orig_sleep(secs)
    return job.sleep(secs)


def _cond_wait(self, timeout=None):
    job = _interruptible_job()
    if job is None:
        return _orig_cond_wait(self, timeout)
    # Waits in a job thread are sliced so that a kill is noticed within a slice.
    checkpoint()
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
    while True:
        left = _WAIT_SLICE if deadline is None else min(_WAIT_SLICE, deadline - time.monotonic())
        if _orig_cond_wait(self, max(0.0, left)):
            return True
        checkpoint()
        if deadline is not None and time.monotonic() >= deadline:
            return False


def _thread_join(self, timeout=None):
    job = _interruptible_job()
    if job is None:
        return _orig_thread_join(self, timeout)
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
    while True:
        checkpoint()
        left = _WAIT_SLICE if deadline is None else min(_WAIT_SLICE, deadline - time.monotonic())
        _orig_thread_join(self, max(0.0, left))
        if not self.is_alive() or (deadline is not None and time.monotonic() >= deadline):
            return None


def _track(job, refs, obj):
    """Remember ``obj`` weakly; drop dead entries so a busy job's list stays small."""
    with job.lock:
        if len(refs) >= 256:
            refs[:] = [r for r in refs if r() is not None]
        refs.append(weakref.ref(obj))


def _popen_init(self, *args, **kwargs):
    _orig_popen_init(self, *args, **kwargs)
    job = _current_job()
    if job is not None:
        _track(job, job.children, self)


def _socket_init(self, *args, **kwargs):
    _orig_socket_init(self, *args, **kwargs)
    job = _current_job()
    if job is not None:
        _track(job, job.sockets, self)


def _thread_start(self):
    # Threads a job starts (a ThreadPoolExecutor's workers, say) belong to that job:
    # their output goes to it and their sleeps and waits end when it is killed.
    if "_parallel_cell_job" not in self.__dict__:
        self._parallel_cell_job = _current_job()
    return _orig_thread_start(self)


def _thread_bootstrap(self):
    job = self.__dict__.get("_parallel_cell_job")
    if job is None or job.closed:
        return _orig_thread_bootstrap(self)
    ident = threading.get_ident()
    _THREAD_JOBS[ident] = job
    hook = _display_hook(job)
    display_pub = getattr(job.runtime.shell, "display_pub", None)
    if hasattr(display_pub, "register_hook"):
        display_pub.register_hook(hook)
    try:
        return _orig_thread_bootstrap(self)
    finally:
        if _THREAD_JOBS.get(ident) is job:
            del _THREAD_JOBS[ident]


def _internal_thread(target, name, *args):
    """A thread of the runtime itself: never counted as part of a job."""
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    thread._parallel_cell_job = None
    return thread


def _no_input_in_jobs(original):
    def ask(*args, **kwargs):
        if _current_job() is not None:
            try:
                from IPython.core.error import StdinNotImplementedError as error
            except ImportError:
                error = RuntimeError
            raise error(
                "input() is not available in a background job: it has no cell to ask in. "
                "Ask in the foreground and pass the answer to the job."
            )
        return original(*args, **kwargs)

    ask._parallel_cell_original = original
    ask._parallel_cell_owner = _no_input_in_jobs  # this module's, not an older runtime's
    ask.__doc__ = original.__doc__
    return ask


def _guarded(fn):
    if getattr(fn, "_parallel_cell_owner", None) is _no_input_in_jobs:
        return fn
    return _no_input_in_jobs(_original(fn))


def _install_input_guard(shell):
    """input()/getpass() in a job would ask in whatever cell runs in the foreground."""
    import builtins

    builtins.input = _guarded(builtins.input)
    kernel = getattr(shell, "kernel", None)
    # raw_input/getpass stand in for input() during an execute; _sys_raw_input is the
    # input() that ipykernel puts back afterwards (the bootstrap itself is an execute).
    for name in ("raw_input", "getpass", "_sys_raw_input"):
        method = getattr(kernel, name, None)
        if callable(method):
            setattr(kernel, name, _guarded(method))


def _install_patches():
    patches = [
        (time, "sleep", _sleep, _orig_sleep),
        (threading.Condition, "wait", _cond_wait, _orig_cond_wait),
        (subprocess.Popen, "__init__", _popen_init, _orig_popen_init),
        (socket.socket, "__init__", _socket_init, _orig_socket_init),
        (threading.Thread, "start", _thread_start, _orig_thread_start),
        (threading.Thread, "join", _thread_join, _orig_thread_join),
    ]
    if _orig_thread_bootstrap is not None:
        patches.append(
            (threading.Thread, "_bootstrap_inner", _thread_bootstrap, _orig_thread_bootstrap)
        )
    for owner, name, fn, orig in patches:
        fn._parallel_cell_original = orig
        fn.__doc__ = orig.__doc__
        setattr(owner, name, fn)


_TEE_ACTIVE = threading.local()


class _JobStream:
    """Stands in for sys.stdout/sys.stderr: job threads' writes go to their job."""

    _parallel_cell_proxy = True

    def __init__(self, name, target):
        self.__dict__["_pc_name"] = name
        self.__dict__["_pc_target"] = target

    def write(self, text):
        job = _THREAD_JOBS.get(threading.get_ident())
        if job is not None and not job.closed:
            if not isinstance(text, str):
                raise TypeError(f"write() argument must be str, not {type(text).__name__}")
            if job.emit_stream(self._pc_name, text):
                return len(text)
        tee = self.__dict__.get("_pc_tee")
        if tee is not None and not getattr(_TEE_ACTIVE, "on", False):
            _TEE_ACTIVE.on = True
            try:
                return tee(text)
            finally:
                _TEE_ACTIVE.on = False
        return self._pc_target.write(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        if _current_job() is None:
            return self._pc_target.flush()
        return None

    def __getattr__(self, name):
        return getattr(self._pc_target, name)

    def __setattr__(self, name, value):
        if name == "write":
            # IPython 9 tees ``write`` during run_cell (``stream.write = tee`` and back):
            # keep our routing in front, so job output never enters the foreground's tee.
            own = value == _JobStream.write.__get__(self)
            self.__dict__["_pc_tee"] = None if own else value
            return
        setattr(self._pc_target, name, value)


def _install_streams():
    for name in ("stdout", "stderr"):
        current = getattr(sys, name)
        if isinstance(current, _JobStream):
            continue
        if getattr(type(current), "_parallel_cell_proxy", False):  # an older runtime's
            current = current._pc_target
        setattr(sys, name, _JobStream(name, current))


def _display_hook(job):
    """A display_pub hook (thread-local in ipykernel) routing displays to ``job``."""

    def hook(msg):
        kind = msg.get("header", {}).get("msg_type")
        content = msg.get("content", {})
        if kind in ("display_data", "update_display_data"):
            out = {
                "output_type": kind,
                "data": content.get("data", {}),
                "metadata": content.get("metadata", {}),
            }
            if content.get("transient"):
                out["transient"] = content["transient"]
        elif kind == "clear_output":
            out = {"output_type": "clear_output", "wait": bool(content.get("wait"))}
        else:
            return msg
        return None if job.emit(out) else msg

    return hook


# ----------------------------------------------------------------------------------
# executor


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

    def visit_AugAssign(self, node):
        _bound_names(node.target, self.names)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        _bound_names(node.target, self.names)
        self.generic_visit(node)

    def visit_NamedExpr(self, node):
        _bound_names(node.target, self.names)
        self.generic_visit(node)

    def visit_For(self, node):
        _bound_names(node.target, self.names)
        self.generic_visit(node)

    visit_AsyncFor = visit_For

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


def assigned_names(tree):
    """Names ``tree`` may bind in the global namespace, first binding first."""
    finder = _AssignedNames()
    finder.visit(tree)
    return list(dict.fromkeys(finder.names))


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


class CompiledCell:
    """A cell ready to run: its statements, an optional trailing expression."""

    def __init__(self, body, expr, names, is_async):
        self.body = body
        self.expr = expr
        self.names = names
        self.is_async = is_async


def compile_cell(shell, raw, filename):
    """Transform and compile ``raw`` the way IPython would; raises SyntaxError."""
    source = shell.transform_cell(raw) if shell is not None else raw
    linecache.cache[filename] = (
        len(source),
        None,
        [line + "\n" for line in source.splitlines()],
        filename,
    )
    tree = ast.parse(source, filename=filename)
    if shell is not None and hasattr(shell, "transform_ast"):
        tree = shell.transform_ast(tree) or tree
    names = assigned_names(tree)
    body = list(tree.body)
    expr = None
    if body and isinstance(body[-1], ast.Expr) and not _ends_with_semicolon(source):
        expr = body.pop()
    flags = getattr(getattr(shell, "compile", None), "flags", 0)
    flags |= getattr(ast, "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0)
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


_NO_RESULT = object()


def run_compiled(cell, glob, loc, on_loop=None):
    """Run a compiled cell; returns the trailing expression's value or _NO_RESULT.

    A cell with top-level ``await`` runs in an event loop of its own (this thread's),
    handed to ``on_loop`` so that a kill can cancel its tasks.
    """
    if not cell.is_async:
        exec(cell.body, glob, loc)
        return _NO_RESULT if cell.expr is None else eval(cell.expr, glob, loc)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    if on_loop is not None:
        on_loop(loop)
    try:

        async def main():
            coro = eval(cell.body, glob, loc)
            if coro is not None:
                await coro
            if cell.expr is None:
                return _NO_RESULT
            value = eval(cell.expr, glob, loc)
            if cell.expr.co_flags & 0x80:
                value = await value
            return value

        return loop.run_until_complete(main())
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def _cancel_tasks(loop):
    for task in asyncio.all_tasks(loop):
        task.cancel()


def _figure_numbers():
    """Numbers of the open matplotlib figures (None when pyplot is not loaded)."""
    plt = sys.modules.get("matplotlib.pyplot")
    return None if plt is None else set(plt.get_fignums())


def _show_new_figures(before):
    """Show (in the job) and close the figures a job opened, as the inline backend's
    post-execute hook would; otherwise the next foreground cell would show them."""
    plt = sys.modules.get("matplotlib.pyplot")
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


def format_error(shell, etype, evalue, tb):
    """An nbformat-style error dict, with IPython's coloured traceback when possible."""
    while tb is not None and tb.tb_frame.f_code.co_filename == _THIS_FILE:
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
            _log.debug("IPython traceback formatting failed", exc_info=True)
    if stb is None:
        import traceback

        stb = traceback.format_exception(etype, evalue, tb)
    return {"ename": etype.__name__, "evalue": str(evalue), "traceback": list(stb)}


def format_result(shell, value):
    """An execute_result output for a trailing expression's value, or None."""
    if value is _NO_RESULT or value is None:
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


# ----------------------------------------------------------------------------------
# jobs

_TERMINAL = ("done", "error", "killed")


def _output_size(out):
    if out.get("output_type") == "stream":
        return len(out["text"])
    return sum(len(str(v)) for v in out.get("data", {}).values()) + 64


class Job:
    """One background run: state, thread, cancel event, output buffer and log."""

    def __init__(self, runtime, job_id, num, cell_id, notebook, origin, label):
        self.runtime = runtime
        self.job_id = job_id
        self.num = num
        self.cell_id = cell_id
        self.notebook = notebook
        self.origin = origin
        self.label = label
        self.state = "running"
        self.started_at = _now_ms()
        self.ended_at = None
        self.error = None
        self.assigned = []
        self.result = _NO_RESULT
        self.thread = None
        self.ident = None
        self.loop = None  # the event loop of a cell with top-level await
        self.in_user_code = False
        self.closed = False  # set when the job takes no more output
        self.kills_delivered = 0
        self.cancel = threading.Event()
        self.children = []  # weakrefs to the Popen objects it started
        self.sockets = []  # weakrefs to the sockets it opened
        self.lock = threading.Lock()  # state, pending outputs, in_user_code
        self.send_lock = threading.Lock()  # seq assignment + sending stay in order
        self.done_event = threading.Event()
        self._wake = threading.Lock()  # held while running; released to end sleeps
        self._wake.acquire()
        self._pending = []  # [stream name or None, list of text parts or an output]
        self._pending_bytes = 0
        self.next_seq = 0
        self._log = deque()  # (seq, output, size)
        self._log_bytes = 0
        self._dropped = 0

    # -- output, called from the job's threads -------------------------------------
    def emit_stream(self, name, text):
        """Queue stream text; False if the job has ended and takes no more."""
        if not text:
            return True
        with self.lock:
            if self.closed:  # a thread it started, printing after it ended
                return False
            pending = self._pending
            if pending and pending[-1][0] == name:
                pending[-1][1].append(text)
            else:
                pending.append([name, [text]])
            self._after_emit(len(text))
        self._backpressure()
        return True

    def emit(self, output):
        """Queue a (non-stream) output; False if the job has ended and takes no more."""
        with self.lock:
            if self.closed:
                return False
            self._pending.append([None, output])
            self._after_emit(_output_size(output))
        self._backpressure()
        return True

    def _after_emit(self, size):
        before = self._pending_bytes
        self._pending_bytes += size
        if before == 0:
            self.runtime.mark_dirty(self, urgent=self._pending_bytes >= Config.batch_bytes)
        elif before < Config.batch_bytes <= self._pending_bytes:
            self.runtime.mark_dirty(self, urgent=True)

    def _backpressure(self):
        while self._pending_bytes > Config.pending_limit_bytes and not self.cancel.is_set():
            _orig_sleep(0.005)

    def take_pending(self):
        """Under ``lock``: the pending outputs as nbformat dicts, coalesced."""
        outputs = []
        piece = Config.batch_bytes
        for name, item in self._pending:
            if name is None:
                outputs.append(item)
                continue
            text = "".join(item)
            # Huge text goes as several stream outputs (the frontend joins them again),
            # so that no message grows without bound.
            for start in range(0, len(text), piece):
                chunk = text[start : start + piece]
                outputs.append({"output_type": "stream", "name": name, "text": chunk})
        self._pending = []
        self._pending_bytes = 0
        return outputs

    def log_outputs(self, seq, outputs):
        """Under ``lock``: keep outputs for replay, within the configured limits."""
        for i, out in enumerate(outputs):
            size = _output_size(out)
            self._log.append((seq + i, out, size))
            self._log_bytes += size
        self.enforce_log_limit()

    def enforce_log_limit(self):
        """Under ``lock``: trim the log to the configured limits, marking what went."""
        limit_n, limit_bytes = Config.log_limit_outputs, Config.log_limit_bytes
        if len(self._log) > limit_n or self._log_bytes > limit_bytes:
            self._trim_log(limit_n, limit_bytes, f"limit: {limit_n} outputs / {limit_bytes} bytes")

    def drop_log(self, why):
        """Under ``lock``: forget every logged output, leaving only the marker."""
        if self._log and not (len(self._log) == 1 and self._log[0][1].get("_pc_marker")):
            self._trim_log(0, 0, why)

    def _trim_log(self, limit_n, limit_bytes, why):
        dropped_to = None
        if self._log and self._log[0][1].get("_pc_marker"):
            dropped_to, _, size = self._log.popleft()
            self._log_bytes -= size
        # Room for the marker itself, which counts toward the limits.
        while self._log and (len(self._log) + 1 > limit_n or self._log_bytes + 200 > limit_bytes):
            dropped_to, _, size = self._log.popleft()
            self._log_bytes -= size
            self._dropped += 1
        if dropped_to is None:
            return
        # The marker takes the last dropped seq, so a replay stays consecutive.
        text = (
            f"[parallel-cell: {self._dropped} earlier output(s) of job {self.num} were "
            f"dropped from the kernel's replay log ({why})]\n"
        )
        marker = {"output_type": "stream", "name": "stderr", "text": text, "_pc_marker": True}
        self._log.appendleft((dropped_to, marker, len(text)))
        self._log_bytes += len(text)

    def logged_since(self, since):
        """Under ``lock``: (seq, output) pairs with seq >= since."""
        out = []
        for seq, item, _ in self._log:
            if seq >= since:
                clean = {k: v for k, v in item.items() if k != "_pc_marker"}
                out.append((seq, clean))
        return out

    # -- control ------------------------------------------------------------------
    def sleep(self, secs):
        """time.sleep inside a job thread: ends early, with JobKilled, on kill."""
        secs = float(secs)
        if secs < 0:
            raise ValueError("sleep length must be non-negative")
        checkpoint()
        if self._wake.acquire(timeout=min(secs, threading.TIMEOUT_MAX)):
            self._wake.release()  # let any other sleeper of this job wake too
            checkpoint()

    def request_cancel(self):
        self.cancel.set()
        try:
            self._wake.release()
        except RuntimeError:
            pass

    def shut_sockets(self):
        """Shut the job's sockets down: a recv/accept blocked in C returns at once."""
        for ref in list(self.sockets):
            sock = ref()
            if sock is None or sock.fileno() < 0:
                continue
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def terminate_children(self, hard=False):
        for ref in list(self.children):
            proc = ref()
            if proc is None or proc.poll() is not None:
                continue
            try:
                proc.kill() if hard else proc.terminate()
            except OSError:
                pass

    def info(self):
        return {
            "job_id": self.job_id,
            "num": self.num,
            "cell_id": self.cell_id,
            "notebook": self.notebook,
            "state": self.state,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "next_seq": self.next_seq,
            "error": self.error,
            "assigned": list(self.assigned),
            "origin": self.origin,
        }


# ----------------------------------------------------------------------------------
# runtime


def _async_raise(ident):
    return ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(JobKilled)
    )


def _clear_async_exc(ident):
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), None)


def _stuck_reason(frame):
    # The innermost frame of the user's code (a runtime wrapper such as ``_sleep`` may
    # be the one actually waiting) says best where the job is stuck.
    while frame.f_back is not None and frame.f_code.co_filename == _THIS_FILE:
        frame = frame.f_back
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    where = line if line else f"{frame.f_code.co_name} at line {frame.f_lineno}"
    if len(where) > 80:
        where = where[:77] + "..."
    return f"the thread is inside a native call ({where}); it will stop when that call returns"


class Runtime:
    """The kernel side of parallel-cell: comms, the job registry, flushing, kills."""

    def __init__(self, shell):
        self.shell = shell
        self.lock = threading.Lock()  # jobs, comms, numbering
        self.jobs = {}  # job_id -> Job
        self._used_ids = set()  # job ids stay unique for the kernel's life, even flushed
        self.comms = {}  # comm_id -> comm
        self._nums = itertools.count(1)
        self._flush_cv = threading.Condition(threading.Lock())
        self._dirty = {}  # job -> None, ordered
        self._urgent = False
        self._dirty_since = 0.0
        self._flusher = None

    # -- comms --------------------------------------------------------------------
    def on_comm_open(self, comm, open_msg):
        data = (open_msg.get("content") or {}).get("data")
        version = data.get("protocol") if isinstance(data, dict) else None
        if version != PROTOCOL:
            # An incompatible frontend: say so, then close, so it never gets messages
            # it cannot read.
            self._send(
                comm, msg_error(f"unsupported protocol {version!r}; this kernel speaks {PROTOCOL}")
            )
            try:
                comm.close()
            except Exception:
                _log.exception("parallel-cell: closing an incompatible comm failed")
            return
        with self.lock:
            self.comms[comm.comm_id] = comm
        comm.on_msg(self._on_comm_msg)
        comm.on_close(self._on_comm_close)
        try:
            import ipykernel

            ipk_version = ipykernel.__version__
        except ImportError:
            ipk_version = ""
        impl = getattr(getattr(self.shell, "kernel", None), "implementation", "ipython")
        self._send(comm, msg_hello(ipk_version, impl))

    def _on_comm_close(self, msg):
        comm_id = (msg.get("content") or {}).get("comm_id")
        with self.lock:
            self.comms.pop(comm_id, None)

    def _on_comm_msg(self, msg):
        content = msg.get("content") or {}
        with self.lock:
            comm = self.comms.get(content.get("comm_id"))
        if comm is None:
            return
        try:
            request = decode_client_msg(content.get("data"))
            getattr(self, "_handle_" + request["type"])(comm, request)
        except ProtocolError as err:
            self._send(comm, msg_error(err.message, err.job_id))
        except Exception as err:  # never let a handler's failure reach the kernel
            _log.exception("parallel-cell: handler failed")
            self._send(comm, msg_error(f"internal error: {type(err).__name__}: {err}"))

    def _send(self, comm, msg):
        try:
            comm.send(data=msg)
        except Exception:
            _log.exception("parallel-cell: comm.send failed")

    def broadcast(self, msg):
        with self.lock:
            comms = list(self.comms.values())
        for comm in comms:
            self._send(comm, msg)

    # -- handlers (never block) ---------------------------------------------------
    def _handle_submit(self, comm, req):
        self.start_job(req["code"], "frontend", req["cell_id"], req["notebook"], req["job_id"])

    def _handle_kill(self, comm, req):
        with self.lock:
            job = self.jobs.get(req["job_id"])
        if job is None:
            raise ProtocolError(f"unknown job: {req['job_id']}", req["job_id"])
        # A kill that lost the race with the job's end is a no-op: ``finished`` said it.
        self.kill(job)

    def _handle_list(self, comm, req):
        with self.lock:
            jobs = sorted(self.jobs.values(), key=lambda j: j.num)
        self._send(comm, msg_jobs(jobs))

    def _handle_replay(self, comm, req):
        with self.lock:
            job = self.jobs.get(req["job_id"])
        if job is None:
            raise ProtocolError(f"unknown job: {req['job_id']}", req["job_id"])
        with job.send_lock:  # nothing new is sent for this job until the replay is out
            with job.lock:
                items = job.logged_since(req["since"])
            batch, size = [], 0
            for seq, out in items:
                if batch and (size > Config.batch_bytes or seq != batch[0][0] + len(batch)):
                    self._send(comm, msg_output(job.job_id, batch[0][0], [o for _, o in batch]))
                    batch, size = [], 0
                batch.append((seq, out))
                size += _output_size(out)
            if batch:
                self._send(comm, msg_output(job.job_id, batch[0][0], [o for _, o in batch]))

    def _handle_configure(self, comm, req):
        Config.log_limit_outputs = req["log_limit"]
        Config.kill_grace_seconds = req["kill_grace_ms"] / 1000.0
        Config.interruptible_sleep = req["interruptible_sleep"]
        # A lower limit holds for the logs already kept, not only for later outputs.
        with self.lock:
            jobs = list(self.jobs.values())
        for job in jobs:
            with job.lock:
                job.enforce_log_limit()

    # -- jobs ---------------------------------------------------------------------
    def start_job(self, code, origin, cell_id=None, notebook=None, job_id=None, func=None):
        """Start ``code`` (a cell's source) or ``func`` (a callable) as a background job."""
        _install_streams()
        _install_input_guard(self.shell)
        self.ensure_flusher()
        with self.lock:
            if job_id is not None and job_id in self._used_ids:
                raise ProtocolError(f"a job with id {job_id} already exists", job_id)
            num = next(self._nums)
            if job_id is None:
                job_id = f"k{num}"
                while job_id in self._used_ids:
                    job_id += "_"
            self._used_ids.add(job_id)
            label = f"<background job {num}>"
            job = Job(self, job_id, num, cell_id, notebook, origin, label)
            self.jobs[job_id] = job
        if func is None:
            try:
                cell = compile_cell(self.shell, code, label)
            except BaseException as err:  # SyntaxError, or a failing input transformer
                job.state = "error"
                job.error = format_error(self.shell, type(err), err, err.__traceback__)
                # As on iopub, the error is also an output of the cell.
                job.emit({"output_type": "error", **job.error})
                self._flush_job(job)
                job.ended_at = _now_ms()
                job.done_event.set()
                self.broadcast(msg_finished(job))
                return job
            body = (self._run_cell, cell)
        else:
            body = (func, None)
        job.thread = _internal_thread(self._run_job, f"parallel-cell job {num}", job, body)
        self.broadcast(msg_started(job))
        job.thread.start()
        return job

    def _run_cell(self, job, cell):
        shell = self.shell
        glob = shell.user_global_ns if shell is not None else {}
        loc = shell.user_ns if shell is not None else glob
        figures = _figure_numbers()
        try:
            value = run_compiled(cell, glob, loc, lambda loop: setattr(job, "loop", loop))
            out = format_result(shell, value) if shell is not None else None
            if out is not None:
                job.emit(out)
        finally:
            _show_new_figures(figures)
        return value

    def _run_job(self, job, body):
        job.ident = threading.get_ident()
        _THREAD_JOBS[job.ident] = job
        hook = _display_hook(job)
        display_pub = getattr(self.shell, "display_pub", None)
        if hasattr(display_pub, "register_hook"):
            display_pub.register_hook(hook)
        outcome = None  # (state, error, result)
        fn, arg = body
        before = {}
        if arg is not None and self.shell is not None:
            ns = self.shell.user_ns
            before = {n: id(ns[n]) for n in arg.names if n in ns}
        while True:
            try:
                if outcome is None:
                    with job.lock:
                        job.in_user_code = True
                    outcome = self._execute(job, fn, arg)
                with job.lock:  # the reaper raises only while in_user_code holds
                    job.in_user_code = False
                _clear_async_exc(job.ident)
                break
            except JobKilled:
                if outcome is None:
                    outcome = ("killed", None, _NO_RESULT)
        if hasattr(display_pub, "unregister_hook"):
            display_pub.unregister_hook(hook)
        _THREAD_JOBS.pop(job.ident, None)
        if outcome[0] == "error" and outcome[1] is not None:
            # As on iopub, the error is also an output of the cell (and of its replay log).
            job.emit({"output_type": "error", **outcome[1]})
        with job.lock:
            job.closed = True
        state, error, result = outcome
        names = []
        if arg is not None:
            ns = self.shell.user_ns if self.shell is not None else {}
            # A cell that did not finish may not have reached its assignments.
            names = [
                n for n in arg.names if n in ns and (state == "done" or id(ns[n]) != before.get(n))
            ]
        self._flush_job(job)
        with job.send_lock:
            with job.lock:
                job.state, job.error, job.result = state, error, result
                job.assigned = names
                job.ended_at = _now_ms()
            self.broadcast(msg_finished(job))
        job.done_event.set()
        self._retire_logs()

    def _retire_logs(self):
        """Keep the replay logs of only the most recent ``Config.logged_jobs`` ended jobs."""
        with self.lock:
            ended = sorted(
                (j for j in self.jobs.values() if j.state in _TERMINAL), key=lambda j: j.num
            )
        why = f"the kernel keeps the logs of the last {Config.logged_jobs} finished jobs"
        for job in ended[: max(0, len(ended) - Config.logged_jobs)]:
            with job.lock:
                job.drop_log(why)

    def _execute(self, job, fn, arg):
        try:
            if job.cancel.is_set():
                raise JobKilled()
            if arg is not None:
                result = fn(job, arg)
            else:
                result = fn()
            return ("done", None, result)
        except JobKilled:
            return ("killed", None, _NO_RESULT)
        except BaseException as err:
            if job.cancel.is_set():  # e.g. the CancelledError of a killed event loop
                return ("killed", None, _NO_RESULT)
            error = format_error(self.shell, type(err), err, err.__traceback__)
            return ("error", error, _NO_RESULT)

    # -- output flushing ----------------------------------------------------------
    def ensure_flusher(self):
        """Start the output flusher (from the registering thread, never a job's)."""
        with self._flush_cv:
            if self._flusher is None or not self._flusher.is_alive():
                self._flusher = _internal_thread(self._flush_loop, "parallel-cell flusher")
                self._flusher.start()

    def mark_dirty(self, job, urgent=False):
        with self._flush_cv:
            if not self._dirty:
                self._dirty_since = time.monotonic()
            self._dirty[job] = None
            self._urgent = self._urgent or urgent
            self._flush_cv.notify()

    def _flush_loop(self):
        while True:
            with self._flush_cv:
                while not self._dirty:
                    self._flush_cv.wait()
                deadline = self._dirty_since + Config.batch_seconds
                while not self._urgent and time.monotonic() < deadline:
                    self._flush_cv.wait(deadline - time.monotonic())
                jobs = list(self._dirty)
                self._dirty.clear()
                self._urgent = False
            started, sent = time.monotonic(), 0
            for job in jobs:
                try:
                    sent += self._flush_job(job)
                except Exception:
                    _log.exception("parallel-cell: flushing job output failed")
            # Pace messages so all jobs together stay under the server's rate limit.
            pause = sent / Config.max_messages_per_second - (time.monotonic() - started)
            if pause > 0:
                _orig_sleep(pause)

    def _flush_job(self, job):
        """Send the job's pending outputs; returns how many messages that took."""
        with job.send_lock:
            with job.lock:
                outputs = job.take_pending()
                if not outputs:
                    return 0
                seq = job.next_seq
                job.next_seq += len(outputs)
                job.log_outputs(seq, outputs)
            # At most about batch_bytes per message (a single bigger output goes alone).
            sent, batch, size = 0, [], 0
            for out in outputs:
                out_size = _output_size(out)
                if batch and size + out_size > Config.batch_bytes:
                    self.broadcast(msg_output(job.job_id, seq, batch))
                    seq, sent, batch, size = seq + len(batch), sent + 1, [], 0
                batch.append(out)
                size += out_size
            self.broadcast(msg_output(job.job_id, seq, batch))
            return sent + 1

    # -- kill ---------------------------------------------------------------------
    def kill(self, job):
        """Start killing ``job``; False if it has already ended."""
        with job.lock:
            if job.state in _TERMINAL:
                return False
            first = job.state != "cancelling"
            job.state = "cancelling"
        job.request_cancel()
        with job.lock:  # raise before ending its children, whose end lets the job go on
            if job.in_user_code and job.ident is not None:
                _async_raise(job.ident)
        job.terminate_children(hard=not first)  # a second kill does not ask twice
        job.shut_sockets()
        loop = job.loop
        if loop is not None and not loop.is_closed():
            try:  # wakes a loop blocked in its selector (await asyncio.sleep(...))
                loop.call_soon_threadsafe(_cancel_tasks, loop)
            except RuntimeError:
                pass
        if first:
            self.broadcast(msg_cancelling(job.job_id, None))
            _internal_thread(self._reap, f"parallel-cell kill {job.num}", job).start()
        return True

    def _reap(self, job):
        """Raise JobKilled into the job's thread until it leaves the user's code."""
        interval, waited, reported = 0.02, 0.0, False
        undelivered, delivered = 0.0, job.kills_delivered
        while True:
            with job.lock:
                if not job.in_user_code or job.ident is None:
                    break
                _async_raise(job.ident)
            job.done_event.wait(interval)
            if job.done_event.is_set():
                return
            waited += interval
            interval = min(interval * 2, 0.1)
            job.terminate_children(hard=waited > 2.0)
            if job.kills_delivered == delivered:
                undelivered += interval
            delivered = job.kills_delivered
            if reported:
                continue
            reason = None
            if undelivered >= Config.kill_grace_seconds:
                frame = sys._current_frames().get(job.ident)
                if frame is not None:
                    reason = _stuck_reason(frame)
                del frame
            elif delivered >= 3 and waited >= Config.kill_grace_seconds:
                reason = (
                    "the job's code keeps catching the kill (a bare except: or "
                    "except BaseException:?); still trying"
                )
            if reason is not None:
                reported = True
                self.broadcast(msg_cancelling(job.job_id, reason))


# ----------------------------------------------------------------------------------
# user API: the spirit of IPython's BackgroundJobManager, without its faults


def _runtime():
    if _RUNTIME is None:
        raise RuntimeError("parallel-cell is not registered with an IPython kernel")
    return _RUNTIME


def _foreground_cell_id():
    """The cell id JupyterLab puts in an execute_request's metadata, if any."""
    shell = _RUNTIME.shell if _RUNTIME is not None else None
    parent = getattr(shell, "parent_header", None) or {}
    cell_id = (parent.get("metadata") or {}).get("cellId")
    return cell_id if isinstance(cell_id, str) else None


class _Text(str):
    """Text that shows as itself (not as a quoted string) when it ends a cell."""

    def __repr__(self):
        return str(self)

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


class JobManager:
    """``jobs``: start, inspect and kill background jobs from code.

    Numbers are never reused (``flush()`` only forgets finished jobs), ``traceback(n)``
    returns text, and a killed job is reported ``killed``, never left ``running``.
    """

    def new(self, code_or_func, *args, **kwargs):
        """Start a job: a cell's source (any statements) or a callable with arguments."""
        rt = _runtime()
        if isinstance(code_or_func, str):
            job = rt.start_job(code_or_func, "kernel", _foreground_cell_id())
        elif callable(code_or_func):
            job = rt.start_job(
                None, "kernel", _foreground_cell_id(), func=lambda: code_or_func(*args, **kwargs)
            )
        else:
            raise TypeError("jobs.new() takes a string of code or a callable")
        return job.num

    def _get(self, n):
        rt = _runtime()
        with rt.lock:
            for job in rt.jobs.values():
                if job.num == n or job.job_id == n:
                    return job
        raise KeyError(f"no job {n!r}")

    def __getitem__(self, n):
        return self._get(n)

    def status(self):
        """A table of every job: number, state, elapsed time, origin, names it bound."""
        rt = _runtime()
        with rt.lock:
            jobs = sorted(rt.jobs.values(), key=lambda j: j.num)
        lines = [f"{'#':>4}  {'state':<10} {'time':>8}  origin    assigned"]
        for job in jobs:
            end = job.ended_at if job.ended_at is not None else _now_ms()
            secs = (end - job.started_at) / 1000.0
            names = ", ".join(job.assigned)
            lines.append(f"{job.num:>4}  {job.state:<10} {secs:>7.1f}s  {job.origin:<8}  {names}")
        return _Text("\n".join(lines))

    def state(self, n):
        return self._get(n).state

    def wait(self, n, timeout=None):
        """Wait for job ``n`` to end; returns its state."""
        job = self._get(n)
        job.done_event.wait(timeout)
        return job.state

    def result(self, n):
        """The value of the job's last expression (or its function's return value)."""
        job = self._get(n)
        if job.state == "done":
            return None if job.result is _NO_RESULT else job.result
        if job.state == "error":
            err = job.error or {}
            raise RuntimeError(
                f"job {job.num} failed: {err.get('ename')}: {err.get('evalue')} "
                f"(see jobs.traceback({job.num}))"
            )
        raise RuntimeError(f"job {job.num} has no result: it is {job.state}")

    def traceback(self, n):
        """The job's traceback as plain text, or None if it did not fail."""
        job = self._get(n)
        if job.error is None:
            return None
        return _Text(_ANSI_RE.sub("", "\n".join(job.error["traceback"])))

    def kill(self, n):
        """Kill job ``n``; returns its state right after asking (often ``cancelling``)."""
        job = self._get(n)
        _runtime().kill(job)
        return job.state

    def flush(self):
        """Forget finished jobs (their numbers are not reused); returns how many."""
        rt = _runtime()
        with rt.lock:
            ended = [j for j in rt.jobs.values() if j.state in _TERMINAL]
            for job in ended:
                del rt.jobs[job.job_id]
        return len(ended)

    def configure(self, **settings):
        """Change tunables of ``Config`` (e.g. ``log_limit_outputs=100``)."""
        for key, value in settings.items():
            if not hasattr(Config, key) or key.startswith("_"):
                raise AttributeError(f"unknown setting {key!r}")
            setattr(Config, key, value)

    def __repr__(self):
        return str(self.status())


jobs = JobManager()


class MapResult:
    """What ``map`` returns: the jobs running the chunks, and their joined results."""

    def __init__(self, nums, sizes):
        self.jobs = nums
        self._sizes = sizes

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        for n in self.jobs:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            jobs.wait(n, left)
        return [jobs.state(n) for n in self.jobs]

    def result(self, timeout=None):
        """Wait, then the results in the order of the items; raises if a chunk failed."""
        self.wait(timeout)
        out = []
        for n in self.jobs:
            out.extend(jobs.result(n))
        return out

    def kill(self):
        return [jobs.kill(n) for n in self.jobs if jobs.state(n) not in _TERMINAL]

    def __repr__(self):
        states = ", ".join(f"{n}: {jobs.state(n)}" for n in self.jobs)
        return f"<parallel_cell map over {sum(self._sizes)} items; jobs {states}>"


def map(fn, items, workers=4):  # noqa: A001 - the name users know from the recipe
    """Apply ``fn`` to every item in ``workers`` background jobs (one chunk each).

    Returns at once with a ``MapResult``; ``.result()`` waits for the ordered results.
    """
    items = list(items)
    workers = max(1, min(int(workers), len(items) or 1))
    size, extra = divmod(len(items), workers)
    chunks, start = [], 0
    for i in range(workers):
        end = start + size + (1 if i < extra else 0)
        chunks.append(items[start:end])
        start = end
    nums = []
    for chunk in chunks:

        def run(chunk=chunk):
            out = []
            for item in chunk:
                checkpoint()
                out.append(fn(item))
            return out

        nums.append(jobs.new(run))
    return MapResult(nums, [len(c) for c in chunks])


def _register_magics(shell):
    from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class

    @magics_class
    class JobMagics(Magics):
        @line_cell_magic
        def job(self, line, cell=None):
            """%job <code> / %%job: run code (any statements) as a background job."""
            code = line if cell is None else cell
            n = jobs.new(code)
            print(f"[parallel-cell] started job {n}")

        @line_magic
        def jobs(self, line):
            """%jobs: the ``jobs`` object (``jobs = %jobs``)."""
            return jobs

    shell.register_magics(JobMagics)


# ----------------------------------------------------------------------------------
# registration

_RUNTIME = None


def register(shell):
    """Make this runtime the kernel's parallel-cell endpoint; idempotent."""
    global _RUNTIME
    if _RUNTIME is None or _RUNTIME.shell is not shell:
        _RUNTIME = Runtime(shell)
    _install_patches()
    _install_streams()
    _install_input_guard(shell)
    kernel = getattr(shell, "kernel", None)
    manager = getattr(kernel, "comm_manager", None)
    if manager is None:
        import comm

        manager = comm.get_comm_manager()
    manager.register_target(COMM_TARGET, _RUNTIME.on_comm_open)
    _RUNTIME.ensure_flusher()
    try:
        _register_magics(shell)
    except Exception:
        _log.exception("parallel-cell: could not register the %job magics")
    return _RUNTIME
