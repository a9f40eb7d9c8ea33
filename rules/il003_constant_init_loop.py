"""IL003 constant-init-loop."""

from __future__ import annotations

from typing import Iterable

import libcst as cst

from initlint import exprs, targets
from initlint.facts import FileFacts, Site
from initlint.imports import dotted_name
from initlint.rule import Finding, Rule


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


class ConstantInitLoop(Rule):
    """
    ## What it does
    Flags a loop over `parameters()`, `named_parameters()`, `modules()`, `children()` or
    `named_modules()`, or a function handed to `.apply()`, that sets every weight it reaches
    (or every parameter) to a constant or to zero, through any spelling of IL001
    (`nn.init.constant_`, `zeros_`, `ones_`, `.fill_`, `.zero_`, `torch.zeros_like`, ...).

    ## Why is this bad?
    The whole network starts symmetric: within every layer all units are identical, receive
    identical gradients and stay identical. With zeros and ReLU nothing learns at all.
    Measured on digits (64-128-64-10 MLP): all parameters zero reach 8.5% accuracy, all ones 9.9%,
    a random init 96.5%.

    ## Known problems
    Guards that leave weights out make the loop clean: a test on the parameter's name
    (`if "bias" in name`), on its rank (`if p.dim() == 1`), or on the module's class
    (`isinstance(m, nn.BatchNorm2d)`, any class whose name says Norm). A guard the rule cannot
    read (`if name in my_list`) is assumed to let every weight through.

    ## Example
    ```python
    for name, param in model.named_parameters():
        nn.init.zeros_(param)
    ```

    ## Use instead
    ```python
    for name, param in model.named_parameters():
        if "bias" in name:
            nn.init.zeros_(param)
        elif param.dim() > 1:
            nn.init.xavier_uniform_(param)
    ```

    ## References
    - d2l.ai, *Numerical Stability and Initialization*, 5.4.1.3 (breaking the symmetry)
    """

    code = "IL003"
    name = "constant-init-loop"
    message = "{how} sets {subject} to {value}: every unit of every layer starts identical{dead}"
    fix_title = "Initialise weights randomly (nn.init.kaiming_uniform_ / xavier_uniform_) and keep constants for biases and norms"
    invalid = (
        "import torch.nn as nn\n"
        "def init(model):\n"
        "    for p in model.parameters():\n"
        "        nn.init.constant_(p, 0.01)\n",
        "import torch\n"
        "def zero(net):\n"
        "    with torch.no_grad():\n"
        "        for name, param in net.named_parameters():\n"
        "            param.data = torch.zeros_like(param.data)\n",
        "import torch.nn as nn\n"
        "def init_constant(module):\n"
        "    if type(module) == nn.Linear:\n"
        "        nn.init.constant_(module.weight, 1)\n"
        "        nn.init.zeros_(module.bias)\n"
        "net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))\n"
        "net.apply(init_constant)\n",
    )
    valid = (
        "import torch.nn as nn\n"
        "def init(model):\n"
        "    for name, p in model.named_parameters():\n"
        "        if 'bias' in name:\n"
        "            nn.init.zeros_(p)\n"
        "        else:\n"
        "            nn.init.xavier_uniform_(p)\n",
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def _init_weights(self):\n"
        "        for m in self.modules():\n"
        "            if isinstance(m, nn.Conv2d):\n"
        "                nn.init.kaiming_normal_(m.weight)\n"
        "                if m.bias is not None:\n"
        "                    nn.init.constant_(m.bias, 0)\n"
        "            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):\n"
        "                nn.init.constant_(m.weight, 1)\n"
        "                nn.init.constant_(m.bias, 0)\n",
        "import torch.nn as nn\n"
        "def init(model):\n"
        "    for p in model.parameters():\n"
        "        if p.dim() == 1:\n"
        "            nn.init.zeros_(p)\n",
    )

    def check(self, facts: FileFacts) -> Iterable[Finding]:
        for site in facts.sites:
            if site.kind != "constant":
                continue
            subject = targets.classify(facts, site)
            if subject.walker is None or subject.kind not in (targets.EVERY_PARAMETER, targets.EVERY_WEIGHT):
                continue
            if site.zero and _zeroes_one_layer(facts, site):
                continue
            value = site.value_text or "a constant"
            dead = " and, being zero, gets no gradient through ReLU" if site.zero else ""
            yield Finding(site.node, self.message.format(how=site.how, subject=subject.label, value=value, dead=dead))
