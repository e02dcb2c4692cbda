"""The wire format: golden messages both ways, malformed input answered, not fatal."""

import hashlib
import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from parallel_cell._bootstrap import load_runtime

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def golden(side):
    return {p.stem: json.loads(p.read_text()) for p in sorted((GOLDEN / side).glob("*.json"))}


@pytest.fixture(scope="module")
def runtime():
    return load_runtime(register=False)


@pytest.mark.parametrize("name", sorted(golden("client")))
def test_golden_client_messages_decode(runtime, name):
    msg = golden("client")[name]
    assert runtime.decode_client_msg(msg) == msg


def _job(msg):
    """A job with the fields ``msg`` carries; a thread job, not chained, where it says none."""
    defaults = {"after": None, "source_hash": None, "target": "thread", "worker": None}
    return SimpleNamespace(**{**defaults, "dashboard": None, **msg})


# How the runtime builds each kernel message, from the fields the golden holds.
ENCODERS = {
    "hello": lambda p, m: {
        **p.msg_hello(m["ipykernel"], m["implementation"]),
        **{k: m[k] for k in ("runtime", "python")},  # this process's own versions
    },
    "started": lambda p, m: p.msg_started(_job(m)),
    "queued": lambda p, m: p.msg_queued(_job(m)),
    "placed": lambda p, m: p.msg_placed(_job(m)),
    "finished": lambda p, m: p.msg_finished(_job(m)),
    "output": lambda p, m: p.msg_output(m["job_id"], m["seq"], m["outputs"]),
    "cancelling": lambda p, m: p.msg_cancelling(m["job_id"], m["reason"]),
    "cleared": lambda p, m: p.msg_cleared(m["job_ids"]),
    "log_trimmed": lambda p, m: p.msg_log_trimmed(m["job_id"], m["reason"]),
    "threads": lambda p, m: p.msg_threads(m["job_id"], m["running"]),
    "conflict": lambda p, m: p.msg_conflict(m["job_id"], m["names"], m["by"]),
    "text": lambda p, m: p.msg_text(m["job_id"], m["text"], m["last"]),
    "error": lambda p, m: p.msg_error(m["message"], m["job_id"]),
}


# ``jobs`` goldens list ``Job.info()`` entries: checked against jobs.json in test_pure.py.
@pytest.mark.parametrize(
    "name", sorted(n for n, m in golden("kernel").items() if m["type"] != "jobs")
)
def test_golden_kernel_messages_encode(runtime, name):
    """The runtime writes every kernel golden exactly."""
    msg = golden("kernel")[name]
    assert ENCODERS[msg["type"]](runtime.protocol, msg) == msg


def test_golden_job_messages_decode_in_the_server():
    """The server extension reads every job a golden ``queued``, ``started`` or ``jobs``
    carries, field for field."""
    from parallel_cell.server.link import job_fields

    def jobs_in(msg):
        if msg["type"] == "jobs":
            return msg["jobs"]
        return [msg] if msg["type"] in ("queued", "started") else []

    infos = [info for msg in golden("kernel").values() for info in jobs_in(msg)]
    assert len(infos) >= 10
    for info in infos:
        fields = job_fields(info)
        assert fields is not None, info
        for key in ("job_id", "cell_id", "notebook", "source_hash", "origin", "next_seq"):
            assert fields[key] == info.get(key, 0 if key == "next_seq" else None), (key, info)
        assert fields["ended"] == (info.get("state") in ("done", "error", "killed", "lost"))


# How the server extension builds each client message it sends, from the golden's fields.
SERVER_ENCODERS = {
    "list": lambda link, m: link.msg_list(),
    "replay": lambda link, m: link.msg_replay(m["job_id"], m["since"]),
    "saved": lambda link, m: link.msg_saved(m["job_ids"]),
}


def test_golden_client_messages_encode_in_the_server():
    """The server extension writes every client golden of a message it sends exactly, and
    opens its comm with the protocol the goldens speak."""
    from parallel_cell.server import link

    checked = set()
    for name, msg in golden("client").items():
        if msg["type"] in SERVER_ENCODERS:
            built = SERVER_ENCODERS[msg["type"]](link, msg)
            assert json.dumps(built, sort_keys=True) == json.dumps(msg, sort_keys=True), name
            checked.add(msg["type"])
    assert checked == set(SERVER_ENCODERS), "a message the server sends has no golden"
    protocol = golden("kernel")["hello"]["protocol"]
    assert link.open_data() == {"protocol": protocol}
    assert link.TARGET == f"parallel_cell.v{protocol}"


