"""Applying fixes: pick non-overlapping edits, re-parse, loop until nothing changes, write, diff.

Rules express a fix as character-offset edits into the decoded text the engine linted. This module
is the only place that turns them into a new file: it never writes text that does not parse, every
byte outside the edited spans (line endings, a BOM, the encoding) comes back exactly as it was
read, and the file is written as `initlint.writing` says (never over a change made meanwhile).
"""

from __future__ import annotations

import codecs
import io
import os
import re
import tokenize
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, List, Optional, Sequence, Set, Tuple

from initlint.diagnostic import Applicability, Diagnostic, Edit, Fix

if TYPE_CHECKING:  # pragma: no cover
    import libcst as cst

    from initlint.facts import FileFacts

# Lints a text and returns its diagnostics (the CLI binds the path and the settings).
LintFn = Callable[[str], Sequence[Diagnostic]]

# Fixes can enable or disable one another; stop after this many rounds, as ruff does (it uses 100).
MAX_ROUNDS = 10

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


class FixError(Exception):
    """A file that cannot be fixed (unreadable, undecodable, unwritable); the message says why."""


@dataclass(frozen=True)
class FixedSource:
    """The outcome of fixing one text: the new text, how many fixes went in, what is left."""

    text: str
    fixed: int
    diagnostics: Tuple[Diagnostic, ...]
    # Fixes that were dropped because their result would not parse (a bug in a rule).
    errors: Tuple[str, ...] = ()


@dataclass(frozen=True)
class FileFix:
    """The outcome of fixing one file."""

    path: str
    before: str
    after: str
    fixed: int
    diagnostics: Tuple[Diagnostic, ...]
    errors: Tuple[str, ...] = ()
    written: bool = False

    @property
    def changed(self) -> bool:
        return self.before != self.after


def wanted(fix: Optional[Fix], unsafe: bool = False) -> bool:
    """Whether `--fix` applies this fix: safe ones always, unsafe ones with `--unsafe-fixes`."""
    if fix is None or not fix.edits:
        return False
    if fix.applicability == Applicability.SAFE:
        return True
    return unsafe and fix.applicability == Applicability.UNSAFE


def has_fixes(diagnostics: Iterable[Diagnostic], unsafe: bool = False) -> bool:
    """Whether any of these diagnostics carries a fix `--fix` would apply."""
    return any(wanted(d.fix, unsafe) for d in diagnostics)


def _span(edit: Edit) -> Tuple[int, int]:
    return edit.start, edit.end


def _conflict(a: Tuple[int, int], b: Tuple[int, int]) -> bool:
    # Touching spans conflict too: two insertions at one offset have no defined order.
    return a[0] <= b[1] and b[0] <= a[1]


def _valid(fix: Fix, length: int) -> bool:
    spans = sorted(_span(e) for e in fix.edits)
    if any(not 0 <= s <= e <= length for s, e in spans):
        return False
    # A fix's own edits may touch but not overlap; two insertions at one offset have no order.
    return all(prev[1] <= cur[0] and prev != cur for prev, cur in zip(spans, spans[1:]))


def select(text: str, fixes: Iterable[Fix]) -> List[Fix]:
    """The fixes that can go in together: in order of their first edit, skipping any that touch
    one already taken (it gets its turn in the next round, against the new text)."""
    taken: List[Fix] = []
    spans: List[Tuple[int, int]] = []
    ordered = sorted((f for f in fixes if f.edits), key=lambda f: min(_span(e) for e in f.edits))
    for fix in ordered:
        if not _valid(fix, len(text)):
            continue
        mine = [_span(e) for e in fix.edits]
        if any(_conflict(m, s) for m in mine for s in spans):
            continue
        taken.append(fix)
        spans.extend(mine)
    return taken


def apply_fixes(text: str, fixes: Iterable[Fix]) -> Tuple[str, List[Fix]]:
    """Apply every fix that does not overlap an earlier one; returns the new text and the fixes applied."""
    taken = select(text, fixes)
    edits = sorted((e for f in taken for e in f.edits), key=lambda e: (e.start, e.end), reverse=True)
    for edit in edits:
        text = text[: edit.start] + edit.content + text[edit.end:]
    return text, taken


