"""The judgement of IL010 (WeakConstantStart): imported only when a file is checked."""

from __future__ import annotations

from typing import Iterable, Set

from initlint.facts import FileFacts
from initlint.rule import Finding
from initlint.rules._il005 import how_repeated
from initlint.rules._judge import WEAK, across_layers, is_test_code, judge_of, layer_label, target_label, units_of


def check(rule, facts: FileFacts) -> Iterable[Finding]:
    seen: Set[int] = set()
    for verdict in judge_of(facts).verdicts():
        site = verdict.site
        if verdict.kind != WEAK or across_layers(verdict) or is_test_code(facts, site) or id(verdict.node) in seen:
            continue
        seen.add(id(verdict.node))
        if site.kind == "repeat":
            start = f"is filled with one row repeated ({how_repeated(site)})"
        else:
            start = f"is set to the constant {site.value_text or 'a constant'} ({site.how})"
        yield Finding(verdict.node, rule.message.format(
            target=target_label(verdict), start=start, units=units_of(verdict), layer=layer_label(verdict), detail=verdict.detail,
            verb="tell" if " and " in verdict.detail else "tells",
        ))
