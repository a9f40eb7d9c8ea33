"""One visit of a parsed file that collects the facts every rule judges (decide late, like pyflakes).

The visit records *where* tensors are set to constants or repeated rows and *in what context*
(class, function, loops over parameters/modules, `if` guards); the rules decide afterwards, when
the whole file is known (later random re-inits, `.apply()` calls, forward passes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

import libcst as cst
from libcst.metadata import CodeRange

from initlint import exprs, torch_api, walk
from initlint.exprs import Shape
from initlint.imports import ImportTable, dotted_name

# Iterating these methods walks the module tree or its parameters.
PARAM_ITERATORS = frozenset({"parameters", "named_parameters"})
MODULE_ITERATORS = frozenset({"modules", "named_modules", "children", "named_children"})
MATMUL_FUNCTIONS = frozenset(
    {
        "torch.matmul",
        "torch.mm",
        "torch.bmm",
        "torch.addmm",
        "torch.einsum",
        "torch.tensordot",
        "torch.nn.functional.linear",
        "torch.nn.functional.bilinear",
    }
)


@dataclass(repr=False, eq=False)  # (each generated method costs start-up time; none compares these)
class Layer:
    """`self.<attr> = <constructor>(...)` inside a class."""

    attr: str
    qualname: Optional[str]  # torch.nn.Linear, or the name of a class of this file
    call: cst.Call

    @property
    def units(self) -> Optional[str]:
        """Source text of the layer's output width (Linear's out_features, Conv's out_channels)."""
        if self.qualname in torch_api.MATRIX_LAYERS:
            name = "out_channels" if "Conv" in self.qualname else "out_features"
            index = 2 if self.qualname.endswith("Bilinear") else (0 if "Lazy" in self.qualname and "Linear" in self.qualname else 1)
            value = exprs.argument(self.call, index, name)
            return exprs.code(value) if value is not None else None
        return None


@dataclass(repr=False, eq=False)
class ClassInfo:
    """A class of this file."""

    node: cst.ClassDef
    name: str
    bases: Tuple[str, ...]
    layers: Dict[str, Layer] = field(default_factory=dict)
    methods: Dict[str, cst.FunctionDef] = field(default_factory=dict)


@dataclass(frozen=True, repr=False, eq=False)
class Loop:
    """A `for` loop the site is inside: what it iterates and which names it binds."""

    kind: str  # "parameters", "modules" or "other"
    owner: Optional[str]  # dotted name of the iterated object (`self`, `net`)
    names: Tuple[str, ...]  # the loop variables, in order
    node: cst.For

    @property
    def item(self) -> Optional[str]:
        """The variable holding the parameter or module (the last one for named_*)."""
        return self.names[-1] if self.names else None

    @property
    def label(self) -> Optional[str]:
        """The variable holding the name, for named_parameters / named_modules."""
        return self.names[0] if len(self.names) == 2 else None


@dataclass(frozen=True, repr=False, eq=False)
class Guard:
    """An `if` test the site is under; positive is False in the `else` branch."""

    test: cst.BaseExpression
    positive: bool


@dataclass(repr=False, eq=False)
class Scope:
    """A function (or the module body) and what its names are bound to."""

    name: str
    node: Optional[cst.FunctionDef]
    cls: Optional[ClassInfo]
    params: Tuple[str, ...] = ()
    parent: Optional["Scope"] = None  # the enclosing function's scope (the module's: None)
    # Every parameter's name (positional-only, keyword-only, *args, **kwargs included): names the
    # caller binds, whatever the file assigns to the same names elsewhere.
    names: FrozenSet[str] = frozenset()
    receiver: Optional[str] = None  # a method's first parameter (`self`); None for a staticmethod or a function
    # Names the function binds by other means than an assignment the collector records (a `for`
    # target, `with ... as`, `except ... as`, an import, a nested `def`, `:=`, `+=`, unpacking):
    # local to it, so never the module's or an enclosing function's.
    local: Set[str] = field(default_factory=set)
    # Names declared `global` / `nonlocal` in the function: its assignments bind them outside it.
    declared_global: Set[str] = field(default_factory=set)
    declared_nonlocal: Set[str] = field(default_factory=set)


@dataclass(repr=False, eq=False)
class Site:
    """A write to a tensor: one constant value (kind "constant"), repeated rows ("repeat"), random
    values ("random": a later one clears a constant) or values the file does not show ("other":
    a copy of another tensor, a load); or "freeze" (`requires_grad = False`: it is not trained).
    `order` is the write's place in the file's text."""

    kind: str
    node: cst.CSTNode
    target: cst.BaseExpression
    target_name: str
    how: str
    value: Optional[float] = None
    value_text: str = ""
    shape: Optional[Shape] = None
    shape_text: str = ""
    created: bool = False  # a new tensor (torch.full(..., requires_grad=True), nn.Parameter(torch.ones(..)))
    trainable: bool = False
    scope: Optional[Scope] = None
    loops: Tuple[Loop, ...] = ()
    guards: Tuple[Guard, ...] = ()
    repeat_args: Tuple[cst.Arg, ...] = ()
    repeat_method: str = ""
    order: int = 0
    in_test: bool = False  # inside a `test_*` function or a `Test*` class (a pytest test)

    @property
    def zero(self) -> bool:
        return self.value == 0.0


_RELATED = 32  # ancestors, and descendants, of a class whose assignments to `self.x` count (FileFacts._related_classes)


