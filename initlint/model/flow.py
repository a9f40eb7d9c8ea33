"""The data flow of `forward` (and of `Sequential` order): what each sub-module's output feeds.

`forward` is read once, statement by statement, with an environment from names to the values
they hold; a value is the set of the sub-modules it comes from (or the model's input), each with
the operations applied since (`act:relu`, `norm`, `dropout`, `reshape`, `mix`, `scale`). Calling
a sub-module records an edge from each source to it; `return` records an edge to OUTPUT. What the
reader does not understand becomes an edge to UNKNOWN or a `mix` operation: the rules make no
claim through it. Helper methods called from `forward` are read in place, two levels deep.

The same reader runs over module-level statements and plain functions, where the "layers" are
tensors created as trainable (`W1 = torch.zeros(3, 2, requires_grad=True)`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

import libcst as cst

from initlint import exprs, torch_api
from initlint.facts import FileFacts
from initlint.imports import dotted_name
from initlint.model.tree import ACT, CONTAINER, FREE, Node

INPUT, OUTPUT, UNKNOWN = "<input>", "<output>", "<unknown>"

Ops = Tuple[str, ...]
Source = Tuple[str, Ops]  # (where a value comes from, what was done to it since)
Value = FrozenSet[Source]
_EMPTY: Value = frozenset()
_MAX_OPS = 12  # longer histories are cut (with a `mix`): enough to judge, bounded for long chains


@dataclass(frozen=True)
class Edge:
    """A source's output reaches `target` after `ops`."""

    ops: Ops
    target: str


@dataclass
class Flow:
    """Edges from each source (a node path, or INPUT) to where its output goes."""

    edges: Dict[str, List[Edge]] = field(default_factory=dict)
    read: bool = False  # whether a forward (or a script) was read at all
    operands: Set[str] = field(default_factory=set)  # parameters used as a matrix-product operand
    row_units: Set[str] = field(default_factory=set)  # ... whose rows are its units (`F.linear(x, W)`, `x @ W.t()`)

    def add(self, source: Source, target: str) -> None:
        path, ops = source
        found = self.edges.setdefault(path, [])
        edge = Edge(ops, target)
        if edge not in found:
            found.append(edge)


def _with(value: Value, op: str) -> Value:
    return frozenset((src, (ops + (op,))[-_MAX_OPS:] if len(ops) < _MAX_OPS else ops[:-1] + ("mix",)) for src, ops in value)


