"""The probe: a few steps of plain SGD on a random objective, watching for symmetric units and dead parameters.

Semantics (measured on a 64-128-64-10 MLP on digits, see docs/runtime.md):

* The loss is ``sum((out * randn_like(out)).sum())`` over every floating output, a fresh random
  cotangent each step. A plain ``out.sum()`` gives every output unit the same upstream gradient,
  so a healthy output layer's rows would look identical: a false alarm.
* At least 3 steps. A zero-initialised output head (weight and bias zero) is healthy (95.7%):
  the layers before it get exactly zero gradient at step 0 and normal ones from step 1, so a
  single backward pass would call them dead.
* IL101: units identical in weights and gradients at every step (see `units`); IL102: a
  parameter whose gradient is exactly zero at every step. Exact zero is safe on CUDA as well:
  the gradient of a dead ReLU unit is a sum of exact zeros, whatever the summation order.
* Dropout breaks symmetry only by noise (the units stay identical in expectation), so it is
  switched off: Dropout modules are put in eval mode (the rest of the model stays in training
  mode), MultiheadAttention's dropout is set to 0, and functional dropout calls run as identity.
* Symmetric units upstream make the next layer's input features identical. Known layers are
  only compared along their own unit axis, where echoes cannot appear; raw parameters are
  compared along dims 0 and 1, and a symmetric group whose partition equals that of a group
  further upstream (gradients reach it later in the backward pass) is that group's echo and is
  not reported.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from initlint.runtime import structure
from initlint.runtime.results import (
    Finding,
    ParameterStat,
    dead_finding,
    symmetric_finding,
    unregistered_finding,
)
from initlint.runtime.units import UnitView, views


class ProbeError(Exception):
    """The probe cannot run on this model (no floating output, say); the message says why."""


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one probe measured."""

    findings: Tuple[Finding, ...]
    parameters: Tuple[ParameterStat, ...]
    notes: Tuple[str, ...]
    echoes: Tuple[str, ...]
    steps: int


def run(model: nn.Module, inputs: Sequence[Any], *, steps: int = 3, lr: float = 0.01, seed: int = 0, kwargs: Optional[Dict[str, Any]] = None,
        redraw: Optional[Callable[[], Sequence[Any]]] = None) -> Outcome:
    """Train `model` in place for `steps` SGD steps on random cotangents and judge its parameters.

    The caller owns `model` (pass a copy to keep the original untouched). `redraw` gives fresh
    random inputs for each step after the first: a ReLU unit that no sample of one small batch
    happens to switch on is not dead, and units of a constant layer share that fate (a batch of 4
    misses them all one time in 16), so each step sees new samples; inputs kept as given stay.
    """
    kwargs = kwargs or {}
    noise = torch.Generator().manual_seed(seed)
    notes: List[str] = []
    model.train()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    # An empty parameter has no entries to be dead or alike: skipped, never blamed on the model.
    empty = [n for n, p in trainable if _empty(p)]
    params = [(n, p) for n, p in trainable if n not in empty]
    if empty:
        notes.append(f"skipped {len(empty)} zero-size parameter(s): {', '.join(empty[:5])}{' ...' if len(empty) > 5 else ''}")
    if not trainable:
        raise ProbeError("the module has no trainable parameters")
    if not params:
        return Outcome((), (), tuple(notes), (), 0)
    leaves = _Leaves(model, inputs, kwargs)
    first_nonzero: Dict[str, Optional[int]] = {n: None for n, _ in params}
    used: Dict[str, bool] = {n: False for n, _ in params}
    order: Dict[str, int] = {}
    unit_views: Optional[List[UnitView]] = None
    done = 0
    with _no_dropout(model) as dropout:
        for step in range(steps):
            for _, p in params:
                p.grad = None
            if step and redraw is not None:
                inputs = redraw()
            loss = _cotangent_loss(model(*inputs, **kwargs), noise)
            if step < 2:
                leaves.collect(loss, step)  # before backward: their gradients are restored afterwards
            if not torch.isfinite(loss):
                notes.append(f"stopped before step {step}: the output is not finite")
                break
            if unit_views is None:
                unit_views = list(views(model))  # after a forward: lazy layers are materialised now
                for view in unit_views:
                    view.start(noise)  # the weights at step 0: a random init settles here
            # Only a view still symmetric needs to know which parameters are upstream.
            hooks = _order_hooks(params, order) if step == 0 and not all(v.settled for v in unit_views) else []
            loss.backward()
            for hook in hooks:
                hook.remove()
            for name, p in params:
                if p.grad is not None:
                    used[name] = True
                    if first_nonzero[name] is None and bool(p.grad.count_nonzero()):
                        first_nonzero[name] = step
            for view in unit_views:
                view.observe(noise)
            done = step + 1
            if done == steps:
                break  # the last update would never be looked at
            with torch.no_grad():
                for _, p in params:
                    if p.grad is not None:
                        p.add_(p.grad, alpha=-lr)
        for _, p in params:
            p.grad = None
        leaves.restore()
    notes.extend(dropout)  # filled when the context exits
    if done < steps and done:
        notes.append(f"judged on {done} of {steps} steps")
    outcome = _judge(params, unit_views or [], first_nonzero, used, order, done, notes)
    return dataclasses.replace(outcome, findings=leaves.findings() + outcome.findings)


