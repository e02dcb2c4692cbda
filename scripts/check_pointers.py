"""Every path a tracked file names leads to a file that exists.

Looks for repository paths (``docs/…``, ``scripts/…``, ``tests/…``, ``parallel_cell/…``,
``crate/…``, ``labextension/…``, ``bench/…``, ``examples/…``) in code, docs and
configuration, and at relative Markdown links; a path counts when it exists from the
root or from the naming file's folder (``tests/web.rs`` in ``crate/``). Globs must match
something. Generated and built paths are listed in ``BUILT``.
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUFFIXES = (".md", ".py", ".ts", ".rs", ".mjs", ".sh", ".toml", ".json", ".txt", "Makefile")
PATH = re.compile(
    r"(?<![\w./$-])((?:docs|scripts|tests|parallel_cell|crate|labextension|bench|examples)"
    r"/[\w./*-]*[\w*])(?![\w.-]*[$<{])"  # not a template: scripts/test-$layer.sh
)
LINK = re.compile(r"\]\(([^)#\s]+)")
# Made by the build or the tests, not kept in git.
BUILT = re.compile(
    r"^(parallel_cell/labextension|parallel_cell/_version\.py|labextension/lib|"
    r"labextension/src/core|labextension/src/bootstrap\.generated\.ts|build/)"
)


def named_paths(path: Path, text: str):
    found = set(PATH.findall(text))
    if path.suffix == ".md":
        for target in LINK.findall(text):
            if "://" not in target and not target.startswith("mailto:"):
                found.add(str((path.parent / target).relative_to(ROOT)))
    return {p.rstrip(".") for p in found}


def exists(named: str, where: Path) -> bool:
    if BUILT.match(named):
        return True
    for base in (ROOT, where.parent):
        if "*" in named:
            if any(base.glob(named)):
                return True
        elif (base / named).exists():
            return True
    return False


def main() -> int:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    broken = []
    for name in tracked:
        if not name.endswith(SUFFIXES) or name.startswith("tests/golden/") or "lock" in name:
            continue
        if name == "scripts/check_pointers.py":  # its own examples
            continue
        path = ROOT / name
        text = path.read_text(encoding="utf-8", errors="replace")
        for named in sorted(named_paths(path, text)):
            if not exists(named, path):
                broken.append(f"{name}: {named}")
    for line in broken:
        print(f"no such file: {line}")
    print(f"pointers: {len(broken)} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
