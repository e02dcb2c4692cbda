"""Where a thread's writes to stdout/stderr go: to the job the thread works for,
whatever the foreground has done to ``sys.stdout``/``sys.stderr`` meanwhile.

A stand-in stream alone is not enough: it only routes while it *is* ``sys.stdout``.
``%%capture`` and ``contextlib.redirect_stdout`` in the foreground replace it, and a
logging handler made before the runtime loaded holds the kernel's own stream. So:

- ``sys``'s module class gets a ``__setattr__`` (a ``ModuleType`` subclass: ``sys`` is
  a module, so ``__class__`` assignment is allowed): every stream set on ``sys`` is
  wrapped in a ``RoutedStream`` that knows, per owner, where writes go. The owner is
  whoever set it: the foreground (no job) or a job (a job redirecting its own output).
  A foreground capture then sees only foreground writes; a job's redirect sees only
  that job's; everyone else's go to their job.
- The kernel's own stream class (ipykernel's ``OutStream``) routes job threads' writes
  too, for handlers and objects that held it before the runtime came.

Writes to ``sys.__stdout__`` (the process's file descriptors) are left alone.

The kill's side of a thread is here too, for the same reason: ``JobKilled``, and
``checkpoint``/``sleep``, which ask the calling thread's job (its kill, its sleep).

Standard library only and no imports of the runtime: a Dask worker builds this file too
(see ``worker.py``). What a "job" is comes from the lookup given to ``install``: any
object with ``emit_stream(name, text) -> bool`` (False: it takes no more output), a
``closed`` attribute, and ``checkpoint()`` and ``sleep(secs)``.
"""

import sys
import threading
import time
import types
import weakref

_STREAMS = ("stdout", "stderr")
_lookup = [lambda: None]  # the job the calling thread works for, or None
_TEE_ACTIVE = threading.local()
# While no thread works for a job (``set_fast``), a RoutedStream's ``write`` and ``flush``
# are its target's own, set on the instance: the foreground's writes pay nothing.
_fast = [False]
_FAST_LOCK = threading.Lock()
_made = weakref.WeakSet()  # every RoutedStream, to switch


def current_sink():
    """The job whose output the calling thread's writes are."""
    return _lookup[0]()


class JobKilled(BaseException):
    """Raised inside a background job's thread when the job is killed.

    A kill raises it once and lets cleanup (``finally``, ``__exit__``, ``except
    JobKilled``) run. The runtime's hooks see where it lands (``_on_raise``, in the thread
    it is raised in, async raises included) and when code that caught it drops it
    (``_on_drop``, from ``__del__``: in that thread, in the frame that dropped it).
    """

    _on_raise = None
    _on_drop = None

    def __init__(self, *args):
        super().__init__(*args)
        self._pc_ident = threading.get_ident()
        hook = JobKilled._on_raise
        if hook is not None:
            hook(self)

    def __del__(self):
        # Runs wherever the last reference goes, at interpreter shutdown too: it must
        # never raise nor print.
        try:
            hook = JobKilled._on_drop
            if hook is not None:
                hook(self)
        except BaseException:
            pass


orig_sleep = getattr(time.sleep, "_parallel_cell_original", time.sleep)


def checkpoint():
    """Raise JobKilled if the calling thread's job has been asked to stop (once per
    thread: then its cleanup runs undisturbed)."""
    job = current_sink()
    if job is not None:
        job.checkpoint()


def sleep(secs):
    """``time.sleep``: in a job's thread, the job's own (a kill ends it at once)."""
    job = current_sink()
    if job is None:
        return orig_sleep(secs)
    return job.sleep(secs)


sleep._parallel_cell_original = orig_sleep


def pend(pending, name, item):
    """Queue a job's stream write (``name`` "stdout"/"stderr", ``item`` its text) or an
    output (``name`` None, ``item`` the output) on ``pending``, joining writes to one
    stream. The kernel's Job and a worker's task buffer the same way."""
    if name is not None and pending and pending[-1][0] == name:
        pending[-1][1].append(item)
    else:
        pending.append([name, [item] if name is not None else item])


def as_outputs(pending, piece):
    """``pending`` as nbformat outputs; huge text goes as several stream outputs of at
    most ``piece`` characters (the frontend joins them again), so no message grows
    without bound."""
    outputs = []
    for name, item in pending:
        if name is None:
            outputs.append(item)
            continue
        text = "".join(item)
        for start in range(0, len(text), piece):
            outputs.append(
                {"output_type": "stream", "name": name, "text": text[start : start + piece]}
            )
    return outputs