@dataclass(repr=False, eq=False)
class FileFacts:
    """Everything one visit learnt about one file."""

    module: cst.Module
    imports: ImportTable
    source: str = ""
    path: str = ""
    lint_tests: bool = False  # judge test code too (by default the model rules leave it alone)
    # Analyses several rules share (the network model's judgement), made once per file.
    shared: Dict[str, object] = field(default_factory=dict)
    # Per statement (a SimpleStatementLine, or a compound statement's header: a loop's iterable,
    # an `if` test, a `with`'s items), its writes (Sites) and calls, in the order they run: the
    # network model runs construction from these, without walking the code again.
    events: Dict[int, List[object]] = field(default_factory=dict)
    classes: Dict[str, ClassInfo] = field(default_factory=dict)
    # class of this file -> the classes of this file that name it as a base
    subclasses: Dict[str, List[str]] = field(default_factory=dict)
    sites: List[Site] = field(default_factory=list)
    # Last attribute/variable names that something initialises randomly (`trunc_normal_(self.pos_embed)`).
    randomised: Set[str] = field(default_factory=set)
    # (dotted target, guards) of every random init, for "the other branch randomises it".
    random_sites: List[Tuple[str, Tuple[Guard, ...]]] = field(default_factory=list)
    # Classes (by name) whose code randomises every parameter in a loop; "" for module-level code.
    randomise_all: Set[str] = field(default_factory=set)
    # Names of functions handed to `.apply()`.
    applied: Set[str] = field(default_factory=set)
    # Dotted names used as operands of a matrix product.
    matmul_operands: Set[str] = field(default_factory=set)
    # Pairs of operand name sets of each matrix product, for data-flow checks.
    matmuls: List[Tuple[Set[str], Set[str], cst.CSTNode]] = field(default_factory=list)
    # name -> where it is assigned (id() of the function, None for the module's own code) -> the
    # values, in the file's order. Read them through `bound`, which resolves a name as Python does.
    bindings: Dict[str, Dict[Optional[int], List[cst.BaseExpression]]] = field(default_factory=dict)
    # name (`self.w`) -> the class whose methods assign it -> (rank in the file, value).
    member_bindings: Dict[str, Dict[str, List[Tuple[int, cst.BaseExpression]]]] = field(default_factory=dict)
    # instance variable -> class name of this file (`net = MNISTNet()`).
    instances: Dict[str, str] = field(default_factory=dict)
    # Names of parameters created with random values (nn.Parameter(torch.randn(...)), randn(..., requires_grad=True)).
    random_trainables: Set[str] = field(default_factory=set)
    trainables: Set[str] = field(default_factory=set)

    # The text libcst parsed (the source, or the screen's part of it: same lines), for positions.
    parsed: Optional[str] = None
    _locator: Optional[object] = None
    _line_starts: Optional[List[int]] = None
    _module_classes: Dict[str, bool] = field(default_factory=dict)
    _ranks: int = 0  # member bindings so far (their order in the file)

    def range_of(self, node: cst.CSTNode) -> CodeRange:
        """Where a node is (libcst's 1-based lines, 0-based columns): computed for the nodes asked
        about only (initlint.positions), since most files report nothing and the positions of
        every node cost two to three parses."""
        if self._locator is None:
            from initlint.positions import Locator

            self._locator = Locator(self.module, self.parsed)
        return self._locator.range_of(node)  # type: ignore[attr-defined]

    def offset(self, line: int, column: int) -> int:
        """Character offset into `source` of a (1-based line, 0-based column) position."""
        if self._line_starts is None:
            # Only \r\n, \r and \n end lines for the parser (str.splitlines also splits on \f, \x1c...).
            self._line_starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", self.source)]
        return self._line_starts[line - 1] + column

    def resolve(self, node: cst.BaseExpression) -> Optional[str]:
        """Qualified name of an expression through the import table, or a class of this file (which
        a star import does not shadow)."""
        qualified = self.imports.resolve(node, stars=False)
        if qualified is not None:
            return qualified
        name = dotted_name(node)
        if name in self.classes:
            return name
        return self.imports.resolve(node) if self.imports.stars else None

    def bind(self, name: str, scope: Scope, value: cst.BaseExpression) -> None:
        """Record that code of `scope` assigns `value` to `name` (a name declared `global` there:
        the module's; `nonlocal`: the enclosing function's)."""
        root = name.split(".", 1)[0]
        owner: Optional[Scope] = scope
        if root in scope.declared_global:
            owner = None
        elif root in scope.declared_nonlocal:
            owner = scope.parent
        where = id(owner.node) if owner is not None and owner.node is not None else None
        self.bindings.setdefault(name, {}).setdefault(where, []).append(value)
        if scope.cls is not None and "." in name:
            self._ranks += 1
            self.member_bindings.setdefault(name, {}).setdefault(scope.cls.name, []).append((self._ranks, value))

    def bound(self, name: str, scope: Optional[Scope]) -> List[cst.BaseExpression]:
        """What `name` (`w`, `net.fc`, `self.w`) is assigned where code of `scope` reads it, in the
        file's order, as Python resolves names: the function's own assignments; none when the
        name's first part is one of its parameters (the caller binds it), except a method's
        receiver (`self.w`: what the methods of its class, of the classes of this file it derives
        from and of those that derive from it assign); else the enclosing functions', else the
        module's. What another function assigns to a name of its own is never this one's."""
        values, members = self._visible(name, scope)
        if members is None:
            return values or []
        return [value for _, value in sorted((pair for ranked in members for pair in ranked), key=lambda pair: pair[0])]

    def last_bound(self, name: str, scope: Optional[Scope]) -> Optional[cst.BaseExpression]:
        """The last of `bound(name, scope)`, found without building the list."""
        values, members = self._visible(name, scope)
        if members is None:
            return values[-1] if values else None
        return max((ranked[-1] for ranked in members), key=lambda pair: pair[0])[1] if members else None

    def _visible(self, name: str, scope: Optional[Scope]) -> Tuple[Optional[List[cst.BaseExpression]], Optional[List[List[Tuple[int, cst.BaseExpression]]]]]:
        """`bound`'s answer: (the values, None), or for a receiver's attribute (None, the (rank,
        value) lists of the related classes that assign it). Dictionary look-ups, one per
        enclosing function and related class: never a scan of the file's bindings."""
        places = self.bindings.get(name)
        if not places:
            return None, None
        root = name.split(".", 1)[0]
        current = scope
        while current is not None and current.node is not None:
            if root in current.declared_global:
                break
            if root not in current.declared_nonlocal:
                own = places.get(id(current.node))
                if own:
                    return own, None
                if root == current.receiver and "." in name and current.cls is not None:
                    by_class = self.member_bindings.get(name, {})
                    return None, [by_class[c] for c in self._related_classes(current.cls.name) if c in by_class]
                if root in current.names or root in current.local:
                    return None, None
            current = current.parent
        return places.get(None), None

    def _related_classes(self, name: str) -> List[str]:
        """`name`, the classes of this file it derives from and those that derive from it, nearest
        first, at most _RELATED of each (a class hierarchy inside one file is shallow; the bound
        keeps a generated chain of thousands linear)."""
        out, seen = [name], {name}
        for step in (lambda c: self.classes[c].bases if c in self.classes else (), lambda c: self.subclasses.get(c, ())):
            queue, taken, i = [name], 0, 0
            while i < len(queue) and taken < _RELATED:
                for other in step(queue[i]):
                    if other in self.classes and other not in seen and taken < _RELATED:
                        seen.add(other)
                        out.append(other)
                        queue.append(other)
                        taken += 1
                i += 1
        return out

    def ancestry(self, name: str) -> Set[str]:
        """`name` and the classes of this file it derives from."""
        seen, stack = {name}, [name]
        while stack:
            info = self.classes.get(stack.pop())
            for base in info.bases if info is not None else ():
                if base in self.classes and base not in seen:
                    seen.add(base)
                    stack.append(base)
        return seen

    def is_module_class(self, name: str) -> bool:
        """A class of this file that subclasses nn.Module (directly or through classes of this
        file). Remembered per class: a chain of n subclasses costs n steps, not n squared."""
        known = self._module_classes
        if name in known:
            return known[name]
        chain: List[str] = []
        answer = False
        current: Optional[str] = name
        while current is not None and current not in known:
            info = self.classes.get(current)
            if info is None or current in chain:
                break
            chain.append(current)
            if any(b in torch_api.MODULE_BASES or b.endswith("Module") or b.endswith("PreTrainedModel") for b in info.bases):
                answer = True
                break
            # The first base of this file leads on; the others are asked on their own.
            others = [b for b in info.bases if b in self.classes]
            if any(self.is_module_class(b) for b in others[1:]):
                answer = True
                break
            current = others[0] if others else None
        else:
            if current is not None and current in known:
                answer = known[current]
        for seen in chain:
            known[seen] = answer
        return answer


