"""IL001 constant-weight-init."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from initlint.rule import Finding, Rule
from initlint.rules._declarations import CONSTANT_OR_ROWS

if TYPE_CHECKING:  # pragma: no cover
    from initlint.facts import FileFacts


class ConstantWeightInit(Rule):
    """
    ## What it does
    Flags a weight matrix set to one constant (`nn.init.constant_`, `ones_`, `.fill_(c)`,
    `torch.full` / `ones` / `*_like` assigned, copied, wrapped in `nn.Parameter` or made with
    `requires_grad=True`, `normal_(w, m, 0)`, `uniform_(w, a, a)`) when the network model shows
    that its units stay tied for ever: they are alike on both sides. Their incoming weights are
    equal (the constant), so are their biases (none, zero or constant), and so are their outgoing
    weights: the layer fed next is constant too, with nothing in between that tells units apart.
    The constant layer that keeps a previous layer's units tied is flagged as well, and so are
    layers built alike in a container that feed one another (all but the last stay tied). Zero is
    such a constant too where the layer is not dead (IL002) but tied: a zero layer with a zero
    bias, through a sigmoid or tanh, into a zero or constant matrix.

    ## Why is this bad?
    Such units compute the same value, get the same gradient and take the same step at every
    step, for ever: the layer behaves as one unit (seed 002's proof; d2l's symmetry chapter).
    Measured on digits (64-128-64-10 MLP, Adam, 10 epochs): every parameter set to ones reaches
    9.9% accuracy, a random init 96.5%.

    ## Known problems
    The model reads `__init__` (and what it calls), `forward`, the classes of the file used as
    sub-modules, and code that builds a model and changes it (`net = Net(); ...`). A layer whose
    bias or next layer is random is not tied for ever: that start is IL010 (weak-constant-start).
    A layer that feeds the loss directly (an output head), a depthwise conv (each unit reads its
    own channel), a single output unit, and a layer whose consumers the file does not show are
    not flagged. Test code is left alone unless `lint-tests = true`.

    ## Example
    ```python
    self.fc1 = nn.Linear(64, 128, bias=False)
    self.fc2 = nn.Linear(128, 10)
    nn.init.constant_(self.fc1.weight, 0.1)
    nn.init.constant_(self.fc2.weight, 0.1)
    # forward: self.fc2(F.relu(self.fc1(x)))
    ```

    ## Use instead
    ```python
    self.fc1 = nn.Linear(64, 128)  # PyTorch's default (Kaiming-uniform) init
    nn.init.kaiming_uniform_(self.fc1.weight, nonlinearity="relu")
    ```

    ## References
    - Goodfellow, Bengio, Courville, *Deep Learning*, section 8.4 (breaking symmetry)
    - d2l.ai, *Numerical Stability and Initialization*, 5.4.1.3 (breaking the symmetry)
    """

    code = "IL001"
    name = "constant-weight-init"
    message = "{target} is set to the constant {value} ({how}): {units} of {layer} start identical and stay tied for ever: {detail}"
    # The next layer's constant weight that keeps a previous layer's units tied.
    partner_message = "{target} is set to the constant {value} ({how}): {detail}"
    fix_title = "Use the layer's default init, or nn.init.kaiming_uniform_ / xavier_uniform_"
    invalid = (
        "import torch\nimport torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc1 = nn.Linear(4, 8, bias=False)\n"
        "        self.fc2 = nn.Linear(8, 2)\n"
        "        nn.init.constant_(self.fc1.weight, 0.5)\n"
        "        nn.init.constant_(self.fc2.weight, 0.5)\n"
        "    def forward(self, x):\n"
        "        return self.fc2(torch.relu(self.fc1(x)))\n",
        "from torch.nn.init import ones_ as o, zeros_\n"
        "from torch import nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 16, 3)\n"
        "        self.head = nn.Conv2d(16, 4, 1)\n"
        "        o(self.conv.weight)\n"
        "        zeros_(self.conv.bias)\n"
        "        o(self.head.weight)\n"
        "    def forward(self, x):\n"
        "        return self.head(self.conv(x).relu())\n",
        "import torch\n"
        "X = torch.randn(8, 3)\n"
        "W1 = torch.full((3, 2), 1.0, requires_grad=True)\n"
        "W2 = torch.full((2, 1), 1.0, requires_grad=True)\n"
        "loss = (torch.matmul(torch.matmul(X, W1), W2) ** 2).mean()\n"
        "loss.backward()\n",
        "import torch\nimport torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.W = nn.Parameter(torch.ones(16, 32) * 0.01)\n"
        "        self.V = nn.Parameter(torch.ones(32, 4) / 32 ** 0.5)\n"
        "    def forward(self, x):\n"
        "        return torch.tanh(x @ self.W) @ self.V\n",
    )
    valid = (
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(4, 8)\n"
        "        self.bn = nn.BatchNorm1d(8)\n"
        "        nn.init.constant_(self.fc.bias, 0)\n"
        "        nn.init.constant_(self.bn.weight, 1)\n"
        "        nn.init.kaiming_uniform_(self.fc.weight)\n"
        "    def forward(self, x):\n"
        "        return self.bn(self.fc(x))\n",
        "import torch\nimport torch.nn as nn\n"
        "class Block(nn.Module):\n"
        "    def __init__(self, dim):\n"
        "        super().__init__()\n"
        "        self.gamma = nn.Parameter(torch.ones(dim) * 1e-5)\n"
        "        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))\n"
        "        self.pos_embed = nn.Parameter(torch.ones(1, 196, dim))\n"
        "        nn.init.trunc_normal_(self.pos_embed, std=0.02)\n",
        "import torch\n"
        "X = torch.randn(8, 5)\n"
        "w = torch.full((5, 1), 0.42, requires_grad=True)\n"
        "y = torch.matmul(X, w)\n",
        "import torch\nimport torch.nn as nn\n"
        "class Head(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.body = nn.Linear(16, 32)\n"
        "        self.out = nn.Linear(32, 10)\n"
        "        nn.init.constant_(self.out.weight, 0.01)\n"
        "    def forward(self, x):\n"
        "        return self.out(torch.relu(self.body(x)))\n",
        "import torch.nn as nn\n"
        "class Blur(nn.Module):\n"
        "    def __init__(self, channels):\n"
        "        super().__init__()\n"
        "        self.box = nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False)\n"
        "        self.box.weight.data.fill_(1 / 9)\n"
        "        self.proj = nn.Conv2d(channels, channels, 1)\n"
        "    def forward(self, x):\n"
        "        return self.proj(self.box(x))\n",
    )

    needs = CONSTANT_OR_ROWS

    def check(self, facts: "FileFacts") -> Iterable[Finding]:
        from initlint.rules._il001 import check  # (libcst and the analysis: only for a file that is checked)

        return check(self, facts)
