"""IL005 identical-rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from initlint import torch_api
from initlint.rule import Finding, Rule
from initlint.screen import Needs

if TYPE_CHECKING:  # pragma: no cover
    from initlint.facts import FileFacts


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

    needs = Needs(triggers=torch_api.REPEAT_WORDS, follow=frozenset({"users"}))

    def check(self, facts: "FileFacts") -> Iterable[Finding]:
        from initlint.rules._il005 import check  # (libcst and the analysis: only for a file that is checked)

        return check(self, facts)
