"""The judgement of IL001 (ConstantWeightInit): imported only when a file is checked."""

from __future__ import annotations

from typing import Iterable

from initlint import targets
from initlint.facts import FileFacts, Site
from initlint.rule import Finding
from initlint.rules._common import random_alternative, randomised_later, units_text, used_as_matrix



def check(rule, facts: FileFacts) -> Iterable[Finding]:
    for site in facts.sites:
        if site.kind != "constant" or site.zero:
            continue
        subject = targets.classify(facts, site)
        if _harmful(rule, facts, site, subject):
            yield Finding(site.node, _message(rule, site, subject))

def _harmful(rule, facts: FileFacts, site: Site, subject: targets.Subject) -> bool:
    if subject.walker is not None:
        return False  # a loop or apply(): IL003 reports it once for the whole model
    if random_alternative(facts, site):
        return False
    if subject.kind == targets.MATRIX:
        return subject.units != "1"
    if subject.kind == targets.RAW:
        return site.trainable and not randomised_later(facts, site) and used_as_matrix(facts, site)
    if subject.kind == targets.UNKNOWN and site.target_name.endswith(".weight"):
        # A layer this file does not show: only a value no norm layer would use.
        return site.value is not None and site.value not in (0.0, 1.0) and not site.created
    return False

def _message(rule, site: Site, subject: targets.Subject) -> str:
    value = site.value_text or "a constant"
    layer = subject.layer or site.target_name
    if subject.kind == targets.RAW:
        return (
            f"{site.target_name} ({site.shape_text}) starts with every entry equal to {value} ({site.how}): "
            "its units start identical and receive identical gradients"
        )
    return rule.message.format(target=site.target_name, value=value, how=site.how, units=units_text(subject.units), layer=layer)

