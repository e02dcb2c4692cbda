"""The server extension's readers of kernel messages (``writer.py`` ``_heard``, ``link.py``
``_read``) against the golden kernel messages: each kind the server reads changes its state
as the golden says, every other kind passes through, malformed ones are dropped without
losing what was held. No server, no kernel: the away writer, the notebook, the kernel's
channels and the event loop's timers are small fakes."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import inspect
import json
import logging
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip(
    "jupyter_server",
    reason="jupyter_server is not installed in this venv (the ipykernel 6 one has only a kernel)",
)

from parallel_cell.server.cells import CellOutputs, read_mark  # noqa: E402
from parallel_cell.server.link import KernelLink, msg_replay, msg_saved  # noqa: E402
from parallel_cell.server.writer import KernelWriter  # noqa: E402

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "kernel"
GOLDENS = {p.stem: json.loads(p.read_text()) for p in sorted(GOLDEN.glob("*.json"))}
ENDED = ("done", "error", "killed", "lost")
LINK_ONLY = {"comm_closed"}  # made by link.py itself when the kernel closes the comm
PATH = "examples/demo.ipynb"
LOG = logging.getLogger("test_server_golden")


def named(*kinds: str) -> list[str]:
    return [name for name, msg in GOLDENS.items() if msg["type"] in kinds]


def kinds_read() -> set[str]:
    """The message kinds ``_heard`` compares ``kind`` with: what the server reads."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(KernelWriter._heard)))
    kinds = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and getattr(node.left, "id", None) == "kind":
            for const in (n for c in node.comparators for n in ast.walk(c)):
                if isinstance(const, ast.Constant) and isinstance(const.value, str):
                    kinds.add(const.value)
    return kinds - LINK_ONLY


READ = kinds_read()
COVERED: set[str] = set()  # kinds with a case below


def case(*kinds: str):
    COVERED.update(kinds)
    return pytest.mark.parametrize("name", named(*kinds))


# -- fakes: the writer's IO -------------------------------------------------------------
class Notebook:
    """The notebook file, in memory."""

    def __init__(self, cells: list[dict]):
        self._cells, self.saves = cells, 0

    def cells(self) -> list[dict]:
        return self._cells

    async def save(self) -> None:
        self.saves += 1


class Away:
    """What a KernelWriter asks of the server's AwayWriter."""

    def __init__(self, cells: list[dict]):
        self.log = LOG
        self.settings = SimpleNamespace(save_interval=0.0)
        self.notebook = Notebook(cells)

    def held(self, path: str) -> float:
        return 0.0

    def _lock(self, path: str) -> asyncio.Lock:
        return asyncio.Lock()

    async def document(self, path: str) -> Notebook:
        return self.notebook

    async def session_paths(self, kernel_id: str) -> list[str]:
        return [PATH]


class Sent(list):
    """The link as the writer sends on it: what it sent."""

    send = list.append


def writer(*cells: dict) -> KernelWriter:
    kw = KernelWriter(Away(list(cells)), "kernel-1")
    kw.paths, kw.link = {PATH}, Sent()
    kw.flushes = []
    kw._flush_soon = kw.flushes.append  # the event loop's timers: noted, flushed by hand
    return kw


def flush(kw: KernelWriter) -> None:
    asyncio.run(kw.flush())


def cell(cell_id: str, job: str | None = None, seq: int = 0) -> dict:
    meta = {} if job is None else {"parallel_cell": {"job": job, "seq": seq}}
    return {"id": cell_id, "cell_type": "code", "source": "", "metadata": meta, "outputs": []}


def state(kw: KernelWriter) -> dict:
    jobs = {job_id: dataclasses.asdict(job) for job_id, job in kw.jobs.items()}
    return {"jobs": jobs, "sent": list(kw.link), "stopped": kw.stopped}


def known_from(job_id: str) -> dict:
    """The ``queued``/``started`` golden that makes ``job_id`` known."""
    return next(GOLDENS[n] for n in named("queued", "started") if GOLDENS[n]["job_id"] == job_id)


def knowable(info: dict) -> bool:
    """A job the server writes for: not superseded, and with a cell to find (by id or by
    its source's fingerprint; docs/protocol.md, ``JobInfo`` and ``started``)."""
    return not info.get("superseded") and bool(info.get("cell_id") or info.get("source_hash"))


def expected_cell(outputs: list) -> list:
    want = {"outputs": []}
    CellOutputs().apply(want, outputs)
    return want["outputs"]


