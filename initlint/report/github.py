"""The github format: workflow commands that GitHub Actions turns into annotations on the diff."""

from __future__ import annotations

import os
from typing import Mapping, Optional, Sequence

from initlint.diagnostic import Diagnostic, Severity


def escape_data(text: str) -> str:
    """Escape a command's message the way the Actions runner unescapes it (`%` first)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value: as data, plus the `:` and `,` that delimit properties."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def display_path(path: str) -> str:
    """`path` relative to the working directory when it lies under it (annotations need repo paths)."""
    try:
        relative = os.path.relpath(os.path.abspath(path))
    except ValueError:  # another drive on Windows
        return path
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return path
    return relative


def format_command(diagnostic: Diagnostic, text: Optional[str] = None) -> str:
    """One finding as one `::error ...::` (or `::warning`) command; `text` is the file's text
    (a notebook's JSON, to place a cell finding on its line)."""
    kind = "warning" if diagnostic.severity == Severity.WARNING else "error"
    start, end = diagnostic.location, diagnostic.end_location
    props = [("file", display_path(diagnostic.path))]
    # Line breaks survive (escaped): GitHub shows multi-line annotation messages.
    message = f"{diagnostic.code} {diagnostic.message}"
    if diagnostic.cell is None:
        props += [("line", start.row), ("col", start.column), ("endLine", end.row), ("endColumn", end.column)]
    else:
        # Rows in a notebook count from the cell, not the .ipynb file: the annotation goes on the
        # line of the notebook's JSON that holds the row (no columns: they would be the JSON's),
        # and the message says where in the cell.
        from initlint.notebook import json_line

        line = json_line(text, diagnostic.cell, start.row) if text is not None else None
        if line is not None:
            props.append(("line", line))
        message += f" (cell {diagnostic.cell}, line {start.row}, column {start.column})"
    props.append(("title", f"initlint ({diagnostic.code})"))
    joined = ",".join(f"{key}={escape_property(str(value))}" for key, value in props)
    return f"::{kind} {joined}::{escape_data(message)}"


def render(diagnostics: Sequence[Diagnostic], sources: Optional[Mapping[str, str]] = None) -> str:
    """All findings, one command a line, without a trailing newline; empty when none."""
    sources = sources or {}
    return "\n".join(format_command(d, sources.get(d.path)) for d in diagnostics)
