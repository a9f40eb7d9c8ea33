"""IL005 identical-rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from initlint.rule import Finding, Rule
from initlint.rules._declarations import CONSTANT_OR_ROWS

if TYPE_CHECKING:  # pragma: no cover
    from initlint.facts import FileFacts


class IdenticalRows(Rule):
    """
    ## What it does
    Flags a layer's weight built by repeating one row (`repeat`, `expand`, `expand_as`, `tile`,
    `broadcast_to`, `unsqueeze(...).repeat(...)`) and copied or assigned into it, when the
    network model shows that its units stay tied for ever: their bias is equal too (none, zero
    or constant) and the layer fed next weighs them alike (its weight is constant).

    ## Why is this bad?
    The values differ along the row, but every unit (a row of a Linear/Conv weight) is the same
    vector, so every unit computes the same function, receives the same gradient and stays a
    copy of the others: the layer has one unit's worth of capacity (seed 002's `ConstInit`).

    ## Known problems
    The unit axis of a layer's `.weight` is dimension 0: a repetition that leaves it alone
    (`repeat(1, k)`) gives distinct units and is not reported. Repeated rows whose tie a random
    bias or a random next layer breaks are a weak start (IL010). A random perturbation added to
    the repeated tensor makes it clean.

    ## Example
    ```python
    self.linear1 = nn.Linear(3, 2, bias=False)
    self.linear2 = nn.Linear(2, 4, bias=False)
    row = torch.arange(3).float()
    with torch.no_grad():
        self.linear1.weight.copy_(row.unsqueeze(0).repeat(2, 1))
    nn.init.constant_(self.linear2.weight, 0.5)
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
    message = "{target} is filled with one row repeated ({how}): {units} of {layer} start identical and stay tied for ever: {detail}"
    fix_title = "Initialise the weight randomly, or add a random perturbation to break the symmetry"
    invalid = (
        "import torch\nimport torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(3, 2, bias=False)\n"
        "        self.out = nn.Linear(2, 4)\n"
        "        W = torch.arange(3).float().unsqueeze(0).repeat(2, 1)\n"
        "        with torch.no_grad():\n"
        "            self.fc.weight.copy_(W)\n"
        "        nn.init.constant_(self.out.weight, 0.5)\n"
        "    def forward(self, x):\n"
        "        return self.out(torch.relu(self.fc(x)))\n",
        "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, v):\n"
        "        super().__init__()\n"
        "        self.proj = nn.Linear(16, 8)\n"
        "        self.head = nn.Linear(8, 2)\n"
        "        with torch.no_grad():\n"
        "            self.proj.weight.data = torch.tile(v, (8, 1))\n"
        "            self.proj.bias.zero_()\n"
        "            self.head.weight.fill_(1.0)\n"
        "    def forward(self, x):\n"
        "        return self.head(F.gelu(self.proj(x)))\n",
    )
    valid = (
        "import torch\nimport torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(3, 2)\n"
        "        self.out = nn.Linear(2, 4)\n"
        "        col = torch.randn(2, 1)\n"
        "        with torch.no_grad():\n"
        "            self.fc.weight.copy_(col.repeat(1, 3))\n"
        "    def forward(self, x):\n"
        "        return self.out(torch.relu(self.fc(x)))\n",
        "import torch\nimport torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, v):\n"
        "        super().__init__()\n"
        "        self.W = nn.Parameter(v.repeat(16, 1) + 0.01 * torch.randn(16, v.numel()))\n",
        "import torch\n"
        "def mask(x):\n"
        "    return x.unsqueeze(0).repeat(4, 1)\n",
    )

    needs = CONSTANT_OR_ROWS

    def check(self, facts: "FileFacts") -> Iterable[Finding]:
        from initlint.rules._il005 import check  # (libcst and the analysis: only for a file that is checked)

        return check(self, facts)
