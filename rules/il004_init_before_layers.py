"""IL004 init-before-layers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

import libcst as cst

from initlint import exprs, torch_api
from initlint.diagnostic import Applicability, Fix
from initlint.facts import MODULE_ITERATORS, PARAM_ITERATORS, FileFacts
from initlint.fix import move_after
from initlint.imports import dotted_name
from initlint.rule import Finding, Rule

# Calling these on the model walks its own tree.
WALKS = MODULE_ITERATORS | PARAM_ITERATORS
# Calls that read the tree's tensors or structure: running the init after them changes what they see.
READS_TREE = WALKS | {"apply", "state_dict", "load_state_dict", "buffers", "named_buffers", "copy_"}
# Attributes that are (or hold) a parameter's values.
TENSOR_ATTRS = frozenset({"weight", "bias", "data", "grad"})
# `nn.Linear(...).to(device)` is still the layer.
PASS_THROUGH = frozenset({"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "train", "eval", "requires_grad_", "type"})
# In-place methods that change flags, not values: freezing before adding a head is deliberate.
NOT_INITS = frozenset({"requires_grad_", "share_memory_", "retain_grad_"})
# Tensors a parameter can start from without values: a walk that misses them leaves garbage.
UNINITIALISED = frozenset(
    {"torch.empty", "torch.empty_like", "torch.empty_strided", "torch.Tensor", "torch.FloatTensor", "torch.cuda.FloatTensor"}
)
REGISTERS = frozenset({"add_module", "register_module", "register_parameter"})
APPENDS = frozenset({"append", "insert", "extend"})
# Builtins that take the model without doing anything to its weights.
HARMLESS = frozenset({"super", "setattr", "getattr", "hasattr", "isinstance", "len", "print", "id", "type", "repr", "str"})
COPIES = frozenset({"copy.deepcopy", "copy.copy", "deepcopy"})
# torch.nn modules without parameters: nothing for an init to miss.
PARAMETER_FREE = re.compile(
    r"(Dropout\d?d?|AlphaDropout|FeatureAlphaDropout|(Adaptive)?(Max|Avg|LP)Pool\dd|MaxUnpool\dd|Flatten|Unflatten"
    r"|Identity|ReLU6?|R?ReLU|GELU|SiLU|Mish|Sigmoid|Tanh|Softmax2d|Softmax|LogSoftmax|Softmin|Softplus|Softsign"
    r"|Hardtanh|Hardswish|Hardsigmoid|LeakyReLU|ELU|CELU|SELU|GLU|Tanhshrink|Softshrink|Hardshrink|Threshold"
    r"|LogSigmoid|Upsample\w*|PixelShuffle|PixelUnshuffle|ChannelShuffle|(Zero|Constant|Reflection|Replication|Circular)Pad\dd)"
)

# Where a statement is: one (block key, index) step per nesting level; a block key is
# (id of the compound statement, its type, which branch).
Step = Tuple[Tuple[int, str, str], int]
Path = Tuple[Step, ...]
ROOT = (0, "def", "body")
LINE = (0, "line", "line")


def follows(a: Path, b: Path) -> bool:
    """Whether the statement at `b` can run after the one at `a` (later in a shared block, not a sibling branch)."""
    for (block_a, index_a), (block_b, index_b) in zip(a, b):
        if block_a != block_b:  # two branches of one compound statement
            kind, branch_a, branch_b = block_a[1], block_a[2], block_b[2]
            if kind in ("Try", "TryStar"):
                return branch_b == "finalbody" or (branch_a == "body" and branch_b == "orelse")
            return kind in ("For", "While") and branch_a == "body" and branch_b == "orelse"
        if index_a != index_b:
            return index_b > index_a
    return False


@dataclass
class Event:
    """Something `__init__` does that matters here: runs a walk of the tree, adds a layer, loads weights."""

    kind: str  # "walker", "layer" or "load"
    path: Path
    node: cst.CSTNode
    name: str = ""  # walker: what runs; layer: the attribute; load: the attribute ("" for the whole model)
    pretrained: bool = False
    stmt: Optional[cst.CSTNode] = None  # walker: its small statement (or the `for` loop)
    via: str = "call"  # walker: "call", "loop" or "super"
    layers_before: bool = False  # walker via super: the base made layers before its walk
    base: str = ""  # walker via super: the base class whose __init__ walks
    bodies: List[Tuple[cst.CSTNode, str, Optional[str]]] = field(default_factory=list)  # (code, the model's name, class)


@dataclass
class Context:
    """The function being scanned: its class and the name the model goes by in it."""

    cls: Optional[str]
    me: str
    depth: int = 0


def _calls(node: cst.CSTNode) -> Iterator[cst.Call]:
    """Every call in `node`, outermost and leftmost first, outside nested functions and classes."""
    for child in _nodes(node):
        if isinstance(child, cst.Call):
            yield child


def _nodes(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(c for c in reversed(current.children) if not isinstance(c, (cst.FunctionDef, cst.ClassDef)))


def _receiver(call: cst.Call) -> Optional[str]:
    return dotted_name(call.func.value) if isinstance(call.func, cst.Attribute) else None


def _root_attr(node: cst.BaseExpression, me: str) -> Optional[str]:
    """`fc` for `self.fc`, `self.fc.weight`; None for anything not rooted at the model."""
    name = dotted_name(node)
    if name and name.startswith(me + "."):
        return name[len(me) + 1:].split(".", 1)[0]
    return None


def _is_literal(node: Optional[cst.BaseExpression], *values: str) -> bool:
    return isinstance(node, cst.Name) and node.value in values


def _label(call: cst.Call, me: str) -> str:
    """How a message names a call: `_initialize_weights()`, `apply(self._init_weights)`."""
    text = exprs.code(call)
    if text.startswith(me + "."):
        text = text[len(me) + 1:]
    if len(text) > 48:
        name = dotted_name(call.func) or "call"
        text = name.rsplit(".", 1)[-1] + "(...)"
    return text


def _branches(stmt: cst.BaseCompoundStatement) -> Iterator[Tuple[str, object]]:
    if isinstance(stmt, cst.If):
        yield "body", stmt.body
        if isinstance(stmt.orelse, cst.If):
            yield "orelse", [stmt.orelse]
        elif stmt.orelse is not None:
            yield "orelse", stmt.orelse.body
    elif isinstance(stmt, (cst.For, cst.While)):
        yield "body", stmt.body
        if stmt.orelse is not None:
            yield "orelse", stmt.orelse.body
    elif isinstance(stmt, cst.With):
        yield "body", stmt.body
    elif isinstance(stmt, (cst.Try, cst.TryStar)):
        yield "body", stmt.body
        for i, handler in enumerate(stmt.handlers):
            yield f"handler{i}", handler.body
        if stmt.orelse is not None:
            yield "orelse", stmt.orelse.body
        if stmt.finalbody is not None:
            yield "finalbody", stmt.finalbody.body
    elif isinstance(stmt, cst.Match):
        for i, case in enumerate(stmt.cases):
            yield f"case{i}", case.body


class _Analysis:
    """What one file's classes, methods and functions do, judged from their bodies (memoised)."""

    def __init__(self, facts: FileFacts) -> None:
        self.facts = facts
        self.functions: Dict[str, cst.FunctionDef] = {
            s.name.value: s for s in facts.module.body if isinstance(s, cst.FunctionDef)
        }
        self._walks: Dict[Tuple[int, str], bool] = {}
        self._base: Dict[str, Optional[Tuple[str, bool]]] = {}

    # ---- looking things up ---------------------------------------------------------------------
    def method(self, cls: Optional[str], name: str, seen: Optional[Set[str]] = None) -> Optional[Tuple[str, cst.FunctionDef]]:
        """(defining class, def) of `cls.name`, through the bases defined in this file."""
        seen = set() if seen is None else seen
        info = self.facts.classes.get(cls or "")
        if info is None or info.name in seen:
            return None
        seen.add(info.name)
        if name in info.methods:
            return info.name, info.methods[name]
        for base in info.bases:
            found = self.method(base, name, seen)
            if found is not None:
                return found
        return None

    def callee(self, call: cst.Call, ctx: Context) -> Optional[Tuple[cst.FunctionDef, str, Optional[str]]]:
        """(def, the name the model has inside it, its class) for `self.m(...)` or `f(self, ...)` of this file."""
        func = call.func
        if isinstance(func, cst.Attribute) and _receiver(call) == ctx.me:
            found = self.method(ctx.cls, func.attr.value)
            if found is not None and found[1].params.params:
                return found[1], found[1].params.params[0].name.value, found[0]
        elif isinstance(func, cst.Name) and func.value in self.functions:
            fn = self.functions[func.value]
            params = fn.params.params
            for i, arg in enumerate(call.args):
                if _is_literal(arg.value, ctx.me) and not arg.star:
                    if arg.keyword is not None:
                        return fn, arg.keyword.value, None
                    if i < len(params):
                        return fn, params[i].name.value, None
        return None

    # ---- does a body walk the tree? --------------------------------------------------------------
    def walks(self, fn: cst.CSTNode, me: str, cls: Optional[str], depth: int = 0) -> bool:
        """The code iterates the model's modules/parameters and changes them, or calls `.apply` on it,
        itself or through up to two levels of calls to methods / functions of this file."""
        key = (id(fn), me)
        if key in self._walks:
            return self._walks[key]
        self._walks[key] = False  # recursion guard
        body = fn.body if isinstance(fn, cst.FunctionDef) else fn
        ctx = Context(cls, me, depth)
        iterates = found = False
        for call in _calls(body):
            method = exprs.method_name(call)
            if _receiver(call) == me and method == "apply":
                found = True
                break
            if _receiver(call) == me and method in WALKS:
                iterates = True
            elif depth < 2:
                target = self.callee(call, ctx)
                if target is not None and self.walks(target[0], target[1], target[2], depth + 1):
                    found = True
                    break
        result = found or (iterates and self.mutates(body, ctx))
        self._walks[key] = result
        return result

    def initialises(self, call: cst.Call) -> bool:
        """An nn.init function, an in-place tensor method (`normal_`, `zero_`), `reset_parameters()`, or a
        function named like one (timm's `trunc_normal_`); freezing (`requires_grad_`) is not an init."""
        if torch_api.is_init_function(self.facts.resolve(call.func)):
            return True
        name = (dotted_name(call.func) or "").rsplit(".", 1)[-1] or exprs.method_name(call) or ""
        if name in ("reset_parameters", "_reset_parameters"):
            return True
        return name.endswith("_") and not name.startswith("_") and name not in NOT_INITS

    def mutates(self, node: cst.CSTNode, ctx: Optional[Context] = None) -> bool:
        """The code changes tensor values: an init call (see `initialises`) or a weight/bias/data assignment,
        itself or (given `ctx`) in a helper of this file it calls (`self._init_module(m)`)."""
        for child in _nodes(node):
            if isinstance(child, cst.Call):
                if self.initialises(child):
                    return True
                helper = self._helper(child, ctx)
                if helper is not None and self.mutates(helper.body):
                    return True
            targets: Sequence[cst.BaseExpression] = ()
            if isinstance(child, cst.Assign):
                targets = [t.target for t in child.targets]
            elif isinstance(child, (cst.AugAssign, cst.AnnAssign)):
                targets = [child.target]
            for target in targets:
                if isinstance(target, cst.Subscript):
                    return True
                if isinstance(target, cst.Attribute) and target.attr.value in TENSOR_ATTRS:
                    return True
        return False

    def _helper(self, call: cst.Call, ctx: Optional[Context]) -> Optional[cst.FunctionDef]:
        """The def of `self.m(...)` or `f(...)` of this file, for a one-level look inside."""
        if ctx is not None and isinstance(call.func, cst.Attribute) and _receiver(call) == ctx.me:
            found = self.method(ctx.cls, call.func.attr.value)
            return found[1] if found is not None else None
        if isinstance(call.func, cst.Name):
            return self.functions.get(call.func.value)
        return None

    def walker(self, call: cst.Call, ctx: Context) -> Optional[Event]:
        """An Event for a call that walks the tree (without its path), else None."""
        base = self._super_init(call, ctx)
        if base is not None:
            base_cls, base_init = base
            judged = self.base_walks(base_cls, base_init)
            if judged is None:
                return None
            inner, before = judged
            label = f"{inner} (run by {base_cls}.__init__)"
            return Event("walker", (), call, label, via="super", layers_before=before, base=base_cls)
        if _receiver(call) == ctx.me and exprs.method_name(call) == "apply" and call.args:
            event = Event("walker", (), call, _label(call, ctx.me), bodies=[(call, ctx.me, ctx.cls)])
            applied = call.args[0].value
            if isinstance(applied, cst.Attribute) and dotted_name(applied.value) == ctx.me:
                found = self.method(ctx.cls, applied.attr.value)
                if found is not None and found[1].params.params:
                    event.bodies.append((found[1], found[1].params.params[0].name.value, found[0]))
            return event
        target = self.callee(call, ctx)
        if target is not None and self.walks(*target):
            return Event("walker", (), call, _label(call, ctx.me), bodies=[(call, ctx.me, ctx.cls), target])
        return None

    def _super_init(self, call: cst.Call, ctx: Context) -> Optional[Tuple[str, cst.FunctionDef]]:
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "__init__"):
            return None
        owner = func.value
        is_super = isinstance(owner, cst.Call) and _is_literal(owner.func, "super")
        info = self.facts.classes.get(ctx.cls or "")
        if info is None:
            return None
        if is_super:  # the next class in the MRO, when it is a class of this file
            first = info.bases[0] if info.bases else None
            if first is None or first not in self.facts.classes:
                return None
            return self.method(first, "__init__")
        name = dotted_name(owner)
        if name in info.bases and name in self.facts.classes:
            return self.method(name, "__init__")
        return None

    def base_walks(self, cls: str, init: cst.FunctionDef) -> Optional[Tuple[str, bool]]:
        """(what walks, whether layers came first) when a base's `__init__` walks the tree."""
        if cls in self._base:
            return self._base[cls]
        self._base[cls] = None  # recursion guard
        result = None
        if init.params.params:
            events = self.scan(init, Context(cls, init.params.params[0].name.value, depth=1))
            for event in events:
                if event.kind == "walker":
                    before = event.layers_before or any(
                        e.kind == "layer" and follows(e.path, event.path) for e in events
                    )
                    inner = event.name.split(" (run by ", 1)[0]
                    result = (inner, before)
                    break
        self._base[cls] = result
        return result

    # ---- what is a layer ------------------------------------------------------------------------
    def module_value(self, value: cst.BaseExpression, ctx: Context, depth: int = 0) -> Optional[bool]:
        """None when `value` is not a submodule or parameter; else whether it arrives pretrained."""
        if not isinstance(value, cst.Call):
            return None
        pretrained = _pretrained_arguments(value)
        func = value.func
        if isinstance(func, cst.Attribute):
            if func.attr.value == "from_pretrained":
                return True
            if func.attr.value in PASS_THROUGH and isinstance(func.value, cst.Call):
                return self.module_value(func.value, ctx, depth)
        qualname = self.facts.resolve(func)
        if qualname is not None:
            short = qualname.rsplit(".", 1)[-1]
            if qualname.startswith("torch.nn.utils.") and value.args:
                return self.module_value(value.args[0].value, ctx, depth)
            if qualname in torch_api.PARAMETER:
                return pretrained if self._uninitialised(value, qualname) else None
            if (qualname.count(".") == 2 and qualname.startswith("torch.nn.") and short[:1].isupper()):
                return None if PARAMETER_FREE.fullmatch(short) else pretrained
            if qualname == "torch.hub.load":
                return not _is_literal(exprs.keyword(value, "pretrained"), "False")
            if qualname.startswith(("torchvision.models.", "transformers.")) or qualname == "timm.create_model":
                return pretrained
            if qualname in self.facts.classes and self.facts.is_module_class(qualname):
                return pretrained
        if depth == 0:  # `self._make_layer(...)`: judged by what the method returns
            target = self.callee(value, ctx)
            if target is not None and isinstance(target[0], cst.FunctionDef):
                inner = Context(target[2], target[1], depth=1)
                for node in _nodes(target[0].body):
                    if isinstance(node, cst.Return) and node.value is not None:
                        judged = self.module_value(node.value, inner, 1)
                        if judged is not None:
                            return judged
        return None

    def _uninitialised(self, parameter: cst.Call, qualname: str) -> bool:
        """A parameter built from `torch.empty(...)` & co. (a parameter given values carries its own init)."""
        if qualname.endswith("UninitializedParameter"):
            return True
        data = exprs.argument(parameter, 0, "data")
        if data is None:
            return True  # nn.Parameter() is an empty tensor
        for call in exprs.calls_in(data):
            if self.facts.resolve(call.func) in UNINITIALISED or exprs.method_name(call) == "new_empty":
                return True
        return False

    # ---- scanning __init__ ------------------------------------------------------------------------
    def scan(self, fn: cst.FunctionDef, ctx: Context) -> List[Event]:
        """Every walk, layer and load in a function, with where it happens."""
        events: List[Event] = []
        self._suite(fn.body, (), ROOT, events, ctx)
        return events

    def _suite(self, suite: object, prefix: Path, key, events: List[Event], ctx: Context) -> None:
        if isinstance(suite, cst.SimpleStatementSuite):
            self._line(suite.body, prefix + ((key, 0),), events, ctx)
            return
        statements = suite if isinstance(suite, list) else suite.body  # type: ignore[attr-defined]
        for i, stmt in enumerate(statements):
            path = prefix + ((key, i),)
            if isinstance(stmt, cst.SimpleStatementLine):
                self._line(stmt.body, path, events, ctx)
            elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                continue
            elif isinstance(stmt, cst.For) and self._loop_walks(stmt, ctx):
                label = f"the loop over {exprs.code(stmt.iter)}"
                events.append(Event("walker", path, stmt, label, stmt=stmt, via="loop", bodies=[(stmt, ctx.me, ctx.cls)]))
            else:
                for branch, body in _branches(stmt):
                    self._suite(body, path, (id(stmt), type(stmt).__name__, branch), events, ctx)

    def _loop_walks(self, stmt: cst.For, ctx: Context) -> bool:
        it = stmt.iter
        while isinstance(it, cst.Call) and _is_literal(it.func, "enumerate", "list", "tuple", "reversed") and it.args:
            it = it.args[0].value
        return (
            isinstance(it, cst.Call)
            and _receiver(it) == ctx.me
            and exprs.method_name(it) in WALKS
            and self.mutates(stmt.body, ctx)
        )

    def _line(self, smalls: Sequence[cst.BaseSmallStatement], path: Path, events: List[Event], ctx: Context) -> None:
        for j, small in enumerate(smalls):
            here = path + ((LINE, j),)
            value = getattr(small, "value", None)
            walker = self.walker(value, ctx) if isinstance(value, cst.Call) else None
            if walker is not None:
                walker.path, walker.stmt = here, small
                events.append(walker)
            for target, assigned in _assignments(small):
                attr = _root_attr(target, ctx.me)
                if attr is not None and dotted_name(target) == f"{ctx.me}.{attr}":
                    self._layer(attr, assigned, here, small, events, ctx)
            for call in _calls(small):
                if walker is not None and call is walker.node:
                    continue
                self._call(call, here, events, ctx)

    def _initialised_here(self, call: cst.Call, ctx: Context) -> Set[str]:
        """The layers a call initialises by name: `self.head.apply(fn)`, `nn.init.zeros_(self.fc.bias)`,
        `self.fc.weight.data.normal_()`, `self._init_module(self.fc)` (a helper of this file that inits)."""
        receiver = call.func.value if isinstance(call.func, cst.Attribute) else None
        if receiver is not None and _root_attr(receiver, ctx.me) and (exprs.method_name(call) == "apply" or self.initialises(call)):
            return {_root_attr(receiver, ctx.me) or ""}
        attrs = {_root_attr(a.value, ctx.me) for a in call.args} - {None}
        if not attrs:
            return set()
        if (receiver is None and self.initialises(call)) or torch_api.is_init_function(self.facts.resolve(call.func)):
            return {_root_attr(call.args[0].value, ctx.me)} - {None}  # type: ignore[return-value]
        target = self.callee(call, ctx)
        if target is not None and self.mutates(target[0].body):
            return attrs  # type: ignore[return-value]
        return set()

    def _layer(self, name: str, value: cst.BaseExpression, path: Path, node: cst.CSTNode, events: List[Event], ctx: Context) -> None:
        pretrained = self.module_value(value, ctx)
        if pretrained is not None:
            events.append(Event("layer", path, node, name, pretrained=pretrained))

    def _call(self, call: cst.Call, path: Path, events: List[Event], ctx: Context) -> None:
        method = exprs.method_name(call)
        receiver = _receiver(call)
        args = exprs.positional(call)
        for attr in self._initialised_here(call, ctx):
            events.append(Event("init", path, call, attr))
        if receiver == ctx.me and method in REGISTERS and len(args) >= 2:
            self._layer(_attribute_name(args[0].value), args[1].value, path, call, events, ctx)
        elif _is_literal(call.func, "setattr") and len(args) == 3 and _is_literal(args[0].value, ctx.me):
            self._layer(_attribute_name(args[1].value), args[2].value, path, call, events, ctx)
        elif method in APPENDS and receiver and _root_attr(call.func.value, ctx.me) and args:  # type: ignore[union-attr]
            attr = _root_attr(call.func.value, ctx.me)  # type: ignore[union-attr]
            for arg in args:
                self._layer(attr or "", arg.value, path, call, events, ctx)
        elif method == "load_state_dict" and receiver and (receiver == ctx.me or receiver.startswith(ctx.me + ".")):
            events.append(Event("load", path, call, _root_attr(call.func.value, ctx.me) or ""))  # type: ignore[union-attr]
        elif ctx.depth == 0:
            # A helper that builds (or loads) layers: its layers count as made at the call.
            target = self.callee(call, ctx)
            if target is not None and isinstance(target[0], cst.FunctionDef) and not self.walks(*target):
                inner = self.scan(target[0], Context(target[2], target[1], depth=1))
                loads = [e for e in inner if e.kind == "load"]
                for event in inner:
                    if event.kind == "load":
                        events.append(Event("load", path, call, event.name))
                    elif event.kind == "layer":
                        done = event.pretrained or any(
                            follows(event.path, e.path) and e.name in ("", event.name) for e in loads
                        )
                        events.append(Event("layer", path, call, event.name, pretrained=done))