def _empty(p: torch.Tensor) -> bool:
    """A parameter with no entries (a lazy one, not materialised yet, is not empty)."""
    return not isinstance(p, nn.parameter.UninitializedParameter) and p.numel() == 0


class _Leaves:
    """IL105: leaf tensors that require grad and reach the loss but are not parameters of the module.

    Found by walking the autograd graph of the loss (AccumulateGrad nodes hold the leaves) at
    steps 0 and 1: a leaf seen at both is stored somewhere, not made afresh by each forward.
    The probe's backward accumulates gradients into them (they may be the caller's globals), so
    their `.grad` is put back as it was.
    """

    def __init__(self, model: nn.Module, inputs: Sequence[Any], kwargs: Dict[str, Any]) -> None:
        self.model = model
        self.known = {id(p) for p in model.parameters()}
        self.known.update(id(t) for t in list(inputs) + list(kwargs.values()) if isinstance(t, torch.Tensor))
        self.seen: List[Dict[int, torch.Tensor]] = []
        self.saved: Dict[int, Tuple[torch.Tensor, Optional[torch.Tensor]]] = {}

    def collect(self, loss: torch.Tensor, step: int) -> None:
        """The unregistered leaves of this step's graph (their gradients saved for `restore`)."""
        found: Dict[int, torch.Tensor] = {}
        visited = set()
        stack = [loss.grad_fn]
        while stack:
            node = stack.pop()
            if node is None or node in visited:
                continue
            visited.add(node)
            variable = getattr(node, "variable", None)
            if variable is not None and id(variable) not in self.known:
                found[id(variable)] = variable
            stack.extend(child for child, _ in node.next_functions)
        for key, tensor in found.items():
            if key not in self.saved:
                grad = tensor.grad
                self.saved[key] = (tensor, grad.clone() if grad is not None else None)
        self.seen.append(found)

    def restore(self) -> None:
        """Put back the gradients the probe's backward passes accumulated into unregistered leaves."""
        for tensor, grad in self.saved.values():
            tensor.grad = grad

    def findings(self) -> Tuple[Finding, ...]:
        """IL105 for each leaf met at every collected step, named by where the module holds it."""
        if not self.seen:
            return ()
        common = [t for key, t in self.seen[0].items() if all(key in other for other in self.seen[1:])]
        held = structure.holders(self.model)
        groups: Dict[Tuple[str, str], List[Tuple[str, torch.Tensor]]] = {}
        for tensor in common:  # one finding per attribute: a list of 12 layers is one mistake
            where, how, attribute = structure.describe_leaf(self.model, tensor, held)
            groups.setdefault((attribute, how), []).append((where, tensor))
        out = [unregistered_finding(attribute, [(w, tuple(t.shape)) for w, t in sorted(members, key=lambda m: m[0])], how)
               for (attribute, how), members in groups.items()]
        return tuple(sorted(out, key=lambda f: f.parameter))


def _judge(params: List[Tuple[str, nn.Parameter]], unit_views: List[UnitView], first_nonzero: Dict[str, Optional[int]], used: Dict[str, bool], order: Dict[str, int], done: int, notes: List[str]) -> Outcome:
    """Findings and per-parameter statistics from what the steps recorded."""
    if not done:
        return Outcome((), (), tuple(notes), (), 0)
    measured = [(view, *view.distinct()) for view in unit_views]
    symmetric = [m for m in measured if m[1] < m[0].units]
    # Upstream first: gradients reach upstream parameters last in the backward pass.
    symmetric.sort(key=lambda m: -order.get(m[0].name, -1))
    findings: List[Finding] = []
    sources: List[Tuple[str, torch.Tensor]] = []
    echoed: set = set()
    echoes: List[str] = []
    for view, distinct, partition in symmetric:
        source = _echo_source(view, partition, sources, echoed)
        if source is not None:
            echoed.add(view.name)
            echoes.append(f"{view.name} dim {view.axis}: echoes {source}")
            continue
        assert partition is not None
        sources.append((f"{view.name} dim {view.axis}", partition))
        findings.append(symmetric_finding(view.name, view.units, distinct, view.axis, done, view.raw))
    shown: Dict[str, Tuple[UnitView, int]] = {}
    for view, distinct, _ in measured:  # per parameter: its first symmetric axis, else its first axis
        current = shown.get(view.name)
        if current is None or (distinct < view.units and current[1] == current[0].units):
            shown[view.name] = (view, distinct)
    stats = []
    for name, p in params:
        if first_nonzero[name] is None:
            findings.append(dead_finding(name, done, not used[name], p.numel()))
        view, distinct = shown.get(name, (None, None))
        axis, units = (view.axis, view.units) if view is not None else (None, None)
        starts = (view.weight_distinct_at_init, view.distinct_at_init, view.split_step) if view is not None else (None, None, None)
        stats.append(ParameterStat(name, tuple(p.shape), axis, units, distinct, first_nonzero[name], done, not used[name], *starts))
    position = {name: i for i, (name, _) in enumerate(params)}
    findings.sort(key=lambda f: (position.get(f.parameter, 0), f.code))
    return Outcome(tuple(findings), tuple(stats), tuple(notes), tuple(echoes), done)


