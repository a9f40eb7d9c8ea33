"""The static claims and the runtime agree: every fixture with findings is run with `--runtime`, and each
finding's verdict matches the fixture's `.runtime` snapshot.

A fixture's `.runtime` file holds one line per finding, `fixtures/NAME.py:ROW:COL: CODE VERDICT — what was
measured`; only the position, code and verdict word are compared (the wording may change, the verdict may
not). `INITLINT_UPDATE_SNAPSHOTS=1 pytest tests/test_runtime_fixtures.py` rewrites them: review the diff,
and never accept a `refuted` you cannot explain. Each fixture file runs in one worker process, two files
at a time.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

pytest.importorskip("torch")

from conftest import FIXTURES, UPDATE, lint

from initlint.runtime.claims import CLAIMS, WORDS, verdict_of
from initlint.runtime.confirm import confirm

pytestmark = pytest.mark.slow
LINE = re.compile(r"^(?P<path>.+?):(?P<row>\d+):(?P<col>\d+): (?P<code>IL\d{3}) (?P<verdict>.+?) — ")
_WORD_TO_KIND = {word: kind for kind, word in WORDS.items()}


def _has_findings(path: Path) -> bool:
    expected = path.with_suffix(".expected")
    return expected.exists() and bool(expected.read_text(encoding="utf-8").strip())


CASES = [p for p in sorted(FIXTURES.glob("IL*.py")) if _has_findings(p)]


@pytest.fixture(scope="module")
def verdicts() -> Dict[Path, List[str]]:
    """Every fixture's findings, confirmed in one call: one worker per file."""
    found = {path: lint(path.read_text(encoding="utf-8"), str(path)) for path in CASES}
    wanted = [d for diagnostics in found.values() for d in diagnostics if d.code in CLAIMS]
    confirmed = {id(d): d for d in wanted}
    for before, after in zip(wanted, confirm(wanted, timeout=60, jobs=2)):
        confirmed[id(before)] = after
    lines: Dict[Path, List[str]] = {}
    for path, diagnostics in found.items():
        lines[path] = []
        for d in diagnostics:
            d = confirmed.get(id(d), d)
            note = next((n for n in d.notes if n.startswith("runtime: ")), "runtime: not judged — no claim for this code")
            lines[path].append(f"fixtures/{path.name}:{d.location.row}:{d.location.column}: {d.code} {note[len('runtime: '):]}")
    return lines


def _keys(text: str) -> List[Tuple[int, int, str, str]]:
    keys = []
    for line in text.splitlines():
        match = LINE.match(line)
        assert match, f"not a runtime snapshot line: {line!r}"
        keys.append((int(match["row"]), int(match["col"]), match["code"], match["verdict"]))
    return keys


def test_there_are_fixtures_to_compare():
    assert len(CASES) >= 10


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_runtime_verdicts_match_snapshot(path: Path, verdicts):
    actual = "".join(f"{line}\n" for line in verdicts[path])
    snapshot = path.with_suffix(".runtime")
    if UPDATE:
        snapshot.write_text(actual, encoding="utf-8")
    assert snapshot.exists(), f"missing snapshot {snapshot.name}: run with INITLINT_UPDATE_SNAPSHOTS=1 and review it"
    expected = _keys(snapshot.read_text(encoding="utf-8"))
    got = _keys(actual)
    # A refutation nobody reviewed means the static claim and the runtime disagree: say which.
    refuted = [k for k in got if _WORD_TO_KIND.get(k[3]) == "refuted" and k not in expected]
    assert not refuted, f"{path.name}: refuted at runtime, not in the snapshot: {refuted}\n{actual}"
    assert got == expected, actual


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_every_verdict_uses_a_known_word(path: Path, verdicts):
    for row, col, code, word in _keys("".join(f"{line}\n" for line in verdicts[path])):
        assert word in _WORD_TO_KIND or code not in CLAIMS, (path.name, row, code, word)
        assert word != "not confirmed"


def test_verdict_kind_round_trips_through_the_note():
    from initlint.diagnostic import Diagnostic, Location

    here = Location(1, 1)
    for kind, word in WORDS.items():
        d = Diagnostic("IL001", "x", "m", "f.py", here, here, notes=(f"runtime: {word} — evidence",))
        assert verdict_of(d) == kind
