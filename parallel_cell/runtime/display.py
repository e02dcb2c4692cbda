"""A job's output in its cell through standard messages, for frontends with no page of
ours (VS Code, Colab, JupyterLab without the extension), and prefixed lines in a terminal.

A job started from code (``%%job``, ``jobs.new``, ``map``) while no page is linked gets a
``CellDisplay``: one ``display_data`` with a ``display_id`` in the cell that started it
(its status line and the tail of its text), then ``update_display_data`` as output comes,
at most ``UPDATES_PER_SECOND`` times a second, plus a ``display_data`` for each rich output
(a figure, a table, the cell's result) and an ``error`` for its traceback. Every message
carries the starting cell's parent header, so frontends that route by parent (JupyterLab,
Notebook 7, VS Code) put it in that cell, and those that route by display id update it.
The whole log stays in the job (``jobs.text(n)``). In a terminal IPython there is no cell:
``TerminalEcho`` prints each line prefixed with the job's number.
"""

import sys
import threading

from .config import log
from .job import TERMINAL
from .protocol import without_surrogates
from .threads import orig_sleep, running_thread

UPDATES_PER_SECOND = 4  # live view: often enough to read as live, few enough for any frontend
LIVE_LINES, LIVE_CHARS = 40, 8_000  # the live tail; sent whole on every update
FINAL_LINES, FINAL_CHARS = 1_000, 100_000  # what stays in the cell at the end
TICK = 1.0 / UPDATES_PER_SECOND


def _elapsed(job, now_ms):
    if job.started_at is None:
        return ""
    end = job.ended_at if job.ended_at is not None else now_ms
    secs = max(0.0, (end - job.started_at) / 1000.0)
    return f"{secs:.1f} s" if secs < 60 else f"{int(secs // 60)} min {int(secs % 60):02d} s"


def status_line(job, now_ms):
    """``[job 3] running · 4.2 s``, ``[job 3] done in 12.0 s``, ``[job 3] error after …``."""
    took = _elapsed(job, now_ms)
    state = job.state
    if state in ("queued", "running", "cancelling"):
        return f"[job {job.num}] {state}" + (f" · {took}" if took else "")
    word = {"done": "in", "error": "after", "killed": "after", "lost": "after"}.get(state, "·")
    line = f"[job {job.num}] {state}" + (f" {word} {took}" if took else "")
    if state == "error" and job.error:
        line += f": {job.error.get('ename')}: {job.error.get('evalue')}"
    return line


class TextTail:
    """Stream text as a terminal shows it (``\\r`` rewrites the line: tqdm), keeping the
    last lines and counting those that scrolled away."""

    def __init__(self, keep_lines=FINAL_LINES):
        self.lines = [""]  # the last one is the line being written (often still empty)
        self.keep = keep_lines + 1
        self.dropped = 0

    def write(self, text):
        done, self.lines[-1] = _split_lines(self.lines[-1], text)
        self.lines[-1:-1] = done
        extra = len(self.lines) - self.keep
        if extra > 0:
            del self.lines[:extra]
            self.dropped += extra

    def clear(self):
        self.lines, self.dropped = [""], 0

    def render(self, max_lines, max_chars, job_num):
        lines = [line.rstrip("\r") for line in self.lines]
        lines = lines[:-1] if lines[-1] == "" else lines
        shown = lines[-max_lines:]
        text = "\n".join(shown)
        if len(text) > max_chars:
            text = text[-max_chars:]
            text = text[text.find("\n") + 1 :] if "\n" in text else text
        hidden = self.dropped + len(lines) - text.count("\n") - (1 if text else 0)
        if hidden > 0:
            text = f"… {hidden:,} earlier lines: jobs.text({job_num}) has them all\n" + text
        return text


def _split_lines(partial, text):
    """``partial`` (the line being written) continued by ``text``: the lines it finishes,
    and the line still being written."""
    *done, rest = (partial + text).replace("\r\n", "\n").split("\n")
    return [_overwritten(line).rstrip("\r") for line in done], _overwritten(rest)


