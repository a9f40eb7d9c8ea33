"""IL101's machinery: which axes hold a parameter's units, and which units are identical.

Tolerance (the same on CPU and CUDA). Two units u, v of a tensor X are identical when
``max_j |u_j - v_j| <= rtol * max|X|`` with ``rtol = max(1e-5, 8 * eps(dtype))`` (1e-5 for
float32, about 84 ulps; 0.0625 for bfloat16). Why this shape:

* Identical units computed on a GPU need not be bitwise equal: cuBLAS split-K and atomic
  reductions sum the same terms in different orders. The rounding of a sum of K terms is about
  ``sqrt(K) * eps`` (at worst ``K * eps``) of their magnitude, well under 1e-5 of the tensor's
  scale for any realistic K, so non-determinism cannot hide symmetry.
* Distinct units of any random init differ by a sizeable fraction of the scale in nearly every
  coordinate; all of them agreeing within 1e-5 has probability about (1e-5)^d, so the tolerance
  cannot invent symmetry either.
* The scale is the whole tensor's (not each element's): a per-element relative test would call
  two near-zero entries different for the noise alone, and an absolute one depends on units.

Finding the groups without comparing every pair (O(n^2 d), too slow for a 4096-unit layer):
each unit is projected onto fixed random vectors in float64 (rounding there is ~1e-16, far
below the tolerance), first on 64 sampled coordinates, then, for units still together, on all
of them; the projections are sorted, and neighbours closer than the largest gap two tolerably
equal units can have become candidates, verified element by element against their group's
first member. The projections are a filter only: verdicts come from the element-wise test.
At step 0 the weights usually settle it at once (`_all_apart`): one sorted projection on the
sampled coordinates, and only the few near neighbours a random init has compared element-wise.

Only the weights at step 0 and the gradients at every step are compared: with plain SGD,
``w_t = w_0 - lr * sum(g_s)``, so units with identical w_0 and identical gradients have identical
weights after every step too. A view whose units are all distinct is never looked at again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, List, Optional, Tuple

import torch
from torch import nn

CHUNK = 1 << 22  # elements cast to float64 at a time: 32 MiB, whatever the layer's size
PROJECTIONS = 2
SAMPLE = 64  # coordinates of the cheap first projection
_NEAR_PAIRS = 1024  # near neighbours `_all_apart` compares itself before leaving them to `group`


def rtol_for(dtype: torch.dtype) -> float:
    """The relative tolerance for tensors of `dtype` (see the module docstring)."""
    return max(1e-5, 8 * torch.finfo(dtype).eps) if dtype.is_floating_point or dtype.is_complex else 0.0


def _real(tensor: torch.Tensor) -> torch.Tensor:
    """A complex tensor as real pairs (a trailing dim of 2): units compare on both parts."""
    return torch.view_as_real(tensor.resolve_conj()) if tensor.is_complex() else tensor


def _known_axis(module: nn.Module, name: str) -> Optional[int]:
    """The unit axis of a known layer's parameter; -1 for a known layer's non-unit parameter."""
    conv = nn.modules.conv
    if isinstance(module, conv._ConvTransposeNd):
        return 1 if name == "weight" else -1  # (in, out / groups, *kernel)
    if isinstance(module, (nn.Linear, nn.Bilinear, conv._ConvNd)):
        return 0 if name == "weight" else -1
    if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
        return 1 if name == "weight" else -1  # rows are tokens; the features are the units
    if isinstance(module, nn.RNNBase):
        return 0 if name.startswith("weight_") else -1
    if isinstance(module, nn.MultiheadAttention):
        return 0 if name.endswith("proj_weight") else -1
    if isinstance(module, (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)):
        return -1
    return None


@dataclass
class UnitView:
    """One (parameter, axis) whose units are compared: a weight, plus its bias entry per unit for known layers."""

    name: str
    param: nn.Parameter
    axis: int
    raw: bool  # a parameter of an unknown module: checked along dims 0 and 1
    bias: Optional[nn.Parameter] = None
    labels: Optional[torch.Tensor] = None  # current partition of the units (n,), None: not started
    alive: Optional[torch.Tensor] = None  # units whose gradient was ever non-zero
    settled: bool = False  # every unit already distinct: nothing can merge them again
    # Distinct units at step 0 by the weights alone and with the bias, then after each step's
    # gradients (before the dead-unit adjustment of `distinct`): IL010's weak start is judged on these.
    weight_distinct_at_init: Optional[int] = None
    distinct_at_init: Optional[int] = None
    history: List[int] = field(default_factory=list)
    _vectors: List[torch.Tensor] = field(default_factory=list)

    @property
    def units(self) -> int:
        """How many units lie along the axis."""
        return self.param.shape[self.axis]

    def _scales(self, weight: torch.Tensor, bias: Optional[torch.Tensor]) -> List[float]:
        scales = [_scale(_real(weight.detach()))]
        if self.bias is not None:
            scales.append(_scale(_real(bias.detach())) if bias is not None else 0.0)
        return scales

    def _parts(self, weight: torch.Tensor, bias: Optional[torch.Tensor]) -> List[torch.Tensor]:
        n = self.units
        parts = [_real(weight.detach().movedim(self.axis, 0)).reshape(n, -1)]
        if self.bias is not None:
            part = (bias if bias is not None else torch.zeros_like(self.bias)).detach()
            parts.append(_real(part).reshape(n, -1))
        return parts

    def start(self, generator: torch.Generator) -> None:
        """Partition the units by their weights at step 0 (before any update)."""
        values = self._parts(self.param, self.bias)
        rtol = rtol_for(self.param.dtype)
        scales = self._scales(self.param, self.bias)
        # Units whose weights differ are distinct whatever their biases: the weights alone
        # settle a random init (the usual case) without looking at the bias.
        if _all_apart(values[:1], [rtol * scales[0]], generator):
            self.settled = True
            self.weight_distinct_at_init = self.distinct_at_init = self.units
            return
        self._draw(generator)
        self.labels = group(values, self._vectors, rtol, scales)
        self.distinct_at_init = _count(self.labels)
        if self.bias is None:
            self.weight_distinct_at_init = self.distinct_at_init
        else:  # rows identical by their weights whose bias entries tell them apart: a weak start
            self.weight_distinct_at_init = _count(group(values[:1], self._vectors[:1], rtol, scales[:1]))
        self.alive = torch.zeros(self.units, dtype=torch.bool, device=self.param.device)
        self.settled = _all_distinct(self.labels)

    def _draw(self, generator: torch.Generator) -> None:
        if not self._vectors:  # drawn only for a view that needs `group`
            widths = [p.shape[1] for p in self._parts(self.param, self.bias)]
            self._vectors = [_random_vector(w, generator, self.param.device) for w in widths]

    def observe(self, generator: torch.Generator) -> None:
        """Refine the partition with this step's gradients (after `start`)."""
        if self.settled:
            return
        assert self.labels is not None and self.alive is not None
        weight_grad, bias_grad = _grad(self.param), _grad(self.bias) if self.bias is not None else None
        grads = self._parts(weight_grad, bias_grad)
        for part in grads:
            self.alive |= (part != 0).any(dim=1)
        step_labels = group(grads, self._vectors, rtol_for(self.param.dtype), self._scales(weight_grad, bias_grad))
        self.labels = refine(self.labels, step_labels)
        self.history.append(_count(self.labels))
        self.settled = _all_distinct(self.labels)

    @property
    def split_step(self) -> Optional[int]:
        """The first step whose gradients told apart units that were identical at step 0 (None: none)."""
        start = self.distinct_at_init
        return next((step for step, count in enumerate(self.history) if start is not None and count > start), None)

    def distinct(self) -> Tuple[int, Optional[torch.Tensor]]:
        """(number of distinct units, the canonical partition) - dead units of a live parameter count as distinct.

        A unit whose gradient was zero at every step is a dead unit (a ReLU that never fired), not
        a symmetric one; only when the whole view is dead is its symmetry reported too.
        """
        if self.labels is None or self.settled:
            return self.units, None
        labels = self.labels
        if self.alive is not None and bool(self.alive.any()):
            singles = torch.arange(self.units, device=labels.device) + int(labels.max()) + 1
            labels = torch.where(self.alive, labels, singles)
        canonical = torch.unique(labels, return_inverse=True)[1]
        return int(canonical.max()) + 1, _first_occurrence(canonical)


