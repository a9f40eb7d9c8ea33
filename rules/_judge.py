"""The judgement the model rules share: for every write that leaves a layer constant, zero or
made of repeated rows, what the network model shows happens when training starts.

The theory (seed 002's proof, seed 003's symmetry chapter): the units of a layer stay identical
for ever only when they are alike on *both* sides: equal incoming weights and biases, and equal
outgoing weights (the next layer's weight constant, with nothing in between that tells units
apart: dropout, a residual add, a random per-unit scale). A random bias or a random next layer
breaks the tie; the start is then merely poor (rank one: measured 52 % on digits for a first
layer of ones, against 96.5 %). A layer whose weight and bias are zero outputs 0; an activation
whose derivative at 0 is 0 (ReLU) then passes no gradient, and a zero layer next in line (whose
input is that 0) learns nothing and passes nothing back: both stay dead for ever.

`Judge(facts).verdicts()` gives one Verdict per (write, claim); the rules filter by kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from initlint import exprs, torch_api
from initlint.facts import FileFacts, Site
from initlint.model import OUTPUT, UNKNOWN, Network, Terminal
from initlint.model.state import CONST, NONE, RANDOM, ROWS, ZERO, Model, Slot, Value
from initlint.model.tree import LAYER, NORM, PARAM

# Verdict kinds.
SYMMETRIC = "symmetric"  # tied for ever (IL001 for a constant, IL005 for repeated rows)
WEAK = "weak"  # identical at the start, the tie broken by a random neighbour (IL010)
DEAD = "dead"  # gradient exactly 0 for ever (IL002)

# The detail of a walk's write whose layers' consumers the file does not show.
UNSEEN = "unseen"

# Operations that keep each unit's value to itself (a tie survives them; a zero stays zero).
_PER_UNIT = ("reshape", "scale")


@dataclass(eq=False)
class Verdict:
    """What the model shows about one write."""

    kind: str
    site: Site
    model: Model
    slot: Slot
    walked: bool  # the write is a loop's or an `.apply` function's (IL003's)
    detail: str = ""  # why, in words: what ties the units, what breaks the tie, what blocks the gradient
    partner: Optional[str] = None  # the other layer of a tied or dead pair
    units: Optional[str] = None
    via: Optional[object] = None  # the helper call that wrote it (`zero_module(conv)`): where to point

    @property
    def node(self):
        """Where a finding points: the helper call that took the module, else the write."""
        return self.via if self.via is not None else self.site.node


class Judge:
    """Every verdict of one file (computed once)."""

    def __init__(self, facts: FileFacts) -> None:
        self.facts = facts
        self.network = Network(facts)
        self._verdicts: Optional[List[Verdict]] = None

    def verdicts(self) -> List[Verdict]:
        if self._verdicts is None:
            found: List[Verdict] = []
            for model in self._models():
                found.extend(_ModelJudge(self, model).run())
            self._verdicts = _dedupe(found)
        return self._verdicts

    def reached(self, site: Site) -> bool:
        """Whether some model's construction (or code after it) ran this write."""
        self.verdicts()
        return id(site) in self.network.runner.reached

    def _models(self) -> Iterable[Model]:
        for cls in self.network.classes():
            yield self.network.model(cls)
        for model in self.network.built():
            if not model.reference:
                yield model
        script, _flow = self.network.script()
        if script.slots:
            yield script


def _dedupe(verdicts: List[Verdict]) -> List[Verdict]:
    """One verdict per (write, kind, layer): the same class judged alone and inside another
    class, or as a model the file builds, says the same thing; the strongest claim is kept."""
    rank = {DEAD: 0, SYMMETRIC: 1, WEAK: 2}

    def order(verdict: Verdict) -> Tuple[int, int]:
        # a layer tied itself says more than one that keeps another's units tied
        return rank[verdict.kind], int(verdict.detail.startswith("its columns"))

    best: Dict[Tuple[int, int, str], Verdict] = {}
    for verdict in verdicts:
        # (a class's nodes are the same objects in its own model and expanded in another's)
        key = (id(verdict.site), id(verdict.slot.node), verdict.slot.attr)
        current = best.get(key)
        if current is None or order(verdict) < order(current):
            best[key] = verdict
    return list(best.values())