def holding() -> KernelWriter:
    """A writer holding state: the jobs of ``jobs.json`` resolved to their cells, one
    with outputs pending; then every other job the goldens list known, not resolved (a
    Dask job there shares a cell with them: resolved, it would claim it)."""
    listed = GOLDENS["jobs"]
    kw = writer(*(cell(info["cell_id"], info["job_id"], 0) for info in listed["jobs"]))
    kw._heard(listed)
    flush(kw)
    for name in named("jobs", "queued", "started"):
        kw._heard(GOLDENS[name])
    kw._heard(GOLDENS["output_stream"])
    assert kw.jobs[GOLDENS["output_stream"]["job_id"]].pending
    assert any(job.next is None for job in kw.jobs.values())
    return kw


# -- the guard --------------------------------------------------------------------------
def test_every_kind_the_server_reads_has_a_golden_and_a_case():
    kinds = {msg["type"] for msg in GOLDENS.values()}
    assert READ, "no kinds found in _heard: update kinds_read()"
    assert READ <= kinds, f"the server reads kinds no golden holds: {READ - kinds}"
    assert READ == COVERED, f"no case for {READ - COVERED}; a case for unread {COVERED - READ}"
    assert {m["type"] for _, m in MALFORMED if isinstance(m.get("type"), str)} >= READ


@pytest.mark.parametrize("name", sorted(n for n, m in GOLDENS.items() if m["type"] not in READ))
def test_a_kind_the_server_does_not_read_changes_nothing(name):
    kw = holding()
    before, flushes = state(kw), list(kw.flushes)
    kw._heard(GOLDENS[name])
    assert state(kw) == before and kw.flushes == flushes


# -- each kind the server reads ---------------------------------------------------------
@case("jobs")
def test_jobs_makes_each_job_known_as_listed(name):
    msg = GOLDENS[name]
    kw = writer(*(cell(info["cell_id"]) for info in msg["jobs"] if info["cell_id"]))
    kw._heard(msg)
    assert kw.flushes == [0]
    for info in msg["jobs"]:
        if not knowable(info):
            assert info["job_id"] not in kw.jobs
            continue
        job = kw.jobs[info["job_id"]]
        for key in ("cell_id", "notebook", "source_hash", "origin", "threads"):
            assert getattr(job, key) == info[key], key
        assert (job.known_next, job.ended) == (info["next_seq"], info["state"] in ENDED)
    again = state(kw)
    kw._heard(msg)  # listed again (another `list`): nothing changes
    assert state(kw) == again
    # Its cell has none of its outputs: the server asks for all the kernel has.
    flush(kw)
    replays = [m for m in msg["jobs"] if knowable(m) and m["next_seq"] and m["cell_id"]]
    assert kw.link == [msg_replay(info["job_id"], 0) for info in replays]


def test_the_jobs_goldens_hold_jobs_the_server_leaves_alone():
    infos = [info for name in named("jobs") for info in GOLDENS[name]["jobs"]]
    assert any(info["superseded"] for info in infos)
    assert any(not (info["cell_id"] or info["source_hash"]) for info in infos)
    assert sum(map(knowable, infos)) >= 2


@case("queued", "started")
def test_queued_or_started_makes_the_job_known(name):
    msg = GOLDENS[name]
    kw = writer()
    kw._heard(msg)
    if not knowable(msg):
        assert kw.jobs == {}
        return
    job = kw.jobs[msg["job_id"]]
    for key in ("cell_id", "notebook", "origin"):
        assert getattr(job, key) == msg[key], key
    assert job.source_hash == msg.get("source_hash")
    assert (job.known_next, job.ended, job.threads) == (0, False, 0)


@case("output")
@pytest.mark.parametrize("resolved", [True, False], ids=["resolved", "before-resolving"])
def test_output_goes_in_at_its_seq_once(name, resolved):
    msg = GOLDENS[name]
    seq, outputs = msg["seq"], msg["outputs"]
    known = known_from(msg["job_id"])
    kw = writer(cell(known["cell_id"], msg["job_id"], seq))
    kw._heard(known)
    job = kw.jobs[msg["job_id"]]
    if resolved:
        flush(kw)
        kw._heard(msg)
        assert (job.pending, job.next) == (outputs, seq + len(outputs))
        held = state(kw)
        kw._heard(msg)  # a replay of what was taken
        assert state(kw) == held
    else:
        kw._heard(msg)
        kw._heard(msg)
        assert job.early == [(seq, outputs), (seq, outputs)]
    flush(kw)
    written = kw.writer.notebook.cells()[0]
    assert written["outputs"] == expected_cell(outputs)
    assert read_mark(written) == (msg["job_id"], seq + len(outputs))
    assert kw.link == [] and kw.writer.notebook.saves == 1
    kw._heard(msg)  # again, once written
    flush(kw)
    assert kw.writer.notebook.saves == 1 and not job.pending


