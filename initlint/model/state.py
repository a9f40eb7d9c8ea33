"""What each parameter of a model holds when training starts.

A model's parameters start with their layer's default (a Linear's weight and bias random, a
norm's weight 1 and bias 0, an `nn.Parameter` what it is created from); then the writes the file
makes run in the order construction runs them: `__init__` statement by statement, the helpers it
calls and the `.apply(fn)` it runs read in place, a base's `__init__` at `super().__init__()`; and,
for a model the file builds (`net = Net()`), the statements that follow. An `if` whose test the
construction decides (a parameter's default or a literal argument) runs one branch; any other
runs both, and a parameter may then hold either value (`State` keeps the set).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Set, Tuple

import libcst as cst

from initlint import exprs, targets, torch_api
from initlint.facts import FileFacts, Site
from initlint.imports import dotted_name
from initlint.model.tree import CONTAINER, EMBEDDING, LAYER, LOCAL, NORM, PARAM, Node, TreeBuilder

# What a parameter holds.
RANDOM = "random"  # drawn at random (a layer's default, randn, an nn.init random init)
ZERO = "zero"
CONST = "const"  # one non-zero value everywhere
ROWS = "rows"  # one row repeated: its units equal, its columns not
EMPTY = "empty"  # torch.empty / torch.Tensor(n, m): whatever memory held
OTHER = "other"  # values the file does not show (a copy, a load, an unread expression)
NONE = "none"  # no such parameter (a layer built with bias=False)

_MAX_DEPTH = 4  # helpers within helpers followed this deep
# Classes of the file used as sub-modules are expanded in place this many levels down (deeper
# ones stay opaque: the model makes no claim through them). Each class's model is built with
# this budget afresh, so that a chain of n classes each holding the next costs n * depth, not n^2.
_MAX_LOCAL_DEPTH = 3


@dataclass(frozen=True, eq=False)
class Value:
    """One thing a parameter may hold, and the write that put it there (None: the default)."""

    kind: str
    site: Optional[Site] = None

    @property
    def equal_units(self) -> bool:
        """Every unit (row) alike: a constant, zero, or one row repeated."""
        return self.kind in (ZERO, CONST, ROWS)

    @property
    def equal_everywhere(self) -> bool:
        """Every entry alike (so also every column): a constant or zero."""
        return self.kind in (ZERO, CONST)


@dataclass(eq=False)
class Slot:
    """One parameter of a model: `fc1.weight`, `gate.0.bias`, `w` (an nn.Parameter)."""

    path: str  # the node's path in the model (`block.fc1`)
    attr: str  # "weight", "bias", or "" for an nn.Parameter
    node: Node
    values: Set[Value] = field(default_factory=set)

    @property
    def key(self) -> str:
        return f"{self.path}.{self.attr}" if self.attr else self.path


@dataclass(eq=False)
class Model:
    """A class's model (or an instance's): every node by its path in the whole tree (the trees of
    the file's classes used as sub-modules expanded in place), and every parameter's state."""

    cls: str
    nodes: Dict[str, Node] = field(default_factory=dict)
    locals: Dict[str, str] = field(default_factory=dict)  # path of a sub-model -> its class
    slots: Dict[str, Slot] = field(default_factory=dict)
    partial: bool = False  # the tree may miss modules (see Tree.partial)
    instance: Optional[str] = None  # the variable, for a model the file builds
    # Every write run on it, in order: the slots it reached, whether it was made for each module
    # or parameter of a walk (a loop over modules()/parameters(), an .apply function), and the
    # call of a helper that took the module it wrote (`zero_module(conv)`: where to point), if any.
    writes: List[Tuple[Site, Tuple[str, ...], bool, Optional[cst.Call]]] = field(default_factory=list)
    # While `__init__` runs: the statements that assign modules (id -> paths), and the paths
    # assigned so far (None: every module exists). A write reaches only modules that exist.
    pending: Dict[int, List[str]] = field(default_factory=dict)
    created: Optional[Set[str]] = None
    wrapped: Dict[int, str] = field(default_factory=dict)  # a helper's call that took a module -> its path
    # A model the code only compares (`.eval()`, `allclose`, `assert_close`) and never trains:
    # a reference built with constants on purpose (tests, conversion scripts).
    reference: bool = False
    frozen: Set[str] = field(default_factory=set)  # keys of slots made untrainable (`requires_grad_(False)`)

    def exists(self, path: str) -> bool:
        return self.created is None or _exists(self.created, path)

    def copy(self, instance: Optional[str] = None) -> "Model":
        out = Model(self.cls, dict(self.nodes), dict(self.locals), partial=self.partial, instance=instance)
        out.slots = {k: Slot(s.path, s.attr, s.node, set(s.values)) for k, s in self.slots.items()}
        out.writes = list(self.writes)
        out.frozen = set(self.frozen)
        return out

    def slots_of(self, path: str) -> List[Slot]:
        return [s for s in self.slots.values() if s.path == path]


def initial(node: Node, facts: FileFacts) -> Dict[str, Set[Value]]:
    """A node's parameters as its constructor leaves them."""
    if node.kind == LAYER:
        bias = {RANDOM} if node.bias else ({NONE} if node.bias is False else {OTHER})
        return {"weight": {Value(RANDOM)}, "bias": {Value(k) for k in bias}}
    if node.kind == NORM:
        if not node.affine:
            return {}
        return {"weight": {Value(CONST)}, "bias": {Value(ZERO)}}
    if node.kind == EMBEDDING:
        return {"weight": {Value(RANDOM)}}
    if node.kind == PARAM:
        return {"": {created(node.value, facts)}}
    return {}


# Constructors of a tensor whose values are whatever memory held.
EMPTY_CONSTRUCTORS = frozenset({
    "torch.empty", "torch.empty_like", "torch.empty_strided", "torch.Tensor", "torch.FloatTensor",
    "torch.DoubleTensor", "torch.HalfTensor", "torch.BFloat16Tensor", "torch.cuda.FloatTensor",
    "torch.cuda.DoubleTensor", "torch.cuda.HalfTensor",
})
# Methods that return their receiver's values unchanged (`torch.empty(n).to(device)`).
_SAME_VALUES = frozenset({"to", "float", "double", "half", "bfloat16", "cuda", "cpu", "contiguous", "requires_grad_", "type"})


def empty_call(value: Optional[cst.BaseExpression], facts: FileFacts) -> Optional[cst.Call]:
    """The call that makes `value` a tensor of uninitialised memory (`torch.empty(n, m)`,
    `torch.Tensor(n, m)`, `x.new_empty(...)`, also behind `.to(device)`), else None: an empty
    tensor handed to anything else (`xavier_uniform_(torch.empty(n, m))`, `.normal_()`) has values."""
    node = value
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in _SAME_VALUES:
        node = node.func.value
    if not isinstance(node, cst.Call):
        return None
    qualname = facts.resolve(node.func)
    if qualname in EMPTY_CONSTRUCTORS or (qualname is None and exprs.method_name(node) == "new_empty"):
        if qualname is not None and qualname.endswith("Tensor") and (not node.args or not _sizes(node)):
            return None  # torch.Tensor(data): a tensor of the values given; torch.Tensor(): no values
        return node
    return None


def created(value: Optional[cst.BaseExpression], facts: FileFacts) -> Value:
    """What a tensor expression (an nn.Parameter's data) holds."""
    if value is None:
        return Value(OTHER)  # an empty tensor: no values to judge
    empty = empty_call(value, facts)
    if empty is not None:
        return Value(EMPTY)
    calls = list(exprs.calls_in(value))
    for call in calls:
        qualname = facts.resolve(call.func)
        method = exprs.method_name(call)
        if qualname in EMPTY_CONSTRUCTORS or method == "new_empty":
            return Value(OTHER)  # handed to code that gives it values (`xavier_uniform_(torch.empty(...))`)
        if qualname in torch_api.RANDOM_CONSTRUCTORS or method in torch_api.RANDOM_METHODS:
            return Value(RANDOM)
        if qualname in torch_api.CONSTANT_CONSTRUCTORS:
            fixed = torch_api.CONSTANT_CONSTRUCTORS[qualname]
            return Value(ZERO if fixed == 0.0 else CONST)
    return Value(OTHER)


_KEEPS_DIM = (1.0, -1.0)  # repeat(1, ...) / expand(-1, ...) leave dimension 0 as it was


def repeats_rows(site: Site) -> bool:
    """Whether a repetition can copy along dimension 0 (the unit axis of a layer's weight):
    `v.repeat(n, 1)` does, `v.repeat(1, n)` copies a column and leaves the rows apart."""
    if site.repeat_method in ("expand_as", "broadcast_to", "torch.broadcast_to", "repeat_interleave"):
        return True
    args = [a for a in site.repeat_args if a.keyword is None]
    if not args:
        return True
    first = args[0].value
    if isinstance(first, cst.Tuple) and first.elements:  # repeat((2, 1))
        first = first.elements[0].value
    return exprs.number(first) not in _KEEPS_DIM


def _sizes(call: cst.Call) -> bool:
    """`torch.Tensor(3, 4)` (sizes) rather than `torch.Tensor([1.0, 2.0])` (data)."""
    return all(isinstance(a.value, (cst.Integer, cst.Name, cst.Attribute, cst.BinaryOperation)) for a in call.args)


def site_value(site: Site) -> Value:
    """What a write puts in its target."""
    if site.kind == "constant":
        if site.value == 0.0:
            return Value(ZERO, site)
        return Value(CONST, site)
    if site.kind == "repeat":
        return Value(ROWS, site) if repeats_rows(site) else Value(OTHER, site)
    if site.kind == "random":
        return Value(RANDOM, site)
    return Value(OTHER, site)


# ---- binding the names a write reaches its target through ------------------------------------
@dataclass(frozen=True, eq=False)
class Binding:
    """What a name stands for in a function being run: (part of) a model (`self`, `net`, `self.fc`
    handed to a helper), or each module of it (an `.apply` function's argument)."""

    kind: str  # "model" or "each-module"
    model: Model
    prefix: str = ""  # the part of the model the name is ("" for all of it)


class Runner:
    """Runs the writes of construction (and of code after it) over a model's slots."""

    def __init__(self, facts: FileFacts, trees: TreeBuilder) -> None:
        self.facts, self.trees = facts, trees
        self._models: Dict[Tuple[str, int], Model] = {}
        self._functions = {s.name.value: s for s in facts.module.body if isinstance(s, cst.FunctionDef)}
        self.reached: Set[int] = set()  # ids of the sites some construction ran
        # Called with each small statement of code being run, before its writes (module-level
        # code binds the models it builds this way: model.__init__._Builds).
        self.on_small: Optional[Callable[[cst.CSTNode, Dict[str, "Binding"]], None]] = None
        self.each_vars: Set[str] = set()  # names a loop over modules()/parameters() binds
        self.via: Optional[cst.Call] = None  # the helper call that took the module being written
        self.journal: Optional[List[Tuple[Slot, Set[Value]]]] = None  # writes of the branch being run

    # ---- models -------------------------------------------------------------------------------
    def model(self, cls: str, args: Optional[Dict[str, cst.BaseExpression]] = None, depth: int = 0) -> Model:
        """The model of class `cls` after its `__init__` runs (with its default arguments, or
        `args`), its sub-models expanded `_MAX_LOCAL_DEPTH - depth` levels down."""
        key = (cls, depth) if not args else None
        if key is not None and key in self._models:
            return self._models[key].copy()
        model = Model(cls)
        if key is not None:
            self._models[key] = model  # (a guard against a class that contains itself)
        tree = self.trees.tree(cls)
        model.partial = tree.partial
        for root in tree.roots.values():
            self._add(model, root, root.path, depth)
            for node in root.walk():
                if node.where is not None:
                    model.pending.setdefault(id(node.where), []).append(root.path if node is root else node.path)
                for wrapper in node.wrappers:
                    model.wrapped[id(wrapper)] = node.path
        init = self.trees.method(cls, "__init__")
        if init is not None:
            env = _defaults(init[1], args or {})
            me = init[1].params.params[0].name.value if init[1].params.params else "self"
            model.created = set()
            self.run_body(init[1].body, {me: Binding("model", model)}, env, init[0], 0)
        model.created, model.pending = None, {}
        if key is not None:
            self._models[key] = model
            return model.copy()
        return model

    def _add(self, model: Model, node: Node, path: str, depth: int) -> None:
        model.nodes[path] = node
        if node.kind == LOCAL and node.qualname and depth < _MAX_LOCAL_DEPTH and not node.pretrained:
            model.locals[path] = node.qualname
            inner = self.model(node.qualname, None, depth + 1)
            model.partial = model.partial or inner.partial
            for sub_path, sub in inner.nodes.items():
                model.nodes[f"{path}.{sub_path}"] = sub
            for slot in inner.slots.values():
                full = f"{path}.{slot.path}"
                model.slots[f"{full}.{slot.attr}" if slot.attr else full] = Slot(full, slot.attr, slot.node, set(slot.values))
            model.writes.extend((site, tuple(f"{path}.{key}" for key in keys), walked, via) for site, keys, walked, via in inner.writes)
            model.frozen.update(f"{path}.{key}" for key in inner.frozen)
            return
        for attr, values in initial(node, self.facts).items():
            slot = Slot(path, attr, node, set(values))
            model.slots[slot.key] = slot
        for child in node.children:
            suffix = child.path.rsplit(".", 1)[-1]
            self._add(model, child, f"{path}.{suffix}" if path else suffix, depth)

    # ---- running code ---------------------------------------------------------------------------
    def run_body(self, body, names: Dict[str, Binding], env: Dict[str, cst.BaseExpression], cls: Optional[str], depth: int) -> None:
        """Run a function body's writes over the models its names are bound to, in order."""
        statements = body.body if isinstance(body, (cst.IndentedBlock, cst.SimpleStatementSuite)) else body
        for stmt in statements:
            self._statement(stmt, names, env, cls, depth)

    def _statement(self, stmt, names, env, cls, depth) -> None:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            return
        for binding in names.values():
            paths = binding.model.pending.get(id(stmt))
            if paths and binding.model.created is not None:
                binding.model.created.update(paths)
        if isinstance(stmt, cst.If):
            if self._per_item(stmt.test, names):
                # `if isinstance(m, nn.Linear)`: decided module by module; each write's target
                # reading (its guards) keeps the modules it admits, so the branches run in turn.
                self.run_body(stmt.body, names, env, cls, depth)
                if stmt.orelse is not None:
                    self.run_body([stmt.orelse] if isinstance(stmt.orelse, cst.If) else stmt.orelse.body, names, env, cls, depth)
                return
            decided = _decide(stmt.test, env)
            if decided is True:
                self.run_body(stmt.body, names, env, cls, depth)
                return
            branches: List[object] = []
            if decided is None:
                branches.append(stmt.body)
            orelse = stmt.orelse
            branches.append([orelse] if isinstance(orelse, cst.If) else (orelse.body if orelse is not None else []))
            self._branches(branches, names, env, cls, depth, decided is None)
            return
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                self._small(small, names, env, cls, depth)
            self._events(stmt, names, env, cls, depth)
            return
        # compound statements: their header, then their bodies in order
        self._events(stmt, names, env, cls, depth)
        items = _walk_targets(stmt) if isinstance(stmt, cst.For) else set()
        self.each_vars |= items
        inner = self._container_loop(stmt, names) if isinstance(stmt, cst.For) else None
        try:
            for body in _bodies(stmt):
                self.run_body(body, inner if inner is not None else names, env, cls, depth)
        finally:
            self.each_vars -= items

    def _container_loop(self, stmt: cst.For, names: Dict[str, "Binding"]) -> Optional[Dict[str, "Binding"]]:
        """`for layer in self.layers:` (or `enumerate(...)`, `.values()`): the variable stands for
        each module of the container, as an `.apply` function's argument does."""
        it, target = stmt.iter, stmt.target
        if isinstance(it, cst.Call) and isinstance(it.func, cst.Name) and it.func.value == "enumerate" and it.args:
            it = it.args[0].value
            if isinstance(target, cst.Tuple) and len(target.elements) == 2:
                target = target.elements[1].value
        if isinstance(it, cst.Call) and exprs.method_name(it) in ("values", "children", "modules") and not it.args:
            if exprs.method_name(it) == "values":
                it = it.func.value  # type: ignore[union-attr]
            else:
                return None  # (modules() / children() walks are read through the writes' loops)
        name = dotted_name(it)
        if name is None or not isinstance(target, cst.Name):
            return None
        bound = names.get(name.split(".", 1)[0])
        if bound is None or bound.kind != "model":
            return None
        prefix = _join(bound.prefix, _rest(name))
        node = bound.model.nodes.get(prefix) if prefix is not None else None
        if node is None or node.kind != CONTAINER:
            return None
        inner = dict(names)
        inner[target.value] = Binding("each-module", bound.model, prefix)
        return inner

    def _per_item(self, test: cst.BaseExpression, names: Dict[str, "Binding"]) -> bool:
        """A test on the module or parameter a walk is at (`isinstance(m, X)`, `"bias" in name`)."""
        mentioned = {name.split(".", 1)[0] for name in exprs.names_in(test)}
        return any(n in self.each_vars or (n in names and names[n].kind == "each-module") for n in mentioned)

    def _small(self, small, names, env, cls, depth) -> None:
        if self.on_small is not None and depth == 0:
            self.on_small(small, names)
        if isinstance(small, cst.Assign) and self._per_item(small.value, names):
            # `classname = m.__class__.__name__`: a name read from the module a walk is at
            for target in small.targets:
                self.each_vars.update(n.split(".", 1)[0] for n in exprs.names_in(target.target))

    def _branches(self, branches, names, env, cls, depth, both: bool) -> None:
        """Run the branches of an `if` the construction does not decide: each from the same state;
        afterwards a parameter one of them wrote may hold any branch's value (a journal of the
        writes, not a copy of every parameter: linear in what the branches do)."""
        if not both:
            self.run_body(branches[0], names, env, cls, depth)
            return
        outer, original = self.journal, {}  # id(slot) -> (slot, its values before the `if`)
        outcomes: List[Dict[int, Set[Value]]] = []
        # The models under construction, and the modules each branch creates: a layer made in
        # one branch only does not exist in the others, so their "before" is no value it can hold.
        building = {id(b.model): b.model for b in names.values() if b.model.created is not None}
        start = {key: set(model.created) for key, model in building.items()}
        made: List[Dict[int, Set[str]]] = []
        for branch in branches:
            self.journal = []
            self.run_body(branch, names, env, cls, depth)
            written: Dict[int, Set[Value]] = {}
            for slot, before in reversed(self.journal):  # undo, newest first
                written[id(slot)] = set(slot.values)
                original.setdefault(id(slot), (slot, before))
                slot.values = before
            outcomes.append(written)
            made.append({key: model.created - start[key] for key, model in building.items()})
            for key, model in building.items():
                model.created = set(start[key])
        self.journal = outer
        for key, model in building.items():
            model.created = start[key].union(*(branch[key] for branch in made))
        for key, (slot, before) in original.items():
            owner = next((m for m in building.values() if m.slots.get(slot.key) is slot), None)
            after = set()
            for written, new in zip(outcomes, made):
                if key in written:
                    after |= written[key]
                elif owner is None or _exists(start[id(owner)] | new[id(owner)], slot.path):
                    after |= before
            self._set(slot, after or before)

    def _set(self, slot: Slot, values: Set[Value]) -> None:
        if self.journal is not None:
            self.journal.append((slot, set(slot.values)))
        slot.values = values

    def _events(self, stmt: cst.CSTNode, names, env, cls, depth) -> None:
        """The writes and calls of one statement (or a compound statement's header), in order:
        the collector recorded them (FileFacts.events), so the code is not walked again."""
        for event in self.facts.events.get(id(stmt), ()):
            if type(event) is cst.Call:
                if depth < _MAX_DEPTH:
                    self._call(event, names, env, cls, depth)  # type: ignore[arg-type]
            else:
                self._write(event, names)  # type: ignore[arg-type]

    def _call(self, call: cst.Call, names, env, cls, depth) -> None:
        func = call.func
        method = exprs.method_name(call)
        receiver = dotted_name(func.value) if isinstance(func, cst.Attribute) else None
        bound = names.get(receiver.split(".", 1)[0]) if receiver else None
        if method == "apply" and bound is not None and bound.kind == "model" and call.args:
            prefix = _join(bound.prefix, _rest(receiver))  # `net[2].apply(f)`: one module (see _rest)
            if prefix is None:
                return
            fn, first = self._applied(call.args[0].value, cls)
            if fn is not None and first is not None:
                inner = {first: Binding("each-module", bound.model, prefix)}
                self.run_body(fn.body, inner, {}, cls, depth + 1)
            return
        if method == "__init__" and isinstance(func, cst.Attribute):
            base = self._base(func.value, cls)
            if base is not None:
                found = self.trees.method(base, "__init__")
                if found is not None:
                    me = found[1].params.params[0].name.value if found[1].params.params else "self"
                    model_name = next((n for n, b in names.items() if b.kind == "model" and not b.prefix), None)
                    if model_name is not None:
                        self.run_body(found[1].body, {me: names[model_name]}, _defaults(found[1], {}), found[0], depth + 1)
            return
        for binding in list(names.values()):
            path = binding.model.wrapped.get(id(call)) if binding.kind == "model" else None
            if path is not None and isinstance(func, cst.Name) and func.value in self._functions:
                fn = self._functions[func.value]
                if fn.params.params:  # `zero_module(nn.Conv2d(...))`: its body runs on that module
                    inner_names = {fn.params.params[0].name.value: Binding("model", binding.model, path)}
                    outer, self.via = self.via, self.via or call
                    try:
                        self.run_body(fn.body, inner_names, _defaults(fn, {}), None, depth + 1)
                    finally:
                        self.via = outer
                return
        target = self._helper(call, names, cls)
        if target is not None:
            fn, inner_names, inner_cls = target
            self.run_body(fn.body, inner_names, _defaults(fn, {}), inner_cls, depth + 1)

    def _applied(self, fn_expr: cst.BaseExpression, cls: Optional[str]) -> Tuple[Optional[cst.FunctionDef], Optional[str]]:
        """The function `.apply()` is handed, and the name its module argument has."""
        if isinstance(fn_expr, cst.Call) and fn_expr.args:  # partial(fn, ...)
            fn_expr = fn_expr.args[0].value
        fn: Optional[cst.FunctionDef] = None
        method = False
        if isinstance(fn_expr, cst.Attribute) and isinstance(fn_expr.value, cst.Name):
            found = self.trees.method(cls, fn_expr.attr.value)
            fn, method = (found[1], True) if found is not None else (None, False)
        elif isinstance(fn_expr, cst.Name):
            fn = self._functions.get(fn_expr.value)
        if fn is None:
            return None, None
        params = [p.name.value for p in fn.params.params]
        index = 1 if method and params and params[0] == "self" else 0
        return fn, params[index] if index < len(params) else None

    def _base(self, owner: cst.BaseExpression, cls: Optional[str]) -> Optional[str]:
        info = self.facts.classes.get(cls or "")
        if info is None:
            return None
        if isinstance(owner, cst.Call) and isinstance(owner.func, cst.Name) and owner.func.value == "super":
            base = info.bases[0] if info.bases else None
        else:
            base = dotted_name(owner)
        return base if base in self.facts.classes and base != cls else None

    def _helper(self, call: cst.Call, names: Dict[str, Binding], cls: Optional[str]) -> Optional[Tuple[cst.FunctionDef, Dict[str, Binding], Optional[str]]]:
        """`self.init_weights()` or `init(net)`: a helper of this file run on (part of) the model."""
        func = call.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in names:
            bound = names[func.value.value]
            if bound.kind != "model":
                return None
            owner = cls if not bound.prefix else None
            found = self.trees.method(owner or cls, func.attr.value)
            if found is None or not found[1].params.params:
                return None
            return found[1], {found[1].params.params[0].name.value: bound}, found[0]
        if isinstance(func, cst.Name) and func.value in self._functions:
            fn = self._functions[func.value]
            params = [p.name.value for p in fn.params.params]
            inner: Dict[str, Binding] = {}
            for i, arg in enumerate(call.args):
                name = dotted_name(arg.value)
                if name is None or name.split(".", 1)[0] not in names:
                    continue
                outer = names[name.split(".", 1)[0]]
                if outer.kind != "model":
                    continue
                prefix = _join(outer.prefix, _rest(name))
                if prefix is None:
                    continue
                param = arg.keyword.value if arg.keyword is not None else (params[i] if i < len(params) else None)
                if param is not None:
                    inner[param] = Binding("model", outer.model, prefix)
            if inner:
                return fn, inner, None
        return None

    # ---- one write ------------------------------------------------------------------------------
    def _write(self, site: Site, names: Dict[str, Binding]) -> None:
        model, slots, walked = self.resolve(site, names)
        if model is None or not slots:
            return
        if site.kind == "freeze":
            model.frozen.update(slot.key for slot in slots)
            return
        # A Lazy layer's parameters are made (randomly) at its first forward: a write before
        # that does not last.
        slots = [slot for slot in slots if not (slot.node.qualname or "").startswith("torch.nn.Lazy")]
        if not slots:
            return
        self.reached.add(id(site))
        value = site_value(site)
        for slot in slots:
            if slot.node.kind == PARAM and _creates(site, slot.node) and _all_empty(slot.values):
                # The statement that creates `nn.Parameter(torch.empty(...))` gives it no values
                # (the collector reads torch.empty as random, a re-init that clears a constant).
                self._set(slot, {Value(EMPTY, site)})
                continue
            self._set(slot, {value})
        model.writes.append((site, tuple(slot.key for slot in slots), walked, self.via))

    def resolve(self, site: Site, names: Dict[str, Binding]) -> Tuple[Optional[Model], List[Slot], bool]:
        """The model and the slots a write reaches, given what the names in scope stand for, and
        whether it is made for each module or parameter of a walk."""
        root, keys = _chain(site.target)
        if root is None:
            return None, [], False
        binding = names.get(root)
        loop = next((lp for lp in reversed(site.loops) if lp.item == root and lp.kind in ("parameters", "modules")), None)
        if loop is not None and loop.owner is not None:
            owner_root, owner_keys = loop.owner.split(".", 1)[0], loop.owner.split(".")[1:]
            outer = names.get(owner_root)
            if outer is None or outer.kind != "model":
                return None, [], True
            prefix = _join(outer.prefix, ".".join(owner_keys))
            if prefix is None:
                return None, [], True
            if loop.kind == "parameters":
                return outer.model, self._each_parameter(outer.model, prefix, site, loop.label, root, keys), True
            return outer.model, self._each_module(outer.model, prefix, site, root, keys), True
        if binding is None:
            return None, [], False
        if binding.kind == "each-module":
            return binding.model, self._each_module(binding.model, binding.prefix, site, root, keys), True
        found = _at(binding.model, binding.prefix, keys)
        if not found and site.kind == "freeze":
            found = _under(binding.model, binding.prefix, keys)  # `self.blur.requires_grad_(False)`: a whole module
        return binding.model, [slot for slot in found if binding.model.exists(slot.path)], False

    def _each_module(self, model: Model, prefix: str, site: Site, var: str, keys: List[str]) -> List[Slot]:
        if not keys:
            return []
        attr = keys[-1]
        wanted = targets.type_guards(self.facts, site.guards, var)
        out = []
        for path, node in model.nodes.items():
            if prefix and not (path == prefix or path.startswith(prefix + ".")):
                continue
            if not model.exists(path):
                continue
            if wanted and not any(_is_a(node, t) for t in wanted):
                continue
            inner = _at(model, path, keys) if len(keys) > 1 else [s for s in model.slots_of(path) if s.attr == attr]
            out.extend(inner)
        return out

    def _each_parameter(self, model: Model, prefix: str, site: Site, label: Optional[str], var: str, keys: List[str]) -> List[Slot]:
        if keys:
            return []
        kept = targets.name_guard(site.guards, label)
        dims = targets.dim_guard(site.guards, var)
        out = []
        for slot in model.slots.values():
            if prefix and not (slot.path == prefix or slot.path.startswith(prefix + ".")):
                continue
            if not model.exists(slot.path):
                continue
            vector = slot.attr == "bias" or slot.node.kind == NORM or (slot.node.kind == PARAM and _vector(slot.node))
            if kept == "bias" and slot.attr != "bias":
                continue
            if kept == "weight" and slot.attr == "bias":
                continue
            if kept == "norm" and slot.node.kind != NORM:
                continue
            if dims == "matrix" and vector:
                continue
            if dims == "vector" and not vector:
                continue
            out.append(slot)
        return out


def _creates(site: Site, node: Node) -> bool:
    """Whether the write is the statement that creates the parameter `node`."""
    call = node.call
    if call is None:
        return False
    if getattr(site.node, "value", None) is call:  # `self.w = nn.Parameter(...)`
        return True
    return isinstance(site.node, cst.Call) and any(arg.value is call for arg in site.node.args)  # register_parameter


def _all_empty(values: Set[Value]) -> bool:
    return bool(values) and all(v.kind == EMPTY for v in values)


def _vector(node: Node) -> bool:
    if node.value is None:
        return False
    for call in exprs.calls_in(node.value):
        args = exprs.positional(call)
        shape = exprs.shape_of_sizes(args) if args else None
        dims = exprs.matrix_dims(shape)
        if dims is not None:
            return dims < 2
    return False


def _is_a(node: Node, wanted: str) -> bool:
    """Whether a type guard's class (`torch.nn.Linear`, `Conv` from `classname.find("Conv")`) admits the node."""
    qualname = node.qualname or ""
    if qualname == wanted or qualname == wanted.replace("torch.nn.", "torch.nn.Lazy"):
        return True  # (a Lazy layer is an instance of its eager class)
    short, wanted_short = qualname.rsplit(".", 1)[-1], wanted.rsplit(".", 1)[-1]
    if "." not in wanted and wanted_short and wanted_short in short:
        return True  # a class-name test: `classname.find("Conv") != -1`
    return short == wanted_short and wanted_short != ""


def _at(model: Model, prefix: str, keys: List[str]) -> List[Slot]:
    """The slot at `prefix` + `keys` (`fc1`, `weight`); an index into a repeated child reaches it."""
    if not keys:
        found = model.slots.get(prefix)
        return [found] if found is not None else []
    *path_keys, attr = keys
    path = prefix
    for key in path_keys:
        path = f"{path}.{key}" if path else key
        if path not in model.nodes:
            repeated = path.rsplit(".", 1)[0] + ".*"
            if repeated in model.nodes:
                path = repeated
            elif key.lstrip("-").isdigit():
                parent = path.rsplit(".", 1)[0]
                siblings = [p for p in model.nodes if p.rsplit(".", 1)[0] == parent and p.count(".") == parent.count(".") + 1]
                index = int(key)
                if not -len(siblings) <= index < len(siblings):
                    return []
                path = siblings[index]
            else:
                return []
    if attr in ("weight", "bias") and path:
        found = model.slots.get(f"{path}.{attr}")
        return [found] if found is not None else []
    full = f"{path}.{attr}" if path else attr
    found = model.slots.get(full)
    return [found] if found is not None else []


def _under(model: Model, prefix: str, keys: List[str]) -> List[Slot]:
    """Every slot of the module at `prefix` + `keys`."""
    path = ".".join(([prefix] if prefix else []) + keys)
    if path and path not in model.nodes:
        return []
    return [s for s in model.slots.values() if not path or s.path == path or s.path.startswith(path + ".")]


def _chain(target: cst.BaseExpression) -> Tuple[Optional[str], List[str]]:
    """(`self`, [`gate`, `0`, `weight`]) for `self.gate[0].weight`; (None, []) when not a plain chain."""
    keys: List[str] = []
    node = exprs.strip_data(target)
    while True:
        if isinstance(node, cst.Name):
            return node.value, list(reversed(keys))
        if isinstance(node, cst.Attribute):
            if node.attr.value != "data":
                keys.append(node.attr.value)
            node = node.value
        elif isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            index = node.slice[0].slice.value
            literal = exprs.literal_string(index)
            number = exprs.number(index)
            if literal is not None:
                keys.append(literal)
            elif number is not None and number == int(number):
                keys.append(str(int(number)))
            else:
                return None, []
            node = node.value
        else:
            return None, []


def _rest(name: Optional[str]) -> Optional[str]:
    """`net.fc` -> `fc`; `net` -> ``."""
    if name is None:
        return None
    return name.split(".", 1)[1] if "." in name else ""


def _join(prefix: str, rest: Optional[str]) -> Optional[str]:
    if rest is None:
        return None
    if not rest:
        return prefix
    return f"{prefix}.{rest}" if prefix else rest


def _defaults(fn: cst.FunctionDef, args: Dict[str, cst.BaseExpression]) -> Dict[str, cst.BaseExpression]:
    """The function's parameters bound to literal defaults, overridden by `args`."""
    env: Dict[str, cst.BaseExpression] = {}
    for param in list(fn.params.params) + list(fn.params.kwonly_params):
        if param.default is not None:
            env[param.name.value] = param.default
    env.update(args)
    return env


def _exists(created: Set[str], path: str) -> bool:
    """Whether the module at `path` (or one above it) is among `created` (Model.exists, for a set)."""
    while path:
        if path in created:
            return True
        path = path.rsplit(".", 1)[0] if "." in path else ""
    return False


def _decide(test: cst.BaseExpression, env: Dict[str, cst.BaseExpression]) -> Optional[bool]:
    """The value of an `if` test when the construction's arguments (or a literal) decide it, else None."""
    literal = _literal(test)
    if literal is not _UNKNOWN:
        return bool(literal)
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = _decide(test.expression, env)
        return None if inner is None else not inner
    if isinstance(test, cst.Name):
        value = env.get(test.value)
        return _truth(value) if value is not None else None
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and isinstance(test.left, cst.Name):
        value = env.get(test.left.value)
        other = test.comparisons[0].comparator
        op = test.comparisons[0].operator
        if value is None:
            return None
        left, right = _literal(value), _literal(other)
        if left is _UNKNOWN or right is _UNKNOWN:
            return None
        if isinstance(op, (cst.Equal, cst.Is)):
            return left == right
        if isinstance(op, (cst.NotEqual, cst.IsNot)):
            return left != right
    return None


_UNKNOWN = object()


def _literal(node: cst.BaseExpression):
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.value]
    number = exprs.number(node)
    if number is not None:
        return number
    text = exprs.literal_string(node)
    return text if text is not None else _UNKNOWN


