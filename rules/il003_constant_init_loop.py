"""IL003 constant-init-loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from initlint.rule import Finding, Rule
from initlint.rules._declarations import CONSTANT_OR_ROWS

if TYPE_CHECKING:  # pragma: no cover
    from initlint.facts import FileFacts


class ConstantInitLoop(Rule):
    """
    ## What it does
    Flags a loop over `parameters()`, `named_parameters()`, `modules()`, `children()` or
    `named_modules()`, or a function handed to `.apply()`, that sets the weights of several
    layers to a constant or to zero, through any spelling of IL001 (`nn.init.constant_`,
    `zeros_`, `ones_`, `.fill_`, `.zero_`, `torch.zeros_like`, ...). Where the file builds the
    model it runs on, the network model applies the loop's filters (`isinstance(m, nn.Linear)`,
    `"bias" in name`, `p.dim() > 1`) to that model's layers, and the message says what follows:
    layers dead for ever, units tied for ever, or units that differ only by a random bias. A loop
    over a model the file does not build (a function's argument) is flagged when it sets every
    parameter, or every weight to one non-zero value.

    ## Why is this bad?
    The whole network starts symmetric: within every layer all units are identical. With every
    parameter constant they stay tied for ever; with zeros and ReLU nothing learns at all; with
    only the weights constant the units differ by their biases alone. Measured on digits
    (64-128-64-10 MLP): all parameters zero reach 8.5% accuracy, all ones 9.9%, every Linear
    weight 0.1 (biases random) 19%, a random init 96.5%.

    ## Known problems
    A loop or `.apply` that reaches only the output layer in the model it runs on (a zero head),
    only norms, biases or 1-D parameters, or only one layer named by a test on its name (timm's
    `if name.startswith("head")`), is not reported; nor is an `.apply` function the file never
    applies. Every weight zero with the biases left random is not reported: each layer then
    learns once the layer after it has (a slow start, not a dead one). A guard the model cannot
    read (`if name in my_list`) is taken to let every layer through.

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
    message = "{how} sets {subject} to {value}: {claim}"
    # A loop over the parameters of a model this file does not build (a function's argument).
    unseen_message = "{how} sets {subject} to {value}: in any model it runs on, the units of every hidden layer start identical{dead}"
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

    needs = CONSTANT_OR_ROWS

    def check(self, facts: "FileFacts") -> Iterable[Finding]:
        from initlint.rules._il003 import check  # (libcst and the analysis: only for a file that is checked)

        return check(self, facts)
