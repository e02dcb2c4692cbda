"""Kernel websockets send without delay.

jupyter_server never sets ``TCP_NODELAY`` on the websocket between the page and a
kernel, so small messages (a comm ``submit``, a ``started`` answer, an ``execute_reply``)
meet Nagle's algorithm and the client's delayed ACK: a round trip between a page and
its kernel through the websocket took 44 ms, 3.1 ms with the flag set (``make bench``,
P12; jupyter_client straight to the kernel: ~2 ms). tornado
documents ``WebSocketHandler.set_nodelay(True)`` for exactly this case; this extension
calls it when a kernel websocket opens. It changes no message and no protocol.

"""

import functools

_PATCHED = "_parallel_cell_nodelay"


def set_nodelay(serverapp):
    """Make every kernel websocket opened from now on send at once."""
    try:
        from jupyter_server.services.kernels.websocket import KernelWebsocketHandler
    except ImportError as err:  # a jupyter_server without that handler: leave it alone
        serverapp.log.warning("parallel-cell: kernel websockets left as they are (%s)", err)
        return
    if getattr(KernelWebsocketHandler.open, _PATCHED, False):
        return
    original = KernelWebsocketHandler.open

    @functools.wraps(original)
    async def open(self, *args, **kwargs):
        try:
            self.set_nodelay(True)
        except Exception as err:  # noqa: BLE001 - an optimisation must never break a kernel
            self.log.debug("parallel-cell: could not set TCP_NODELAY: %s", err)
        return await original(self, *args, **kwargs)

    setattr(open, _PATCHED, True)
    KernelWebsocketHandler.open = open
    serverapp.log.info("parallel-cell: kernel websockets send without delay (TCP_NODELAY)")
