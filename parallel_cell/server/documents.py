"""Where the server writes a notebook's job outputs: the shared document when
jupyter-collaboration holds one for the notebook, else the file, through the contents
manager.

Either way a write is read-modify-write of the cells concerned, done in one go on the
server's event loop, so the cells a person edited are left as they are apart from their
job's outputs and mark.
"""

from __future__ import annotations

from typing import Callable

from jupyter_server.utils import ensure_async


class Gone(Exception):
    """The notebook is not at its path any more (renamed, moved or deleted)."""


def _ycell_to_dict(ycell) -> dict:
    cell = ycell.to_py() or {}
    cell.pop("execution_state", None)
    count = cell.get("execution_count")
    if isinstance(count, float):
        cell["execution_count"] = int(count)
    return cell


def _youtput(output: dict):
    from pycrdt import Map, Text

    output = dict(output)
    if output.get("output_type") == "stream":
        text = output.get("text", "")
        output["text"] = Text("".join(text) if isinstance(text, list) else str(text))
    return Map(output)


class SharedNotebook:
    """The shared document of a notebook that jupyter-collaboration has open (a room); its
    room saves it to disk as it always does."""

    def __init__(self, ynotebook):
        self._nb = ynotebook

    def cells(self) -> list[dict]:
        return [_ycell_to_dict(ycell) for ycell in self._nb.ycells]

    def write(self, changed: dict[int, dict]) -> None:
        """Put back the outputs, execution count and metadata of the cells in ``changed``
        (index → cell); the rest of each cell and every other cell are not touched."""
        from pycrdt import Array

        with self._nb.ydoc.transaction():
            for index, cell in changed.items():
                ycell = self._nb.ycells[index]
                youtputs = ycell.get("outputs")
                if not isinstance(youtputs, Array):
                    ycell["outputs"] = youtputs = Array()
                old = youtputs.to_py() or []
                new = cell.get("outputs", [])
                keep = 0  # outputs that did not change stay the same shared objects
                while keep < min(len(old), len(new)) and old[keep] == new[keep]:
                    keep += 1
                if keep < len(old):
                    del youtputs[keep:]
                for output in new[keep:]:
                    youtputs.append(_youtput(output))
                if ycell.get("execution_count") != cell.get("execution_count"):
                    ycell["execution_count"] = cell.get("execution_count")
                ymeta = ycell.get("metadata")
                meta = cell.get("metadata") or {}
                for key in ("parallel_cell", "execution"):
                    if key in meta:
                        ymeta[key] = meta[key]
                    elif key in ymeta:
                        del ymeta[key]


class FileNotebook:
    """A notebook file read and saved through the server's contents manager."""

    def __init__(self, contents_manager, path: str, get: Callable):
        self._cm = contents_manager
        self._get = get  # the contents manager's own `get` (ours is wrapped)
        self.path = path
        self._model = None

    async def load(self) -> None:
        if not await ensure_async(self._cm.file_exists(self.path)):
            raise Gone(self.path)
        self._model = await ensure_async(self._get(self.path, content=True, type="notebook"))

    def cells(self) -> list[dict]:
        return self._model["content"]["cells"]

    async def save(self) -> None:
        # Checked again right before: a save to a path that is gone would make a new file.
        if not await ensure_async(self._cm.file_exists(self.path)):
            raise Gone(self.path)
        # Cells keep the `trusted` marks the read gave them: the contents manager signs
        # a trusted notebook again with them, and nbformat strips them from the file.
        content = self._model["content"]
        await ensure_async(
            self._cm.save({"type": "notebook", "format": "json", "content": content}, self.path)
        )
