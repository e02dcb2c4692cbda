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
