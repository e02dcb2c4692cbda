"""Running a benchmark's code in one fresh, bootstrapped ipykernel."""

import base64
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests", "python")]

from kernel_client import Kernel  # noqa: E402


def run(code, cfg, timeout=900):
    """Run ``code`` in a new kernel, ``cfg`` travelling as data (base64 JSON in place of
    ``%(cfg)s``, never pasted as source); the code prints its figures and its rounds as
    its last two lines of JSON, returned as (figures, rounds)."""
    blob = base64.b64encode(json.dumps(cfg).encode()).decode("ascii")
    kernel = Kernel()
    try:
        kernel.bootstrap()
        lines = kernel.ok(code % {"cfg": blob}, timeout=timeout).strip().splitlines()
    finally:
        kernel.shutdown()
    return json.loads(lines[-2]), json.loads(lines[-1])
