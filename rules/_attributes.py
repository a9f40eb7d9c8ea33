"""Where a file uses an attribute, and how: the context each `obj.name` sits in.

IL006 and IL009 ask of an attribute (`self.blocks`, `self.alpha`): is it handed to something
that registers it (`nn.ModuleList(self.blocks)`, `nn.Parameter(self.alpha)`, an optimizer), and
is every use one a `nn.ModuleList` serves alike (iterated, indexed, `len()`'d)? One walk of the
module records every attribute of the names asked for with its ancestors (innermost first) and
the class and function it is in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

import libcst as cst

from initlint import walk
from initlint.facts import FileFacts
from initlint.imports import dotted_name

# Builtins that read a container's items and keep no reference to the container itself.
ITERATING_CALLS = frozenset({"len", "enumerate", "zip", "reversed", "list", "tuple", "iter", "any", "all", "sum", "map", "filter", "sorted", "min", "max", "set"})
# Calls that read an attribute by its name in a string.
_BY_NAME = frozenset({"getattr", "setattr", "hasattr", "delattr"})
_REGISTER = frozenset({"register_parameter", "register_buffer", "register_module", "add_module"})


@dataclass(frozen=True, eq=False)
class Use:
    """One `obj.name` in the file."""

    node: cst.Attribute
    ancestors: Tuple[cst.CSTNode, ...]  # innermost first, up to the module
    cls: Optional[str]  # the class whose method it is in
    function: Optional[cst.FunctionDef]  # the innermost function it is in

    @property
    def owner(self) -> Optional[str]:
        """`self` for `self.blocks`; None when the object is not a plain name."""
        return self.node.value.value if isinstance(self.node.value, cst.Name) else None

    @property
    def parent(self) -> Optional[cst.CSTNode]:
        return self.ancestors[0] if self.ancestors else None

    def foreign(self, classes: Set[Optional[str]]) -> bool:
        """`self.name` in a method of a class outside `classes`: that class's own attribute of
        the same name, not the one asked about (`related_classes` gives the classes that share it)."""
        return self.owner is not None and self.owner == self.me() and self.cls not in classes

    def me(self) -> Optional[str]:
        """The name of the instance in the method the use is in (its first parameter)."""
        if self.function is None or self.cls is None or not self.function.params.params:
            return None
        return self.function.params.params[0].name.value


class Uses:
    """Every use of the attributes named, in one module (see the module docstring)."""

    def __init__(self, module: cst.Module, names: Iterable[str]) -> None:
        self.names: FrozenSet[str] = frozenset(names)
        self.by_name: Dict[str, List[Use]] = {name: [] for name in self.names}
        # names given as strings: `getattr(obj, "name")` and friends, `register_parameter("name", ...)`
        self.by_string: Set[str] = set()
        self._walk(module, [], None, None)

    def of(self, name: str) -> List[Use]:
        return self.by_name.get(name, [])

    def _walk(self, node: cst.CSTNode, ancestors: List[cst.CSTNode], cls: Optional[str], function: Optional[cst.FunctionDef]) -> None:
        if isinstance(node, cst.ClassDef):
            cls, function = node.name.value, None
        elif isinstance(node, cst.FunctionDef):
            function = node
        elif isinstance(node, cst.Attribute) and node.attr.value in self.names:
            self.by_name[node.attr.value].append(Use(node, tuple(reversed(ancestors)), cls, function))
        elif isinstance(node, cst.Call) and node.args:
            from initlint import exprs

            name = dotted_name(node.func) or ""
            if name in _BY_NAME and len(node.args) >= 2:
                literal = exprs.literal_string(node.args[1].value)
            elif exprs.method_name(node) in _REGISTER:
                literal = exprs.literal_string(node.args[0].value)
            else:
                literal = None
            if literal is not None:
                self.by_string.add(literal)
        ancestors.append(node)
        for child in walk.significant(node):
            self._walk(child, ancestors, cls, function)
        ancestors.pop()


def uses_of(facts: FileFacts, names: Iterable[str]) -> Uses:
    """The uses of `names` in the file (one walk per set of names asked, remembered)."""
    key = ("uses", frozenset(names))
    found = facts.shared.get(key)  # type: ignore[call-overload]
    if found is None:
        found = facts.shared[key] = Uses(facts.module, key[1])  # type: ignore[index]
    return found  # type: ignore[return-value]


def statement_of(use: Use) -> Optional[cst.CSTNode]:
    """The small statement (or compound statement header) the use is in."""
    for node in use.ancestors:
        if isinstance(node, (cst.BaseSmallStatement, cst.For, cst.While, cst.If, cst.With)):
            return node
    return None


def in_function(use: Use, names: Set[str]) -> bool:
    """Whether the use is in a method or function by one of these names."""
    return use.function is not None and use.function.name.value in names


def enclosing(use: Use, kind: type) -> Optional[cst.CSTNode]:
    """The innermost ancestor of a type."""
    for node in use.ancestors:
        if isinstance(node, kind):
            return node
    return None


def related_classes(facts: FileFacts, cls: str) -> Set[Optional[str]]:
    """The class, its bases in the file, and its subclasses in the file: the classes whose
    `self.name` may be the same attribute."""
    out: Set[Optional[str]] = set(facts.ancestry(cls))
    changed = True
    while changed:
        changed = False
        for name, info in facts.classes.items():
            if name not in out and any(base in out for base in info.bases):
                out.add(name)
                changed = True
    return out