def _assignments(small: cst.BaseSmallStatement) -> Iterator[Tuple[cst.BaseExpression, cst.BaseExpression]]:
    """(target, value) pairs of an assignment, unpacking `a, b = x, y`."""
    if isinstance(small, cst.Assign):
        for target in small.targets:
            yield from _pairs(target.target, small.value)
    elif isinstance(small, cst.AnnAssign) and small.value is not None:
        yield small.target, small.value


def _pairs(target: cst.BaseExpression, value: cst.BaseExpression) -> Iterator[Tuple[cst.BaseExpression, cst.BaseExpression]]:
    if isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List)):
        if len(target.elements) == len(value.elements):
            for t, v in zip(target.elements, value.elements):
                yield from _pairs(t.value, v.value)
        return
    yield target, value


def _pretrained_arguments(call: cst.Call) -> bool:
    """`pretrained=<anything but False/None>` or `weights=<anything but None>`: weights come loaded."""
    flag = exprs.keyword(call, "pretrained")
    if flag is not None and not _is_literal(flag, "False", "None"):
        return True
    weights = exprs.keyword(call, "weights")
    return weights is not None and not _is_literal(weights, "None")


def _keyword(stmt: cst.CSTNode) -> str:
    return {"If": "if", "For": "for", "While": "while", "With": "with", "Try": "try", "TryStar": "try", "Match": "match"}.get(
        type(stmt).__name__, type(stmt).__name__.lower()
    )


