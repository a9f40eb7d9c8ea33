"""Lists of modules as the tree reader meets them: what a list expression holds, and whether an
item is one object placed several times or a new module each time.

`[Block() for _ in range(n)]` builds n modules; `[Block()] * n` builds one and repeats it (n
positions, one set of weights), and so does appending a name bound before a loop on every pass
(`layer = Block()` then `for _ in range(n): layers.append(layer)`). An `Item` keeps that apart:
`many` says it stands for several positions, `shared` points at where one object is repeated
(the `*` product, the `append` call, the comprehension). Used by `initlint.model.tree`.
"""

from __future__ import annotations

from typing import Callable, List, NamedTuple, Optional, Set

import libcst as cst

from initlint import exprs, walk
from initlint.imports import dotted_name


class Item(NamedTuple):
    """One entry of a list of modules."""

    value: cst.BaseExpression
    many: bool = False  # stands for several positions (a loop, a comprehension, a product)
    shared: Optional[cst.CSTNode] = None  # one object repeated: where (see the module docstring)


class Loop(NamedTuple):
    """A loop the reader is inside: the names its body (or its target) binds, how many `if`s
    deep the reader was when it entered, and whether it can run more than once."""

    bound: Set[str]
    ifs: int
    repeats: bool


def loop_of(stmt: cst.CSTNode, ifs: int) -> Loop:
    """The `Loop` of a `for` or `while` statement."""
    bound: Set[str] = set()
    if isinstance(stmt, cst.For):
        bound |= exprs.names_in(stmt.target)
    for node in walk.nodes(stmt.body, skip=(cst.FunctionDef, cst.ClassDef, cst.Lambda)):
        bound |= _binds(node)
    return Loop(bound, ifs, _repeats(stmt))


def _binds(node: cst.CSTNode) -> Set[str]:
    targets: List[cst.CSTNode] = []
    if isinstance(node, cst.Assign):
        targets = [t.target for t in node.targets]
    elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.For, cst.NamedExpr)):
        targets = [node.target]
    elif isinstance(node, cst.WithItem) and node.asname is not None:
        targets = [node.asname.name]
    found: Set[str] = set()
    for target in targets:
        found |= {name for name in exprs.names_in(target) if "." not in name}
    return found


def _repeats(stmt: cst.CSTNode) -> bool:
    """False for a loop that runs its body at most once: `range(1)`, one literal item, or a
    `break` directly in its body."""
    body = stmt.body.body if isinstance(stmt.body, cst.IndentedBlock) else ()  # type: ignore[attr-defined]
    for inner in body:
        if isinstance(inner, cst.SimpleStatementLine) and any(isinstance(s, cst.Break) for s in inner.body):
            return False
    if isinstance(stmt, cst.For):
        it = stmt.iter
        if isinstance(it, (cst.List, cst.Tuple)) and len(it.elements) <= 1:
            return False
        if isinstance(it, cst.Call) and dotted_name(it.func) == "range" and len(it.args) == 1:
            count = exprs.number(it.args[0].value)
            return count is None or count > 1
    return True


def shared_in_loop(value: cst.BaseExpression, loops: List[Loop], ifs: int, where: cst.CSTNode) -> Optional[cst.CSTNode]:
    """`where` when adding `value` inside the innermost loop adds one object on every pass: a
    name the loop does not bind, added unconditionally (no `if` between the loop and the add)."""
    if not loops or not isinstance(value, cst.Name):
        return None
    loop = loops[-1]
    if not loop.repeats or ifs != loop.ifs or value.value in loop.bound:
        return None
    return where


def _comprehension_shares(comp: cst.BaseComp) -> bool:
    """`[layer for _ in range(n)]`: the element is a name the comprehension does not bind."""
    elt = comp.elt  # type: ignore[attr-defined]
    if not isinstance(elt, cst.Name):
        return False
    bound: Set[str] = set()
    node: Optional[cst.CompFor] = comp.for_in
    while node is not None:
        bound |= exprs.names_in(node.target)
        node = node.inner_for_in
    return elt.value not in bound


def items_of(expr: cst.BaseExpression, named: Callable[[cst.BaseExpression], Optional[List[Item]]], depth: int = 0) -> Optional[List[Item]]:
    """The items a list-like expression holds, or None when it is not one the reader follows:
    a list or tuple display (with `*other` inside), a list comprehension or generator, `a * n`,
    `a + b`, `list(a)` / `tuple(a)`, or a name `named` knows (a local list, a plain attribute)."""
    if depth > 8:
        return None
    if isinstance(expr, (cst.List, cst.Tuple)):
        out: List[Item] = []
        for element in expr.elements:
            if isinstance(element, cst.StarredElement):
                inner = items_of(element.value, named, depth + 1)
                out.extend(inner if inner is not None else [Item(element.value, True)])
            else:
                out.append(Item(element.value))
        return out
    if isinstance(expr, (cst.ListComp, cst.GeneratorExp)):
        return [Item(expr.elt, True, expr if _comprehension_shares(expr) else None)]
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Multiply):
        return _product(expr, named, depth)
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
        left, right = items_of(expr.left, named, depth + 1), items_of(expr.right, named, depth + 1)
        return None if left is None or right is None else left + right
    if isinstance(expr, cst.Call) and dotted_name(expr.func) in ("list", "tuple") and not expr.args:
        return []
    if isinstance(expr, cst.Call) and dotted_name(expr.func) in ("list", "tuple") and len(expr.args) == 1 and not expr.args[0].star:
        return items_of(expr.args[0].value, named, depth + 1)
    return named(expr)


def _product(expr: cst.BinaryOperation, named, depth: int) -> Optional[List[Item]]:
    """`[a, b] * n` / `n * [a, b]`: each item is one object, repeated (unless n is 0 or 1)."""
    for side, other in ((expr.left, expr.right), (expr.right, expr.left)):
        if isinstance(other, (cst.List, cst.Tuple, cst.ListComp)):
            continue
        inner = items_of(side, named, depth + 1) if isinstance(side, (cst.List, cst.Tuple, cst.Name)) else None
        if inner is None:
            continue
        count = exprs.number(other)
        if count is not None and count <= 1:
            return inner
        return [Item(item.value, True, item.shared or expr) for item in inner]
    return None
