"""The judgement of IL009 (UnregisteredTensor): imported only when a file is checked.

A candidate is an attribute of an nn.Module class that `__init__` (or a helper it calls) sets to
a tensor made trainable by hand: created with `requires_grad=True`, `.requires_grad_()`ed, or
`Variable(..., requires_grad=True)`, directly or through a local name, and not an `nn.Parameter`.
It is judged on the whole file (`_whole`): quiet when the code registers it after all
(`nn.Parameter(self.x)`, `register_parameter`, a buffer), hands it to an optimizer or to
`torch.autograd` itself, collects it by hand (in a list, a dict, returned), reads its `.grad`, or
overrides `parameters()`.
"""

from __future__ import annotations

from typing import Dict, Iterable, Iterator, Optional, Set, Tuple

import libcst as cst

from initlint import exprs, torch_api, walk
from initlint.facts import FileFacts
from initlint.imports import dotted_name
from initlint.rule import Finding
from initlint.rules._attributes import Use, related_classes, uses_of
from initlint.rules._kinds import class_defines, module_like
from initlint.rules._whole import test_classes, whole_facts

# Methods that return their receiver's tensor, still requiring grad.
_KEEPS = frozenset({"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "contiguous", "type", "view", "reshape"})
_NEW = frozenset({"new_zeros", "new_ones", "new_empty", "new_full", "new_tensor"})
_VARIABLE = frozenset({"torch.autograd.Variable", "torch.autograd.variable.Variable", "Variable"})
_COLLECTS = (cst.List, cst.Tuple, cst.Set, cst.DictElement, cst.Element, cst.Return, cst.Yield, cst.StarredElement)


class Candidate:
    """One attribute set to a trainable plain tensor."""

    def __init__(self, cls: str, attr: str, anchor: cst.CSTNode, how: str) -> None:
        self.cls, self.attr, self.anchor, self.how = cls, attr, anchor, how


def check(rule, facts: FileFacts) -> Iterable[Finding]:
    found = list(candidates(facts))
    if not found:
        return
    whole = whole_facts(facts)
    reasons = _Reasons(whole)
    seen: Set[Tuple[str, str]] = set()
    for candidate in found:
        key = (candidate.cls, candidate.attr)
        if key in seen or reasons.registered(candidate):
            continue
        seen.add(key)
        yield Finding(candidate.anchor, rule.message.format(target=f"self.{candidate.attr}", how=candidate.how, cls=candidate.cls))


def candidates(facts: FileFacts) -> Iterator[Candidate]:
    tests = test_classes(facts)
    for cls, info in facts.classes.items():
        if cls in tests or not module_like(facts, cls):
            continue
        init = info.methods.get("__init__")
        if init is None or not init.params.params:
            continue
        me = init.params.params[0].name.value
        called = _called(init, me)
        functions = [init] + [fn for name, fn in info.methods.items() if name in called and name != "__init__" and fn.params.params]
        for fn in functions:
            yield from _in_function(facts, cls, fn)


def _called(fn: cst.FunctionDef, me: str) -> Set[str]:
    out: Set[str] = set()
    for node in walk.nodes(fn.body, skip=(cst.FunctionDef, cst.ClassDef, cst.Lambda)):
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and dotted_name(node.func.value) == me:
            out.add(node.func.attr.value)
    return out


def _in_function(facts: FileFacts, cls: str, fn: cst.FunctionDef) -> Iterator[Candidate]:
    me = fn.params.params[0].name.value
    local: Dict[str, str] = {}  # local name -> how it was made trainable
    tensors: Set[str] = set()  # attributes set to a plain torch tensor (a later `.requires_grad_()` counts)
    for node in walk.nodes(fn.body, skip=(cst.FunctionDef, cst.ClassDef, cst.Lambda)):
        if isinstance(node, (cst.Assign, cst.AnnAssign)) and node.value is not None:
            targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
            how = _trainable(facts, node.value)
            if how is None and isinstance(node.value, cst.Name):
                how = local.get(node.value.value)
            for target in targets:
                name = dotted_name(target) or ""
                if isinstance(target, cst.Name):
                    local.pop(name, None)
                    if how is not None:
                        local[name] = how
                elif name.startswith(me + ".") and name.count(".") == 1:
                    attr = name.split(".", 1)[1]
                    if how is not None:
                        yield Candidate(cls, attr, node, how)
                    elif _plain_tensor(facts, node.value):
                        tensors.add(attr)
                elif name.startswith(me + ".") and name.endswith(".requires_grad") and name.count(".") == 2 and exprs.is_true(node.value):
                    attr = name.split(".")[1]
                    if attr in tensors:
                        yield Candidate(cls, attr, node, f"`{name} = True`")
        elif isinstance(node, cst.Call) and exprs.method_name(node) == "requires_grad_" and not (node.args and exprs.is_false(node.args[0].value)):
            receiver = dotted_name(node.func.value) or ""  # type: ignore[attr-defined]
            if receiver.startswith(me + ".") and receiver.count(".") == 1 and receiver.split(".")[1] in tensors:
                yield Candidate(cls, receiver.split(".")[1], node, ".requires_grad_()")


def _trainable(facts: FileFacts, value: cst.BaseExpression) -> Optional[str]:
    """How an expression makes a trainable leaf tensor that is no nn.Parameter, or None."""
    node = value
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and facts.resolve(node.func) is None:
        method = node.func.attr.value
        if method == "requires_grad_":
            if node.args and not exprs.is_true(node.args[0].value):
                return None
            return ".requires_grad_()" if _plain_tensor(facts, node.func.value) else None
        if method in _NEW:
            return f".{method}(..., requires_grad=True)" if exprs.is_true(exprs.keyword(node, "requires_grad")) else None
        if method not in _KEEPS:
            return None
        node = node.func.value
    if not isinstance(node, cst.Call):
        return None
    qualname = facts.resolve(node.func) or dotted_name(node.func) or ""
    if qualname in torch_api.PARAMETER or not exprs.is_true(exprs.keyword(node, "requires_grad")):
        return None
    if qualname in _VARIABLE:
        return "Variable(..., requires_grad=True)"
    if qualname.startswith("torch."):
        return f"{qualname}(..., requires_grad=True)"
    return None


def _plain_tensor(facts: FileFacts, value: cst.BaseExpression) -> bool:
    """A tensor made by torch (`torch.zeros(3)`, `torch.randn(d).cuda()`), not a Parameter."""
    node = value
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and facts.resolve(node.func) is None and node.func.attr.value in _KEEPS:
        node = node.func.value
    if not isinstance(node, cst.Call):
        return False
    qualname = facts.resolve(node.func) or ""
    return qualname.startswith("torch.") and qualname not in torch_api.PARAMETER and not qualname.startswith("torch.nn.")


class _Reasons:
    """What in the whole file makes a trainable plain attribute intended."""

    def __init__(self, facts: FileFacts) -> None:
        self.facts = facts

    def registered(self, candidate: Candidate) -> bool:
        facts = self.facts
        if class_defines(facts, candidate.cls, {"parameters", "named_parameters"}):
            return True
        if candidate.attr in uses_of(facts, {candidate.attr}).by_string:
            return True  # `register_parameter("alpha", ...)`, `register_buffer`, getattr by name
        related = related_classes(facts, candidate.cls)
        uses = uses_of(facts, {candidate.attr}).of(candidate.attr)
        if any(_handled(facts, use, candidate) for use in uses if not use.foreign(related)):
            return True
        return False


def _handled(facts: FileFacts, use: Use, candidate: Candidate) -> bool:
    """The use registers the tensor, trains it by hand, or collects it."""
    parent = use.parent
    if isinstance(parent, cst.Attribute) and parent.value is use.node and parent.attr.value == "grad":
        return True  # its gradient is read: updated by hand
    if isinstance(parent, (cst.AssignTarget, cst.AnnAssign)):
        statement = use.ancestors[1] if isinstance(parent, cst.AssignTarget) else parent
        value = getattr(statement, "value", None)
        if isinstance(value, cst.Call) and facts.resolve(value.func) in torch_api.PARAMETER:
            return True  # `self.alpha = nn.Parameter(...)`
        return False
    child: cst.CSTNode = use.node
    for ancestor in use.ancestors:
        if isinstance(ancestor, cst.Call) and child is not ancestor.func:
            qualname = facts.resolve(ancestor.func) or ""
            method = exprs.method_name(ancestor) or ""
            if qualname in torch_api.PARAMETER or qualname.startswith(("torch.optim", "torch.autograd")):
                return True
            if method in ("register_parameter", "register_buffer", "add_param_group") or "optim" in (dotted_name(ancestor.func) or "").lower():
                return True
            return False
        if isinstance(ancestor, _COLLECTS):
            return True  # collected by hand: `[self.alpha, self.beta]`, `return self.alpha`
        if isinstance(ancestor, (cst.Arg,)):
            child = ancestor
            continue
        if isinstance(ancestor, (cst.BaseSmallStatement, cst.BaseCompoundStatement, cst.BinaryOperation, cst.Attribute, cst.Subscript)):
            return False
        child = ancestor
    return False