class FlowReader:
    """Reads one function body (or a module's statements) into a Flow.

    `layer_of(expr)` names the node a callee or operand stands for (`self.fc1` -> its Node), or
    None; `method_of(name)` gives a helper method to read in place."""

    def __init__(
        self,
        facts: FileFacts,
        layer_of: Callable[[cst.BaseExpression], Optional[Node]],
        method_of: Callable[[str], Optional[cst.FunctionDef]] = lambda name: None,
        me: str = "self",
    ) -> None:
        self.facts, self.layer_of, self.method_of, self.me = facts, layer_of, method_of, me
        self.flow = Flow()
        self.depth = 0
        self.bound: Dict[str, Node] = {}  # loop variables bound to one module of a container

    # ---- entry points -----------------------------------------------------------------------------
    def forward(self, fn: cst.FunctionDef) -> Flow:
        env = {p.name.value: frozenset({(INPUT, ())}) for p in fn.params.params[1:]}
        for star in (fn.params.star_arg, fn.params.star_kwarg):
            if isinstance(star, cst.Param):
                env[star.name.value] = frozenset({(INPUT, ())})
        self.flow.read = True
        self._suite(fn.body, env)
        return self.flow

    def statements(self, body: Sequence[cst.CSTNode], env: Optional[Dict[str, Value]] = None) -> Flow:
        self.flow.read = True
        self._suite(list(body), env if env is not None else {})
        return self.flow

    # ---- statements -------------------------------------------------------------------------------
    def _suite(self, suite, env: Dict[str, Value]) -> Optional[Value]:
        """Run statements; the value of a `return` (unioned over branches), or None."""
        body = suite.body if isinstance(suite, (cst.IndentedBlock, cst.SimpleStatementSuite)) else suite
        returned: Optional[Value] = None
        for stmt in body:
            found = self._statement(stmt, env)
            if found is not None:
                returned = found if returned is None else returned | found
        return returned

    def _statement(self, stmt, env: Dict[str, Value]) -> Optional[Value]:
        if isinstance(stmt, cst.SimpleStatementLine):
            returned = None
            for small in stmt.body:
                found = self._small(small, env)
                if found is not None:
                    returned = found
            return returned
        if isinstance(stmt, cst.If):
            self._eval(stmt.test, env)
            branch = dict(env)
            returned = self._suite(stmt.body, branch)
            other = dict(env)
            if stmt.orelse is not None:
                inner = [stmt.orelse] if isinstance(stmt.orelse, cst.If) else stmt.orelse.body
                found = self._suite(inner, other)
                returned = found if returned is None else (returned | found if found is not None else returned)
            for name in set(branch) | set(other):
                env[name] = branch.get(name, _EMPTY) | other.get(name, _EMPTY)
            return returned
        if isinstance(stmt, cst.For):
            return self._for(stmt, env)
        if isinstance(stmt, cst.While):
            self._eval(stmt.test, env)
            return self._loop_body(stmt.body, env)
        if isinstance(stmt, (cst.With, cst.Try)):
            for item in getattr(stmt, "items", ()):
                self._eval(item.item, env)
            returned = self._suite(stmt.body, env)
            for handler in getattr(stmt, "handlers", ()):
                found = self._suite(handler.body, env)
                returned = found if returned is None else (returned | found if found is not None else returned)
            return returned
        return None  # nested defs and classes: not run here

    def _small(self, small, env: Dict[str, Value]) -> Optional[Value]:
        if isinstance(small, cst.Return):
            value = self._eval(small.value, env) if small.value is not None else _EMPTY
            if self.depth == 0:
                for source in value:
                    self.flow.add(source, OUTPUT)
            return value
        if isinstance(small, cst.Assign):
            value = self._eval(small.value, env)
            for target in small.targets:
                self._bind(target.target, value, env)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            self._bind(small.target, self._eval(small.value, env), env)
        elif isinstance(small, cst.AugAssign):
            value = self._eval(small.value, env)
            name = dotted_name(small.target)
            if name is not None:
                old = env.get(name, _EMPTY)
                env[name] = self._combine(old, value, small.operator)
        elif isinstance(small, cst.Expr):
            self._eval(small.value, env)
        return None

    def _bind(self, target: cst.BaseExpression, value: Value, env: Dict[str, Value]) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind(element.value, _with(value, "select"), env)
            return
        name = dotted_name(target)
        if name is not None:
            env[name] = value

    def _for(self, stmt: cst.For, env: Dict[str, Value]) -> Optional[Value]:
        """`for block in self.blocks: x = block(x)`: the blocks in turn; any other loop: its body once."""
        container = self.layer_of(stmt.iter)
        if container is not None and container.kind == CONTAINER and isinstance(stmt.target, cst.Name):
            returned = None
            # a child standing for n built alike runs twice: each of them feeds the next
            turns = [c for child in container.children or [] for c in ((child, child) if child.repeated else (child,))]
            for child in turns:
                self.bound[stmt.target.value] = child
                env.pop(stmt.target.value, None)
                found = self._suite(stmt.body, env)
                returned = found if returned is None else (returned | found if found is not None else returned)
            return returned
        self._eval(stmt.iter, env)
        if isinstance(stmt.target, cst.Name):
            env[stmt.target.value] = _EMPTY
        return self._loop_body(stmt.body, env)

    def _loop_body(self, body, env: Dict[str, Value]) -> Optional[Value]:
        # A body run once stands for every turn; a value carried around the loop mixes.
        before = dict(env)
        returned = self._suite(body, env)
        for name, value in list(env.items()):
            if before.get(name) is not None and value != before[name]:
                env[name] = value | before[name]
        return returned

    # ---- expressions ------------------------------------------------------------------------------
    def _eval(self, node: Optional[cst.BaseExpression], env: Dict[str, Value]) -> Value:
        if node is None:
            return _EMPTY
        kind = type(node)
        if kind is cst.Name or kind is cst.Attribute:
            name = dotted_name(node)
            if name in env:
                return env[name]  # type: ignore[index]
            layer = self.layer_of(node)
            if layer is not None:
                return frozenset({(layer.path, ("param",))})  # a parameter used as a value
            if kind is cst.Attribute:
                inner = self._eval(node.value, env)  # type: ignore[attr-defined]
                return _with(inner, "select") if inner else _EMPTY
            return _EMPTY
        if kind is cst.Call:
            return self._call(node, env)  # type: ignore[arg-type]
        if kind is cst.BinaryOperation:
            return self._binary(node, env)  # type: ignore[arg-type]
        if kind is cst.UnaryOperation:
            return self._eval(node.expression, env)  # type: ignore[attr-defined]
        if kind is cst.Subscript:
            return _with(self._eval(node.value, env), "select")  # type: ignore[attr-defined]
        if kind in (cst.Tuple, cst.List):
            out: Value = _EMPTY
            for element in node.elements:  # type: ignore[attr-defined]
                out |= self._eval(element.value, env)
            return out
        if kind is cst.IfExp:
            self._eval(node.test, env)  # type: ignore[attr-defined]
            return self._eval(node.body, env) | self._eval(node.orelse, env)  # type: ignore[attr-defined]
        # Anything else (comprehensions, lambdas, comparisons...): its sources reach something unseen.
        for source in self._names_value(node, env):
            self.flow.add(source, UNKNOWN)
        return _EMPTY

    def _names_value(self, node: cst.CSTNode, env: Dict[str, Value]) -> Value:
        out: Value = _EMPTY
        for name in exprs.names_in(node):
            out |= env.get(name, _EMPTY)
        return out

    def _binary(self, node: cst.BinaryOperation, env: Dict[str, Value]) -> Value:
        if isinstance(node.operator, cst.MatrixMultiply):
            return self._product(node.left, node.right, env)
        return self._combine(self._eval(node.left, env), self._eval(node.right, env), node.operator)

    def _combine(self, left: Value, right: Value, operator) -> Value:
        """Element-wise arithmetic: with a constant (no source) each unit moves alike (`scale`);
        times a parameter, a per-unit scale (`scale:param`); two sources mix (a residual add, a gate)."""
        if not left or not right:
            return _with(left or right, "scale")
        for mine, other in ((left, right), (right, left)):
            params = [src for src, ops in mine]
            if all(ops == ("param",) for _src, ops in mine) and not all(ops == ("param",) for _src, ops in other):
                if isinstance(operator, (cst.Multiply, cst.MultiplyAssign)):
                    return _with(other, "scale:" + ",".join(sorted(params)))  # `x * self.gamma`: a per-unit scale
                if isinstance(operator, (cst.Add, cst.AddAssign, cst.Subtract, cst.SubtractAssign)):
                    return _with(other, "bias:" + ",".join(sorted(params)))  # `x @ W1 + b1`: a bias
        return _with(left | right, "mix")

    def _product(self, a: cst.BaseExpression, b: cst.BaseExpression, env: Dict[str, Value]) -> Value:
        """`x @ W`: x's sources feed W (a parameter acting as a layer); `W @ x` likewise."""
        for operand, other in ((b, a), (a, b)):
            layer = self.layer_of(_strip_transpose(operand))
            if layer is not None:
                self.flow.operands.add(layer.path)
                if (operand is a) != (_strip_transpose(operand) is not operand):
                    self.flow.row_units.add(layer.path)  # `W @ x` or `x @ W.t()`: a row per unit
                for source in self._eval(other, env):
                    self.flow.add(source, layer.path)
                return frozenset({(layer.path, ())})
        return _with(self._eval(a, env) | self._eval(b, env), "mix")

    def _call(self, call: cst.Call, env: Dict[str, Value]) -> Value:
        func = call.func
        args = [self._eval(a.value, env) for a in call.args]
        first = args[0] if args else _EMPTY
        layer = self.layer_of(func)
        if layer is None and isinstance(func, cst.Name) and func.value in self.bound and func.value not in env:
            layer = self.bound[func.value]
        if layer is not None:
            return self._apply(layer, first, args[1:])
        qualname = self.facts.resolve(func)
        method = exprs.method_name(call)
        if method in _METADATA or (isinstance(func, cst.Name) and func.value in ("len", "isinstance", "hasattr", "getattr", "print", "type")):
            return _EMPTY  # `x.size(0)`, `len(x)`: a number about the tensor, not its values
        receiver = self._eval(func.value, env) if isinstance(func, cst.Attribute) and qualname is None else _EMPTY  # type: ignore[attr-defined]
        if method == "backward" or (qualname or "").startswith(_LOSSES) or _loss_name(func):
            for source in receiver | first:
                self.flow.add(source, OUTPUT)  # a loss: what reaches it is the model's output
            return _EMPTY
        if qualname is not None:
            return self._function(qualname, call, args, env)
        if method is not None and isinstance(func, cst.Attribute):
            helper = self.method_of(method) if dotted_name(func.value) == self.me else None
            if helper is not None and self.depth < 2:
                return self._inline(helper, call, args)
            if method in torch_api.ACTIVATION_METHODS:
                act = torch_api.ACTIVATION_METHODS[method]
                if act == "clamp":
                    act = "relu_min0" if exprs.number(exprs.argument(call, 0, "min")) == 0.0 else "clamp"
                return _with(receiver, "act:" + act)
            if method in torch_api.RESHAPING_METHODS:
                return _with(receiver, "reshape")
            if method in ("matmul", "mm", "bmm") and call.args:
                return self._product(func.value, call.args[0].value, env)  # type: ignore[attr-defined]
            if method in ("mul", "mul_") and call.args:
                return self._combine(receiver, first, cst.Multiply())
            if method in ("add", "add_", "sub", "sub_") and call.args:
                return self._combine(receiver, first, cst.Add())
        return self._unknown(call, receiver, args)

    def _apply(self, layer: Node, value: Value, extra: List[Value]) -> Value:
        """Calling a sub-module on a value."""
        if layer.kind == ACT:
            return _with(value, "act:" + (layer.activation or "unknown"))
        if layer.kind == FREE:
            short = (layer.qualname or "").rsplit(".", 1)[-1]
            if short in torch_api.DROPOUT_MODULES:
                return _with(value, "dropout")
            return _with(value, "mix" if short in torch_api.MIXING_MODULES else "reshape")
        if layer.kind == CONTAINER and (layer.qualname or "").endswith("Sequential"):
            for child in layer.children:
                value = self._apply(child, value, [])
            return value
        for source in value:
            self.flow.add(source, layer.path)
        for other in extra:  # further inputs (attention's key and value, a mask) reach it too
            for source in other:
                self.flow.add(source, layer.path)
        return frozenset({(layer.path, ())})

    def _function(self, qualname: str, call: cst.Call, args: List[Value], env: Dict[str, Value]) -> Value:
        first = args[0] if args else _EMPTY
        if qualname in torch_api.ACTIVATION_FUNCTIONS:
            act = torch_api.ACTIVATION_FUNCTIONS[qualname]
            if act == "clamp":
                act = "relu_min0" if exprs.number(exprs.argument(call, 1, "min")) == 0.0 else "clamp"
            if act == "hardtanh" and exprs.number(exprs.argument(call, 1, "min_val")) == 0.0:
                act = "relu_min0"
            return _with(first, "act:" + act)
        if qualname in torch_api.DROPOUT_FUNCTIONS:
            return _with(first, "dropout")
        if qualname in torch_api.RESHAPING_FUNCTIONS:
            return _with(first, "reshape")
        if qualname in ("torch.cat", "torch.stack", "torch.concat"):
            return _with(first, "select")
        if qualname in torch_api.LINEAR_FUNCTIONS or qualname in torch_api.CONV_FUNCTIONS:
            weight = exprs.argument(call, 1, "weight")
            layer = self.layer_of(_strip_transpose(weight)) if weight is not None else None
            if layer is not None:
                self.flow.operands.add(layer.path)
                if _strip_transpose(weight) is weight:
                    self.flow.row_units.add(layer.path)  # F.linear(x, W): W is (out, in)
                for source in first:
                    self.flow.add(source, layer.path)
                out = frozenset({(layer.path, ())})
                bias = exprs.argument(call, 2, "bias")
                bias_layer = self.layer_of(bias) if bias is not None else None
                if bias is not None and bias_layer is None and self._eval(bias, env):
                    out = _with(out, "mix")
                return out
        if qualname in ("torch.matmul", "torch.mm", "torch.bmm") and len(call.args) >= 2:
            return self._product(call.args[0].value, call.args[1].value, env)
        if qualname == "torch.einsum" and len(call.args) >= 3:
            return self._product(call.args[1].value, call.args[2].value, env)
        if qualname in ("torch.mul",) and len(args) >= 2:
            return self._combine(args[0], args[1], cst.Multiply())
        if qualname in ("torch.add",) and len(args) >= 2:
            return self._combine(args[0], args[1], cst.Add())
        return self._unknown(call, _EMPTY, args)

    def _inline(self, helper: cst.FunctionDef, call: cst.Call, args: List[Value]) -> Value:
        """A helper method of the model called from forward, read in place."""
        params = [p.name.value for p in helper.params.params[1:]]
        inner: Dict[str, Value] = {}
        for i, arg in enumerate(call.args):
            if arg.keyword is not None:
                inner[arg.keyword.value] = args[i]
            elif i < len(params):
                inner[params[i]] = args[i]
        self.depth += 1
        try:
            returned = self._suite(helper.body, inner)
        finally:
            self.depth -= 1
        return returned if returned is not None else _EMPTY

    def _unknown(self, call: cst.Call, receiver: Value, args: Iterable[Value]) -> Value:
        """A call the reader does not understand: what goes in reaches something unseen."""
        out: Value = receiver
        for value in args:
            out |= value
        for source in out:
            self.flow.add(source, UNKNOWN)
        return frozenset({(UNKNOWN, ())}) if out else _EMPTY


