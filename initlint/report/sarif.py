"""The sarif format: a SARIF 2.1.0 log for GitHub code scanning and other SARIF viewers.

Paths become URIs relative to the working directory (base id %SRCROOT%) so a log made in CI
matches the repository. Each result carries a fingerprint built from the code, the file and
the text of the flagged line, never its number: a finding that moves keeps its alert.

Notebook findings: a viewer of the log (GitHub code scanning) shows the .ipynb file itself, so
the region is the line of the notebook's JSON that holds the flagged row (the element of the
cell's `source` list where it begins), without columns; the cell is the result's logical
location (`cell N`), the message ends with `(cell N, line R, column C)`, and the cell-relative
position is in the result's `properties` (cell, cellLine, cellColumn, cellEndLine, cellEndColumn).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path, PurePath
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type
from urllib.parse import quote

from initlint.diagnostic import Diagnostic, Severity
from initlint.report.full import source_lines
from initlint.rule import Rule

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/initlint/initlint"
SRCROOT = "%SRCROOT%"
# Bump the suffix if what goes into the hash changes, so old and new alerts never collide.
FINGERPRINT_KEY = "initlintFingerprint/v1"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning"}


def artifact_location(path: str, root: str) -> Dict[str, str]:
    """A relative, percent-encoded POSIX URI under %SRCROOT%, or an absolute file URI outside it."""
    absolute = os.path.abspath(path)
    try:
        inside = os.path.commonpath([absolute, root]) == root
    except ValueError:  # another drive on Windows
        inside = False
    if not inside:
        return {"uri": Path(absolute).as_uri()}
    relative = PurePath(os.path.relpath(absolute, root)).as_posix()
    return {"uri": quote(_raw(relative), safe="/"), "uriBaseId": SRCROOT}


def _raw(path: str) -> bytes:
    """A path's bytes as the file system has them (undecodable bytes of a name included), so
    that the URI percent-encodes the file's real name."""
    try:
        return os.fsencode(path)
    except UnicodeEncodeError:  # a lone surrogate that did not come from the file system
        return path.encode("utf-8", "surrogatepass")


def _rule_descriptor(code: str, rule: Optional[Type[Rule]], sample: Diagnostic) -> Dict[str, Any]:
    """The reportingDescriptor of one reported code; codes without a rule (file errors) get the basics."""
    if rule is None:
        descriptor: Dict[str, Any] = {
            "id": code,
            "name": sample.name,
            "shortDescription": {"text": sample.name},
        }
        if sample.url:
            descriptor["helpUri"] = sample.url
        descriptor["defaultConfiguration"] = {"level": _LEVEL[sample.severity]}
        return descriptor
    docs = rule.docs()
    summary = rule.summary() or rule.name
    # "What it does" and "Why is this bad?" describe the rule; the examples belong in help.
    description = docs.split("## Example", 1)[0].replace("## ", "").strip() or summary
    descriptor = {
        "id": code,
        "name": rule.name,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": description},
        "help": {"text": docs or summary, "markdown": docs or summary},
        "helpUri": rule.url(),
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
    }
    return descriptor


def fingerprint(code: str, uri: str, anchor: str, occurrence: int) -> str:
    """sha256 of the code, the file's URI, the line's text and which identical line this is."""
    text = "\0".join((code, uri, anchor, str(occurrence)))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _anchor(diagnostic: Diagnostic, lines: Optional[List[str]]) -> str:
    """The flagged line's text, whitespace-normalised; the message when the line cannot be had."""
    row = diagnostic.location.row
    if lines is not None and diagnostic.cell is None and 1 <= row <= len(lines):
        return " ".join(lines[row - 1].split())
    return diagnostic.message


def _region(diagnostic: Diagnostic) -> Dict[str, int]:
    start, end = diagnostic.location, diagnostic.end_location
    # SARIF needs lines and columns from 1 and an end not before the start.
    start_line, start_column = max(start.row, 1), max(start.column, 1)
    end_line, end_column = max(end.row, 1), max(end.column, 1)
    if (end_line, end_column) < (start_line, start_column):
        end_line, end_column = start_line, start_column
    return {
        "startLine": start_line,
        "startColumn": start_column,
        "endLine": end_line,
        "endColumn": end_column,
    }


