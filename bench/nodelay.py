"""P12: a round trip between a page and its kernel through jupyter_server's websocket,
with this package's server extension (which sets TCP_NODELAY on kernel websockets)
and without it, in the same run.

Two `jupyter server`s from the project's venv, one with `parallel_cell.server` disabled;
on each, a kernel and a websocket client like a page's (websocket-client, which sets
TCP_NODELAY on its own end, as browsers do) sends `kernel_info_request`s one at a time
and times each reply. The two servers take turns round by round; each figure is the
median of all round trips.

Prints one JSON line on stdout (read by scripts/bench.sh) and a table on stderr.
"""

import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests", "python")]

from server_client import Page, Server  # noqa: E402

ROUNDS = int(os.environ.get("PC_BENCH_ROUNDS", "7"))
N = int(os.environ.get("PC_BENCH_TRIPS", "50"))
OFF = "--ServerApp.jpserver_extensions=parallel_cell.server=False"


def _page(server):
    kernel = server.api("POST", "/api/kernels", {"name": "pc-test"})
    return Page(server, kernel["id"])


def _trips(page):
    times = []
    for _ in range(N):
        t = time.perf_counter()
        page.request("kernel_info_request", {})
        times.append((time.perf_counter() - t) * 1000)
    return times


def main():
    servers = {"with": Server(), "without": Server(args=(OFF,))}
    try:
        pages = {side: _page(server) for side, server in servers.items()}
        trips = {side: [] for side in servers}
        rounds = {side: [] for side in servers}
        for page in pages.values():
            _trips(page)  # warm-up
        for _ in range(ROUNDS):
            for side, page in pages.items():
                got = _trips(page)
                trips[side] += got
                rounds[side].append(statistics.median(got))
        for page in pages.values():
            page.close()
    finally:
        for server in servers.values():
            server.stop()
    ours, base = statistics.median(trips["with"]), statistics.median(trips["without"])
    line = {
        "id": "P12",
        "what": "page ↔ kernel round trip through the websocket, TCP_NODELAY set vs not",
        "ours": ours,
        "baseline": base,
        "unit": "ms",
        "target": "≤ 1×",
    }
    print(json.dumps(line, ensure_ascii=False))
    err = sys.stderr
    print(f"P12: {ROUNDS} interleaved rounds of {N} kernel_info round trips, ms", file=err)
    for side in servers:
        each = " ".join(f"{v:.1f}" for v in rounds[side])
        med = statistics.median(trips[side])
        print(f"  {side:<8} the extension  median {med:6.2f}  rounds {each}", file=err)


if __name__ == "__main__":
    main()
