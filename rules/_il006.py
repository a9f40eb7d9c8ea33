"""The judgement of IL006 (UnregisteredSubmodules): imported only when a file is checked.

A candidate is a plain list / tuple / dict attribute of an nn.Module class (the tree's
`plain`, read from `__init__` and the helpers it calls) that holds modules or parameters the
tree shows have parameters and that are not registered otherwise (`self.a` kept in a list is
registered as `a`). It is judged on the whole file (`_whole`): quiet when anything registers
what it holds (`nn.ModuleList(self.x)`, `nn.Sequential(*layers)`, `add_module` / `setattr` in a
loop over it), when the code handles the modules' parameters by hand, or when they come trained.
"""

from __future__ import annotations

from typing import Iterable, Iterator, List, Optional, Set, Tuple

import libcst as cst

from initlint import exprs, torch_api, walk
from initlint.facts import FileFacts
from initlint.imports import dotted_name
from initlint.model.lists import Item
from initlint.model.tree import PARAM, Node, TreeBuilder, is_dict
from initlint.rule import Finding
from initlint.rules._attributes import Use, related_classes, uses_of
from initlint.rules._kinds import class_defines, describe, holds_parameters, likely_layer, module_like
from initlint.rules._whole import test_classes, trees, whole_facts

# Calls that register what they are handed (anywhere in their arguments).
REGISTERING_METHODS = frozenset({"add_module", "register_module", "register_parameter", "register_buffer"})
# Calls on a module that show the code handles its parameters, device or state by hand.
BY_HAND = frozenset({"parameters", "named_parameters", "state_dict", "load_state_dict", "to", "cuda", "requires_grad_", "eval", "train", "half", "float", "buffers"})


class Candidate:
    """One plain attribute holding unregistered modules or parameters."""

    def __init__(self, cls: str, attr: str, node: Node, items: List[Item], held: List[Node]) -> None:
        self.cls, self.attr, self.node, self.items, self.held = cls, attr, node, items, held


def check(rule, facts: FileFacts) -> Iterable[Finding]:
    found = list(candidates(facts))
    if not found:
        return
    whole = whole_facts(facts)
    builder = trees(whole)
    for screened in found:
        judged = _candidate(whole, builder, screened.cls, screened.attr)
        if judged is None or registered(whole, judged):
            continue
        from initlint.rules._il006_fix import fix_for  # (only with a finding)

        fix, reason = fix_for(whole, builder, judged)
        yield Finding(_anchor(screened.node), _message(rule, judged), fix=fix, no_fix_reason=reason)


def candidates(facts: FileFacts) -> Iterator[Candidate]:
    """The plain attributes of the file's nn.Module classes that hold unregistered parameters."""
    tests = test_classes(facts)
    builder = trees(facts)
    for cls in facts.classes:
        if cls in tests or not module_like(facts, cls):
            continue
        for attr in builder.tree(cls).plain:
            found = _candidate(facts, builder, cls, attr)
            if found is not None:
                yield found


def _held(node: Node, builder: TreeBuilder) -> bool:
    held = holds_parameters(node, builder)
    return held is True or (held is None and likely_layer(node))


def _candidate(facts: FileFacts, builder: TreeBuilder, cls: str, attr: str) -> Optional[Candidate]:
    tree = builder.tree(cls)
    node = tree.plain.get(attr)
    if node is None or isinstance(node.value, cst.GeneratorExp):
        return None
    registered_ids = {id(n) for n in tree.nodes()}
    held = [
        child
        for child in node.children
        if id(child) not in registered_ids and not child.pretrained and _held(child, builder)
    ]
    if not held:
        return None
    return Candidate(cls, attr, node, tree.plain_items.get(attr, []), held)


# ---- registered after all ---------------------------------------------------------------------
def registered(facts: FileFacts, candidate: Candidate) -> bool:
    """Whether the code registers what the attribute holds, or handles it by hand."""
    info = facts.classes.get(candidate.cls)
    if info is None:
        return True
    if class_defines(facts, candidate.cls, {"__setattr__"}):
        return True  # a class of its own that registers what it is given
    names = _local_names(candidate)
    own = {f"self.{candidate.attr}"} | ({candidate.node.value.value} if isinstance(candidate.node.value, cst.Name) else set())
    related = related_classes(facts, candidate.cls)
    for use in uses_of(facts, {candidate.attr}).of(candidate.attr):
        if use.foreign(related):
            continue  # another class's own attribute of the same name
        if _registers(facts, use, own | {f"{use.owner}.{candidate.attr}"}) or _by_hand(use):
            return True
    if names:
        for fn in info.methods.values():
            if _registers_names(facts, fn, names, own):
                return True
    return False