# Methods that give a number about a tensor (its size...), not its values.
_METADATA = frozenset({"size", "dim", "numel", "ndimension", "nelement", "item", "tolist", "get_device", "is_contiguous", "data_ptr", "element_size", "stride"})
_LOSSES = ("torch.nn.functional.mse_loss", "torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss",
           "torch.nn.functional.l1_loss", "torch.nn.functional.binary_cross_entropy", "torch.nn.functional.smooth_l1_loss",
           "torch.nn.functional.binary_cross_entropy_with_logits", "torch.nn.functional.kl_div", "torch.nn.functional.huber_loss")


def _loss_name(func: cst.BaseExpression) -> bool:
    """`criterion(out, y)`, `loss_fn(out, y)`: called like a loss by its name."""
    name = (dotted_name(func) or "").rsplit(".", 1)[-1].lower()
    return name in ("criterion", "loss_fn", "loss_func", "lossfn", "loss_function", "compute_loss")


def _strip_transpose(node: Optional[cst.BaseExpression]) -> Optional[cst.BaseExpression]:
    """`W.t()`, `W.T`, `W.transpose(0, 1)`, `W.permute(...)`: the same parameter."""
    while node is not None:
        if isinstance(node, cst.Attribute) and node.attr.value in ("T", "mT", "data"):
            node = node.value
        elif isinstance(node, cst.Call) and exprs.method_name(node) in ("t", "transpose", "permute", "contiguous", "to", "float"):
            node = node.func.value  # type: ignore[union-attr]
        else:
            return node
    return node
