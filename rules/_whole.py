"""The whole file, for the judgements that read past what the screen keeps.

The screen (initlint.screen) parses the definitions a rule's `needs` reach: enough to find every
candidate site of IL006-IL009 (an attribute holding a plain list of modules, a parameter created
empty, a trainable tensor stored plainly). Whether a candidate is a finding also depends on code
anywhere in the file: a method that wraps the list in `nn.ModuleList` later, a training function
that hands the tensor to an optimizer, an `apply()` at module level that initialises the
parameter. Those rules judge their candidates on the facts of the whole file: parsed once more,
only for a file that has a candidate (rare), so that the finding never depends on the screen.
"""

from __future__ import annotations

from typing import Optional, Set

import libcst as cst

from initlint.facts import FileFacts, collect
from initlint.model.tree import TreeBuilder


def whole_facts(facts: FileFacts) -> FileFacts:
    """The facts of the whole file: `facts` when the engine parsed it whole, else a parse of its
    source (made once and shared; `facts` again when the whole source cannot be parsed safely:
    the engine then reports the syntax error before any finding)."""
    found = facts.shared.get("whole")
    if found is None:
        found = facts.shared["whole"] = _whole(facts)
        found.shared.setdefault("whole", found)
    return found  # type: ignore[return-value]


def _whole(facts: FileFacts) -> FileFacts:
    # (The engine marks facts of a whole parse as their own whole; anything else, facts collected
    # by other code included, is parsed again.)
    from initlint.engine import _too_deep  # (the engine's guard against text libcst cannot take)
    from initlint.parsing import parse_module

    if _too_deep(facts.source) is not None:
        return facts
    try:
        module = parse_module(facts.source)
    except Exception:  # noqa: BLE001 - a syntax error the screen left out: the engine reports it
        return facts
    extra = facts.imports.init_modules[1:]
    return collect(module, extra, facts.source, facts.path, facts.lint_tests, facts.source)


def trees(facts: FileFacts) -> TreeBuilder:
    """The file's module trees (shared with the network model when one is built)."""
    found = facts.shared.get("trees")
    if found is None:
        judge = facts.shared.get("judge")
        found = facts.shared["trees"] = judge.network.trees if judge is not None else TreeBuilder(facts)  # type: ignore[attr-defined]
    return found  # type: ignore[return-value]


def test_classes(facts: FileFacts) -> Set[str]:
    """Classes that are test code: named `Test*`, or defined inside a `test*` function or a
    `Test*` class (pytest's discovery); every class in a test file (see `is_test_code`)."""
    found = facts.shared.get("test classes")
    if found is None:
        found = facts.shared["test classes"] = _test_classes(facts)
    return found  # type: ignore[return-value]


def _test_classes(facts: FileFacts) -> Set[str]:
    from initlint import walk
    from initlint.paths import is_test_path

    if facts.lint_tests:
        return set()
    if is_test_path(facts.path):
        return set(facts.classes)
    out: Set[str] = set()
    for stmt in facts.module.body:
        name = _test_name(stmt)
        if name is None:
            continue
        for node in walk.nodes(stmt):
            if isinstance(node, cst.ClassDef):
                out.add(node.name.value)
    return out


def _test_name(stmt: cst.CSTNode) -> Optional[str]:
    if isinstance(stmt, cst.FunctionDef) and stmt.name.value.startswith("test"):
        return stmt.name.value
    if isinstance(stmt, cst.ClassDef) and stmt.name.value.startswith("Test"):
        return stmt.name.value
    return None
