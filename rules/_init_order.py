"""IL004's reading of an `__init__`: where the module tree is walked, where layers appear.

Shared by the rule (`il004_init_before_layers`) and its fix (`_init_order_fix`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple

import libcst as cst

from initlint import exprs, torch_api, walk
from initlint.facts import MODULE_ITERATORS, PARAM_ITERATORS, FileFacts
from initlint.imports import dotted_name
from initlint.rules.il004_init_before_layers import InitBeforeLayers

# IL004's fix (built by rules/_init_order_fix.py, imported only when a finding needs one).
FIX_TITLE = InitBeforeLayers.fix_title

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


@dataclass(repr=False, eq=False)
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


@dataclass(repr=False, eq=False)
class Context:
    """The function being scanned: its class and the name the model goes by in it."""

    cls: Optional[str]
    me: str
    depth: int = 0
    # Locals that hold a pretrained or loaded model (`encoder = resnet34(weights="DEFAULT")`):
    # modules taken from them are not fresh layers.
    loaded: Set[str] = field(default_factory=set)


def _calls(node: cst.CSTNode) -> Iterator[cst.Call]:
    """Every call in `node`, outermost and leftmost first, outside nested functions and classes."""
    call = cst.Call
    for child in _nodes(node):
        if type(child) is call:
            yield child


def _nodes(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    return walk.nodes(node, skip=(cst.FunctionDef, cst.ClassDef))


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
        self._mutates: Dict[Tuple[int, bool], bool] = {}

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
        itself or (given `ctx`) in a helper of this file it calls (`self._init_module(m)`).
        Remembered per body: a helper that calls itself (timm's `named_apply`) is read once."""
        key = (id(node), ctx is not None)
        known = self._mutates.get(key)
        if known is not None:
            return known
        self._mutates[key] = False  # (while it is being read: a recursive call adds nothing)
        result = self._mutates_now(node, ctx)
        self._mutates[key] = result
        return result

    def _mutates_now(self, node: cst.CSTNode, ctx: Optional[Context]) -> bool:
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
        if self.loaded(value, ctx):
            return True
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
            if qualname in torch_api.CONTAINERS and any(self._from_loaded(a.value, ctx) for a in value.args):
                return True  # `nn.Sequential(encoder.conv1, encoder.bn1)`: parts of a pretrained model
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

    def loaded(self, value: cst.BaseExpression, ctx: Context) -> bool:
        """The expression builds or loads a model with trained weights (`from_pretrained`,
        `pretrained=True`, `weights=...`, `torch.load`), or takes one from a local that holds one."""
        for call in exprs.calls_in(value):
            if _pretrained_arguments(call) or exprs.method_name(call) in ("from_pretrained", "load_state_dict"):
                return True
            if self.facts.resolve(call.func) in ("torch.load", "torch.hub.load", "torch.jit.load"):
                return True
        return self._from_loaded(value, ctx)

    def _from_loaded(self, value: cst.BaseExpression, ctx: Context) -> bool:
        """`encoder.layer0.conv1`, `encoder` (and `*encoder.children()`) of a loaded local."""
        for name in exprs.names_in(value):
            if name.split(".", 1)[0] in ctx.loaded:
                return True
        return False

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
                elif isinstance(target, cst.Name) and self.loaded(assigned, ctx):
                    ctx.loaded.add(target.value)
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
