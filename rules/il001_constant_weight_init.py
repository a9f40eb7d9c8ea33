"""IL001 constant-weight-init."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from initlint.rule import Finding, Rule
from initlint.rules._declarations import CONSTANT_SITES

if TYPE_CHECKING:  # pragma: no cover
    from initlint.facts import FileFacts


class ConstantWeightInit(Rule):
    """
    ## What it does
    Flags a weight matrix (a layer's weight, or a trainable tensor of two or more dimensions)
    that is set to one non-zero constant: `nn.init.constant_`, `nn.init.ones_`, `.fill_(c)`,
    `torch.full` / `torch.ones` / `ones_like` / `full_like` assigned to a weight, copied into it,
    wrapped in `nn.Parameter` or created with `requires_grad=True`.

    ## Why is this bad?
    Every unit of the layer computes the same function of its input, so every unit receives the
    same gradient and takes the same step: the units stay identical for ever and the layer
    behaves as if it had a single unit. Measured on digits (64-128-64-10 MLP, Adam, 10 epochs):
    every Linear weight 0.1 reaches 19% accuracy, the first layer all ones 52%, a random init 96.5%.

    ## Known problems
    Shapes are read from the code: a tensor whose shape is held in a variable, or a layer whose
    class the file does not show, is not judged. A tensor with a dimension of literal size 1
    (a single output unit) has no sibling units and is never flagged.

    ## Example
    ```python
    self.fc1 = nn.Linear(64, 128)
    nn.init.constant_(self.fc1.weight, 0.1)
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
    message = "{target} is set to the constant {value} ({how}): {units} of {layer} start identical and receive identical gradients"
    fix_title = "Use the layer's default init, or nn.init.kaiming_uniform_ / xavier_uniform_"
    invalid = (
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(4, 8)\n"
        "        nn.init.constant_(self.fc.weight, 0.5)\n",
        "from torch.nn.init import ones_ as o\n"
        "from torch import nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 16, 3)\n"
        "        o(self.conv.weight)\n",
        "import torch\n"
        "X = torch.randn(8, 3)\n"
        "W1 = torch.full((3, 2), 1.0, requires_grad=True)\n"
        "h = torch.matmul(X, W1)\n",
        "import torch\nimport torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(4, 8)\n"
        "        with torch.no_grad():\n"
        "            self.fc.weight.data.fill_(0.1)\n",
        "import torch\nimport torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.W = nn.Parameter(torch.ones(16, 32) * 0.01)\n"
        "    def forward(self, x):\n"
        "        return x @ self.W\n",
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
        "        nn.init.kaiming_uniform_(self.fc.weight)\n",
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
        "import torch\n"
        "x = torch.ones(2, 2, requires_grad=True)\n"
        "y = (x + 2) * 3\n",
    )

    needs = CONSTANT_SITES

    def check(self, facts: "FileFacts") -> Iterable[Finding]:
        from initlint.rules._il001 import check  # (libcst and the analysis: only for a file that is checked)

        return check(self, facts)
