"""The `configure` message: log limit, kill and cleanup grace, interruptible sleep, per
kernel."""

import time

import pytest

DEFAULTS = {"log_limit": 5000, "kill_grace_ms": 500, "interruptible_sleep": True}
DISPLAY_20 = "from IPython.display import display\nfor i in range(20):\n    display(i)"
CONFIG = "__import__('_parallel_cell_runtime').Config"


def configure(comm, **settings):
    comm.send({"type": "configure", **{**DEFAULTS, **settings}})


@pytest.fixture
def settings(kernel, comm):
    """A comm whose runtime settings are put back to the defaults afterwards."""
    yield comm
    configure(comm)
    # A list is answered after the configure was handled (one handler at a time).
    start = len(comm.messages)
    comm.send({"type": "list"})
    comm.wait_type("jobs", start=start)
    assert kernel.evaluate(f"{CONFIG}.log_limit_outputs") == "5000"


def _config(kernel):
    return (
        kernel.evaluate(f"{CONFIG}.log_limit_outputs"),
        kernel.evaluate(f"{CONFIG}.kill_grace_seconds"),
        kernel.evaluate(f"{CONFIG}.interruptible_sleep"),
    )


def test_configure_sets_the_runtime_config_and_is_not_answered(kernel, settings):
    start = len(settings.messages)
    configure(settings, log_limit=7, kill_grace_ms=1250, interruptible_sleep=False)
    settings.send({"type": "list"})
    settings.wait_type("jobs", start=start)
    assert [m["type"] for m in settings.messages[start:]] == ["jobs"]  # no answer
    assert _config(kernel) == ("7", "1.25", "False")


def test_the_cleanup_grace_is_set_and_left_alone_when_missing(kernel, settings):
    grace = f"{CONFIG}.cleanup_grace_seconds"
    try:
        configure(settings, cleanup_grace_ms=750)
        settings.request({"type": "list"}, "jobs")
        assert kernel.evaluate(grace) == "0.75"
        configure(settings)  # without the field: as it was
        settings.request({"type": "list"}, "jobs")
        assert kernel.evaluate(grace) == "0.75"
        start = len(settings.messages)
        configure(settings, cleanup_grace_ms=-5)
        assert "cleanup_grace_ms" in settings.wait_type("error", start=start)["message"]
        assert kernel.evaluate(grace) == "0.75"
    finally:
        configure(settings, cleanup_grace_ms=2000)
        settings.request({"type": "list"}, "jobs")


@pytest.mark.parametrize(
    "field,value",
    [
        ("log_limit", 0),
        ("log_limit", -3),
        ("log_limit", True),
        ("log_limit", "100"),
        ("log_limit", 1.5),
        ("log_limit", None),
        ("kill_grace_ms", -1),
        ("kill_grace_ms", 0.5),
        ("kill_grace_ms", False),
        ("interruptible_sleep", 1),
        ("interruptible_sleep", "yes"),
        ("interruptible_sleep", None),
    ],
)
def test_bad_values_are_refused_with_a_typed_error(kernel, settings, field, value):
    before = _config(kernel)
    start = len(settings.messages)
    settings.send({"type": "configure", **{**DEFAULTS, field: value}})
    error = settings.wait_type("error", start=start)
    assert field in error["message"] and error["job_id"] is None
    assert _config(kernel) == before  # nothing half-applied
    assert settings.run("print('still fine')")["state"] == "done"


def test_a_missing_field_is_refused(kernel, settings):
    start = len(settings.messages)
    settings.send({"type": "configure", "log_limit": 10, "interruptible_sleep": True})
    assert '"kill_grace_ms"' in settings.wait_type("error", start=start)["message"]
    assert kernel.evaluate(f"{CONFIG}.log_limit_outputs") == "5000"


def _replay(comm, job):
    start = len(comm.messages)
    comm.send({"type": "replay", "job_id": job, "since": 0})
    return comm.wait_type("output", job, start=start)


