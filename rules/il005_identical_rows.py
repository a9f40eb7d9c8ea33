"""IL005 identical-rows."""

from __future__ import annotations

from typing import Iterable

import libcst as cst

from initlint import exprs, targets
from initlint.facts import FileFacts, Site
from initlint.rule import Finding, Rule

_KEEPS_DIM = (1.0, -1.0)  # repeat(1, ...) / expand(-1, ...) leave dimension 0 as it was


class IdenticalRows(Rule):
    """
    ## What it does
    Flags a weight built by repeating one row or column (`repeat`, `expand`, `expand_as`,
    `tile`, `broadcast_to`, `unsqueeze(...).repeat(...)`) and then copied or assigned into a
    parameter.

    ## Why is this bad?
    The values differ along the row, but every unit (row of a Linear/Conv weight) is the same
    vector, so every unit computes the same function, receives the same gradient and stays a
    copy of the others: the layer has one unit's worth of capacity.

    ## Known problems
    For a layer's `.weight` the rule knows the unit axis (dimension 0) and stays quiet when the
    repetition leaves that axis alone (`repeat(1, k)`). For a bare parameter the axis is unknown
    (`X @ W` keeps units along dimension 1), so any repetition is reported. A random perturbation
    added to the repeated tensor makes it clean.

    ## Example
    ```python
    row = torch.arange(3).float()
    with torch.no_grad():
        self.linear1.weight.copy_(row.unsqueeze(0).repeat(2, 1))
    ```

    ## Use instead
    ```python
    nn.init.kaiming_uniform_(self.linear1.weight, nonlinearity="relu")
    ```

    ## References
    - Goodfellow, Bengio, Courville, *Deep Learning*, section 8.4 (breaking symmetry)
    """

    code = "IL005"
    name = "identical-rows"
    message = "{target} is filled with one row repeated ({how}): {units} start identical and receive identical gradients"
    fix_title = "Initialise the weight randomly, or add a random perturbation to break the symmetry"
    invalid = (
        "import torch\nimport torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(3, 2)\n"
        "        W = torch.arange(3).float().unsqueeze(0).repeat(2, 1)\n"
        "        with torch.no_grad():\n"
        "            self.fc.weight.copy_(W)\n",
        "import torch\nimport torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, v):\n"
        "        super().__init__()\n"
        "        self.W = nn.Parameter(v.unsqueeze(0).expand(16, -1).clone())\n",
    )
    valid = (
        "import torch\nimport torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(3, 2)\n"
        "        col = torch.randn(2, 1)\n"
        "        with torch.no_grad():\n"
        "            self.fc.weight.copy_(col.repeat(1, 3))\n",
        "import torch\nimport torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, v):\n"
        "        super().__init__()\n"
        "        self.W = nn.Parameter(v.repeat(16, 1) + 0.01 * torch.randn(16, v.numel()))\n",
        "import torch\n"
        "def mask(x):\n"
        "    return x.unsqueeze(0).repeat(4, 1)\n",
    )

    def check(self, facts: FileFacts) -> Iterable[Finding]:
        for site in facts.sites:
            if site.kind != "repeat":
                continue
            subject = targets.classify(facts, site)
            if subject.kind in (targets.BIAS, targets.NORM, targets.VECTOR):
                continue
            if subject.kind == targets.MATRIX and (subject.units == "1" or not self._repeats_rows(site)):
                continue
            units = f"all {subject.units} units" if subject.units else "its units"
            how = site.repeat_method if site.repeat_method.startswith("torch.") else "." + site.repeat_method
            yield Finding(site.node, self.message.format(target=site.target_name, how=f"{how}()", units=units))

    @staticmethod
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
