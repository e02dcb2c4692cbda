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


class _FakeClient:
    """A kernel client that records what goes out and answers shell requests (one layer:
    the order in which KernelLink.close speaks to the kernel)."""

    def __init__(self):
        self.sent = []  # (channel, msg_type)
        self._replies = asyncio.Queue()
        outer = self

        class Channel:
            def __init__(self, name):
                self.name = name

            def send(self, msg):
                outer.sent.append((self.name, msg["header"]["msg_type"]))
                if self.name == "shell" and msg["header"]["msg_type"].endswith("_request"):
                    outer._replies.put_nowait(
                        {"parent_header": {"msg_id": msg["header"]["msg_id"]}}
                    )

        from jupyter_client.session import Session

        self.session = Session()
        self.shell_channel, self.control_channel = Channel("shell"), Channel("control")

    async def get_shell_msg(self, timeout=None):
        return await asyncio.wait_for(self._replies.get(), timeout)

    def stop_channels(self):
        self.sent.append(("all", "stop"))


def test_a_link_closes_its_comm_before_it_deletes_its_subshell():
    # The delete goes on the control channel, which overtakes the subshell's queue: had it
    # gone first, the kernel would find no subshell for the comm_close.
    from parallel_cell.server.link import KernelLink

    link = KernelLink(None, lambda msg: None, logging.getLogger("test"))
    client = link._client = _FakeClient()
    link._subshell, link.comm_id = "sub-1", "comm-1"
    asyncio.run(link.close())
    assert client.sent == [
        ("shell", "comm_close"),
        ("shell", "comm_info_request"),
        ("control", "delete_subshell_request"),
        ("all", "stop"),
    ]