def _attribute_name(node: cst.BaseExpression) -> str:
    """The name a registration call gives: `"head"` -> head, `f"fc{i}"` -> fc{i}."""
    literal = exprs.literal_string(node)
    if literal is not None:
        return literal
    if isinstance(node, cst.FormattedString):
        return exprs.code(node)[len(node.start) : -len(node.end)]
    return exprs.code(node)


def _names_list(names: Sequence[str], limit: int = 6) -> str:
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


class InitBeforeLayers(Rule):
    """
    ## What it does
    Flags an initialisation that walks the model's own tree (`self.apply(fn)`, or a method or
    function that loops over `self.modules()` / `self.parameters()` and changes what it finds)
    when `__init__` runs it before assigning the layers it is meant to initialise.

    A method is judged by its body, not by its name: `self.reset_parameters()`,
    `self._initialize_weights()` or `init(self)` (a function of the file) all count when they walk
    the tree, following up to two levels of calls. A base class whose `__init__` runs such a walk is
    flagged at the subclass's `super().__init__()` call when the subclass assigns layers after it:
    that is the line that starts the walk too early for the subclass, and the base class on its
    own may be correct.

    What counts as a layer: a `torch.nn` module with parameters (not `Dropout`, pooling or
    activations), `nn.Sequential` / `ModuleList` / `ModuleDict`, a module class of the same file,
    a helper of the file that returns one (`self._make_layer(...)`), and an `nn.Parameter` built
    without values (`torch.empty(...)`); also when registered with `setattr`, `add_module`,
    `register_parameter` or `.append`. A layer is not missed when a later statement initialises it
    by name (`self.head.apply(fn)`, `nn.init.zeros_(self.fc.bias)`) or a later walk covers it.

    ## Why is this bad?
    `self.modules()` only yields the layers that exist when it runs. Called first, the walk sees
    the model alone and initialises nothing; every layer keeps PyTorch's default init and nothing
    ever fails, so the chosen scheme (Kaiming for ReLU convolutions, `normal(0, 0.01)` heads, zero
    biases) silently never happens. A gradient check cannot see it: the weights are healthy, just
    not the ones the author chose.

    ## Known problems
    Only `__init__` bodies are read, with the helpers they call in the same file; layers created
    by code in other files are not seen. Modules built with `pretrained=`, `weights=` (not None),
    `from_pretrained(...)` or loaded with `load_state_dict(...)` afterwards are taken to be
    pretrained on purpose, even when the flag is a variable that may be False. A parameter given
    values at creation (`nn.Parameter(torch.zeros(d))`) is taken to carry its own init. A walk
    only counts when it changes values: loops that only count or freeze parameters
    (`requires_grad_(False)`) are not inits. A base class `__init__` that runs its init only
    under a flag is flagged even when the subclass passes the flag as False.

    ## Example
    ```python
    class LeNet(nn.Module):
        def __init__(self, init_weights=True):
            super().__init__()
            if init_weights:
                self._initialize_weights()  # sees no layers yet
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)

        def _initialize_weights(self):
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
    ```

    ## Use instead
    ```python
    class LeNet(nn.Module):
        def __init__(self, init_weights=True):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            if init_weights:
                self._initialize_weights()
    ```

    ## Fix safety
    The fix moves the call (with its `if` guard and the comment lines above it) to just after the
    statement that assigns the last layer it misses, at the indentation of `__init__`'s body.
    The move is the intended change in behaviour: the init now reaches the layers (and draws its
    random numbers after theirs, so the weights of a seeded run differ from before).

    It is **safe** when the moved code is a plain call statement, or an `if` whose test only reads
    names that the statements it moves past do not assign, so that the guard decides the same way.
    It is **unsafe** (applied only with `--unsafe-fixes`) when the test calls something or reads a
    name those statements assign, when the call's arguments read such a name, or when the walk is a
    `for` loop written inline in `__init__`.

    No fix is offered when moving could change more than which layers the init reaches: when the
    statements it would move past use a layer's `.weight` / `.bias` / `.data` (weight tying, copies,
    explicit per-layer inits the walk would overwrite), call `parameters()`, `modules()`,
    `state_dict()`, `load_state_dict()`, `apply()` or `deepcopy`, read an attribute the init sets,
    set one it reads, pass the model to code outside the file, return early, assign a pretrained
    module, or run another init; when the call is not a statement of its own directly in
    `__init__` (inside a loop, a `with`, an `if` with other statements or an `else`); and when the
    walk runs inside a base class's `__init__`. The diagnostic then says why.

    ## References
    - PyTorch docs, `torch.nn.Module.apply` and `torch.nn.Module.modules`
    - torchvision's VGG and ResNet, which call their init loop at the end of `__init__`
    """

    code = "IL004"
    name = "init-before-layers"
    message = "{init} runs before {layers} {verb} assigned: {consequence}"
    fix_title = "Move the init call to the end of __init__, after the last layer"
    fixable = True
    invalid = (
        "import torch.nn as nn\n"
        "class LeNet(nn.Module):\n"
        "    def __init__(self, init_weights=True):\n"
        "        super().__init__()\n"
        "        if init_weights:\n"
        "            self._initialize_weights()\n"
        "        self.conv1 = nn.Conv2d(1, 6, 5)\n"
        "        self.fc1 = nn.Linear(400, 120)\n"
        "    def _initialize_weights(self):\n"
        "        for m in self.modules():\n"
        "            if isinstance(m, nn.Linear):\n"
        "                nn.init.normal_(m.weight, 0, 0.01)\n",
        "from torch import nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.apply(self._init_weights)\n"
        "        self.fc = nn.Linear(4, 8)\n"
        "    def _init_weights(self, m):\n"
        "        if isinstance(m, nn.Linear):\n"
        "            nn.init.zeros_(m.bias)\n",
        "import torch\n"
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.reset_parameters()\n"
        "        self.w = nn.Parameter(torch.empty(4, 4))\n"
        "    def reset_parameters(self):\n"
        "        for p in self.parameters():\n"
        "            nn.init.uniform_(p, -0.1, 0.1)\n",
    )
    valid = (
        "import torch.nn as nn\n"
        "class LeNet(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv1 = nn.Conv2d(1, 6, 5)\n"
        "        self.fc1 = nn.Linear(400, 120)\n"
        "        self._initialize_weights()\n"
        "    def _initialize_weights(self):\n"
        "        for m in self.modules():\n"
        "            nn.init.zeros_(m.bias)\n",
        "import torch.nn as nn\n"
        "import torchvision\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.head = nn.Linear(512, 10)\n"
        "        self.apply(init_fn)\n"
        "        self.backbone = torchvision.models.resnet18(weights='DEFAULT')\n",
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(4, 8)\n"
        "        self.count_parameters()\n"
        "        self.out = nn.Linear(8, 1)\n"
        "    def count_parameters(self):\n"
        "        return sum(p.numel() for p in self.parameters())\n",
    )

    def check(self, facts: FileFacts) -> Iterable[Finding]:
        analysis = _Analysis(facts)
        for name, info in facts.classes.items():
            init = info.methods.get("__init__")
            if init is None or not init.params.params or not facts.is_module_class(name):
                continue
            ctx = Context(name, init.params.params[0].name.value)
            events = analysis.scan(init, ctx)
            walkers = [e for e in events if e.kind == "walker"]
            if not walkers:
                continue
            layers = [e for e in events if e.kind == "layer"]
            loads = [e for e in events if e.kind == "load"]
            inits = [e for e in events if e.kind == "init"]
            for walker in walkers:
                missed = [
                    layer
                    for layer in layers
                    if follows(walker.path, layer.path)
                    and not any(follows(layer.path, w.path) for w in walkers)
                    and not any(follows(layer.path, i.path) and i.name == layer.name for i in inits)
                    and not _pretrained(layer, loads)
                ]
                if not missed:
                    continue
                before = walker.layers_before or any(follows(layer.path, walker.path) for layer in layers)
                fix, reason = _Mover(analysis, init, ctx, events).fix(walker, missed)
                yield Finding(walker.node, _message(walker, missed, before), fix=fix, no_fix_reason=reason)