def _echo_source(view: UnitView, partition: Optional[torch.Tensor], sources: List[Tuple[str, torch.Tensor]], echoed: set) -> Optional[str]:
    """The upstream group this raw view's group echoes, if any (known layers are never echoes).

    Both axes of a raw matrix can match upstream groups; only one can be the input axis. Dim 0
    (the input axis of hand-written `x @ W` weights) is judged first; if it was an echo, dim 1
    is the matrix's own output axis and is reported.
    """
    if not view.raw or partition is None or (view.axis == 1 and view.name in echoed):
        return None
    return next((label for label, other in sources if label.split(" ")[0] != view.name and torch.equal(other, partition)), None)


def _order_hooks(params: List[Tuple[str, nn.Parameter]], order: Dict[str, int]) -> list:
    """Hooks recording the order in which parameters' gradients are accumulated (downstream first)."""
    hooks = []
    for name, p in params:
        def record(_: torch.Tensor, name: str = name) -> None:
            order.setdefault(name, len(order))

        hooks.append(p.register_post_accumulate_grad_hook(record))
    return hooks


def _cotangent_loss(output: Any, generator: torch.Generator) -> torch.Tensor:
    """sum((t * randn_like(t)).sum()) over every floating tensor in the output that carries a gradient."""
    tensors = [t for t in _tensors(output, 0) if (t.is_floating_point() or t.is_complex()) and t.requires_grad]
    if not tensors:
        raise ProbeError(
            f"forward returned no floating tensor that depends on the parameters (got {type(output).__name__})"
        )
    total = None
    for t in tensors:
        if t.is_complex():  # both parts get a cotangent of their own
            t = torch.view_as_real(t.resolve_conj())
        noise = torch.randn(t.shape, generator=generator, dtype=torch.float32).to(device=t.device, dtype=t.dtype)
        term = (t * noise).sum().float()
        total = term if total is None else total + term
    assert total is not None
    return total


def _tensors(value: Any, depth: int) -> Iterator[torch.Tensor]:
    """Tensors inside tuples, lists, dicts (ModelOutput is one), dataclasses and plain objects."""
    if depth > 6:
        return
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item, depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _tensors(getattr(value, f.name), depth + 1)
    elif hasattr(value, "__dict__") and not isinstance(value, (nn.Module, type)):
        for item in vars(value).values():
            yield from _tensors(item, depth + 1)


_FUNCTIONAL = ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout")


@contextlib.contextmanager
def _no_dropout(model: nn.Module) -> Iterator[List[str]]:
    """Switch dropout off for the probe; yields the notes saying what was switched off."""
    notes: List[str] = []
    modules = [n or type(m).__name__ for n, m in model.named_modules() if isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0]
    for name, m in model.named_modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.eval()
        if isinstance(m, nn.MultiheadAttention) and m.dropout > 0:
            m.dropout = 0.0
            modules.append(f"{name}.dropout")
    calls = {"n": 0}
    saved = {name: getattr(F, name) for name in _FUNCTIONAL + ("scaled_dot_product_attention",)}

    def wrap(original: Any) -> Any:
        def dropout(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
            if training and p > 0:
                calls["n"] += 1
            return original(input, p, False, inplace)

        return dropout

    def attention(*args: Any, **kwargs: Any) -> Any:
        if len(args) > 4 and args[4]:
            args = args[:4] + (0.0,) + args[5:]
            calls["n"] += 1
        elif kwargs.get("dropout_p"):
            kwargs["dropout_p"] = 0.0
            calls["n"] += 1
        return saved["scaled_dot_product_attention"](*args, **kwargs)

    for name in _FUNCTIONAL:
        setattr(F, name, wrap(saved[name]))
    F.scaled_dot_product_attention = attention
    try:
        yield notes
    finally:
        for name, original in saved.items():
            setattr(F, name, original)
        if modules:
            shown = ", ".join(modules[:5]) + (f" and {len(modules) - 5} more" if len(modules) > 5 else "")
            notes.append(f"dropout switched off for the probe: {shown}")
        if calls["n"]:
            notes.append(f"dropout switched off for the probe: {calls['n']} functional dropout call(s) ran as identity")
