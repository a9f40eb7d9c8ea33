"""IL003 constant-init-loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from initlint import torch_api
from initlint.rule import Finding, Rule
from initlint.screen import Needs

if TYPE_CHECKING:  # pragma: no cover
    from initlint.facts import FileFacts


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

    needs = Needs(
        triggers=torch_api.CONSTANT_WORDS,
        patterns=(torch_api.WHOLE_SLICE_WRITE,),
        follow=frozenset({"users"}),
    )

    def check(self, facts: "FileFacts") -> Iterable[Finding]:
        from initlint.rules._il003 import check  # (libcst and the analysis: only for a file that is checked)

        return check(self, facts)
