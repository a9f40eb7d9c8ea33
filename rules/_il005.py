"""The judgement of IL005 (IdenticalRows): imported only when a file is checked."""

from __future__ import annotations

from typing import Iterable, Set

from initlint.facts import FileFacts
from initlint.rule import Finding
from initlint.rules._judge import SYMMETRIC, across_layers, is_test_code, judge_of, layer_label, target_label, units_of


def how_repeated(site) -> str:
    return (site.repeat_method if site.repeat_method.startswith("torch.") else "." + site.repeat_method) + "()"


def check(rule, facts: FileFacts) -> Iterable[Finding]:
    seen: Set[int] = set()
    for verdict in judge_of(facts).verdicts():
        site = verdict.site
        if verdict.kind != SYMMETRIC or site.kind != "repeat" or across_layers(verdict) or is_test_code(facts, site):
            continue
        if id(verdict.node) in seen:
            continue
        seen.add(id(verdict.node))
        yield Finding(verdict.node, rule.message.format(
            target=target_label(verdict), how=how_repeated(site), units=units_of(verdict), layer=layer_label(verdict), detail=verdict.detail
        ))
