"""One file: read -> screen -> parse once -> collect facts -> every rule -> suppress -> diagnostics.

Results are plain picklable data, so linting many files in parallel is a map.
"""

from __future__ import annotations

import ast
import io
import os
import sys
import tokenize
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Type

from initlint import screen
from initlint.config import Settings, ignored_for
from initlint.diagnostic import (
    INTERNAL_ERROR,
    IO_ERROR,
    SYNTAX_ERROR,
    Diagnostic,
    Location,
    file_error,
)
from initlint.rule import Rule

# Larger sources are refused rather than parsed: libcst needs minutes and gigabytes for them.
MAX_SOURCE_CHARS = 20_000_000

_RECURSION_LIMIT = 20_000

# Below this many files, starting worker processes costs more than it saves.
_PARALLEL_THRESHOLD = 8


@dataclass(frozen=True)
class FileResult:
    """What linting one file produced; `source` is kept only when there is something to show or fix."""

    path: str
    diagnostics: Tuple[Diagnostic, ...]
    source: Optional[str] = None


class ReadError(Exception):
    """A file that cannot be read as Python source; the message says why."""


def read_source(path: str) -> str:
    """Decode a file the way Python does (BOM, coding cookie, UTF-8 by default)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except IsADirectoryError:
        raise ReadError("is a directory") from None
    except OSError as error:
        raise ReadError(error.strerror or str(error)) from None
    return decode(data)


def decode(data: bytes) -> str:
    """Bytes -> text, with clear errors for binary and mis-encoded files."""
    if b"\x00" in data:
        raise ReadError("contains NUL bytes: not a Python source file")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        # detect_encoding says "invalid or missing encoding declaration" for non-UTF-8 bytes
        raise ReadError(f"not valid UTF-8 and no usable coding declaration ({error.msg if hasattr(error, 'msg') else error})") from None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise ReadError(f"not valid {encoding}: {error}") from None
    return text[1:] if text.startswith("\ufeff") else text


def selected_rules(settings: Settings) -> List[Type[Rule]]:
    """The rule classes a run uses, in code order."""
    from initlint.rules import ALL_RULES

    return [rule for rule in ALL_RULES if rule.code in settings.select]


def lint_source(source: str, path: str, settings: Settings, rules: Optional[Sequence[Type[Rule]]] = None) -> List[Diagnostic]:
    """Lint one file's text; never raises for anything the file contains."""
    rules = selected_rules(settings) if rules is None else rules
    off = set(ignored_for(path, settings))
    rules = [rule for rule in rules if rule.code not in off]
    if not rules or not screen.may_match(source):
        return []
    refusal = _too_deep(source)
    if refusal is not None:
        return [file_error(SYNTAX_ERROR, path, f"cannot parse: {refusal}")]
    import libcst as cst  # only files that pass the screen pay for libcst

    # Long legal chains (`a + b + ...` over a thousand terms) nest libcst's tree deeply; Python
    # 3.11+ calls between Python functions need no C stack, so a higher limit is safe while we
    # walk it. CPython's own parser (in _too_deep) keeps running under the normal limit.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, _RECURSION_LIMIT))
    try:
        return _parse_and_check(cst, source, path, settings, rules)
    finally:
        sys.setrecursionlimit(limit)