def views(model: nn.Module) -> Iterator[UnitView]:
    """The unit views of every trainable parameter with 2 or more dimensions."""
    for module_name, module in model.named_modules():
        own = dict(module.named_parameters(recurse=False))
        for name, param in own.items():
            if not param.requires_grad or param.dim() < 2 or not param.numel():
                continue  # a vector's entries have no incoming weights: not units; empty: nothing to compare
            full = f"{module_name}.{name}" if module_name else name
            axis = _known_axis(module, name)
            if axis == -1:
                continue
            if axis is not None:
                bias = own.get(name.replace("weight", "bias")) if "weight" in name else None
                if bias is not None and (bias.dim() != 1 or bias.shape[0] != param.shape[axis] or not bias.requires_grad):
                    bias = None
                yield UnitView(full, param, axis, raw=False, bias=bias)
            else:
                for raw_axis in (0, 1):
                    if param.shape[raw_axis] > 1:
                        yield UnitView(full, param, raw_axis, raw=True)


def group(parts: List[torch.Tensor], vectors: List[torch.Tensor], rtol: float, scales: Optional[List[float]] = None) -> torch.Tensor:
    """Labels (n,) such that units with equal labels are identical within tolerance in every part.

    `vectors[i]` is a (d_i, PROJECTIONS) float64 matrix. A unit's projection moves by at most
    `limit * ||r||_1` when its entries move by at most `limit`, so units equal within tolerance
    always land in the same run of sorted projections: runs are candidates, never verdicts.
    Stage 1 projects on SAMPLE coordinates only (cheap, and random units already differ there);
    units still sharing a run are projected on all coordinates; survivors are then verified
    element by element, all groups at once.
    """
    n = parts[0].shape[0]
    device = parts[0].device
    # The scales of the original (contiguous) tensors when given: aminmax crawls on strided views.
    limits = [rtol * scale for scale in (scales if scales is not None else [_scale(p) for p in parts])]
    everyone = torch.arange(n, device=device)
    sample = _sample(parts)
    key = _runs(parts, vectors, limits, everyone, sample)
    pending = _shared(key, everyone)
    if pending.numel():
        full = _runs(parts, vectors, limits, pending, None)
        key = key.clone()
        key[pending] = refine(key[pending], full) + n  # disjoint from the keys of the others
        pending = _shared(key, pending)
    labels = everyone.clone()
    while pending.numel():
        keys = key[pending]
        unique, inverse = torch.unique(keys, return_inverse=True)
        first = torch.full((unique.numel(),), n, dtype=torch.long, device=device)
        leaders = first.scatter_reduce(0, inverse, pending, "amin")[inverse]
        same = _within(parts, limits, pending, leaders)
        labels[pending[same]] = leaders[same]
        pending = _shared(key, pending[~same])
    return labels


