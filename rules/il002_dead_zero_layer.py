"""IL002 dead-zero-layer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from initlint.rule import Finding, Rule
from initlint.rules._declarations import CONSTANT_OR_ROWS

if TYPE_CHECKING:  # pragma: no cover
    from initlint.facts import FileFacts


class DeadZeroLayer(Rule):
    """
    ## What it does
    Flags a zeroed layer that the network model shows can never learn. A layer whose weight and
    bias are zero (or a norm whose scale and shift are zero) outputs exactly 0; it is dead for
    ever when every path from it is stopped: by an activation whose derivative at 0 is 0 (ReLU,
    ReLU6, `clamp(min=0)`, also inside a `Sequential` or a norm-and-activation layer such as
    timm's `BatchNormAct2d`), or by a zero layer next in line that only it feeds (LoRA's `A` and
    `B` both zero, `zero_module` on every conv of a chain): that layer's weight gets no gradient
    from a zero input, and its zero weight passes none back. Hand-made matrices
    (`torch.zeros(d, h, requires_grad=True)`) are judged alike.

    ## Why is this bad?
    PyTorch's ReLU passes `grad * (out > 0)`: at 0, nothing. The layer's parameters get a
    gradient of exactly 0 at every step, and nothing upstream of it learns through it. Measured
    on digits (64-128-64-10 MLP): first layer weight and bias zero, then ReLU: 8.5% accuracy,
    chance level.

    ## Known problems
    Zeroing the weight alone is fine when the bias stays random (measured: 96%), and so is a
    zeroed output layer (95.7%: the upstream layers get a zero gradient at the first step only),
    a lone zero layer with anything random after it (adaLN-Zero, ControlNet's zero conv, LoRA's
    `B`), and a zeroed norm whose output is added to a residual before any activation
    (`zero_init_last`): none is reported. Activations applied where the model does not look (a
    hook, a module of another file) are not seen.

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
    - Hu et al., *LoRA* (2021): `B` starts at zero, `A` random, for exactly this reason
    """

    code = "IL002"
    name = "dead-zero-layer"
    message = "{target} is zero ({how}): {detail}"
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
        "import torch\nimport torch.nn as nn\n"
        "class LoRA(nn.Module):\n"
        "    def __init__(self, d, r):\n"
        "        super().__init__()\n"
        "        self.A = nn.Parameter(torch.zeros(d, r))\n"
        "        self.B = nn.Parameter(torch.zeros(r, d))\n"
        "    def forward(self, x):\n"
        "        return x + x @ self.A @ self.B\n",
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
        "import math\nimport torch\nimport torch.nn as nn\n"
        "class LoRA(nn.Module):\n"
        "    def __init__(self, d, r):\n"
        "        super().__init__()\n"
        "        self.A = nn.Parameter(torch.randn(d, r) / math.sqrt(r))\n"
        "        self.B = nn.Parameter(torch.zeros(r, d))\n"
        "    def forward(self, x):\n"
        "        return x + x @ self.A @ self.B\n",
    )

    needs = CONSTANT_OR_ROWS

    def check(self, facts: "FileFacts") -> Iterable[Finding]:
        from initlint.rules._il002 import check  # (libcst and the analysis: only for a file that is checked)

        return check(self, facts)
