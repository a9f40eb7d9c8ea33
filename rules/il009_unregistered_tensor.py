"""IL009 unregistered-tensor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from initlint.rule import Finding, Rule
from initlint.rules._declarations import TRAINABLE_TENSORS

if TYPE_CHECKING:  # pragma: no cover
    from initlint.facts import FileFacts


class UnregisteredTensor(Rule):
    """
    ## What it does
    Flags a tensor made trainable by hand (created with `requires_grad=True`, `.requires_grad_()`
    called on it, `self.x.requires_grad = True`, or the old `Variable(..., requires_grad=True)`)
    and stored as a plain attribute of an `nn.Module` in `__init__` (or a helper it calls),
    directly or through a local name, instead of an `nn.Parameter` or `register_parameter`.

    ## Why is this bad?
    `nn.Module` registers `nn.Parameter`s, not tensors that merely require grad. The tensor is not
    in `parameters()`, so an optimizer built from `model.parameters()` never updates it: its
    gradient is computed at every step and thrown away, and it keeps its initial value for ever
    (a temperature stuck at 1, a learned scale stuck at 0). `.to(device)` does not move it and
    `state_dict()` does not save it.

    ## Known problems
    Stays quiet when the code shows it means it: the attribute wrapped later
    (`nn.Parameter(self.x)`, `self.x = nn.Parameter(...)`, `register_parameter`), kept as a buffer,
    handed to an optimizer or to `torch.autograd` itself, collected by hand (in a list, tuple or
    dict display, returned), its `.grad` read (an update by hand), read by name (`getattr`), or a
    class that overrides `parameters()`. Collecting it in a list for any other purpose (say
    `torch.cat([self.x, y])`) also silences it. Tensors created outside `__init__` and its helpers
    (`forward`, a `reset` method), classes that are not `nn.Module`s, and test code are not
    checked.

    ## Example
    ```python
    class Scaled(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.fc = nn.Linear(d, d)
            self.alpha = torch.zeros(d, requires_grad=True)

        def forward(self, x):
            return self.fc(x) * self.alpha.exp()
    ```

    ## Use instead
    ```python
    class Scaled(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.fc = nn.Linear(d, d)
            self.alpha = nn.Parameter(torch.zeros(d))
    ```

    ## References
    - PyTorch docs, `torch.nn.Parameter`: "Parameters are Tensor subclasses, that have a very
      special property when used with Modules - when they're assigned as Module attributes they
      are automatically added to the list of its parameters"
    """

    code = "IL009"
    name = "unregistered-tensor"
    message = (
        "{target} is made trainable with {how} but kept as a plain attribute of {cls}: it is not in "
        "{cls}.parameters(), so an optimizer built from them never updates it (and .to() / state_dict() do not see it)"
    )
    fix_title = "Make it an nn.Parameter (nn.Parameter(torch.zeros(d))) or register_parameter it"
    invalid = (
        "import torch\nimport torch.nn as nn\n"
        "class Scaled(nn.Module):\n"
        "    def __init__(self, d):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(d, d)\n"
        "        self.alpha = torch.zeros(d, requires_grad=True)\n"
        "    def forward(self, x):\n"
        "        return self.fc(x) * self.alpha.exp()\n",
        "import torch\nfrom torch import nn\n"
        "class Temperature(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        t = torch.ones(1).requires_grad_()\n"
        "        self.t = t\n"
        "    def forward(self, logits):\n"
        "        return logits / self.t\n",
    )
    valid = (
        "import torch\nimport torch.nn as nn\n"
        "class Scaled(nn.Module):\n"
        "    def __init__(self, d):\n"
        "        super().__init__()\n"
        "        self.alpha = nn.Parameter(torch.zeros(d))\n"
        "        self.register_buffer('mask', torch.ones(d))\n"
        "        self.eps = torch.zeros(d)\n",
        "import torch\nimport torch.nn as nn\n"
        "class Attack(nn.Module):\n"
        "    def __init__(self, shape):\n"
        "        super().__init__()\n"
        "        self.delta = torch.zeros(shape, requires_grad=True)\n"
        "        self.opt = torch.optim.Adam([self.delta], lr=0.01)\n"
        "class Plain:\n"
        "    def __init__(self):\n"
        "        self.w = torch.randn(3, requires_grad=True)\n",
    )

    needs = TRAINABLE_TENSORS

    def check(self, facts: "FileFacts") -> Iterable[Finding]:
        from initlint.rules._il009 import check  # (libcst and the analysis: only for a file that is checked)

        return check(self, facts)