def _local_names(candidate: Candidate) -> Set[str]:
    """The local names the attribute's items come from: the local list it was assigned, and
    the names it holds (`layer` in `self.layers.append(layer)`)."""
    names: Set[str] = set()
    if isinstance(candidate.node.value, cst.Name):
        names.add(candidate.node.value.value)
    for item in candidate.items:
        if isinstance(item.value, cst.Name):
            names.add(item.value.value)
    return names


def _registering_call(facts: FileFacts, call: cst.Call, own: Set[str]) -> bool:
    """A call that registers what its arguments hold: a torch container or nn.Parameter,
    `add_module` / `register_*` / `setattr`, or adding to another container (`self.mlist.append(m)`;
    adding to the plain list itself, `own`, only builds it)."""
    qualname = facts.resolve(call.func) or ""
    if qualname in torch_api.CONTAINERS or qualname in torch_api.PARAMETER or dotted_name(call.func) == "setattr":
        return True
    method = exprs.method_name(call)
    if method in REGISTERING_METHODS:
        return True
    if method in ("append", "extend", "insert", "update"):
        return dotted_name(call.func.value) not in own  # type: ignore[union-attr]
    return False


def _registers(facts: FileFacts, use: Use, own: Set[str]) -> bool:
    """The attribute (or its items) is handed to a registering call, or walked by a loop that
    registers each item; what is computed from it (`self.convs[i](x)`) is not."""
    child: cst.CSTNode = use.node
    for i, ancestor in enumerate(use.ancestors):
        if isinstance(ancestor, cst.Call):
            if child is ancestor.func:
                return False  # called: the result is no module of the list
            if _registering_call(facts, ancestor, own):
                return True
            if dotted_name(ancestor.func) not in _PASSING:
                return False
        elif isinstance(ancestor, cst.For):
            return child is ancestor.iter and _body_registers(facts, ancestor.body, own, exprs.names_in(ancestor.target))
        elif isinstance(ancestor, cst.CompFor):
            if child is not ancestor.iter:
                return False
            comp = next((a for a in use.ancestors[i + 1:] if isinstance(a, (cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp))), None)
            return comp is not None and _body_registers(facts, comp, own, exprs.names_in(ancestor.target))
        elif isinstance(ancestor, cst.Attribute):
            if ancestor.value is not child or ancestor.attr.value not in ("values", "items", "keys"):
                return False
        elif not isinstance(ancestor, (cst.Arg, cst.Subscript, cst.SubscriptElement, cst.Index, cst.Slice, cst.Element, cst.StarredElement, cst.List, cst.Tuple, cst.ListComp, cst.GeneratorExp)):
            return False
        child = ancestor
    return False


# Calls that pass a container's items along (`zip(self.a, self.b)`, `list(self.x)`).
_PASSING = frozenset({"list", "tuple", "reversed", "iter", "zip", "enumerate", "dict", "sorted", "chain", "itertools.chain"})


def _body_registers(facts: FileFacts, body: cst.CSTNode, own: Set[str], items: Set[str]) -> bool:
    """A loop's body hands what it walks (`items`: the loop's names) to a registering call."""
    return any(
        isinstance(inner, cst.Call) and _registering_call(facts, inner, own) and any(_hands(a.value, items) for a in inner.args)
        for inner in walk.nodes(body, skip=(cst.FunctionDef, cst.ClassDef, cst.Lambda))
    )


def _registers_names(facts: FileFacts, fn: cst.FunctionDef, names: Set[str], own: Set[str]) -> bool:
    """A local list or item handed to a registering call, or assigned to an attribute of the model
    other than the plain one (`self.block0 = layer`)."""
    me = fn.params.params[0].name.value if fn.params.params else "self"
    mine = own | {f"{me}.{name.split('.', 1)[1]}" for name in own if name.startswith("self.")}
    for node in walk.nodes(fn.body, skip=(cst.FunctionDef, cst.ClassDef, cst.Lambda)):
        if isinstance(node, cst.Call) and _registering_call(facts, node, mine):
            if any(_hands(arg.value, names) for arg in node.args):
                return True
        elif isinstance(node, cst.Assign) and isinstance(node.value, cst.Name) and node.value.value in names:
            targets = {dotted_name(t.target) or "" for t in node.targets}
            if any(t.startswith(me + ".") and t not in mine for t in targets):
                return True
        elif isinstance(node, cst.For) and exprs.names_in(node.iter) & names and _body_registers(facts, node.body, mine, exprs.names_in(node.target)):
            return True
    return False