def test_decoder_rejects_bad_messages(runtime):
    bad = [
        "text",
        [],
        {},
        {"type": 3},
        {"type": "frobnicate"},
        {"type": "submit", "job_id": "a", "cell_id": "c", "notebook": "n"},
        {"type": "submit", "job_id": "", "cell_id": "c", "notebook": "n", "code": ""},
        {"type": "submit", "job_id": "a b", "cell_id": "c", "notebook": "n", "code": ""},
        {"type": "submit", "job_id": "x" * 65, "cell_id": "c", "notebook": "n", "code": ""},
        {"type": "submit", "job_id": "a", "cell_id": "c", "notebook": "n", "code": 1},
        {"type": "kill", "job_id": 5},
        {"type": "replay", "job_id": "a", "since": -1},
        {"type": "replay", "job_id": "a", "since": True},
        {"type": "replay", "job_id": "a", "since": "1"},
    ]
    for data in bad:
        with pytest.raises(runtime.ProtocolError):
            runtime.decode_client_msg(data)
    err = pytest.raises(runtime.ProtocolError, runtime.decode_client_msg, {"type": "frobnicate"})
    assert err.value.message == golden("kernel")["error"]["message"]


SUBMIT = {"type": "submit", "job_id": "a", "cell_id": "c", "notebook": "n", "code": "1"}
CONFIGURE = {"type": "configure", "log_limit": 1, "kill_grace_ms": 0, "interruptible_sleep": True}


def test_decoder_reads_the_version_2_fields(runtime):
    decode = runtime.decode_client_msg
    chained = {**SUBMIT, "after": "b-1", "source_hash": "f3a9c1d27b4e8a06"}
    assert decode(chained) == chained
    nulls = {**SUBMIT, "after": None, "source_hash": None}  # null means missing
    assert decode(nulls) == nulls
    assert decode({**CONFIGURE, "cap": 1, "log_budget": 1})["cap"] == 1
    assert "cap" not in decode(CONFIGURE)
    assert decode({"type": "clear", "job_ids": []}) == {"type": "clear", "job_ids": []}
    many = [f"j{i}" for i in range(10_000)]
    assert decode({"type": "clear", "job_ids": many})["job_ids"] == many


def test_decoder_rejects_bad_version_2_fields(runtime):
    bad = [
        ("after", {**SUBMIT, "after": ""}),
        ("after", {**SUBMIT, "after": "a b"}),
        ("after", {**SUBMIT, "after": 5}),
        ("after", {**SUBMIT, "after": ["a"]}),
        ("source_hash", {**SUBMIT, "source_hash": "x" * 65}),
        ("source_hash", {**SUBMIT, "source_hash": 17}),
        ("cap", {**CONFIGURE, "cap": 0}),
        ("cap", {**CONFIGURE, "cap": -1}),
        ("cap", {**CONFIGURE, "cap": True}),
        ("cap", {**CONFIGURE, "cap": "4"}),
        ("cap", {**CONFIGURE, "cap": 2.0}),
        ("log_budget", {**CONFIGURE, "log_budget": 0}),
        ("log_budget", {**CONFIGURE, "log_budget": 1.5}),
        ("log_budget", {**CONFIGURE, "log_budget": [1]}),
        ("job_ids", {"type": "clear"}),
        ("job_ids", {"type": "clear", "job_ids": None}),
        ("job_ids", {"type": "clear", "job_ids": "a"}),
        ("job_ids", {"type": "clear", "job_ids": {"a": 1}}),
        ("job_ids", {"type": "clear", "job_ids": ["a", 1]}),
        ("job_ids", {"type": "clear", "job_ids": ["a", ""]}),
        ("job_ids", {"type": "clear", "job_ids": ["a/b"]}),
        ("job_ids", {"type": "clear", "job_ids": [f"j{i}" for i in range(10_001)]}),
    ]
    for field, data in bad:
        with pytest.raises(runtime.ProtocolError) as err:
            runtime.decode_client_msg(data)
        assert f'"{field}"' in err.value.message and len(err.value.message) < 200


def test_a_list_is_messages_sent_in_one_go_each_handled_in_order(comm):
    # A bad one among them is answered on its own; the others are handled as if alone.
    start = len(comm.messages)
    comm.send(
        [
            {"type": "submit", "job_id": "b1", "cell_id": "c", "notebook": "n", "code": "x1 = 1"},
            {"type": "frobnicate"},
            {"type": "submit", "job_id": "b2", "cell_id": "c", "notebook": "n", "code": "x2 = 2"},
            {"type": "list"},
        ]
    )
    jobs = comm.wait_type("jobs", start=start)
    assert [j["job_id"] for j in jobs["jobs"] if j["job_id"] in ("b1", "b2")] == ["b1", "b2"]
    kinds = [m["type"] for m in comm.messages[start:] if m["type"] in ("queued", "error", "jobs")]
    assert kinds.index("error") < kinds.index("jobs")
    assert comm.wait_type("finished", "b2")["state"] == "done"
    assert comm.wait_type("finished", "b1")["state"] == "done"


