"""The module tree of an nn.Module class, read from `__init__` (with the helpers it calls and the
`__init__` of its bases in the file): which layers exist, of what kind, inside which containers,
and where they come from (built here, or taken from a pretrained or loaded model).

Every sub-module gets a path (`fc1`, `gate.0`, `blocks.*` for n built alike, `heads.cls`). What
the code does not show is UNKNOWN: the rules make no claim about it.

Attributes assigned a plain list, tuple or dict (`self.blocks = [Block() for _ in range(n)]`)
are not sub-modules: `nn.Module` registers none of what they hold. They are kept apart, in
`Tree.plain`, as PLAIN nodes whose children are read like a container's; nothing that walks the
tree (the state, the flow) sees them, as `modules()` and `parameters()` do not. A child that is
one object placed several times (`[Block()] * n`) carries `shared_at` (see `lists`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple

import libcst as cst

from initlint import exprs, torch_api
from initlint.facts import FileFacts
from initlint.imports import dotted_name
from initlint.model.lists import Item, Loop, items_of, loop_of, shared_in_loop

# Node kinds.
LAYER = "layer"  # a torch.nn layer whose weight is a matrix of units (Linear, Conv, Bilinear)
NORM = "norm"  # a normalisation layer (weight 1 and bias 0 by default); `activation` if it applies one
EMBEDDING = "embedding"
ACT = "act"  # a parameter-free activation
FREE = "free"  # another parameter-free module (dropout, pooling, reshaping, identity, mixing)
CONTAINER = "container"  # Sequential / ModuleList / ModuleDict
LOCAL = "local"  # a module class of this file (its own tree)
PARAM = "param"  # an nn.Parameter (or a tensor created with requires_grad=True)
OPAQUE = "opaque"  # a torch.nn module with parameters the model does not look inside (attention, RNN)
UNKNOWN = "unknown"  # a module the file does not show
PLAIN = "plain"  # a plain list / tuple / dict attribute (in Tree.plain only: not registered)

# Calls that return the module they are given (`nn.Linear(...).to(device)`, `spectral_norm(conv)`).
PASS_THROUGH = frozenset({"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "train", "eval", "requires_grad_", "type"})
# Constructors whose keyword says the weights come trained.
_PRETRAINED_CALLS = ("from_pretrained", "load_state_dict", "load")
_LOADERS = frozenset({"torch.load", "torch.hub.load", "torch.jit.load", "timm.create_model"})


@dataclass(eq=False)
class Node:
    """One sub-module (or parameter) of a model."""

    path: str
    kind: str
    qualname: Optional[str] = None
    call: Optional[cst.Call] = None
    pretrained: bool = False
    children: List["Node"] = field(default_factory=list)  # a container's, in order
    activation: Optional[str] = None  # ACT, or a NORM that applies one after normalising
    bias: Optional[bool] = True  # LAYER: whether it has a bias (None: not known)
    affine: bool = True  # NORM: whether it has a weight and a bias
    units: Optional[str] = None  # LAYER: the text of its output width
    depthwise: bool = False  # a conv whose groups equal its channels: each unit reads one channel
    repeated: bool = False  # stands for several modules built alike (`[Block() for _ in range(n)]`)
    value: Optional[cst.BaseExpression] = None  # PARAM: the tensor it is created from
    where: Optional[cst.CSTNode] = None  # the statement that assigns it
    # Calls of the file's helpers that took this module and returned it (`zero_module(conv)`):
    # what they do to it runs where they are called.
    wrappers: List[cst.Call] = field(default_factory=list)
    # One object placed here several times (`[Block()] * n`, a name appended on every pass of a
    # loop): the `*` product, the `append` call or the comprehension that repeats it.
    shared_at: Optional[cst.CSTNode] = None

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    def walk(self) -> Iterator["Node"]:
        """This node and everything inside it."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(eq=False)
