"""The judgement of IL004 (InitBeforeLayers): imported only when a file is checked."""

from __future__ import annotations

from typing import Iterable, Sequence

from initlint.facts import FileFacts
from initlint.rule import Finding
from initlint.rules._init_order import Context, Event, _Analysis, _names_list, follows



def check(rule, facts: FileFacts) -> Iterable[Finding]:
    analysis = _Analysis(facts)
    for name, info in facts.classes.items():
        init = info.methods.get("__init__")
        if init is None or not init.params.params or not facts.is_module_class(name):
            continue
        ctx = Context(name, init.params.params[0].name.value)
        events = analysis.scan(init, ctx)
        walkers = [e for e in events if e.kind == "walker"]
        if not walkers:
            continue
        layers = [e for e in events if e.kind == "layer"]
        loads = [e for e in events if e.kind == "load"]
        inits = [e for e in events if e.kind == "init"]
        for walker in walkers:
            missed = [
                layer
                for layer in layers
                if follows(walker.path, layer.path)
                and not any(follows(layer.path, w.path) for w in walkers)
                and not any(follows(layer.path, i.path) and i.name == layer.name for i in inits)
                and not _pretrained(layer, loads)
            ]
            if not missed:
                continue
            before = walker.layers_before or any(follows(layer.path, walker.path) for layer in layers)
            from initlint.rules._init_order_fix import _Mover  # (and initlint.fix): only with a finding

            fix, reason = _Mover(analysis, init, ctx, events).fix(walker, missed)
            yield Finding(walker.node, _message(rule, walker, missed, before), fix=fix, no_fix_reason=reason)


def _pretrained(layer: Event, loads: Sequence[Event]) -> bool:
    return layer.pretrained or any(
        (follows(layer.path, load.path) or load.path == layer.path) and load.name in ("", layer.name) for load in loads
    )


def _message(rule, walker: Event, missed: Sequence[Event], before: bool) -> str:
    names = list(dict.fromkeys(layer.name for layer in missed))
    one = len(names) == 1
    if before:
        consequence = "it misses it" if one else "it misses them"
    else:
        consequence = "it does not initialise it" if one else "it initialises none of them"
    return rule.message.format(
        init=walker.name, layers=_names_list(names), verb="is" if one else "are", consequence=consequence
    )