def _fixes(diagnostic: Diagnostic, location: Dict[str, str]) -> List[Dict[str, Any]]:
    """The fix as a SARIF fix; none for notebooks, whose edit offsets are not into the .ipynb text."""
    fix = diagnostic.fix
    if fix is None or diagnostic.cell is not None:
        return []
    replacements = [
        {
            "deletedRegion": {"charOffset": e.start, "charLength": e.end - e.start},
            "insertedContent": {"text": e.content},
        }
        for e in fix.edits
    ]
    change = {"artifactLocation": location, "replacements": replacements}
    return [
        {
            "description": {"text": fix.title},
            "artifactChanges": [change],
            "properties": {"applicability": fix.applicability.value},
        }
    ]


def cell_suffix(diagnostic: Diagnostic) -> str:
    """` (cell N, line R, column C)` for a notebook finding, else empty."""
    if diagnostic.cell is None:
        return ""
    return f" (cell {diagnostic.cell}, line {diagnostic.location.row}, column {diagnostic.location.column})"


def _notebook_region(diagnostic: Diagnostic, text: Optional[str]) -> Dict[str, int]:
    """The JSON line of the notebook that holds the finding's row (line 1 when it cannot be found)."""
    from initlint.notebook import json_line

    line = json_line(text, diagnostic.cell, diagnostic.location.row) if text is not None and diagnostic.cell else None
    return {"startLine": line or 1}


def _result(diagnostic: Diagnostic, rule_index: int, location: Dict[str, str], print_: str, text: Optional[str] = None) -> Dict[str, Any]:
    notebook = diagnostic.cell is not None
    physical = {"artifactLocation": location, "region": _notebook_region(diagnostic, text) if notebook else _region(diagnostic)}
    where: Dict[str, Any] = {"physicalLocation": physical}
    if notebook:
        where["logicalLocations"] = [{"name": f"cell {diagnostic.cell}", "fullyQualifiedName": f"{location['uri']}:cell {diagnostic.cell}"}]
    result: Dict[str, Any] = {
        "ruleId": diagnostic.code,
        "ruleIndex": rule_index,
        "level": _LEVEL[diagnostic.severity],
        "message": {"text": diagnostic.message + cell_suffix(diagnostic)},
        "locations": [where],
        "partialFingerprints": {FINGERPRINT_KEY: print_},
    }
    fixes = _fixes(diagnostic, location)
    if fixes:
        result["fixes"] = fixes
    properties: Dict[str, Any] = {}
    if notebook:
        region = _region(diagnostic)
        properties.update(cell=diagnostic.cell, cellLine=region["startLine"], cellColumn=region["startColumn"],
                          cellEndLine=region["endLine"], cellEndColumn=region["endColumn"])
    if diagnostic.notes:
        properties["notes"] = list(diagnostic.notes)
    if properties:
        result["properties"] = properties
    return result


def render(
    diagnostics: Sequence[Diagnostic],
    rules: Mapping[str, Type[Rule]],
    sources: Mapping[str, str],
    version: str,
    root: Optional[str] = None,
) -> str:
    """A SARIF 2.1.0 log with one run; `root` (default: the working directory) is %SRCROOT%."""
    root = os.path.abspath(root or os.getcwd())
    samples: Dict[str, Diagnostic] = {}
    for diagnostic in diagnostics:
        samples.setdefault(diagnostic.code, diagnostic)
    codes = sorted(samples)
    index = {code: i for i, code in enumerate(codes)}
    lines = {path: source_lines(text) for path, text in sources.items()}
    seen: Counter[Tuple[str, str, str]] = Counter()
    results = []
    for diagnostic in diagnostics:
        location = artifact_location(diagnostic.path, root)
        key = (diagnostic.code, location["uri"], _anchor(diagnostic, lines.get(diagnostic.path)))
        print_ = fingerprint(*key, seen[key])
        seen[key] += 1
        results.append(_result(diagnostic, index[diagnostic.code], location, print_, sources.get(diagnostic.path)))
    base = Path(root).as_uri()
    run = {
        "tool": {
            "driver": {
                "name": "initlint",
                "version": version or _own_version(),
                "informationUri": INFORMATION_URI,
                "rules": [_rule_descriptor(code, rules.get(code), samples[code]) for code in codes],
            }
        },
        # A base URI must end in a slash, or resolving "a.py" against it drops its last segment.
        "originalUriBaseIds": {SRCROOT: {"uri": base if base.endswith("/") else base + "/"}},
        # Diagnostic columns count characters (code points), not UTF-16 units.
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    from initlint.report import printable_data

    return json.dumps(printable_data({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}), indent=2)


def _own_version() -> str:
    """initlint's version, for a caller that passed none (the driver's version should never be blank)."""
    from initlint import __version__

    return __version__
