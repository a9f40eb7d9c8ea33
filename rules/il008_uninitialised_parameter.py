"""IL008 uninitialised-parameter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from initlint.rule import Finding, Rule
from initlint.rules._declarations import EMPTY_PARAMETERS

if TYPE_CHECKING:  # pragma: no cover
    from initlint.facts import FileFacts


class UninitialisedParameter(Rule):
    """
    ## What it does
    Flags an `nn.Parameter` created from uninitialised memory (`torch.empty(...)`,
    `torch.Tensor(n, m)`, `torch.FloatTensor(n, m)`, `x.new_empty(...)`) that no init reaches:
    the network model runs the class's construction (its `__init__`, the helpers and
    `reset_parameters` it calls, base classes of the file, `.apply()` functions of the file, loops
    over `parameters()` / `modules()`) and the code the file runs on the models it builds, and the
    parameter still holds nothing but what `torch.empty` gave it, in every model of the file.

    ## Why is this bad?
    `torch.empty` allocates without writing: the parameter starts with whatever the allocator's
    memory held. Often that is zeros (a dead or tied start), sometimes leftovers of earlier
    tensors, huge values, or NaN, different from run to run and machine to machine: a model that
    trains on one machine diverges on another, and no seed makes it reproducible.

    ## Known problems
    Stays quiet whenever code the model does not run could give the parameter values: a write to
    an attribute of the same name the construction does not reach (a `reset_parameters` called
    from outside, a lazy init in `forward`), a loop over `parameters()` anywhere in the file that
    the model does not run, the tensor handed to any function but torch's (`glorot(self.weight)`
    from another library), an in-place or item write (`self.weight.data[0] = ...`), an `.apply()`
    of a function of another file, the model handed to a function of another file, a method the
    class inherits from a base of another file (`self.post_init()`), a state load
    (`load_state_dict`, `from_pretrained`) in the class, or `copy_` / `.data =` of other values.
    So a `reset_parameters` that exists but is never called is not reported. `torch.Tensor(x)`
    with one argument is taken as data unless the name says a size (`dim`, `hidden_size`, `n`).
    Parameters made under computed names (`setattr(self, name, ...)`) and test code are not
    checked.

    ## Example
    ```python
    class GraphConv(nn.Module):
        def __init__(self, d_in, d_out):
            super().__init__()
            self.weight = nn.Parameter(torch.FloatTensor(d_in, d_out))
            self.bias = nn.Parameter(torch.FloatTensor(d_out))
    ```

    ## Use instead
    ```python
    class GraphConv(nn.Module):
        def __init__(self, d_in, d_out):
            super().__init__()
            self.weight = nn.Parameter(torch.empty(d_in, d_out))
            self.bias = nn.Parameter(torch.empty(d_out))
            self.reset_parameters()

        def reset_parameters(self):
            nn.init.xavier_uniform_(self.weight)
            nn.init.zeros_(self.bias)
    ```

    ## References
    - PyTorch docs, `torch.empty`: "Returns a tensor filled with uninitialized data"
    - PyTorch's own layers: `nn.Linear.__init__` creates its weight with `torch.empty` and calls
      `reset_parameters()`
    """

    code = "IL008"
    name = "uninitialised-parameter"
    message = (
        "{target} is created with {how} and no init reaches it: it starts with whatever memory held "
        "(often zeros, sometimes huge values or NaN), different from run to run"
    )
    fix_title = "Initialise it in __init__ or reset_parameters (nn.init.kaiming_uniform_, xavier_uniform_, zeros_ for a bias)"
    invalid = (
        "import torch\nimport torch.nn as nn\n"
        "class GraphConv(nn.Module):\n"
        "    def __init__(self, d_in, d_out):\n"
        "        super().__init__()\n"
        "        self.weight = nn.Parameter(torch.FloatTensor(d_in, d_out))\n"
        "        self.bias = nn.Parameter(torch.FloatTensor(d_out))\n"
        "    def forward(self, x, adj):\n"
        "        return adj @ (x @ self.weight) + self.bias\n",
        "import torch\nfrom torch import nn\n"
        "class Gate(nn.Module):\n"
        "    def __init__(self, d):\n"
        "        super().__init__()\n"
        "        self.w = nn.Parameter(torch.empty(d, d))\n"
        "        self.b = nn.Parameter(torch.empty(d))\n"
        "        self.reset_parameters()\n"
        "    def reset_parameters(self):\n"
        "        for p in self.parameters():\n"
        "            if p.dim() > 1:\n"
        "                nn.init.xavier_uniform_(p)\n",
    )
    valid = (
        "import math\nimport torch\nimport torch.nn as nn\n"
        "class GraphConv(nn.Module):\n"
        "    def __init__(self, d_in, d_out):\n"
        "        super().__init__()\n"
        "        self.weight = nn.Parameter(torch.FloatTensor(d_in, d_out))\n"
        "        self.bias = nn.Parameter(torch.FloatTensor(d_out))\n"
        "        self.reset_parameters()\n"
        "    def reset_parameters(self):\n"
        "        stdv = 1.0 / math.sqrt(self.weight.size(1))\n"
        "        self.weight.data.uniform_(-stdv, stdv)\n"
        "        self.bias.data.uniform_(-stdv, stdv)\n",
        "import torch\nimport torch.nn as nn\n"
        "class Scale(nn.Module):\n"
        "    def __init__(self, d):\n"
        "        super().__init__()\n"
        "        self.w = nn.Parameter(nn.init.xavier_uniform_(torch.empty(d, d)))\n"
        "        self.s = nn.Parameter(torch.empty(d))\n"
        "        self.s.data.copy_(torch.linspace(0, 1, d))\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, d):\n"
        "        super().__init__()\n"
        "        self.head = nn.Parameter(torch.empty(d, 2))\n"
        "net = Net(4)\n"
        "nn.init.normal_(net.head, std=0.02)\n",
    )

    needs = EMPTY_PARAMETERS

    def check(self, facts: "FileFacts") -> Iterable[Finding]:
        from initlint.rules._il008 import check  # (libcst and the analysis: only for a file that is checked)

        return check(self, facts)
