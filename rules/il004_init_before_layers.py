"""IL004 init-before-layers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from initlint import torch_api
from initlint.rule import Finding, Rule
from initlint.screen import Needs

if TYPE_CHECKING:  # pragma: no cover
    from initlint.facts import FileFacts


class InitBeforeLayers(Rule):
    """
    ## What it does
    Flags an initialisation that walks the model's own tree (`self.apply(fn)`, or a method or
    function that loops over `self.modules()` / `self.parameters()` and changes what it finds)
    when `__init__` runs it before assigning the layers it is meant to initialise.

    A method is judged by its body, not by its name: `self.reset_parameters()`,
    `self._initialize_weights()` or `init(self)` (a function of the file) all count when they walk
    the tree, following up to two levels of calls. A base class whose `__init__` runs such a walk is
    flagged at the subclass's `super().__init__()` call when the subclass assigns layers after it:
    that is the line that starts the walk too early for the subclass, and the base class on its
    own may be correct.

    What counts as a layer: a `torch.nn` module with parameters (not `Dropout`, pooling or
    activations), `nn.Sequential` / `ModuleList` / `ModuleDict`, a module class of the same file,
    a helper of the file that returns one (`self._make_layer(...)`), and an `nn.Parameter` built
    without values (`torch.empty(...)`); also when registered with `setattr`, `add_module`,
    `register_parameter` or `.append`. A layer is not missed when a later statement initialises it
    by name (`self.head.apply(fn)`, `nn.init.zeros_(self.fc.bias)`) or a later walk covers it.

    ## Why is this bad?
    `self.modules()` only yields the layers that exist when it runs. Called first, the walk sees
    the model alone and initialises nothing; every layer keeps PyTorch's default init and nothing
    ever fails, so the chosen scheme (Kaiming for ReLU convolutions, `normal(0, 0.01)` heads, zero
    biases) silently never happens. A gradient check cannot see it: the weights are healthy, just
    not the ones the author chose.

    ## Known problems
    Only `__init__` bodies are read, with the helpers they call in the same file; layers created
    by code in other files are not seen. Modules built with `pretrained=`, `weights=` (not None),
    `from_pretrained(...)` or loaded with `load_state_dict(...)` afterwards are taken to be
    pretrained on purpose, even when the flag is a variable that may be False. A parameter given
    values at creation (`nn.Parameter(torch.zeros(d))`) is taken to carry its own init. A walk
    only counts when it changes values: loops that only count or freeze parameters
    (`requires_grad_(False)`) are not inits. A base class `__init__` that runs its init only
    under a flag is flagged even when the subclass passes the flag as False.

    ## Example
    ```python
    class LeNet(nn.Module):
        def __init__(self, init_weights=True):
            super().__init__()
            if init_weights:
                self._initialize_weights()  # sees no layers yet
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)

        def _initialize_weights(self):
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
    ```

    ## Use instead
    ```python
    class LeNet(nn.Module):
        def __init__(self, init_weights=True):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            if init_weights:
                self._initialize_weights()
    ```

    ## Fix safety
    The fix moves the call (with its `if` guard and the comment lines above it) to just after the
    statement that assigns the last layer it misses, at the indentation of `__init__`'s body.
    The move is the intended change in behaviour: the init now reaches the layers (and draws its
    random numbers after theirs, so the weights of a seeded run differ from before).

    It is **safe** when the moved code is a plain call statement, or an `if` whose test only reads
    names that the statements it moves past do not assign, so that the guard decides the same way.
    It is **unsafe** (applied only with `--unsafe-fixes`) when the test calls something or reads a
    name those statements assign, when the call's arguments read such a name, or when the walk is a
    `for` loop written inline in `__init__`.

    No fix is offered when moving could change more than which layers the init reaches: when the
    statements it would move past use a layer's `.weight` / `.bias` / `.data` (weight tying, copies,
    explicit per-layer inits the walk would overwrite), call `parameters()`, `modules()`,
    `state_dict()`, `load_state_dict()`, `apply()` or `deepcopy`, read an attribute the init sets,
    set one it reads, pass the model to code outside the file, return early, assign a pretrained
    module, or run another init; when the call is not a statement of its own directly in
    `__init__` (inside a loop, a `with`, an `if` with other statements or an `else`); and when the
    walk runs inside a base class's `__init__`. The diagnostic then says why.

    ## References
    - PyTorch docs, `torch.nn.Module.apply` and `torch.nn.Module.modules`
    - torchvision's VGG and ResNet, which call their init loop at the end of `__init__`
    """

    code = "IL004"
    name = "init-before-layers"
    message = "{init} runs before {layers} {verb} assigned: {consequence}"
    fix_title = "Move the init call to the end of __init__, after the last layer"
    fixable = True
    invalid = (
        "import torch.nn as nn\n"
        "class LeNet(nn.Module):\n"
        "    def __init__(self, init_weights=True):\n"
        "        super().__init__()\n"
        "        if init_weights:\n"
        "            self._initialize_weights()\n"
        "        self.conv1 = nn.Conv2d(1, 6, 5)\n"
        "        self.fc1 = nn.Linear(400, 120)\n"
        "    def _initialize_weights(self):\n"
        "        for m in self.modules():\n"
        "            if isinstance(m, nn.Linear):\n"
        "                nn.init.normal_(m.weight, 0, 0.01)\n",
        "from torch import nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.apply(self._init_weights)\n"
        "        self.fc = nn.Linear(4, 8)\n"
        "    def _init_weights(self, m):\n"
        "        if isinstance(m, nn.Linear):\n"
        "            nn.init.zeros_(m.bias)\n",
        "import torch\n"
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.reset_parameters()\n"
        "        self.w = nn.Parameter(torch.empty(4, 4))\n"
        "    def reset_parameters(self):\n"
        "        for p in self.parameters():\n"
        "            nn.init.uniform_(p, -0.1, 0.1)\n",
    )
    valid = (
        "import torch.nn as nn\n"
        "class LeNet(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv1 = nn.Conv2d(1, 6, 5)\n"
        "        self.fc1 = nn.Linear(400, 120)\n"
        "        self._initialize_weights()\n"
        "    def _initialize_weights(self):\n"
        "        for m in self.modules():\n"
        "            nn.init.zeros_(m.bias)\n",
        "import torch.nn as nn\n"
        "import torchvision\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.head = nn.Linear(512, 10)\n"
        "        self.apply(init_fn)\n"
        "        self.backbone = torchvision.models.resnet18(weights='DEFAULT')\n",
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(4, 8)\n"
        "        self.count_parameters()\n"
        "        self.out = nn.Linear(8, 1)\n"
        "    def count_parameters(self):\n"
        "        return sum(p.numel() for p in self.parameters())\n",
    )

    # A walk is a site where `__init__` runs it: in `__init__`, or two calls down from it.
    needs = Needs(
        paired=torch_api.WALK_WORDS, pair_with=frozenset({"__init__"}), pair_calls=2, follow=frozenset({"users", "subclasses"})
    )

    def check(self, facts: "FileFacts") -> Iterable[Finding]:
        from initlint.rules._il004 import check  # (libcst and the analysis: only for a file that is checked)

        return check(self, facts)