def _is_routed(stream):
    # Also an older runtime version's stand-in (the marker is on its class).
    return getattr(type(stream), "_parallel_cell_proxy", False)


class RoutedStream:
    """Stands in for ``sys.stdout``/``sys.stderr``.

    ``_pc_target`` takes the foreground's writes; ``_pc_redirects`` maps a job to the
    stream that job itself set (its own capture). Other job threads' writes become
    their job's output.
    """

    _parallel_cell_proxy = True

    def __init__(self, name, target, redirects=()):
        self.__dict__["_pc_name"] = name
        self.__dict__["_pc_target"] = target
        self.__dict__["_pc_redirects"] = tuple(redirects)  # ((job, stream), ...)
        with _FAST_LOCK:
            _made.add(self)
            self._pc_direct(_fast[0])

    def _pc_direct(self, on):
        """Under ``_FAST_LOCK``: writes go straight to the foreground's stream (its tee
        first) while ``on``; else through ``write`` below."""
        if on:
            tee = self.__dict__.get("_pc_tee")
            self.__dict__["write"] = tee or _unrouted_write(self._pc_target)
            flush = getattr(self._pc_target, "flush", None)
            if flush is not None:
                self.__dict__["flush"] = flush
        else:
            self.__dict__.pop("write", None)
            self.__dict__.pop("flush", None)

    def _pc_redirect(self, job):
        for owner, stream in self._pc_redirects:
            if owner is job:
                return stream
        return None

    def _pc_stream_for(self, job):
        """Where a write of ``job`` (None: the foreground) would go if not to the job."""
        if job is not None:
            own = self._pc_redirect(job)
            if own is not None:
                return own
        return self._pc_target

    def write(self, text):
        # Back from the foreground's tee, below; or, with no job, from a tee set while
        # there was one (it called this method): the tee has seen the text already.
        if _fast[0] or getattr(_TEE_ACTIVE, "on", False):
            return _unrouted_write(self._pc_target)(text)
        job = current_sink()
        if job is not None:
            own = self._pc_redirect(job)
            if own is not None:
                return own.write(text)
            if not isinstance(text, str):
                raise TypeError(f"write() argument must be str, not {type(text).__name__}")
            if job.emit_stream(self._pc_name, text):
                return len(text)
        tee = self.__dict__.get("_pc_tee")
        if tee is not None:
            _TEE_ACTIVE.on = True
            try:
                return tee(text)
            finally:
                _TEE_ACTIVE.on = False
        return _unrouted_write(self._pc_target)(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        job = current_sink()
        stream = self._pc_stream_for(job)
        if job is None or stream is not self._pc_target:
            return stream.flush()
        return None

    def __getattr__(self, name):
        return getattr(self._pc_stream_for(current_sink()), name)

    def __setattr__(self, name, value):
        if name == "write":
            # IPython 9 tees ``write`` during run_cell (``stream.write = tee`` and back):
            # keep our routing in front, so job output never enters the foreground's tee.
            own = value == RoutedStream.write.__get__(self) or (
                value == _unrouted_write(self._pc_target)  # read while writes went direct
            )
            with _FAST_LOCK:
                self.__dict__["_pc_tee"] = None if own else value
                self._pc_direct(_fast[0])
            return
        setattr(self._pc_target, name, value)

    def __repr__(self):
        return f"<parallel-cell routed {self._pc_name} over {self._pc_target!r}>"


def set_fast(on):
    """Whether writes skip the routing: only while no thread works for a job (the
    kernel's side says so; a Dask worker's never does)."""
    with _FAST_LOCK:
        if _fast[0] == on:
            return
        _fast[0] = on
        for stream in list(_made):
            stream._pc_direct(on)


def _alive(job):
    return not getattr(job, "closed", False)


def routed(name, current, value, owner):
    """What ``sys.<name> = value`` set by ``owner`` (a job, or None) becomes."""
    if value is None or not hasattr(value, "write"):
        return value
    if isinstance(current, RoutedStream):
        target, redirects = current._pc_target, current._pc_redirects
    elif _is_routed(current):
        target, redirects = current._pc_target, ()
    else:
        target, redirects = current, ()
    if isinstance(value, RoutedStream) and value._pc_name == name:  # put back, read earlier
        new = value._pc_stream_for(owner)
        if owner is not None and new is value._pc_target:
            new = None  # that job had no redirect then
    elif _is_routed(value) and not isinstance(value, RoutedStream):  # an older runtime's
        new = value._pc_target if owner is None else None
    else:
        new = value
    redirects = [(job, s) for job, s in redirects if job is not owner and _alive(job)]
    if owner is None:
        target = new
    elif new is not None:
        redirects.append((owner, new))
    if (
        isinstance(value, RoutedStream)
        and value._pc_target is target
        and len(value._pc_redirects) == len(redirects)
        and all(a[0] is b[0] and a[1] is b[1] for a, b in zip(value._pc_redirects, redirects))
    ):
        return value  # the very stream put back: keep it (and its tee)
    return RoutedStream(name, target, redirects)


class RoutedSys(types.ModuleType):
    """``sys``'s class once the runtime is installed: streams set on it are routed."""

    _parallel_cell_sys = True

    def __reduce__(self):
        # Pickled as the module it is, ``import sys`` where it is loaded (cloudpickle
        # knows modules by their exact type only: a function using ``sys`` would fail).
        return (__import__, ("sys",))

    def __setattr__(self, name, value):
        if name in _STREAMS:
            value = routed(name, self.__dict__.get(name), value, current_sink())
        super().__setattr__(name, value)


class _RoutedWrite:
    """``write`` of ipykernel's ``OutStream`` class, as a data descriptor: writes from
    job threads become job output, also through references taken before the runtime
    (a logging handler's stream). A descriptor, not a method, because IPython 9 sets
    ``write`` on the instance around every cell (its tee) and leaves it there; an
    instance's own ``write`` is kept aside and called for everyone else."""

    _parallel_cell_routed_write = True

    def __init__(self, original):
        self.original = original

    def __get__(self, stream, cls=None):
        if stream is None:
            return self
        inner = stream.__dict__.get("write") or self.original.__get__(stream, cls)

        def write(string):
            job = current_sink()
            if job is not None and isinstance(string, str):
                name = getattr(stream, "name", None)
                if name in _STREAMS and job.emit_stream(name, string):
                    return len(string)
            return inner(string)

        return write

    def __set__(self, stream, value):
        stream.__dict__["write"] = value
        _follow(stream)

    def __delete__(self, stream):
        stream.__dict__.pop("write", None)
        _follow(stream)


def _follow(target):
    """``target``'s own ``write`` changed (IPython's tee on the kernel's stream, in the
    cell that loaded the runtime): direct writes to it follow."""
    with _FAST_LOCK:
        if _fast[0]:
            for stream in list(_made):
                if stream._pc_target is target:
                    stream._pc_direct(True)


def _unrouted_write(stream):
    """``stream.write``, past the routing of its class (``_RoutedWrite``): for a write
    already known not to be a job's, which need not be looked up again."""
    routed = type(stream).__dict__.get("write")
    if type(routed) is _RoutedWrite:
        return stream.__dict__.get("write") or routed.original.__get__(stream)
    return stream.write


def _route_kernel_stream_class(stream):
    cls = type(stream)
    if not cls.__module__.startswith("ipykernel."):
        return
    current = cls.__dict__.get("write")
    if current is None or type(current) is _RoutedWrite:  # none, or ours already
        return
    original = current.original if hasattr(current, "_parallel_cell_routed_write") else current
    cls.write = _RoutedWrite(original)


def install(lookup):
    """Route stdout/stderr writes of job threads to their job (idempotent; a newer
    runtime's install replaces an older one's)."""
    if _lookup[0] is lookup and type(sys) is RoutedSys:  # each job start: once is enough
        if all(isinstance(sys.__dict__.get(name), RoutedStream) for name in _STREAMS):
            return
    _lookup[0] = lookup
    cls = type(sys)
    if cls is not RoutedSys and (
        cls is types.ModuleType or getattr(cls, "_parallel_cell_sys", False)
    ):
        sys.__class__ = RoutedSys
    for name in _STREAMS:
        current = sys.__dict__.get(name)
        base = current._pc_target if _is_routed(current) else current
        if base is not None:
            _route_kernel_stream_class(base)
        if not isinstance(current, RoutedStream):
            # ``routed`` directly: the installing thread may be anything.
            sys.__dict__[name] = routed(name, current, current, None)