class Tree:
    """The sub-modules of one class, by attribute (in assignment order), and every node by path."""

    cls: str
    roots: Dict[str, Node] = field(default_factory=dict)
    # True when `__init__` (or a base's) does something the tree cannot follow (a loop of
    # setattr with computed names, a helper of another file that adds layers): nodes may be missing.
    partial: bool = False
    # Attributes assigned a plain list / tuple / dict (PLAIN nodes), by name: not sub-modules.
    plain: Dict[str, Node] = field(default_factory=dict)
    plain_items: Dict[str, List[Item]] = field(default_factory=dict)  # a plain list's items, one per child

    def nodes(self) -> Iterator[Node]:
        for root in self.roots.values():
            yield from root.walk()

    def find(self, path: str) -> Optional[Node]:
        """The node at `path` (`gate.0`, `blocks.*`); an index into a repeated child finds it."""
        head, _, rest = path.partition(".")
        node = self.roots.get(head)
        while node is not None and rest:
            head, _, rest = rest.partition(".")
            node = _child(node, head)
        return node


def _child(node: Node, key: str) -> Optional[Node]:
    for child in node.children:
        if child.name == key or child.repeated:
            return child
    if key.lstrip("-").isdigit() and node.children and not any(c.repeated for c in node.children):
        index = int(key)
        if -len(node.children) <= index < len(node.children):
            return node.children[index]
    return None


class TreeBuilder:
    """Reads the trees of a file's module classes (memoised per class)."""

    def __init__(self, facts: FileFacts) -> None:
        self.facts = facts
        self._trees: Dict[str, Tree] = {}
        self._functions = {s.name.value: s for s in facts.module.body if isinstance(s, cst.FunctionDef)}

    def tree(self, cls: str) -> Tree:
        """The tree of class `cls` of this file (empty for a class the file does not define)."""
        found = self._trees.get(cls)
        if found is None:
            found = self._trees[cls] = Tree(cls)  # (a guard against classes that contain themselves)
            _Reader(self, found).read()
        return found

    def method(self, cls: Optional[str], name: str) -> Optional[Tuple[str, cst.FunctionDef]]:
        """(defining class, def) of `cls.name` through the bases of this file."""
        seen: Set[str] = set()
        current = cls
        stack = [cls] if cls else []
        while stack:
            current = stack.pop(0)
            info = self.facts.classes.get(current or "")
            if info is None or info.name in seen:
                continue
            seen.add(info.name)
            if name in info.methods:
                return info.name, info.methods[name]
            stack.extend(info.bases)
        return None

    def function(self, name: str) -> Optional[cst.FunctionDef]:
        return self._functions.get(name)


