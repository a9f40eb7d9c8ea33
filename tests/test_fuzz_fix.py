"""Fuzzing the fixer: every fixable fixture, and variants of it, fixed through `--fix`'s machinery.

The fixed text parses, a second pass changes nothing, and every line outside the moved statements
is byte-identical (line endings, tabs, comments, a BOM): the only lines difflib sees change are
lines that moved, deleted in one place and inserted, unchanged, in another (IL004), or lines whose
value was wrapped, unchanged but for the wrapper's name and brackets (IL006's `nn.ModuleList(...)`).
"""

from __future__ import annotations

import ast
import codecs
import difflib
import os
import re
from collections import Counter
from pathlib import Path
from typing import List

import pytest
from hypothesis import HealthCheck, assume, given, settings as hsettings, strategies as st

from conftest import FIXTURES, settings
from initlint import fix as fixing
from initlint.engine import lint_source

LONG = os.environ.get("INITLINT_FUZZ_LONG") == "1"
SCALE = int(os.environ.get("INITLINT_FUZZ_SCALE", "40")) if LONG else 1
FIXABLE = sorted(p.with_suffix(".py") for p in FIXTURES.glob("*.fixed"))


def _read(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def _fix(text: str, path: str = "model.py") -> fixing.FixedSource:
    return fixing.fix_source(text, lambda t: lint_source(t, path, settings()), unsafe=True)


_WRAPPER = re.compile(r"(?:\w+\.)*(?:Module|Parameter)(?:List|Dict)\(")


def _wrapped(old: str, new: str) -> bool:
    """`new` is `old` with a value wrapped: the same bytes but for a wrapper's name and brackets."""
    return old != new and re.sub(r"[()\[\]{}]", "", _WRAPPER.sub("", new)) == re.sub(r"[()\[\]{}]", "", old)


def only_moved_lines_changed(before: str, after: str) -> None:
    """The lines difflib deletes are the lines it inserts, byte for byte (blank separators aside),
    once the lines whose value was wrapped are set aside."""
    a, b = fixing.Lines(before).lines, fixing.Lines(after).lines
    removed: List[str] = []
    added: List[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "replace" and i2 - i1 == j2 - j1 and all(_wrapped(x, y) for x, y in zip(a[i1:i2], b[j1:j2])):
            continue
        if tag in ("delete", "replace"):
            removed += a[i1:i2]
        if tag in ("insert", "replace"):
            added += b[j1:j2]

    def solid(lines: List[str]) -> Counter:
        # A block moved to the end of a file without a final newline loses its last terminator there.
        return Counter(line.rstrip("\r\n") for line in lines if line.strip())

    assert solid(removed) == solid(added), "".join(difflib.unified_diff(a, b))
    assert len(removed) - len(added) in (-1, 0, 1)  # at most one blank line moves along


def check_fix(text: str, path: str = "model.py") -> fixing.FixedSource:
    result = _fix(text, path)
    assert result.errors == (), result.errors  # a fix whose output would not parse is a rule bug
    assert fixing.parses(result.text)
    ast.parse(result.text)
    again = _fix(result.text, path)
    assert again.text == result.text and again.fixed == 0, "applying the fix twice is not a no-op"
    only_moved_lines_changed(text, result.text)
    return result


@pytest.mark.parametrize("path", FIXABLE, ids=[p.name for p in FIXABLE])
def test_fixable_fixture_moves_only_its_lines(path: Path):
    result = check_fix(_read(path), f"fixtures/{path.name}")
    assert result.fixed >= 1


# ---- variants ------------------------------------------------------------------------------------------

_ATTR = re.compile(r"self\.([A-Za-z_][A-Za-z0-9_]*)")
_NOT_RENAMED = {"apply", "modules", "parameters", "children", "named_modules", "named_parameters", "weight", "bias", "training"}


@st.composite
def variant(draw) -> str:
    """A fixable fixture with names, comments, blank lines, statements, indentation and newlines changed."""
    text = _read(draw(st.sampled_from(FIXABLE)))
    attrs = sorted(set(_ATTR.findall(text)) - _NOT_RENAMED)
    for name in draw(st.lists(st.sampled_from(attrs), max_size=3, unique=True)) if attrs else []:
        text = re.sub(rf"\b{re.escape(name)}\b", name + "_r", text)
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(lines)))
        following = next((line for line in lines[i:] if line.strip()), "")
        indent = following[: len(following) - len(following.lstrip())]
        lines.insert(i, draw(st.sampled_from([f"{indent}# a comment\n", "\n", f"{indent}_unused = 0  # extra\n", f"{indent}print('between')\n"])))
    text = "".join(lines)
    if draw(st.booleans()):
        text = re.sub(r"(?m)^((?:    )+)", lambda m: "\t" * (len(m.group(1)) // 4), text)
    newline = draw(st.sampled_from(["\n", "\r\n", "mixed"]))
    if newline == "\r\n":
        text = text.replace("\n", "\r\n")
    elif newline == "mixed":
        text = "".join(line.replace("\n", "\r\n") if k % 3 == 0 else line for k, line in enumerate(text.splitlines(keepends=True)))
    if draw(st.booleans()):
        text = text.rstrip("\r\n")  # no newline at the end
    return text


@hsettings(max_examples=60 * SCALE, deadline=None, derandomize=not LONG, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(variant())
def test_fixed_variants(text: str):
    try:
        ast.parse(text)
    except SyntaxError:
        assume(False)  # an inserted line broke the code: not a fixer input
    check_fix(text)


@hsettings(max_examples=12 * SCALE, deadline=None, derandomize=not LONG, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(variant(), st.booleans())
def test_fix_file_keeps_bom_and_bytes(tmp_path_factory, text: str, bom: bool):
    try:
        ast.parse(text)
    except SyntaxError:
        assume(False)
    path = tmp_path_factory.mktemp("fix") / "model.py"
    prefix = codecs.BOM_UTF8 if bom else b""
    path.write_bytes(prefix + text.encode("utf-8"))
    outcome = fixing.fix_file(str(path), lambda t: lint_source(t, str(path), settings()), unsafe=True)
    data = path.read_bytes()
    assert data.startswith(prefix) and (bom or not data.startswith(codecs.BOM_UTF8))
    after = data[len(prefix):].decode("utf-8")
    assert after == outcome.after
    only_moved_lines_changed(text, after)
    again = fixing.fix_file(str(path), lambda t: lint_source(t, str(path), settings()), unsafe=True)
    assert not again.written and path.read_bytes() == data
    assert sorted(os.listdir(path.parent)) == ["model.py"]
