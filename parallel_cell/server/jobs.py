"""One job's outputs on their way into its cell, in order and once (pure; no I/O).

The kernel numbers each output (``seq``). The cell's replay mark says how far the cell
already goes; outputs before it are dropped, a batch that skips ahead asks for a replay,
and what is pending is written at the next save.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .cells import CellOutputs, Plan, claim, find_cell, plan, read_mark, set_mark
from .streams import STREAM_LIMIT

# The kernel's marker at the start of a replay whose first outputs it dropped (job.py).
_MARKER = re.compile(
    r"\[parallel-cell: \d+ earlier output\(s\) of job \S+ were dropped from the kernel's replay log"
)


def _trimmed(outputs: list) -> bool:
    first = outputs[0] if outputs else None
    return (
        isinstance(first, dict)
        and first.get("output_type") == "stream"
        and first.get("name") == "stderr"
        and isinstance(first.get("text"), str)
        and _MARKER.match(first["text"]) is not None
    )


@dataclass
class JobOutputs:
    """A job whose outputs this server writes while no page holds its notebook."""

    job_id: str
    cell_id: str | None
    source_hash: str | None
    origin: str
    notebook: str | None  # the page's path for it: a hint among the kernel's sessions only
    superseded: bool = False
    ended: bool = False
    known_next: int = 0  # the kernel's next seq for the job: as it listed it, or as taken
    ahead: int = 0  # the furthest end of a batch that skipped ahead: a claim, replayed for
    threads: int = 0  # threads it started that still run after it ended (more output)

    path: str | None = None  # the notebook it is written into, once resolved
    next: int | None = None  # the seq of the next output to take (None: not resolved yet)
    pending: list = field(default_factory=list)  # outputs from `written` to `next`
    written: int = 0  # the seq the cell's mark reaches once pending is written
    clear_first: bool = False  # the cell shows an earlier run: empty it on the first write
    early: list = field(default_factory=list)  # (seq, outputs) heard before resolving
    asked: int | None = None  # the `since` of the replay asked for and not yet answered
    dropped: str | None = None  # why this job is not written any more
    saved: bool = False  # the kernel was told all its outputs are in the notebook
    why: str = ""  # why its cell was not found, when it was not
    cell: CellOutputs = field(default_factory=CellOutputs)

    @property
    def has_work(self) -> bool:
        """Something to write, to find, or to tell the kernel."""
        if self.dropped is not None:
            return False
        return (
            self.next is None
            or bool(self.pending)
            or self.clear_first
            or (self.complete and not self.saved)
        )

    def resolve(self, cells: list[dict], path: str) -> tuple[int | None, str]:
        """Find the job's cell in ``cells`` (of the notebook at ``path``) and decide from its
        mark where to go on from. Returns ``(index, "")``, or ``(None, why)`` when the job's
        output cannot go to any cell of this notebook."""
        index, why = find_cell(cells, self.cell_id, self.source_hash)
        if index is None:
            self.why = why
            return None, why
        decided: Plan = plan(cells[index], self.job_id, self.origin, self.superseded)
        if decided.since is None:
            self.dropped = "its cell was run again since"
            return None, self.dropped
        self.path = path
        self.next = self.written = decided.since
        self.clear_first = decided.clear
        early, self.early = self.early, []
        for seq, outputs in early:
            self.take(seq, outputs)
        self.asked = None  # nothing asked yet: the caller asks for what `missing` says
        return index, ""

    def restart(self) -> None:
        """Find the cell again from scratch (its notebook moved to another path)."""
        self.path = self.next = self.dropped = None
        self.pending, self.early = [], []
        self.written, self.clear_first, self.asked = 0, False, None
        self.cell = CellOutputs()

    def take(self, seq: int, outputs: list) -> int | None:
        """Take a batch of outputs starting at ``seq``. Returns the seq to ask a replay from
        when the batch skips ahead of what was taken, else ``None``."""
        if self.dropped is not None:
            return None
        if self.next is None:
            self.early.append((seq, outputs))
            return None
        end = seq + len(outputs)
        if end <= self.next:
            return None  # already taken (a replay overlapping live outputs)
        if seq > self.next:
            # Counted only once the replay brings it: a bogus seq (2**60) would wedge the job.
            self.ahead = max(self.ahead, end)
            if self.asked == self.next and _trimmed(outputs):
                # The replay asked for starts later: the kernel's log no longer has the
                # outputs before it (its marker says so); as a page does, go on from it.
                self.next = seq
            elif self.asked == self.next:
                return None
            else:
                self.asked = self.next
                return self.next
        self.pending.extend(outputs[self.next - seq :])
        self.next = end
        self.known_next = max(self.known_next, end)
        if self.asked is not None and self.next >= self.heard_next:
            self.asked = None
        return None

    @property
    def heard_next(self) -> int:
        """The kernel's next seq as far as any of its messages says: replays go up to it."""
        return max(self.known_next, self.ahead)

    @property
    def complete(self) -> bool:
        """Ended (threads it started too), and every output the kernel has of it is
        written."""
        return (
            self.ended
            and not self.threads
            and self.dropped is None
            and self.next is not None
            and self.next >= self.known_next
            and not self.pending
            and not self.clear_first
        )

    def missing(self) -> int | None:
        """The seq to ask a replay from when the kernel has outputs this job lacks."""
        if self.dropped is None and self.next is not None and self.next < self.heard_next:
            if self.asked != self.next:
                self.asked = self.next
                return self.next
        return None

    def write(self, cell: dict, limit: int = STREAM_LIMIT) -> bool:
        """Write what is pending into ``cell`` (the job's cell, just read; stream outputs
        bounded to ``limit`` characters, as the page bounds them). Returns whether
        the cell changed. A cell whose mark shows another writer went further takes only
        what it lacks; a cell that belongs to another run now drops the job."""
        mark = read_mark(cell)
        changed = False
        if self.clear_first:
            self.clear_first = False
            if mark is None or mark[0] != self.job_id:
                claim(cell, self.job_id)
                self.cell = CellOutputs()
                mark = (self.job_id, 0)
                changed = True
        if mark is None or mark[0] != self.job_id:
            if self.origin != "kernel" or self.written != 0:
                self.dropped = "its cell was run again since"
                self.pending = []
                return changed
            mark = (self.job_id, 0)  # a `%job` cell: its own outputs stay, the job's follow
        outputs = self.pending[max(0, mark[1] - self.written) :]
        self.pending = []
        self.next = self.written = max(mark[1], self.next or 0)
        if outputs or read_mark(cell) != mark or mark[1] != self.written:
            self.cell.apply(cell, outputs, limit)
            set_mark(cell, self.job_id, self.written)
            changed = True
        return changed
