"""Every fixture file's findings match its `.expected` snapshot (codes and positions).

Snapshots hold concise output; `INITLINT_UPDATE_SNAPSHOTS=1 pytest tests/test_fixtures.py` rewrites
them (review the diff before committing). Messages are compared loosely on purpose: wording may change,
codes and positions may not.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import FIXTURES, UPDATE, lint

LINE = re.compile(r"^(?P<path>.+?):(?P<row>\d+):(?P<col>\d+): (?P<code>IL\d{3}) (?P<message>.*)$")
CASES = sorted(p for p in FIXTURES.glob("*.py"))


def _concise(path: Path) -> str:
    source = path.read_text(encoding="utf-8")
    rel = f"fixtures/{path.name}"
    return "".join(f"{rel}:{d.location.row}:{d.location.column}: {d.code} {d.message}\n" for d in lint(source, rel))


def _keys(text: str):
    keys = []
    for line in text.splitlines():
        match = LINE.match(line)
        assert match, f"not a concise line: {line!r}"
        keys.append((match["path"], int(match["row"]), int(match["col"]), match["code"]))
    return keys


def test_there_are_fixtures():
    assert len(CASES) >= 10


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_fixture_matches_snapshot(path: Path):
    expected_file = path.with_suffix(".expected")
    actual = _concise(path)
    if UPDATE:
        expected_file.write_text(actual, encoding="utf-8")
    assert expected_file.exists(), f"missing snapshot {expected_file.name}: run with INITLINT_UPDATE_SNAPSHOTS=1"
    assert _keys(actual) == _keys(expected_file.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_fixture_name_agrees_with_findings(path: Path):
    """`ILnnn_ok_*` fixtures report nothing at all; `ILnnn_miss_*` pin a known miss of ILnnn;
    every other `ILnnn_*` fixture reports ILnnn."""
    code, _, rest = path.stem.partition("_")
    found = {key[3] for key in _keys(_concise(path))}
    if rest.startswith("ok_"):
        assert not found, f"{path.name} must stay quiet, got {sorted(found)}"
    elif rest.startswith("miss_"):
        assert code not in found, f"{path.name} pins a known miss of {code}: update the name if it is now found"
    else:
        assert code in found, f"{path.name} should report {code}"


# A filled-in message with a hole: two spaces in a row, a placeholder left, empty brackets, or a
# clause that ends before its word ("only  tells them apart").
_HOLE = re.compile(r"\S  +\S|(?<!\w)\{\w*\}|(?<![\w\]])\(\s*\)|\[\s*\]|\bonly\s+(tells?|by)\b|,\s*,|:\s*$")


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_every_message_is_filled_in(path: Path):
    """Each finding's message reads whole: the model had something to say in every slot."""
    source = path.read_text(encoding="utf-8")
    for d in lint(source, f"fixtures/{path.name}"):
        assert not _HOLE.search(d.message), f"{path.name}:{d.location.row}: {d.message!r}"