def _runs(parts: List[torch.Tensor], vectors: List[torch.Tensor], limits: List[float], members: torch.Tensor, sample: Optional[List[torch.Tensor]]) -> torch.Tensor:
    """A key per member: members with different keys are certainly not identical."""
    signature = torch.zeros(members.numel(), PROJECTIONS, dtype=torch.float64, device=members.device)
    slack = torch.zeros(PROJECTIONS, dtype=torch.float64, device=members.device)
    for i, (part, vector, limit) in enumerate(zip(parts, vectors, limits)):
        rows = part
        if sample is not None:  # sample first: indexing rows copies them
            rows, vector = rows[:, sample[i]], vector[sample[i]]
        if members.numel() != part.shape[0]:
            rows = rows[members]
        signature += _project(rows, vector)
        slack += limit * vector.abs().sum(0)
    slack = slack * (1 + 1e-6) + 1e-12 * signature.abs().amax(0)
    key = torch.zeros(members.numel(), dtype=torch.long, device=members.device)
    for column in range(PROJECTIONS):
        values = signature[:, column]
        order = torch.argsort(values)
        breaks = (values[order].diff() > slack[column]).long().cumsum(0)
        runs = torch.empty_like(key)
        runs[order] = torch.cat([breaks.new_zeros(1), breaks])
        key = refine(key, runs)
    return key


