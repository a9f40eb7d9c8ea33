"""What each static code claims, and how a probe's report confirms or refutes it (no torch).

One table, `CLAIMS`: a new static code is one line. Each claim names the runtime codes that
confirm it and how to explain a refutation. Verdicts:

* `confirmed`: the probe measured what the static rule said;
* `refuted`: the site ran and the probe measured the opposite; the text says what broke the tie
  (a random bias, a random neighbour's gradients, a later init that overwrote the constant);
* `refuted (worse than claimed)`: a weak start whose units stay tied for ever, a constant layer
  that is dead rather than merely symmetric;
* `refuted (another lasting defect)`: not what was claimed, but a defect that lasts all the same;
* `could not reach the site` / `could not measure`: no way of building it ran the site, or the
  site ran but the probe could not (no forward, no input shape): the text says why and what to try.

Only a plain `refuted` finding stops counting against the exit code (see `counts_against_exit`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from initlint.diagnostic import Diagnostic
from initlint.runtime.results import Finding, ParameterStat, Report

WORDS = {
    "confirmed": "confirmed",
    "refuted": "refuted",
    "worse": "refuted (worse than claimed)",
    "other": "refuted (another lasting defect)",
    "unreached": "could not reach the site",
    "unmeasured": "could not measure",
}
PREFIX = "runtime: "


@dataclass(frozen=True)
class Verdict:
    """The outcome for one static finding: a kind (a key of WORDS) and what was measured."""

    kind: str
    text: str

    @property
    def note(self) -> str:
        """`runtime: confirmed — fc1.weight: 128 units, 1 distinct ...`."""
        return f"{PREFIX}{WORDS[self.kind]} — {self.text}"


@dataclass(frozen=True)
class Context:
    """What a judge sees: the finding, the flagged line's text, and the probe of the module built for it."""

    diagnostic: Diagnostic
    line: str
    report: Report
    built: str  # how the module was built, for the verdict: `LeNet(in_channels=1)`

    def related(self) -> Tuple[List[str], bool]:
        """Names of parameters (and places) the finding is about, and whether any were named.

        The subject the message names as the units that are tied (`the units of self.fc2 that it
        reads`, for a constant layer whose equal columns tie the layer before it) wins; else the
        flagged line's attribute chains."""
        params = {p.name for p in self.report.parameters}
        names = list(dict.fromkeys([p.name for p in self.report.parameters] + [f.parameter for f in self.report.findings]))
        subjects = [m.group(1).split(".") for m in _SUBJECT.finditer(self.diagnostic.message)]
        related = [n for n in names if n in params and any(_matches(c, n, module=True) for c in subjects)]
        if not related:
            chains = [m.group(1)[1:].split(".") for m in _CHAIN.finditer(self.line)]
            related = [n for n in names if any(_matches(c, n, place=n not in params) for c in chains)]
        return (related, True) if related else ([p.name for p in self.report.parameters], False)

    def findings(self, *codes: str) -> List[Finding]:
        """The probe's findings of these codes on what the line names (any, when it names nothing)."""
        related, named = self.related()
        return [f for f in self.report.findings if f.code in codes and (not named or f.parameter in related)]

    def stats(self) -> List[ParameterStat]:
        """The probe's view of the parameters the line names (2-D first: they have units)."""
        related, _ = self.related()
        stats = [s for s in (self.report.stat(n) for n in related) if s is not None]
        return sorted(stats, key=lambda s: s.units is None)


_CHAIN = re.compile(r"\b[A-Za-z_]\w*((?:\.[A-Za-z_]\w*)+)")
# The layer whose units a symmetry claim is about, as the static messages name it.
_SUBJECT = re.compile(r"\bunits of (?:self\.)?([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")


def _matches(chain: List[str], name: str, place: bool = False, module: bool = False) -> bool:
    """Whether an attribute chain of the line (`fc1.weight.data`, `m.weight`, `self.layers`) names a parameter or place.

    The chain's leading parts must equal the name's trailing parts (`m.weight` names every
    `*.weight`; `self.fc1.weight` names `fc1.weight` and `blocks.0.fc1.weight`, never
    `fc1.bias`). A place that a finding names (IL105's `layers[0].weight`, IL106's `blocks.0`) is
    also named by its container (`self.layers.append(...)` names `layers[0].weight`). A `module`
    chain (a message's `units of self.fc2`) names the parameters of that module (`fc2.weight`)."""
    parts = name.replace("[", ".").replace("]", "").replace("'", "").split(".")
    for k in range(min(len(chain), len(parts)), 0, -1):
        if chain[:k] == parts[-k:] or (place and chain[:k] == parts[:k]):
            return True
        if module and k < len(parts) and chain[-k:] == parts[-k - 1:-1] and len(chain) == k:
            return True
    return False


