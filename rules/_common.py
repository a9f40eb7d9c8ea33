"""Judgements more than one rule makes about a site."""

from __future__ import annotations

import re

from initlint import torch_api
from initlint.facts import FileFacts, Site

_WEIGHT_NAME = re.compile(torch_api.WEIGHT_NAME, re.IGNORECASE)


def randomised_later(facts: FileFacts, site: Site) -> bool:
    """The tensor a site creates is given random values elsewhere in the file (`trunc_normal_(self.pos)`),
    or its class randomises every parameter in a loop."""
    last = site.target_name.rsplit(".", 1)[-1]
    if last in facts.randomised:
        return True
    owner = site.scope.cls.name if site.scope is not None and site.scope.cls is not None else ""
    return owner in facts.randomise_all or (owner and _base_randomises(facts, owner, set()))


def _base_randomises(facts: FileFacts, name: str, seen: set) -> bool:
    info = facts.classes.get(name)
    if info is None or name in seen:
        return False
    seen.add(name)
    return any(base in facts.randomise_all or _base_randomises(facts, base, seen) for base in info.bases)


def used_as_matrix(facts: FileFacts, site: Site) -> bool:
    """The created tensor is an operand of a matrix product, or is named like a weight."""
    name = site.target_name
    last = name.rsplit(".", 1)[-1]
    return name in facts.matmul_operands or bool(_WEIGHT_NAME.match(last))


def units_text(units) -> str:
    """`all 128 units` / `all units`."""
    return f"all {units} units" if units else "all units"


def random_alternative(facts: FileFacts, site: Site) -> bool:
    """The same tensor is initialised randomly in another branch of the same `if` (Mamba's
    `if scheme == "constant": ... elif scheme == "random": ...`): the constant is an opt-in option."""
    for name, guards in facts.random_sites:
        if name != site.target_name:
            continue
        for mine in site.guards:
            if any(other.test is mine.test and other.positive != mine.positive for other in guards):
                return True
    return False
