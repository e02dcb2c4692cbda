"""Output capture: job threads' stdout/stderr and displays go to their job."""

import sys
import threading

from .threads import THREAD_JOBS, current_job

_TEE_ACTIVE = threading.local()


class _JobStream:
    """Stands in for sys.stdout/sys.stderr: job threads' writes go to their job."""

    _parallel_cell_proxy = True

    def __init__(self, name, target):
        self.__dict__["_pc_name"] = name
        self.__dict__["_pc_target"] = target

    def write(self, text):
        job = THREAD_JOBS.get(threading.get_ident())
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
        if current_job() is None:
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


def install_streams():
    for name in ("stdout", "stderr"):
        current = getattr(sys, name)
        if isinstance(current, _JobStream):
            continue
        if getattr(type(current), "_parallel_cell_proxy", False):  # an older runtime's
            current = current._pc_target
        setattr(sys, name, _JobStream(name, current))


def display_hook(job):
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