def _evidence(found: Sequence[Finding], built: str) -> str:
    shown = "; ".join(f.evidence for f in found[:3]) + (f" (+{len(found) - 3} more)" if len(found) > 3 else "")
    return f"{shown} [built as {built}]"


# --- the judges ---------------------------------------------------------------------------------


def _tie(context: Context) -> str:
    """What kept the units apart, from the distinct-unit counts at init and after the steps."""
    reasons = []
    stats = context.stats()
    wide = [s for s in stats if s.units is None or s.units > 1]  # a one-unit layer has no twin to tell apart
    for stat in (wide or stats)[:3]:
        reasons.append(_apart(stat, context.report.steps))
    what = "; ".join(reasons) or "no parameter named on this line was found in the module"
    return f"{what} [built as {context.built}; {context.report.steps} SGD steps]"


def _apart(stat: ParameterStat, steps: int) -> str:
    """`fc1.weight: 1 distinct of 16 by their weights at init, but the random bias tells every unit apart`."""
    units, weights, start = stat.units, stat.weight_distinct_at_init, stat.distinct_at_init
    if units is None or weights is None or start is None:
        return stat.describe()
    if weights == units:
        return f"{stat.name}: its {units} units are not identical at init: the constant did not last until training (a later init overwrote it?)"
    parts = [f"{stat.name}: {weights} distinct of {units} by their weights at init"]
    if start > weights:
        parts.append("but the random bias tells every unit apart" if start == units else f"the random bias tells {start} apart")
    if stat.distinct > start:
        when = f" from step {stat.split_step}" if stat.split_step is not None else ""
        rest = "the rest" if start > weights else "them"
        parts.append(f"and their gradients tell {rest} apart{when} ({stat.distinct} distinct after {steps} steps): "
                     "a random neighbour (the next layer, the loss, or the inputs) breaks the tie")
    elif start < units:
        return stat.describe()
    return ", ".join(parts)


def _lasting(code: str, instead: str, kind: str, why: str) -> Callable[[Context], Verdict]:
    """Confirmed by `code`; the other lasting defect (`instead`) found in its place is a `kind` verdict."""

    def judge(context: Context) -> Verdict:
        found = context.findings(code)
        if found:
            return Verdict("confirmed", _evidence(found, context.built))
        other = context.findings(instead)
        if other:
            return Verdict(kind, why + _evidence(other, context.built))
        if code == "IL101":
            tied = _still_tied(context)
            if tied is not None:
                return Verdict("confirmed", f"{tied} [built as {context.built}]")
        return Verdict("refuted", _tie(context))

    return judge


def _still_tied(context: Context) -> Optional[str]:
    """The distinct-unit counts show units identical at init (weights and bias) and still after
    every step, though the probe raised no IL101 for them (a raw parameter whose unit axis it
    does not know, say): that is the tie the claim says."""
    for stat in context.stats():
        if stat.units is None or stat.units < 2 or stat.distinct is None or stat.distinct_at_init is None:
            continue
        if stat.distinct_at_init < stat.units and stat.distinct == stat.distinct_at_init and stat.split_step is None:
            return f"{stat.name}: {stat.units} units, {stat.distinct} distinct at init and after {context.report.steps} steps"
    return None


_symmetric = _lasting("IL101", "IL102", "worse", "dead, not merely symmetric: ")
_dead = _lasting("IL102", "IL101", "other", "not dead, but its units stay identical for ever: ")


def _symmetric_or_dead(context: Context) -> Verdict:
    found = context.findings("IL101", "IL102")
    if found:
        return Verdict("confirmed", _evidence(sorted(found, key=lambda f: f.code), context.built))
    return Verdict("refuted", _tie(context))


def _weak_start(context: Context) -> Verdict:
    tied = context.findings("IL101")
    if tied:
        return Verdict("worse", "the units stay identical for ever, not only at the start: " + _evidence(tied, context.built))
    weak = [s for s in context.stats() if s.units is not None and s.weight_distinct_at_init is not None and s.weight_distinct_at_init < s.units]
    if not weak:
        return Verdict("refuted", "not a constant start: " + _tie(context))
    stat = weak[0]
    step = f" from step {stat.split_step}" if stat.split_step is not None else ""
    bias = " (the bias already tells them apart)" if stat.distinct_at_init == stat.units else ""
    return Verdict(
        "confirmed",
        f"{stat.name}: {stat.weight_distinct_at_init} distinct of {stat.units} units at init{bias}, {stat.distinct} distinct "
        f"after {context.report.steps} steps{step} [built as {context.built}]",
    )


