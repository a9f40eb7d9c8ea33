"""Read-only walks over libcst trees, without libcst's cost of rebuilding every node.

`node.visit(visitor)` and `node.children` both go through `_visit_and_replace_children`, which
constructs a fresh copy of each node it passes (and validates it) even when nothing changes: for
a reader that only looks, most of a visit's time. Here the children come straight from the node's
dataclass fields, in the order libcst itself visits them (source order): from a table extracted
from libcst's own source (`initlint/_walk_orders.py`, used only with the libcst version it was
made from), else learnt once per node type and set of filled fields by matching one
`node.children` answer to the fields; a type whose children do not line up with its fields
keeps libcst's own answer. tests/test_walk.py checks all of it against libcst on every node of
the fixtures and the corpus, and the table against the installed libcst's source.
"""

from __future__ import annotations

import dataclasses
import operator
import weakref
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Type

import libcst as cst

_Order = Optional[Tuple[str, ...]]  # None: this shape of node takes libcst's `children`

# Nodes that only carry layout and punctuation: whitespace, comments, newlines, commas, dots,
# colons, `=` of keyword arguments, brackets. Two nodes in three of a typical tree; nothing under
# them is anything else, and no reader here looks for them, so `visit` and `nodes` pass them by.
TRIVIA = frozenset(
    getattr(cst, name)
    for name in (
        "SimpleWhitespace", "ParenthesizedWhitespace", "TrailingWhitespace", "EmptyLine", "Newline",
        "Comment", "Comma", "Dot", "Colon", "Semicolon", "AssignEqual", "LeftParen", "RightParen",
        "LeftSquareBracket", "RightSquareBracket", "LeftCurlyBrace", "RightCurlyBrace",
    )
)

# node type -> the names of its dataclass fields (the candidates for holding children)
_FIELDS: Dict[type, Tuple[str, ...]] = {}
# (node type, the fields that hold a node or a non-empty sequence) -> (all fields in visiting
# order, the same without the fields that hold trivia), or None for libcst's answer
_ORDERS: Dict[Tuple[type, Tuple[str, ...]], Optional[Tuple[Tuple[str, ...], Tuple[str, ...]]]] = {}
_IS_NODE: Dict[type, bool] = {}


def _fields(kind: type) -> Tuple[str, ...]:
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(kind))
    return names


def _is_node(kind: type) -> bool:
    known = _IS_NODE.get(kind)
    if known is None:
        known = _IS_NODE[kind] = issubclass(kind, cst.CSTNode)
    return known


def _filled(node: cst.CSTNode) -> Tuple[str, ...]:
    """The fields of `node` that hold a node or a non-empty sequence of nodes."""
    filled = []
    for name in _fields(type(node)):
        value = getattr(node, name)
        kind = type(value)
        if kind is tuple or kind is list:
            if value and _is_node(type(value[0])):
                filled.append(name)
        elif _is_node(kind):
            filled.append(name)
    return tuple(filled)


def _learn(node: cst.CSTNode, filled: Tuple[str, ...]) -> _Order:
    """The order in which libcst visits `filled`, from one real `children` answer, or None when
    the children are not exactly the fields' nodes, each field's contiguous and in field order."""
    owner: Dict[int, str] = {}
    for name in filled:
        value = getattr(node, name)
        for item in (value,) if isinstance(value, cst.CSTNode) else value:
            owner[id(item)] = name
    order: List[str] = []
    position: Dict[str, int] = {}
    real = node.children
    for child in real:
        name = owner.get(id(child))
        if name is None:
            return None
        if not order or order[-1] != name:
            if name in position:
                return None  # two fields interleave
            position[name] = len(order)
            order.append(name)
    if set(order) != set(filled):
        return None
    got = _assemble(node, tuple(order))
    return tuple(order) if len(got) == len(real) and all(a is b for a, b in zip(got, real)) else None


def _load_table() -> Optional[Dict[str, Tuple[str, ...]]]:
    try:
        from libcst._version import __version__ as installed

        from initlint import _walk_orders
    except ImportError:  # pragma: no cover - a libcst without it, or the table not generated yet
        return None

    return _walk_orders.ORDERS if installed == _walk_orders.LIBCST_VERSION else None


def _load_trivial() -> Dict[str, Tuple[str, ...]]:
    if _TABLE is None:
        return {}
    from initlint import _walk_orders

    return _walk_orders.TRIVIAL


def _shape(node: cst.CSTNode) -> Optional[Tuple[Tuple[str, ...], Tuple[str, ...]]]:
    filled = _filled(node)
    key = (type(node), filled)
    try:
        return _ORDERS[key]
    except KeyError:
        pass
    # First meeting of this shape of a type the table does not know (another libcst version): an
    # order learnt from one real `children` answer. (Types it knows take `_getter`.)
    order = _learn(node, filled)
    if order is None:
        _ORDERS[key] = None
        return None

    def trivial(name: str) -> bool:
        value = getattr(node, name)
        return type(value if isinstance(value, cst.CSTNode) else value[0]) in TRIVIA

    shape = _ORDERS[key] = (order, tuple(name for name in order if not trivial(name)))
    return shape


