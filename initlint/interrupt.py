"""SIGINT and SIGTERM in a command-line run: one clean stop, exit 130 or 143.

Python turns SIGINT into KeyboardInterrupt, which click reports as "Aborted!" with exit 1, the
code for findings; SIGTERM kills the process on the spot, leaving its workers to run on. The
command line installs `Interrupted` for both instead: the exception unwinds every `finally` (the
worker pools end their processes there) and the command exits with 128 + the signal's number, as
a shell reports a process killed by it. A second signal while the first is handled exits at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
from typing import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """The run was asked to stop by a signal (a BaseException: `except Exception` lets it through)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def install() -> None:
    """Turn SIGINT and SIGTERM into `Interrupted` (call from the main thread of a command run)."""
    for each in SIGNALS:
        signal.signal(each, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    for each in SIGNALS:
        signal.signal(each, _exit_now)
    raise Interrupted(signum)


def _exit_now(signum: int, frame: object) -> None:
    os._exit(128 + signum)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for a short critical section (they arrive when it ends, not lost)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
