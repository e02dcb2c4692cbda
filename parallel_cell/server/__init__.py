"""parallel-cell's Jupyter server extension.

Two things, both optional to the rest of parallel-cell (turn them off with
``jupyter server extension disable parallel_cell.server``):

- kernel websockets send without delay (``nodelay.py``);
- background jobs' outputs reach their notebook while no page holds it (``away.py``):
  the server writes them into the file, or into the shared document when
  jupyter-collaboration is active, and hands back to the page when one comes.
"""


def _jupyter_server_extension_points():
    from .app import ParallelCellServer

    return [{"module": "parallel_cell.server", "app": ParallelCellServer}]
