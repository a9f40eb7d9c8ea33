"""The seed documents' cases: every `# expect: flag` site has a finding within one line, every
`# expect: clean` site none (the same judgement as the project's before-stop hook)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import FIXTURES, SEED_CASES, lint

MARK = re.compile(r"#\s*expect:\s*(flag|clean)")


def _cases():
    """The shared seed cases; without ../shared (a bare clone), the fixtures copied from them."""
    if SEED_CASES.is_dir():
        return sorted(SEED_CASES.glob("seed*.py"))
    return [p for p in sorted(FIXTURES.glob("*_seed*.py")) if MARK.search(p.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("path", _cases(), ids=lambda p: p.name)
def test_seed_sites(path: Path):
    source = path.read_text(encoding="utf-8")
    rows = {d.location.row for d in lint(source, path.name)}
    marks = [(i, m[1]) for i, line in enumerate(source.splitlines(), 1) for m in [MARK.search(line)] if m]
    assert marks, "a seed case without expectations"
    wrong = [(i, want) for i, want in marks if (want == "flag") != any(abs(r - i) <= 1 for r in rows)]
    assert not wrong, f"{path.name}: sites judged wrongly: {wrong}"
