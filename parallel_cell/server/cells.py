"""A job's outputs into its notebook cell, as a page writes them (pure: dicts in and out).

The server writes a job's outputs while no page holds its notebook, so that the file reads
exactly as if a page had written them: stream text of one name merged into one output
with carriage returns and backspaces applied, ``clear_output`` (also ``wait=True``),
``update_display_data`` by display id, and the replay mark in the cell's metadata
(``parallel_cell: {job, seq}``: the job's wire id and the seq of its next output), which
tells the next writer — a page, or this server again — where to go on from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .streams import STREAM_LIMIT, bounded_text

MARK_KEY = "parallel_cell"

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = (1 << 64) - 1


def source_hash(code: str) -> str:
    """The fingerprint of a cell's source that the page sends with a job (FNV-1a, 64 bits,
    over UTF-8): the same function as the wasm core's ``source_hash``."""
    h = _FNV_OFFSET
    for b in code.encode("utf-8"):
        h = ((h ^ b) * _FNV_PRIME) & _MASK
    return f"{h:016x}"


def cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def read_mark(cell: dict) -> tuple[str, int] | None:
    """The cell's replay mark ``(job, seq)``, or ``None`` when it has none that is valid."""
    mark = (cell.get("metadata") or {}).get(MARK_KEY)
    if not isinstance(mark, dict):
        return None
    job, seq = mark.get("job"), mark.get("seq")
    if isinstance(seq, float) and seq.is_integer():
        seq = int(seq)  # a shared document keeps numbers as floats (JavaScript's numbers)
    if isinstance(job, str) and isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0:
        return job, seq
    return None


def set_mark(cell: dict, job: str, seq: int) -> None:
    cell.setdefault("metadata", {})[MARK_KEY] = {"job": job, "seq": seq}


def find_cell(cells: list[dict], cell_id: str | None, hash_: str | None) -> tuple[int | None, str]:
    """The index of a job's code cell: by id, else the one code cell whose source has the
    job's fingerprint (cells without stored ids get new ids on every load). Returns
    ``(index, "")`` or ``(None, why)``."""
    if cell_id is not None:
        for i, cell in enumerate(cells):
            if cell.get("id") == cell_id:
                if cell.get("cell_type") != "code":
                    return None, "its cell is not a code cell any more"
                return i, ""
    if not hash_:
        return None, "its cell is not in the notebook any more"
    matches = [
        i
        for i, cell in enumerate(cells)
        if cell.get("cell_type") == "code" and source_hash(cell_source(cell)) == hash_
    ]
    if len(matches) == 1:
        return matches[0], ""
    if matches:
        return None, f"{len(matches)} cells have the code it ran and none is known to be its own"
    return None, "its cell is not in the notebook any more (deleted, or its code changed)"


@dataclass(frozen=True)
class Plan:
    """What to do for one job's cell when this server starts writing it.

    ``since``: the first seq the cell lacks (``None``: leave the cell alone); ``clear``:
    empty the cell first (the cell shows an earlier run; a job is a new run)."""

    since: int | None
    clear: bool = False


def plan(cell: dict, wire_id: str, origin: str, superseded: bool) -> Plan:
    """The same decision as a page adopting a job (``cells.ts``, ``adopted``)."""
    if superseded:
        return Plan(None)
    mark = read_mark(cell)
    if mark is not None and mark[0] == wire_id:
        return Plan(mark[1])
    if origin == "kernel":
        # The cell ran `%job` in the foreground: its own outputs stay; the job's follow.
        return Plan(0)
    return Plan(0, clear=True)


def claim(cell: dict, wire_id: str) -> None:
    """The cell starts empty, as when the job was started from a page."""
    cell["outputs"] = []
    cell["execution_count"] = None
    metadata = cell.setdefault("metadata", {})
    metadata.pop("execution", None)
    set_mark(cell, wire_id, 0)


def process_text(index: int, new: str, text: str = "") -> tuple[str, int]:
    """Add stream text ``new`` to ``text`` at cursor ``index`` the way JupyterLab's output
    model does (``processText`` in ``@jupyterlab/outputarea``, 4.6): ``\\b`` deletes, ``\\r``
    goes back to the start of the line and later text overwrites, ``\\n`` starts a new
    line at the end. Returns the new text and cursor, so that a file the server wrote
    reads as one a page wrote."""
    if not any(c in new for c in "\b\r\n"):
        return text[:index] + new + text[index + len(new) :], index + len(new)
    at = index
    last = 0
    while True:
        found = [k for k in (new.find(c, last) for c in "\n\b\r") if k >= 0]
        stop = min(found) if found else -1
        prefix = new[last : len(new) if stop == -1 else stop]
        text = text[:at] + prefix + text[at + len(prefix) :]
        last = stop + 1
        at += len(prefix)
        if stop == -1:
            break
        char = new[stop]
        if char == "\b":
            if at > 0 and text[at - 1] != "\n":
                text = text[: at - 1] + text[at + 1 :]
                at -= 1
        elif char == "\r":
            while at > 0 and text[at - 1] != "\n":
                at -= 1
        else:
            text += "\n"
            at = len(text)
    return text, at


