"""`--statistics`: how many findings of each code, most frequent first (ruff's layout)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Dict, List, Sequence

from initlint.diagnostic import Diagnostic


def rows(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False) -> List[Dict[str, object]]:
    """One row per code: code, name, count, and whether `--fix` would fix every one of them."""
    from initlint.report import fixable

    counts = Counter(d.code for d in diagnostics)
    names = {d.code: d.name for d in diagnostics}
    fixes = Counter(d.code for d in diagnostics if fixable(d, unsafe_fixes))
    order = sorted(counts, key=lambda code: (-counts[code], code))
    return [{"code": c, "name": names[c], "count": counts[c], "fixable": fixes[c] == counts[c]} for c in order]


def render(diagnostics: Sequence[Diagnostic], fmt: str, unsafe_fixes: bool = False) -> str:
    """A table (`3  IL001  [*] constant-weight-init`), or a JSON array with format json."""
    table = rows(diagnostics, unsafe_fixes)
    if fmt == "json":
        return json.dumps(table, indent=2)
    if not table:
        return ""
    width = max(len(str(row["count"])) for row in table)
    marks = any(row["fixable"] for row in table)
    out = []
    for row in table:
        mark = ("[*] " if row["fixable"] else "[ ] ") if marks else ""
        out.append(f"{str(row['count']).rjust(width)}\t{row['code']}\t{mark}{row['name']}")
    return "\n".join(out)
