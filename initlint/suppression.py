"""`# noqa`, `# noqa: IL001,IL002` and `# initlint: ignore[IL001]` comments."""

from __future__ import annotations

import io
import re
import tokenize
from typing import Dict, FrozenSet, Optional

# None in the map means "every code" (a bare `# noqa` / `# initlint: ignore`).
Suppressions = Dict[int, Optional[FrozenSet[str]]]

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
_TOOL = re.compile(r"#\s*initlint:\s*ignore(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)


def _codes(text: Optional[str]) -> Optional[FrozenSet[str]]:
    if not text:
        return None
    return frozenset(c.upper() for c in re.split(r"[\s,]+", text.strip()) if c)


def _merge(found: Suppressions, row: int, codes: Optional[FrozenSet[str]]) -> None:
    if codes is None or (row in found and found[row] is None):
        found[row] = None  # a bare `# noqa` silences everything on its line
    else:
        found[row] = (found.get(row) or frozenset()) | (codes or frozenset())


def _scan_comment(found: Suppressions, row: int, comment: str) -> None:
    for pattern in (_NOQA, _TOOL):
        for match in pattern.finditer(comment):
            _merge(found, row, _codes(match.group("codes")))


def parse(source: str) -> Suppressions:
    """Rows (1-based) with a suppression comment, and the codes each one names."""
    found: Suppressions = {}
    if "noqa" not in source.lower() and "initlint" not in source.lower():
        return found
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                _scan_comment(found, token.start[0], token.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        # The file parsed with libcst but not with tokenize (rare): fall back to a line scan.
        for row, line in enumerate(source.splitlines(), 1):
            if "#" in line:
                _scan_comment(found, row, line[line.index("#"):])
    return found


def is_suppressed(suppressions: Suppressions, row: int, code: str) -> bool:
    """Whether a finding of `code` at `row` is silenced."""
    if row not in suppressions:
        return False
    codes = suppressions[row]
    return codes is None or code in codes or any(code.startswith(c) for c in codes)
