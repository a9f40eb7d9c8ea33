"""Which lines of the user's file ran, and for which module: the proof that a static finding's site was reached.

A `Watcher` traces one file (sys.settrace; frames of every other file are left untraced) and
records each run of a watched line with the modules it ran for: the nn.Module values among the
innermost frame's locals (`self`, `m` in an `apply()` function, `model` in an init helper) and the
`self` of each enclosing method. A line run by module-level code belongs to no module. A probe
of module X counts the site as reached only when a run of it belonged to X's tree (or to none):
building `Net(mode="random")` does not reach the `mode == "const"` branch that a second instance took.

It also snapshots the locals of one function when it returns (`capture`), which is how a test
function's model is found after the function has run. The probe itself runs with the watcher
paused (tracing costs time and proves nothing there).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Dict, Iterable, List, Optional, Set

from torch import nn

_DEPTH = 40  # frames searched for enclosing methods' `self`
_SAMPLES = 256  # runs of one line whose owners are kept (a loop over 10,000 modules keeps counting)


class Watcher:
    """Context manager tracing the watched `rows` of the file at `path`."""

    def __init__(self, path: str, rows: Iterable[int]) -> None:
        self.path = os.path.realpath(path)
        self.rows: Set[int] = set(rows)
        self.runs: Dict[int, List[Optional[List[int]]]] = {}  # row -> owners (ids) of each run; None: module-level
        self.count: Dict[int, int] = {}
        self._keep: List[Any] = []  # owners stay alive, so that their ids are never reused
        self._files: Dict[str, bool] = {}
        self._capture: Optional[Any] = None
        self.captured: Optional[Dict[str, Any]] = None
        self._previous: Any = None
        self._paused = True

    # --- tracing -------------------------------------------------------------------------

    def _ours(self, filename: str) -> bool:
        known = self._files.get(filename)
        if known is None:
            known = os.path.realpath(filename) == self.path if not filename.startswith("<") else False
            self._files[filename] = known
        return known

    def _global(self, frame: Any, event: str, arg: Any) -> Any:
        if event == "call" and self._ours(frame.f_code.co_filename):
            return self._local
        return None

    def _local(self, frame: Any, event: str, arg: Any) -> Any:
        if event == "line" and frame.f_lineno in self.rows:
            self._hit(frame)
        elif event == "return" and frame.f_code is self._capture:
            self.captured = dict(frame.f_locals)
        return self._local

    def _hit(self, frame: Any) -> None:
        row = frame.f_lineno
        self.count[row] = self.count.get(row, 0) + 1
        runs = self.runs.setdefault(row, [])
        if len(runs) >= _SAMPLES:
            return
        if frame.f_code.co_name == "<module>":
            runs.append(None)
            return
        owners = [v for v in list(frame.f_locals.values()) if isinstance(v, nn.Module)]
        outer, depth = frame.f_back, 0
        while outer is not None and depth < _DEPTH:
            me = outer.f_locals.get("self") if outer.f_code.co_name != "<module>" else None
            if isinstance(me, nn.Module):
                owners.append(me)
            outer, depth = outer.f_back, depth + 1
        self._keep.extend(owners)
        runs.append([id(o) for o in owners])

    # --- control -------------------------------------------------------------------------

    def __enter__(self) -> "Watcher":
        self.resume()
        return self

    def __exit__(self, *exc: object) -> None:
        self.pause()

    def resume(self) -> None:
        """Start (or restart) tracing."""
        if self._paused:
            self._previous = sys.gettrace()
            sys.settrace(self._global)
            self._paused = False

    def pause(self) -> None:
        """Stop tracing (the probe runs untraced)."""
        if not self._paused:
            sys.settrace(self._previous)
            self._paused = True

    def capture(self, code: Any) -> None:
        """Snapshot the locals of the function with this code object when it returns (or raises)."""
        self._capture, self.captured = code, None

    def take(self) -> "Runs":
        """The runs recorded since the last `take`, handed over and forgotten here."""
        taken = Runs(self.runs, self.count)
        self.runs, self.count = {}, {}
        return taken


class Runs:
    """The recorded runs of the watched lines during one stretch of user code."""

    def __init__(self, runs: Dict[int, List[Optional[List[int]]]], count: Dict[int, int]) -> None:
        self.runs = runs
        self.count = count

    def reached(self, rows: Iterable[int], model: Optional[nn.Module]) -> bool:
        """Whether any of `rows` ran for `model` (or for no module at all)."""
        tree = {id(m) for m in model.modules()} if model is not None else None
        for row in rows:
            for owners in self.runs.get(row, ()):
                if owners is None or tree is None or not owners or tree.intersection(owners):
                    return True
        return False

    def ran(self, rows: Iterable[int]) -> bool:
        """Whether any of `rows` ran at all."""
        return any(self.count.get(row) for row in rows)

    def merged(self, other: "Runs") -> "Runs":
        """Both stretches together."""
        runs = {row: list(v) for row, v in self.runs.items()}
        for row, v in other.runs.items():
            runs.setdefault(row, []).extend(v)
        count = dict(self.count)
        for row, n in other.count.items():
            count[row] = count.get(row, 0) + n
        return Runs(runs, count)
