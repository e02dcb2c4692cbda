"""The server extension as a Jupyter server extension app: its settings and its life."""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Float

from .nodelay import set_nodelay


class ParallelCellServer(ExtensionApp):
    """parallel-cell on the Jupyter server (settings: ``--ParallelCellServer.<name>=…``)."""

    name = "parallel_cell"
    load_other_extensions = True

    write_when_away = Bool(
        True,
        config=True,
        help="Write background jobs' outputs into their notebook while no page holds it.",
    )
    takeover_delay = Float(
        3.0,
        config=True,
        help="Seconds after the last page left a kernel before the server writes its jobs' "
        "outputs (a reload or a short network drop should not start it).",
    )
    save_interval = Float(
        2.0,
        config=True,
        help="The server saves a notebook at most once per this many seconds while jobs "
        "print (and at once when a job ends).",
    )
    comm_grace = Float(
        150.0,
        config=True,
        help="Seconds a page's runtime comm is kept after its websocket closed, for the "
        "page to reconnect (JupyterLab retries for about two minutes); then the server "
        "closes it in the kernel if it is still open.",
    )
    hold_after_read = Float(
        10.0,
        config=True,
        help="Seconds the server does not write a notebook file after it was read through "
        "the contents API (a page opening it takes over).",
    )

    def initialize_settings(self):
        set_nodelay(self.serverapp)
        self._away = None
        if self.write_when_away:
            from .away import AwayWriter

            self._away = AwayWriter(self.serverapp, self)
            self._away.start()

    async def stop_extension(self):
        if self._away is not None:
            await self._away.stop()
