"""The problem matcher (GitHub Actions' ::add-matcher:: and VS Code tasks) against real concise output."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict

import pytest

from initlint.diagnostic import Diagnostic, Location
from initlint.editors import problem_matcher_path
from initlint.report import render

MATCHER = Path(problem_matcher_path())


def _config() -> Dict[str, Any]:
    return json.loads(MATCHER.read_text(encoding="utf-8"))


def _pattern() -> Dict[str, Any]:
    (matcher,) = _config()["problemMatcher"]
    (pattern,) = matcher["pattern"]
    return pattern


def _diag(path: str, row: int, column: int, code: str, message: str, cell: Any = None) -> Diagnostic:
    loc = Location(row, column)
    return Diagnostic(
        code=code, name="x", message=message, path=path, location=loc, end_location=loc, cell=cell
    )


CASES = [
    _diag("pkg/model.py", 3, 5, "IL001", "self.weight starts with every entry equal to 0.5"),
    _diag("my project/sub dir/a b.py", 12, 1, "IL002", "layer is dead: weight and bias are zero"),
    _diag(r"C:\Users\me\x y\model.py", 140, 17, "IL013", "same as other.py:1:2: IL001 here, and 50%"),
    _diag("/abs/path/with:colon/m.py", 1, 1, "IL901", "syntax error: unexpected indent"),
]


def test_matcher_shape() -> None:
    config = _config()
    (matcher,) = config["problemMatcher"]
    assert matcher["owner"] == "initlint"
    assert matcher["severity"] == "error"
    pattern = _pattern()
    assert {k: pattern[k] for k in ("file", "line", "column", "code", "message")} == {
        "file": 1,
        "line": 2,
        "column": 3,
        "code": 4,
        "message": 5,
    }


def test_regex_stays_in_the_common_subset() -> None:
    # Python, JavaScript (VS Code) and .NET (the Actions runner) must read it alike:
    # no named groups, no lookbehind, no inline flags, no possessive or atomic groups.
    regexp = _pattern()["regexp"]
    for construct in ("(?P", "(?<", "(?i", "(?s", "(?m", "(?>", "++", "*+"):
        assert construct not in regexp


@pytest.mark.parametrize("d", CASES, ids=lambda d: d.path)
def test_matches_every_concise_line(d: Diagnostic) -> None:
    regex = re.compile(_pattern()["regexp"])
    line = render([d], "concise")
    match = regex.match(line)
    assert match, line
    assert match.group(1) == d.path
    assert int(match.group(2)) == d.location.row
    assert int(match.group(3)) == d.location.column
    assert match.group(4) == d.code
    assert match.group(5) == d.message


def test_matches_a_whole_rendered_report() -> None:
    regex = re.compile(_pattern()["regexp"])
    lines = render(CASES, "concise").split("\n")
    assert [regex.match(line).group(1) for line in lines] == [d.path for d in CASES]  # type: ignore[union-attr]


def test_notebook_cell_lines_are_not_matched() -> None:
    # Cell rows count from the cell, not the .ipynb file: a match would send the editor to the
    # wrong line of the notebook's JSON, so the matcher leaves these lines alone (by design).
    regex = re.compile(_pattern()["regexp"])
    line = render([_diag("nb dir/analysis.ipynb", 4, 2, "IL001", "w is constant", cell=3)], "concise")
    assert line.startswith("nb dir/analysis.ipynb:cell 3:")
    assert regex.match(line) is None


def test_other_output_is_not_matched() -> None:
    regex = re.compile(_pattern()["regexp"])
    for line in (
        "Found 3 problems in 2 files.",
        "All checks passed!",
        "a.py:1:2: E501 line too long",
        "a.py:1: IL001 x",
    ):
        assert regex.match(line) is None


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_reads_the_regex_alike() -> None:
    # VS Code compiles the pattern with JavaScript's RegExp: check it there too.
    lines = render(CASES, "concise").split("\n") + [
        render([_diag("n.ipynb", 1, 1, "IL001", "m", cell=1)], "concise")
    ]
    script = (
        "const [re, lines] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const r = new RegExp(re);"
        "console.log(JSON.stringify(lines.map(l => { const m = r.exec(l); return m ? m.slice(1) : null; })));"
    )
    payload = json.dumps([_pattern()["regexp"], lines])
    out = subprocess.run(
        ["node", "-e", script], input=payload, capture_output=True, text=True, check=True
    ).stdout
    groups = json.loads(out)
    assert groups[:-1] == [
        [d.path, str(d.location.row), str(d.location.column), d.code, d.message] for d in CASES
    ]
    assert groups[-1] is None
