"""Fixtures: real ipykernels, bootstrapped with the parallel-cell runtime."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kernel_client import Kernel  # noqa: E402

from parallel_cell._bootstrap import runtime_version  # noqa: E402


def _ipykernel_major():
    import ipykernel

    return int(ipykernel.__version__.split(".")[0])


IPYKERNEL_MAJOR = _ipykernel_major()
RUNTIME = "__import__('_parallel_cell_runtime')"


@pytest.fixture(scope="module")
def kernel():
    """One bootstrapped kernel shared by a test module."""
    k = Kernel()
    try:
        k.bootstrap()
        yield k
    finally:
        k.shutdown()


@pytest.fixture
def fresh_kernel():
    """A kernel of its own, not bootstrapped."""
    k = Kernel()
    try:
        yield k
    finally:
        k.shutdown()


@pytest.fixture
def comm(kernel):
    """A comm to the runtime, opened and greeted."""
    c = kernel.open_comm()
    hello = c.wait_type("hello")
    assert hello["runtime"] == runtime_version()
    return c


@pytest.fixture
def grace(kernel):
    """Set the cleanup grace for one test (through ``jobs.configure``), then restore it."""
    before = kernel.evaluate(f"{RUNTIME}.Config.cleanup_grace_seconds")

    def set_grace(seconds):
        kernel.ok(f"{RUNTIME}.jobs.configure(cleanup_grace_seconds={seconds})")

    yield set_grace
    set_grace(before)
    assert kernel.evaluate(f"{RUNTIME}.Config.cleanup_grace_seconds") == before


class Gate:
    """A file the test creates when a cell may go on. A cell that waits on it is still
    running for certain until ``open()``: "while the cell runs" is then a fact, not a
    timing, however loaded the machine."""

    def __init__(self, path):
        self.path = path

    def code(self, indent=""):
        """Lines that wait for the gate, to put in a cell (in a body: ``indent``)."""
        return (
            f"{indent}import os as _gate_os, time as _gate_time\n"
            f"{indent}while not _gate_os.path.exists({str(self.path)!r}):\n"
            f"{indent}    _gate_time.sleep(0.01)\n"
        )

    def open(self):
        self.path.touch()

    def close(self):
        self.path.unlink(missing_ok=True)


@pytest.fixture
def gate(tmp_path):
    return Gate(tmp_path / "gate")
