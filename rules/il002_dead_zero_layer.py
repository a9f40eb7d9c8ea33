"""IL002 dead-zero-layer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from initlint.rule import Finding, Rule
from initlint.rules._declarations import CONSTANT_SITES

if TYPE_CHECKING:  # pragma: no cover
    from initlint.facts import FileFacts


class DeadZeroLayer(Rule):
    """
    ## What it does
    Flags a layer whose weight and bias are both zeroed (inside its class, or on an instance of
    the class in the same file) when its output goes through a ReLU-family activation in
    `forward` (`F.relu`, `torch.relu`, `nn.ReLU`, `relu6`, `clamp(min=0)`). Also flags a
    hand-made hidden weight matrix created as zeros (`torch.zeros(d, h, requires_grad=True)`)
    whose output feeds another trainable matrix, with no random bias in between.

    ## Why is this bad?
    Every unit of the layer outputs exactly 0, and PyTorch's ReLU passes no gradient at 0, so
    the layer's weight and bias receive a gradient of exactly 0 at every step: the layer is dead
    for ever, and so is everything upstream of it. Measured on digits (64-128-64-10 MLP): first
    layer weight and bias zero, then ReLU: 8.5% accuracy, chance level.

    ## Known problems
    Zeroing the weight alone is fine when the bias stays random (96% on the same benchmark), and
    so is a zeroed output layer (95.7%): neither is reported. The activation is found by
    following `forward`'s local variables; an activation applied elsewhere (a wrapping
    `nn.Sequential`, a hook) is not seen.

    ## Example
    ```python
    with torch.no_grad():
        net.fc1.weight.zero_()
        net.fc1.bias.zero_()
    # forward: x = F.relu(self.fc1(x))
    ```

    ## Use instead
    ```python
    # keep the default init, or zero only the output layer
    nn.init.zeros_(net.out.weight)
    nn.init.zeros_(net.out.bias)
    ```

    ## References
    - PyTorch's ReLU backward: `grad_input = grad_output * (output > 0)`
    """

    code = "IL002"
    name = "dead-zero-layer"
    message = "{layer} has weight and bias zero and feeds {act} in forward: every unit outputs 0 and the layer never receives a gradient"
    fix_title = "Keep the layer's default init (or zero only the output layer)"
    invalid = (
        "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc1 = nn.Linear(4, 8)\n"
        "        self.out = nn.Linear(8, 2)\n"
        "        nn.init.zeros_(self.fc1.weight)\n"
        "        nn.init.zeros_(self.fc1.bias)\n"
        "    def forward(self, x):\n"
        "        return self.out(F.relu(self.fc1(x)))\n",
        "import torch\n"
        "W1 = torch.zeros(4, 16, requires_grad=True)\n"
        "W2 = torch.randn(16, 3, requires_grad=True)\n"
        "def net(X):\n"
        "    H = torch.relu(X @ W1)\n"
        "    return H @ W2\n",
    )
    valid = (
        "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc1 = nn.Linear(4, 8)\n"
        "        self.out = nn.Linear(8, 2)\n"
        "        nn.init.zeros_(self.out.weight)\n"
        "        nn.init.zeros_(self.out.bias)\n"
        "        nn.init.zeros_(self.fc1.weight)\n"
        "    def forward(self, x):\n"
        "        return self.out(F.relu(self.fc1(x)))\n",
        "import torch\n"
        "W1 = torch.zeros(4, 16, requires_grad=True)\n"
        "b1 = torch.randn(16, requires_grad=True)\n"
        "W2 = torch.randn(16, 3, requires_grad=True)\n"
        "def net(X):\n"
        "    H = torch.relu(X @ W1 + b1)\n"
        "    return H @ W2\n",
    )

    needs = CONSTANT_SITES

    def check(self, facts: "FileFacts") -> Iterable[Finding]:
        from initlint.rules._il002 import check  # (libcst and the analysis: only for a file that is checked)

        return check(self, facts)
