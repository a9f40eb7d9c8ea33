"""The full format: ruff's classic layout, the header line then the source with a caret under the span."""

from __future__ import annotations

import re
import unicodedata
from typing import List, Mapping, Optional, Sequence

from initlint.diagnostic import Diagnostic
from initlint.report.concise import format_line

# Only these end a line for Python's tokenizer (and so for libcst's rows); str.splitlines would
# also split on \x0c, \x1c, \u2028 ... and shift every row after one of them.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# A long span (a whole loop, say) is shown by its first lines; the caret is on the first anyway.
MAX_SPAN_LINES = 4
TAB_WIDTH = 4


def source_lines(source: str) -> List[str]:
    """`source` split the way Python counts rows."""
    return _LINE_BREAK.split(source)


def _width(text: str) -> int:
    """Terminal columns `text` takes: wide (CJK) characters take two, combining marks none."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def _excerpt(diagnostic: Diagnostic, lines: Sequence[str]) -> List[str]:
    """The gutter, the span's lines and the caret line; empty when the location is not in `lines`."""
    first = diagnostic.location.row
    if not 1 <= first <= len(lines):
        return []  # a stale or synthetic location: the header alone still says where
    last = min(max(diagnostic.end_location.row, first), len(lines), first + MAX_SPAN_LINES - 1)
    gutter = len(str(last))
    blank = " " * gutter + " |"
    out = [blank]
    for row in range(first, last + 1):
        # Tabs are expanded for display; columns still count characters, so the caret
        # offset is measured on the expanded prefix of the same line.
        text = lines[row - 1].expandtabs(TAB_WIDTH)
        out.append(f"{row:>{gutter}} | {text}".rstrip())
        if row == first:
            out.append(f"{blank} {_caret(diagnostic, lines[row - 1])}")
    if last < diagnostic.end_location.row:
        out.append(f"{' ' * gutter} : ...")
    out.append(blank)
    return out


def _caret(diagnostic: Diagnostic, raw: str) -> str:
    """Spaces to the span's start column, then one `^` per display column of the span on this line."""
    start = max(diagnostic.location.column, 1) - 1
    same_row = diagnostic.end_location.row == diagnostic.location.row
    end = diagnostic.end_location.column - 1 if same_row else len(raw)
    prefix = raw[:start].expandtabs(TAB_WIDTH)
    # The span's width on screen: expand tabs in context (the prefix decides where tab stops fall).
    through = raw[: max(end, start)].expandtabs(TAB_WIDTH)
    span = max(_width(through) - _width(prefix), 1)  # an empty span still gets one caret
    return f"{' ' * _width(prefix)}{'^' * span} {diagnostic.code}"


def format_block(diagnostic: Diagnostic, source: Optional[str], unsafe_fixes: bool = False, color: bool = False) -> str:
    """One finding: header, excerpt (when the source is known), help and notes."""
    out = [format_line(diagnostic, notes=False, unsafe_fixes=unsafe_fixes, color=color)]
    # Notebook rows are cell-relative, so the notebook's own text cannot be indexed by them.
    if source is not None and diagnostic.cell is None:
        out.extend(_excerpt(diagnostic, source_lines(source)))
    title = diagnostic.fix_title or (diagnostic.fix.title if diagnostic.fix else None)
    if title:
        out.append(f"  = help: {title}")
    out.extend(f"  = note: {note}" for note in diagnostic.notes)
    return "\n".join(out)


def render(diagnostics: Sequence[Diagnostic], sources: Mapping[str, str], unsafe_fixes: bool = False, color: bool = False) -> str:
    """All findings, a blank line between them, without a trailing newline; empty when none."""
    return "\n\n".join(format_block(d, sources.get(d.path), unsafe_fixes, color) for d in diagnostics)
