"""The judgement of IL007 (SharedModuleRepeated): imported only when a file is checked.

The tree reader marks a child that is one object placed in several positions (`shared_at`, see
`initlint.model.lists`). Every container a function of the file builds is read (the module
classes' trees, and each function's and the module's own code, for containers built outside
`__init__`), and each such child that has parameters is reported once, where it is repeated.
"""

from __future__ import annotations

import re

from typing import Iterable, Iterator, List, Optional, Set, Tuple

import libcst as cst

from initlint import exprs, torch_api, walk
from initlint.facts import FileFacts
from initlint.model.tree import CONTAINER, UNKNOWN, Node, TreeBuilder, read_code
from initlint.rule import Finding
from initlint.paths import is_test_path
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
    """(node, the container holding it) for every node that some code of the file builds where
    one object may be repeated (a function without a product, a comprehension of a name or a
    loop cannot repeat one: it is not read)."""
    builder = trees(facts)
    tests = test_classes(facts)
    hinted = _hinted(facts)
    repeating: Set[Optional[str]] = set()  # classes with a method that may repeat an object
    for fn, cls in _functions(facts, tests):
        if hinted is not None and (cls, fn.name.value if fn is not None else None) not in hinted:
            continue
        body = fn.body if fn is not None else facts.module
        calls, repeats = _scan(facts, body)
        if not repeats:
            continue
        repeating.add(cls)
        reader = read_code(builder, fn, cls)
        for root in list(reader.tree.roots.values()) + list(reader.tree.plain.values()):
            yield from _walk(root, None)
        for call in calls:
            node = reader.module(call, "")
            if node is not None:
                yield from _walk(node, None)
    for cls in facts.classes:
        if cls in repeating and module_like(facts, cls):
            tree = builder.tree(cls)  # (`__init__` with its helpers: appends into its containers)
            for root in list(tree.roots.values()) + list(tree.plain.values()):
                yield from _walk(root, None)


# What code that repeats one object looks like in text: a list multiplied, a comprehension of a
# name, a name added to something (in a loop, which the scan then checks). Every alternative
# starts with a character, what must precede it checked behind it: `re` then skips to those
# characters instead of trying each alternative at every position (2.4x faster).
_HINT = re.compile(
    r"\]\s*\)*\s*\*(?!\*)|\*(?<!\*\*)\s*\(*\s*\[|[\[(]\s*\w+\s+for\b|"
    r"\.(?:append|extend|insert|add_module|register_module)\(\s*(?:[^()]*,\s*)?\w+\s*\)|setattr(?<!\wsetattr)\(|\+="
)


def _hinted(facts: FileFacts) -> Optional[Set[Tuple[Optional[str], Optional[str]]]]:
    """(class, function) of the definitions whose text may repeat an object ((None, None): the
    module's own code), read from the text in one linear pass; None when the text is not read
    with certainty (then every function is scanned)."""
    from initlint import textscan

    try:
        code = textscan.code_only(facts.source)
    except textscan.Unsure:
        return None
    units = textscan.units(code)
    out: Set[Tuple[Optional[str], Optional[str]]] = set()
    for unit in units:
        if not _HINT.search(code, unit.start, unit.end):
            continue
        if unit.kind == "method":
            out.add((units[unit.parent].name, unit.name))
        elif unit.kind == "def":
            out.add((None, unit.name))
        elif unit.kind in ("module", "class"):
            out.add((None, None))
    return out


_CONTAINER_NAMES = tuple(q.rsplit(".", 1)[-1] for q in torch_api.CONTAINERS)
_ADDS = frozenset({"append", "extend", "insert", "add_module", "register_module"})


def _scan(facts: FileFacts, body: cst.CSTNode) -> Tuple[List[cst.Call], bool]:
    """The torch containers a body builds, and whether it may repeat an object at all: a product
    of a list, a comprehension of a name, or a loop and a name added to something."""
    calls: List[cst.Call] = []
    loop = add = product = False
    for node in walk.nodes(body, skip=(cst.FunctionDef, cst.ClassDef, cst.Lambda)):
        kind = type(node)
        if kind is cst.Call:
            func = node.func  # type: ignore[attr-defined]
            name = func.attr.value if type(func) is cst.Attribute else (func.value if type(func) is cst.Name else "")
            if name.endswith(_CONTAINER_NAMES) and facts.resolve(func) in torch_api.CONTAINERS:
                calls.append(node)  # type: ignore[arg-type]
            elif (name in _ADDS or name == "setattr") and node.args and type(node.args[-1].value) is cst.Name:  # type: ignore[attr-defined]
                add = True
        elif kind in (cst.For, cst.While):
            loop = True
        elif kind is cst.AugAssign:
            add = True
        elif kind is cst.BinaryOperation and type(node.operator) is cst.Multiply:  # type: ignore[attr-defined]
            product = product or type(node.left) in (cst.List, cst.Tuple) or type(node.right) in (cst.List, cst.Tuple)  # type: ignore[attr-defined]
        elif kind in (cst.ListComp, cst.GeneratorExp) and type(node.elt) is cst.Name:  # type: ignore[attr-defined]
            product = True
    return calls, product or (loop and add)


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