def parses(text: str) -> bool:
    """Whether libcst accepts `text` (the check every fixed text passes before it is kept)."""
    import libcst as cst

    try:
        cst.parse_module(text)
    except Exception:  # noqa: BLE001 - any parser failure means "do not write this"
        return False
    return True


def _where(diagnostic: Diagnostic) -> str:
    return f"{diagnostic.code} at {diagnostic.location.row}:{diagnostic.location.column}"


def fix_source(
    text: str,
    lint: LintFn,
    *,
    unsafe: bool = False,
    diagnostics: Optional[Sequence[Diagnostic]] = None,
    max_rounds: int = MAX_ROUNDS,
) -> FixedSource:
    """Lint, apply the wanted fixes, re-lint, until no fix applies (or `max_rounds`).

    `diagnostics`, when given, are those of `text` already (saves the first lint). A round whose
    result does not parse is retried one fix at a time; a fix that still breaks the code is dropped
    and named in `errors`.
    """
    current = list(lint(text) if diagnostics is None else diagnostics)
    fixed = 0
    errors: List[str] = []
    seen = {text}
    rejected: Set[Fix] = set()
    for _ in range(max_rounds):
        pairs = [(d, d.fix) for d in current if wanted(d.fix, unsafe) and d.fix not in rejected]
        if not pairs:
            break
        new, taken = apply_fixes(text, [f for _, f in pairs])
        if taken and not parses(new):
            new, taken = text, []
            for diagnostic, fix in pairs:
                candidate, one = apply_fixes(new, [fix])
                if one and parses(candidate):
                    new, taken = candidate, taken + one
                elif one:
                    rejected.add(fix)
                    errors.append(f"the fix for {_where(diagnostic)} would leave code that does not parse; not applied")
                # A later fix's offsets refer to the original text: take one per round from here on.
                if taken:
                    break
        if not taken or new in seen:
            break
        seen.add(new)
        text = new
        fixed += len(taken)
        current = list(lint(text))
    return FixedSource(text=text, fixed=fixed, diagnostics=tuple(current), errors=tuple(errors))


# ---- files ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceEncoding:
    """How a file's bytes map to the text the rules saw, so that the bytes can be rebuilt exactly."""

    bom: bytes
    encoding: str


def read_text(path: str) -> Tuple[str, SourceEncoding]:
    """A file's text (without BOM, newlines untouched) and how to encode it back byte for byte."""
    from initlint.engine import ReadError, read_bytes

    try:
        data = read_bytes(path)
    except ReadError as error:
        raise FixError(f"cannot read: {error}") from None
    bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        raise FixError(f"cannot detect encoding: {error}") from None
    encoding = "utf-8" if encoding == "utf-8-sig" else encoding
    body = data[len(bom):]
    try:
        text = body.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise FixError(f"not valid {encoding}: {error}") from None
    how = SourceEncoding(bom, encoding)
    if encode(text, how) != data:
        raise FixError(f"its {encoding} bytes do not survive a round trip; not fixed")
    return text, how


def encode(text: str, how: SourceEncoding) -> bytes:
    """Text back to the file's bytes: the same BOM and encoding (newlines are part of the text)."""
    return how.bom + text.encode(how.encoding)


def fix_file(
    path: str,
    lint: LintFn,
    *,
    unsafe: bool = False,
    write: bool = True,
    diagnostics: Optional[Sequence[Diagnostic]] = None,
    linted: Optional[str] = None,
) -> FileFix:
    """Fix one file; write it (see `initlint.writing`) only when `write` and the text changed and
    still parses, and only if the file still holds the bytes that were fixed.

    `linted` is the text `diagnostics` came from: if the file has changed since, their offsets
    point at the wrong bytes, so the file is linted afresh instead."""
    text, how = read_text(path)
    if linted is not None and linted != text:
        diagnostics = None
    result = fix_source(text, lint, unsafe=unsafe, diagnostics=diagnostics)
    written = False
    if write and result.text != text:
        if not parses(result.text):  # fix_source never keeps such text; this is the last guard
            raise FixError("the fixed text does not parse; not written")
        from initlint import writing

        try:
            writing.replace_contents(path, encode(result.text, how), expected=encode(text, how))
        except writing.WriteError as error:
            raise FixError(str(error)) from None
        written = True
    return FileFix(
        path=path,
        before=text,
        after=result.text,
        fixed=result.fixed,
        diagnostics=result.diagnostics,
        errors=result.errors,
        written=written,
    )