class _Reader:
    """One class's `__init__`, statement by statement."""

    def __init__(self, builder: TreeBuilder, tree: Tree) -> None:
        self.builder, self.tree, self.facts = builder, tree, builder.facts
        self.locals: Dict[str, cst.BaseExpression] = {}
        self.lists: Dict[str, List[Item]] = {}  # local lists of modules
        # Plain list / tuple / dict attributes (`self.blocks = []`): (statement, value, items);
        # the items list is the local list's own when one is assigned, so later appends show.
        self.plain: Dict[str, Tuple[cst.CSTNode, cst.BaseExpression, List[Item]]] = {}
        self.loops: List[Loop] = []  # the loops being read, innermost last
        self.ifs = 0  # how many `if` bodies deep the statement being read is
        self.pretrained: Set[str] = set()  # locals that hold a pretrained or loaded model
        self.defaults: Dict[str, cst.BaseExpression] = {}  # parameter defaults of the function read
        self.depth = 0
        self.me, self.cls = "self", tree.cls  # the name the model has in the function read, its class

    def read(self) -> None:
        info = self.facts.classes.get(self.tree.cls)
        if info is None:
            return
        init = self.builder.method(self.tree.cls, "__init__")
        if init is None:
            return
        self._function(init[1], init[0])
        self.plain_nodes()

    def plain_nodes(self) -> None:
        """Record the plain list / tuple / dict attributes read so far in `tree.plain`."""
        for attr, (stmt, value, items) in self.plain.items():
            node = self._named(value, attr, "", None, 0) if is_dict(value) else self._sequence(items, attr, "", None, 0)
            node.kind, node.qualname, node.where, node.value = PLAIN, None, stmt, value
            self.tree.plain[attr] = node
            self.tree.plain_items[attr] = [] if is_dict(value) else list(items)

    def _function(self, fn: cst.FunctionDef, cls: Optional[str]) -> None:
        self.me = fn.params.params[0].name.value if fn.params.params else "self"
        self.cls = cls
        for param in fn.params.params[1:]:
            if param.default is not None:
                self.defaults[param.name.value] = param.default
        self._suite(fn.body)

    # ---- statements -----------------------------------------------------------------------------
    def _suite(self, suite) -> None:
        body = suite.body if isinstance(suite, (cst.IndentedBlock, cst.SimpleStatementSuite)) else suite
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    self._small(small, stmt)
            elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                continue
            elif isinstance(stmt, cst.If):
                self.ifs += 1
                self._suite(stmt.body)
                orelse = stmt.orelse
                while orelse is not None:
                    if isinstance(orelse, cst.If):
                        self._suite(orelse.body)
                        orelse = orelse.orelse
                    else:
                        self._suite(orelse.body)
                        orelse = None
                self.ifs -= 1
            elif isinstance(stmt, (cst.For, cst.While)):
                self._loop(stmt)
            elif isinstance(stmt, (cst.With, cst.Try)):
                self._suite(stmt.body)
                for handler in getattr(stmt, "handlers", ()):
                    self._suite(handler.body)
                for extra in (getattr(stmt, "orelse", None), getattr(stmt, "finalbody", None)):
                    if extra is not None:
                        self._suite(extra.body)

    def _loop(self, stmt) -> None:
        # A loop body builds modules many times: what it appends stands for n alike (changed in
        # place: a plain attribute may hold the same list).
        lists = list(self.lists.values()) + [items for _, _, items in self.plain.values()]
        before = {id(items): len(items) for items in lists}
        self.loops.append(loop_of(stmt, self.ifs))
        try:
            self._suite(stmt.body)
        finally:
            self.loops.pop()
        for items in list(self.lists.values()) + [items for _, _, items in self.plain.values()]:
            start = before.get(id(items), 0)
            items[start:] = [item._replace(many=True) for item in items[start:]]

    def _small(self, small: cst.BaseSmallStatement, stmt: cst.CSTNode) -> None:
        if isinstance(small, (cst.Assign, cst.AnnAssign)):
            targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
            value = small.value
            if value is None:
                return
            for target in targets:
                self._assign(target, value, stmt)
        elif isinstance(small, cst.AugAssign) and isinstance(small.operator, cst.AddAssign):
            items = self._list_of(small.target)
            added = self.items(small.value)
            if items is not None and added is not None:
                items.extend(self._added(added, small))
        elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            self._call(small.value, stmt)

    def _assign(self, target: cst.BaseExpression, value: cst.BaseExpression, stmt: cst.CSTNode) -> None:
        name = dotted_name(target)
        if name is None:
            return
        if name.startswith(self.me + ".") and name.count(".") == 1:
            attr = name[len(self.me) + 1:]
            self.plain.pop(attr, None)
            self._register(attr, value, stmt)
            if attr not in self.tree.roots or self.tree.roots[attr].where is not stmt:
                self._plain(attr, value, stmt)
        elif "." not in name:
            self.locals[name] = value
            # (a list stays known when the name is bound again: `layers = nn.Sequential(*layers)`)
            if not isinstance(value, (cst.Name, cst.GeneratorExp)):
                items = self.items(value)
                if items is not None:
                    self.lists[name] = items
            if self._loaded(value):
                self.pretrained.add(name)

    def _call(self, call: cst.Call, stmt: cst.CSTNode) -> None:
        method = exprs.method_name(call)
        receiver = dotted_name(call.func.value) if isinstance(call.func, cst.Attribute) else None
        args = exprs.positional(call)
        if receiver == self.me and method in ("add_module", "register_module") and len(args) >= 2:
            self._register(_label(args[0].value), args[1].value, stmt, self._shared(args[1].value, call))
        elif receiver == self.me and method == "register_parameter" and len(args) >= 2:
            self._register(_label(args[0].value), args[1].value, stmt)
        elif isinstance(call.func, cst.Name) and call.func.value == "setattr" and len(args) == 3 and dotted_name(args[0].value) == self.me:
            self._register(_label(args[1].value), args[2].value, stmt, self._shared(args[2].value, call))
        elif method in ("append", "extend", "insert") and receiver is not None and args:
            added = [Item(args[-1].value)] if method != "extend" else self.items(args[0].value) or [Item(args[0].value, True)]
            added = self._added(added, call)
            listed = self._list_of(call.func.value)  # type: ignore[attr-defined]
            if listed is not None:
                listed.extend(added)
            elif receiver.startswith(self.me + ".") and receiver.count(".") == 1:
                node = self.tree.roots.get(receiver[len(self.me) + 1:])
                if node is not None and node.kind == CONTAINER:
                    for item in added:
                        self._add_child(node, item)
        elif method == "load_state_dict" and receiver is not None:
            self._loaded_attr(receiver)
        elif method == "__init__" and isinstance(call.func, cst.Attribute):
            self._super(call)
        elif self.depth < 2:
            self._helper(call)

    def _super(self, call: cst.Call) -> None:
        """`super().__init__(...)` / `Base.__init__(self)`: the base's layers come first."""
        info = self.facts.classes.get(self.cls or "")
        if info is None:
            return
        owner = call.func.value  # type: ignore[union-attr]
        base = info.bases[0] if isinstance(owner, cst.Call) and info.bases else dotted_name(owner)
        if base is None or base not in self.facts.classes or base == self.cls:
            if base is not None and base not in self.facts.classes and not _torch_module(base):
                self.tree.partial = True  # a base of another file may add layers we do not see
            return
        for path, node in self.builder.tree(base).roots.items():
            self.tree.roots.setdefault(path, node)
        if self.builder.tree(base).partial:
            self.tree.partial = True

    def _callee_def(self, call: cst.Call) -> Optional[cst.FunctionDef]:
        """The def of `self.m(...)` (through the bases) or `f(...)` of this file."""
        if isinstance(call.func, cst.Attribute) and dotted_name(call.func.value) == self.me:
            found = self.builder.method(self.cls, call.func.attr.value)
            return found[1] if found is not None else None
        if isinstance(call.func, cst.Name):
            return self.builder.function(call.func.value)
        return None

    def _helper(self, call: cst.Call) -> None:
        """`self._build()` / `build(self)`: the layers a helper of this file assigns count here."""
        fn = self._callee_def(call)
        if isinstance(call.func, cst.Name) and fn is not None and not any(dotted_name(a.value) == self.me for a in call.args):
            fn = None  # a function not handed the model assigns none of its layers
        if fn is None or not fn.params.params:
            return
        me, saved = self.me, dict(self.defaults)
        self.depth += 1
        try:
            self.me = fn.params.params[0].name.value if isinstance(call.func, cst.Attribute) else _param_for(fn, call, self.me) or me
            self._suite(fn.body)
        finally:
            self.me, self.defaults = me, saved
            self.depth -= 1

    # ---- modules ----------------------------------------------------------------------------------
    def _register(self, attr: str, value: cst.BaseExpression, stmt: cst.CSTNode, shared: Optional[cst.CSTNode] = None) -> None:
        node = self.module(value, attr)
        if node is None:
            return
        node.where = stmt
        node.shared_at = node.shared_at or shared
        self.tree.roots[attr] = node

    # ---- lists ------------------------------------------------------------------------------------
    def items(self, value: cst.BaseExpression) -> Optional[List[Item]]:
        """What a list-like expression holds (`lists.items_of`), through local lists and plain attributes."""
        return items_of(value, self._list_of)

    def _list_of(self, value: cst.BaseExpression) -> Optional[List[Item]]:
        """The items of a local list or of a plain attribute (the list itself: adding to it adds there)."""
        name = dotted_name(value)
        if name is None:
            return None
        if name in self.lists:
            return self.lists[name]
        if name.startswith(self.me + ".") and name[len(self.me) + 1:] in self.plain:
            return self.plain[name[len(self.me) + 1:]][2]
        return None

    def _added(self, items: List[Item], where: cst.CSTNode) -> List[Item]:
        """Items added inside a loop: one object on every pass when a name the loop does not bind."""
        return [item._replace(shared=item.shared or self._shared(item.value, where)) for item in items]

    def _shared(self, value: cst.BaseExpression, where: cst.CSTNode) -> Optional[cst.CSTNode]:
        return shared_in_loop(value, self.loops, self.ifs, where)

    def _plain(self, attr: str, value: cst.BaseExpression, stmt: cst.CSTNode) -> None:
        """`self.x = [...]` / `(...)` / `{...}` / a comprehension / a local list: a plain attribute."""
        if is_dict(value):
            self.plain[attr] = (stmt, value, [])
            return
        if isinstance(value, cst.GeneratorExp):
            return  # (an iterator, not a container)
        items = self._list_of(value) if isinstance(value, cst.Name) else self.items(value)
        if items is not None:
            self.plain[attr] = (stmt, value, items)

    def _loaded(self, value: cst.BaseExpression) -> bool:
        """The expression gives a model whose weights are pretrained or loaded."""
        for call in exprs.calls_in(value):
            if _pretrained_arguments(call):
                return True
            method = exprs.method_name(call)
            if method == "from_pretrained":
                return True
            if self.facts.resolve(call.func) in _LOADERS:
                return True
        name = dotted_name(value)
        return name is not None and name.split(".", 1)[0] in self.pretrained

    def _loaded_attr(self, receiver: str) -> None:
        if receiver == self.me:
            for node in self.tree.roots.values():
                node.pretrained = True
        elif receiver.startswith(self.me + "."):
            node = self.tree.find(receiver[len(self.me) + 1:])
            if node is not None:
                for inner in node.walk():
                    inner.pretrained = True
        elif receiver in self.locals:
            self.pretrained.add(receiver)

    def module(self, value: cst.BaseExpression, path: str, depth: int = 0) -> Optional[Node]:
        """The node `value` makes at `path`, or None when it is no module or parameter."""
        if depth > 8:
            return None
        if isinstance(value, cst.Name) and value.value in self.locals and depth < 4:
            node = self.module(self.locals[value.value], path, depth + 1)
            if node is not None and value.value in self.pretrained:
                _mark_pretrained(node)
            return node
        if isinstance(value, (cst.Name, cst.Attribute)):
            name = dotted_name(value) or ""
            if name.split(".", 1)[0] in self.pretrained:
                return Node(path, UNKNOWN, pretrained=True)  # `encoder.layer0.conv1` of a loaded model
            if name.startswith(self.me + "."):
                found = self.tree.find(name[len(self.me) + 1:])
                return found  # the same module under another name (shared)
            return None
        if not isinstance(value, cst.Call):
            return None
        func = value.func
        method = exprs.method_name(value)
        if method in PASS_THROUGH and isinstance(func, cst.Attribute):
            return self.module(func.value, path, depth + 1)
        if self._loaded(value):
            node = self.module_of_call(value, path, depth) or Node(path, UNKNOWN)
            _mark_pretrained(node)
            return node
        return self.module_of_call(value, path, depth)

    def module_of_call(self, call: cst.Call, path: str, depth: int) -> Optional[Node]:
        qualname = self._callee(call.func)
        if qualname is None:
            return self._returned(call, path, depth)
        short = qualname.rsplit(".", 1)[-1]
        if qualname in torch_api.PARAMETER:
            return Node(path, PARAM, qualname, call, value=exprs.argument(call, 0, "data"))
        if qualname in torch_api.CONTAINERS:
            return self._container(qualname, call, path, depth)
        if qualname.startswith("torch.nn.utils.") and call.args:  # spectral_norm(conv), weight_norm(...)
            return self.module(call.args[0].value, path, depth + 1)
        if qualname in torch_api.MATRIX_LAYERS:
            return self._layer(qualname, call, path)
        if torch_api.is_norm_class(qualname):
            return self._norm(qualname, call, path)
        if qualname in torch_api.EMBEDDINGS:
            return Node(path, EMBEDDING, qualname, call)
        if qualname.startswith("torch.nn.") and short in torch_api.ACTIVATION_MODULES:
            return Node(path, ACT, qualname, call, activation=_activation_of(short, call))
        if qualname.startswith("torch.nn.") and (short in torch_api.RESHAPING_MODULES or short in torch_api.DROPOUT_MODULES or short in torch_api.MIXING_MODULES):
            return Node(path, FREE, qualname, call)
        if qualname in torch_api.OPAQUE_LAYERS or qualname in torch_api.RECURRENT_LAYERS:
            return Node(path, OPAQUE, qualname, call)
        if qualname in self.facts.classes:
            if self.facts.is_module_class(qualname):
                return Node(path, LOCAL, qualname, call)
            return None
        if short[:1].isupper() or qualname.startswith(("torchvision.models.", "timm.", "transformers.")):
            return Node(path, UNKNOWN, qualname, call)  # a class of another file: a module, we cannot tell what
        return self._returned(call, path, depth)

    def _callee(self, func: cst.BaseExpression) -> Optional[str]:
        """What a constructor call names: a resolved name, a class of the file, or the class a
        parameter default names (`norm_layer=nn.BatchNorm2d`, `partial(GroupNormAct, ...)`)."""
        qualname = self.facts.resolve(func)
        if qualname is not None:
            return qualname
        if isinstance(func, cst.Name) and func.value in self.defaults:
            default = self.defaults[func.value]
            if isinstance(default, cst.Call) and self.facts.resolve(default.func) == "functools.partial" and default.args:
                default = default.args[0].value
            return self.facts.resolve(default) or dotted_name(default) if isinstance(default, (cst.Name, cst.Attribute)) else None
        if isinstance(func, cst.Name) and func.value[:1].isupper():
            return func.value  # an imported or unseen class: a module we cannot look into
        return None

    def _returned(self, call: cst.Call, path: str, depth: int) -> Optional[Node]:
        """`self._make_layer(...)`, `make_block(...)`, `zero_module(nn.Conv2d(...))`: what a helper
        of this file returns (its last `return` of a module)."""
        fn = self._callee_def(call)
        # `depth` counts the nesting of this expression, `self.depth` that of the helpers read to
        # get here: a helper's body is read by a fresh reader whose expressions start again at 0,
        # so without the second bound helpers that call each other recursed without end.
        if fn is None or depth > 3 or self.depth > 3:
            return None
        returned = [node.value for node in _returns(fn) if node.value is not None]
        if not returned:
            return None
        params = [p.name.value for p in fn.params.params]
        # A helper that returns one of its arguments (`zero_module(module)`) returns that module.
        arg_nodes: Dict[str, cst.BaseExpression] = {}
        for i, arg in enumerate(call.args):
            if arg.keyword is not None:
                arg_nodes[arg.keyword.value] = arg.value
            else:
                offset = 1 if isinstance(call.func, cst.Attribute) else 0
                if i + offset < len(params):
                    arg_nodes[params[i + offset]] = arg.value
        value = returned[-1]
        if isinstance(value, cst.Name) and value.value in arg_nodes:
            node = self.module(arg_nodes[value.value], path, depth + 1)
            if node is not None:
                node.wrappers.append(call)
            return node
        inner = _Reader(self.builder, Tree(self.tree.cls))
        inner.me, inner.cls, inner.depth = self.me, self.cls, self.depth + 1
        inner.locals.update(arg_nodes)
        inner._suite(fn.body)
        node = inner.module(value, path, depth + 1)
        if node is None and isinstance(value, cst.Name) and value.value in inner.lists:
            node = inner._sequence(inner.lists[value.value], path, "torch.nn.Sequential", call, depth + 1)
        return node

    def _layer(self, qualname: str, call: cst.Call, path: str) -> Node:
        bias_arg = exprs.keyword(call, "bias")
        if isinstance(bias_arg, cst.Name) and bias_arg.value in self.defaults:
            bias_arg = self.defaults[bias_arg.value]  # `bias=bias`: the parameter's default
        bias: Optional[bool] = True
        if bias_arg is not None:
            bias = False if exprs.is_false(bias_arg) else (True if exprs.is_true(bias_arg) else None)
        node = Node(path, LAYER, qualname, call, bias=bias)
        short = qualname.rsplit(".", 1)[-1]
        if "Conv" in short:
            out = exprs.argument(call, 1, "out_channels")
            inp = exprs.argument(call, 0, "in_channels")
            groups = exprs.keyword(call, "groups")
            if groups is None and len(exprs.positional(call)) > 6:
                groups = exprs.positional(call)[6].value
            node.units = exprs.code(out) if out is not None else None
            if groups is not None and inp is not None:
                g, i = exprs.code(groups), exprs.code(inp)
                node.depthwise = g == i or (node.units is not None and g == node.units and exprs.number(groups) != 1.0)
        else:
            index = 2 if short.endswith("Bilinear") else (0 if short.startswith("Lazy") else 1)
            out = exprs.argument(call, index, "out_features")
            node.units = exprs.code(out) if out is not None else None
        return node

    def _norm(self, qualname: str, call: cst.Call, path: str) -> Node:
        short = qualname.rsplit(".", 1)[-1]
        affine = exprs.keyword(call, "affine")
        elementwise = exprs.keyword(call, "elementwise_affine")
        node = Node(path, NORM, qualname, call, affine=not (exprs.is_false(affine) or exprs.is_false(elementwise)))
        if "LocalResponse" in short:
            node.affine = False
        node.activation = _norm_activation(self.facts, short, call)
        return node

    def _container(self, qualname: str, call: cst.Call, path: str, depth: int) -> Node:
        node = Node(path, CONTAINER, qualname, call)
        args = list(call.args)
        if len(args) == 1 and not args[0].star:
            arg = args[0].value
            if isinstance(arg, cst.Dict) or (isinstance(arg, cst.Call) and (dotted_name(arg.func) or "").endswith(("OrderedDict", "dict"))):
                return self._named(arg, path, qualname, call, depth)
            items = self.items(arg)
            if items is not None:
                return self._sequence(items, path, qualname, call, depth)
            if qualname.endswith("Sequential"):
                child = self.module(arg, _sub(path, "0"), depth + 1)
                if child is not None:
                    node.children.append(child)
                    return node
        if qualname.endswith("Sequential") and all(a.keyword is None for a in args):
            # `nn.Sequential(a, b)`, `nn.Sequential(*layers)`, `nn.Sequential(stem, *[Block()] * n)`
            items: Optional[List[Item]] = []
            for a in args:
                inner = (self.items(a.value) if a.star == "*" else [Item(a.value)]) if a.star != "**" else None
                if inner is None or items is None:
                    items = None
                    break
                items.extend(inner)
            if items is not None:
                return self._sequence(items, path, qualname, call, depth)
        if args and qualname.endswith(("ModuleList", "ModuleDict")) or any(a.star for a in args):
            node.children.append(Node(_sub(path, "*"), UNKNOWN, repeated=True))  # contents the file does not show
        return node

    def _sequence(self, items: Sequence[Item], path: str, qualname: str, call: Optional[cst.Call], depth: int) -> Node:
        node = Node(path, CONTAINER, qualname, call)
        for i, item in enumerate(items):
            key = _sub(path, "*" if item.many else str(i))
            child = self.module(item.value, key, depth + 1)
            if child is None:
                child = Node(key, UNKNOWN, call=_call_of(item.value))
            child.repeated = child.repeated or item.many
            if child.path == key:  # (a module built here: not one found under another name)
                child.shared_at = child.shared_at or item.shared
            node.children.append(child)
        return node

    def _named(self, arg: cst.BaseExpression, path: str, qualname: str, call: Optional[cst.Call], depth: int) -> Node:
        node = Node(path, CONTAINER, qualname, call)
        pairs: List[Tuple[str, cst.BaseExpression]] = []
        if isinstance(arg, cst.DictComp):  # `{k: Block() for k in names}`: n alike
            child = self.module(arg.value, _sub(path, "*"), depth + 1) or Node(_sub(path, "*"), UNKNOWN)
            child.repeated = True
            node.children.append(child)
            return node
        if isinstance(arg, cst.Dict):
            for element in arg.elements:
                if isinstance(element, cst.DictElement):
                    pairs.append((_label(element.key), element.value))
        elif isinstance(arg, cst.Call) and arg.args:
            inner = arg.args[0].value
            if isinstance(inner, (cst.List, cst.Tuple)):
                for element in inner.elements:
                    pair = element.value
                    if isinstance(pair, cst.Tuple) and len(pair.elements) == 2:
                        pairs.append((_label(pair.elements[0].value), pair.elements[1].value))
            for kw in arg.args:
                if kw.keyword is not None:
                    pairs.append((kw.keyword.value, kw.value))
        for key, value in pairs:
            child = self.module(value, _sub(path, key), depth + 1) or Node(_sub(path, key), UNKNOWN, call=_call_of(value))
            node.children.append(child)
        if not pairs:
            node.children.append(Node(_sub(path, "*"), UNKNOWN, repeated=True))
        return node

    def _add_child(self, node: Node, item: Item) -> None:
        key = _sub(node.path, str(len(node.children)))
        child = self.module(item.value, key) or Node(key, UNKNOWN, call=_call_of(item.value))
        child.shared_at = child.shared_at or item.shared
        node.children.append(child)