def test_malformed_messages_get_error_replies(kernel, comm):
    for data in ["nonsense", {"type": "frobnicate"}, {"type": "submit"}, {"type": "kill"}]:
        start = len(comm.messages)
        comm.send(data)
        reply = comm.wait_type("error", start=start)
        assert isinstance(reply["message"], str) and reply["message"]
    start = len(comm.messages)
    comm.send({"type": "kill", "job_id": "no-such-job"})
    reply = comm.wait_type("error", start=start)
    assert reply["job_id"] == "no-such-job"
    assert kernel.ok("print(1 + 1)") == "2\n"


def test_text_sends_the_logged_text_in_ordered_parts(kernel, comm):
    # 3 parts of 256 KiB and the rest; stderr interleaved in order, rich outputs left out.
    job = comm.submit(
        "import sys\nfrom IPython.display import display\n"
        "for i in range(8000):\n"
        "    print(f'{i:08d} ' + 'x' * 90)\n"
        "    if i % 1000 == 0: print(f'warn {i}', file=sys.stderr); display(i)\n"
    )
    comm.wait_type("finished", job, timeout=30)
    start = len(comm.messages)
    comm.send({"type": "text", "job_id": job})
    comm.wait_for(lambda m: m["type"] == "text" and m["last"], start=start, timeout=20)
    parts = [m for m in comm.messages[start:] if m["type"] == "text"]
    assert [p["last"] for p in parts] == [False, False, False, True]
    text = "".join(p["text"] for p in parts)
    lines = text.splitlines()
    assert len(lines) == 8008
    assert lines[0] == "00000000 " + "x" * 90 and lines[1] == "warn 0"
    assert lines[-1] == "00007999 " + "x" * 90
    num = comm.wait_type("started", job)["num"]
    digest = hashlib.sha256(text.encode()).hexdigest()
    logged = f"__import__('_parallel_cell_runtime').jobs.text({num}).encode()"
    assert kernel.evaluate(f"__import__('hashlib').sha256({logged}).hexdigest()") == repr(digest)


def test_text_of_a_job_with_no_output_is_one_empty_last_part(comm):
    job = comm.run("x = 1")["job_id"]
    start = len(comm.messages)
    comm.send({"type": "text", "job_id": job})
    assert comm.wait_type("text", job, start=start) == {
        "type": "text",
        "job_id": job,
        "text": "",
        "last": True,
    }
    start = len(comm.messages)
    comm.send({"type": "text", "job_id": "no-such-job"})
    err = comm.wait_type("error", start=start)
    assert err["job_id"] == "no-such-job" and "unknown job" in err["message"]


# Messages of cluster jobs: checked in test_cluster.py.
CLUSTER_GOLDEN = ("started_dask", "placed", "jobs_dask")


def test_kernel_messages_match_golden_shapes(kernel, comm, gate):
    gold = {k: v for k, v in golden("kernel").items() if k not in CLUSTER_GOLDEN}
    seen = {"hello": comm.messages[0]}
    done = comm.submit("print('0')\nimport sys; print('w', file=sys.stderr)\nx = 42")
    seen["finished_done"] = comm.wait_type("finished", done)
    seen["started"] = comm.wait_type("started", done)
    seen["output_stream"] = comm.wait_type("output", done)
    comm.send({"type": "text", "job_id": done})
    seen["text"] = comm.wait_type("text", done)
    rich = comm.submit(
        "from IPython.display import display, HTML, clear_output\n"
        "h = display(HTML('<b>hi</b>'), display_id='d1')\nh.update(2)\n"
        "clear_output(wait=True)\n42"
    )
    comm.wait_type("finished", rich)
    seen["output_rich"] = {
        "type": "output",
        "job_id": rich,
        "seq": 0,
        "outputs": comm.outputs(rich),
    }
    seen["finished_error"] = comm.run("1/0")
    seen["output_error"] = comm.wait_type("output", seen["finished_error"]["job_id"])
    spin = comm.submit("while True: pass")
    comm.wait_type("started", spin)
    comm.kill(spin)
    seen["cancelling"] = comm.wait_type("cancelling", spin)
    seen["finished_killed"] = comm.wait_type("finished", spin)
    start = len(comm.messages)
    comm.send({"type": "list"})
    seen["jobs"] = comm.wait_type("jobs", start=start)
    start = len(comm.messages)
    comm.send({"type": "frobnicate"})
    seen["error"] = comm.wait_type("error", start=start)
    kernel.ok("%job print('from the kernel')")
    seen["started_from_kernel"] = comm.wait_for(
        lambda m: m["type"] == "started" and m["origin"] == "kernel"
    )
    seen.update(_version_2_messages(comm, gate))

    assert set(seen) == set(gold)
    for name, msg in seen.items():
        assert msg["type"] == gold[name]["type"]
        if name == "output_rich":
            got = {o["output_type"]: sorted(o) for o in msg["outputs"]}
            want = {o["output_type"]: sorted(o) for o in gold[name]["outputs"]}
            assert got == want
        elif name == "output_stream":
            assert sorted(msg) == sorted(gold[name])
            assert sorted(msg["outputs"][0]) == sorted(gold[name]["outputs"][0])
        else:
            assert shape_ok(msg, gold[name]), (name, msg)


