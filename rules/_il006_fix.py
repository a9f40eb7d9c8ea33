"""IL006's fix: wrap the plain container in `nn.ModuleList` / `nn.ModuleDict` (or the Parameter
versions), when every use of the attribute is one the wrapper serves alike.

A `ModuleList` iterates, indexes, slices, `len()`s, appends and extends like a list; it is not a
list: `+`, `==`, `isinstance(x, list)`, list methods beyond those, or code elsewhere given the
object may behave differently. So the fix is offered only when every use of the attribute in the
file is one of: the assignment itself, adding modules to it in `__init__` (or a helper `__init__`
calls), iterating it (`for`, a comprehension, `enumerate`/`zip`/`reversed`/`list`), indexing it,
`len()`, unpacking it (`*self.x`), or testing it for truth. Positions and edits are read from the
whole file (`_whole`): offsets into the source the engine linted.
"""

from __future__ import annotations

from typing import Optional, Set, Tuple

import libcst as cst

from initlint import exprs, walk
from initlint.diagnostic import Applicability, Edit, Fix
from initlint.facts import FileFacts
from initlint.imports import dotted_name
from initlint.model.tree import PARAM, TreeBuilder, is_dict
from initlint.rules._attributes import Use, related_classes, uses_of
from initlint.rules._il006 import Candidate, iterated
from initlint.rules._kinds import describe, is_module

# Attributes every nn.Module has (torch 2.x, `dir(nn.Module)` and those Module.__init__ sets): an
# attribute of that name found through the class is not the one stored in `_modules`, and
# ModuleDict refuses such keys.
MODULE_ATTRIBUTES = frozenset("""
T_destination _apply _backward_hooks _backward_pre_hooks _buffers _call_impl _compiled_call_impl _forward_hooks
_forward_hooks_always_called _forward_hooks_with_kwargs _forward_pre_hooks _forward_pre_hooks_with_kwargs
_get_backward_hooks _get_backward_pre_hooks _get_name _is_full_backward_hook _load_from_state_dict
_load_state_dict_post_hooks _load_state_dict_pre_hooks _maybe_warn_non_full_backward_hook _modules _named_members
_non_persistent_buffers_set _parameters _register_load_state_dict_pre_hook _register_state_dict_hook
_replicate_for_data_parallel _save_to_state_dict _slow_forward _state_dict_hooks _state_dict_pre_hooks _version
_wrapped_call_impl add_module apply bfloat16 buffers call_super_init children compile cpu cuda double dump_patches eval
extra_repr float forward get_buffer get_extra_state get_parameter get_submodule half ipu load_state_dict modules mtia
named_buffers named_children named_modules named_parameters parameters register_backward_hook register_buffer
register_forward_hook register_forward_pre_hook register_full_backward_hook register_full_backward_pre_hook
register_load_state_dict_post_hook register_load_state_dict_pre_hook register_module register_parameter
register_state_dict_post_hook register_state_dict_pre_hook requires_grad_ set_extra_state set_submodule share_memory
state_dict to to_empty train training type xpu zero_grad
""".split())
DICT_ATTRIBUTES = MODULE_ATTRIBUTES | {"clear", "items", "keys", "pop", "update", "values"}
_ADDS = frozenset({"append", "extend", "insert"})
_DICT_READS = frozenset({"items", "keys", "values"})


def fix_for(facts: FileFacts, builder: TreeBuilder, candidate: Candidate) -> Tuple[Optional[Fix], Optional[str]]:
    """The fix for one finding, or (None, why not)."""
    node, value = candidate.node, candidate.node.value
    if any(child.shared_at is not None for child in node.children):
        return None, "it repeats one object (IL007): build a new module for each position first"
    dict_like = is_dict(value)
    if dict_like:
        why = _dict_keys(value)
        if why is not None:
            return None, why
    params = all(child.kind == PARAM for child in node.children)
    if not params:
        for i, child in enumerate(node.children):
            if not is_module(child):
                items = candidate.items
                what = f"`{_clip(exprs.code(items[i].value))}`" if i < len(items) else describe(child)
                return None, f"it holds {what}, which is not known to be a module"
    wrapper = ("Parameter" if params else "Module") + ("Dict" if dict_like else "List")
    spelling = _spelling(facts, wrapper)
    if spelling is None:
        return None, f"torch.nn is not imported under a name to write nn.{wrapper} with"
    if candidate.attr in MODULE_ATTRIBUTES or _defined_by_class(facts, candidate.cls, candidate.attr):
        return None, f"nn.Module already has an attribute `{candidate.attr}`"
    why = _Uses(facts, builder, candidate, dict_like).blocker()
    if why is not None:
        return None, why
    span = _span(facts, value)
    if span is None:
        return None, "its value's brackets could not be placed; wrap it by hand"
    start, end = span
    text = facts.source[start:end]
    if isinstance(value, (cst.List, cst.Dict)) and not value.elements:
        text = ""  # `nn.ModuleList()` rather than `nn.ModuleList([])`
    elif isinstance(value, cst.Tuple) and not value.lpar:
        text = f"({text})"  # `self.x = a, b`: one argument, the tuple
    title = f"Wrap it in nn.{wrapper}"
    return Fix(title=title, edits=(Edit(start, end, f"{spelling}({text})"),), applicability=Applicability.SAFE), None


