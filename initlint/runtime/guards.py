"""The branch of `__init__` that reaches a site: which `if` tests guard it, and which constructor
arguments make them hold (ast only; no imports, no torch).

`if bias:` -> `bias=True`; `if not zero_init:` -> `zero_init=False`; `if mode == "const":` ->
`mode="const"`; `if init in ("ones", "const"):` -> `init="ones"`; `if self.fill:` after
`self.fill = fill` -> `fill=True`. Tests on anything else (isinstance checks of a loop variable, a
shape) cannot be solved here and are left to the run: the line watcher says whether the site ran.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

_UNKNOWN = object()


@dataclass(frozen=True)
class Param:
    """One constructor parameter: its name, whether it has a default, and the default when it is a literal."""

    name: str
    has_default: bool
    default: Any = None  # None as well when the default is not a literal (see literal_default)
    literal_default: bool = False
    annotation: str = ""


def parameters(function: ast.AST, method: bool = True) -> List[Param]:
    """The parameters of a function (of a method: after `self`); keyword-only ones included, *args/**kwargs left out."""
    args = function.args  # type: ignore[attr-defined]
    positional = list(args.posonlyargs) + list(args.args)
    defaults: List[Optional[ast.expr]] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = list(zip(positional, defaults))[1 if method else 0:] + list(zip(args.kwonlyargs, args.kw_defaults))
    out = []
    for arg, default in pairs:
        value = literal(default) if default is not None else _UNKNOWN
        annotation = ast.unparse(arg.annotation) if arg.annotation is not None else ""
        out.append(Param(arg.arg, default is not None, None if value is _UNKNOWN else value, value is not _UNKNOWN, annotation))
    return out


def literal(node: Optional[ast.expr], names: Optional[Dict[str, Any]] = None) -> Any:
    """The value of a literal expression (numbers, strings, containers, simple arithmetic, known
    names), or _UNKNOWN."""
    if node is None:
        return _UNKNOWN
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    names = names or {}
    if isinstance(node, ast.Name):
        return names.get(node.id, _UNKNOWN)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = literal(node.operand, names)
        return _UNKNOWN if not isinstance(value, (int, float)) else (-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, ast.BinOp):
        left, right = literal(node.left, names), literal(node.right, names)
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right)):
            return _arith(node.op, left, right)
        return _UNKNOWN
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [literal(e, names) for e in node.elts]
        if any(i is _UNKNOWN for i in items):
            return _UNKNOWN
        return tuple(items) if isinstance(node, ast.Tuple) else items
    return _UNKNOWN


def _arith(op: ast.operator, left: Any, right: Any) -> Any:
    try:
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.Div):
            return left / right
        if isinstance(op, ast.FloorDiv):
            return left // right
        if isinstance(op, ast.Mod):
            return left % right
        if isinstance(op, ast.Pow) and abs(right) <= 64:
            return left ** right
    except (ZeroDivisionError, OverflowError, TypeError):
        pass
    return _UNKNOWN


def known(value: Any) -> bool:
    """Whether `literal` found a value."""
    return value is not _UNKNOWN


def conditions(function: ast.AST, row: int) -> List[Tuple[ast.expr, bool]]:
    """The `if` tests on the way from the top of `function` to `row`, each with the branch taken."""
    found: List[Tuple[ast.expr, bool]] = []
    body = list(getattr(function, "body", []))
    while True:
        node = next((s for s in body if s.lineno <= row <= (s.end_lineno or s.lineno)), None)
        if node is None or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return found
        if isinstance(node, ast.If):
            if node.body and node.body[0].lineno <= row <= (node.body[-1].end_lineno or row):
                found.append((node.test, True))
                body = node.body
            elif node.orelse and node.orelse[0].lineno <= row:
                found.append((node.test, False))
                body = node.orelse
            else:
                return found  # the test itself
            continue
        inner = [getattr(node, f, []) for f in ("body", "orelse", "finalbody", "handlers")]
        body = [s for block in inner for s in block if isinstance(s, ast.AST)]
        if not body:
            return found
        body = [getattr(h, "body", [h]) if isinstance(h, ast.ExceptHandler) else [h] for h in body]
        body = [s for group in body for s in group]


def aliases(init: ast.FunctionDef, names: List[str]) -> Dict[str, str]:
    """`self.attr = param` in `__init__` -> {"attr": "param"}: a test on self.attr is a test on param."""
    found: Dict[str, str] = {}
    for node in ast.walk(init):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in names:
            for target in node.targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                    found[target.attr] = node.value.id
    return found


def _subject(node: ast.expr, params: Dict[str, Param], alias: Dict[str, str]) -> Optional[str]:
    """The constructor parameter an expression stands for, if any."""
    if isinstance(node, ast.Name) and node.id in params:
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return alias.get(node.attr)
    return None


def solve(tests: List[Tuple[ast.expr, bool]], params: Dict[str, Param], alias: Dict[str, str]) -> Dict[str, Any]:
    """Argument values that make every solvable test take the wanted branch."""
    values: Dict[str, Any] = {}
    for test, wanted in tests:
        _solve(test, wanted, params, alias, values)
    return values


def _solve(test: ast.expr, wanted: bool, params: Dict[str, Param], alias: Dict[str, str], values: Dict[str, Any]) -> bool:
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _solve(test.operand, not wanted, params, alias, values)
    if isinstance(test, ast.BoolOp):
        every = isinstance(test.op, ast.And) == wanted  # `a and b` held, or `a or b` failed: each part
        if every:
            return all([_solve(v, wanted, params, alias, values) for v in test.values])
        return any(_solve(v, wanted, params, alias, values) for v in test.values)
    name = _subject(test, params, alias)
    if name is not None:
        value = _truthy(params[name]) if wanted else _falsy(params[name])
        if value is _UNKNOWN:
            return False
        values[name] = value
        return True
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, right, op = test.left, test.comparators[0], test.ops[0]
        name = _subject(left, params, alias)
        other = right
        if name is None:
            name, other = _subject(right, params, alias), left
        constant = literal(other)
        if name is None or not known(constant):
            return False
        value = _compared(op, constant, wanted, params[name])
        if value is _UNKNOWN:
            return False
        values[name] = value
        return True
    return False


def _compared(op: ast.cmpop, constant: Any, wanted: bool, param: Param) -> Any:
    positive = isinstance(op, (ast.Eq, ast.Is, ast.In)) == wanted
    if isinstance(op, (ast.In, ast.NotIn)):
        options = list(constant) if isinstance(constant, (tuple, list, set, frozenset)) else []
        if positive:
            return options[0] if options else _UNKNOWN
        return param.default if param.literal_default and param.default not in options else _UNKNOWN
    if positive:
        return constant
    if param.literal_default and param.default != constant:
        return param.default
    if constant is None:
        return _UNKNOWN
    return None if isinstance(op, (ast.Is, ast.IsNot)) else _UNKNOWN


def _truthy(param: Param) -> Any:
    default = param.default if param.literal_default else None
    if default:
        return default
    if default is None or isinstance(default, bool):
        return True
    if isinstance(default, (int, float)):
        return 1
    return _UNKNOWN


def _falsy(param: Param) -> Any:
    default = param.default if param.literal_default else None
    if param.literal_default and not default:
        return default
    if isinstance(default, bool):
        return False
    if isinstance(default, (int, float)):
        return 0
    return None if default is None else _UNKNOWN


def holds(tests: List[Tuple[ast.expr, bool]], values: Dict[str, Any], params: Dict[str, Param], alias: Dict[str, str]) -> Optional[bool]:
    """Whether the arguments `values` (defaults filling the rest) take every branch: None when unknown."""
    verdict: Optional[bool] = True
    for test, wanted in tests:
        value = _evaluate(test, values, params, alias)
        if value is _UNKNOWN:
            verdict = None
        elif bool(value) != wanted:
            return False
    return verdict


def _evaluate(test: ast.expr, values: Dict[str, Any], params: Dict[str, Param], alias: Dict[str, str]) -> Any:
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _evaluate(test.operand, values, params, alias)
        return _UNKNOWN if inner is _UNKNOWN else not inner
    if isinstance(test, ast.BoolOp):
        parts = [_evaluate(v, values, params, alias) for v in test.values]
        if isinstance(test.op, ast.And):
            if any(p is not _UNKNOWN and not p for p in parts):
                return False
            return _UNKNOWN if any(p is _UNKNOWN for p in parts) else True
        if any(p is not _UNKNOWN and p for p in parts):
            return True
        return _UNKNOWN if any(p is _UNKNOWN for p in parts) else False
    name = _subject(test, params, alias)
    if name is not None:
        return _value(name, values, params)
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        sides = [test.left, test.comparators[0]]
        resolved = []
        for side in sides:
            subject = _subject(side, params, alias)
            resolved.append(_value(subject, values, params) if subject is not None else literal(side))
        if any(v is _UNKNOWN for v in resolved):
            return _UNKNOWN
        return _compare(test.ops[0], *resolved)
    return _UNKNOWN


def _value(name: str, values: Dict[str, Any], params: Dict[str, Param]) -> Any:
    if name in values:
        return values[name]
    param = params[name]
    return param.default if param.literal_default else _UNKNOWN


def _compare(op: ast.cmpop, left: Any, right: Any) -> Any:
    try:
        if isinstance(op, ast.Eq):
            return left == right
        if isinstance(op, ast.NotEq):
            return left != right
        if isinstance(op, ast.Is):
            return left is right or (left is None and right is None)
        if isinstance(op, ast.IsNot):
            return not (left is right or (left is None and right is None))
        if isinstance(op, ast.In):
            return left in right
        if isinstance(op, ast.NotIn):
            return left not in right
        if isinstance(op, ast.Lt):
            return left < right
        if isinstance(op, ast.LtE):
            return left <= right
        if isinstance(op, ast.Gt):
            return left > right
        if isinstance(op, ast.GtE):
            return left >= right
    except TypeError:
        pass
    return _UNKNOWN
