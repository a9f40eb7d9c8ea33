"""Which layer each argument of `forward` feeds first, read from forward's source (for input-shape inference).

`def forward(self, x, img): h = self.a(x); ... y = self.e(img)` -> {x: self.a, img: self.e}. An
argument reaches a layer directly or through assignments (`z = x.view(-1, 784)`; `h = torch.cat([x, y])`
counts for both); the first `self.<layer>(...)` call, in source order, that takes it wins. Whatever
cannot be read (no source, a layer reached through a helper) is left out, and inference says so.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Dict, List, Optional, Set

from torch import nn


def required_arguments(model: nn.Module) -> List[str]:
    """forward's positional parameters without defaults (after self)."""
    try:
        signature = inspect.signature(model.forward)
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in signature.parameters.values() if p.kind in kinds and p.default is inspect.Parameter.empty]


def first_layers(model: nn.Module, names: List[str]) -> Dict[str, nn.Module]:
    """{argument: the first submodule forward calls with it}, for the arguments that can be traced."""
    function = _forward_ast(model)
    if function is None:
        return {}
    derived: Dict[str, Set[str]] = {name: {name} for name in names}
    found: Dict[str, nn.Module] = {}
    for node in _in_order(function):
        for call in sorted((c for c in ast.walk(node) if isinstance(c, ast.Call)), key=lambda c: (c.lineno, c.col_offset)):
            layer = _layer(model, call.func)
            if layer is None:
                continue
            used = {n for arg in call.args for n in _direct_names(model, arg)}
            for name, aliases in derived.items():
                if name not in found and used & aliases:
                    found[name] = layer
        if isinstance(node, ast.Assign):  # after the calls: `x = self.a(x)` feeds a with the argument itself
            used = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
            for name, aliases in derived.items():
                if used & aliases:
                    aliases.update(t.id for target in node.targets for t in ast.walk(target) if isinstance(t, ast.Name))
    return found


def _direct_names(model: nn.Module, node: ast.AST) -> Set[str]:
    """Names an argument reads without first going through another layer: in
    `self.c(torch.tanh(self.a(x)))`, x feeds a, not c."""
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, ast.Call) and _layer(model, node.func) is not None:
        return set()
    names: Set[str] = set()
    for child in ast.iter_child_nodes(node):
        names |= _direct_names(model, child)
    return names


def _forward_ast(model: nn.Module) -> Optional[ast.FunctionDef]:
    try:
        source = textwrap.dedent(inspect.getsource(type(model).forward))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    return next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)  # type: ignore[return-value]


def _in_order(function: ast.AST) -> List[ast.stmt]:
    """forward's statements in source order, nested blocks flattened."""
    statements = [n for n in ast.walk(function) if isinstance(n, ast.stmt) and n is not function]
    simple = [s for s in statements if not hasattr(s, "body")]
    return sorted(simple, key=lambda s: (s.lineno, s.col_offset))


def _layer(model: nn.Module, func: ast.expr) -> Optional[nn.Module]:
    """The submodule `self.a.b(...)` / `self.blocks[0](...)` calls, if it is one."""
    path: List[object] = []
    node = func
    while True:
        if isinstance(node, ast.Attribute):
            path.insert(0, node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            path.insert(0, node.slice.value)
            node = node.value
        else:
            break
    if not (isinstance(node, ast.Name) and node.id == "self") or not path:
        return None
    value: object = model
    for part in path:
        try:
            value = value[part] if isinstance(part, int) else getattr(value, str(part))  # type: ignore[index]
        except (AttributeError, IndexError, KeyError, TypeError):
            return None
    return value if isinstance(value, nn.Module) else None