def _assemble(node: cst.CSTNode, order: Tuple[str, ...]) -> List[cst.CSTNode]:
    out: List[cst.CSTNode] = []
    for name in order:
        value = getattr(node, name)
        if type(value) is tuple or type(value) is list:
            out.extend(value)
        else:
            out.append(value)
    return out


def _getter(kind: type, significant: bool = False) -> Optional[Callable[[cst.CSTNode], tuple]]:
    """For a type the table knows (the installed libcst's own), a function giving the values of
    its child fields in visiting order in one call (with `significant`, less the fields that can
    only hold TRIVIA); None for the other types."""
    try:
        return _GETTERS[kind, significant]
    except KeyError:
        pass
    order = _TABLE.get(kind.__name__) if _TABLE is not None and getattr(cst, kind.__name__, None) is kind else None
    getter = None
    if order is not None:
        if significant:
            trivial = _TRIVIAL.get(kind.__name__, ())
            order = tuple(name for name in order if name not in trivial)
        if not order:
            getter = _no_fields
        elif len(order) == 1:
            getter = (lambda node, one=operator.attrgetter(order[0]): (one(node),))
        else:
            getter = operator.attrgetter(*order)
    _GETTERS[kind, significant] = getter
    return getter


def _no_fields(node: cst.CSTNode) -> tuple:
    return ()


_GETTERS: Dict[Tuple[type, bool], Optional[Callable[[cst.CSTNode], tuple]]] = {}


def _fields_nodes(values: tuple, leave_out: frozenset) -> List[cst.CSTNode]:
    """The nodes that child-field values hold, in order, less those of the `leave_out` types."""
    out: List[cst.CSTNode] = []
    for value in values:
        kind = type(value)
        if kind is tuple or kind is list:
            out.extend([item for item in value if type(item) not in leave_out] if leave_out else value)
        elif kind not in leave_out and (_IS_NODE.get(kind) or _is_node(kind)):
            out.append(value)
    return out


def children(node: cst.CSTNode) -> Sequence[cst.CSTNode]:
    """`node.children`, in the same order, without rebuilding `node`."""
    getter = _getter(type(node))
    if getter is not None:
        return _fields_nodes(getter(node), frozenset())
    shape = _shape(node)
    return node.children if shape is None else _assemble(node, shape[0])


def significant(node: cst.CSTNode) -> List[cst.CSTNode]:
    """`children(node)` less the TRIVIA, in the same order."""
    getter = _getter(type(node), True)
    if getter is not None:
        return _fields_nodes(getter(node), TRIVIA)
    shape = _shape(node)
    if shape is None:
        return [child for child in node.children if type(child) not in TRIVIA]
    out = _assemble(node, shape[1])
    return out if not any(type(child) in TRIVIA for child in out) else [c for c in out if type(c) not in TRIVIA]


_Hook = Optional[Callable[..., object]]
# visitor type -> node type -> its (visit, leave) hooks. Weak: a visitor type made at run time
# (a test's, say) may go away, and its hooks with it.
_HOOKS: "weakref.WeakKeyDictionary[type, Dict[type, Tuple[_Hook, _Hook]]]" = weakref.WeakKeyDictionary()


def _hooks_of(visitor_kind: type) -> Dict[type, Tuple[_Hook, _Hook]]:
    found = _HOOKS.get(visitor_kind)
    if found is None:
        for kind_of_node in TRIVIA:
            for prefix in ("visit_", "leave_"):
                name = prefix + kind_of_node.__name__
                if getattr(visitor_kind, name, None) is not getattr(cst.CSTVisitor, name, None):
                    raise TypeError(f"{visitor_kind.__name__}.{name}: walk.visit passes trivia by; use node.visit")
        found = _HOOKS[visitor_kind] = {}
    return found


def _hooks(table: Dict[type, Tuple[_Hook, _Hook]], visitor_kind: type, node_kind: type) -> Tuple[_Hook, _Hook]:
    """The visitor's own `visit_<Type>`/`leave_<Type>` (libcst's do-nothing defaults count as none)."""
    found = table.get(node_kind)
    if found is None:
        name = node_kind.__name__
        hooks = []
        for prefix in ("visit_", "leave_"):
            hook = getattr(visitor_kind, prefix + name, None)
            hooks.append(None if hook is getattr(cst.CSTVisitor, prefix + name, None) else hook)
        found = table[node_kind] = (hooks[0], hooks[1])
    return found


