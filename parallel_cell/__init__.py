"""parallel-cell: run notebook cells in the background, inside the notebook's own kernel.

The kernel side lives in :mod:`parallel_cell.runtime`; the frontend sends that module's
source to the kernel when it first connects, so nothing of ours needs to be installed in
the kernel's environment. Installing this package (``pip install .``) ships the prebuilt
JupyterLab extension.
"""

__version__ = "0.1.0"


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "parallel-cell"}]
