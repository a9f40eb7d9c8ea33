"""Worker results -> the Diagnostics every reporter prints (no torch).

A finding points at the class definition (found with ast in the parent, so the column is exact,
or with inspect in the worker), except IL103, which points at the call of the init routine in
`__init__` (the statement the static IL004 flags). A target that could not be run is one IL104
diagnostic at the target's class, or at line 1 of its file.
"""

from __future__ import annotations

import os
from typing import List, Optional, Tuple

from initlint.diagnostic import Diagnostic, Location
from initlint.runtime import codes
from initlint.runtime.isolate import Result
from initlint.runtime.spec import Target, class_line


def _display(path: str) -> str:
    """Paths relative to the working directory when inside it (as the static pass prints them)."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _anchor(result: Result, target: Target) -> Tuple[Optional[str], Location]:
    """Where the target's diagnostics point: its class's definition, else its file."""
    path = result.path or target.path
    name = result.name if result.instance else target.name or result.name  # an instance points at its class
    if path and name:
        found = class_line(path, name)
        if found:
            return path, Location(*found)
    if path and result.line:
        return path, Location(result.line, 1)
    return path, Location(1, 1)


def _diagnostic(code: Tuple[str, str], message: str, path: str, location: Location, notes: Tuple[str, ...] = ()) -> Diagnostic:
    return Diagnostic(
        code=code[0], name=code[1], message=message, path=_display(path), location=location,
        end_location=location, url=codes.url(code[0]), notes=notes,
    )


def from_result(result: Result, target: Target) -> List[Diagnostic]:
    """The diagnostics of one target: its findings, or one IL104 if it could not run."""
    path, location = _anchor(result, target)
    path = path or result.label
    diagnostics = []
    if result.status != "ok" or result.report is None:
        notes = (f"output (tail): {_last_lines(result.output)}",) if result.output.strip() else ()
        diagnostics.append(_diagnostic(codes.RUNTIME_ERROR, error_message(result, target), path, location, notes))
    if result.report is None:
        return diagnostics
    # Several module-level instances share one class line: name the instance in the message.
    prefix = f"{result.instance}: " if result.instance else ""
    # What watching the construction proved (IL103, IL106, IL107) stands even when forward failed.
    for finding in result.report.findings:
        where, at = (finding.path, Location(finding.line, 1)) if finding.path and finding.line else (path, location)
        code = (finding.code, finding.name)
        diagnostics.append(_diagnostic(code, prefix + finding.evidence, where, at, result.report.notes))
    return diagnostics


def error_message(result: Result, target: Target) -> str:
    """`could not run Hangs: timed out after 3 s while probing (killed)`."""
    name = result.instance or result.name or target.name
    error = result.error or "unknown error"
    if "needs constructor arguments" in error:
        error += " (pass them as JSON with --args)"
    if not name or name in error:
        return f"could not run: {error}"
    return f"could not run {name}: {error}"


def _last_lines(output: str, count: int = 5) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    text = " | ".join(lines[-count:])
    return text[-600:]


def summary_line(result: Result) -> str:
    """One stderr line per target: what ran, how long, what it found or why it did not run."""
    if result.status != "ok" or result.report is None:
        return f"{result.label}: could not run: {result.error}"
    report = result.report
    found = "no findings" if report.ok else f"{len(report.findings)} finding(s)"
    extra = "".join(f"; {note}" for note in report.notes)
    return f"{result.label}: {report.model}, {report.steps} steps on {report.device}, inputs {', '.join(report.input_shapes)} ({result.seconds:.1f} s): {found}{extra}"