def visit(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """`node.visit(visitor)` for a visitor that only reads: `visit_<Type>` before a node's children
    (returning False skips them), `leave_<Type>` after, in libcst's order. Attribute hooks
    (`visit_<Type>_<field>`) are not called, and TRIVIA nodes are not visited at all: a visitor
    that needs either must use `node.visit`."""
    kind = type(visitor)
    table = _hooks_of(kind)
    stack: List[Tuple[cst.CSTNode, bool]] = [(node, False)]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        current, leaving = pop()
        enter, leave = table.get(type(current)) or _hooks(table, kind, type(current))
        if leaving:
            if leave is not None:
                leave(visitor, current)
            continue
        push((current, True))
        if enter is None or enter(visitor, current) is not False:
            extend([(child, False) for child in reversed(significant(current))])


def nodes(node: cst.CSTNode, skip: Tuple[Type[cst.CSTNode], ...] = ()) -> Iterator[cst.CSTNode]:
    """`node` and every node under it but the TRIVIA, outermost and leftmost first, leaving out
    the nodes of exactly the `skip` types below the root and all they hold."""
    stack = [node]
    kinds = frozenset(skip)  # (exact types: libcst's are ABCs, slow to isinstance, not subclassed in parsed trees)
    while stack:
        current = stack.pop()
        yield current
        below = significant(current)
        below.reverse()
        stack.extend([c for c in below if type(c) not in kinds] if kinds else below)


_TABLE = _load_table()
# node type name -> its child fields that can only hold TRIVIA (by libcst's annotations)
_TRIVIAL = _load_trivial()


def extract_orders() -> Dict[str, Tuple[str, ...]]:
    """Each node type's visiting order of its fields, read from the source of its
    `_visit_and_replace_children` (the order of its `visit_*(self, "field", ...)` calls): how
    `initlint/_walk_orders.py` is made (`python -m initlint.walk > initlint/_walk_orders.py`)."""
    import ast
    import inspect
    import textwrap

    orders: Dict[str, Tuple[str, ...]] = {}
    for name in sorted(dir(cst)):
        kind = getattr(cst, name)
        if not (isinstance(kind, type) and issubclass(kind, cst.CSTNode) and dataclasses.is_dataclass(kind)):
            continue
        method = kind.__dict__.get("_visit_and_replace_children")
        if method is None:
            continue
        fields = {f.name for f in dataclasses.fields(kind)}
        calls = []
        for call in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(method)))):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Name)
                and call.func.id.startswith("visit_")
                and len(call.args) >= 2
                and isinstance(call.args[1], ast.Constant)
                and call.args[1].value in fields
            ):
                calls.append((call.lineno, call.col_offset, call.args[1].value))
        orders[name] = tuple(dict.fromkeys(field for _, _, field in sorted(calls)))
    return orders


def extract_trivial(orders: Dict[str, Tuple[str, ...]]) -> Dict[str, Tuple[str, ...]]:
    """Per node type, the child fields whose annotation admits only TRIVIA nodes (every concrete
    node class it names, or derives, is one): `significant` does not even read them."""
    import inspect
    import typing

    def classes(annotation) -> List[object]:
        args = typing.get_args(annotation)
        return [c for arg in args for c in classes(arg)] if args else [annotation]

    def concrete(kind: type) -> List[type]:
        found = [] if inspect.isabstract(kind) else [kind]
        for sub in kind.__subclasses__():
            found += concrete(sub)
        return found

    names = {kind.__name__ for kind in TRIVIA}
    trivial: Dict[str, Tuple[str, ...]] = {}
    for name, order in orders.items():
        hints = typing.get_type_hints(getattr(cst, name))
        fields = []
        for field in order:
            nodes = [c for c in classes(hints[field]) if isinstance(c, type) and issubclass(c, cst.CSTNode)]
            # (by name: `__subclasses__` also lists the classes dataclass replaced by slotted copies)
            if nodes and all(kind.__name__ in names for node in nodes for kind in concrete(node)):
                fields.append(field)
        if fields:
            trivial[name] = tuple(fields)
    return trivial


if __name__ == "__main__":  # regenerate initlint/_walk_orders.py for the installed libcst
    from libcst._version import __version__

    print('"""Generated by `python -m initlint.walk` from libcst\'s source: each node type\'s fields in the')
    print("order its `_visit_and_replace_children` visits them (see initlint/walk.py). Used only with the")
    print('libcst version below; tests/test_walk.py checks it against the installed libcst."""')
    print()
    print(f"LIBCST_VERSION = {__version__!r}")
    print()
    print("ORDERS = {")
    orders = extract_orders()
    for kind, order in orders.items():
        print(f"    {kind!r}: {order!r},")
    print("}")
    print()
    print("# The fields of those that can only hold trivia (whitespace, punctuation, brackets).")
    print("TRIVIAL = {")
    for kind, fields in extract_trivial(orders).items():
        print(f"    {kind!r}: {fields!r},")
    print("}")
