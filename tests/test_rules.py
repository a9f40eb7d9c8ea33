"""The rule registry, the rules' documentation, and each rule's own valid/invalid examples."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import initlint.rules as rules_pkg
from initlint.rule import REQUIRED_HEADINGS, Rule
from initlint.rules import ALL_RULES, BY_CODE

from conftest import lint


def test_codes_and_names_are_unique():
    assert len({r.code for r in ALL_RULES}) == len(ALL_RULES)
    assert len({r.name for r in ALL_RULES}) == len(ALL_RULES)


def test_every_rule_module_is_registered():
    registered = {r.__module__ for r in ALL_RULES}
    for info in pkgutil.iter_modules(rules_pkg.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"initlint.rules.{info.name}")
        rule_classes = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, Rule) and v is not Rule and v.__module__ == module.__name__]
        assert rule_classes, f"{info.name} defines no rule"
        assert module.__name__ in registered, f"{info.name} is not in ALL_RULES"


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_docs_have_every_heading(rule):
    docs = rule.docs()
    for heading in REQUIRED_HEADINGS + ("## Known problems", "## References"):
        assert heading in docs, f"{rule.code} docs lack {heading!r}"
    assert rule.summary().endswith(".")
    assert rule.code.lower() in rule.url()


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_has_examples_both_ways(rule):
    assert len(rule.invalid) >= 2 and len(rule.valid) >= 2


def _examples(kind):
    return [(r, i, src) for r in ALL_RULES for i, src in enumerate(getattr(r, kind))]


@pytest.mark.parametrize("rule,index,source", _examples("invalid"), ids=lambda v: getattr(v, "code", str(v))[:8])
def test_invalid_example_is_flagged(rule, index, source):
    found = [d.code for d in lint(source)]
    assert rule.code in found, f"{rule.code} invalid example #{index} not flagged:\n{source}"


@pytest.mark.parametrize("rule,index,source", _examples("valid"), ids=lambda v: getattr(v, "code", str(v))[:8])
def test_valid_example_is_quiet(rule, index, source):
    found = [(d.location.row, d.code, d.message) for d in lint(source)]
    assert not found, f"{rule.code} valid example #{index} flagged: {found}\n{source}"


def test_by_code_matches_all_rules():
    assert set(BY_CODE) == {r.code for r in ALL_RULES}
    assert all(BY_CODE[r.code] is r for r in ALL_RULES)
