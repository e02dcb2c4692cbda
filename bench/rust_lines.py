"""Turn the panel benchmark's `bench: what: X ms (budget Y ms, …)` lines into figures."""

import json
import re
import sys

LINE = re.compile(r"^bench: (.*): ([\d.]+) ms \(budget ([\d.]+) ms")

for line in sys.stdin:
    m = LINE.match(line.strip())
    if not m:
        continue
    what, ours, budget = m.group(1), float(m.group(2)), float(m.group(3))
    if "not a budget" in what:
        continue
    print(
        json.dumps(
            {
                "id": "P4",
                "what": f"panel: {what}",
                "ours": ours,
                "baseline": budget,
                "unit": "ms",
                "target": f"≤ {budget:g} ms",
                "absolute": True,
            },
            ensure_ascii=False,
        )
    )
