"""Plain, frozen, picklable results of the runtime probe: no torch here.

A worker process sends these to its parent as JSON (`to_dict` / `from_dict`), so every field is
a str, int, bool, None or a tuple of those (or of the dataclasses below).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, List, Optional, Tuple

from initlint.runtime.codes import (
    DEAD,
    INIT_TOUCHED_NOTHING,
    SHARED_PARAMETER,
    SYMMETRIC,
    UNINITIALISED_PARAMETER,
    UNREGISTERED_TENSOR,
)


@dataclass(frozen=True)
class Finding:
    """One fact the probe proved: symmetric units (IL101), a dead parameter (IL102), an init that
    reached nothing (IL103), an unregistered (IL105), shared (IL106) or uninitialised (IL107) tensor."""

    code: str
    name: str
    # Dotted parameter name (`fc1.weight`); for IL103 the init routine's qualified name; for IL105
    # where the tensor is held (`layers[0].weight`); for IL106 the first place of the shared module.
    parameter: str
    # The message: `fc1.weight: 128 units, 1 distinct (identical weights and gradients over 3 steps)`.
    evidence: str
    # IL101: the unit axis, the number of units along it, and how many of them are distinct.
    axis: Optional[int] = None
    units: Optional[int] = None
    distinct: Optional[int] = None
    # Where to point (IL103: the call of the init routine in `__init__`); None: the model's class.
    path: Optional[str] = None
    line: Optional[int] = None


@dataclass(frozen=True)
class ParameterStat:
    """What the probe saw of one trainable parameter, findings or not (for `not confirmed` evidence)."""

    name: str
    shape: Tuple[int, ...]
    # The axis the units were compared along (None: a 1-D parameter, not checked for symmetry).
    axis: Optional[int]
    units: Optional[int]
    distinct: Optional[int]
    # The first step (0-based) at which the gradient had a non-zero entry; None: never.
    first_nonzero: Optional[int]
    steps: int
    # True when autograd never produced a gradient (the parameter is unused by forward).
    unused: bool = False
    # Distinct units at step 0 by their weights alone, and with their bias entries (None: not
    # measured, e.g. a 1-D parameter); and the first step whose gradients split a group of units
    # that were identical at step 0 (None: none did). IL010's "weak start" is judged on these.
    weight_distinct_at_init: Optional[int] = None
    distinct_at_init: Optional[int] = None
    split_step: Optional[int] = None

    def describe(self) -> str:
        """`fc1.weight: 128 units, 128 distinct; gradient non-zero from step 0`."""
        parts = []
        if self.units is not None:
            along = f" along dim {self.axis}" if self.axis not in (None, 0) else ""
            start = self.weight_distinct_at_init
            if start is not None and start < self.units:
                bias = f" ({self.distinct_at_init} with the bias)" if self.distinct_at_init not in (None, start) else ""
                after = f" from step {self.split_step}" if self.split_step is not None else ""
                parts.append(
                    f"{self.units} units{along}, {start} distinct by their weights at init{bias}, "
                    f"{self.distinct} distinct after {self.steps} steps{after}"
                )
            else:
                parts.append(f"{self.units} units{along}, {self.distinct} distinct")
        if self.unused:
            parts.append("never received a gradient")
        elif self.first_nonzero is None:
            parts.append(f"gradient exactly zero at all {self.steps} steps")
        elif self.first_nonzero == 0:
            parts.append("gradient non-zero from step 0")
        else:
            zero = "step 0" if self.first_nonzero == 1 else f"steps 0-{self.first_nonzero - 1}"
            parts.append(f"gradient zero at {zero}, non-zero from step {self.first_nonzero}")
        return f"{self.name}: " + "; ".join(parts)


@dataclass(frozen=True)
class InitRoutine:
    """A function of the user's code that initialised, or walked the module tree, during construction."""

    name: str
    path: Optional[str]
    line: Optional[int]  # where it was called from (the statement in `__init__`), else its `def`
    init_calls: int  # torch.nn.init.* calls and in-place inits made by it or by what it called
    walks: int  # modules()/parameters()/apply() calls it made
    walked_parameters: int  # the most parameters any of its walks could see
    reached: int  # parameters of the final module that its init calls touched
    total: int  # parameters of the final module

    @property
    def touched_all(self) -> bool:
        """True when every parameter of the final module was touched."""
        return self.reached == self.total


