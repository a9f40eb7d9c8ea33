"""The judgement of IL002 (DeadZeroLayer): imported only when a file is checked."""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Set, Tuple

import libcst as cst

from initlint import exprs, targets, torch_api, walk
from initlint.facts import FileFacts, Site
from initlint.imports import dotted_name
from initlint.rule import Finding
from initlint.rules._common import randomised_later



def check(rule, facts: FileFacts) -> Iterable[Finding]:
    yield from _zeroed_layers(rule, facts)
    yield from _zero_hidden_matrices(rule, facts)

# ---- layers ------------------------------------------------------------------------------
def _zeroed_layers(rule, facts: FileFacts) -> Iterable[Finding]:
    weights: Dict[Tuple[str, str], Site] = {}
    biases: Set[Tuple[str, str]] = set()
    for site in facts.sites:
        if site.kind != "constant" or not site.zero:
            continue
        subject = targets.classify(facts, site)
        key = _layer_key(facts, site, subject.layer)
        if key is None:
            continue
        if subject.kind == targets.MATRIX:
            weights.setdefault(key, site)
        elif subject.kind == targets.BIAS:
            biases.add(key)
    fed: Dict[str, Dict[str, str]] = {}
    for key, site in weights.items():
        cls_name, attr = key
        layer = targets.class_layer(facts, cls_name, attr, set())
        no_bias = layer is not None and exprs.is_false(exprs.keyword(layer.call, "bias"))
        if key not in biases and not no_bias:
            continue
        if cls_name not in fed:
            fed[cls_name] = relu_fed_layers(facts, cls_name)
        act = fed[cls_name].get(attr)
        if act is not None:
            label = site.target_name.rsplit(".", 1)[0]
            yield Finding(site.node, rule.message.format(layer=label, act=act))

# ---- hand-made matrices ------------------------------------------------------------------
def _zero_hidden_matrices(rule, facts: FileFacts) -> Iterable[Finding]:
    for site in facts.sites:
        if site.kind != "constant" or not site.zero or not site.created or not site.trainable:
            continue
        if targets.classify(facts, site).kind != targets.RAW or randomised_later(facts, site):
            continue
        name = site.target_name
        derived = _derived(facts, name)
        if any(_mentions_random_trainable(facts, value) for d in derived for value in facts.bindings.get(d, [])):
            continue  # a random bias keeps the hidden units alive
        for left, right, _node in facts.matmuls:
            for mine, other in ((left, right), (right, left)):
                if mine & (derived | {name}) and (other & facts.trainables) - {name} and name not in other:
                    if mine == {name}:
                        continue  # X @ W1 itself
                    yield Finding(site.node, (
                        f"{name} is created as zeros and feeds another trainable matrix: its hidden units "
                        "output 0, start identical and get no gradient through ReLU"
                    ))
                    break
            else:
                continue
            break


def _layer_key(facts: FileFacts, site: Site, layer: Optional[str]) -> Optional[Tuple[str, str]]:
    """(class name, attribute) of `self.fc1` / `net.fc1`."""
    if layer is None or layer.count(".") != 1:
        return None
    owner, attr = layer.split(".")
    if owner == "self" and site.scope is not None and site.scope.cls is not None:
        return site.scope.cls.name, attr
    if owner in facts.instances:
        return facts.instances[owner], attr
    return None


def _derived(facts: FileFacts, name: str) -> Set[str]:
    """Names bound (anywhere in the file) to expressions computed from `name`."""
    derived: Set[str] = set()
    changed = True
    while changed:
        changed = False
        for bound, values in facts.bindings.items():
            if bound in derived or bound == name:
                continue
            if any(exprs.names_in(v) & (derived | {name}) for v in values):
                derived.add(bound)
                changed = True
    return derived


def _mentions_random_trainable(facts: FileFacts, value: cst.BaseExpression) -> bool:
    return bool(exprs.names_in(value) & facts.random_trainables)


def relu_fed_layers(facts: FileFacts, cls_name: str) -> Dict[str, str]:
    """Layer attribute -> activation name, for the layers whose output `forward` puts through a ReLU."""
    info = facts.classes.get(cls_name)
    forward = None
    seen: Set[str] = set()
    while info is not None and info.name not in seen:
        seen.add(info.name)
        forward = info.methods.get("forward")
        if forward is not None:
            break
        info = next((facts.classes[b] for b in info.bases if b in facts.classes), None)
    if forward is None:
        return {}
    visitor = _ReluFlow(facts, cls_name)
    walk.visit(forward.body, visitor)
    return visitor.fed


class _ReluFlow(cst.CSTVisitor):
    """Follows `forward`'s statements in order: which layer outputs reach a ReLU."""

    def __init__(self, facts: FileFacts, cls_name: str) -> None:
        super().__init__()
        self.facts = facts
        self.cls_name = cls_name
        self.tainted: Dict[str, Set[str]] = {}
        self.fed: Dict[str, str] = {}

    def leave_Assign(self, original_node: cst.Assign) -> None:
        layers = self._layers_in(original_node.value)
        for target in original_node.targets:
            name = dotted_name(target.target)
            if name is not None:
                self.tainted[name] = layers

    def visit_Call(self, node: cst.Call) -> None:
        act = self._activation(node)
        if act is None:
            return
        name, inputs = act
        for expr in inputs:
            for attr in self._layers_in(expr):
                self.fed.setdefault(attr, name)

    def _layers_in(self, expr: cst.CSTNode) -> Set[str]:
        found: Set[str] = set()
        for call in exprs.calls_in(expr):
            callee = dotted_name(call.func)
            if callee and callee.startswith("self.") and callee.count(".") == 1:
                found.add(callee[5:])
        for name in exprs.names_in(expr):
            found |= self.tainted.get(name, set())
        return found

    def _activation(self, call: cst.Call) -> Optional[Tuple[str, List[cst.BaseExpression]]]:
        qualname = self.facts.resolve(call.func)
        method = exprs.method_name(call)
        args = [a.value for a in exprs.positional(call)]
        if qualname in torch_api.RELU_FUNCTIONS and args:
            short = qualname.rsplit(".", 1)[-1]
            if short in ("clamp", "clamp_min", "clip"):
                low = exprs.argument(call, 1, "min")
                if exprs.number(low) != 0.0:
                    return None
            if short == "hardtanh" and exprs.number(exprs.argument(call, 1, "min_val")) != 0.0:
                return None
            return qualname.replace("torch.nn.functional.", "F."), args[:1]
        if qualname is None and method is not None and isinstance(call.func, cst.Attribute):
            receiver = call.func.value
            if method in ("relu", "relu_") and not args:
                return f".{method}()", [receiver]
            if method in ("clamp", "clamp_", "clamp_min", "clamp_min_", "clip") and exprs.number(exprs.argument(call, 0, "min")) == 0.0:
                return f".{method}(min=0)", [receiver]
        callee = dotted_name(call.func)
        if callee and callee.startswith("self.") and callee.count(".") == 1 and args:
            layer = targets.class_layer(self.facts, self.cls_name, callee[5:], set())
            if layer is not None and layer.qualname in torch_api.RELU_MODULES:
                return f"nn.{layer.qualname.rsplit('.', 1)[-1]}", args[:1]
        return None
