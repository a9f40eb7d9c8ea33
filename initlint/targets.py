"""What an init site writes to: a layer's weight matrix, a bias, a norm scale, every parameter...

Shared by the rules so that each judges the same reading of the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import libcst as cst

from initlint import exprs, torch_api, walk
from initlint.facts import FileFacts, Guard, Layer, Loop, Site
from initlint.imports import dotted_name

# Subject kinds.
MATRIX = "matrix"  # weight of a known matrix layer (Linear, Conv, ...)
RAW = "raw"  # a tensor created here with a known matrix shape
BIAS = "bias"
NORM = "norm"  # scale/shift of a normalisation layer
VECTOR = "vector"  # 1-D or shape with a single non-1 dimension
EVERY_PARAMETER = "every-parameter"
EVERY_WEIGHT = "every-weight"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Subject:
    """The reading of a site's target."""

    kind: str
    label: str
    layer: Optional[str] = None  # dotted name of the layer expression (`net.fc1`), for grouping
    layer_type: Optional[str] = None
    units: Optional[str] = None
    walker: Optional[str] = None  # "loop" or "apply" when a loop or apply() reaches every module/parameter


def layer_of(facts: FileFacts, site: Site, expr: cst.BaseExpression) -> Optional[Layer]:
    """The layer an expression (`self.fc1`, `net.fc1`, `seq[0]`) holds, when this file says."""
    if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
        owner, attr = expr.value.value, expr.attr.value
        cls_name = None
        if owner == "self" and site.scope is not None and site.scope.cls is not None:
            cls_name = site.scope.cls.name
        else:
            cls_name = _instance_class(facts, site, owner)
        return class_layer(facts, cls_name, attr, set())
    if isinstance(expr, cst.Name):  # `fc = nn.Linear(4, 8)` ... `fc.weight`
        bound = facts.last_bound(expr.value, site.scope)
        if isinstance(bound, cst.Call):
            qualname = facts.resolve(bound.func)
            if qualname is not None:
                return Layer(attr=expr.value, qualname=qualname, call=bound)
        return None
    if isinstance(expr, cst.Subscript) and len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index):
        index = exprs.number(expr.slice[0].slice.value)
        name = dotted_name(expr.value)
        if index is None or name is None:
            return None
        bound = facts.last_bound(name, site.scope)
        if isinstance(bound, cst.Call) and facts.resolve(bound.func) == "torch.nn.Sequential":
            args = exprs.positional(bound)
            i = int(index)
            if -len(args) <= i < len(args) and isinstance(args[i].value, cst.Call):
                call = args[i].value
                return Layer(attr=f"{name}[{i}]", qualname=facts.resolve(call.func), call=call)
    return None


def _instance_class(facts: FileFacts, site: Site, name: str) -> Optional[str]:
    """The class of this file whose instance `name` holds where the site reads it (`net = Net()`)."""
    bound = facts.last_bound(name, site.scope)
    if isinstance(bound, cst.Call):
        ctor = facts.resolve(bound.func)
        if ctor is not None and ctor in facts.classes:
            return ctor
    return None


def class_layer(facts: FileFacts, cls_name: Optional[str], attr: str, seen: set) -> Optional[Layer]:
    """`self.<attr>`'s layer in class `cls_name` of this file, or in one of its bases here."""
    info = facts.classes.get(cls_name or "")
    if info is None or info.name in seen:
        return None
    seen.add(info.name)
    if attr in info.layers:
        return info.layers[attr]
    for base in info.bases:
        found = class_layer(facts, base, attr, seen)
        if found is not None:
            return found
    return None


def walker_of(facts: FileFacts, site: Site, var: str) -> Tuple[Optional[str], Optional[Loop]]:
    """("loop", loop) when `var` is bound by a loop over parameters()/modules(); ("apply", None) for
    the module argument of a function handed to .apply() (or written like one)."""
    for loop in reversed(site.loops):
        if loop.item == var and loop.kind in ("parameters", "modules"):
            return "loop", loop
    scope = site.scope
    if scope is not None and scope.node is not None and scope.params:
        first = scope.params[1] if scope.params[0] == "self" and len(scope.params) > 1 else scope.params[0]
        if var == first and (scope.name in facts.applied or type_guards(facts, site.guards, var)):
            return "apply", None
    return None, None


def type_guards(facts: FileFacts, guards: Tuple[Guard, ...], var: str) -> List[str]:
    """The classes a positive `isinstance(var, X)` / `type(var) == X` / `classname.find("X")` guard names."""
    found: List[str] = []
    for guard in guards:
        if not guard.positive:
            continue
        for test in conjuncts(guard.test):
            found.extend(_types_in(facts, test, var))
    return found


