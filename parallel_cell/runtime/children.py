"""Child processes a job starts: their output is the job's, and a kill ends them.

A child inherits the kernel's file descriptors 1 and 2, which belong to the whole
process (ipykernel forwards what arrives there to whatever cell runs in the
foreground). So a child started from a job thread that would inherit them
(``subprocess.run(["tool"])``, ``os.system``, ``os.popen``'s stderr, or
``stdout=sys.stdout``) gets a pipe of its own per stream instead, read by a runtime
thread into the job's output, live. Waiting for the child (``wait``, ``poll``,
``communicate``, ``run``) also waits briefly for the rest of its output, so that what
the job prints next comes after it. What the job captures itself (``PIPE``, a file)
is left as it is.
"""

import codecs
import os
import subprocess
import sys
import threading
import time

from .threads import _original, _track, current_job, internal_thread

try:  # IPython's `!cmd` runs through pexpect, whose children live on a pty
    import ptyprocess

    _orig_pty_init = _original(ptyprocess.PtyProcess.__init__)
except ImportError:
    ptyprocess = None

_orig_popen_init = _original(subprocess.Popen.__init__)
_orig_wait = _original(subprocess.Popen.wait)
_orig_poll = _original(subprocess.Popen.poll)
_orig_system = _original(os.system)
_STREAMS = ("stdout", "stderr")
_DRAIN_SECONDS = 0.5  # a grandchild that keeps the pipe open must not hold up a wait
_READ_BYTES = 64 * 1024


def _is_kernel_stream(value):
    """None (inherit), or a stream object that stands for the kernel's own output."""
    if value is None:
        return True
    if getattr(type(value), "_parallel_cell_proxy", False):
        return True
    return type(value).__module__ == "ipykernel.iostream"


def _pump(job, name, fd):
    """Read one pipe of a child into ``job``'s output until the child closes it."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    try:
        while True:
            try:
                data = os.read(fd, _READ_BYTES)
            except OSError:
                data = b""
            text = decoder.decode(data, final=not data)
            if text and not job.emit_stream(name, text, block=False):
                # The job has ended: where the child's output went before it had a job.
                getattr(sys, name).write(text)
            if not data:
                return
    finally:
        os.close(fd)


def _popen_init(self, *args, **kwargs):
    job = current_job()
    pipes = []  # (stream name, read end, write end)
    # Positional stdout/stderr (args[4:]) are rare and left as given.
    if job is not None and not job.closed and len(args) <= 4:
        for name in _STREAMS:
            given = kwargs.get(name)
            if name == "stderr" and given is subprocess.STDOUT:
                continue
            if _is_kernel_stream(given):
                read, write = os.pipe()
                kwargs[name] = write
                pipes.append((name, read, write))
    try:
        _orig_popen_init(self, *args, **kwargs)
    except BaseException:
        for _, read, _ in pipes:
            os.close(read)
        raise
    finally:
        for _, _, write in pipes:
            os.close(write)
    if job is None:
        return
    _track(job, job.children, self)
    readers = []
    for name, read, _ in pipes:
        reader = internal_thread(_pump, f"parallel-cell {name} of pid {self.pid}", job, name, read)
        reader.start()
        readers.append(reader)
    self._parallel_cell_readers = readers


def _drain(proc):
    """After the child ended: let its last output reach the job before the job goes on."""
    readers = proc.__dict__.pop("_parallel_cell_readers", None)
    if not readers:
        return
    deadline = _DRAIN_SECONDS
    for reader in readers:
        if reader is threading.current_thread():
            continue
        started = time.monotonic()
        reader.join(max(0.0, deadline))
        deadline -= time.monotonic() - started


def _wait(self, timeout=None):
    code = _orig_wait(self, timeout)
    _drain(self)
    return code


def _poll(self):
    code = _orig_poll(self)
    if code is not None:
        _drain(self)
    return code


def _system(command):
    """``os.system`` in a job thread: the same shell command, its output the job's."""
    if current_job() is None:
        return _orig_system(command)
    code = subprocess.Popen(command, shell=True).wait()
    # os.system returns a wait status: the exit code in the high byte, or the signal.
    return code << 8 if code >= 0 else -code


def _pty_init(self, *args, **kwargs):
    _orig_pty_init(self, *args, **kwargs)
    job = current_job()
    if job is not None:
        _track(job, job.children, self)


def install():
    """Once per process (a newer runtime's install replaces an older one's)."""
    patches = [
        (subprocess.Popen, "__init__", _popen_init, _orig_popen_init),
        (subprocess.Popen, "wait", _wait, _orig_wait),
        (subprocess.Popen, "poll", _poll, _orig_poll),
        (os, "system", _system, _orig_system),
    ]
    if ptyprocess is not None:
        patches.append((ptyprocess.PtyProcess, "__init__", _pty_init, _orig_pty_init))
    for owner, name, fn, orig in patches:
        fn._parallel_cell_original = orig
        fn.__doc__ = orig.__doc__
        setattr(owner, name, fn)
