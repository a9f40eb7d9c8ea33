"""Output formats: the only place that turns diagnostics into text. Renderers return, never print."""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping, Sequence, Type

from initlint.diagnostic import Applicability, Diagnostic

if TYPE_CHECKING:
    from initlint.rule import Rule

FORMATS = ("concise", "full", "json", "github", "sarif")
# The formats that show the rules' documentation (names, help, urls): only they take `rules`.
RULE_FORMATS = frozenset({"json", "sarif"})

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
    unsafe_fixes: bool = False,
    color: bool = False,
) -> str:
    """`diagnostics` (already sorted) in format `fmt`, without a trailing newline.

    Empty when there is nothing to report, except json (`[]`) and sarif (a log with no results).
    `rules` maps codes to Rule classes (names, docs, urls); `sources` maps paths to their text
    (the full format's excerpts, sarif's fingerprints; a notebook's JSON text). In concise and
    full output, `[*]` marks the findings `--fix` would fix (with `unsafe_fixes`, the unsafe
    ones too), and `color` adds ANSI colours.
    """
    # Each format's module is imported when used (sarif's pulls in hashlib and json): a clean
    # concise run, the pre-commit case, pays for none of them.
    if fmt == "concise":
        from initlint.report import concise

        return printable(concise.render(diagnostics, unsafe_fixes=unsafe_fixes, color=color))
    if fmt == "full":
        from initlint.report import full

        return printable(full.render(diagnostics, sources, unsafe_fixes=unsafe_fixes, color=color))
    if fmt == "json":
        from initlint.report import json_format

        return json_format.render(diagnostics, rules)
    if fmt == "github":
        from initlint.report import github

        return printable(github.render(diagnostics, sources))
    if fmt == "sarif":
        from initlint.report import sarif

        return sarif.render(diagnostics, rules, sources, version)
    raise ValueError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")


# A file name that is not valid UTF-8 reaches Python with each bad byte as a lone surrogate
# (U+DC80-U+DCFF, PEP 383); a notebook's JSON can hold lone surrogates too (`"\ud800"`). Neither
# can be written as UTF-8 (printing one raises), and a JSON `\udcff` escape is rejected by strict
# parsers. They are shown escaped instead: `\xff` for a byte, `\ud800` for a surrogate.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(match: "re.Match[str]") -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with what cannot be written as UTF-8 (undecodable bytes of file names, lone
    surrogates) escaped as `\\xNN` / `\\uNNNN`; the same text when there is none (the usual case)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub(_escape, text)
    return text


def printable_data(value: Any) -> Any:
    """`printable` applied to every string in JSON-like data (dicts, lists, strings, scalars)."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable_data(k): printable_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable_data(v) for v in value]
    return value


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def fixable(diagnostic: Diagnostic, unsafe_fixes: bool = False) -> bool:
    """Whether `--fix` (with `unsafe_fixes`: `--fix --unsafe-fixes`) would apply its fix."""
    fix = diagnostic.fix
    if fix is None or not fix.edits:
        return False
    return fix.applicability == Applicability.SAFE or (unsafe_fixes and fix.applicability == Applicability.UNSAFE)


def summary(diagnostics: Sequence[Diagnostic], fixed: int = 0, unsafe_fixes: bool = False) -> str:
    """The closing lines for stderr: what was fixed, what is left, and how much `--fix` would fix."""
    lines = []
    if fixed:
        lines.append(f"Fixed {_plural(fixed, 'problem')}.")
    if not diagnostics:
        lines.append("All checks passed!")
        return "\n".join(lines)
    files = len({d.path for d in diagnostics})
    lines.append(f"Found {_plural(len(diagnostics), 'problem')} in {_plural(files, 'file')}.")
    count = sum(1 for d in diagnostics if fixable(d, unsafe_fixes))
    if count:
        lines.append(f"[*] {count} fixable with --fix{' --unsafe-fixes' if unsafe_fixes else ''}.")
    hidden = 0 if unsafe_fixes else sum(1 for d in diagnostics if fixable(d, True) and not fixable(d))
    if hidden:
        lines.append(f"({hidden} hidden fix{'' if hidden == 1 else 'es'} can be enabled with the `--unsafe-fixes` option.)")
    return "\n".join(lines)
