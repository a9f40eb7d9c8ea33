"""The judgement of IL007 (SharedModuleRepeated): imported only when a file is checked.

The tree reader marks a child that is one object placed in several positions (`shared_at`, see
`initlint.model.lists`). Every container a function of the file builds is read (the module
classes' trees, and each function's and the module's own code, for containers built outside
`__init__`), and each such child that has parameters is reported once, where it is repeated.
"""

from __future__ import annotations

import re

from typing import Iterable, Iterator, Optional, Set, Tuple

import libcst as cst

from initlint import exprs, torch_api, walk
from initlint.facts import FileFacts
from initlint.model.tree import CONTAINER, UNKNOWN, Node, TreeBuilder, read_code
from initlint.rule import Finding
from initlint.rules._judge import is_test_path
from initlint.rules._kinds import PARAMETER_FREE_NAME, describe, holds_parameters, module_like
from initlint.rules._whole import test_classes, trees

# Names that say the sharing is meant (`shared_block`, `tied_layer`): the code names it.
_DELIBERATE = re.compile(r"shar|tied|tie_|_tie|reuse|same", re.IGNORECASE)
def check(rule, facts: FileFacts) -> Iterable[Finding]:
    if is_test_path(facts.path) and not facts.lint_tests:
        return
    seen: Set[int] = set()
    for node, container in _shared(facts):
        at = node.shared_at
        if at is None or id(at) in seen or not _has_parameters(node, container, trees(facts)) or _deliberate(at):
            continue
        seen.add(id(at))
        yield Finding(at, _message(rule, node, at))


def _shared(facts: FileFacts) -> Iterator[Tuple[Node, Optional[Node]]]:
    """(node, the container holding it) for every node that some code of the file builds."""
    builder = trees(facts)
    tests = test_classes(facts)
    for cls in facts.classes:
        if cls in tests or not module_like(facts, cls):
            continue
        tree = builder.tree(cls)
        for root in list(tree.roots.values()) + list(tree.plain.values()):
            yield from _walk(root, None)
    for fn, cls in _functions(facts, tests):
        reader = read_code(builder, fn, cls)
        for root in list(reader.tree.roots.values()) + list(reader.tree.plain.values()):
            yield from _walk(root, None)
        body = fn.body if fn is not None else facts.module
        for call in _containers(facts, body):
            node = reader.module(call, "")
            if node is not None:
                yield from _walk(node, None)


def _walk(node: Node, parent: Optional[Node]) -> Iterator[Tuple[Node, Optional[Node]]]:
    yield node, parent
    for child in node.children:
        yield from _walk(child, node)


def _functions(facts: FileFacts, tests: Set[str]) -> Iterator[Tuple[Optional[cst.FunctionDef], Optional[str]]]:
    """Every function and method of the file that is not test code, and the module's own code."""
    yield None, None
    for stmt in facts.module.body:
        if isinstance(stmt, cst.FunctionDef) and (facts.lint_tests or not stmt.name.value.startswith("test")):
            yield stmt, None
    for name, info in facts.classes.items():
        if name in tests:
            continue
        for method in info.methods.values():
            if facts.lint_tests or not method.name.value.startswith("test"):
                yield method, name


def _containers(facts: FileFacts, body: cst.CSTNode) -> Iterator[cst.Call]:
    for node in walk.nodes(body, skip=(cst.FunctionDef, cst.ClassDef, cst.Lambda)):
        if isinstance(node, cst.Call) and facts.resolve(node.func) in torch_api.CONTAINERS:
            yield node


def _has_parameters(node: Node, container: Optional[Node], builder: TreeBuilder) -> bool:
    held = holds_parameters(node, builder)
    if held is not None:
        return held
    # A class of another file inside a torch container is a module: with arguments and a name that
    # does not say activation, dropout, pooling or reshaping, it is taken to have parameters.
    if node.kind != UNKNOWN or container is None or container.kind != CONTAINER or node.call is None:
        return False
    short = (node.qualname or "").rsplit(".", 1)[-1]
    return bool(node.call.args) and bool(short) and not PARAMETER_FREE_NAME.search(short)


def _deliberate(at: cst.CSTNode) -> bool:
    """The repeated object is a name that says it is shared on purpose."""
    return any(_DELIBERATE.search(name) for name in _repeated_names(at))


def _repeated_names(at: cst.CSTNode) -> Set[str]:
    if isinstance(at, cst.Call) and at.args:
        return exprs.names_in(at.args[-1].value)
    if isinstance(at, (cst.ListComp, cst.GeneratorExp)):
        return exprs.names_in(at.elt)
    if isinstance(at, cst.BinaryOperation):
        return exprs.names_in(at.left) | exprs.names_in(at.right)
    return set()


def _message(rule, node: Node, at: cst.CSTNode) -> str:
    times = "n times"
    if isinstance(at, cst.BinaryOperation):
        count = at.right if isinstance(at.left, (cst.List, cst.Tuple, cst.Name)) else at.left
        times = f"{exprs.code(count)} times"
        how = f"`{_short(at)}` puts the same {describe(node)} object in every position"
    elif isinstance(at, cst.Call):
        how = f"`{_short(at)}` adds the same {describe(node)} object on every pass of the loop"
        times = "once per pass"
    else:
        how = f"`{_short(at)}` repeats the same {describe(node)} object"
    return rule.message.format(how=how, times=times)


def _short(node: cst.CSTNode) -> str:
    text = exprs.code(node)
    return text if len(text) <= 60 else text[:57] + "..."