def _span(facts: FileFacts, value: cst.BaseExpression) -> Optional[Tuple[int, int]]:
    """The value's offsets in the source, its own parentheses included (libcst's positions leave
    them out: `(a, b)` must stay a tuple inside the wrapper)."""
    where = facts.range_of(value)
    start = facts.offset(where.start.line, where.start.column)
    end = facts.offset(where.end.line, where.end.column)
    source = facts.source
    for _ in range(len(getattr(value, "lpar", ()))):
        before = start - 1
        while before >= 0 and source[before] in " \t\r\n":
            before -= 1
        after = end
        while after < len(source) and source[after] in " \t\r\n":
            after += 1
        if before < 0 or after >= len(source) or source[before] != "(" or source[after] != ")":
            return None
        start, end = before, after + 1
    return start, end


def _dict_keys(value: cst.BaseExpression) -> Optional[str]:
    if not isinstance(value, cst.Dict):
        return "it is not a dict display with its keys written out"
    for element in value.elements:
        if not isinstance(element, cst.DictElement):
            return "it unpacks another dict into itself"
        key = exprs.literal_string(element.key)
        if key is None:
            return "its keys are not all written out as strings"
        if not key or "." in key or key in DICT_ATTRIBUTES:
            return f"nn.ModuleDict does not take the key {key!r}"
    return None


def _spelling(facts: FileFacts, wrapper: str) -> Optional[str]:
    """How the file can name torch.nn's `wrapper`: `nn.ModuleList`, `ModuleList`, `torch.nn.ModuleList`."""
    names = facts.imports.names
    for local, qualified in names.items():
        if facts.imports.canonical(qualified) == f"torch.nn.{wrapper}":
            return local
    for local, qualified in names.items():
        if qualified == "torch.nn":
            return f"{local}.{wrapper}"
    if any(star in ("torch.nn", "torch.nn.modules") for star in facts.imports.stars):
        return wrapper
    if names.get("torch") == "torch":
        return f"torch.nn.{wrapper}"
    return None


def _defined_by_class(facts: FileFacts, cls: str, attr: str, depth: int = 0) -> bool:
    """A method, property or class attribute of that name (found before the instance's `_modules`)."""
    info = facts.classes.get(cls)
    if info is None or depth > 8:
        return False
    if attr in info.methods:
        return True
    body = info.node.body.body if isinstance(info.node.body, cst.IndentedBlock) else ()
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign)):
                    targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                    if any(isinstance(t, cst.Name) and t.value == attr for t in targets):
                        return True
    return any(_defined_by_class(facts, base, attr, depth + 1) for base in info.bases)