@dataclass(frozen=True)
class Report:
    """The result of `initlint.runtime.check`: plain data, printable with `format()`."""

    model: str
    steps: int
    device: str
    findings: Tuple[Finding, ...] = ()
    parameters: Tuple[ParameterStat, ...] = ()
    init_routines: Tuple[InitRoutine, ...] = ()
    # Dropout switched off, steps cut short by non-finite values, IL103 unavailable, ...
    notes: Tuple[str, ...] = ()
    input_shapes: Tuple[str, ...] = ()
    # Symmetric groups not reported because they echo an upstream source (for transparency).
    echoes: Tuple[str, ...] = field(default=())
    # False when an instance was given: its construction was not watched, so IL103 was not checked.
    init_recorded: bool = True

    @property
    def ok(self) -> bool:
        """True when the probe found nothing."""
        return not self.findings

    @property
    def codes(self) -> Tuple[str, ...]:
        """The codes of the findings, in order."""
        return tuple(f.code for f in self.findings)

    def by_code(self, code: str) -> Tuple[Finding, ...]:
        """The findings with one code."""
        return tuple(f for f in self.findings if f.code == code)

    def stat(self, name: str) -> Optional[ParameterStat]:
        """The probe's view of one parameter, by dotted name."""
        return next((p for p in self.parameters if p.name == name), None)

    def format(self) -> str:
        """A readable multi-line summary (what `assert_learnable` raises with)."""
        head = f"{self.model}: {self.steps} SGD steps on {self.device}"
        if self.input_shapes:
            head += f", inputs {', '.join(self.input_shapes)}"
        lines = [head + (": no findings" if self.ok else f": {len(self.findings)} finding(s)")]
        lines.extend(f"  {f.code} {f.name}: {f.evidence}" for f in self.findings)
        lines.extend(f"  note: {n}" for n in self.notes)
        if not self.init_recorded:
            lines.append("  note: IL103 and IL107 not checked: pass the class or a factory to watch the construction")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()

    def to_dict(self) -> Dict[str, Any]:
        """JSON-able data (tuples become lists)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Report":
        """The inverse of `to_dict`."""
        return cls(
            model=data["model"],
            steps=data["steps"],
            device=data["device"],
            findings=tuple(_build(Finding, f) for f in data.get("findings", ())),
            parameters=tuple(_build(ParameterStat, p) for p in data.get("parameters", ())),
            init_routines=tuple(_build(InitRoutine, r) for r in data.get("init_routines", ())),
            notes=tuple(data.get("notes", ())),
            input_shapes=tuple(data.get("input_shapes", ())),
            echoes=tuple(data.get("echoes", ())),
            init_recorded=data.get("init_recorded", True),
        )


def _build(kind: type, data: Dict[str, Any]) -> Any:
    """A dataclass from JSON data, lists turned back into tuples, unknown keys ignored."""
    names = {f.name for f in fields(kind)}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names}
    return kind(**values)


def symmetric_finding(param: str, units: int, distinct: int, axis: int, steps: int, raw: bool) -> Finding:
    """IL101 with its evidence; the axis is named for raw parameters (checked along both)."""
    along = f" along dim {axis}" if raw else ""
    evidence = (
        f"{param}: {units} units{along}, {distinct} distinct "
        f"(identical weights and gradients over {steps} steps)"
    )
    return Finding(SYMMETRIC[0], SYMMETRIC[1], param, evidence, axis=axis, units=units, distinct=distinct)


def dead_finding(param: str, steps: int, unused: bool, numel: int) -> Finding:
    """IL102 with its evidence."""
    if unused:
        why = f"never received a gradient in {steps} steps (not used by forward)"
    else:
        why = f"gradient exactly zero at every one of {steps} steps (all {numel} entries)"
    return Finding(DEAD[0], DEAD[1], param, f"{param}: {why}")


def untouched_finding(routine: InitRoutine, evidence: str) -> Finding:
    """IL103 for one init routine."""
    code, name = INIT_TOUCHED_NOTHING
    return Finding(code, name, routine.name, evidence, path=routine.path, line=routine.line)


def unregistered_finding(attribute: str, members: List[Tuple[str, Tuple[int, ...]]], how: str) -> Finding:
    """IL105: leaf tensors held by one attribute that require grad and reach the loss but are no parameters."""
    code, name = UNREGISTERED_TENSOR
    if len(members) == 1:
        where, shape = members[0]
        what = f"{where} ({'x'.join(map(str, shape)) or 'scalar'}) requires grad and reaches the loss but is"
    else:
        values = sum(_numel(shape) for _, shape in members)
        shown = ", ".join(w for w, _ in members[:3]) + (", ..." if len(members) > 3 else "")
        what = f"{attribute}: {len(members)} tensors ({shown}; {values} values) require grad and reach the loss but are"
    evidence = (
        f"{what} not among the module's parameters ({how}): parameters() misses "
        f"{'it' if len(members) == 1 else 'them'}, so an optimizer built from them never updates "
        f"{'it' if len(members) == 1 else 'them'}"
    )
    return Finding(code, name, attribute, evidence)


def _numel(shape: Tuple[int, ...]) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


def shared_finding(places: Tuple[str, ...], kind: str, parameters: int, values: int) -> Finding:
    """IL106: one module object (with parameters) at several places of the tree."""
    code, name = SHARED_PARAMETER
    shown = ", ".join(places[:4]) + (f" and {len(places) - 4} more" if len(places) > 4 else "")
    evidence = (
        f"{shown} are one {kind} object: its {parameters} parameter(s) ({values} values) are shared by "
        f"{len(places)} places, so the {len(places)} layers are one layer repeated"
    )
    return Finding(code, name, places[0], evidence)


def uninitialised_finding(param: str, shape: Tuple[int, ...], allocator: str, label: str) -> Finding:
    """IL107: a parameter whose values are still the untouched contents of an uninitialised allocation."""
    code, name = UNINITIALISED_PARAMETER
    size = "x".join(map(str, shape))
    evidence = (
        f"{param} ({size}) still holds the untouched memory of {allocator}: no write reached it while "
        f"{label} was built, so it starts as whatever bytes were there (often zeros, sometimes huge or NaN)"
    )
    return Finding(code, name, param, evidence)
