"""`--show-fixes`: what `--fix` fixed, file by file and code by code (ruff's layout)."""

from __future__ import annotations

from typing import Mapping


def render(fixed: Mapping[str, Mapping[str, int]], names: Mapping[str, str]) -> str:
    """`fixed`: path -> code -> how many were fixed; empty when nothing was."""
    total = sum(sum(codes.values()) for codes in fixed.values())
    if not total:
        return ""
    out = [f"Fixed {total} problem{'' if total == 1 else 's'}:"]
    for path in sorted(fixed):
        codes = {code: count for code, count in fixed[path].items() if count}
        if not codes:
            continue
        out.append(f"- {path}:")
        out.extend(f"    {codes[code]} × {code} ({names.get(code, code)})" for code in sorted(codes))
    return "\n".join(out)
