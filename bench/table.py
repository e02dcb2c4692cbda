"""Read benchmark figures (JSON lines) on stdin; print one table, each figure beside its
baseline and their ratio, and write it with the machine's description to
docs/benchmarks.md."""

import datetime
import json
import os
import platform
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def verdict(f):
    ours, base = f["ours"], f["baseline"]
    target = f["target"]
    if "additive" in f:  # `extra`: a cost measured as such (paired), else ours - baseline
        extra = f.get("extra", ours - base)
        return f"{extra:+.0f} {f['unit']}", extra <= f["additive"]
    if "budget" in f:  # a bound of its own; the baseline is there for comparison
        return (f"{ours / base:.2f}×" if base else "—"), ours <= f["budget"]
    if f.get("absolute"):
        ok = ours >= base if f.get("higherIsBetter") else ours <= base
        return "—", ok
    ratio = ours / base if base else float("inf")
    bound = float(re.search(r"[\d.]+", target).group())
    ok = ratio >= bound if f.get("higherIsBetter") else ratio <= bound
    return f"{ratio:.2f}×", ok


def fmt(v):
    return f"{v:.3f}" if v < 1 else f"{v:.1f}" if v < 100 else f"{v:.0f}"


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30

    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"

    return (
        f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}; "
        f"{version(['/usr/bin/chromium', '--version']) or 'Chromium ?'}; "
        f"load average at the end {os.getloadavg()[0]:.2f}"
    )


def main():
    figures = []
    for line in sys.stdin:
        line = line.strip()
        if line.startswith("{"):
            figures.append(json.loads(line))
    rows = [
        "| | what | ours | baseline / budget | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for f in figures:
        ratio, ok = verdict(f)
        what = f["what"] + (f" — {f['notes']}" if f.get("notes") else "")
        rows.append(
            f"| {f['id']} | {what} | {fmt(f['ours'])} {f['unit']} "
            f"| {fmt(f['baseline'])} {f['unit']} | {ratio} | {f['target']} "
            f"| {'yes' if ok else '**no**'} |"
        )
    table = "\n".join(rows)
    print(table)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    with open(os.path.join(ROOT, "docs", "benchmarks.md"), "w") as out:
        out.write(
            "# Benchmarks\n\n"
            "Written by `make bench` (scripts/bench.sh). Each figure stands beside its baseline,\n"
            "measured in the same run on the same machine, so that the machine's noise weighs\n"
            "on both. These are figures, not tests: nothing here fails a build.\n\n"
            f"Run: {stamp}. Machine: {machine()}.\n\n{table}\n"
        )


if __name__ == "__main__":
    main()
