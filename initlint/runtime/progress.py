"""Progress of the runtime workers on stderr: a line as each target starts and ends, a live status on a terminal.

Runs take seconds per target (a worker imports torch, builds, trains); silence for 20 s reads as
a hang. Off a terminal (CI logs) each start and end is one plain line; on a terminal the ends
stay as lines and the targets still running are redrawn on one status line with their elapsed
time. `--quiet` passes `enabled=False`.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Callable, Dict, Optional, TextIO

_TICK = 0.25  # seconds between redraws of the status line


class Progress:
    """Thread-safe start/end reporting; `describe` turns what `end` is given into the closing line."""

    def __init__(self, stream: Optional[TextIO] = None, enabled: bool = True, live: Optional[bool] = None,
                 describe: Optional[Callable[[str, Any, float], str]] = None, total: Optional[int] = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.live = enabled and (live if live is not None else _is_terminal(self.stream))
        self.describe = describe or (lambda label, outcome, seconds: f"{label}: done in {seconds:.1f} s")
        self.total = total
        self.done = 0
        self._running: Dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def __enter__(self) -> "Progress":
        if self.live:
            self._thread = threading.Thread(target=self._tick, name="initlint-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._clear()

    def start(self, label: str) -> None:
        """A target started."""
        if not self.enabled:
            return
        with self._lock:
            self._running[label] = time.monotonic()
            if not self.live:
                self._write(f"runtime: {self._count()}started {label}\n")
            else:
                self._draw()

    def end(self, label: str, outcome: Any) -> None:
        """A target ended; `outcome` goes through `describe` to make its line."""
        if not self.enabled:
            return
        with self._lock:
            started = self._running.pop(label, time.monotonic())
            self.done += 1
            line = self.describe(label, outcome, time.monotonic() - started)
            self._clear()
            self._write(f"runtime: {self._count(done=True)}{line}\n")
            self._draw()

    def _count(self, done: bool = False) -> str:
        if not self.total or self.total < 2:
            return ""
        return f"[{self.done}/{self.total}] " if done else ""

    def _tick(self) -> None:
        while not self._stop.wait(_TICK):
            with self._lock:
                self._draw()

    def _draw(self) -> None:
        if not self.live or not self._running:
            return
        now = time.monotonic()
        items = [f"{label} ({now - started:.0f} s)" for label, started in self._running.items()]
        text = f"runtime: running {', '.join(items)}"
        width = 200
        self._write("\r\033[K" + (text if len(text) <= width else text[: width - 3] + "..."))

    def _clear(self) -> None:
        if self.live:
            self._write("\r\033[K")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr must not end the run
            self.enabled = self.live = False


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
