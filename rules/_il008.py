"""The judgement of IL008 (UninitialisedParameter): imported only when a file is checked.

The network model runs construction (`initlint.model.state`): a parameter created from
`torch.empty` / `torch.Tensor(n, m)` / `new_empty` holds EMPTY until a write reaches it. A
candidate is such a parameter that is EMPTY at the end of every model of the file that holds it
(the class's own, the classes that contain or extend it, the models the file builds and changes).
It is judged on the whole file (`_whole`), and stays quiet when code the model does not run may
give it values: a write to an attribute of that name it does not reach (`reset_parameters`
called from outside, a lazy init in `forward`), a loop over `parameters()` it does not reach, the
tensor handed to a function of another file (`glorot(self.weight)`), an in-place or item write,
an `apply()` of a function of another file, the model handed to such a function, a method the
class inherits from another file, or a load of its state.
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, Iterator, List, Set, Tuple

import libcst as cst

from initlint import exprs, walk
from initlint.facts import FileFacts
from initlint.imports import dotted_name
from initlint.model.state import EMPTY, empty_call
from initlint.model.tree import PARAM, Node
from initlint.rule import Finding
from initlint.rules._attributes import Use, uses_of
from initlint.rules._judge import judge_of
from initlint.rules._whole import test_classes, whole_facts

# A lone argument of `torch.Tensor(x)` is a size only when its name says so (else it is data).
_SIZE_NAME = re.compile(r"(?i)(dim|size|num|features|channels|hidden|width|height|heads|units|len|depth|planes|(^|_)(n|d|k|h|c|m|in|out)($|_))")
# Calls that read a tensor and never write it.
_READS = frozenset({"len", "print", "isinstance", "hasattr", "getattr", "str", "repr", "id", "type", "float", "int", "bool", "tuple", "list", "super"})
# nn.Module's own methods that give no parameter values.
_MODULE_METHODS = frozenset({
    "register_buffer", "register_parameter", "add_module", "register_module", "to", "cuda", "cpu", "float", "double",
    "half", "bfloat16", "train", "eval", "requires_grad_", "zero_grad", "parameters", "named_parameters", "modules",
    "named_modules", "children", "named_children", "buffers", "named_buffers", "state_dict", "register_forward_hook",
    "register_forward_pre_hook", "register_full_backward_hook", "register_backward_hook", "extra_repr", "type",
    "share_memory", "apply", "forward", "get_submodule", "get_parameter",
})
_LOADS = ("load_state_dict", "_load_from_state_dict", "from_pretrained", "load_checkpoint")


class Candidate:
    """A parameter that no write of the model reaches."""

    def __init__(self, cls: str, path: str, node: Node) -> None:
        self.cls, self.path, self.node = cls, path, node

    @property
    def attr(self) -> str:
        return self.path.split(".")[0]


def check(rule, facts: FileFacts) -> Iterable[Finding]:
    found = candidates(facts)
    if not found:
        return
    whole = whole_facts(facts)
    judged = {(c.cls, c.path): c for c in candidates(whole)}
    blockers = _Blockers(whole)
    for candidate in found:
        mine = judged.get((candidate.cls, candidate.path))
        if mine is None or blockers.quiet(mine):
            continue
        empty = empty_call(candidate.node.value, facts)
        how = exprs.code(empty) if empty is not None else "uninitialised memory"
        target = "self." + re.sub(r"\.(\d+)", r"[\1]", candidate.path)  # `self.weights[0]` in a ParameterList
        yield Finding(candidate.node.call or candidate.node.where, rule.message.format(target=target, how=_short(how)))


def candidates(facts: FileFacts) -> List[Candidate]:
    """The parameters created empty that every model of the file leaves empty."""
    judge = judge_of(facts)
    network = judge.network
    tests = test_classes(facts)
    owners: Dict[int, Tuple[str, str]] = {}
    empty: Dict[int, bool] = {}
    nodes: Dict[int, Node] = {}
    models = [network.model(cls) for cls in network.classes()] + list(network.built())
    for model in models:
        for slot in model.slots.values():
            node = slot.node
            if node.kind != PARAM:
                continue
            key = id(node)
            nodes[key] = node
            empty[key] = empty.get(key, True) and bool(slot.values) and all(v.kind == EMPTY for v in slot.values)
            if model.cls in facts.classes:
                best = owners.get(key)
                if best is None or len(slot.path) < len(best[1]):
                    owners[key] = (model.cls, slot.path)
    out = []
    for key, is_empty in empty.items():
        owner = owners.get(key)
        node = nodes[key]
        if not is_empty or owner is None or owner[0] in tests or "*" in owner[1] or node.pretrained or _frozen(node):
            continue
        call = empty_call(node.value, facts)
        if call is None or not _sizes_unambiguous(call, facts):
            continue
        out.append(Candidate(owner[0], owner[1], node))
    out.sort(key=lambda c: (c.cls, c.path))
    return out


def _frozen(node: Node) -> bool:
    """`nn.Parameter(torch.empty(...), requires_grad=False)`: storage for loaded values (quantised
    weights, tables), never trained."""
    return node.call is not None and exprs.is_false(exprs.argument(node.call, 1, "requires_grad"))


def _sizes_unambiguous(call: cst.Call, facts: FileFacts) -> bool:
    """`torch.Tensor(n, m)` is a size; `torch.Tensor(x)` a size only when `x` is named like one."""
    qualname = facts.resolve(call.func) or ""
    if not qualname.endswith("Tensor"):
        return True
    args = list(call.args)
    if len(args) != 1 or args[0].star:
        return True
    value = args[0].value
    if isinstance(value, (cst.Integer, cst.BinaryOperation)):
        return True
    name = dotted_name(value)
    last = name.rsplit(".", 1)[-1] if name is not None else ""
    return bool(_SIZE_NAME.search(last)) and not exprs.names_a_shape(last)


def _short(text: str) -> str:
    return text if len(text) <= 50 else text[:47] + "..."


class _Blockers:
    """What in the whole file may give a candidate values the model does not run."""

    def __init__(self, facts: FileFacts) -> None:
        self.facts = facts
        network = judge_of(facts).network
        for cls in network.classes():  # (the writes construction reaches: complete once every model is built)
            network.model(cls)
        network.built()
        self.reached = network.runner.reached
        self.unreached = [s for s in facts.sites if id(s) not in self.reached]
        # Calls the model ran as writes: where they reach is known, they say nothing more.
        self.ran = {id(s.node) for s in facts.sites if id(s) in self.reached}
        self.walks = any(any(loop.kind == "parameters" for loop in s.loops) for s in self.unreached)
        self.outside = self._calls_outside()

    def quiet(self, candidate: Candidate) -> bool:
        facts, attr = self.facts, candidate.attr
        group = _around(facts, candidate.cls)
        if self.walks or self.outside & group:
            return True
        if any(_loads(facts, cls) or _inherits_unknown(facts, cls) or _loaded_framework(facts, cls) for cls in group):
            return True
        for site in self.unreached:
            if not _may_reach(site, group):
                continue
            if site.target_name.rsplit(".", 1)[-1] == attr or attr in _named_through(facts, site):
                return True
        return any(
            _written(facts, use, self.ran)
            for use in uses_of(facts, {attr}).of(attr)
            if not use.foreign(group)  # (another class's own attribute of the same name)
        )

    def _calls_outside(self) -> Set[str]:
        """Classes whose models code the file does not show is handed: `self` (or an instance)
        passed to a function of another file, `.apply()` of one (all classes: "*")."""
        facts = self.facts
        out: Set[str] = set()
        for name, info in facts.classes.items():
            for fn in info.methods.values():
                me = fn.params.params[0].name.value if fn.params.params else "self"
                if any(_unknown_callee(facts, call) for call in _calls_with(fn.body, me)):
                    out.add(name)
        for node in walk.nodes(facts.module):
            if isinstance(node, cst.Call) and exprs.method_name(node) == "apply" and node.args:
                applied = node.args[0].value
                if isinstance(applied, cst.Call) and applied.args:  # partial(fn, ...)
                    applied = applied.args[0].value
                name = dotted_name(applied) or ""
                if name.rsplit(".", 1)[-1] not in _defined(facts):
                    out.update(facts.classes)
            elif isinstance(node, cst.Call) and facts.instances and _unknown_callee(facts, node):
                for arg in node.args:
                    cls = facts.instances.get(dotted_name(arg.value) or "")
                    if cls is not None:
                        out.add(cls)
        return out


def _may_reach(site, group: Set[str]) -> bool:
    """Whether a write the construction does not run may reach a parameter of the classes in
    `group`: a write through `self` in a method of a class outside it cannot (another class's
    `self.weight` is not this one's), any other write may."""
    scope = site.scope
    if scope is None or scope.cls is None or scope.node is None:
        return True
    params = scope.node.params.params
    me = params[0].name.value if params else None
    return site.target_name.split(".", 1)[0] != me or scope.cls.name in group


def _calls_with(body: cst.CSTNode, me: str) -> Iterator[cst.Call]:
    for node in walk.nodes(body, skip=(cst.ClassDef,)):
        if isinstance(node, cst.Call) and any(dotted_name(a.value) == me for a in node.args):
            yield node


def _defined(facts: FileFacts) -> Set[str]:
    found = facts.shared.get("defined names")
    if found is None:
        names = {s.name.value for s in facts.module.body if isinstance(s, (cst.FunctionDef, cst.ClassDef))}
        for info in facts.classes.values():
            names |= set(info.methods)
        found = facts.shared["defined names"] = names
    return found  # type: ignore[return-value]


def _unknown_callee(facts: FileFacts, call: cst.Call) -> bool:
    """A function of another file (imported), which may write what it is given."""
    qualname = facts.resolve(call.func)
    if qualname is None or qualname in facts.classes:
        return False  # a builtin, a function or class of the file, a method of an object
    return not qualname.startswith("torch.") or qualname.startswith("torch.nn.init.")


def _may_write(facts: FileFacts, call: cst.Call) -> bool:
    """A call handed a tensor that may give it values: any function but torch's (nn.init's
    included) and builtins that only read, or an in-place method."""
    qualname = facts.resolve(call.func)
    if qualname is not None:
        return not qualname.startswith("torch.") or qualname.startswith("torch.nn.init.")
    if isinstance(call.func, cst.Name):
        return call.func.value not in _READS
    method = exprs.method_name(call) or ""
    return method.endswith("_") and not method.startswith("_")


def _around(facts: FileFacts, cls: str) -> Set[str]:
    """`cls`, its bases and subclasses in the file, and, transitively, the classes whose code
    names any of them (that contain it, or initialise it by an `isinstance` test): code run on
    any of these may reach the parameter."""
    mentions = _mentions(facts)
    out, todo = {cls}, [cls]
    while todo:
        current = todo.pop()
        info = facts.classes.get(current)
        near = {b for b in (info.bases if info is not None else ()) if b in facts.classes}
        near |= {name for name, words in mentions.items() if current in words}  # type: ignore[union-attr]
        for name in near - out:
            out.add(name)
            todo.append(name)
    return out


def _mentions(facts: FileFacts) -> Dict[str, Set[str]]:
    """Every dotted name each class's code holds (and its bases), made once."""
    found = facts.shared.get("class mentions")
    if found is None:
        found = facts.shared["class mentions"] = {name: exprs.names_in(info.node) | set(info.bases) for name, info in facts.classes.items()}
    return found  # type: ignore[return-value]


# Bases of models built to be loaded from a checkpoint, whose library runs its own init over
# every module (transformers' PreTrainedModel and its `_init_weights`, diffusers' ModelMixin).
_LOADED_FRAMEWORKS = ("PreTrainedModel", "PretrainedModel", "ModelMixin")


def _loaded_framework(facts: FileFacts, cls: str, depth: int = 0) -> bool:
    info = facts.classes.get(cls)
    if info is None or depth > 8:
        return False
    for base in info.bases:
        if base.rsplit(".", 1)[-1].endswith(_LOADED_FRAMEWORKS) and base not in facts.classes:
            return True
        if _loaded_framework(facts, base, depth + 1):
            return True
    return False


def _loads(facts: FileFacts, cls: str) -> bool:
    """The class (or a base of the file) loads state into itself."""
    words = _mentions(facts).get(cls, set())
    if any(word.rsplit(".", 1)[-1] in _LOADS for word in words):
        return True
    info = facts.classes.get(cls)
    return info is not None and any(_loads(facts, base) for base in info.bases if base in facts.classes and base != cls)


def _inherits_unknown(facts: FileFacts, cls: str, depth: int = 0) -> bool:
    """`__init__` calls a method of its own that no class of the file defines (one of a base of
    another file: `self.post_init()`, `self.init_weights()`)."""
    info = facts.classes.get(cls)
    if info is None or depth > 8:
        return False
    init = info.methods.get("__init__")
    if init is not None and init.params.params:
        me = init.params.params[0].name.value
        for node in walk.nodes(init.body, skip=(cst.FunctionDef, cst.ClassDef)):
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and dotted_name(node.func.value) == me:
                method = node.func.attr.value
                if method not in _MODULE_METHODS and method != "__init__" and method not in _defined(facts):
                    return True
    return any(_inherits_unknown(facts, base, depth + 1) for base in info.bases if base in facts.classes)


def _named_through(facts: FileFacts, site) -> Set[str]:
    """Attributes a write reaches through a local name: `for w in [self.w1, self.w2]: init(w)`,
    `w = self.weight; w.uniform_()`."""
    root = site.target_name.split(".", 1)[0].split("[", 1)[0]
    out: Set[str] = set()
    for loop in site.loops:
        if root in loop.names:
            out |= {name.rsplit(".", 1)[-1] for name in exprs.names_in(loop.node.iter)}
    for bound in facts.bound(root, site.scope):
        out |= {name.rsplit(".", 1)[-1] for name in exprs.names_in(bound)}
    return out


def _loop_writes(facts: FileFacts, use: Use, start: cst.CSTNode, ran: Set[int]) -> bool:
    """`for p in [self.q, self.k]: init.normal_(p)`: the loop's body writes what it walks."""
    child = start
    for ancestor in use.ancestors[use.ancestors.index(start) + 1:]:
        if isinstance(ancestor, cst.For) and child is ancestor.iter:
            names = exprs.names_in(ancestor.target)
            for node in walk.nodes(ancestor.body, skip=(cst.FunctionDef, cst.ClassDef)):
                if id(node) in ran:
                    continue
                if isinstance(node, cst.Call) and _may_write(facts, node) and any(exprs.names_in(a.value) & names for a in node.args):
                    return True
                if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and (dotted_name(node.func.value) or "").split(".", 1)[0] in names:
                    method = node.func.attr.value
                    if method.endswith("_") and not method.startswith("_"):
                        return True
            return False
        if not isinstance(ancestor, (cst.Element, cst.List, cst.Tuple)):
            return False
        child = ancestor
    return False


def _written(facts: FileFacts, use: Use, ran: Set[int]) -> bool:
    """`glorot(self.weight)`, `self.weight.data.index_fill_(...)`, `self.weight[0] = ...`: a
    write the collector does not read, or a function that may write."""
    child: cst.CSTNode = use.node
    for ancestor in use.ancestors:
        if isinstance(ancestor, cst.Attribute) and ancestor.value is child:
            if ancestor.attr.value.endswith("_") and not ancestor.attr.value.startswith("_"):
                call = use.ancestors[use.ancestors.index(ancestor) + 1] if use.ancestors.index(ancestor) + 1 < len(use.ancestors) else None
                return id(call) not in ran  # an in-place method the model did not run
            if ancestor.attr.value not in ("data", "detach"):
                return False
            child = ancestor
        elif isinstance(ancestor, cst.Call) and child is ancestor.func:
            child = ancestor  # `.detach()`
        elif isinstance(ancestor, cst.Arg):
            call = next((a for a in use.ancestors if isinstance(a, cst.Call)), None)
            return call is not None and id(call) not in ran and _may_write(facts, call)
        elif isinstance(ancestor, (cst.Element, cst.List, cst.Tuple)):
            return _loop_writes(facts, use, ancestor, ran)
        elif isinstance(ancestor, cst.Subscript) and ancestor.value is child:
            index = use.ancestors.index(ancestor)
            after = use.ancestors[index + 1] if index + 1 < len(use.ancestors) else None
            return isinstance(after, cst.AssignTarget) or (isinstance(after, cst.AugAssign) and after.target is ancestor)
        else:
            return False
    return False