class _ModelJudge:
    """The verdicts of one model."""

    def __init__(self, judge: Judge, model: Model) -> None:
        self.judge, self.model, self.network = judge, model, judge.network
        self.live: Dict[int, Set[str]] = {}  # site id -> the slots whose value it still is
        for key, slot in model.slots.items():
            for value in slot.values:
                if value.site is not None:
                    self.live.setdefault(id(value.site), set()).add(key)
        self._consumers: Dict[str, List[Terminal]] = {}

    def run(self) -> List[Verdict]:
        out: List[Verdict] = []
        seen: Set[Tuple[int, str]] = set()
        for site, keys, walked, via in self.model.writes:
            if site.kind not in ("constant", "repeat"):
                continue
            for key in keys:
                if key not in self.live.get(id(site), ()) or (id(site), key) in seen:
                    continue
                seen.add((id(site), key))
                slot = self.model.slots[key]
                if any(v.kind == RANDOM and v.site is not None for v in slot.values):
                    continue  # another branch initialises it randomly: the constant is an option
                if key in self.model.frozen:
                    continue  # not trained: a fixed constant on purpose (a blur, an average)
                for verdict in self._judge(site, slot, walked):
                    verdict.via = verdict.via or self._via(verdict.site, verdict.slot.key)
                    out.append(verdict)
        return out

    def _via(self, site: Site, key: str):
        for other, keys, _walked, via in self.model.writes:
            if other is site and key in keys and via is not None:
                return via
        return None

    # ---- one slot ---------------------------------------------------------------------------------
    def _judge(self, site: Site, slot: Slot, walked: bool) -> List[Verdict]:
        node = slot.node
        value = next(v for v in slot.values if v.site is site)
        if not self._matrix(slot, site):
            if node.kind == NORM and slot.attr == "weight" and value.kind == ZERO:
                return self._dead(site, slot, walked)
            return []
        if value.kind == ZERO:
            # dead for ever, or (alive but) tied for ever: zero in, zero bias, constant out
            return self._dead(site, slot, walked) or self._tied(site, slot, value, walked)
        if value.kind == ROWS and node.kind == PARAM and not self._rows_are_units(slot.path):
            return []  # `x @ W` with W's rows repeated: its units (columns) differ
        return self._tied(site, slot, value, walked)

    def _matrix(self, slot: Slot, site: Site) -> bool:
        """A weight whose rows are units: a layer's (not a depthwise conv's, not one unit's)."""
        node = slot.node
        if node.kind == LAYER:
            return slot.attr == "weight" and not node.depthwise and node.units != "1"
        if node.kind == PARAM:
            if site.kind == "repeat":
                return self._used_in_product(slot.path)  # rows repeated: a matrix
            shape = site.shape
            if shape is None and site.created:
                return False
            dims = exprs.matrix_dims(shape) if shape is not None else None
            return dims is not None and dims >= 2 and self._used_in_product(slot.path)
        return False

    def _rows_are_units(self, path: str) -> bool:
        _prefix, flow, local = self.network._owner(self.model, path)
        return local in flow.row_units

    def _used_in_product(self, path: str) -> bool:
        _prefix, flow, local = self.network._owner(self.model, path)
        return local in flow.operands

    def _walked(self, site: Site) -> bool:
        return any(walked for other, _keys, walked, _via in self.model.writes if other is site)

    def consumers(self, path: str) -> List[Terminal]:
        found = self._consumers.get(path)
        if found is None:
            found = self._consumers[path] = self.network.consumers(self.model, path)
        return found

    # ---- dead for ever ----------------------------------------------------------------------------
    def _outputs_zero(self, slot: Slot) -> bool:
        """The node's output is exactly 0: its weight (or a norm's scale) and its bias are zero."""
        weight = self.model.slots.get(f"{slot.path}.weight") if slot.attr else slot
        if weight is None or not _all(weight, ZERO):
            return False
        bias = self.model.slots.get(f"{slot.path}.bias")
        if slot.node.kind == PARAM:
            return True  # a raw matrix: a bias shows on the way (`bias:` ops), judged there
        return bias is None or _all(bias, ZERO, NONE)

    def _dead(self, site: Site, slot: Slot, walked: bool) -> List[Verdict]:
        if not self._outputs_zero(slot):
            return []
        terminals = self.consumers(slot.path)
        if not terminals:
            return []
        blocked: List[str] = []
        partners: List[str] = []  # zero layers fed only by this one: they stay zero too
        starved: List[str] = []  # other layers fed only by this one's zeros: their weight never learns
        for terminal in terminals:
            path = self._zero_path(terminal, slot.path)
            if path is None:
                return []  # some path carries a gradient, or the model cannot tell
            act, target, target_zero = path
            if act is not None:
                blocked.append(act)
            if target is not None:
                (partners if target_zero else starved).append(target)
        label = _label(self.model, slot.path)
        starving = ""
        if starved:
            names = _join_words([_label(self.model, t) for t in starved])
            starving = f"; {names}, fed only its zeros, never {'learns its' if len(starved) == 1 else 'learn their'} weight{'s' if len(starved) > 1 else ''} either"
        if blocked and not partners:
            what = "its weight and bias get" if slot.node.kind != PARAM else "it gets"
            detail = (
                f"{label} outputs 0 and {_join_words(sorted(set(blocked)))} passes no gradient at 0, so {what} a gradient "
                f"of exactly 0 at every step (dead for ever){starving}"
            )
            return [Verdict(DEAD, site, self.model, slot, walked, detail)]
        verdicts: List[Verdict] = []
        for partner in partners:
            other = _label(self.model, partner)
            detail = (
                f"{label} outputs 0, so {other} gets no gradient from its zero input, and {other}'s zero weight passes "
                f"none back to {label}: both stay zero for ever"
            )
            verdicts.append(Verdict(DEAD, site, self.model, slot, walked, detail, partner=partner))
            partner_slot = self.model.slots.get(f"{partner}.weight") or self.model.slots.get(partner)
            if partner_slot is not None:
                for value in partner_slot.values:
                    if value.site is not None and value.kind == ZERO:
                        via = self._via(value.site, partner_slot.key)
                        verdicts.append(Verdict(DEAD, value.site, self.model, partner_slot, self._walked(value.site), detail, partner=slot.path, via=via))
        return verdicts

    def _zero_path(self, terminal: Terminal, source: str) -> Optional[Tuple[Optional[str], Optional[str], bool]]:
        """How one path stops the gradient of a zero output: (the activation with no gradient at 0
        on it, or None; the layer it reaches while still exactly 0 and fed by nothing else, or
        None; whether that layer's weight is zero). None when the path carries a gradient or the
        model cannot tell."""
        blocked: Optional[str] = None
        zero = True  # the value on the path is still exactly 0
        for op in terminal.ops:
            kind, _, arg = op.partition(":")
            if kind == "act":
                zero_at_zero, flat_at_zero = torch_api.ACTIVATION_AT_ZERO.get(arg, (False, False))
                if zero and flat_at_zero and blocked is None:
                    blocked = _act_label(arg)
                zero = zero and zero_at_zero
            elif kind == "norm":
                norm_bias = self.model.slots.get(f"{arg}.bias")
                zero = zero and (norm_bias is None or _all(norm_bias, ZERO))
            elif kind == "bias":
                zero = zero and all(_all(self.model.slots[p], ZERO) for p in arg.split(",") if p in self.model.slots)
            elif kind not in _PER_UNIT and kind != "dropout":
                zero = False
                if blocked is None:
                    return None
            if not zero and blocked is None:
                return None  # no longer 0 before anything stopped it: the gradient flows
        target = terminal.target
        fed = None
        target_zero = False
        if zero and target not in (OUTPUT, UNKNOWN) and set(self.network.producers(self.model, target)) <= {source}:
            weight = self.model.slots.get(f"{target}.weight") or self.model.slots.get(target)
            if weight is not None:
                fed, target_zero = target, _all(weight, ZERO)
        if blocked is None and not target_zero:
            return None
        return blocked, fed, target_zero

    # ---- tied for ever, or a weak start -------------------------------------------------------------
    def _tied(self, site: Site, slot: Slot, value: Value, walked: bool) -> List[Verdict]:
        label = _label(self.model, slot.path)
        units = slot.node.units if slot.node.kind == LAYER else _last_dim(site)
        bias_ok, bias_why = self._bias_tied(slot)
        terminals = self.consumers(slot.path)
        tied_by: List[str] = []
        breaks: List[str] = []
        unknown = not terminals
        outputs = 0
        for terminal in terminals:
            why = self._breaks(terminal)
            if why == "output":
                outputs += 1
            elif why == "unknown":
                unknown = True
            elif why is None:
                tied_by.append(terminal.target)
            else:
                breaks.append(why)
        for target in list(tied_by):
            if target == slot.path:
                continue  # n layers built alike, each feeding the next (judged below)
            others = [p for p in self.network.producers(self.model, target) if p != slot.path]
            if others:
                # the next layer's gradient comes from what else it reads too: its columns drift apart
                tied_by.remove(target)
                breaks.append(f"{_join_words([_label(self.model, o) for o in others])} (which {_label(self.model, target)} reads too)")
        if tied_by and not breaks and not unknown and not outputs and bias_ok:
            partners = ", ".join(_label(self.model, t) for t in tied_by)
            incoming = "the same row for every unit" if value.kind == ROWS else "equal weights in"
            noise = " (dropout between tells them apart by noise only)" if any("dropout" in t.ops for t in terminals) else ""
            detail = f"{incoming}, {bias_why}, and equal weights out ({partners} is constant too){noise}"
            verdicts = [Verdict(SYMMETRIC, site, self.model, slot, walked, detail, partner=tied_by[0], units=units)]
            for target in tied_by:  # the constant layer that keeps them tied is part of the bug
                verdicts.extend(self._partner(target, slot.path, label))
            return verdicts
        if slot.node.repeated and slot.path in tied_by and bias_ok and not unknown:
            # n layers built alike, each feeding the next (constant too): every one that feeds
            # the next stays tied for ever; only the last meets what breaks the tie.
            last = _join_words(breaks) if breaks else ("the loss" if outputs else "")
            many = label[:-3] if label.endswith("[*]") else label
            count = f"all {units} units" if units else "the units"
            detail = (
                f"{count} of each layer of {many} start identical, and each one that feeds the next (constant too, "
                f"{bias_why}) keeps them tied for ever" + (f"; only the last one's are told apart, by {last}" if last else "")
            )
            return [Verdict(SYMMETRIC, site, self.model, slot, walked, detail, units=units)]
        hidden = any(self.model.nodes.get(t.target) is not None and self.model.nodes[t.target].kind in (LAYER, PARAM) for t in terminals)
        if value.kind not in (CONST, ROWS):
            return []
        if not hidden:
            # An output layer (the loss tells its units apart, as a zero head's), or a layer
            # whose consumers the file does not show: no claim, unless a walk set many layers
            # alike (IL003 then says what it did: units alike, told apart by their biases alone).
            if not walked or outputs:
                return []
            if not breaks and bias_ok:
                return [Verdict(WEAK, site, self.model, slot, walked, UNSEEN, units=units)]
        if not bias_ok:
            breaks.insert(0, bias_why)
        if not breaks and outputs:
            breaks.append("the loss (its output reaches it too)")
        if not breaks:
            return []  # nothing the model shows tells the units apart, nor holds them tied: no claim
        return [Verdict(WEAK, site, self.model, slot, walked, _join_words(breaks), units=units)]

    def _partner(self, target: str, tied: str, tied_label: str) -> List[Verdict]:
        """The next layer's constant weight, which keeps `tied`'s units tied: reported too when it
        has sibling units itself (its columns are what is equal)."""
        slot = self.model.slots.get(f"{target}.weight") or self.model.slots.get(target)
        if slot is None:
            return []
        out = []
        for value in slot.values:
            if value.site is None or value.kind not in (CONST,):
                continue
            if slot.node.kind == LAYER and slot.node.units == "1":
                continue
            if slot.node.kind == PARAM and exprs.matrix_dims(value.site.shape) is not None and exprs.matrix_dims(value.site.shape) < 2:
                continue
            detail = f"its columns are equal, so the units of {tied_label} that it reads get identical gradients and stay tied for ever"
            out.append(Verdict(SYMMETRIC, value.site, self.model, slot, self._walked(value.site), detail, partner=tied, units=slot.node.units))
        return out

    def _bias_tied(self, slot: Slot) -> Tuple[bool, str]:
        if slot.node.kind == PARAM:
            biases = {op[5:] for t in self.consumers(slot.path) for op in t.ops[:1] if op.startswith("bias:")}
            if not biases:
                return True, "no bias"
            values = [self.model.slots[b] for b in biases if b in self.model.slots]
            if values and all(_all(v, ZERO, CONST) for v in values):
                return True, "a constant bias"
            return False, "its random bias"
        bias = self.model.slots.get(f"{slot.path}.bias")
        if bias is None or _all(bias, NONE):
            return True, "no bias"
        if _all(bias, ZERO, CONST, NONE):
            return True, "a constant bias"
        if any(v.kind == RANDOM for v in bias.values):
            return False, "its random bias"
        return False, "its bias (values the file does not show)"

    def _breaks(self, terminal: Terminal) -> Optional[str]:
        """None when this path weighs the units alike; "output" when it reaches the loss; "unknown";
        else what tells the units apart on it."""
        for op in terminal.ops:
            kind, _, arg = op.partition(":")
            if kind == "dropout":
                continue  # noise only: identical units stay identical in expectation (the probe agrees)
            if kind == "norm":
                norm = [self.model.slots.get(f"{arg}.{a}") for a in ("weight", "bias")]
                if any(s is not None and not _all(s, ZERO, CONST) for s in norm):
                    return f"the random scale of {_label(self.model, arg)}"
            elif kind == "scale" and arg:
                if not all(_all(self.model.slots[p], ZERO, CONST) for p in arg.split(",") if p in self.model.slots):
                    return "a random per-unit scale"
            elif kind == "bias":
                if not all(_all(self.model.slots[p], ZERO, CONST) for p in arg.split(",") if p in self.model.slots):
                    return "a random bias"
            elif kind == "act" or kind in _PER_UNIT:
                continue
            else:
                return "unknown"
        target = terminal.target
        if target == OUTPUT:
            return "output"
        if target == UNKNOWN:
            return "unknown"
        weight = self.model.slots.get(f"{target}.weight") or self.model.slots.get(target)
        node = self.model.nodes.get(target)
        if weight is None or node is None or node.kind not in (LAYER, PARAM) or node.depthwise:
            return "unknown"
        if _all(weight, ZERO, CONST):
            return None
        if any(v.kind == RANDOM for v in weight.values):
            return f"the random weight of {_label(self.model, target)}"
        return "unknown"


