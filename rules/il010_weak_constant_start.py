"""IL010 weak-constant-start."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from initlint.diagnostic import Severity
from initlint.rule import Finding, Rule
from initlint.rules._declarations import CONSTANT_OR_ROWS

if TYPE_CHECKING:  # pragma: no cover
    from initlint.facts import FileFacts


class WeakConstantStart(Rule):
    """
    ## What it does
    Flags a hidden layer whose weight is set to one constant (or to one row repeated) when the
    network model shows that something random next to it tells its units apart: the layer's
    default random bias, a random next layer, dropout, a residual path. The units are not tied
    for ever (that is IL001 and IL005), but they all start as the same unit.

    ## Why is this bad?
    The layer starts with rank one: every unit computes the same function of the input, shifted
    only by its bias, and training has to pull the units apart from there. Measured on digits
    (64-128-64-10 MLP, Adam, 10 epochs): the first layer all ones, biases and other layers left
    random, reaches 52% accuracy; a random init, 96.5%.

    ## Known problems
    A layer whose output reaches the loss directly (an output head) is not reported: the loss
    tells its units apart, as it does a zero head's. Nor is a layer whose consumers the file does
    not show (a class without `forward`, an output passed to code of another file). A weight set
    to zero while the bias stays random is not reported either: measured, it learns as well as a
    random init (96%).

    ## Example
    ```python
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(64, 128)
            self.fc2 = nn.Linear(128, 10)
            nn.init.ones_(self.fc1.weight)  # fc1.bias stays random

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(x)))
    ```

    ## Use instead
    ```python
    nn.init.kaiming_uniform_(self.fc1.weight, nonlinearity="relu")
    ```

    ## References
    - d2l.ai, *Numerical Stability and Initialization*, 5.4.1.3 (breaking the symmetry)
    """

    code = "IL010"
    name = "weak-constant-start"
    message = "{target} {start}: {units} of {layer} start identical (the layer starts with rank one); only {detail} {verb} them apart"
    fix_title = "Initialise the weight randomly (nn.init.kaiming_uniform_ / xavier_uniform_)"
    severity = Severity.WARNING
    invalid = (
        "import torch\nimport torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc1 = nn.Linear(64, 128)\n"
        "        self.fc2 = nn.Linear(128, 10)\n"
        "        nn.init.ones_(self.fc1.weight)\n"
        "    def forward(self, x):\n"
        "        return self.fc2(torch.relu(self.fc1(x)))\n",
        "import torch\nimport torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.proj = nn.Linear(3, 16)\n"
        "        self.mix = nn.Linear(16, 16)\n"
        "        with torch.no_grad():\n"
        "            self.proj.weight.copy_(torch.arange(3.0).repeat(16, 1))\n"
        "    def forward(self, x):\n"
        "        return self.mix(torch.tanh(self.proj(x)))\n",
    )
    valid = (
        "import torch\nimport torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc1 = nn.Linear(64, 128)\n"
        "        self.fc2 = nn.Linear(128, 10)\n"
        "        nn.init.zeros_(self.fc1.weight)\n"
        "        nn.init.constant_(self.fc2.weight, 0.5)\n"
        "    def forward(self, x):\n"
        "        return self.fc2(torch.relu(self.fc1(x)))\n",
        "import torch.nn as nn\n"
        "class Probe(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(8, 8)\n"
        "        nn.init.constant_(self.fc.weight, 0.5)\n"
        "    def forward(self, x):\n"
        "        return other_library_block(self.fc(x))\n",
    )
    needs = CONSTANT_OR_ROWS

    def check(self, facts: "FileFacts") -> Iterable[Finding]:
        from initlint.rules._il010 import check  # (libcst and the analysis: only for a file that is checked)

        return check(self, facts)