def _parse_and_check(cst, source: str, path: str, settings: Settings, rules) -> List[Diagnostic]:
    from initlint import suppression
    from initlint.facts import collect

    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        return [file_error(SYNTAX_ERROR, path, f"cannot parse: {error.message}", error.raw_line, error.raw_column + 1)]
    except RecursionError:
        return [file_error(SYNTAX_ERROR, path, "cannot parse: the code is nested too deeply")]
    except Exception as error:  # noqa: BLE001 - the native parser can raise others on odd input
        return [file_error(SYNTAX_ERROR, path, f"cannot parse: {type(error).__name__}: {error}")]
    try:
        facts = collect(module, settings.extend_init_modules, source)
    except RecursionError:
        return [file_error(SYNTAX_ERROR, path, "cannot analyse: the code is nested too deeply")]
    except Exception as error:  # noqa: BLE001 - a bug of ours, reported for this file only
        return [file_error(INTERNAL_ERROR, path, f"internal error while analysing: {type(error).__name__}: {error}")]
    diagnostics: List[Diagnostic] = []
    for rule in rules:
        try:
            for finding in rule().check(facts):
                diagnostics.append(_diagnostic(rule, finding, facts, path))
        except Exception as error:  # noqa: BLE001 - one rule's bug must not take the run down
            diagnostics.append(
                file_error(INTERNAL_ERROR, path, f"internal error in {rule.code} ({rule.name}): {type(error).__name__}: {error}")
            )
    if diagnostics:
        rows = suppression.parse(source)
        diagnostics = [d for d in diagnostics if d.code == INTERNAL_ERROR[0] or not suppression.is_suppressed(rows, d.location.row, d.code)]
    return sorted(set(diagnostics), key=Diagnostic.sort_key)


def _too_deep(source: str) -> Optional[str]:
    """Why CPython itself would refuse this file for its nesting, else None.

    libcst's native parser crashes the whole process (a stack overflow) on nesting that CPython
    rejects cleanly (thousands of parentheses or unary operators), so CPython's parser, ten times
    faster, looks first; its other syntax errors are left for libcst to report.
    """
    if len(source) > MAX_SOURCE_CHARS:
        return f"the file is larger than {MAX_SOURCE_CHARS // 1_000_000} million characters"
    try:
        ast.parse(source)
    except (RecursionError, MemoryError):
        return "the code is nested too deeply"
    except SyntaxError as error:
        if "too many nested" in str(error) or "too complex" in str(error):
            return str(error.msg)
    except (ValueError, OverflowError):
        pass  # null bytes and friends: libcst reports them
    return None


def _diagnostic(rule: Type[Rule], finding, facts, path: str) -> Diagnostic:
    where = facts.range_of(finding.node)
    message = finding.message
    if finding.no_fix_reason:
        message = f"{message} (no fix: {finding.no_fix_reason})"
    return Diagnostic(
        code=rule.code,
        name=rule.name,
        message=message,
        path=path,
        location=Location(where.start.line, where.start.column + 1),
        end_location=Location(where.end.line, where.end.column + 1),
        severity=rule.severity,
        fix_title=rule.fix_title,
        fix=finding.fix,
        url=rule.url(),
    )


def lint_file(path: str, settings: Settings) -> FileResult:
    """Read and lint one file; every problem becomes a diagnostic, never an exception."""
    try:
        source = read_source(path)
    except ReadError as error:
        return FileResult(path, (file_error(IO_ERROR, path, f"cannot read: {error}"),))
    try:
        diagnostics = tuple(lint_source(source, path, settings))
    except Exception as error:  # noqa: BLE001 - last line of defence: report, go on
        diagnostics = (file_error(INTERNAL_ERROR, path, f"internal error: {type(error).__name__}: {error}"),)
    return FileResult(path, diagnostics, source if diagnostics else None)


def _lint_many(args: Tuple[Sequence[str], Settings]) -> List[FileResult]:
    paths, settings = args
    return [lint_file(path, settings) for path in paths]


def lint_paths(paths: Sequence[str], settings: Settings) -> List[FileResult]:
    """Lint files, in parallel across cores when it pays; results in the order of `paths`."""
    jobs = settings.jobs or os.cpu_count() or 1
    if jobs <= 1 or len(paths) < _PARALLEL_THRESHOLD:
        return [lint_file(path, settings) for path in paths]
    # Contiguous chunks, several per worker, so that the parent re-assembles them in order.
    size = max(1, min(64, len(paths) // (jobs * 4) or 1))
    chunks = [paths[i:i + size] for i in range(0, len(paths), size)]
    results: List[FileResult] = []
    try:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for chunk in pool.map(_lint_many, [(chunk, settings) for chunk in chunks]):
                results.extend(chunk)
    except (OSError, RuntimeError):
        # No worker processes here (a sandbox without /dev/shm, say): lint serially instead.
        return [lint_file(path, settings) for path in paths]
    return results