SETTINGS = {"type": "configure", "log_limit": 5000, "kill_grace_ms": 500}


def _version_2_messages(comm, gate):
    """Real messages for the goldens of protocol version 2 (the kernel's queue)."""
    seen = {}
    comm.send({**SETTINGS, "interruptible_sleep": True, "cap": 1})
    try:
        # The first job waits on the gate: the chained one is queued behind it for certain.
        first = comm.submit(gate.code())
        chained = comm.submit("print('next')", after=first, source_hash="f3a9c1d27b4e8a06")
        seen["queued"] = comm.wait_type("queued", chained)
        gate.open()
        seen["started_chain"] = comm.wait_type("started", chained)
        comm.wait_type("finished", chained)
        failing = comm.submit("x = 1 / 0")
        after = comm.submit("y = x + 1", after=failing)
        seen["finished_dependency"] = comm.wait_type("finished", after)
        seen["cleared"] = comm.request({"type": "clear", "job_ids": [failing, after]}, "cleared")
        start = len(comm.messages)
        comm.send({**SETTINGS, "interruptible_sleep": True, "log_budget": 1})
        seen["log_trimmed"] = comm.wait_type("log_trimmed", start=start)
        # A thread held by the gate outlives its job's code for certain.
        gate.close()
        lingering = comm.submit(
            "import threading\ndef _linger():\n"
            + gate.code("    ")
            + "threading.Thread(target=_linger).start()"
        )
        seen["threads"] = comm.wait_type("threads", lingering)
        gate.open()
        seen.update(_conflict_messages(comm))
        jobs = comm.request({"type": "list"}, "jobs")["jobs"]
        seen["jobs_ended"] = {"type": "jobs", "jobs": [j for j in jobs if j["ended_at"]]}
    finally:
        comm.send({**SETTINGS, "interruptible_sleep": True, "cap": 4, "log_budget": 64 << 20})
    return seen


def _conflict_messages(comm):
    """A foreground cell, then a starting job, rebinding a name a running job reads."""
    seen = {}
    comm.send({**SETTINGS, "interruptible_sleep": True, "cap": 4})
    comm.kernel.ok("golden_model = None")
    user = comm.submit("import time\nwhile True:\n    golden_model\n    time.sleep(0.02)")
    comm.wait_type("started", user)
    start = len(comm.messages)
    comm.kernel.ok("golden_model = 1")
    seen["conflict"] = comm.wait_type("conflict", user, start=start)
    stepping = comm.submit("golden_model = 2")
    seen["conflict_by_job"] = comm.wait_for(
        lambda m: m["type"] == "conflict" and m["by"] == stepping, start=start
    )
    comm.kill(user)
    comm.wait_type("finished", user)
    return seen


def shape_ok(msg, gold):
    """Keys equal at every level where both sides have an object."""
    if isinstance(msg, dict) and isinstance(gold, dict):
        return sorted(msg) == sorted(gold) and all(
            shape_ok(msg[k], gold[k]) for k in msg if isinstance(gold[k], (dict, list))
        )
    if isinstance(gold, list) and gold and isinstance(gold[0], dict):
        return bool(msg) and all(shape_ok(m, gold[0]) for m in msg)
    return True


def test_a_reloaded_page_replaces_its_earlier_comms(kernel):
    """`replaces` in the comm open data closes the named comms: no more traffic to them."""
    old = kernel.open_comm()
    old.wait_type("hello")
    bystander = kernel.open_comm()  # another tab: not named, keeps its comm
    bystander.wait_type("hello")
    new = kernel.open_comm({"protocol": 2, "replaces": [old.comm_id, "no-such-comm", 7]})
    new.wait_type("hello")
    deadline = time.monotonic() + 30
    while not old.closed and time.monotonic() < deadline:
        time.sleep(0.02)
    assert old.closed, "the kernel closed the replaced comm"
    assert not bystander.closed
    seen_before = len(old.messages)
    job = new.submit('print("after the reload")')
    new.wait_type("finished", job_id=job)
    bystander.wait_type("finished", job_id=job)
    assert len(old.messages) == seen_before, "nothing more was sent to the replaced comm"
    assert "after the reload" in new.text(job)