def _pretrained(layer: Event, loads: Sequence[Event]) -> bool:
    return layer.pretrained or any(
        (follows(layer.path, load.path) or load.path == layer.path) and load.name in ("", layer.name) for load in loads
    )


def _message(walker: Event, missed: Sequence[Event], before: bool) -> str:
    names = list(dict.fromkeys(layer.name for layer in missed))
    one = len(names) == 1
    if before:
        consequence = "it misses it" if one else "it misses them"
    else:
        consequence = "it does not initialise it" if one else "it initialises none of them"
    return InitBeforeLayers.message.format(
        init=walker.name, layers=_names_list(names), verb="is" if one else "are", consequence=consequence
    )


class _Mover:
    """Builds the fix that moves a walk after the last layer it misses, or says why it cannot."""

    def __init__(self, analysis: _Analysis, init: cst.FunctionDef, ctx: Context, events: Sequence[Event]) -> None:
        self.analysis = analysis
        self.facts = analysis.facts
        self.init = init
        self.ctx = ctx
        self.events = events

    def fix(self, walker: Event, missed: Sequence[Event]) -> Tuple[Optional[Fix], Optional[str]]:
        if walker.via == "super":
            return None, f"the init runs inside {walker.base}.__init__; call it again at the end of {self.ctx.cls}.__init__"
        body = self.init.body
        if not isinstance(body, cst.IndentedBlock):
            return None, "__init__ is written on one line; move the call by hand"
        top = walker.path[0][1]
        stmt = body.body[top]
        kind, why = self._movable(stmt, walker)
        if kind is None:
            return None, why
        last = max(layer.path[0][1] for layer in missed)
        jumped = list(body.body[top + 1 : last + 1])
        why = self._blocker(walker, top, last, jumped)
        if why is not None:
            return None, why
        edits = move_after(self.facts, stmt, body.body[last])
        return Fix(title=InitBeforeLayers.fix_title, edits=edits, applicability=self._applicability(stmt, kind, walker, jumped)), None

    def _movable(self, stmt: cst.CSTNode, walker: Event) -> Tuple[Optional[str], str]:
        """("call" | "guarded" | "loop", "") for a block the fix can move whole, else (None, why not)."""
        by_hand = "; move it by hand"
        if walker.via == "loop":
            return ("loop", "") if stmt is walker.stmt else (None, "the loop is nested in another statement" + by_hand)
        if not isinstance(walker.stmt, cst.Expr):
            return None, "the call's result is used" + by_hand
        if isinstance(stmt, cst.SimpleStatementLine):
            return ("call", "") if len(stmt.body) == 1 else (None, "the call shares its line with other statements" + by_hand)
        if not isinstance(stmt, cst.If) or len(walker.path) != 3:
            return None, f"the call is inside a `{_keyword(stmt)}` block" + by_hand
        if stmt.orelse is not None:
            return None, "the `if` around the call has an `else`" + by_hand
        inner = stmt.body
        if isinstance(inner, cst.SimpleStatementSuite):
            smalls: Sequence[cst.BaseSmallStatement] = inner.body
        elif len(inner.body) == 1 and isinstance(inner.body[0], cst.SimpleStatementLine):
            smalls = inner.body[0].body
        else:
            return None, "the `if` around the call holds other statements" + by_hand
        if len(smalls) != 1 or smalls[0] is not walker.stmt:
            return None, "the `if` around the call holds other statements" + by_hand
        return "guarded", ""

    # ---- what the move would jump over ------------------------------------------------------------
    def _blocker(self, walker: Event, top: int, last: int, jumped: Sequence[cst.CSTNode]) -> Optional[str]:
        for event in self.events:
            if not top < event.path[0][1] <= last or event is walker:
                continue
            if event.kind == "walker":
                return self._past(event.node, f"runs another init ({event.name})")
            if event.kind == "layer" and event.pretrained:
                return self._past(event.node, f"assigns the pretrained {event.name}, which the init would overwrite")
        assigned, read = self._effects(walker)
        for stmt in jumped:
            found = self._reads(stmt, self.ctx, assigned, read, 0)
            if found is not None:
                return self._past(found[0], found[1])
        return None

    def _past(self, node: cst.CSTNode, what: str) -> str:
        return f"it would have to move past line {self.facts.range_of(node).start.line}, which {what}"

    def _effects(self, walker: Event) -> Tuple[Set[str], Set[str]]:
        """Attributes of the model the init sets and reads (`self.<attr>`), through its calls."""
        assigned: Set[str] = set()
        read: Set[str] = set()
        seen: Set[Tuple[int, str]] = set()
        todo = list(walker.bodies)
        while todo:
            code, me, cls = todo.pop()
            if (id(code), me) in seen or len(seen) > 20:
                continue
            seen.add((id(code), me))
            methods = set(self.facts.classes[cls].methods) if cls in self.facts.classes else set()
            for node in _nodes(code.body if isinstance(code, cst.FunctionDef) else code):
                for target, _ in _assignments(node) if isinstance(node, cst.BaseSmallStatement) else ():
                    attr = _root_attr(target, me)
                    if attr:
                        assigned.add(attr)
                if isinstance(node, cst.Attribute) and _is_literal(node.value, me) and node.attr.value not in methods | READS_TREE:
                    read.add(node.attr.value)
                if isinstance(node, cst.Call):
                    target = self.analysis.callee(node, Context(cls, me))
                    if target is not None:
                        todo.append(target)
        return assigned, read

    def _reads(self, stmt: cst.CSTNode, ctx: Context, assigned: Set[str], read: Set[str], depth: int) -> Optional[Tuple[cst.CSTNode, str]]:
        """The first thing in `stmt` whose outcome depends on when the init runs, and what it does."""
        me = ctx.me
        # `self.weight = nn.Parameter(...)` makes a layer the init is meant to reach: not a use.
        made = {
            id(target)
            for node in _nodes(stmt)
            if isinstance(node, cst.BaseSmallStatement)
            for target, value in _assignments(node)
            if self.analysis.module_value(value, ctx) is not None
        }
        for node in _nodes(stmt):
            if isinstance(node, cst.Return):
                return node, "returns early"
            if isinstance(node, cst.Attribute) and id(node) not in made:
                attr = node.attr.value
                if attr in TENSOR_ATTRS or attr.startswith(("weight_", "bias_")):
                    return node, f"uses {exprs.code(node)}"
                if _is_literal(node.value, me) and attr in assigned:
                    return node, f"reads {me}.{attr}, which the init sets"
            elif isinstance(node, cst.BaseSmallStatement):
                for target, value in _assignments(node):
                    attr = _root_attr(target, me)
                    if attr in read and dotted_name(target) == f"{me}.{attr}" and self.analysis.module_value(value, ctx) is None:
                        return node, f"sets {me}.{attr}, which the init reads"
            elif isinstance(node, cst.Call):
                found = self._call_reads(node, ctx, assigned, read, depth)
                if found is not None:
                    return found
        return None

    def _call_reads(self, call: cst.Call, ctx: Context, assigned: Set[str], read: Set[str], depth: int) -> Optional[Tuple[cst.CSTNode, str]]:
        method = exprs.method_name(call)
        if method in READS_TREE:
            return call, f"calls {exprs.code(call.func)}()"
        qualname = self.facts.resolve(call.func) or dotted_name(call.func)
        if qualname in COPIES:
            return call, f"copies with {qualname}()"
        target = self.analysis.callee(call, ctx)
        if target is not None:
            if depth >= 1:
                return None
            inner = self._reads(target[0].body, Context(target[2], target[1]), assigned, read, depth + 1)
            if inner is not None:
                return call, f"calls {_label(call, ctx.me)}, which {inner[1]}"
            return None
        if any(_is_literal(a.value, ctx.me) for a in call.args) and qualname not in HARMLESS:
            return call, f"passes {ctx.me} to {exprs.code(call.func)}()"
        return None

    # ---- applicability and edits ----------------------------------------------------------------
    def _applicability(self, stmt: cst.CSTNode, kind: str, walker: Event, jumped: Sequence[cst.CSTNode]) -> Applicability:
        if kind == "loop":
            return Applicability.UNSAFE
        assigned: Set[str] = set()
        for node in jumped:
            for child in _nodes(node):
                assigned |= _bound_names(child)
        reads = set()
        if isinstance(walker.node, cst.Call):
            for arg in walker.node.args:
                reads |= exprs.names_in(arg.value)
        if kind == "guarded":
            test = stmt.test  # type: ignore[attr-defined]
            if any(isinstance(n, (cst.Call, cst.Await, cst.NamedExpr, cst.Yield)) for n in _nodes(test)):
                return Applicability.UNSAFE
            reads |= exprs.names_in(test)
        reads.discard(self.ctx.me)  # passing the model itself reads no reassigned name
        for name in reads:
            for bound in assigned:
                if name == bound or name.startswith(bound + ".") or bound.startswith(name + "."):
                    return Applicability.UNSAFE
        return Applicability.SAFE


def _bound_names(node: cst.CSTNode) -> Set[str]:
    """Dotted names a statement binds (assignment, loop and `with` targets, imports, definitions)."""
    targets: List[cst.CSTNode] = []
    if isinstance(node, cst.Assign):
        targets = [t.target for t in node.targets]
    elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.For)):
        targets = [node.target]
    elif isinstance(node, cst.NamedExpr):
        targets = [node.target]
    elif isinstance(node, cst.WithItem) and node.asname is not None:
        targets = [node.asname.name]
    elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        return {node.name.value}
    elif isinstance(node, (cst.Import, cst.ImportFrom)) and not isinstance(node.names, cst.ImportStar):
        names = set()
        for alias in node.names:
            bound = alias.asname.name if alias.asname is not None else alias.name
            names.add((dotted_name(bound) or "").split(".", 1)[0])  # type: ignore[arg-type]
        return names
    found: Set[str] = set()
    for target in targets:
        found |= exprs.names_in(target)
    return found