class Collector(cst.CSTVisitor):
    """Walks a module once, keeping the class/function/loop/guard context of every site."""

    def __init__(self, facts: FileFacts) -> None:
        super().__init__()
        self.facts = facts
        self.scope = Scope(name="<module>", node=None, cls=None)
        self.scopes: List[Scope] = [self.scope]
        self.classes: List[ClassInfo] = []
        self.class_depths: List[int] = []  # for each class being visited, how many scopes were open at it
        self.shadows: List[FrozenSet[str]] = []  # names of the lambdas and comprehensions around the walk
        self.loops: List[Loop] = []
        self.guards: List[Guard] = []
        # id(function node) -> bare names bound to trainable tensors in that function. The node, not
        # the Scope: a finished Scope is freed and its id() reused by the next function's.
        self.local_trainables: Dict[int, Set[str]] = {}
        self.order = 0
        self.tests = 0  # how many enclosing definitions are tests
        self.statement: Optional[List[object]] = None  # the events of the statement being visited

    # ---- structure -------------------------------------------------------------------------
    def visit_Import(self, node: cst.Import) -> bool:
        self.facts.imports.add(node)
        self._imported(node.names)
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        self.facts.imports.add(node)
        if not isinstance(node.names, cst.ImportStar):
            self._imported(node.names)
        return False

    def _imported(self, aliases: Sequence[cst.ImportAlias]) -> None:
        """The names an import binds (`import a.b`: `a`; `... as c`: `c`) are the function's own."""
        for alias in aliases:
            bound = alias.asname.name if isinstance(alias.asname, cst.AsName) else alias.name
            self._local_name((dotted_name(bound) or "").split(".", 1)[0])

    # ---- names a function binds besides the assignments recorded (see Scope.local) --------------
    def _local(self, target: cst.BaseExpression) -> None:
        """Mark the names `target` binds (a name, or the names of a tuple or list to unpack) as
        local to the function being visited."""
        if isinstance(target, cst.Name):
            self._local_name(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._local(element.value)
        elif isinstance(target, cst.StarredElement):
            self._local(target.value)

    def _local_name(self, name: str) -> None:
        scope = self.scope
        if not name or scope.node is None or name in scope.declared_global or name in scope.declared_nonlocal:
            return
        if self.class_depths and self.class_depths[-1] == len(self.scopes):
            return  # a class body's names are the class's attributes, not the function's
        scope.local.add(name)

    def visit_Global(self, node: cst.Global) -> None:
        self.scope.declared_global.update(item.name.value for item in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.scope.declared_nonlocal.update(item.name.value for item in node.names)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._local(node.name.name)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._local(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._local(node.target)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._local_name(node.name.value)
        bases = []
        for arg in node.bases:
            resolved = self.facts.imports.resolve(arg.value) or dotted_name(arg.value) or ""
            bases.append(resolved)
        info = ClassInfo(node=node, name=node.name.value, bases=tuple(bases))
        if self.facts.classes.setdefault(info.name, info) is info:
            for base in dict.fromkeys(bases):
                if base in self.facts.classes and base != info.name:
                    self.facts.subclasses.setdefault(base, []).append(info.name)
        self.classes.append(info)
        self.class_depths.append(len(self.scopes))
        self.tests += _is_test(node.name.value, "Test")

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes.pop()
        self.class_depths.pop()
        self.tests -= _is_test(original_node.name.value, "Test")

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._local_name(node.name.value)  # (a name of the function around it, if any)
        cls = self.classes[-1] if self.classes and self._directly_in_class(node) else None
        if cls is not None:
            cls.methods.setdefault(node.name.value, node)
        params = tuple(p.name.value for p in node.params.params)
        positional = [*node.params.posonly_params, *node.params.params]
        receiver = None
        if cls is not None and positional and not any(dotted_name(d.decorator) == "staticmethod" for d in node.decorators):
            receiver = positional[0].name.value
        scope = Scope(
            name=node.name.value, node=node, cls=cls or self.scope.cls, params=params,
            parent=self.scope, names=exprs.parameter_names(node.params), receiver=receiver,
        )
        self.scopes.append(scope)
        self.scope = scope
        self.tests += _is_test(node.name.value, "test")

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()
        self.scope = self.scopes[-1]
        self.tests -= _is_test(original_node.name.value, "test")

    def _directly_in_class(self, node: cst.FunctionDef) -> bool:
        body = self.classes[-1].node.body
        return isinstance(body, cst.IndentedBlock) and any(s is node for s in body.body)

    # ---- the events of each statement (see FileFacts.events) ------------------------------------
    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self.statement = self.facts.events.setdefault(id(node), [])

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine) -> None:
        self.statement = None

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        outer, self.statement = self.statement, None  # (a lambda's body does not run here)
        self.shadows.append(exprs.parameter_names(node.params))
        walk.visit(node.body, self)
        self.shadows.pop()
        self.statement = outer
        return False

    # A comprehension's variables are its own: no assignment outside it is what they hold.
    def _enter_comprehension(self, node) -> None:
        names: Set[str] = set()
        clause = node.for_in
        while clause is not None:
            names.update(exprs.names_in(clause.target))
            clause = clause.inner_for_in
        self.shadows.append(frozenset(names))

    def _leave_comprehension(self, original_node) -> None:
        self.shadows.pop()

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _enter_comprehension
    leave_ListComp = leave_SetComp = leave_DictComp = leave_GeneratorExp = _leave_comprehension

    def _last_bound(self, name: str) -> Optional[cst.BaseExpression]:
        """What `name` holds where the walk is: `FileFacts.last_bound`, unless a lambda's parameter
        or a comprehension's variable around this point is what the name means."""
        root = name.split(".", 1)[0]
        if any(root in shadow for shadow in self.shadows):
            return None
        return self.facts.last_bound(name, self.scope)

    def _header(self, node: cst.CSTNode, *parts: Optional[cst.CSTNode]) -> None:
        outer, self.statement = self.statement, self.facts.events.setdefault(id(node), [])
        for part in parts:
            if part is not None:
                walk.visit(part, self)
        self.statement = outer

    def visit_While(self, node: cst.While) -> bool:
        self._header(node, node.test)
        walk.visit(node.body, self)
        if node.orelse is not None:
            walk.visit(node.orelse, self)
        return False

    def visit_With(self, node: cst.With) -> bool:
        for item in node.items:
            if item.asname is not None:
                self._local(item.asname.name)
        self._header(node, *[item for item in node.items])
        walk.visit(node.body, self)
        return False

    def visit_For(self, node: cst.For) -> bool:
        self._local(node.target)
        self._header(node, node.iter)
        loop = self._loop(node)
        self.loops.append(loop)
        walk.visit(node.body, self)
        self.loops.pop()
        if node.orelse is not None:
            walk.visit(node.orelse, self)
        return False

    def _loop(self, node: cst.For) -> Loop:
        names: Tuple[str, ...] = ()
        if isinstance(node.target, cst.Name):
            names = (node.target.value,)
        elif isinstance(node.target, (cst.Tuple, cst.List)):
            names = tuple(e.value.value if isinstance(e.value, cst.Name) else "_" for e in node.target.elements)
        kind, owner = "other", None
        it = node.iter
        if isinstance(it, cst.Call) and isinstance(it.func, cst.Name) and it.func.value in ("enumerate", "list", "tuple"):
            if it.args:
                it = it.args[0].value
                if isinstance(node.target, cst.Tuple) and len(names) == 2 and isinstance(node.iter, cst.Call):
                    if node.iter.func.value == "enumerate":  # type: ignore[union-attr]
                        names = names[1:]
        if isinstance(it, cst.Call) and isinstance(it.func, cst.Attribute):
            method = it.func.attr.value
            if method in PARAM_ITERATORS:
                kind = "parameters"
            elif method in MODULE_ITERATORS:
                kind = "modules"
            owner = dotted_name(it.func.value)
        return Loop(kind=kind, owner=owner, names=names, node=node)

    def visit_If(self, node: cst.If) -> bool:
        self._header(node, node.test)
        self.guards.append(Guard(node.test, True))
        walk.visit(node.body, self)
        self.guards.pop()
        if node.orelse is not None:
            self.guards.append(Guard(node.test, False))
            walk.visit(node.orelse, self)
            self.guards.pop()
        return False

    # ---- bindings ----------------------------------------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._assigned(target.target, node.value, node)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._assigned(node.target, node.value, node)

    def _assigned(self, target: cst.BaseExpression, value: cst.BaseExpression, stmt: cst.CSTNode) -> None:
        self._local(target)
        if isinstance(target, cst.Attribute) and target.attr.value == "requires_grad" and exprs.is_false(value):
            self._add_site("freeze", stmt, target.value, "requires_grad = False", None, "")  # a frozen tensor or module
            return
        name = dotted_name(target)
        if name is not None:
            self.facts.bind(name, self.scope, value)
            if isinstance(value, cst.Call):
                ctor = self.facts.resolve(value.func)
                if ctor is not None and ctor in self.facts.classes and "." not in name:
                    self.facts.instances[name] = ctor
                cls = self.scope.cls
                if cls is not None and name.startswith("self.") and name.count(".") == 1 and ctor is not None:
                    cls.layers.setdefault(name[5:], Layer(attr=name[5:], qualname=ctor, call=value))
        if isinstance(target, cst.Subscript):
            self._subscript_fill(target, value, stmt)
            return
        self._value_site(target, value, stmt)

    def _subscript_fill(self, target: cst.Subscript, value: cst.BaseExpression, stmt: cst.CSTNode) -> None:
        # `w[:] = 1.0` / `w[...] = 0` set the whole tensor; `w[padding_idx] = 0` sets one row.
        whole = all(
            isinstance(s.slice, cst.Slice) and s.slice.lower is None and s.slice.upper is None
            or isinstance(s.slice, cst.Index) and isinstance(s.slice.value, cst.Ellipsis)
            for s in target.slice
        )
        constant = exprs.number(value)
        if whole and constant is not None:
            self._add_site("constant", stmt, target.value, "slice assignment", constant, exprs.code(value))

    def _value_site(self, target: cst.BaseExpression, value: cst.BaseExpression, stmt: cst.CSTNode) -> None:
        """`target = <constant tensor | Parameter(...) | repeated rows>`."""
        inner, parameter, trainable = self._unwrap_parameter(value)
        if not parameter and isinstance(inner, cst.Call) and exprs.is_true(exprs.keyword(inner, "requires_grad")):
            trainable = True  # torch.randn(..., requires_grad=True)
        name = dotted_name(exprs.strip_data(target))
        if name is not None:
            if trainable and self._is_random(inner):
                self.facts.random_trainables.add(name)
            if trainable:
                self.facts.trainables.add(name)
                self.local_trainables.setdefault(id(self.scope.node), set()).add(name)
        info = self._constant_tensor(inner)
        if info is not None:
            how, constant, text, shape, requires_grad, shape_text = info
            if parameter or requires_grad or _writes_values(target):
                site = self._add_site("constant", stmt, target, how, constant, text)
                if site is not None:
                    site.shape, site.shape_text = shape, shape_text
                    site.created = parameter or requires_grad
                    site.trainable = (parameter and trainable) or requires_grad
                    if name is not None and site.trainable:
                        self.facts.trainables.add(name)
            return
        if (parameter or self._is_parameter_target(target)) and self._repeat_site(target, inner, stmt):
            return
        if isinstance(exprs.strip_data(target), cst.Attribute) and (parameter or _writes_values(target)):
            # `fc.weight = nn.Parameter(w)`, `fc.weight.data = w`: values the file may not show.
            kind = "random" if self._is_random(inner) else "other"
            self._add_site(kind, stmt, target, "assignment", None, exprs.code(inner) if kind == "other" else "")

    def _is_parameter_target(self, target: cst.BaseExpression) -> bool:
        """A layer's `.weight` (or `.weight.data`), or a name known to hold a trainable tensor."""
        stripped = exprs.strip_data(target)
        if isinstance(stripped, cst.Attribute) and stripped.attr.value.startswith("weight"):
            return True
        return self._is_trainable_name(stripped)

    def _unwrap_parameter(self, value: cst.BaseExpression) -> Tuple[cst.BaseExpression, bool, bool]:
        """(tensor expression, wrapped in nn.Parameter, trainable) for `nn.Parameter(x, requires_grad=...)`."""
        if isinstance(value, cst.Call) and self.facts.resolve(value.func) in torch_api.PARAMETER and value.args:
            requires_grad = exprs.argument(value, 1, "requires_grad")
            return value.args[0].value, True, not exprs.is_false(requires_grad)
        return value, False, False

    def _is_random(self, node: cst.BaseExpression) -> bool:
        for call in exprs.calls_in(node):
            if self.facts.resolve(call.func) in torch_api.RANDOM_CONSTRUCTORS:
                return True
            if exprs.method_name(call) in torch_api.RANDOM_METHODS:
                return True
        return False

    def _constant_tensor(self, node: cst.BaseExpression):
        """(how, value, value text, shape, requires_grad, shape text) when `node` builds a constant tensor."""
        scale: Optional[float] = 1.0
        scale_text = ""
        # `torch.ones(a, b) * 0.5`, `torch.ones(d, r) / math.sqrt(r)`: still one constant.
        while isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Multiply, cst.Divide)):
            left, right = exprs.number(node.left), exprs.number(node.right)
            divide = isinstance(node.operator, cst.Divide)
            if right is not None and right != 0:
                scale = None if scale is None else scale * (1.0 / right if divide else right)
                node = node.left
            elif left is not None and not divide:
                scale, node = (None if scale is None else scale * left), node.right
            elif _is_scalar(node.right):
                scale, scale_text = None, f"{' /' if divide else ' *'} {exprs.code(node.right)}{scale_text}"
                node = node.left
            elif not divide and _is_scalar(node.left):
                scale, scale_text = None, f" * {exprs.code(node.left)}{scale_text}"
                node = node.right
            else:
                return None
        requires_grad = False
        # `torch.ones(a, b).requires_grad_()` / `.to(device)` / `.float()` / `.clone()` keep the value.
        while isinstance(node, cst.Call) and exprs.method_name(node) in _KEEP_VALUE:
            if exprs.method_name(node) == "requires_grad_":
                requires_grad = not node.args or not exprs.is_false(node.args[0].value)
            node = node.func.value  # type: ignore[union-attr]
        if not isinstance(node, cst.Call):
            return None
        qualname = self.facts.resolve(node.func)
        method = exprs.method_name(node)
        if qualname in torch_api.CONSTANT_CONSTRUCTORS:
            value = torch_api.CONSTANT_CONSTRUCTORS[qualname]
            base = qualname
        elif qualname is None and method in torch_api.CONSTANT_METHODS:
            value = torch_api.CONSTANT_METHODS[method]
            base = "torch.Tensor." + method
        else:
            return None
        text = ""
        if value is None:
            fill = exprs.argument(node, 1, "fill_value")
            value = exprs.number(fill)
            text = exprs.code(fill) if fill is not None else "?"
            sizes = [a for a in exprs.positional(node)[:1]]
        else:
            sizes = list(exprs.positional(node))
        if value is not None and scale is not None:
            value *= scale
            text = _fmt(value)
        elif scale is None:
            if value == 1.0 and scale_text.startswith(" * "):
                text = scale_text[3:]  # `torch.ones(r, d) * (1.0 / r)`: the factor is the value
            else:
                text = f"{_fmt(value) if value is not None else text}{scale_text}".lstrip()
            value = 0.0 if value == 0.0 else None  # zero stays zero; any other value is unknown
        elif scale != 1.0:
            text = f"{text} * {_fmt(scale)}"
        if exprs.is_true(exprs.keyword(node, "requires_grad")):
            requires_grad = True
        shape = None
        if base in torch_api.LIKE_CONSTRUCTORS:
            shape = None  # the shape of the argument: the rules look at it
        else:
            shape = exprs.shape_of_sizes(sizes)
        short = base.replace("torch.Tensor.", ".")
        shape_text = ", ".join(exprs.code(a.value) for a in sizes)
        if len(sizes) == 1 and isinstance(sizes[0].value, (cst.Tuple, cst.List)):
            shape_text = ", ".join(exprs.code(e.value) for e in sizes[0].value.elements)
        return short, value, text, shape, requires_grad, shape_text

    def _repeat_site(self, target: cst.BaseExpression, value: cst.BaseExpression, stmt: cst.CSTNode) -> bool:
        """`target = <rows repeated>` (directly or through a name bound to them); the caller has
        checked that the target is a parameter. Whether it was."""
        found = self._repeated(value)
        if found is not None:
            method, args = found
            site = self._add_site("repeat", stmt, target, method, None, "")
            if site is not None:
                site.repeat_method, site.repeat_args = method, args
            return True
        return False

    def _is_trainable_name(self, target: cst.BaseExpression) -> bool:
        """Attributes (`self.w`) anywhere in the file; bare names only in the function that bound them."""
        name = dotted_name(target)
        if name is None:
            return False
        if "." in name:
            return name in self.facts.trainables
        return name in self.local_trainables.get(id(self.scope.node), set())

    def _repeated(self, value: cst.BaseExpression, depth: int = 0):
        """(method, args) when `value` repeats one row or column, following names bound in this file."""
        if depth > 3 or self._is_random_perturbed(value):
            return None
        if isinstance(value, (cst.Name, cst.Attribute)) and depth < 3:
            bound = self._last_bound(dotted_name(value) or "")
            return None if bound is None else self._repeated(bound, depth + 1)
        node = value
        while isinstance(node, cst.Call):
            method = exprs.method_name(node)
            qualname = self.facts.resolve(node.func)
            if qualname is None and method in torch_api.REPEAT_METHODS:
                return method, tuple(node.args)
            if qualname in torch_api.REPEAT_FUNCTIONS:
                return qualname, tuple(node.args[1:])
            if qualname in torch_api.PARAMETER and node.args:
                node = node.args[0].value
                continue
            if isinstance(node.func, cst.Attribute) and method in ("clone", "contiguous", "float", "to", "detach"):
                node = node.func.value
                continue
            return None
        return None

    def _is_random_perturbed(self, value: cst.BaseExpression) -> bool:
        return isinstance(value, cst.BinaryOperation) and self._is_random(value)

    # ---- calls -------------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        if self.statement is not None:
            self.statement.append(node)
        qualname = self.facts.resolve(node.func)
        method = exprs.method_name(node)
        init_fn = torch_api.is_init_function(qualname)
        if init_fn is not None:
            self._init_call(node, init_fn)
        elif qualname is None and method is not None:
            self._method_call(node, method)
        elif node.args and (dotted_name(node.func) or "").endswith(torch_api.RANDOM_INIT_SUFFIXES):
            # trunc_normal_(x) from timm, init.uniform_(x) from transformers.initialization...
            self._randomised(node.args[0].value)
        elif qualname in MATMUL_FUNCTIONS:
            operands = [a.value for a in exprs.positional(node)]
            if qualname == "torch.einsum":
                operands = operands[1:]
            self._matmul(operands, node)
        if qualname is None and method in ("matmul", "mm", "bmm") and node.args:
            self._matmul([node.func.value, node.args[0].value], node)  # type: ignore[union-attr]
        if method == "apply" and node.args:
            applied = dotted_name(node.args[0].value)
            if isinstance(node.args[0].value, cst.Call):  # .apply(partial(fn, ...))
                inner = node.args[0].value
                applied = dotted_name(inner.args[0].value) if inner.args else None
            if applied:
                self.facts.applied.add(applied.rsplit(".", 1)[-1])
        if method == "register_parameter" and len(node.args) >= 2:
            label = exprs.literal_string(node.args[0].value)
            if label is not None:
                self._value_site(cst.Attribute(value=cst.Name("self"), attr=cst.Name(label)), node.args[1].value, node)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, cst.MatrixMultiply):
            self._matmul([node.left, node.right], node)

    def _matmul(self, operands, node: cst.CSTNode) -> None:
        if len(operands) < 2:
            return
        sets = [exprs.names_in(o) for o in operands]
        for names in sets:
            self.facts.matmul_operands.update(names)
        self.facts.matmuls.append((sets[0], set().union(*sets[1:]), node))

    def _init_call(self, node: cst.Call, function: str) -> None:
        if not node.args:
            return
        target = node.args[0].value
        if function in torch_api.INIT_CONSTANT:
            value = torch_api.INIT_CONSTANT[function]
            text = _fmt(value) if value is not None else ""
            if value is None:
                arg = exprs.argument(node, 1, "val")
                value = exprs.number(arg)
                text = exprs.code(arg) if arg is not None else "?"
            self._add_site("constant", node, target, f"nn.init.{function}", value, text)
        elif function.endswith(torch_api.RANDOM_INIT_SUFFIXES):
            constant = _degenerate(node, function, 1)
            if constant is not None:
                self._add_site("constant", node, target, f"nn.init.{function}", *constant)
            else:
                self._randomised(target, node, f"nn.init.{function}")

    def _method_call(self, node: cst.Call, method: str) -> None:
        receiver = node.func.value  # type: ignore[union-attr]
        if method == "requires_grad_" and node.args and exprs.is_false(exprs.argument(node, 0, "requires_grad")):
            self._add_site("freeze", node, receiver, ".requires_grad_(False)", None, "")
        elif method == "fill_" and node.args:
            value = exprs.number(node.args[0].value)
            self._add_site("constant", node, receiver, ".fill_()", value, exprs.code(node.args[0].value))
        elif method == "zero_" and not node.args:
            self._add_site("constant", node, receiver, ".zero_()", 0.0, "0")
        elif method == "copy_" and node.args:
            source = node.args[0].value
            info = self._constant_tensor(source)
            if info is None and isinstance(source, (cst.Name, cst.Attribute)):
                bound = self._last_bound(dotted_name(source) or "")
                if bound is not None:
                    info = self._constant_tensor(bound)
            if info is not None:
                site = self._add_site("constant", node, receiver, f".copy_({info[0]})", info[1], info[2])
                if site is not None:
                    site.shape, site.shape_text = info[3], info[5]
            elif self._is_parameter_target(receiver) and self._repeat_site(receiver, source, node):
                pass  # one row repeated (a random row too: its units are still equal)
            elif self._is_random(source):
                self._randomised(receiver, node, ".copy_()")
            else:
                self._add_site("other", node, receiver, ".copy_()", None, exprs.code(source))
        elif method in torch_api.RANDOM_METHODS or method.endswith(torch_api.RANDOM_INIT_SUFFIXES):
            # `x.uniform_(a, b)` randomises x; `init.uniform_(x)` (an unresolved module) randomises x.
            constant = _degenerate(node, method, 0) if method in torch_api.RANDOM_METHODS else None
            if constant is not None:
                self._add_site("constant", node, receiver, f".{method}()", *constant)
                return
            self._randomised(receiver, node, f".{method}()")
            if node.args and isinstance(node.args[0].value, (cst.Name, cst.Attribute)):
                self._randomised(node.args[0].value, node, f"{method}()")

    def _randomised(self, target: cst.BaseExpression, node: Optional[cst.CSTNode] = None, how: str = "") -> None:
        target = exprs.strip_data(target)
        if node is not None:
            self._add_site("random", node, target, how, None, "")
        name = dotted_name(target)
        if name:
            self.facts.random_sites.append((name, tuple(self.guards)))
        loop = self._loop_over(target)
        if loop is not None and loop.kind == "parameters":
            self.facts.randomise_all.add(self.scope.cls.name if self.scope.cls else "")
        if name:
            self.facts.randomised.add(name.rsplit(".", 1)[-1])

    def _loop_over(self, target: cst.BaseExpression) -> Optional[Loop]:
        name = dotted_name(target)
        for loop in reversed(self.loops):
            if name is not None and loop.item is not None and (name == loop.item or name.startswith(loop.item + ".")):
                return loop
        return None

    def _add_site(self, kind, node, target, how, value, text) -> Optional[Site]:
        target = exprs.strip_data(target)
        name = dotted_name(target)
        if name is None:
            if isinstance(target, (cst.Subscript, cst.Attribute)):
                name = exprs.code(target)  # `w[0]`, `self.gate[0].weight`: the model reads the node
            else:
                return None
        self.order += 1
        site = Site(
            kind=kind,
            node=node,
            target=target,
            target_name=name,
            how=how,
            value=value,
            value_text=text,
            scope=self.scope,
            loops=tuple(self.loops),
            guards=tuple(self.guards),
            order=self.order,
            in_test=self.tests > 0,
        )
        self.facts.sites.append(site)
        if self.statement is not None:
            self.statement.append(site)
        return site