def _bundle(value) -> bool:
    """A mime bundle as nbformat allows it: mime type → text, lines, or JSON."""
    return isinstance(value, dict) and all(isinstance(k, str) for k in value)


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def well_formed(output) -> bool:
    """Whether ``output`` (from the kernel: untrusted) is an nbformat 4 output, or one of
    the instructions `clear_output`/`update_display_data`, that can go into a notebook
    file without making it invalid. Anything else is left out."""
    if not isinstance(output, dict):
        return False
    kind = output.get("output_type")
    if kind == "stream":
        return output.get("name") in ("stdout", "stderr") and (
            isinstance(output.get("text"), str) or _strings(output.get("text"))
        )
    if kind in ("display_data", "update_display_data", "execute_result"):
        ok = _bundle(output.get("data")) and isinstance(output.get("metadata", {}), dict)
        if kind == "execute_result":
            count = output.get("execution_count")
            ok = ok and (count is None or (isinstance(count, int) and not isinstance(count, bool)))
        return ok
    if kind == "error":
        return (
            isinstance(output.get("ename"), str)
            and isinstance(output.get("evalue"), str)
            and _strings(output.get("traceback"))
        )
    return kind == "clear_output"


_FIELDS = {
    "stream": ("output_type", "name", "text"),
    "display_data": ("output_type", "data", "metadata"),
    "execute_result": ("output_type", "data", "metadata", "execution_count"),
    "error": ("output_type", "ename", "evalue", "traceback"),
}


@dataclass
class CellOutputs:
    """What a writer must remember about one cell between writes: where each display id
    is shown, and whether a ``clear_output(wait=True)`` waits for the next output."""

    displays: dict[str, list[int]] = field(default_factory=dict)
    clear_pending: bool = False
    cursor: int | None = None  # where the last stream output's next text goes

    def apply(self, cell: dict, outputs: list[dict], limit: int = STREAM_LIMIT) -> None:
        """Add ``outputs`` to ``cell``; a stream output past ``limit`` characters is
        bounded as the page bounds it (``streams.py``)."""
        area = cell.setdefault("outputs", [])
        for output in outputs:
            if not well_formed(output):
                continue
            kind = output.get("output_type")
            if kind == "clear_output":
                if output.get("wait"):
                    self.clear_pending = True
                else:
                    area.clear()
                    self.displays.clear()
                    self.clear_pending = False
                    self.cursor = None
                continue
            if kind == "update_display_data":
                display_id = (output.get("transient") or {}).get("display_id")
                for index in self.displays.get(display_id, []) if display_id else []:
                    if index < len(area):
                        area[index] = {
                            "output_type": "display_data",
                            "data": output.get("data") or {},
                            "metadata": output.get("metadata") or {},
                        }
                continue
            if self.clear_pending:
                area.clear()
                self.displays.clear()
                self.clear_pending = False
                self.cursor = None
            # Only the fields nbformat allows (`transient` and anything else stay out).
            clean = {k: output[k] for k in _FIELDS[kind] if k in output}
            if kind in ("display_data", "execute_result"):
                clean.setdefault("metadata", {})
            if kind == "execute_result":
                clean.setdefault("execution_count", None)
            last = area[-1] if area else None
            if kind == "stream":
                new = _text(clean.get("text"))
                same = (
                    isinstance(last, dict)
                    and last.get("output_type") == "stream"
                    and last.get("name") == clean.get("name")
                )
                old = _text(last.get("text")) if same else None
                at = len(old or "") if self.cursor is None else min(self.cursor, len(old or ""))
                bounded = bounded_text(_pending_cr(old, at), new, limit)
                if bounded is not None:
                    # Past the limit (as the page bounds it): the cursor is the text's end.
                    self.cursor = None
                    if same:
                        last["text"] = bounded
                    else:
                        area.append({**clean, "text": bounded})
                    continue
                if same:
                    last["text"], self.cursor = process_text(at, new, old)
                    continue
                clean["text"], self.cursor = process_text(0, new)
            else:
                self.cursor = None
            area.append(clean)
            display_id = (output.get("transient") or {}).get("display_id")
            if display_id:
                self.displays.setdefault(display_id, []).append(len(area) - 1)


def _pending_cr(old: str | None, at: int) -> str | None:
    """``old`` with the cursor a ``\\r`` left mid-text written out as that ``\\r``, so that
    bounding (which works on text, as the page does) overwrites the line as it should."""
    if old is None or at >= len(old) or "\n" in old[at:]:
        return old
    start = old.rfind("\n", 0, at) + 1
    return f"{old}\r{old[start:at]}"


def _text(text) -> str:
    return "".join(text) if isinstance(text, list) else str(text or "")