def test_log_limit_applies_to_replay_logs(settings):
    configure(settings, log_limit=5)
    job = settings.submit(DISPLAY_20)
    settings.wait_type("finished", job)
    assert len(settings.outputs(job)) == 20  # the live stream is complete
    marker, *rest = _replay(settings, job)["outputs"]
    assert "16 earlier output(s)" in marker["text"] and "5 outputs" in marker["text"]
    assert [o["data"]["text/plain"] for o in rest] == ["16", "17", "18", "19"]


def test_a_lower_log_limit_trims_the_logs_already_kept(settings):
    job = settings.submit(DISPLAY_20)
    settings.wait_type("finished", job)
    assert len(_replay(settings, job)["outputs"]) == 20
    configure(settings, log_limit=3)
    marker, *rest = _replay(settings, job)["outputs"]
    assert "18 earlier output(s)" in marker["text"]
    assert [o["data"]["text/plain"] for o in rest] == ["18", "19"]


def _ran(comm, job, finished):
    """Seconds the job ran, on the kernel's clock (from its ``started`` to its end)."""
    return (finished["ended_at"] - comm.wait_type("started", job)["started_at"]) / 1000


def _kill_sleeping_job(comm, seconds, timeout=None):
    """Start a job sleeping ``seconds``, kill it; returns (reason msg or None, finished,
    seconds the kernel sent the reason before the end, seconds the job ran). Times are
    the kernel's: a reader slowed by a loaded machine does not change them. The job must
    end within ``timeout`` of the kill (by default, 10 s after its sleep)."""
    job = comm.submit(f"import time\ntime.sleep({seconds})\nafter_sleep = True")
    comm.wait_type("started", job)
    time.sleep(0.2)
    start = len(comm.messages)
    comm.kill(job)
    found = {}

    def seen(m):
        if m.get("job_id") == job and m["type"] == "cancelling" and m["reason"]:
            found.setdefault("reason", m)
        return m.get("job_id") == job and m["type"] == "finished"

    finished = comm.wait_for(seen, timeout=timeout or seconds + 10, start=start)
    reason = found.get("reason")
    lead = None if reason is None else comm.sent_apart(reason, finished)
    return reason, finished, lead, _ran(comm, job, finished)


def test_sleep_is_interruptible_by_default(settings):
    reason, finished, _, _ = _kill_sleeping_job(settings, 1000, timeout=20)
    assert finished["state"] == "killed" and reason is None


def test_sleep_not_interruptible_when_off_and_grace_decides_the_reason(kernel, settings):
    # Off: the kill takes effect when the sleep returns; meanwhile the job is honestly
    # cancelling, with the reason once the grace has passed.
    configure(settings, interruptible_sleep=False, kill_grace_ms=0)
    reason, finished, lead, ran = _kill_sleeping_job(settings, 4)
    print(f"sleep(4) not interruptible: reason {lead:.2f} s before the end, ran {ran:.2f} s")
    assert finished["state"] == "killed" and finished["assigned"] == []
    assert ran >= 3.9  # not before the sleep returned
    assert reason is not None and lead > 1.0  # sent while the sleep still ran
    assert "time.sleep(4)" in reason["reason"]
    # A long grace: the sleep returns (and the kill lands) before any reason is given.
    configure(settings, interruptible_sleep=False, kill_grace_ms=60_000)
    reason, finished, _, ran = _kill_sleeping_job(settings, 1.5)
    assert finished["state"] == "killed" and reason is None and ran >= 1.4
    # Event.wait with a timeout is the original too.
    job = settings.submit("import threading\nthreading.Event().wait(1.5)\nwhile True:\n    pass")
    settings.wait_type("started", job)
    settings.kill(job)
    finished = settings.wait_type("finished", job)
    assert finished["state"] == "killed" and _ran(settings, job, finished) >= 1.4
    # Back on: interruptible again.
    configure(settings, interruptible_sleep=True)
    reason, finished, _, _ = _kill_sleeping_job(settings, 1000, timeout=20)
    assert finished["state"] == "killed"
    assert kernel.ok("print('alive')") == "alive\n"