@pytest.mark.parametrize("name", named("output"))
def test_output_ahead_of_the_cell_asks_a_replay_and_behind_it_is_dropped(name):
    msg = GOLDENS[name]
    end = msg["seq"] + len(msg["outputs"])
    known = known_from(msg["job_id"])
    for mark, replay in ((msg["seq"] - 1, [msg_replay(msg["job_id"], msg["seq"] - 1)]), (end, [])):
        if mark < 0:
            continue
        kw = writer(cell(known["cell_id"], msg["job_id"], mark))
        kw._heard(known)
        flush(kw)
        kw._heard(msg)
        job = kw.jobs[msg["job_id"]]
        assert (kw.link, job.pending, job.next) == (replay, [], mark)


@pytest.mark.parametrize("resolved", [True, False], ids=["resolved", "before-resolving"])
def test_output_far_ahead_is_asked_for_and_does_not_hold_the_job_open(resolved):
    """A seq the kernel never reached (2**60 is a u64: well-formed) is asked for by replay
    as any gap. The replay brings what the kernel has; once that is written and the job
    has ended, it counts as complete: the kernel is told, and nothing is asked again."""
    msg = GOLDENS["output_stream"]
    job_id, end = msg["job_id"], msg["seq"] + len(msg["outputs"])
    known = known_from(job_id)
    kw = writer(cell(known["cell_id"], job_id, msg["seq"]))
    kw._heard(known)
    if resolved:
        flush(kw)
    kw._heard({**msg, "seq": 2**60})
    flush(kw)
    assert kw.link == [msg_replay(job_id, msg["seq"])]
    kw._heard(msg)  # the replay's answer: all the kernel has
    kw._heard({"type": "finished", "job_id": job_id, "state": "done"})
    flush(kw)
    assert kw.writer.notebook.cells()[0]["outputs"] == expected_cell(msg["outputs"])
    # Asked once more from where the answer ended, then told its outputs are saved.
    assert kw.link[1:] == [msg_replay(job_id, end), msg_saved([job_id])]
    flush(kw)
    assert len(kw.link) == 3


@case("finished")
def test_finished_records_the_end(name):
    msg = GOLDENS[name]
    assert msg["state"] in ENDED
    known = known_from(msg["job_id"])
    kw = writer(cell(known["cell_id"], msg["job_id"], 0))
    kw._heard(known)
    flush(kw)
    before = state(kw)
    kw._heard(msg)
    before["jobs"][msg["job_id"]]["ended"] = True
    assert state(kw) == before and kw.flushes == [0]
    flush(kw)  # nothing more to write: the kernel may free its log first
    assert kw.link == [msg_saved([msg["job_id"]])]


@case("threads")
def test_threads_records_the_count_and_the_job_ends_with_the_last(name):
    msg = GOLDENS[name]
    known = known_from(msg["job_id"])
    kw = writer(cell(known["cell_id"], msg["job_id"], 0))
    kw._heard(known)
    kw._heard({"type": "finished", "job_id": msg["job_id"], "state": "done"})
    kw.flushes.clear()
    kw._heard(msg)
    job = kw.jobs[msg["job_id"]]
    assert job.threads == msg["running"] > 0 and kw.flushes == []
    flush(kw)
    assert not job.complete and kw.link == []  # its threads may still print
    kw._heard({**msg, "running": 0})
    assert job.threads == 0 and kw.flushes == [0]
    flush(kw)
    assert kw.link == [msg_saved([msg["job_id"]])]


@case("cleared")
def test_cleared_forgets_the_jobs(name):
    msg = GOLDENS[name]
    kw = holding()
    before = state(kw)
    assert set(msg["job_ids"]) & set(kw.jobs), "the golden clears a job the writer knows"
    kw._heard(msg)
    kept = {k: v for k, v in before["jobs"].items() if k not in msg["job_ids"]}
    assert state(kw) == {**before, "jobs": kept}


# -- one by one, or as one list through the link ----------------------------------------
def scenario() -> list[dict]:
    """Every golden, in an order a kernel could send them: jobs first, ends last."""
    order = ["hello", "jobs", "queued", "started", "output", "placed", "cancelling"]
    order += ["conflict", "text", "error", "threads", "finished", "log_trimmed", "cleared"]
    names = sorted(GOLDENS, key=lambda n: order.index(GOLDENS[n]["type"]))
    assert set(order) == {m["type"] for m in GOLDENS.values()}
    return [GOLDENS[n] for n in names]