def _lines(text: str) -> List[str]:
    # Only \r\n, \r and \n end lines here, as for the parser (str.splitlines also splits on \f, \x1c...).
    return _LINE.findall(text)


def unified_diff(path: str, before: str, after: str) -> str:
    """A git-style unified diff (`a/path`, `b/path`); empty when nothing changed."""
    if before == after:
        return ""
    name = path.replace(os.sep, "/").lstrip("/")  # `a//abs/path` would not apply with patch -p1
    out = []
    import difflib

    for line in difflib.unified_diff(_lines(before), _lines(after), f"a/{name}", f"b/{name}"):
        if line.endswith(("\n", "\r")):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


# ---- building edits (used by rules) ----------------------------------------------------------------


class Lines:
    """Line-based views of a source text (lines end at \\r\\n, \\r or \\n, as for the parser)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines = _lines(source)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def __len__(self) -> int:
        return len(self.lines)

    def start(self, line: int) -> int:
        """Offset of the start of 1-based `line` (the end of the text for lines past the last)."""
        return self.starts[min(max(line, 1), len(self.lines) + 1) - 1]

    def text(self, line: int) -> str:
        """The line with its terminator; empty outside the text."""
        return self.lines[line - 1] if 1 <= line <= len(self.lines) else ""

    def span(self, first: int, last: int) -> str:
        """Lines `first`..`last` (inclusive), terminators and all."""
        return self.source[self.start(first) : self.start(last + 1)]

    def ending(self, line: int) -> str:
        """The line's terminator (`\\r\\n`, `\\r`, `\\n`, or empty for a last line without one)."""
        text = self.text(line)
        return text[len(text.rstrip("\r\n")) :]

    def is_blank(self, line: int) -> bool:
        return 1 <= line <= len(self.lines) and not self.text(line).strip()

    def comments_under(self, last: int, column: int) -> int:
        """`last`, extended over the comment-only lines that follow it indented deeper than `column`."""
        while last < len(self.lines):
            line = self.text(last + 1)
            stripped = line.lstrip(" \t")
            if not stripped.startswith("#") or len(line) - len(stripped) <= column:
                break
            last += 1
        return last


def statement_lines(facts: "FileFacts", stmt: "cst.CSTNode", lines: Optional[Lines] = None) -> Tuple[int, int]:
    """The whole lines (1-based, inclusive) a statement occupies: with the comment lines right above it
    and, for a compound statement, the comment lines indented under its body."""
    import libcst as cst

    lines = lines or Lines(facts.source)
    where = facts.range_of(stmt)
    first = where.start.line
    for leading in reversed(getattr(stmt, "leading_lines", ())):
        if leading.comment is None:
            break
        first -= 1
    last = where.end.line
    if not isinstance(stmt, cst.SimpleStatementLine):
        last = lines.comments_under(last, where.start.column)
    return first, last


def move_after(facts: "FileFacts", moved: "cst.CSTNode", anchor: "cst.CSTNode") -> Tuple[Edit, Edit]:
    """Edits that move a statement's whole lines (comments included) to just after `anchor`, a later
    statement of the same block: the bytes of the lines move unchanged, so do indentation and newlines.
    A blank line above the block goes with it; one below it stays, so no double blank is left behind."""
    lines = Lines(facts.source)
    first, last = statement_lines(facts, moved, lines)
    _, after = statement_lines(facts, anchor, lines)
    block = lines.span(first, last)
    newline = lines.ending(last) or "\n"
    blank_before = lines.is_blank(first - 1)
    end = lines.start(last + 1)
    if blank_before and lines.is_blank(last + 1):
        end = lines.start(last + 2)
    lead = newline if blank_before else ""
    if lines.ending(after):
        insert_at, content = lines.start(after + 1), lead + block
    else:  # the anchor ends the file without a newline: keep it that way
        insert_at, content = len(facts.source), newline + lead + block[: -len(newline)]
    return Edit(lines.start(first), end, ""), Edit(insert_at, insert_at, content)
