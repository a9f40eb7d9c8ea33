"""The judgement of IL003 (ConstantInitLoop): imported only when a file is checked."""

from __future__ import annotations

from typing import Dict, Iterable, List

import libcst as cst

from initlint import exprs, targets
from initlint.facts import FileFacts, Site
from initlint.imports import dotted_name
from initlint.rule import Finding
from initlint.rules._judge import DEAD, SYMMETRIC, UNSEEN, WEAK, Verdict, across_layers, is_test_code, judge_of, layer_label


def _zeroes_one_layer(facts: FileFacts, site: Site) -> bool:
    """Zeroing one named layer on purpose: `for p in self.out.parameters()`, or diffusers'
    `zero_module(module)` helper, which zeroes the one layer it is handed and returns it."""
    if _selects_by_name(site):
        return True
    loop = next((lp for lp in reversed(site.loops) if lp.kind in ("parameters", "modules")), None)
    if loop is None or loop.owner is None:
        return False
    if "." in loop.owner:  # self.out.parameters(): a named layer, not the model
        return True
    if any(targets.type_guards(facts, site.guards, loop.owner)):
        return True  # `isinstance(module, LossWeighting)`: the parameters of one kind of module
    scope = site.scope
    if scope is None or scope.node is None or loop.owner not in scope.params:
        return False
    return any(
        isinstance(stmt, cst.SimpleStatementLine)
        and any(isinstance(s, cst.Return) and s.value is not None and dotted_name(s.value) == loop.owner for s in stmt.body)
        for stmt in scope.node.body.body
    )


_NAME_PARAMS = ("name", "n", "module_name", "layer_name", "full_name", "param_name", "prefix")


def _string_selection(test: cst.BaseExpression) -> bool:
    """`"gate" in name_of(module)`, `x.startswith("head")`, `kind == "out"`: a test that picks
    modules by a name, not by class (`classname.find("Linear")`) nor for every weight."""
    text = exprs.code(test)
    if "class" in text or "__name__" in text:
        return False
    strings = [s.lower() for s in targets.string_literals(test)]
    if not strings or any("weight" in s or "bias" in s for s in strings):
        return False
    if isinstance(test, cst.Comparison):
        return any(isinstance(c.operator, (cst.In, cst.Equal)) for c in test.comparisons)
    return isinstance(test, cst.Call) and exprs.method_name(test) in ("startswith", "endswith")


def _selects_by_name(site: Site) -> bool:
    """A positive test on the module's or parameter's name (`if name.startswith("head")`,
    `if "fc" in n`): the loop zeroes the layers it names, not the model (timm's zero-init heads)."""
    names = {lp.label for lp in site.loops if lp.label}
    if site.scope is not None:
        names |= {p for p in site.scope.params if p in _NAME_PARAMS}
    for guard in site.guards:
        if not guard.positive:
            continue
        if any(_string_selection(test) for test in targets.conjuncts(guard.test)):
            return True
        if any(n == name or n.startswith(name + ".") for n in exprs.names_in(guard.test) for name in names):
            # `if "weight" in name` picks every weight: that is the model, not one layer.
            if not any("weight" in text.lower() for text in targets.string_literals(guard.test)):
                return True
    return False




def check(rule, facts: FileFacts) -> Iterable[Finding]:
    judge = judge_of(facts)
    by_site: Dict[int, List[Verdict]] = {}
    for verdict in judge.verdicts():
        if across_layers(verdict) and not is_test_code(facts, verdict.site):
            by_site.setdefault(id(verdict.site), []).append(verdict)
    for verdicts in by_site.values():
        site = verdicts[0].site
        subject = targets.classify(facts, site).label
        if "every" not in subject:
            subject = _written(verdicts[0])
        yield Finding(site.node, rule.message.format(how=site.how, subject=subject, value=site.value_text or "a constant", claim=_claim(verdicts)))
    for site in facts.sites:
        # A loop over a model's parameters that no model of the file reaches (the model is an
        # argument): every parameter equal, or every weight one non-zero value, is wrong for any
        # model with a hidden layer.
        if site.kind != "constant" or judge.reached(site) or is_test_code(facts, site):
            continue
        subject = targets.classify(facts, site)
        if subject.walker != "loop" or subject.kind not in (targets.EVERY_PARAMETER, targets.EVERY_WEIGHT):
            continue
        if subject.kind == targets.EVERY_WEIGHT and site.zero:
            continue  # every weight zero, biases random: each layer learns once the next has
        if site.zero and _zeroes_one_layer(facts, site):
            continue
        dead = " and, being zero, get no gradient through a ReLU" if site.zero else ""
        yield Finding(site.node, rule.unseen_message.format(how=site.how, subject=subject.label, value=site.value_text or "a constant", dead=dead))


def _written(verdict: Verdict) -> str:
    """`the weight of every BatchNorm2d`: what the walk's write reached, in the model it ran on."""
    for site, keys, _walked, _via in verdict.model.writes:
        if site is verdict.site:
            slots = [verdict.model.slots[key] for key in keys]
            attrs = sorted({slot.attr or "value" for slot in slots})
            kinds = sorted({(slot.node.qualname or "parameter").rsplit(".", 1)[-1] for slot in slots})
            return f"the {' and '.join(attrs)} of every {', '.join(kinds)}"
    return verdict.site.target_name


def _claim(verdicts: List[Verdict]) -> str:
    """What the model shows of the layers one write reached, strongest claim first."""
    dead = [v for v in verdicts if v.kind == DEAD]
    # (a layer whose constant columns keep another's units tied is named through that one)
    tied = [v for v in verdicts if v.kind == SYMMETRIC and not v.detail.startswith("its columns")]
    weak = [v for v in verdicts if v.kind == WEAK]
    parts = []
    if dead:
        parts.append(f"{_layers(dead)} {'is' if len(_names(dead)) == 1 else 'are'} dead for ever: {dead[0].detail}")
    if tied:
        parts.append(f"the units of {_layers(tied)} start identical and stay tied for ever: {tied[0].detail}")
    if weak and not parts:
        told = [v for v in weak if v.detail != UNSEEN]
        if told:
            detail = told[0].detail
            if len(_names(weak)) > 1:
                detail = detail.replace("its random bias", "their random biases")
            verb = "tell" if " and " in detail or "biases" in detail else "tells"
            parts.append(f"the units of {_layers(weak)} start identical; only {detail} {verb} them apart")
        else:
            parts.append(f"the units of {_layers(weak)} start identical, biases included (the file does not show what they feed)")
    elif weak:
        parts.append(f"{_layers(weak)} start{'s' if len(_names(weak)) == 1 else ''} rank one")
    return "; ".join(parts)


def _names(verdicts: List[Verdict]) -> List[str]:
    return list(dict.fromkeys(layer_label(v) for v in verdicts))


def _layers(verdicts: List[Verdict], limit: int = 4) -> str:
    names = _names(verdicts)
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