def _hands(value: cst.BaseExpression, names: Set[str]) -> bool:
    """The expression is one of the names, or a container of them (`layer`, `[a, b]`, `*layers`,
    `layers[1:]`, `[m for m in layers]`), not something computed from them (`layer(x)`)."""
    if isinstance(value, cst.Name):
        return value.value in names
    if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
        return any(_hands(e.value, names) for e in value.elements)
    if isinstance(value, cst.Dict):
        return any(isinstance(e, cst.DictElement) and _hands(e.value, names) for e in value.elements)
    if isinstance(value, cst.Subscript):
        return _hands(value.value, names)
    if isinstance(value, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
        return _hands(value.elt, names) or _hands(value.for_in.iter, names)
    if isinstance(value, cst.DictComp):
        return _hands(value.value, names) or _hands(value.for_in.iter, names)
    if isinstance(value, cst.Call) and dotted_name(value.func) in ("list", "tuple", "reversed", "iter", "zip", "enumerate", "dict"):
        return any(_hands(a.value, names) for a in value.args)
    return False


def iterated(use_node: cst.CSTNode, ancestors: Tuple[cst.CSTNode, ...]) -> Optional[Tuple[cst.CSTNode, Set[str], int]]:
    """(the loop, the names it binds, its index in `ancestors`) when the node is what a `for` or a
    comprehension iterates, directly or through `enumerate` / `zip` / `reversed` / `list`."""
    child = use_node
    for i, ancestor in enumerate(ancestors):
        if isinstance(ancestor, (cst.For, cst.CompFor)):
            return (ancestor, exprs.names_in(ancestor.target), i) if child is ancestor.iter else None
        if isinstance(ancestor, cst.Arg) and not ancestor.keyword:
            child = ancestor
            continue
        if isinstance(ancestor, cst.Call) and dotted_name(ancestor.func) in ("enumerate", "zip", "reversed", "list", "tuple", "iter") and child is not ancestor.func:
            child = ancestor
            continue
        return None
    return None


def _by_hand(use: Use) -> bool:
    """`self.heads[0].parameters()`, `for h in self.heads: h.to(device)`: the code reaches the
    modules' parameters itself (an optimizer given them, a move by hand)."""
    child: cst.CSTNode = use.node
    for ancestor in use.ancestors:
        if isinstance(ancestor, cst.Attribute) and ancestor.value is child:
            if ancestor.attr.value in BY_HAND:
                return True
            child = ancestor
        elif isinstance(ancestor, cst.Subscript) and ancestor.value is child:
            child = ancestor
        else:
            break
    loop = iterated(use.node, use.ancestors)
    if loop is None:
        return False
    node, names, i = loop
    scope = node.body if isinstance(node, cst.For) else use.ancestors[i + 1] if i + 1 < len(use.ancestors) else node
    for inner in walk.nodes(scope, skip=(cst.FunctionDef, cst.ClassDef)):
        if isinstance(inner, cst.Attribute) and inner.attr.value in BY_HAND and (dotted_name(inner.value) or "").split(".", 1)[0] in names:
            return True
    return False


# ---- the finding ------------------------------------------------------------------------------
def _anchor(node: Node) -> cst.CSTNode:
    """The assignment that makes the plain attribute."""
    stmt = node.where
    for small in getattr(stmt, "body", ()):
        if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is node.value:
            return small
    return stmt  # type: ignore[return-value]


def _message(rule, candidate: Candidate) -> str:
    value = candidate.node.value
    kind = "dict" if is_dict(value) else ("tuple" if isinstance(value, cst.Tuple) else "list")
    names = list(dict.fromkeys(describe(node) for node in candidate.held))
    params = all(node.kind == PARAM for node in candidate.held)
    one = len(candidate.held) == 1 and not candidate.held[0].repeated
    what = ("one " if one else "") + " and ".join(names) + (" tensor" if params else " module") + ("" if one else "s")
    subject = ("it is" if one else "they are") if params else ("its parameters are" if one else "their parameters are")
    return rule.message.format(target=f"self.{candidate.attr}", kind=kind, what=what, subject=subject)
