"""IL006 unregistered-submodules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from initlint.rule import Finding, Rule
from initlint.rules._declarations import MODULE_CLASSES

if TYPE_CHECKING:  # pragma: no cover
    from initlint.facts import FileFacts


class UnregisteredSubmodules(Rule):
    """
    ## What it does
    Flags an attribute of an `nn.Module` assigned a plain `list`, `tuple` or `dict` of layers
    (a display, a comprehension, `[...] * n`, a list filled by `append` in a loop, a local list
    assigned afterwards) in `__init__` or a helper it calls, when the network model shows that
    what it holds has parameters: `nn.Linear`, convolutions, norms, embeddings, `nn.Parameter`,
    `torchvision` / `timm` models, or module classes of the file that have them.

    ## Why is this bad?
    `nn.Module.__setattr__` registers a module or parameter assigned to an attribute, and nothing
    inside a plain list, tuple or dict. Those layers are not in `parameters()`, so an optimizer
    built from them never trains them (they keep their random init while the rest learns around
    them); `.to(device)` / `.cuda()` do not move them (a device mismatch at the first forward on a
    GPU); `state_dict()` does not save them (a reloaded model silently gets fresh random weights);
    `model.apply(init_fn)`, `train()` / `eval()` and `DataParallel` never reach them. Nothing
    fails on a CPU: the model trains, worse.

    ## Known problems
    Only what the file shows counts as a layer: a class imported from another file
    (`self.blocks = [Block(d) for _ in range(n)]` with `Block` from elsewhere) is not known to
    hold parameters and is not reported, nor are parameter-free modules (activations,
    `nn.Identity`, dropout, pooling). Stays quiet when anything in the file registers the
    container or its items later (`nn.ModuleList(self.x)`, `nn.Sequential(*layers)`,
    `add_module` / `register_module` / `setattr` in a loop over it, an item also assigned to an
    attribute of its own), when the code reaches the modules' parameters by hand
    (`self.heads[0].parameters()`, `for h in self.heads: h.to(device)`), when the class defines
    `__setattr__`, when the modules come trained (`pretrained=True`, `from_pretrained`): keeping
    a frozen network out of `state_dict()` that way is a known idiom, and in test code.

    ## Example
    ```python
    class Net(nn.Module):
        def __init__(self, d, n):
            super().__init__()
            self.blocks = [nn.Linear(d, d) for _ in range(n)]

        def forward(self, x):
            for block in self.blocks:
                x = torch.relu(block(x))
            return x
    ```

    ## Use instead
    ```python
    class Net(nn.Module):
        def __init__(self, d, n):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(d, d) for _ in range(n)])
    ```

    ## Fix safety
    The fix wraps the assigned value in `nn.ModuleList(...)` / `nn.ModuleDict(...)`
    (`nn.ParameterList` / `nn.ParameterDict` for `nn.Parameter`s), spelt with the file's own
    import of torch.nn. The change is the intended one: the layers join `parameters()`,
    `state_dict()` (a checkpoint saved before the fix lacks their keys: load it with
    `strict=False`), `.to()` and any init walk (`self.apply(...)`).

    It is offered only when every use of the attribute in the file is one a `ModuleList` serves
    like the list it replaces: the assignment itself, adding modules to it in `__init__` (or a
    helper `__init__` calls), iterating it (`for`, comprehensions, `enumerate`, `zip`,
    `reversed`), indexing it, `len()`, unpacking it with `*`, testing it for truth (and for a
    dict `[key]`, `in`, `.items()`, `.keys()`, `.values()`). No fix is offered when it is
    assigned again, concatenated, compared, added to after `__init__`, changed item by item,
    passed whole to other code or returned, read with `getattr`, when it holds something not
    known to be a module, when one object is repeated in it (IL007 first), when a dict's keys are
    not plain strings `nn.ModuleDict` takes, when `nn.Module` already has an attribute of that
    name, or when the local list it was built in is used again afterwards. The diagnostic then
    says why.

    ## References
    - PyTorch docs, `torch.nn.ModuleList`: "ModuleList can be indexed like a regular Python
      list, but modules it contains are properly registered, and will be visible by all Module
      methods"
    - TorchFix issue #31 (warn when a Module stores its layers in a Python list); pytorch/pytorch
      issues #59925, #72580, #135640
    """

    code = "IL006"
    name = "unregistered-submodules"
    message = (
        "{target} is a plain {kind} of {what}: nn.Module registers none of it, so {subject} not in parameters() "
        "(an optimizer never trains them), .to() does not move them and state_dict() does not save them"
    )
    fix_title = "Wrap it in nn.ModuleList / nn.ModuleDict"
    fixable = True
    invalid = (
        "import torch\nimport torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, d, n):\n"
        "        super().__init__()\n"
        "        self.blocks = [nn.Linear(d, d) for _ in range(n)]\n"
        "    def forward(self, x):\n"
        "        for block in self.blocks:\n"
        "            x = torch.relu(block(x))\n"
        "        return x\n",
        "import torch.nn as nn\n"
        "class Block(nn.Module):\n"
        "    def __init__(self, d):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(d, d)\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, d):\n"
        "        super().__init__()\n"
        "        self.gates = []\n"
        "        for _ in range(3):\n"
        "            self.gates.append(Block(d))\n"
        "        self.heads = {'cls': nn.Linear(d, 10), 'box': nn.Linear(d, 4)}\n",
    )
    valid = (
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, d, n):\n"
        "        super().__init__()\n"
        "        self.blocks = nn.ModuleList([nn.Linear(d, d) for _ in range(n)])\n"
        "        self.acts = [nn.ReLU(), nn.Dropout(0.1), nn.Identity()]\n",
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, d):\n"
        "        super().__init__()\n"
        "        layers = []\n"
        "        for _ in range(3):\n"
        "            layers.append(nn.Linear(d, d))\n"
        "        self.layers = layers\n"
        "        self.net = nn.Sequential(*layers)\n"
        "        self.fc1 = nn.Linear(d, d)\n"
        "        self.fc2 = nn.Linear(d, d)\n"
        "        self.pair = [self.fc1, self.fc2]\n",
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, d):\n"
        "        super().__init__()\n"
        "        self.blocks = [nn.Linear(d, d) for _ in range(2)]\n"
        "        for i, block in enumerate(self.blocks):\n"
        "            self.add_module(f'block{i}', block)\n",
    )

    needs = MODULE_CLASSES

    def check(self, facts: "FileFacts") -> Iterable[Finding]:
        from initlint.rules._il006 import check  # (libcst and the analysis: only for a file that is checked)

        return check(self, facts)