class _Uses:
    """Every use of the attribute in the file, against what a ModuleList serves alike."""

    def __init__(self, facts: FileFacts, builder: TreeBuilder, candidate: Candidate, dict_like: bool) -> None:
        self.facts, self.candidate, self.dict_like = facts, candidate, dict_like
        self.related = related_classes(facts, candidate.cls)
        init = builder.method(candidate.cls, "__init__")
        self.construction: Set[str] = {"__init__"} | (_called(init[1]) if init is not None else set())

    def blocker(self) -> Optional[str]:
        attr = self.candidate.attr
        uses = uses_of(self.facts, {attr})
        if attr in uses.by_string:
            return f"the file reads `{attr}` by name (getattr/setattr)"
        for use in uses.of(attr):
            why = self._use(use)
            if why is not None:
                return f"line {self.facts.range_of(use.node).start.line} {why}"
        if isinstance(self.candidate.node.value, cst.Name):
            return self._local_after(self.candidate.node.value.value)
        return None

    def _use(self, use: Use) -> Optional[str]:
        if use.foreign(self.related):
            return None  # another class's own attribute of the same name
        if use.owner is None:
            return f"uses {exprs.code(use.node)}"
        parent = use.parent
        if isinstance(parent, (cst.Assign, cst.AnnAssign)) and use.node is not getattr(parent, "value", None):
            return None if parent is _small_of(self.candidate) else "assigns it again"
        if isinstance(parent, cst.Assign) and all(isinstance(t.target, (cst.Tuple, cst.List)) for t in parent.targets):
            return None  # `a, b = self.pair`: unpacked
        if isinstance(parent, cst.AssignTarget):
            statement = use.ancestors[1] if len(use.ancestors) > 1 else None
            return None if statement is _small_of(self.candidate) else "assigns it again"
        if isinstance(parent, cst.AugAssign) and use.node is parent.target:
            return None if self._constructing(use) and isinstance(parent.operator, cst.AddAssign) else "changes it as a list"
        if isinstance(parent, cst.Attribute) and parent.value is use.node:
            return self._method(use, parent)
        if isinstance(parent, cst.Subscript) and parent.value is use.node:
            return self._subscript(use, parent)
        return None if self._reads_items(use.node, use.ancestors) else _how_used(use)

    def _method(self, use: Use, attribute: cst.Attribute) -> Optional[str]:
        name = attribute.attr.value
        called = len(use.ancestors) > 1 and isinstance(use.ancestors[1], cst.Call) and use.ancestors[1].func is attribute
        if called and name in _ADDS:
            return None if self._constructing(use) else f"adds to it with .{name}() after __init__"
        if called and self.dict_like and name in _DICT_READS:
            return None if self._reads_items(use.ancestors[1], use.ancestors[2:]) else _how_used(use)
        return f"calls .{name} on it"

    def _subscript(self, use: Use, subscript: cst.Subscript) -> Optional[str]:
        rest = use.ancestors[1:]
        if rest and (isinstance(rest[0], (cst.AssignTarget, cst.Del)) or (isinstance(rest[0], cst.AugAssign) and rest[0].target is subscript)):
            return "changes an item of it"
        if any(isinstance(s.slice, cst.Slice) for s in subscript.slice):
            return None if self._reads_items(subscript, rest) else "slices it"
        return None  # one item: the module itself

    def _reads_items(self, node: cst.CSTNode, ancestors) -> bool:
        """Iterated, `len()`'d, unpacked with `*`, or tested for truth."""
        if iterated(node, tuple(ancestors)) is not None:
            return True
        parent = ancestors[0] if ancestors else None
        if isinstance(parent, cst.Arg) and parent.star == "*":
            return True
        if isinstance(parent, cst.StarredElement):
            return True
        if isinstance(parent, cst.Arg) and len(ancestors) > 1 and isinstance(ancestors[1], cst.Call) and dotted_name(ancestors[1].func) == "len":
            return True
        if isinstance(parent, (cst.If, cst.While, cst.IfExp)) and parent.test is node:
            return True
        if isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Not):
            return True
        if self.dict_like and isinstance(parent, cst.ComparisonTarget) and isinstance(parent.operator, (cst.In, cst.NotIn)):
            return True
        return False

    def _constructing(self, use: Use) -> bool:
        return use.cls in self.related and use.function is not None and use.function.name.value in self.construction

    def _local_after(self, name: str) -> Optional[str]:
        """The local list, used again after it is assigned to the attribute (it would no longer be the same list)."""
        where = self.facts.range_of(self.candidate.node.where).end.line
        fn = _function_of(self.facts, self.candidate.cls, self.candidate.node.where)
        if fn is None:
            return "the list is built outside the class's methods"
        for node in walk.nodes(fn.body, skip=(cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            if isinstance(node, cst.Name) and node.value == name and self.facts.range_of(node).start.line > where:
                return f"the local list `{name}` is used again at line {self.facts.range_of(node).start.line}"
        return None


def _small_of(candidate: Candidate) -> Optional[cst.CSTNode]:
    for small in getattr(candidate.node.where, "body", ()):
        if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is candidate.node.value:
            return small
    return None


def _clip(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def _how_used(use: Use) -> str:
    """What a use the wrapper would not serve alike does with the attribute, in words."""
    parent = use.parent
    grand = use.ancestors[1] if len(use.ancestors) > 1 else None
    if isinstance(parent, cst.BinaryOperation):
        return f"computes `{_clip(exprs.code(parent))}` with it"
    if isinstance(parent, (cst.Comparison, cst.ComparisonTarget)):
        return "compares it"
    if isinstance(parent, cst.Arg) and isinstance(grand, cst.Call):
        return f"passes it to {_clip(exprs.code(grand.func))}()"
    if isinstance(parent, (cst.Return, cst.Yield)):
        return "returns it"
    if isinstance(parent, (cst.Assign, cst.AnnAssign, cst.NamedExpr)):
        return "gives it another name"
    if isinstance(parent, (cst.Element, cst.DictElement)):
        return "puts it in another container"
    return f"uses it in `{_clip(exprs.code(parent)) if parent is not None else attr_text(use)}`"


def attr_text(use: Use) -> str:
    return exprs.code(use.node)


def _called(fn: cst.FunctionDef) -> Set[str]:
    """Names of the methods a function calls on its first parameter."""
    me = fn.params.params[0].name.value if fn.params.params else "self"
    out: Set[str] = set()
    for node in walk.nodes(fn.body, skip=(cst.FunctionDef, cst.ClassDef, cst.Lambda)):
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and dotted_name(node.func.value) == me:
            out.add(node.func.attr.value)
    return out


def _function_of(facts: FileFacts, cls: str, stmt: Optional[cst.CSTNode]) -> Optional[cst.FunctionDef]:
    info = facts.classes.get(cls)
    if info is None or stmt is None:
        return None
    for fn in info.methods.values():
        for node in walk.nodes(fn.body, skip=(cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            if node is stmt:
                return fn
    return None
