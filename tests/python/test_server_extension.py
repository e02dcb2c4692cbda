"""The server extension's TCP_NODELAY on kernel websockets, at unit level (a stand-in
handler; the latency it buys is measured by `make bench`, P1). What it writes with no
page open is tested against a real server in test_away.py.
"""

import asyncio
import logging

import pytest

websocket = pytest.importorskip(
    "jupyter_server.services.kernels.websocket",
    reason="jupyter_server is not installed in this venv (the ipykernel 6 one has only a kernel)",
)


class _App:
    log = logging.getLogger("test-server-extension")


class _Handler:
    """Stands in for a KernelWebsocketHandler: records what the patched open does."""

    log = logging.getLogger("test-server-extension")

    def __init__(self, fail=False):
        self.calls = []
        self.fail = fail

    def set_nodelay(self, value):
        self.calls.append(("set_nodelay", value))
        if self.fail:
            raise RuntimeError("no stream")


@pytest.fixture
def patched(monkeypatch):
    handler_cls = websocket.KernelWebsocketHandler
    seen = []

    async def original_open(self, kernel_id):
        self.calls.append(("open", kernel_id))
        seen.append(kernel_id)
        return "opened"

    monkeypatch.setattr(handler_cls, "open", original_open)
    from parallel_cell.server.nodelay import set_nodelay

    set_nodelay(_App())
    set_nodelay(_App())  # idempotent: wrapped once
    return handler_cls.open


def test_open_sets_nodelay_then_opens(patched):
    handler = _Handler()
    assert asyncio.run(patched(handler, "k1")) == "opened"
    assert handler.calls == [("set_nodelay", True), ("open", "k1")]


def test_a_failing_nodelay_never_stops_the_kernel_websocket(patched):
    handler = _Handler(fail=True)
    assert asyncio.run(patched(handler, "k2")) == "opened"
    assert handler.calls == [("set_nodelay", True), ("open", "k2")]


def test_extension_point_names_the_module_and_its_app():
    from parallel_cell import server
    from parallel_cell.server.app import ParallelCellServer

    assert server._jupyter_server_extension_points() == [
        {"module": "parallel_cell.server", "app": ParallelCellServer}
    ]
    assert ParallelCellServer.name == "parallel_cell"