def _overwritten(line):
    """A line after its carriage returns: what the last non-empty write left (a
    progress bar rewrites the whole line), and a trailing ``\r`` while one is pending."""
    if "\r" not in line:
        return line
    last = next((seg for seg in reversed(line.split("\r")) if seg), "")
    return last + ("\r" if line.endswith("\r") else "")


class Display:
    """A job's output shown with no page of ours, a template: ``feed`` takes the outputs in
    order under ``lock`` and hands each to the method for its kind, which returns what it
    made of it (messages to send, lines to print; by default, nothing)."""

    def __init__(self, job, dirty):
        self.job = job
        self.lock = threading.Lock()
        self.dirty = dirty

    def feed(self, outputs):
        """Outputs the job logged (in order); returns the messages to send now."""
        made = []
        with self.lock:
            for out in outputs:
                kind = out.get("output_type")
                if kind == "stream":
                    made += self._on_stream(out)
                elif kind == "clear_output":
                    made += self._on_clear(out)
                elif kind in ("display_data", "execute_result"):
                    made += self._on_display(out)
                elif kind == "update_display_data":
                    made += self._on_update(out)
                elif kind == "error":
                    made += self._on_error(out)
            self._fed()
        return self._made(made)

    def _nothing(self, out):
        return []

    _on_stream = _on_clear = _on_display = _on_update = _on_error = _nothing

    def _fed(self):
        """Under ``lock``, once the outputs are in."""

    def _made(self, made):
        """Once ``lock`` is let go: what ``feed`` returns."""
        return made


class CellDisplay(Display):
    """The job's output as display messages in the cell that started it."""

    def __init__(self, job, send, parent):
        super().__init__(job, dirty=True)
        self._send = send  # (msg_type, content, parent) on the kernel's iopub
        self.parent = parent
        self.display_id = f"parallel-cell-{job.job_id}"
        self.text = TextTail()
        self._extra = 0  # rich outputs shown so far (each has its own display id)

    def begin(self, now_ms):
        """The first message, from the thread that starts the job (its cell still runs)."""
        self._send("display_data", self._bundle(now_ms, live=True), self.parent)

    def _on_stream(self, out):
        self.text.write(out.get("text", ""))
        return []

    def _on_clear(self, out):
        self.text.clear()
        return []

    def _on_display(self, out):
        self._extra += 1
        transient = out.get("transient") or {}
        display_id = transient.get("display_id") or f"{self.display_id}-{self._extra}"
        return [("display_data", _bundle_of(out, display_id))]

    def _on_update(self, out):
        display_id = (out.get("transient") or {}).get("display_id")
        return [("update_display_data", _bundle_of(out, display_id))] if display_id else []

    def _on_error(self, out):
        error = {
            "ename": out.get("ename", ""),
            "evalue": out.get("evalue", ""),
            "traceback": list(out.get("traceback") or []),
        }
        return [("error", error)]

    def _fed(self):
        self.dirty = True

    def update(self, now_ms, final=False):
        with self.lock:
            self.dirty = False
            content = self._bundle(now_ms, live=not final)
        self._send("update_display_data", content, self.parent)

    def send(self, msg_type, content):
        self._send(msg_type, content, self.parent)

    def _bundle(self, now_ms, live):
        lines, chars = (LIVE_LINES, LIVE_CHARS) if live else (FINAL_LINES, FINAL_CHARS)
        body = self.text.render(lines, chars, self.job.num)
        text = status_line(self.job, now_ms) + ("\n" + body if body else "")
        return {
            "data": {"text/plain": text},
            "metadata": {"parallel_cell": {"job_id": self.job.job_id, "num": self.job.num}},
            "transient": {"display_id": self.display_id},
        }


def _bundle_of(out, display_id):
    return {
        "data": dict(out.get("data") or {}),
        "metadata": dict(out.get("metadata") or {}),
        "transient": {"display_id": display_id},
    }