def _truth(node: cst.BaseExpression) -> Optional[bool]:
    value = _literal(node)
    return None if value is _UNKNOWN else bool(value)


def _walk_targets(stmt: cst.For) -> Set[str]:
    """The names a `for` over `modules()` / `parameters()` (or their `named_` forms) binds."""
    it = stmt.iter
    while isinstance(it, cst.Call) and isinstance(it.func, cst.Name) and it.func.value in ("enumerate", "list", "tuple", "reversed") and it.args:
        it = it.args[0].value
    if not (isinstance(it, cst.Call) and exprs.method_name(it) in torch_api.WALK_WORDS):
        return set()
    return {name.split(".", 1)[0] for name in exprs.names_in(stmt.target)}


def _bodies(stmt) -> Iterator[object]:
    if isinstance(stmt, (cst.For, cst.While)):
        yield stmt.body
        if stmt.orelse is not None:
            yield stmt.orelse.body
    elif isinstance(stmt, cst.With):
        yield stmt.body
    elif isinstance(stmt, (cst.Try, cst.TryStar)):
        yield stmt.body
        for handler in stmt.handlers:
            yield handler.body
        if stmt.orelse is not None:
            yield stmt.orelse.body
        if stmt.finalbody is not None:
            yield stmt.finalbody.body
    elif isinstance(stmt, cst.Match):
        for case in stmt.cases:
            yield case.body
