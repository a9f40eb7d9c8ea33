"""The judgement of IL005 (IdenticalRows): imported only when a file is checked."""

from __future__ import annotations

from typing import Iterable

import libcst as cst

from initlint import exprs, targets
from initlint.facts import FileFacts, Site
from initlint.rule import Finding

_KEEPS_DIM = (1.0, -1.0)  # repeat(1, ...) / expand(-1, ...) leave dimension 0 as it was



def check(rule, facts: FileFacts) -> Iterable[Finding]:
    for site in facts.sites:
        if site.kind != "repeat":
            continue
        subject = targets.classify(facts, site)
        if subject.kind in (targets.BIAS, targets.NORM, targets.VECTOR):
            continue
        if subject.kind == targets.MATRIX and (subject.units == "1" or not _repeats_rows(site)):
            continue
        units = f"all {subject.units} units" if subject.units else "its units"
        how = site.repeat_method if site.repeat_method.startswith("torch.") else "." + site.repeat_method
        yield Finding(site.node, rule.message.format(target=site.target_name, how=f"{how}()", units=units))

def _repeats_rows(site: Site) -> bool:
    """Whether the repetition can copy along dimension 0 (the unit axis of a layer weight)."""
    if site.repeat_method in ("expand_as", "broadcast_to", "torch.broadcast_to", "repeat_interleave"):
        return True
    args = [a for a in site.repeat_args if a.keyword is None]
    if not args:
        return True
    first = args[0].value
    if isinstance(first, cst.Tuple) and first.elements:  # repeat((2, 1))
        first = first.elements[0].value
    return exprs.number(first) not in _KEEPS_DIM

