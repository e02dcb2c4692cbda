"""Output capture: job threads' stdout/stderr and displays go to their job."""

import threading

from . import routing
from .threads import THREAD_JOBS


def _thread_job():
    return THREAD_JOBS.get(threading.get_ident())


def install_streams():
    """Job threads' stdout/stderr writes go to their job (see ``routing.py``)."""
    routing.install(_thread_job)


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
