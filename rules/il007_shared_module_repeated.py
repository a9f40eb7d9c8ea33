"""IL007 shared-module-repeated."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from initlint.rule import Finding, Rule
from initlint.rules._declarations import SHARED_MODULES

if TYPE_CHECKING:  # pragma: no cover
    from initlint.facts import FileFacts


class SharedModuleRepeated(Rule):
    """
    ## What it does
    Flags one module object placed in several positions of a stack of layers: a list multiplied
    (`[Block()] * n`, `[nn.ReLU(), nn.Linear(h, h)] * n`, `nn.Sequential(*[layer] * n)`), a name
    bound before a loop and appended (`add_module`'d, `setattr`'d) on every pass of it
    (`layer = Block()` then `for _ in range(n): layers.append(layer)`), or a comprehension that
    repeats a name (`[layer for _ in range(n)]`), when the network model shows that the module
    has parameters. It is reported where the object is repeated, in an `nn.ModuleList`,
    `nn.Sequential`, `nn.ModuleDict` or a plain list attribute of a module.

    ## Why is this bad?
    List multiplication copies references, not modules: every position is the same object, so
    the "n layers" are one layer applied n times, with one set of weights and one gradient
    (the sum of every position's). The model has a fraction of the capacity its code describes,
    `parameters()` yields the weights once, and a deep stack of one repeated square layer is
    prone to exploding or vanishing activations. Nothing fails: it trains, worse.

    ## Known problems
    Parameter-free modules (activations, dropout, pooling, `nn.Identity`) are not reported:
    sharing them changes nothing. Sharing the code names is taken to be meant and is not
    reported: the same attribute put in several places (`[self.block] * n`,
    `nn.Sequential(self.fc, act, self.fc)`), a name that says so (`shared_block`, `tied_layer`),
    weight tying by assignment (`self.head.weight = self.embed.weight`), and a name written out
    twice (`nn.Sequential(layer, act, layer)`). A class of another file counts as having
    parameters inside a torch container when it is built with arguments and its name does not
    say activation, dropout, pooling or reshaping. An append under an `if` inside the loop, and
    loops that run once (`range(1)`, a `break`), are not reported. Test code is not checked.

    ## Example
    ```python
    class Encoder(nn.Module):
        def __init__(self, d, n):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(d, d)] * n)
    ```

    ## Use instead
    ```python
    class Encoder(nn.Module):
        def __init__(self, d, n):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(d, d) for _ in range(n)])
            # or, from a template: [copy.deepcopy(layer) for _ in range(n)]
    ```

    ## References
    - Python docs, Common Sequence Operations, note 2: "items in the sequence s are not copied;
      they are referenced multiple times"
    - The Annotated Transformer's `clones()`: `nn.ModuleList([copy.deepcopy(module) for _ in range(N)])`
    """

    code = "IL007"
    name = "shared-module-repeated"
    message = (
        "{how}: they are one module with one set of weights (and one summed gradient), so the stack "
        "trains as a single layer applied {times}"
    )
    fix_title = "Build a new module for each position ([Block() for _ in range(n)], or copy.deepcopy)"
    invalid = (
        "import torch.nn as nn\n"
        "class Encoder(nn.Module):\n"
        "    def __init__(self, d, n):\n"
        "        super().__init__()\n"
        "        self.layers = nn.ModuleList([nn.Linear(d, d)] * n)\n",
        "import torch.nn as nn\n"
        "def mlp(h, n):\n"
        "    return nn.Sequential(*[nn.ReLU(), nn.Linear(h, h)] * n)\n",
        "import torch.nn as nn\n"
        "class Block(nn.Module):\n"
        "    def __init__(self, d):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(d, d)\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, d, n):\n"
        "        super().__init__()\n"
        "        layer = Block(d)\n"
        "        layers = []\n"
        "        for _ in range(n):\n"
        "            layers.append(layer)\n"
        "        self.body = nn.Sequential(*layers)\n",
    )
    valid = (
        "import torch.nn as nn\n"
        "class Encoder(nn.Module):\n"
        "    def __init__(self, d, n):\n"
        "        super().__init__()\n"
        "        self.layers = nn.ModuleList([nn.Linear(d, d) for _ in range(n)])\n"
        "        self.acts = nn.ModuleList([nn.ReLU()] * n)\n",
        "import torch.nn as nn\n"
        "class Universal(nn.Module):\n"
        "    def __init__(self, d, n):\n"
        "        super().__init__()\n"
        "        self.block = nn.Linear(d, d)\n"
        "        self.steps = nn.ModuleList([self.block] * n)\n"
        "        shared_layer = nn.Linear(d, d)\n"
        "        self.more = nn.Sequential(*[shared_layer] * n)\n",
        "import copy\nimport torch.nn as nn\n"
        "def clones(module, n):\n"
        "    return nn.ModuleList([copy.deepcopy(module) for _ in range(n)])\n"
        "def stack(d, n):\n"
        "    layers = []\n"
        "    for _ in range(n):\n"
        "        layer = nn.Linear(d, d)\n"
        "        layers.append(layer)\n"
        "    return nn.Sequential(*layers)\n",
    )

    needs = SHARED_MODULES

    def check(self, facts: "FileFacts") -> Iterable[Finding]:
        from initlint.rules._il007 import check  # (libcst and the analysis: only for a file that is checked)

        return check(self, facts)