def _init_before_layers(context: Context) -> Verdict:
    """IL004 says the init runs before (some of) the layers exist: IL103 (it reached nothing), or a
    routine whose walks saw fewer parameters than the finished module has (it missed the later ones)."""
    found = context.findings("IL103") or list(context.report.by_code("IL103"))
    if found:
        return Verdict("confirmed", _evidence(found, context.built))
    if not context.report.init_recorded:
        return Verdict("unmeasured", f"{context.built} was built before its construction could be watched")
    chains = [m.group(1)[1:].split(".") for m in _CHAIN.finditer(context.line)] + [[w] for w in re.findall(r"\w+", context.line)]
    routines = list(context.report.init_routines)
    named = [r for r in routines if any(_matches(c, r.name) for c in chains)] or routines
    early = [r for r in named if r.walks and r.walked_parameters < r.total]
    if early:
        shown = "; ".join(
            f"{r.name} walked the module when it held {r.walked_parameters} of its {r.total} parameters and reached "
            f"{r.reached}: the layers assigned after it were missed" for r in early[:3]
        )
        return Verdict("confirmed", f"{shown} [built as {context.built}]")
    seen = "; ".join(f"{r.name} reached {r.reached} of {r.total} parameters" for r in named)
    return Verdict("refuted", (seen or f"no init routine ran while {context.report.model} was built") + f" [built as {context.built}]")


def _found_or(code: str, refutation: Callable[[Context], str]) -> Callable[[Context], Verdict]:
    def judge(context: Context) -> Verdict:
        found = context.findings(code) or list(context.report.by_code(code))
        if found:
            return Verdict("confirmed", _evidence(found, context.built))
        return Verdict("refuted", f"{refutation(context)} [built as {context.built}]")

    return judge


def _none_unregistered(context: Context) -> str:
    return f"every leaf tensor that requires grad and reaches {context.report.model}'s loss is one of its parameters"


def _none_shared(context: Context) -> str:
    return f"no module object with parameters fills two places of a container in {context.report.model}"


def _none_uninitialised(context: Context) -> str:
    named = ", ".join(s.name for s in context.stats()[:3])
    return f"every parameter of {context.report.model}{' (' + named + ')' if named else ''} was written while it was built"


@dataclass(frozen=True)
class Claim:
    """What a static code says, the runtime codes that confirm it, and when the probe is needed."""

    what: str
    codes: Tuple[str, ...]
    judge: Callable[[Context], Verdict]
    needs_probe: bool = True  # False: watching the construction decides (no forward needed)
    watch_construction: bool = False  # True: only a recipe that watches __init__ can tell (IL103)


# Static code -> its claim. The lead's codes are here before their rules land: a new code is one line.
CLAIMS: Dict[str, Claim] = {
    "IL001": Claim("symmetric for ever", ("IL101",), _symmetric),
    "IL005": Claim("symmetric for ever", ("IL101",), _symmetric),
    "IL002": Claim("dead for ever", ("IL102",), _dead),
    "IL003": Claim("symmetric or dead for ever", ("IL101", "IL102"), _symmetric_or_dead),
    "IL004": Claim("an init that touches nothing", ("IL103",), _init_before_layers, needs_probe=False, watch_construction=True),
    "IL010": Claim("a weak constant start", ("IL101",), _weak_start),
    "IL006": Claim("unregistered", ("IL105",), _found_or("IL105", _none_unregistered)),
    "IL009": Claim("unregistered", ("IL105",), _found_or("IL105", _none_unregistered)),
    "IL007": Claim("shared by accident", ("IL106",), _found_or("IL106", _none_shared), needs_probe=False),
    "IL008": Claim("uninitialised", ("IL107",), _found_or("IL107", _none_uninitialised), needs_probe=False),
}


def judge(diagnostic: Diagnostic, line: str, report: Report, built: str) -> Verdict:
    """The verdict on one static finding from the probe of a module built so that its site ran."""
    return CLAIMS[diagnostic.code].judge(Context(diagnostic, line, report, built))


def verdict_of(diagnostic: Diagnostic) -> Optional[str]:
    """The kind of runtime verdict a diagnostic carries (a key of WORDS), or None."""
    for note in diagnostic.notes:
        if note.startswith(PREFIX):
            word = note[len(PREFIX):].split(" — ", 1)[0]
            return next((kind for kind, text in WORDS.items() if text == word), None)
    return None


def counts_against_exit(diagnostic: Diagnostic) -> bool:
    """False only for a finding the probe refuted outright: CI does not fail on it by default."""
    return verdict_of(diagnostic) != "refuted"
