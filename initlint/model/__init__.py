"""A static model of the networks a file defines, which every model rule judges on.

For each nn.Module class: its module tree (`tree`), the data flow of its `forward` (`flow`), and
what each parameter holds when training starts (`state`). Models the file builds (`net = Net()`,
`nn.Sequential(...)` at module level or in a function) get their own state, with the writes that
follow them. Tensors created as trainable in scripts (`W1 = torch.zeros(3, 2, requires_grad=True)`)
make a model of their own, whose flow is the module's statements and functions.

`Network.consumers(model, path)` answers "what does this layer's output feed, through what": the
edges of `forward`, followed through norms and through the classes of the file used as
sub-modules (their `forward` read in place), up to the next layer, the model's output, or
something the model does not see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from initlint.facts import FileFacts
from initlint.imports import dotted_name
from initlint.model.flow import INPUT, OUTPUT, UNKNOWN, Edge, Flow, FlowReader
from initlint.model.state import Binding, Model, Slot, Value, site_value
from initlint.model.state import Runner
from initlint.model.tree import LOCAL, NORM, PARAM, Node, TreeBuilder

__all__ = ["Network", "Terminal", "Model", "Slot", "Value", "OUTPUT", "UNKNOWN"]

_MAX_HOPS = 64


@dataclass(frozen=True)
class Terminal:
    """Where a layer's output ends up: the next layer (a full path), OUTPUT or UNKNOWN, and the
    operations on the way (`act:relu`, `norm`, `dropout`, `reshape`, `scale`, `mix`, ...)."""

    ops: Tuple[str, ...]
    target: str
    via: Tuple[str, ...] = ()  # the norms (full paths) passed on the way


class Network:
    """The models of one file (built on demand, remembered)."""

    def __init__(self, facts: FileFacts) -> None:
        self.facts = facts
        self.trees = TreeBuilder(facts)
        self.runner = Runner(facts, self.trees)
        self._flows: Dict[str, Flow] = {}
        self._node_flows: Dict[int, Flow] = {}
        self._built: Optional[List[Model]] = None
        self._script: Optional[Tuple[Model, Flow]] = None
        self._consumers: Dict[Tuple[int, str], List[Terminal]] = {}
        self._producers: Dict[int, Dict[str, Set[str]]] = {}

    # ---- models -----------------------------------------------------------------------------
    def classes(self) -> List[str]:
        """The nn.Module classes of the file."""
        return [name for name in self.facts.classes if self.facts.is_module_class(name)]

    def model(self, cls: str) -> Model:
        return self.runner.model(cls)

    def built(self) -> List[Model]:
        """The models the file's code builds and then changes (module level and functions)."""
        if self._built is None:
            self._built = _Builds(self, self.script()[0]).run()
        return self._built

    def script(self) -> Tuple[Model, Flow]:
        """The trainable tensors of module-level code and plain functions, and their flow."""
        if self._script is None:
            self._script = _script(self)
        return self._script

    # ---- flow -------------------------------------------------------------------------------
    def flow(self, cls: str) -> Flow:
        """The flow of a class's `forward` (through its bases in the file); empty when none is seen."""
        found = self._flows.get(cls)
        if found is not None:
            return found
        self._flows[cls] = Flow()  # (a guard for classes whose forward calls themselves)
        tree = self.trees.tree(cls)
        forward = self.trees.method(cls, "forward")
        if forward is None:
            return self._flows[cls]
        me = forward[1].params.params[0].name.value if forward[1].params.params else "self"

        def layer_of(expr: cst.BaseExpression) -> Optional[Node]:
            name = dotted_name(expr)
            if name is None:
                root, keys = _subscripted(expr)
                if root != me or not keys:
                    return None
                return tree.find(".".join(keys))
            if not name.startswith(me + "."):
                return None
            return tree.find(name[len(me) + 1:])

        def method_of(name: str) -> Optional[cst.FunctionDef]:
            if tree.find(name) is not None:
                return None
            found = self.trees.method(cls, name)
            return found[1] if found is not None and name != "forward" else None

        flow = FlowReader(self.facts, layer_of, method_of, me).forward(forward[1])
        self._flows[cls] = flow
        return flow

    def node_flow(self, node: Node) -> Flow:
        """The flow of a container built outside any class (`nn.Sequential(...)` at module level)."""
        found = self._node_flows.get(id(node))
        if found is None:
            reader = FlowReader(self.facts, lambda expr: None)
            value = reader._apply(node, frozenset({(INPUT, ())}), [])
            for source in value:
                reader.flow.add(source, OUTPUT)
            reader.flow.read = True
            found = self._node_flows[id(node)] = reader.flow
        return found

    def consumers(self, model: Model, path: str) -> List[Terminal]:
        """Where the output of the node at `path` (a full path of `model`) goes (remembered)."""
        key = (id(model), path)
        found = self._consumers.get(key)
        if found is None:
            found = self._consumers[key] = self._find_consumers(model, path)
        return found

    def _find_consumers(self, model: Model, path: str) -> List[Terminal]:
        out: List[Terminal] = []
        seen: Set[Tuple[str, Tuple[str, ...]]] = set()
        start = model.nodes.get(path)
        first: Tuple[str, ...] = ("act:" + start.activation,) if start is not None and start.kind == NORM and start.activation else ()
        stack: List[Tuple[str, Tuple[str, ...], Tuple[str, ...]]] = [(path, first, ())]  # (a norm-and-activation layer applies its own)
        hops = 0
        while stack and hops < _MAX_HOPS:
            hops += 1
            current, ops, via = stack.pop()
            if (current, ops) in seen:
                continue
            seen.add((current, ops))
            prefix, flow, local = self._owner(model, current)
            if not flow.read:
                out.append(Terminal(ops, UNKNOWN, via))
                continue
            for edge in flow.edges.get(local, ()):
                self._follow(model, prefix, edge, ops, via, stack, out)
        if stack:
            out.append(Terminal((), UNKNOWN))  # too far to follow: no claim
        return out

    def _follow(self, model: Model, prefix: str, edge: Edge, ops: Tuple[str, ...], via: Tuple[str, ...], stack, out: List[Terminal]) -> None:
        ops = ops + edge.ops
        if edge.target == OUTPUT:
            if prefix:  # the output of a sub-model: on to what it feeds in its parent
                stack.append((prefix, ops, via))
            else:
                out.append(Terminal(ops, OUTPUT, via))
            return
        if edge.target == UNKNOWN:
            out.append(Terminal(ops, UNKNOWN, via))
            return
        full = f"{prefix}.{edge.target}" if prefix else edge.target
        node = model.nodes.get(full)
        if node is None:
            out.append(Terminal(ops, UNKNOWN, via))
        elif node.kind == NORM:
            step = ("norm:" + full,) + (("act:" + node.activation,) if node.activation else ())
            stack.append((full, ops + step, via + (full,)))
        elif node.kind == LOCAL and full in model.locals:
            sub_flow = self.flow(model.locals[full])
            if not sub_flow.read:
                out.append(Terminal(ops, full, via))
                return
            for inner in sub_flow.edges.get(INPUT, ()):
                self._follow(model, full, inner, ops, via, stack, out)
        else:
            out.append(Terminal(ops, full, via))

    def _owner(self, model: Model, path: str) -> Tuple[str, Flow, str]:
        """(the sub-model `path` belongs to, that class's flow, `path` inside it)."""
        best = ""
        for prefix in model.locals:
            if path.startswith(prefix + ".") and len(prefix) > len(best):
                best = prefix
        if best:
            return best, self.flow(model.locals[best]), path[len(best) + 1:]
        if model.cls.startswith("<node "):
            root = model.nodes.get("")
            return "", self.node_flow(root) if root is not None else Flow(), path
        if model.cls == "<script>":
            return "", self.script()[1], path
        return "", self.flow(model.cls), path

    def producers(self, model: Model, path: str) -> List[str]:
        """The nodes (full paths) whose output feeds the node at `path` directly (the model's
        input counts as one, `<input>`); a source whose way passes through a norm counts as that
        norm (the norm's output is what arrives)."""
        index = self._producers.get(id(model))
        if index is None:
            index = self._producers[id(model)] = {}
            for other in list(model.nodes) + [INPUT]:
                for terminal in self.consumers(model, other):
                    index.setdefault(terminal.target, set()).add(terminal.via[-1] if terminal.via else other)
        return sorted(index.get(path, ()))


