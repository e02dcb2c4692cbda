"""One stream output bounded as the page bounds it (``labextension/src/bounded.ts``; the
same rules, checked on both sides against ``tests/golden/bounded.json``; pure).

Past the limit an output keeps its head (a fifth of the limit, cut at a line end), one
gap line, then its live tail, with carriage returns applied as a terminal does. The gap
line is the format the page and the server share: found in the text itself, it is the
first line that starts with "⋯ " and ends with " ⋯", and its first two numbers are the
lines and the characters it hides; so either writer goes on with what the other bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STREAM_LIMIT = 20_000  # the page setting's default (labextension/schema/plugin.json)
MIN_LIMIT = 10_000  # and its minimum
HEAD_SHARE = 0.2
# The page's words (cells.ts) before translation; numbers as en-US `toLocaleString`.
GAP = (
    "⋯ {lines:,} lines ({chars:,} characters) not shown here: "
    "Save output in the job's row of Background Jobs keeps them ⋯"
)
_GAP_LINE = re.compile(r"(?:^|\n)(⋯ [^\n]* ⋯)\n")
_NUMBER = re.compile(r"[0-9](?:[0-9.,'\u00a0\u202f]*[0-9])?")


@dataclass
class Bounded:
    """A bounded stream output's parts."""

    head: str
    tail: str = ""
    hidden_chars: int = 0
    hidden_lines: int = 0

    def text(self) -> str:
        sep = "" if self.head.endswith("\n") else "\n"
        gap = GAP.format(lines=self.hidden_lines, chars=self.hidden_chars)
        return f"{self.head}{sep}{gap}\n{self.tail}"


def overwrite(text: str) -> str:
    """``text`` with each line's carriage returns applied, as a terminal shows it."""
    if "\r" not in text:
        return text
    lines = []
    for line in re.sub(r"\r+\n", "\n", text).split("\n"):
        parts = line.split("\r")
        shown = parts[0]
        for part in parts[1:]:
            shown = part + shown[len(part) :]
        # A trailing \r stays, so the next write overwrites the line.
        lines.append(shown + "\r" if line.endswith("\r") else shown)
    return "\n".join(lines)


def parse_gap(text: str) -> Bounded | None:
    """The parts of a stream output's text that has a gap line, else ``None``."""
    found = _GAP_LINE.search(text)
    if found is None:
        return None
    numbers = _NUMBER.findall(found.group(1))
    if len(numbers) < 2:
        return None
    lines, chars = (int(re.sub(r"[^0-9]", "", n)) for n in numbers[:2])
    return Bounded(text[: found.start(1)], text[found.end() :], chars, lines)


def bounded_text(before: str | None, added: str, limit: int = STREAM_LIMIT) -> str | None:
    """The text of a stream output after ``added`` joins ``before`` (the last output's
    text when it is a stream of the same name, else ``None``), bounded to ``limit``;
    ``None`` while it is under the limit and has no gap yet (a plain append does it)."""
    head_max = int(limit * HEAD_SHARE)
    bounded = None if before is None else parse_gap(before)
    if bounded is not None:
        # Carriage returns act on the tail's last line and what is added.
        _fit_head(bounded, head_max)
        start = bounded.tail.rfind("\n") + 1
        tail = bounded.tail[:start] + overwrite(bounded.tail[start:] + added)
        _trim(bounded, tail, limit)
        return bounded.text()
    if len(before or "") + len(added) <= limit:
        return None
    everything = overwrite((before or "") + added)
    newline = everything.rfind("\n", 0, head_max + 1)
    bounded = Bounded(everything[: newline + 1 if newline > 0 else head_max])
    _trim(bounded, everything[len(bounded.head) :], limit)
    return bounded.text()


def _fit_head(bounded: Bounded, head_max: int) -> None:
    """A head longer than this writer's (another writer's limit was larger) gives way."""
    if len(bounded.head) > head_max:
        newline = bounded.head.rfind("\n", 0, head_max + 1)
        cut = newline + 1 if newline > 0 else head_max
        moved = bounded.head[cut:]
        bounded.head = bounded.head[:cut]
        # What leaves the head comes right before what the gap hid: the counts add up.
        bounded.hidden_chars += len(moved)
        bounded.hidden_lines += moved.count("\n")


def _trim(bounded: Bounded, tail: str, limit: int) -> None:
    """Set ``bounded``'s tail to ``tail``, cut from the front (at a line start) to fit."""
    room = limit - len(bounded.head)
    if len(tail) > room:
        cut = len(tail) - room
        newline = tail.find("\n", cut)
        if 0 <= newline < cut + 1000:
            cut = newline + 1
        bounded.hidden_chars += cut
        bounded.hidden_lines += tail.count("\n", 0, cut)
        tail = tail[cut:]
    bounded.tail = tail