def _last_dim(site: Site) -> Optional[str]:
    """A created matrix's units, as `x @ W` reads it: its last dimension's text."""
    if not site.shape_text:
        return None
    return site.shape_text.rsplit(",", 1)[-1].strip() or None


def _all(slot: Slot, *kinds: str) -> bool:
    return bool(slot.values) and all(v.kind in kinds for v in slot.values)


def _label(model: Model, path: str) -> str:
    """How a message names a node: `self.fc1` in a class, `net.fc1` for a built model, `W1` in a script."""
    if model.cls == "<script>":
        return path
    owner = model.instance or "self"
    parts = path.split(".")
    text = owner
    for part in parts:
        text += f"[{part}]" if part.lstrip("-").isdigit() or part == "*" else f".{part}"
    return text


def _act_label(name: str) -> str:
    return {"relu_min0": "clamp(min=0)", "relu": "ReLU", "relu6": "ReLU6", "threshold": "Threshold"}.get(name, name)


def _join_words(items: Sequence[str]) -> str:
    items = list(dict.fromkeys(items))
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# ---- what the rules ask -------------------------------------------------------------------------
def judge_of(facts: FileFacts) -> Judge:
    """The file's judgement, made once and shared by the rules."""
    found = facts.shared.get("judge")
    if found is None:
        found = facts.shared["judge"] = Judge(facts)
    return found  # type: ignore[return-value]


def is_test_code(facts: FileFacts, site: Site) -> bool:
    """Test code builds reference models that are never trained: `tests/`, `test_*.py`,
    `*_test.py`, `conftest.py`, `test*` functions and `Test*` classes (`lint-tests = true` judges it)."""
    from initlint.paths import is_test_path

    if facts.lint_tests:
        return False
    return site.in_test or is_test_path(facts.path)


def across_layers(verdict: Verdict) -> bool:
    """A walk's write that reached more than one layer of the model (IL003 reports those)."""
    if not verdict.walked:
        return False
    for site, keys, _walked, _via in verdict.model.writes:
        if site is verdict.site:
            return len({key.rsplit(".", 1)[0] if verdict.model.slots[key].attr else key for key in keys}) > 1
    return False


def units_of(verdict: Verdict) -> str:
    """`all 128 units` / `all units`."""
    return f"all {verdict.units} units" if verdict.units and verdict.units != "?" else "all units"


def layer_label(verdict: Verdict) -> str:
    return _label(verdict.model, verdict.slot.path)


def target_label(verdict: Verdict) -> str:
    """The parameter a verdict is about, as a message names it."""
    label = layer_label(verdict)
    return f"{label}.{verdict.slot.attr}" if verdict.slot.attr else label
