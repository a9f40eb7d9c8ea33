"""The concise format: one `path:line:col: CODE message` line per finding (grep- and editor-friendly)."""

from __future__ import annotations

import re
from typing import Sequence

from initlint.diagnostic import Diagnostic

# A message is filled from source names and values; a stray line break in one would split a
# finding over two lines and break every line-oriented consumer (the problem matcher, grep).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def one_line(text: str) -> str:
    """`text` with its line breaks turned into spaces."""
    return _LINE_BREAK.sub(" ", text)


def position(diagnostic: Diagnostic) -> str:
    """`path:line:col`, or `path:cell N:line:col` in a notebook (rows are then cell-relative)."""
    row, column = diagnostic.location.row, diagnostic.location.column
    if diagnostic.cell is not None:
        return f"{diagnostic.path}:cell {diagnostic.cell}:{row}:{column}"
    return f"{diagnostic.path}:{row}:{column}"


def format_line(diagnostic: Diagnostic, notes: bool = True) -> str:
    """One finding as one line; notes (the runtime's verdict) follow the message in brackets."""
    notes = f" [{'; '.join(diagnostic.notes)}]" if diagnostic.notes and notes else ""
    return f"{position(diagnostic)}: {diagnostic.code} {one_line(diagnostic.message + notes)}"


def render(diagnostics: Sequence[Diagnostic]) -> str:
    """All findings, one a line, without a trailing newline; empty when there are none."""
    return "\n".join(format_line(d) for d in diagnostics)