def _sample(parts: List[torch.Tensor]) -> List[torch.Tensor]:
    """SAMPLE evenly spread coordinates of each part (all of a narrower one)."""
    return [torch.arange(min(SAMPLE, p.shape[1]), device=p.device) * max(1, p.shape[1] // SAMPLE) for p in parts]


def _all_apart(parts: List[torch.Tensor], limits: List[float], generator: torch.Generator) -> bool:
    """Whether no two units are identical, decided cheaply in the usual case (a random init).

    The first projection on the sampled coordinates, sorted: two tolerably equal units lie within
    `_runs`'s slack of each other, so only neighbours that close can be identical. A random init
    of a wide layer has a few such near neighbours by chance (the birthday bound); they are
    compared element by element, every pair of each run, all at once. False when some pair is
    identical or the runs are too many or too long to check here: then `group` does the full work."""
    n = parts[0].shape[0]
    if n < 2:
        return True
    signature = None
    slack = 0.0
    for part, limit in zip(parts, limits):
        width = part.shape[1]
        step = max(1, width // SAMPLE)
        count = min(SAMPLE, width)
        column = torch.randn(count, 1, generator=generator, dtype=torch.float64).to(part.device)
        projected = _project(part[:, : count * step : step], column)[:, 0]  # `_sample`'s coordinates, as a view
        signature = projected if signature is None else signature + projected
        slack += limit * float(column.abs().sum())
    assert signature is not None
    slack = slack * (1 + 1e-6) + 1e-12 * float(signature.abs().max())
    values, order = signature.sort()
    close = (values.diff() <= slack).nonzero().flatten().tolist()
    if not close:
        return True
    if len(close) > _NEAR_PAIRS:
        return False
    order_list = order.tolist()
    runs: List[List[int]] = []
    for k in close:  # k and k + 1 are near neighbours in sorted order: the same run
        if runs and runs[-1][-1] == order_list[k]:
            runs[-1].append(order_list[k + 1])
        else:
            runs.append([order_list[k], order_list[k + 1]])
    pairs = [(a, b) for run in runs for i, a in enumerate(run) for b in run[i + 1:]]
    if len(pairs) * parts[0].shape[1] > CHUNK:
        return False  # long runs: many units alike on the sample, `group` sorts them out
    first = torch.tensor([a for a, _ in pairs], device=parts[0].device)
    second = torch.tensor([b for _, b in pairs], device=parts[0].device)
    same = torch.ones(len(pairs), dtype=torch.bool, device=parts[0].device)
    for part, limit in zip(parts, limits):  # every pair of every run at once, element by element
        same &= (part[first] - part[second]).abs().amax(dim=1) <= limit
    return not bool(same.any())


def _scale(part: torch.Tensor) -> float:
    """max |x| over the tensor (aminmax: one pass, no |x| temporary; 10x faster than abs().max())."""
    if not part.numel():
        return 0.0
    low, high = torch.aminmax(part)
    return max(-float(low), float(high))


def _shared(key: torch.Tensor, members: torch.Tensor) -> torch.Tensor:
    """The members whose key at least one other member has (the ones still to verify)."""
    if members.numel() < 2:
        return members[:0]
    counts = torch.bincount(key[members])
    return members[counts[key[members]] > 1]


def _within(parts: List[torch.Tensor], limits: List[float], members: torch.Tensor, leaders: torch.Tensor) -> torch.Tensor:
    """For each member, whether it equals its leader within the limit in every part (chunked)."""
    same = torch.ones(members.numel(), dtype=torch.bool, device=members.device)
    for part, limit in zip(parts, limits):
        rows = max(1, CHUNK // max(1, part.shape[1]))
        for i in range(0, members.numel(), rows):
            a, b = part[members[i : i + rows]], part[leaders[i : i + rows]]
            same[i : i + rows] &= (a - b).abs().amax(dim=1) <= limit
    return same


def refine(previous: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
    """The partition whose groups are the intersections of two partitions' groups (labels 0..k-1)."""
    if not previous.numel():
        return previous
    pairs = previous * (int(current.max()) + 1) + current  # labels are < n, so no overflow
    return torch.unique(pairs, return_inverse=True)[1]


def _project(part: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
    """part @ vectors in float64, a few rows at a time (bounded extra memory)."""
    rows = max(1, CHUNK // max(1, part.shape[1]))
    out = [part[i : i + rows].double() @ vector for i in range(0, part.shape[0], rows)]
    return torch.cat(out)


def _random_vector(length: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """A (length, PROJECTIONS) float64 matrix: two projections make a false candidate pair rarer."""
    vector = torch.randn(length, PROJECTIONS, generator=generator, dtype=torch.float64)
    return vector.to(device)


def _grad(param: Optional[nn.Parameter]) -> torch.Tensor:
    assert param is not None
    return param.grad if param.grad is not None else torch.zeros_like(param)


def _all_distinct(labels: torch.Tensor) -> bool:
    return torch.unique(labels).numel() == labels.numel()


def _count(labels: torch.Tensor) -> int:
    return int(torch.unique(labels).numel())


def _first_occurrence(labels: torch.Tensor) -> torch.Tensor:
    """Relabel so that groups are numbered in order of first appearance (comparable across views)."""
    mapping = {}
    out = []
    for value in labels.tolist():
        out.append(mapping.setdefault(value, len(mapping)))
    return torch.tensor(out)