def _subscripted(expr: cst.BaseExpression) -> Tuple[Optional[str], List[str]]:
    from initlint.model.state import _chain

    return _chain(expr)


class _Builds:
    """Module-level code and functions, statement by statement: the models they build and change."""

    def __init__(self, network: Network, script: Model) -> None:
        self.network = network
        self.facts = network.facts
        self.script = script
        self.models: List[Model] = []

    def run(self) -> List[Model]:
        module = self.facts.module
        # The script's tensors (`W1 = torch.zeros(..., requires_grad=True)`) under their names.
        tensors = {name: Binding("model", self.script, name) for name in self.script.nodes}
        self._body(module.body, tensors)
        for stmt in module.body:
            if isinstance(stmt, cst.FunctionDef):
                self._body(stmt.body.body if isinstance(stmt.body, cst.IndentedBlock) else [], dict(tensors))
        return self.models

    def _body(self, statements, names: Dict[str, Binding]) -> None:
        runner = self.network.runner
        runner.on_small = self._bind
        self.compared: Set[int] = set()
        self.trained: Set[int] = set()
        before = len(self.models)
        try:
            runner.run_body(list(statements), names, {}, None, 0)
        finally:
            runner.on_small = None
        for model in self.models[before:]:
            model.reference = id(model) in self.compared and id(model) not in self.trained

    def _uses(self, small: cst.CSTNode, names: Dict[str, Binding]) -> None:
        """What the code does with the models it built: compares them, or trains them."""
        from initlint import exprs, walk

        for node in walk.nodes(small, skip=(cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            if type(node) is not cst.Call:
                continue
            method = exprs.method_name(node)
            qualname = self.facts.resolve(node.func) or ""
            mentioned = {n.split(".", 1)[0] for n in exprs.names_in(node)}
            models = [names[n].model for n in mentioned if n in names and names[n].kind == "model"]
            if not models:
                continue
            if method == "eval" or qualname in _COMPARISONS or qualname.startswith("torch.testing.") or (method or "").startswith("assert"):
                self.compared.update(id(m) for m in models)
            if method in ("train", "backward", "step") or qualname.startswith("torch.optim."):
                self.trained.update(id(m) for m in models)

    def _bind(self, small: cst.CSTNode, names: Dict[str, Binding]) -> None:
        """`net = Net(...)`, `net = nn.Sequential(...)`: a model the code builds, under that name."""
        self._uses(small, names)
        if not isinstance(small, (cst.Assign, cst.AnnAssign)) or small.value is None:
            return
        targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
        if len(targets) != 1 or not isinstance(targets[0], cst.Name):
            return
        name = targets[0].value
        value = small.value
        while isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value in ("to", "cuda", "cpu", "float", "double", "train", "eval"):
            value = value.func.value
        model = self._model_of(value, name)
        if model is None:
            names.pop(name, None)
            return
        self.models.append(model)
        names[name] = Binding("model", model)

    def _model_of(self, value: cst.BaseExpression, name: str) -> Optional[Model]:
        if not isinstance(value, cst.Call):
            return None
        qualname = self.facts.resolve(value.func)
        if qualname is None:
            return None
        if qualname in self.facts.classes and self.facts.is_module_class(qualname):
            args = _literal_args(self.network.trees, qualname, value)
            model = self.network.runner.model(qualname, args)
            model.instance = name
            return model
        from initlint.model.tree import _Reader, Tree

        reader = _Reader(self.network.trees, Tree(f"<node {name}>"))
        node = reader.module(value, "")
        if node is None or node.kind == LOCAL:
            return None
        model = Model(f"<node {name}>", instance=name)
        self.network.runner._add(model, node, "", 0)
        return model


_COMPARISONS = frozenset({"torch.allclose", "torch.equal", "torch.isclose", "numpy.allclose", "numpy.testing.assert_allclose"})


def _literal_args(trees: TreeBuilder, cls: str, call: cst.Call) -> Dict[str, cst.BaseExpression]:
    """The literal arguments of a construction, by the names of `__init__`'s parameters."""
    found = trees.method(cls, "__init__")
    if found is None:
        return {}
    params = [p.name.value for p in found[1].params.params[1:]]
    args: Dict[str, cst.BaseExpression] = {}
    for i, arg in enumerate(call.args):
        if arg.star:
            break
        name = arg.keyword.value if arg.keyword is not None else (params[i] if i < len(params) else None)
        if name is not None and isinstance(arg.value, (cst.Integer, cst.Float, cst.Name, cst.SimpleString, cst.UnaryOperation)):
            args[name] = arg.value
    return args


def _script(network: Network) -> Tuple[Model, Flow]:
    """Trainable tensors made by module-level code and plain functions, and their flow."""
    facts = network.facts
    model = Model("<script>")
    for site in facts.sites:
        if site.created and site.trainable and "." not in site.target_name and (site.scope is None or site.scope.cls is None):
            node = Node(site.target_name, PARAM)
            model.nodes[site.target_name] = node
            model.slots[site.target_name] = Slot(site.target_name, "", node, {site_value(site)})
            model.writes.append((site, (site.target_name,), False, None))
    for name in facts.random_trainables:
        if "." not in name and name not in model.nodes:
            node = Node(name, PARAM)
            model.nodes[name] = node
            model.slots[name] = Slot(name, "", node, {Value("random")})

    def layer_of(expr: cst.BaseExpression) -> Optional[Node]:
        return model.nodes.get(dotted_name(expr) or "")

    reader = FlowReader(facts, layer_of, me="")
    module_level = [s for s in facts.module.body if not isinstance(s, (cst.FunctionDef, cst.ClassDef))]
    reader.statements(module_level)
    for stmt in facts.module.body:
        if isinstance(stmt, cst.FunctionDef):
            env = {p.name.value: frozenset({(INPUT, ())}) for p in stmt.params.params}
            reader._suite(stmt.body, env)
    return model, reader.flow
