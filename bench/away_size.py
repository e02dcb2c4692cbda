"""P13: the notebook file's size after a job prints ~20 MB with no page open.

A real `jupyter server` with the extension and a real kernel; a page (a kernel websocket)
starts the job and leaves, the server writes its output into the file. Figure: the
file's size once the last line is in it, beside the bytes printed. Bound: the person's
``streamLimit`` (default 20,000 characters) plus the notebook around it.

Before the server bounded stream outputs, the file held every byte printed (and each save
re-added the text line by line, so 20 MB did not finish in any reasonable time: measure
the old code with ``--mb 1`` or ``--mb 2``).

    .venv/bin/python bench/away_size.py [--mb 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "python"), str(ROOT)]

from kernel_client import wait_until  # noqa: E402
from server_client import Page, Server, notebook  # noqa: E402

LINE = 50  # characters a printed line takes, its newline included


def _has(path: Path, needle: str) -> bool:
    try:
        text = path.read_text()
        json.loads(text)  # not caught mid-save
    except ValueError:
        return False
    return needle in text


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=20.0, help="megabytes the job prints")
    parser.add_argument(
        "--seconds", type=float, default=0.0, help="spread the printing over this long"
    )
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    lines = int(args.mb * 1_000_000 / LINE)
    pause = args.seconds / max(1, lines // 1000)  # after every 1,000 lines
    code = (
        f"import time\nfor i in range({lines}):\n    print(f'line {{i:09d}} ' + 'x' * 34)\n"
        f"    if i % 1000 == 999:\n        time.sleep({pause})\nprint('END')"
    )
    server = Server({"big.ipynb": notebook([code])})
    try:
        kid = server.session("big.ipynb")
        page = Page(server, kid)
        job = page.submit("big.ipynb", "cell-0", code)
        page.wait_type("output", job)
        page.close()
        path = server.root / "big.ipynb"
        start = time.monotonic()
        wait_until(lambda: _has(path, "END\\n"), timeout=args.timeout, interval=0.5)
        took = time.monotonic() - start
        size = path.stat().st_size
    finally:
        server.stop()
    printed = lines * LINE + 4
    print(
        json.dumps(
            {
                "id": "P13",
                "what": f"notebook file size after a job printed {printed / 1e6:.1f} MB "
                "with no page open (the server writes it)",
                "ours": size / 1000,
                "baseline": printed / 1000,
                "unit": "kB",
                "target": "≤ streamLimit (20,000 characters) + the notebook",
                "absolute": True,
            }
        )
    )
    print(
        f"P13: printed {printed:,} bytes; file {size:,} bytes; last line on disk "
        f"{took:.1f} s after the page left",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