def read_through_link(comm_msgs: list) -> list[dict]:
    """Feed iopub messages to a link's reader; the writer's state after each message."""
    started = GOLDENS["started"]
    kw = writer(cell(started["cell_id"], started["job_id"], 0))
    kw._heard(started)
    flush(kw)
    trace = []

    def heard(msg):
        kw._heard(msg)
        trace.append((state(kw), list(kw.flushes)))

    class Iopub:
        async def get_iopub_msg(self, timeout=None):
            if not comm_msgs:
                raise RuntimeError("closed")  # as a closed socket ends the reader
            return comm_msgs.pop(0)

    link = KernelLink(None, heard, LOG)
    link._client, link.comm_id = Iopub(), "comm-1"
    asyncio.run(link._read())
    return trace


def comm_msg(data, comm_id="comm-1", msg_type="comm_msg") -> dict:
    return {"msg_type": msg_type, "content": {"comm_id": comm_id, "data": data}}


def test_a_list_gives_the_same_state_as_one_by_one(caplog):
    msgs = scenario()
    one_by_one = read_through_link([comm_msg(m) for m in msgs])
    assert len(one_by_one) == len(msgs)
    assert read_through_link([comm_msg(msgs)]) == one_by_one
    # Not for this comm, not a dict, not a comm_msg: not heard.
    noise = [None, 7, "output", [], [GOLDENS["finished_done"]]]
    mixed = [comm_msg(msgs[:5] + noise + msgs[5:]), comm_msg(GOLDENS["cleared"], "comm-2")]
    mixed += [comm_msg(None), comm_msg(GOLDENS["cleared"], msg_type="comm_open")]
    mixed[1:1] = [{"msg_type": "comm_msg", "content": c} for c in (None, [1], "x", 7)]
    with caplog.at_level(logging.DEBUG, LOG.name):
        assert read_through_link(mixed) == one_by_one
    assert not [r for r in caplog.records if r.exc_info], "a message raised in the reader"


# -- malformed ---------------------------------------------------------------------------
BAD_IDS = [None, 7, True, "", "x" * 65, ["x"], {"x": 1}]
BAD_COUNTS = [None, -1, True, 1.5, "0", [0], {"0": 0}, 2**64, 10**30]
BAD_LISTS = [None, 7, "x", {"x": 1}]


def variants(name: str, msg: dict, field: str, bad: list) -> list[tuple[str, dict]]:
    without = (f"{name}-no-{field}", {k: v for k, v in msg.items() if k != field})
    return [without] + [(f"{name}.{field}={v!r:.12}", {**msg, field: v}) for v in bad]


def malformed() -> list[tuple[str, dict]]:
    out = variants("output_stream", GOLDENS["output_stream"], "type", BAD_IDS)
    bad_items = {"jobs": [None, 7, [], {}, *({"job_id": i} for i in BAD_IDS)]}
    bad_items["job_ids"] = BAD_IDS[1:]
    for kind in sorted(READ):
        for name in named(kind):
            msg = GOLDENS[name]
            for field, bad in (("job_id", BAD_IDS), ("seq", BAD_COUNTS), ("running", BAD_COUNTS)):
                if field in msg:
                    out += variants(name, msg, field, bad)
            for field in ("outputs", "jobs", "job_ids"):
                if field in msg:
                    out += variants(name, msg, field, BAD_LISTS)
                if field in msg and field in bad_items:  # bad outputs: a case of their own
                    out.append((f"{name}.{field}=[bad items]", {**msg, field: bad_items[field]}))
    return out


MALFORMED = malformed()


@pytest.mark.parametrize("msg", [m for _, m in MALFORMED], ids=[n for n, _ in MALFORMED])
def test_a_malformed_message_is_dropped_and_nothing_held_is_lost(msg):
    kw = holding()
    before = state(kw)
    kw._heard(msg)
    assert state(kw) == before


def test_bad_outputs_in_a_batch_keep_their_seq_and_are_not_written():
    msg = GOLDENS["output_rich"]
    known = known_from(msg["job_id"])
    kw = writer(cell(known["cell_id"], msg["job_id"], msg["seq"]))
    kw._heard(known)
    flush(kw)
    bad = [None, 7, "text", {}, {"output_type": "stream", "name": "stdin", "text": "x"}]
    kw._heard({**msg, "outputs": bad[:2] + msg["outputs"] + bad[2:]})
    flush(kw)
    written = kw.writer.notebook.cells()[0]
    assert written["outputs"] == expected_cell(msg["outputs"])
    assert read_mark(written) == (msg["job_id"], msg["seq"] + len(msg["outputs"]) + len(bad))


def test_ids_are_read_by_the_runtime_s_rule():
    from parallel_cell._bootstrap import load_runtime
    from parallel_cell.server.link import ID_RE

    assert ID_RE.pattern == load_runtime(register=False).protocol._ID_RE.pattern