def conjuncts(test: cst.BaseExpression) -> List[cst.BaseExpression]:
    """The parts of an `and`/`or` test, each judged on its own."""
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        return conjuncts(test.left) + conjuncts(test.right)
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.Or):
        # `isinstance(m, A) or isinstance(m, B)`: either.
        return conjuncts(test.left) + conjuncts(test.right)
    return [test]


def _types_in(facts: FileFacts, test: cst.BaseExpression, var: str) -> List[str]:
    if isinstance(test, cst.Call) and isinstance(test.func, cst.Name) and test.func.value == "isinstance":
        args = exprs.positional(test)
        if len(args) == 2 and dotted_name(args[0].value) == var:
            classes = args[1].value
            elements = classes.elements if isinstance(classes, (cst.Tuple, cst.List)) else [classes]
            names = []
            for element in elements:
                node = element.value if isinstance(element, (cst.Element,)) else element
                names.append(facts.resolve(node) or dotted_name(node) or "?")
            return names
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        left, right = test.left, test.comparisons[0].comparator
        op = test.comparisons[0].operator
        if isinstance(op, (cst.Equal, cst.Is, cst.In)):
            if _is_type_of(left, var):
                elements = right.elements if isinstance(right, (cst.Tuple, cst.List, cst.Set)) else [right]
                return [facts.resolve(e.value if isinstance(e, cst.Element) else e) or dotted_name(e.value if isinstance(e, cst.Element) else e) or "?" for e in elements]
            text = exprs.literal_string(left) if isinstance(op, cst.In) else exprs.literal_string(right)
            if text and _mentions_class_name(right if isinstance(op, cst.In) else left):
                return [text]
        if isinstance(op, (cst.NotEqual, cst.GreaterThan, cst.GreaterThanEqual)):
            # DCGAN style: `classname.find("Conv") != -1`
            if isinstance(left, cst.Call) and exprs.method_name(left) == "find" and left.args:
                text = exprs.literal_string(left.args[0].value)
                if text:
                    return [text]
    if isinstance(test, cst.Call) and exprs.method_name(test) in ("startswith", "endswith") and test.args:
        if _mentions_class_name(test.func.value):  # type: ignore[union-attr]
            text = exprs.literal_string(test.args[0].value)
            if text:
                return [text]
    return []


def _is_type_of(node: cst.BaseExpression, var: str) -> bool:
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Name)
        and node.func.value == "type"
        and len(node.args) == 1
        and dotted_name(node.args[0].value) == var
    )


def _mentions_class_name(node: cst.BaseExpression) -> bool:
    text = exprs.code(node).lower()
    return "classname" in text or "__class__" in text or "class_name" in text or "__name__" in text


def name_guard(guards: Tuple[Guard, ...], label: Optional[str]) -> Optional[str]:
    """What a test on a parameter's name keeps: "bias", "weight", "norm" or None."""
    if label is None:
        return None
    kept = None
    for guard in guards:
        for test in conjuncts(guard.test):
            words = _name_words(test, label)
            if not words:
                continue
            negated = _is_negated(test) != (not guard.positive)
            for word in words:
                word = word.lower()
                if "bias" in word or word in ("b", "beta"):
                    kept = "weight" if negated else "bias"
                elif any(part in word for part in ("norm", "bn", "ln", "gamma", "scale", "embed", "pos", "token")):
                    if not negated:
                        kept = "norm"
                elif "weight" in word:
                    kept = "bias" if negated else (kept or "weight")
    return kept


def _is_negated(test: cst.BaseExpression) -> bool:
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        return isinstance(test.comparisons[0].operator, cst.NotIn)
    return isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not)


def _name_words(test: cst.BaseExpression, label: str) -> List[str]:
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return _name_words(test.expression, label)
    if not any(n == label or n.startswith(label + ".") for n in exprs.names_in(test)):
        return []
    words: List[str] = []
    for node in string_literals(test):
        words.append(node)
    return words


def string_literals(node: cst.CSTNode) -> List[str]:
    """Every plain string literal inside a node."""
    found: List[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.SimpleString):
            text = exprs.literal_string(current)
            if text:
                found.append(text)
        stack.extend(walk.significant(current))
    return found