class TerminalEcho(Display):
    """A terminal IPython: each finished line of the job printed as ``[3] line``, and its
    end as ``[job 3] done in 1.2 s``."""

    def __init__(self, job, stream=None):
        super().__init__(job, dirty=False)
        self.stream = stream or sys.__stdout__
        self.partial = ""

    def begin(self, now_ms):
        self._print([f"[job {self.job.num}] started"])

    def _on_stream(self, out):
        done, self.partial = _split_lines(self.partial, out.get("text", ""))
        return [self._prefixed(line) for line in done]

    def _on_display(self, out):
        plain = (out.get("data") or {}).get("text/plain")
        return [self._prefixed(line) for line in str(plain).split("\n")] if plain else []

    def _on_error(self, out):
        return [self._prefixed(line) for line in out.get("traceback") or []]

    def _made(self, made):
        self._print(made)  # after the lock: a terminal's write may block
        return []

    def update(self, now_ms, final=False):
        if not final:
            return
        with self.lock:
            rest, self.partial = self.partial, ""
        lines = [self._prefixed(rest.rstrip("\r"))] if rest else []
        self._print(lines + [status_line(self.job, now_ms)])

    def _prefixed(self, line):
        return f"[{self.job.num}] {line}"

    def send(self, msg_type, content):
        pass

    def _print(self, lines):
        if not lines:
            return
        try:
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()
        except Exception:
            log.exception("parallel-cell: printing a job's output failed")


def display_for(shell, job):
    """How ``job`` shows its output with no page linked: in its cell through the
    kernel's iopub (``CellDisplay``), printed (``TerminalEcho``, a shell with no kernel),
    or None when neither is possible."""
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return TerminalEcho(job)
    session = getattr(kernel, "session", None)
    iopub = getattr(kernel, "iopub_socket", None)
    parent = getattr(shell, "parent_header", None)
    if session is None or iopub is None or not parent:
        return None

    def send(msg_type, content, parent):
        try:
            session.send(iopub, msg_type, content, parent=parent)
        except UnicodeEncodeError:  # lone surrogates in the job's text
            session.send(iopub, msg_type, without_surrogates(content), parent=parent)

    return CellDisplay(job, send, parent)


class Displays:
    """The thread that keeps every job's display up to date: new output at most
    ``UPDATES_PER_SECOND`` times a second, the elapsed time once a second, the final
    state once the job takes no more output."""

    def __init__(self, now_ms, call):
        self._now_ms = now_ms
        self._call = call  # runs a function on the runtime's one sending thread, in order
        self._cv = threading.Condition(threading.Lock())
        self._displays = {}  # job -> display
        self._thread = None

    def attach(self, job, display):
        job.display = display
        display.begin(self._now_ms())
        with self._cv:
            self._displays[job] = display
            self._thread = running_thread(self._thread, self._loop, "parallel-cell displays")
            self._cv.notify()

    def feed(self, job, outputs):
        """From the flusher, with the job's outputs just logged, in order."""
        display = job.display
        messages = display.feed(outputs)
        for msg_type, content in messages:
            self._call(lambda m=msg_type, c=content: display.send(m, c))
        with self._cv:
            self._displays.setdefault(job, display)
            self._cv.notify()

    def _loop(self):
        ticks = 0
        while True:
            with self._cv:
                while not self._displays:
                    self._cv.wait()
                displays = list(self._displays.items())
            ticks += 1
            now = self._now_ms()
            for job, display in displays:
                try:
                    ended = job.finished_sent and job.closed and job.state in TERMINAL
                    if ended:
                        self._call(lambda d=display, t=now: d.update(t, final=True))
                        with self._cv:
                            self._displays.pop(job, None)
                    elif display.dirty or (ticks % UPDATES_PER_SECOND == 0):
                        display.dirty = False
                        self._call(lambda d=display, t=now: d.update(t))
                except Exception:
                    log.exception("parallel-cell: updating a job's display failed")
            displays = job = display = None  # an ended job is not kept alive by this thread
            orig_sleep(TICK)
