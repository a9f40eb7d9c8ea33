"""The json format: a list of objects, one a finding, close to ruff's `--output-format json`."""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional, Sequence, Type

from initlint.diagnostic import Diagnostic, Fix, Location
from initlint.rule import Rule


def _location(location: Location) -> Dict[str, int]:
    return {"row": location.row, "column": location.column}


def _fix(fix: Optional[Fix]) -> Optional[Dict[str, Any]]:
    if fix is None:
        return None
    return {
        "applicability": fix.applicability.value,
        "message": fix.title,
        # Character offsets into the file's text, as Edit holds them.
        "edits": [{"start": e.start, "end": e.end, "content": e.content} for e in fix.edits],
    }


def rule_url(diagnostic: Diagnostic, rules: Mapping[str, Type[Rule]]) -> Optional[str]:
    """The diagnostic's own url, else its rule's; None for codes no rule documents."""
    if diagnostic.url:
        return diagnostic.url
    rule = rules.get(diagnostic.code)
    return rule.url() if rule is not None else None


def as_dict(diagnostic: Diagnostic, rules: Mapping[str, Type[Rule]]) -> Dict[str, Any]:
    """One finding as plain JSON-able data."""
    return {
        "code": diagnostic.code,
        "name": diagnostic.name,
        "message": diagnostic.message,
        "severity": diagnostic.severity.value,
        "filename": diagnostic.path,
        "cell": diagnostic.cell,
        "location": _location(diagnostic.location),
        "end_location": _location(diagnostic.end_location),
        "fix_title": diagnostic.fix_title,
        "fix": _fix(diagnostic.fix),
        "url": rule_url(diagnostic, rules),
        "notes": list(diagnostic.notes),
    }


def render(diagnostics: Sequence[Diagnostic], rules: Mapping[str, Type[Rule]]) -> str:
    """A JSON array (`[]` when there are no findings), without a trailing newline."""
    from initlint.report import printable_data

    # ensure_ascii (the default) keeps the output writable to any console encoding; printable_data
    # escapes what would become a lone `\udcff` (an undecodable byte in a file name).
    return json.dumps(printable_data([as_dict(d, rules) for d in diagnostics]), indent=2)