def dim_guard(guards: Tuple[Guard, ...], var: str) -> Optional[str]:
    """"matrix" for `p.dim() > 1` / `p.ndim >= 2`, "vector" for `p.dim() == 1` / `< 2` (sign-aware)."""
    for guard in guards:
        for test in conjuncts(guard.test):
            if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
                continue
            left = exprs.code(test.left).replace(" ", "")
            if left not in (f"{var}.dim()", f"{var}.ndim", f"len({var}.shape)", f"{var}.ndimension()", f"len({var}.size())"):
                continue
            bound = exprs.number(test.comparisons[0].comparator)
            if bound is None:
                continue
            op = test.comparisons[0].operator
            matrix = (
                isinstance(op, cst.GreaterThan) and bound >= 1
                or isinstance(op, cst.GreaterThanEqual) and bound >= 2
                or isinstance(op, (cst.Equal,)) and bound >= 2
            )
            vector = (
                isinstance(op, (cst.Equal, cst.LessThanEqual)) and bound <= 1
                or isinstance(op, cst.LessThan) and bound <= 2
            )
            if not guard.positive:
                matrix, vector = vector, matrix
            if matrix:
                return "matrix"
            if vector:
                return "vector"
    return None


def classify(facts: FileFacts, site: Site) -> Subject:
    """Read what `site` writes to."""
    target = site.target
    name = site.target_name
    if isinstance(target, cst.Attribute):
        attr = target.attr.value
        owner = target.value
        owner_name = dotted_name(owner)
        if owner_name is not None:
            walker, loop = walker_of(facts, site, owner_name)
            if walker is not None:
                return _walked_module(facts, site, owner_name, attr, walker)
        if attr.startswith("bias"):
            return Subject(BIAS, name, layer=owner_name)
        layer = layer_of(facts, site, owner)
        if attr.startswith("weight"):
            if layer is not None:
                if torch_api.is_norm_class(layer.qualname):
                    return Subject(NORM, name, layer=owner_name, layer_type=layer.qualname)
                if layer.qualname in torch_api.MATRIX_LAYERS or layer.qualname in torch_api.RECURRENT_LAYERS:
                    return Subject(MATRIX, name, layer=owner_name, layer_type=layer.qualname, units=layer.units)
                return Subject(UNKNOWN, name, layer=owner_name, layer_type=layer.qualname)
            if owner_name is not None and torch_api.is_norm_name(owner_name.rsplit(".", 1)[-1]):
                return Subject(NORM, name, layer=owner_name)
            return Subject(UNKNOWN, name, layer=owner_name)
    walker, loop = walker_of(facts, site, name)
    if walker == "loop" and loop is not None and loop.kind == "parameters":
        return _walked_parameter(site, loop)
    return _created(site, name)


def _walked_parameter(site: Site, loop: Loop) -> Subject:
    kept = name_guard(site.guards, loop.label)
    dims = dim_guard(site.guards, loop.item or "")
    owner = loop.owner or "the model"
    if kept in ("bias", "norm") or dims == "vector":
        return Subject(VECTOR, f"the {kept or '1-D'} parameters of {owner}")
    if kept == "weight" or dims == "matrix":
        return Subject(EVERY_WEIGHT, f"every weight of {owner}", walker="loop")
    return Subject(EVERY_PARAMETER, f"every parameter of {owner}", walker="loop")


def _walked_module(facts: FileFacts, site: Site, var: str, attr: str, walker: str) -> Subject:
    if attr.startswith("bias"):
        return Subject(BIAS, f"{var}.{attr}")
    types = type_guards(facts, site.guards, var)
    dims = dim_guard(site.guards, f"{var}.{attr}")
    if dims == "vector":
        return Subject(VECTOR, f"{var}.{attr}")
    if not types:
        if walker == "apply":
            return Subject(EVERY_WEIGHT, f"the weight of every module {var}", walker=walker)
        return Subject(EVERY_WEIGHT, "the weight of every module", walker=walker)
    if any(torch_api.is_norm_class(t) or "norm" in t.lower() for t in types):
        return Subject(NORM, f"{var}.{attr}")
    matrix = [t for t in types if t in torch_api.MATRIX_LAYERS or t in torch_api.RECURRENT_LAYERS or t in ("Linear", "Conv", "Conv2d", "Conv1d", "Conv3d", "ConvTranspose")]
    if matrix and len(matrix) == len(types):
        short = ", ".join(sorted({t.rsplit(".", 1)[-1] for t in matrix}))
        return Subject(EVERY_WEIGHT, f"the weight of every {short}", layer_type=matrix[0], walker=walker)
    return Subject(UNKNOWN, f"{var}.{attr}")


def _created(site: Site, name: str) -> Subject:
    dims = exprs.matrix_dims(site.shape)
    if dims is None:
        return Subject(UNKNOWN, name)
    if dims < 2:
        return Subject(VECTOR, name)
    return Subject(RAW, name)
