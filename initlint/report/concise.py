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


def _paint(text: str, color: bool, **style) -> str:
    if not color:
        return text
    import click  # (the CLI has imported it already)

    return click.style(text, **style)


def position(diagnostic: Diagnostic, color: bool = False) -> str:
    """`path:line:col`, or `path:cell N:line:col` in a notebook (rows are then cell-relative)."""
    row, column = diagnostic.location.row, diagnostic.location.column
    colon = _paint(":", color, fg="cyan")
    cell = f"cell {diagnostic.cell}{colon}" if diagnostic.cell is not None else ""
    return f"{_paint(diagnostic.path, color, bold=True)}{colon}{cell}{row}{colon}{column}"


def format_line(diagnostic: Diagnostic, notes: bool = True, unsafe_fixes: bool = False, color: bool = False) -> str:
    """One finding as one line: `[*]` before the message when `--fix` would fix it (ruff's
    marker); notes (the runtime's verdict) follow the message in brackets."""
    from initlint.report import fixable

    notes = f" [{'; '.join(diagnostic.notes)}]" if diagnostic.notes and notes else ""
    marker = _paint("[*]", color, fg="cyan") + " " if fixable(diagnostic, unsafe_fixes) else ""
    code = _paint(diagnostic.code, color, fg="red", bold=True)
    return f"{position(diagnostic, color)}{_paint(':', color, fg='cyan')} {code} {marker}{one_line(diagnostic.message + notes)}"


def render(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False, color: bool = False) -> str:
    """All findings, one a line, without a trailing newline; empty when there are none."""
    return "\n".join(format_line(d, unsafe_fixes=unsafe_fixes, color=color) for d in diagnostics)
