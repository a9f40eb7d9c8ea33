"""The judgement of IL001 (ConstantWeightInit): imported only when a file is checked."""

from __future__ import annotations

from typing import Iterable, Set

from initlint.facts import FileFacts
from initlint.rule import Finding
from initlint.rules._judge import SYMMETRIC, across_layers, is_test_code, judge_of, layer_label, target_label, units_of


def check(rule, facts: FileFacts) -> Iterable[Finding]:
    seen: Set[int] = set()
    for verdict in judge_of(facts).verdicts():
        site = verdict.site
        if verdict.kind != SYMMETRIC or site.kind != "constant" or across_layers(verdict) or is_test_code(facts, site):
            continue
        if id(verdict.node) in seen:
            continue
        seen.add(id(verdict.node))
        value = site.value_text or "a constant"
        if verdict.detail.startswith("its columns") or " of each layer of " in verdict.detail:
            message = rule.partner_message.format(target=target_label(verdict), value=value, how=site.how, detail=verdict.detail)
        else:
            message = rule.message.format(
                target=target_label(verdict), value=value, how=site.how, units=units_of(verdict), layer=layer_label(verdict), detail=verdict.detail
            )
        yield Finding(verdict.node, message)
