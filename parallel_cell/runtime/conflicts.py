"""Name conflicts: a cell about to run rebinds or deletes global names a running or
queued job uses (docs/architecture.md, "Sharing variables safely").

Two moments are checked: a foreground cell (IPython's ``pre_run_cell``) against every
running or queued job, and a thread job starting against the jobs running. A thread job
uses what it reads and what it assigns; a Dask job works on a copy of the globals, so it
uses only what it assigns (written back when it ends). The person is told, nothing is
stopped: each conflict goes to the pages as ``conflict`` and is kept for
``jobs.conflicts()``.
"""

import functools
import re
import threading
from collections import deque
from types import ModuleType

from . import names as _names
from .config import Config, log, now_ms
from .protocol import msg_conflict
from .transform import cell_source

LIVE = ("queued", "running", "cancelling")
MAX_NAMES = 64  # per message and per job, as the frontend accepts
KEPT = 1000  # conflicts ``jobs.conflicts()`` remembers


_IDENT = re.compile(r"[^\W\d]\w*")  # a Python name (any script)


def _may_rebind(raw, uses, namespace):
    """False only when ``raw`` cannot rebind any of ``uses``: none of them is written in
    it, and it names none of the notebook's own functions or classes (whose code could,
    through ``global``). Saves the analysis for most cells (make bench, P11)."""
    words = set(_IDENT.findall(raw))
    if not words.isdisjoint(uses):
        return True
    for word in words:
        value = namespace.get(word)
        if value is None or isinstance(value, ModuleType):
            continue
        if id(type(value)) in _names.WRAPPERS:  # a function, or what wraps one
            return True
        klass = value if isinstance(value, type) else type(value)
        try:
            if type.__getattribute__(klass, "__module__") == "__main__":
                return True
        except Exception:  # an odd class: let the analysis decide
            return True
    return False


class Conflicts:
    """The conflicts seen in one kernel, and the checks that find them."""

    def __init__(self, runtime):
        self.runtime = runtime
        shell = runtime.shell
        # One object for the shell (the analysis is cached by cell and transform).
        self._transform = None if shell is None else functools.partial(cell_source, shell)
        self.seen = deque(maxlen=KEPT)
        self._lock = threading.Lock()

    # -- the two checks ---------------------------------------------------------------
    def foreground(self, raw, cell_id=None, transformed=None):
        """A foreground cell is about to run: the jobs whose names it rebinds.
        ``transformed``: IPython's transform of it, where IPython gives it."""
        if not Config.warn_conflicts:
            return
        live = self._live()
        if not live or not isinstance(raw, str):
            return
        ns = getattr(self.runtime.shell, "user_ns", None) or {}
        uses = {job: self.uses(job) for job in live}
        # Modules never count (see _writes): `np` in both a job and a cell is no reason
        # to analyse the cell.
        words = {n for used in uses.values() for n in used if not isinstance(ns.get(n), ModuleType)}
        if not _may_rebind(raw, words, ns):
            return
        writes = self._writes(self._analyse(raw, transformed))
        if writes:
            for job, used in uses.items():
                self._found(job, writes & used, None, cell_id)

    def job_starting(self, job):
        """Thread job ``job`` is about to run: the running jobs whose names it rebinds."""
        if not Config.warn_conflicts:
            return
        others = [j for j in self._live() if j is not job and j.state != "queued"]
        if not others:
            return
        writes = self._writes(self.names_of(job))
        if writes:
            for other in others:
                self._found(other, writes & self.uses(other), job, None)

    # -- names --------------------------------------------------------------------
    def names_of(self, job):
        """The names ``job``'s cell reads and writes (worked out once, when first asked)."""
        if job.cell_names is None:
            if job.source is None:  # a function (``map``): nothing to read
                job.cell_names = _names.CellNames(frozenset(), frozenset(), "a function")
            else:
                job.cell_names = self._analyse(job.source)
        return job.cell_names

    def uses(self, job):
        names = self.names_of(job)
        return names.writes if job.target == "dask" else names.reads | names.writes

    def _analyse(self, raw, transformed=None):
        shell = self.runtime.shell
        try:
            found = _names.analyse(raw, self._transform, transformed)
            return _names.expand(found, getattr(shell, "user_ns", None) or {})
        except Exception:  # never in the way of the person's cell
            log.exception("parallel-cell: could not analyse a cell's names")
            return _names.CellNames(frozenset(), frozenset(), "analysis failed")

    def _writes(self, found):
        shell = self.runtime.shell
        hidden = getattr(shell, "user_ns_hidden", None) or ()
        ns = getattr(shell, "user_ns", None) or {}
        # A name that holds a module is re-imported, not replaced (``import time`` again
        # while a job sleeps): never worth a warning.
        return frozenset(
            n
            for n in found.writes
            if not _names.is_own_name(n, hidden) and not isinstance(ns.get(n), ModuleType)
        )

    def _live(self):
        """The jobs not ended, without looking at every ended job the kernel keeps."""
        with self.runtime.lock:
            live = self.runtime.live
            for job_id in [k for k, j in live.items() if j.state not in LIVE]:
                del live[job_id]  # ended by a path that did not say so
            return list(live.values())

    # -- telling ------------------------------------------------------------------
    def _found(self, job, hit, by, cell_id):
        if not hit:
            return
        hit = sorted(hit)[:MAX_NAMES]
        entry = {
            "job": job.job_id,
            "num": job.num,
            "names": hit,
            "by": None if by is None else by.job_id,
            "by_num": None if by is None else by.num,
            "cell_id": cell_id,
            "at": now_ms(),
        }
        with self._lock:
            self.seen.append(entry)
            for marked in (job, by):
                if marked is not None:
                    merged = list(dict.fromkeys(marked.conflicts + hit))
                    marked.conflicts = merged[:MAX_NAMES]
        self.runtime.broadcast(msg_conflict(job.job_id, hit, entry["by"]))

    def listed(self):
        """What ``jobs.conflicts()`` returns: each conflict, oldest first."""
        with self._lock:
            return [dict(e, names=list(e["names"])) for e in self.seen]