# Methods that return their receiver's values (for a constant tensor: the same constant).
_KEEP_VALUE = frozenset({"requires_grad_", "to", "float", "double", "half", "cuda", "bfloat16", "clone", "detach", "contiguous", "cpu"})
# Calls that return a number.
_SCALAR_CALLS = frozenset({"float", "int", "len", "round", "abs", "min", "max"})


def _is_test(name: str, prefix: str) -> bool:
    """pytest's default discovery: `test*` functions, `Test*` classes."""
    return name.startswith(prefix)


def _writes_values(target: cst.BaseExpression) -> bool:
    """`x.weight = ...`, `x.bias = ...`, `x.data = ...`: a write of a parameter's values."""
    return isinstance(target, cst.Attribute) and target.attr.value in torch_api.WRITTEN_TENSOR_ATTRS


def _is_scalar(node: cst.BaseExpression) -> bool:
    """An expression that, as code writes scales, is a number: a literal, a name or attribute, a
    `math.*` / `float()` / `len()` call, or arithmetic and powers of those (no tensor constructor)."""
    if exprs.number(node) is not None or isinstance(node, (cst.Name, cst.Attribute)):
        return True
    if isinstance(node, cst.BinaryOperation):
        return _is_scalar(node.left) and _is_scalar(node.right)
    if isinstance(node, cst.UnaryOperation):
        return _is_scalar(node.expression)
    if isinstance(node, cst.Subscript):  # `self.kernel_size[0]`
        return isinstance(node.value, (cst.Name, cst.Attribute))
    if isinstance(node, cst.Call):
        name = dotted_name(node.func) or ""
        return (name.startswith(("math.", "np.", "numpy.")) or name in _SCALAR_CALLS) and all(_is_scalar(a.value) for a in node.args)
    return False


