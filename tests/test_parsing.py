"""initlint.parsing: libcst's parse without per-node validation gives libcst's tree, and leaves
validation on for every node built outside a parse."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from initlint import parsing

REPO = Path(__file__).resolve().parent.parent
SAMPLE = sorted((REPO / "bench" / ".corpus" / "sample40").rglob("*.py"))
SOURCES = [*sorted((REPO / "fixtures").glob("*.py")), *sorted((REPO / "tests" / "data").rglob("*.py")), *SAMPLE]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_the_tree_is_libcsts(path: Path):
    source = path.read_text(encoding="utf-8")
    try:
        expected = cst.parse_module(source)
    except cst.ParserSyntaxError:
        with pytest.raises(cst.ParserSyntaxError):
            parsing.parse_module(source)
        return
    tree = parsing.parse_module(source)
    assert tree.deep_equals(expected)
    assert tree.code == source


def test_validation_is_skipped_only_while_parsing(monkeypatch):
    def refuse(self):
        raise cst.CSTValidationError("validated")

    monkeypatch.setattr(cst.Name, "_validate", refuse)
    with pytest.raises(cst.CSTValidationError):
        cst.parse_module("x = 1\n")  # libcst's own parse validates every Name
    assert parsing._SAFE
    tree = parsing.parse_module("x = 1\n")  # ours does not
    assert tree.code == "x = 1\n"
    with pytest.raises(cst.CSTValidationError):
        cst.Name("y")  # and a node built afterwards is validated again


def test_validation_comes_back_after_a_syntax_error():
    with pytest.raises(cst.ParserSyntaxError):
        parsing.parse_module("def f(:\n")
    assert cst.CSTNode.__post_init__ is parsing._VALIDATING
    with pytest.raises(cst.CSTValidationError):
        cst.SimpleWhitespace("not whitespace")


def test_a_libcst_whose_hook_does_more_is_left_alone():
    def more(self):
        self._validate()
        self._cache = {}

    def only(self):
        self._validate()

    assert parsing._only_validates(only)
    assert not parsing._only_validates(more)
    assert not parsing._only_validates(None)
