"""Small readers of libcst expressions: literal numbers, shapes, keyword arguments, names mentioned."""

from __future__ import annotations

from typing import FrozenSet, Iterator, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from initlint import walk
from initlint.imports import dotted_name

# A dimension: an int when it is a literal, None when it is not known statically.
Dim = Optional[int]
Shape = Tuple[Dim, ...]


def number(node: Optional[cst.BaseExpression]) -> Optional[float]:
    """The value of a literal int/float (with sign), else None."""
    if node is None:
        return None
    if isinstance(node, (cst.Integer, cst.Float)):
        try:
            return float(node.evaluated_value)
        except (ValueError, OverflowError):
            return None
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        inner = number(node.expression)
        if inner is None:
            return None
        return -inner if isinstance(node.operator, cst.Minus) else inner
    if isinstance(node, cst.Name) and node.value in ("True", "False"):
        return 1.0 if node.value == "True" else 0.0
    return None


def code(node: cst.CSTNode) -> str:
    """Source text of an expression, on one line."""
    kind = type(node)
    if (kind is cst.Name or kind is cst.Attribute) and not node.lpar:  # type: ignore[attr-defined]
        name = dotted_name(node)  # type: ignore[arg-type]
        if name is not None:
            return name  # (no codegen pass for the common case: most texts asked for are names)
    if (kind is cst.Integer or kind is cst.Float or kind is cst.SimpleString) and not node.lpar:  # type: ignore[attr-defined]
        return node.value  # type: ignore[attr-defined]
    text = _EMPTY_MODULE.code_for_node(node)
    return " ".join(text.split())


_EMPTY_MODULE = cst.Module(body=[])


def positional(call: cst.Call) -> Sequence[cst.Arg]:
    """The positional (non-keyword, non-star) arguments of a call."""
    return [a for a in call.args if a.keyword is None and not a.star]


def keyword(call: cst.Call, name: str) -> Optional[cst.BaseExpression]:
    """The value passed as `name=` to a call, or None."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def argument(call: cst.Call, index: int, name: str) -> Optional[cst.BaseExpression]:
    """Argument `index` (positional) or `name` (keyword) of a call."""
    value = keyword(call, name)
    if value is not None:
        return value
    args = positional(call)
    if index < len(args):
        return args[index].value
    return None


def is_true(node: Optional[cst.BaseExpression]) -> bool:
    """True for the literal `True`."""
    return isinstance(node, cst.Name) and node.value == "True"


def is_false(node: Optional[cst.BaseExpression]) -> bool:
    """True for the literal `False`."""
    return isinstance(node, cst.Name) and node.value == "False"


def _dim(node: cst.BaseExpression) -> Dim:
    value = number(node)
    if value is not None and value == int(value):
        return int(value)
    return None


def shape_of_sizes(args: Sequence[cst.Arg]) -> Optional[Shape]:
    """The shape given as `torch.ones(2, 3)` or `torch.ones((2, 3))` / `[2, 3]`; None when unknown."""
    if not args or any(a.star for a in args):
        return None
    if len(args) == 1:
        value = args[0].value
        if isinstance(value, (cst.Tuple, cst.List)):
            if any(isinstance(e, cst.StarredElement) for e in value.elements):
                return None
            return tuple(_dim(e.value) for e in value.elements)
        if isinstance(value, (cst.Integer, cst.Name, cst.Attribute, cst.BinaryOperation)):
            if isinstance(value, (cst.Name, cst.Attribute)) and not _looks_like_size(value):
                return None  # `torch.ones(shape)`: a whole shape in one variable
            return (_dim(value),)
        return None
    return tuple(_dim(a.value) for a in args)


def _looks_like_size(node: cst.BaseExpression) -> bool:
    # `dim`, `hidden_size`, `self.n`: a single size. `shape`, `size`, `x.shape`: a whole shape.
    name = dotted_name(node) or ""
    return not names_a_shape(name.rsplit(".", 1)[-1])


def matrix_dims(shape: Optional[Shape]) -> Optional[int]:
    """How many dimensions are not a literal 1 (None when the shape is unknown)."""
    if shape is None:
        return None
    return sum(1 for d in shape if d != 1)


def parameter_names(signature: cst.Parameters) -> FrozenSet[str]:
    """Every parameter's name of a `def` or a `lambda`: positional-only, keyword-only, `*args`
    and `**kwargs` included."""
    every = [*signature.posonly_params, *signature.params, *signature.kwonly_params]
    every += [star for star in (signature.star_arg, signature.star_kwarg) if isinstance(star, cst.Param)]
    return frozenset(param.name.value for param in every)


def names_in(node: cst.CSTNode) -> Set[str]:
    """Every dotted name (`x`, `self.w`) mentioned in an expression (a dotted attribute whole, not
    its parts; inside any other attribute, `f().x`, every name, `x` included)."""
    found: Set[str] = set()
    stack = [node]
    attribute, name_node = cst.Attribute, cst.Name  # (exact types: see imports.dotted_name)
    while stack:
        current = stack.pop()
        kind = type(current)
        if kind is attribute:
            name = dotted_name(current)
            if name:
                found.add(name)
                continue
        elif kind is name_node:
            found.add(current.value)  # type: ignore[attr-defined]
        stack.extend(walk.significant(current))
    return found


def calls_in(node: cst.CSTNode) -> Iterator[cst.Call]:
    """Every call inside an expression, outermost first."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Call):
            yield current
        stack.extend(reversed(walk.significant(current)))


def strip_data(node: cst.BaseExpression) -> cst.BaseExpression:
    """`x.data` and `x.detach()` stand for `x` when they are written to."""
    while True:
        if isinstance(node, cst.Attribute) and node.attr.value == "data":
            node = node.value
        elif (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in ("detach", "detach_")
            and not node.args
        ):
            node = node.func.value
        else:
            return node


def method_name(call: cst.Call) -> Optional[str]:
    """`fill_` for `x.fill_(1)`, else None."""
    if isinstance(call.func, cst.Attribute):
        return call.func.attr.value
    return None


def literal_string(node: cst.BaseExpression) -> Optional[str]:
    """The value of a plain string literal."""
    if isinstance(node, cst.SimpleString):
        try:
            value = node.evaluated_value
        except Exception:  # noqa: BLE001 - odd prefixes: not a literal we can read
            return None
        return value if isinstance(value, str) else None
    return None


ExprOrNone = Union[cst.BaseExpression, None]


# Last names that hold a whole shape, not one size (`torch.ones(shape)`, `x.shape`).
SHAPE_NAMES = ("shape", "size", "sizes", "dims", "dimensions")


def names_a_shape(last: str) -> bool:
    """Whether a name, by convention, holds a whole shape rather than one size."""
    last = last.lower()
    return last in SHAPE_NAMES or last.endswith("shape")