def _degenerate(call: cst.Call, function: str, first: int) -> Optional[Tuple[Optional[float], str]]:
    """(value, its text) when a random init draws from a distribution of one point: `normal_(w,
    m, 0)` / `std=0`, `uniform_(w, a, a)`; `first` is where the distribution's arguments start
    (1 for `nn.init.normal_(w, ...)`, 0 for `w.normal_(...)`)."""
    short = function.rsplit(".", 1)[-1]
    if short in ("normal_", "normal", "trunc_normal_"):
        std = exprs.argument(call, first + 1, "std")
        if std is not None and exprs.number(std) == 0.0:
            mean = exprs.argument(call, first, "mean")
            value = 0.0 if mean is None else exprs.number(mean)
            return value, (exprs.code(mean) if mean is not None else "0")
    elif short in ("uniform_", "uniform"):
        low, high = exprs.argument(call, first, "a" if first else "from"), exprs.argument(call, first + 1, "b" if first else "to")
        if low is not None and high is not None and exprs.code(low) == exprs.code(high):
            return exprs.number(low), exprs.code(low)
    return None


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


def collect(
    module: cst.Module, extra_init_modules=(), source: Optional[str] = None, path: str = "", lint_tests: bool = False, parsed: Optional[str] = None
) -> FileFacts:
    """Visit `module` once and return its facts. `parsed`: the text libcst parsed `module` from,
    when it is not `source` (the screen's part of it); None when unknown."""
    text = source if source is not None else module.code
    if parsed is None and source is None:
        parsed = text  # (the module's own code: what it was parsed from)
    facts = FileFacts(module=module, imports=ImportTable(extra_init_modules), source=text, path=path, lint_tests=lint_tests, parsed=parsed)
    walk.visit(module, Collector(facts))
    return facts
