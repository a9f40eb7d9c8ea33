"""Output formats: the only place that turns diagnostics into text. Renderers return, never print."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Mapping, Sequence, Type

from initlint.diagnostic import Applicability, Diagnostic

if TYPE_CHECKING:
    from initlint.rule import Rule

FORMATS = ("concise", "full", "json", "github", "sarif")

# Read-only defaults: the signature reads `= {}`, but a shared mutable default is a trap.
_NO_RULES: Mapping[str, Type["Rule"]] = MappingProxyType({})
_NO_SOURCES: Mapping[str, str] = MappingProxyType({})


def render(
    diagnostics: Sequence[Diagnostic],
    fmt: str,
    *,
    rules: Mapping[str, Type["Rule"]] = _NO_RULES,
    sources: Mapping[str, str] = _NO_SOURCES,
    version: str = "",
) -> str:
    """`diagnostics` (already sorted) in format `fmt`, without a trailing newline.

    Empty when there is nothing to report, except json (`[]`) and sarif (a log with no results).
    `rules` maps codes to Rule classes (names, docs, urls); `sources` maps paths to their text
    (the full format's excerpts, sarif's fingerprints).
    """
    # Each format's module is imported when used (sarif's pulls in hashlib and json): a clean
    # concise run, the pre-commit case, pays for none of them.
    if fmt == "concise":
        from initlint.report import concise

        return concise.render(diagnostics)
    if fmt == "full":
        from initlint.report import full

        return full.render(diagnostics, sources)
    if fmt == "json":
        from initlint.report import json_format

        return json_format.render(diagnostics, rules)
    if fmt == "github":
        from initlint.report import github

        return github.render(diagnostics)
    if fmt == "sarif":
        from initlint.report import sarif

        return sarif.render(diagnostics, rules, sources, version)
    raise ValueError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(diagnostics: Sequence[Diagnostic], fixed: int = 0) -> str:
    """The closing lines for stderr: what was fixed, what is left, and how much `--fix` would fix."""
    lines = []
    if fixed:
        lines.append(f"Fixed {_plural(fixed, 'problem')}.")
    if not diagnostics:
        lines.append("All checks passed!")
        return "\n".join(lines)
    files = len({d.path for d in diagnostics})
    lines.append(f"Found {_plural(len(diagnostics), 'problem')} in {_plural(files, 'file')}.")
    fixable = sum(1 for d in diagnostics if d.fix is not None and d.fix.applicability == Applicability.SAFE)
    if fixable:
        lines.append(f"[*] {fixable} fixable with --fix.")
    return "\n".join(lines)