def read_code(builder: TreeBuilder, fn: Optional[cst.FunctionDef], cls: Optional[str] = None) -> "_Reader":
    """A reader that has read a function's body (a method's with `cls`), or the module's own
    statements when `fn` is None: its locals and local lists, and what the function stores on its
    first parameter (`reader.tree`). `reader.module(expr, path)` then reads any expression of it
    (IL007 reads every container a function builds)."""
    reader = _Reader(builder, Tree(cls or "<code>"))
    if fn is None:
        reader._suite(builder.facts.module.body)
    else:
        reader._function(fn, cls)
    reader.plain_nodes()
    return reader


def _sub(path: str, key: str) -> str:
    """The path of a child: `seq.0`, or `0` in a model that is the container itself."""
    return f"{path}.{key}" if path else key


def _returns(fn: cst.FunctionDef) -> List[cst.Return]:
    from initlint import walk

    return [n for n in walk.nodes(fn.body, skip=(cst.FunctionDef, cst.ClassDef)) if isinstance(n, cst.Return)]


def _param_for(fn: cst.FunctionDef, call: cst.Call, me: str) -> Optional[str]:
    params = fn.params.params
    for i, arg in enumerate(call.args):
        if dotted_name(arg.value) == me:
            if arg.keyword is not None:
                return arg.keyword.value
            if i < len(params):
                return params[i].name.value
    return None


