"""The wire format (docs/protocol.md): decoding client messages, building kernel ones."""

import json
import platform
import re

# The runtime's identity, "<package version>+<digest of its sources>": the loader sets
# it on the package before it runs this module (parallel_cell/_bootstrap.py).
from . import VERSION

PROTOCOL = 2
COMM_TARGET = "parallel_cell.v2"

_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}\Z")


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
    "clear": (("job_ids", "ids"),),
    "saved": (("job_ids", "ids"),),
    "text": (("job_id", "id"),),
}

# Fields a message may leave out (kept out of the decoded message when absent).
_OPTIONAL_FIELDS = {
    "submit": (("target", "target"), ("after", "id?"), ("source_hash", "id?")),
    "kill": (("restart_worker", "bool"),),
    "configure": (
        ("cluster", "str?"),
        ("cap", "count?"),
        ("log_budget", "count?"),
        ("cleanup_grace_ms", "seq?"),
        ("warn_conflicts", "bool"),
    ),
}

CLEAR_LIMIT = 10_000  # ids in one ``clear``


_SHAPE_NAMES = {
    "id": "an id of 1-64 characters [A-Za-z0-9_.:-]",
    "id?": "an id of 1-64 characters [A-Za-z0-9_.:-] or null",
    "ids": f"a list of at most {CLEAR_LIMIT} ids",
    "count?": "an integer >= 1 or null",
    "str": "a string",
    "str?": "a string or null",
    "seq": "an integer >= 0",
    "seq?": "an integer >= 0 or null",
    "count": "an integer >= 1",
    "bool": "true or false",
    "target": '"thread" or "dask"',
}


def clip(text, limit=64):
    """``text`` cut to ``limit`` characters: what a client sent is echoed, never in bulk."""
    return text if len(text) <= limit else text[:limit] + "..."


def without_surrogates(value):
    """``value`` with lone surrogates (from ``print('\\ud800')``, say) replaced by U+FFFD:
    the kernel's JSON packer cannot encode them, and the message would be lost."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {without_surrogates(k): without_surrogates(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_surrogates(v) for v in value]
    return value


def _is_id(value):
    return isinstance(value, str) and _ID_RE.match(value) is not None


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
        raise ProtocolError(f"unknown message type: {json.dumps(clip(kind))}")
    # Echoed in the error only when it is a valid id: the answer must decode too.
    job_id = data.get("job_id")
    job_id = job_id if isinstance(job_id, str) and _ID_RE.match(job_id) else None
    msg = {"type": kind}
    for field, shape in _CLIENT_FIELDS[kind]:
        if field not in data:
            raise ProtocolError(f'{kind}: missing field "{field}"', job_id)
        msg[field] = _checked(kind, field, shape, data[field], job_id)
    for field, shape in _OPTIONAL_FIELDS.get(kind, ()):
        if field in data:
            msg[field] = _checked(kind, field, shape, data[field], job_id)
    return msg


_SHAPES = {
    "id": _is_id,
    "id?": lambda v: v is None or _is_id(v),
    "ids": lambda v: isinstance(v, list) and len(v) <= CLEAR_LIMIT and all(map(_is_id, v)),
    "str": lambda v: isinstance(v, str),
    "str?": lambda v: v is None or isinstance(v, str),
    "seq": lambda v: _is_int(v) and v >= 0,
    "seq?": lambda v: v is None or (_is_int(v) and v >= 0),
    "count": lambda v: _is_int(v) and v >= 1,
    "count?": lambda v: v is None or (_is_int(v) and v >= 1),
    "bool": lambda v: isinstance(v, bool),
    "target": lambda v: v in ("thread", "dask"),
}


def _checked(kind, field, shape, value, job_id):
    ok = _SHAPES[shape](value)
    if not ok:
        raise ProtocolError(f'{kind}: field "{field}" must be {_SHAPE_NAMES[shape]}', job_id)
    return value


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
    return with_target(
        job,
        {
            "type": "started",
            "job_id": job.job_id,
            "num": job.num,
            "first_line": job.first_line,
            "cell_id": job.cell_id,
            "notebook": job.notebook,
            "started_at": job.started_at,
            "origin": job.origin,
            **_chain_fields(job),
        },
    )


def _chain_fields(job):
    """``after`` and ``source_hash`` when set (a ``started`` without them reads as in v1)."""
    fields = {}
    if job.after is not None:
        fields["after"] = job.after
    if job.source_hash is not None:
        fields["source_hash"] = job.source_hash
    return fields


def msg_queued(job):
    msg = {
        "type": "queued",
        "job_id": job.job_id,
        "num": job.num,
        "first_line": job.first_line,
        "cell_id": job.cell_id,
        "notebook": job.notebook,
        "origin": job.origin,
        "after": job.after,
        "source_hash": job.source_hash,
    }
    if job.target != "thread":
        msg["target"] = job.target
    return msg


def msg_cleared(job_ids):
    return {"type": "cleared", "job_ids": list(job_ids)}


def msg_log_trimmed(job_id, reason):
    return {"type": "log_trimmed", "job_id": job_id, "reason": reason}


def msg_text(job_id, text, last):
    return {"type": "text", "job_id": job_id, "text": text, "last": last}


def with_target(job, msg):
    """``msg`` with where a cluster job runs (thread jobs leave the fields out)."""
    if job.target != "thread":
        msg.update(target=job.target, worker=job.worker, dashboard=job.dashboard)
    return msg


def msg_placed(job):
    return {
        "type": "placed",
        "job_id": job.job_id,
        "worker": job.worker,
        "started_at": job.started_at,
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


def msg_threads(job_id, running):
    """After a job's code ended: how many threads it started still run (0: the last
    ended; the job takes no more output)."""
    return {"type": "threads", "job_id": job_id, "running": running}


def msg_conflict(job_id, names, by):
    """A cell about to run rebinds ``names`` that job ``job_id`` uses (``by``: the job
    that does, None for a foreground cell)."""
    return {"type": "conflict", "job_id": job_id, "names": names, "by": by}


def msg_jobs(jobs):
    return {"type": "jobs", "jobs": [job.info() for job in jobs]}


def msg_error(message, job_id=None):
    return {"type": "error", "message": message, "job_id": job_id}
