"""Plain, frozen, picklable results of the runtime probe: no torch here.

A worker process sends these to its parent as JSON (`to_dict` / `from_dict`), so every field is
a str, int, bool, None or a tuple of those (or of the dataclasses below).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, Optional, Tuple

from initlint.runtime.codes import DEAD, INIT_TOUCHED_NOTHING, SYMMETRIC


@dataclass(frozen=True)
class Finding:
    """One fact the probe proved: symmetric units (IL101), a dead parameter (IL102), an init that reached nothing (IL103)."""

    code: str
    name: str
    # Dotted parameter name (`fc1.weight`); for IL103 the init routine's qualified name.
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

    def describe(self) -> str:
        """`fc1.weight: 128 units, 128 distinct; gradient non-zero from step 0`."""
        parts = []
        if self.units is not None:
            along = f" along dim {self.axis}" if self.axis not in (None, 0) else ""
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
            lines.append("  note: IL103 not checked: pass the class or a factory to watch the construction")
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
