"""The properties every fuzzed input must keep: no exception, no internal error, well-formed output, determinism."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import List, Sequence

from initlint import report
from initlint.diagnostic import FILE_ERROR_CODES, INTERNAL_ERROR, IO_ERROR, Diagnostic, file_error
from initlint.editors import problem_matcher_path
from initlint.engine import ReadError, decode, lint_source

ROOT = Path(__file__).resolve().parent.parent.parent
_MATCHER = json.loads(Path(problem_matcher_path()).read_text())
CONCISE = re.compile(_MATCHER["problemMatcher"][0]["pattern"][0]["regexp"])


def lint_bytes(data: bytes, path: str, settings) -> List[Diagnostic]:
    """What `lint_file` does with these bytes, without the file (and the cache): read errors become IL902."""
    try:
        source = decode(data)
    except ReadError as error:
        return [file_error(IO_ERROR, path, f"cannot read: {error}")]
    return lint_source(source, path, settings)


def check_diagnostics(diagnostics: Sequence[Diagnostic], source: str, what: object = "") -> None:
    """No internal error; codes and positions that make sense for `source`."""
    internal = [d for d in diagnostics if d.code == INTERNAL_ERROR[0]]
    assert not internal, f"internal error (a bug to fix) on {what!r}: {internal}"
    rows = source.count("\n") + source.count("\r") + 2
    for d in diagnostics:
        assert re.fullmatch(r"IL\d{3}", d.code), d
        assert 1 <= d.location.row <= rows and d.location.column >= 1, d
        if d.code in FILE_ERROR_CODES:
            assert d.message, d


def check_formats(diagnostics: Sequence[Diagnostic], sources: dict) -> None:
    """Every output format parses the way its consumers parse it."""
    from initlint.rules import BY_CODE

    diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
    concise = report.render(diagnostics, "concise", rules=BY_CODE, sources=sources)
    lines = concise.split("\n") if concise else []
    assert len(lines) == len(diagnostics), concise
    for line in lines:
        assert CONCISE.match(line), line
        assert "\r" not in line, line
    payload = json.loads(report.render(diagnostics, "json", rules=BY_CODE, sources=sources))
    assert isinstance(payload, list) and len(payload) == len(diagnostics)
    sarif = json.loads(report.render(diagnostics, "sarif", rules=BY_CODE, sources=sources, version="0"))
    assert sarif["version"] == "2.1.0" and len(sarif["runs"][0]["results"]) == len(diagnostics)
    github = report.render(diagnostics, "github", rules=BY_CODE, sources=sources)
    for line in github.split("\n") if github else []:
        assert re.match(r"^::(error|warning|notice) [^\n\r]*::", line), line
    full = report.render(diagnostics, "full", rules=BY_CODE, sources=sources)
    assert isinstance(full, str) and (not diagnostics or full)


def check_all(data: bytes, path: str, settings) -> List[Diagnostic]:
    """Lint `data` twice and check every property; returns the diagnostics."""
    first = lint_bytes(data, path, settings)
    second = lint_bytes(data, path, settings)
    assert first == second, f"not deterministic on {data!r}: {first} then {second}"
    try:
        source = decode(data)
    except ReadError:
        source = ""
        assert [d.code for d in first] == [IO_ERROR[0]]
    check_diagnostics(first, source, data)
    check_formats(first, {path: source})
    return first