def _call_of(value: cst.BaseExpression) -> Optional[cst.Call]:
    """The call an UNKNOWN node was built by (`Wrapper(d)`, a class of the file that is no
    nn.Module by its bases): the rules may look at what it builds."""
    return value if isinstance(value, cst.Call) else None


def is_dict(value: cst.BaseExpression) -> bool:
    """A dict display, comprehension or `dict(...)` / `OrderedDict(...)` call."""
    if isinstance(value, (cst.Dict, cst.DictComp)):
        return True
    return isinstance(value, cst.Call) and dotted_name(value.func) in ("dict", "OrderedDict", "collections.OrderedDict")


def _label(node: cst.BaseExpression) -> str:
    literal = exprs.literal_string(node)
    if literal is not None:
        return literal
    return "*"  # a computed name (`f"layer{i}"`)


def _mark_pretrained(node: Node) -> None:
    for inner in node.walk():
        inner.pretrained = True


def _pretrained_arguments(call: cst.Call) -> bool:
    """`pretrained=<anything but False/None>` or `weights=<anything but None>`: weights come loaded."""
    flag = exprs.keyword(call, "pretrained")
    if flag is not None and not (isinstance(flag, cst.Name) and flag.value in ("False", "None")):
        return True
    weights = exprs.keyword(call, "weights")
    return weights is not None and not (isinstance(weights, cst.Name) and weights.value == "None")


