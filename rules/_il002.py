"""The judgement of IL002 (DeadZeroLayer): imported only when a file is checked."""

from __future__ import annotations

from typing import Iterable, Set

from initlint.facts import FileFacts
from initlint.rule import Finding
from initlint.rules._judge import DEAD, across_layers, is_test_code, judge_of, target_label


def check(rule, facts: FileFacts) -> Iterable[Finding]:
    seen: Set[int] = set()
    for verdict in judge_of(facts).verdicts():
        site = verdict.site
        if verdict.kind != DEAD or across_layers(verdict) or is_test_code(facts, site) or id(verdict.node) in seen:
            continue
        seen.add(id(verdict.node))
        yield Finding(verdict.node, rule.message.format(target=target_label(verdict), how=site.how, detail=verdict.detail))
