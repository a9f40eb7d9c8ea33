"""IL006-IL009: each reason to stay quiet, shown against its twin that is reported; the tree's
plain containers and repeated objects; the IL006 fix checked by running the fixed code."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import List

import pytest

from conftest import FIXTURES, lint


def _codes(source: str, code: str, path: str = "model.py") -> List[int]:
    return [d.location.row for d in lint(source, path) if d.code == code]


def _pair(template: str, quiet: str, code: str) -> None:
    """The template without the quiet reason is reported; with it, it is not."""
    assert _codes(template.format(extra=""), code), f"{code} twin not reported:\n{template.format(extra='')}"
    found = _codes(template.format(extra=quiet), code)
    assert not found, f"{code} reported despite:\n{quiet}"


# ---- IL006 ------------------------------------------------------------------------------------
IL006 = (
    "import torch\nimport torch.nn as nn\n"
    "class Net(nn.Module):\n"
    "    def __init__(self, d):\n"
    "        super().__init__()\n"
    "        layers = []\n"
    "        for _ in range(3):\n"
    "            layers.append(nn.Linear(d, d))\n"
    "        self.layers = layers\n"
    "{extra}"
    "    def forward(self, x):\n"
    "        for layer in self.layers:\n"
    "            x = layer(x)\n"
    "        return x\n"
)


@pytest.mark.parametrize(
    "quiet",
    [
        "        self.layers = nn.ModuleList(self.layers)\n",
        "        self.body = nn.Sequential(*layers)\n",
        "        for i, layer in enumerate(self.layers):\n            self.add_module(str(i), layer)\n",
        "        for i, layer in enumerate(self.layers):\n            setattr(self, f'l{i}', layer)\n",
        "        [self.register_module(str(i), m) for i, m in enumerate(self.layers)]\n",
        "        self.opt = torch.optim.SGD([p for m in self.layers for p in m.parameters()], lr=0.1)\n",
        "    def __setattr__(self, name, value):\n        super().__setattr__(name, value)\n",
    ],
    ids=["wrapped", "sequential", "add_module-loop", "setattr-loop", "register_module", "by-hand", "own-setattr"],
)
def test_il006_quiet_reasons(quiet: str):
    _pair(IL006, quiet, "IL006")


def test_il006_wrap_in_another_method_is_seen_through_the_screen():
    later = "    def build(self):\n        self.layers = nn.ModuleList(self.layers)\n"
    _pair(IL006, later, "IL006")


@pytest.mark.parametrize(
    "value, reported",
    [
        ("[nn.Linear(4, 4), nn.ReLU()]", True),
        ("[nn.ReLU(), nn.Dropout(0.1), nn.Identity(), nn.MaxPool2d(2)]", False),
        ("[nn.PReLU()]", True),
        ("[nn.LayerNorm(4, elementwise_affine=False)]", False),
        ("[nn.BatchNorm1d(4)]", True),
        ("{'a': nn.Embedding(10, 4)}", True),
        ("(nn.Conv2d(3, 3, 1) for _ in range(2))", False),
        ("[Imported(4)]", False),
        ("[torchvision.models.resnet18(weights='DEFAULT')]", False),
        ("[torchvision.models.resnet18()]", True),
        ("[nn.Parameter(torch.zeros(4))]", True),
        ("[4, 8, 16]", False),
    ],
)
def test_il006_what_holds_parameters(value: str, reported: bool):
    source = (
        "import torch\nimport torch.nn as nn\nimport torchvision\nfrom elsewhere import Imported\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        f"        self.things = {value}\n"
    )
    assert bool(_codes(source, "IL006")) is reported


def test_il006_a_class_of_the_file_counts_by_its_own_tree():
    source = (
        "import torch.nn as nn\n"
        "class Act(nn.Module):\n"
        "    def forward(self, x):\n"
        "        return x.clamp(min=0)\n"
        "class Block(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(4, 4)\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.acts = [Act(), Act()]\n"
        "        self.blocks = [Block(), Block()]\n"
    )
    assert _codes(source, "IL006") == [13]


def test_il006_quiet_in_test_code_and_outside_modules():
    body = "        self.layers = [nn.Linear(4, 4)]\n"
    module = "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n" + body
    assert _codes(module, "IL006")
    assert not _codes(module, "IL006", "tests/test_model.py")
    assert not _codes("import torch.nn as nn\nclass Holder:\n    def __init__(self):\n" + body, "IL006")


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_il006_fixed_code_registers_every_layer(tmp_path: Path):
    """The `.fixed` snapshot, run: every layer the list held is now a parameter of the model, and
    the forward pass (iteration, indexing, unpacking, len) still works."""
    torch = pytest.importorskip("torch")
    before = _load(FIXTURES / "IL006_plain_containers.py", "il006_before")
    fixed = tmp_path / "il006_after.py"
    fixed.write_text((FIXTURES / "IL006_plain_containers.fixed").read_text())
    after = _load(fixed, "il006_after")
    torch.manual_seed(0)
    old = before.Decoder(8, 3)
    torch.manual_seed(0)
    new = after.Decoder(8, 3)
    old_count = sum(p.numel() for p in old.parameters())
    new_count = sum(p.numel() for p in new.parameters())
    # blocks 3x(8*8+8), heads 8*10+10 + 8*4+4, norms 2x16, gates 3x9, convs 3x(8*8*3+8), scales 3x8
    assert old_count == 0 and new_count == 3 * 72 + 90 + 36 + 32 + 27 + 3 * 200 + 24
    x = torch.randn(2, 5, 8)
    out_old, n_old = old(x)
    out_new, n_new = new(x)
    assert n_old == n_new == 3 and set(out_old) == set(out_new) == {"cls", "box"}
    assert torch.allclose(out_old["cls"], out_new["cls"])  # same draws, same function: only registration changed
    gates = after.AttentionGates()
    assert any(name.startswith("attention.") for name, _ in gates.named_parameters())


# ---- IL007 ------------------------------------------------------------------------------------
def test_il007_the_reported_stack_really_shares_its_weights():
    pytest.importorskip("torch")
    module = _load(FIXTURES / "IL007_repeated_objects.py", "il007_repeated")
    encoder = module.Encoder(4, 3)
    assert encoder.layers[0] is encoder.layers[2]
    assert len(list(encoder.heads.parameters())) == 2  # three heads, one weight and one bias
    assert module.STACK[0].weight is module.STACK[2].weight


@pytest.mark.parametrize(
    "code, reported",
    [
        ("nn.ModuleList([nn.Linear(4, 4)] * 3)", True),
        ("nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])", False),
        ("nn.ModuleList([nn.Linear(4, 4)] * 1)", False),
        ("nn.ModuleList([nn.Tanh()] * 3)", False),
        ("nn.Sequential(*[nn.Linear(4, 4), nn.ReLU()] * 2, nn.Linear(4, 1))", True),
        ("nn.ModuleList([Imported(4)] * 3)", True),
        ("nn.ModuleList([ImportedAct()] * 3)", False),
        ("nn.ModuleList([SwishImported(4)] * 3)", False),
    ],
)
def test_il007_products(code: str, reported: bool):
    source = "import torch.nn as nn\nfrom elsewhere import Imported, ImportedAct, SwishImported\n" f"net = {code}\n"
    assert bool(_codes(source, "IL007")) is reported


IL007_LOOP = (
    "import torch.nn as nn\n"
    "class Net(nn.Module):\n"
    "    def __init__(self, n):\n"
    "        super().__init__()\n"
    "        layer = nn.Linear(4, 4)\n"
    "        self.layers = nn.ModuleList()\n"
    "        for i in range(n):\n"
    "{extra}"
    "            self.layers.append(layer)\n"
)


@pytest.mark.parametrize(
    "quiet",
    ["            layer = nn.Linear(4, 4)\n", "            if i == 0:\n    ", "            layer = copy.deepcopy(layer)\n"],
    ids=["rebound", "guarded", "copied"],
)
def test_il007_loop_quiet_reasons(quiet: str):
    _pair(IL007_LOOP, quiet, "IL007")


def test_il007_named_sharing_is_deliberate():
    source = IL007_LOOP.format(extra="").replace("layer", "shared_layer").replace("self.shared_layers", "self.layers")
    assert not _codes(source, "IL007")


# ---- IL008 ------------------------------------------------------------------------------------
IL008 = (
    "import torch\nimport torch.nn as nn\n"
    "from elsewhere import glorot, init_weights\n"
    "class Layer(nn.Module):\n"
    "    def __init__(self, d):\n"
    "        super().__init__()\n"
    "        self.weight = nn.Parameter(torch.empty(d, d))\n"
    "{extra}"
    "    def forward(self, x):\n"
    "        return x @ self.weight\n"
)


@pytest.mark.parametrize(
    "quiet",
    [
        "        nn.init.xavier_uniform_(self.weight)\n",
        "        self.reset_parameters()\n    def reset_parameters(self):\n        self.weight.data.normal_(0, 0.02)\n",
        "    def reset_parameters(self):\n        nn.init.kaiming_uniform_(self.weight)\n",  # called from outside
        "        glorot(self.weight)\n",
        "        self.weight.data.copy_(torch.eye(d))\n",
        "        self.weight.data = torch.eye(d)\n",
        "        with torch.no_grad():\n            self.weight[:] = torch.eye(d)\n",
        "        self.weight.data.index_fill_(0, torch.tensor([0]), 1.0)\n",
        "        self.post_init()\n",
        "        init_weights(self)\n",
        "        self.load_state_dict(torch.load('w.pt'))\n",
        "        for p in [self.weight]:\n            nn.init.orthogonal_(p)\n",
        "        self.apply(init_weights)\n",
    ],
    ids=["init", "reset-called", "reset-not-called", "other-library", "copy", "data", "slice", "in-place",
         "inherited", "handed-out", "loaded", "list-loop", "apply-imported"],
)
def test_il008_quiet_reasons(quiet: str):
    _pair(IL008, quiet, "IL008")


@pytest.mark.parametrize(
    "elsewhere",
    [
        "net = Layer(4)\nfor p in net.parameters():\n    nn.init.normal_(p)\n",
        "class Outer(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.layer = Layer(4)\n"
        "        self.apply(self._init)\n    def _init(self, m):\n        if isinstance(m, Layer):\n            nn.init.normal_(m.weight)\n",
        "class Child(Layer):\n    def __init__(self, d):\n        super().__init__(d)\n        nn.init.normal_(self.weight)\n",
        "class Model(PreTrainedModel):\n    def __init__(self, config):\n        super().__init__(config)\n        self.layer = Layer(4)\n",
        "def init(model):\n    for p in model.parameters():\n        nn.init.normal_(p)\n",
    ],
    ids=["built-model", "containing-apply", "subclass", "pretrained-framework", "walk-elsewhere"],
)
def test_il008_initialised_elsewhere_in_the_file(elsewhere: str):
    source = IL008.format(extra="") + "from transformers import PreTrainedModel\n" + elsewhere
    assert _codes(IL008.format(extra=""), "IL008") and not _codes(source, "IL008")


@pytest.mark.parametrize(
    "created, reported",
    [
        ("torch.empty(d, d)", True),
        ("torch.Tensor(d, d)", True),
        ("torch.FloatTensor(d)", True),
        ("torch.empty(d, d).to('cpu')", True),
        ("torch.Tensor(table)", False),
        ("torch.Tensor(hidden_size)", True),
        ("torch.empty(d, d).normal_()", False),
        ("nn.init.trunc_normal_(torch.empty(d, d))", False),
        ("torch.zeros(d).new_empty(d)", True),
        ("torch.empty(d), requires_grad=False", False),
    ],
)
def test_il008_what_is_uninitialised(created: str, reported: bool):
    source = (
        "import torch\nimport torch.nn as nn\n"
        "class Layer(nn.Module):\n"
        "    def __init__(self, d, table, hidden_size):\n"
        "        super().__init__()\n"
        f"        self.p = nn.Parameter({created})\n"
    )
    assert bool(_codes(source, "IL008")) is reported


def test_il008_root_weight_is_reached_by_its_init():
    """A parameter named `weight` or `bias` at the root of a model (not a layer's) is written by
    `nn.init.*(self.weight)`: the model's slots are found by that name too."""
    source = IL008.format(extra="        nn.init.zeros_(self.weight)\n")
    assert not _codes(source, "IL008")


# ---- IL009 ------------------------------------------------------------------------------------
IL009 = (
    "import torch\nimport torch.nn as nn\n"
    "class Net(nn.Module):\n"
    "    def __init__(self, d):\n"
    "        super().__init__()\n"
    "        self.alpha = torch.zeros(d, requires_grad=True)\n"
    "{extra}"
    "    def forward(self, x):\n"
    "        return x * self.alpha\n"
)


@pytest.mark.parametrize(
    "quiet",
    [
        "        self.alpha = nn.Parameter(self.alpha)\n",
        "        self.register_parameter('alpha', nn.Parameter(self.alpha.detach()))\n",
        "        self.opt = torch.optim.Adam([self.alpha])\n",
        "    def update(self, lr):\n        self.alpha.data -= lr * self.alpha.grad\n",
        "    def parameters(self, recurse=True):\n        return [self.alpha]\n",
        "    def grads(self, loss):\n        return torch.autograd.grad(loss, self.alpha)\n",
    ],
    ids=["wrapped", "register_parameter", "optimizer", "by-hand", "own-parameters", "autograd"],
)
def test_il009_quiet_reasons(quiet: str):
    _pair(IL009, quiet, "IL009")


def test_il009_a_training_script_elsewhere_that_optimises_it():
    script = "net = Net(3)\nopt = torch.optim.SGD([net.alpha], lr=0.1)\n"
    assert not _codes(IL009.format(extra="") + script, "IL009")


# ---- the tree ---------------------------------------------------------------------------------
def _tree(source: str, cls: str):
    import libcst as cst

    from initlint.facts import collect
    from initlint.model.tree import TreeBuilder

    return TreeBuilder(collect(cst.parse_module(source), source=source)).tree(cls)


def test_tree_tells_one_object_repeated_from_modules_built_alike():
    tree = _tree(
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, n):\n"
        "        super().__init__()\n"
        "        self.same = nn.ModuleList([nn.Linear(4, 4)] * n)\n"
        "        self.alike = nn.ModuleList([nn.Linear(4, 4) for _ in range(n)])\n"
        "        self.plain = [nn.Linear(4, 4) for _ in range(n)]\n",
        "Net",
    )
    same, alike = tree.find("same.*"), tree.find("alike.*")
    assert same.repeated and same.shared_at is not None and same.kind == "layer"
    assert alike.repeated and alike.shared_at is None and alike.kind == "layer"
    assert "plain" not in tree.roots and tree.plain["plain"].children[0].kind == "layer"
    assert all(node.path.split(".")[0] != "plain" for node in tree.nodes())  # what walks see: not the plain list


def test_helpers_that_call_themselves_end(monkeypatch):
    """A module-level helper that calls itself on what it returns (torch's own
    `_recursive_pre_grad_passes`): reading what it returns read it again without end and ended in
    IL903 (RecursionError) from IL007, with the screen off (the whole file is read)."""
    from initlint import engine

    source = (
        "import torch.nn as nn\n\n\n"
        "def rewrite(gm, inputs):\n"
        "    with timed('rewrite'):\n"
        "        for name in names_of(gm):\n"
        "            sub = getattr(gm, name)\n"
        "            new = rewrite(sub, ())\n"
        "            setattr(gm, name, new)\n"
        "        return passes(gm, inputs)\n\n\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(2, 2)\n"
        "        self.body = rewrite(self.fc, ())\n"
    )
    for screened in (True, False):
        monkeypatch.setattr(engine, "SCREEN", screened)
        assert [d.code for d in lint(source, "passes.py")] == []