def _torch_module(base: str) -> bool:
    return base in torch_api.MODULE_BASES or base.startswith("torch.nn.")


def _activation_of(short: str, call: cst.Call) -> str:
    name = torch_api.ACTIVATION_MODULES[short]
    if name == "hardtanh" and exprs.number(exprs.argument(call, 0, "min_val")) == 0.0:
        return "relu_min0"
    if name == "threshold" and exprs.number(exprs.argument(call, 0, "threshold")) != 0.0:
        return "leaky_relu"  # (nothing known at 0 for another threshold: read as a non-dead activation)
    return name


def _norm_activation(facts: FileFacts, short: str, call: cst.Call) -> Optional[str]:
    """The activation a norm layer applies after normalising, when its name or arguments say so
    (timm's BatchNormAct2d / GroupNormAct: ReLU unless `act_layer` names another or `apply_act=False`)."""
    apply_act = exprs.keyword(call, "apply_act")
    if apply_act is not None and exprs.is_false(apply_act):
        return None
    layer = exprs.keyword(call, "act_layer") or exprs.keyword(call, "act")
    if layer is not None:
        if isinstance(layer, cst.Name) and layer.value == "None":
            return None
        text = exprs.literal_string(layer)
        if text is not None:
            return text.lower().replace("-", "_") if text.lower() in torch_api.ACTIVATION_AT_ZERO else "unknown"
        qualname = facts.resolve(layer) or dotted_name(layer) or ""
        act_short = qualname.rsplit(".", 1)[-1]
        return torch_api.ACTIVATION_MODULES.get(act_short, "unknown")
    if "Act" in short:
        return "relu"  # timm's norm-act layers default to ReLU
    return None
