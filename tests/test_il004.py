"""IL004 init-before-layers: the rule's own examples, its messages, its fixes' safety, and its path logic."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FIXTURES, SEED_CASES, lint
from initlint.diagnostic import Applicability
from initlint.rules import ALL_RULES, BY_CODE
from initlint.rules._init_order import follows
from initlint.rules.il004_init_before_layers import InitBeforeLayers

LENET_MESSAGE = "_initialize_weights() runs before conv1, conv2, fc1, fc2, fc3 are assigned: it initialises none of them"


def _il004(source: str):
    return [d for d in lint(source) if d.code == "IL004"]


@pytest.mark.parametrize("source", InitBeforeLayers.invalid)
def test_invalid_examples_are_flagged(source: str):
    assert _il004(source)


@pytest.mark.parametrize("source", InitBeforeLayers.valid)
def test_valid_examples_are_quiet(source: str):
    assert not _il004(source)


def test_registered_between_il003_and_il005():
    codes = [rule.code for rule in ALL_RULES]
    assert BY_CODE["IL004"] is InitBeforeLayers
    assert codes.index("IL003") + 1 == codes.index("IL004") and codes.index("IL004") + 1 == codes.index("IL005")


def test_docs_have_the_headings_and_fix_safety():
    docs = InitBeforeLayers.docs()
    for heading in ("## What it does", "## Why is this bad?", "## Known problems", "## Example", "## Use instead", "## Fix safety", "## References"):
        assert heading in docs
    assert InitBeforeLayers.fixable and InitBeforeLayers.fix_title


def test_lenet_seed_is_flagged_at_the_call_with_the_missed_layers():
    source = (FIXTURES / "IL004_lenet_seed004.py").read_text()
    (found,) = _il004(source)
    assert (found.location.row, found.location.column) == (15, 13)
    assert found.message == LENET_MESSAGE
    assert found.fix is not None and found.fix.applicability == Applicability.SAFE


def test_lenet_seed_case_file():
    path = SEED_CASES / "seed004_lenet.py"
    if not path.exists():
        pytest.skip("shared seed cases not present")
    source = path.read_text()
    (found,) = _il004(source)
    assert "# expect: flag" in source.splitlines()[found.location.row - 1]
    assert found.message == LENET_MESSAGE


def test_some_layers_before_the_call_say_misses():
    source = (
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(1, 4, 3)\n"
        "        self.apply(init)\n"
        "        self.fc1 = nn.Linear(4, 4)\n"
        "        self.fc2 = nn.Linear(4, 4)\n"
        "def init(m):\n"
        "    nn.init.zeros_(m.bias)\n"
    )
    (found,) = _il004(source)
    assert found.message == "apply(init) runs before fc1, fc2 are assigned: it misses them"


def test_no_fix_reason_is_in_the_message():
    source = (FIXTURES / "IL004_no_fix_reads_weight.py").read_text()
    found = _il004(source)
    assert len(found) == 4 and all(d.fix is None for d in found)
    assert "(no fix: it would have to move past line 13, which uses self.decoder.weight)" in found[0].message
    assert "calls self.parameters()" in found[2].message


def test_base_class_walk_is_reported_at_super_init():
    source = (FIXTURES / "IL004_base_subclass.py").read_text()
    found = _il004(source)
    rows = [d.location.row for d in found]
    lines = source.splitlines()
    assert [lines[r - 1].strip() for r in rows] == ["super().__init__()", "Base.__init__(self)"]
    assert "(run by Base.__init__)" in found[0].message and found[0].fix is None


@pytest.mark.parametrize(
    "fixture, applicability",
    [
        ("IL004_lenet_seed004.py", Applicability.SAFE),
        ("IL004_guarded_call.py", Applicability.SAFE),
        ("IL004_module_function.py", Applicability.SAFE),
        ("IL004_guarded_unsafe.py", Applicability.UNSAFE),
        ("IL004_inline_loop.py", Applicability.UNSAFE),
    ],
)
def test_fix_applicability(fixture: str, applicability: Applicability):
    (found,) = _il004((FIXTURES / fixture).read_text())
    assert found.fix is not None and found.fix.applicability == applicability


def test_guard_that_calls_something_is_unsafe():
    source = (
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        if self.wants_init():\n"
        "            self.apply(init)\n"
        "        self.fc = nn.Linear(4, 4)\n"
        "    def wants_init(self):\n"
        "        return True\n"
        "def init(m):\n"
        "    nn.init.zeros_(m.bias)\n"
    )
    (found,) = _il004(source)
    assert found.fix.applicability == Applicability.UNSAFE


@pytest.mark.parametrize(
    "between, reason",
    [
        ("nn.init.zeros_(self.fc.bias)", "uses self.fc.bias"),
        ("self.frozen = [p for p in self.fc.parameters()]", "calls self.fc.parameters()"),
        ("self.fc.load_state_dict(sd)", "calls self.fc.load_state_dict()"),
        ("register(self)", "passes self to register()"),
        ("self.backbone = resnet18(pretrained=True)", "assigns the pretrained backbone"),
        ("self.apply(other)", "runs another init"),
    ],
)
def test_statements_the_move_cannot_jump(between: str, reason: str):
    source = (
        "import torch.nn as nn\n"
        "from torchvision.models import resnet18\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, sd):\n"
        "        super().__init__()\n"
        "        self.apply(init)\n"
        "        self.fc = nn.Linear(4, 4)\n"
        f"        {between}\n"
        "        self.out = nn.Linear(4, 1)\n"
        "def init(m):\n"
        "    nn.init.zeros_(m.bias)\n"
    )
    found = [d for d in _il004(source) if d.location.row == 6]
    assert found and found[0].fix is None
    assert reason in found[0].message


def test_reads_of_what_the_init_sets_block_the_move():
    source = (
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.reset_parameters()\n"
        "        self.fc = nn.Linear(4, 4)\n"
        "        self.scale = self.std * 2\n"
        "        self.out = nn.Linear(4, 1)\n"
        "    def reset_parameters(self):\n"
        "        self.std = 0.02\n"
        "        for p in self.parameters():\n"
        "            nn.init.normal_(p, std=self.std)\n"
    )
    (found,) = _il004(source)
    assert found.fix is None and "reads self.std, which the init sets" in found.message


def test_else_branch_is_not_after_and_finally_is():
    root = (0, "def", "body")
    body, orelse = (7, "If", "body"), (7, "If", "orelse")
    assert not follows(((root, 1), (body, 0)), ((root, 1), (orelse, 0)))
    assert follows(((root, 1), (body, 0)), ((root, 2),))
    assert not follows(((root, 2),), ((root, 1), (body, 0)))
    tbody, final = (9, "Try", "body"), (9, "Try", "finalbody")
    assert follows(((root, 0), (tbody, 3)), ((root, 0), (final, 0)))
    assert not follows(((root, 0), ((9, "Try", "handler0"), 0)), ((root, 0), ((9, "Try", "orelse"), 0)))


def test_layers_built_by_a_helper_count_at_the_helper_call():
    source = (
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.apply(init)\n"
        "        self._build()\n"
        "    def _build(self):\n"
        "        self.fc = nn.Linear(4, 4)\n"
        "def init(m):\n"
        "    nn.init.zeros_(m.bias)\n"
    )
    (found,) = _il004(source)
    assert "before fc is assigned" in found.message
    assert found.fix is not None and found.fix.applicability == Applicability.SAFE


def test_every_fixture_variant_is_present():
    names = {p.stem for p in FIXTURES.glob("IL004_*.py")}
    for expected in (
        "IL004_lenet_seed004",
        "IL004_guarded_call",
        "IL004_apply",
        "IL004_reset_parameters_by_body",
        "IL004_base_subclass",
        "IL004_module_function",
        "IL004_ok_call_after_last_layer",
        "IL004_ok_nothing_after",
        "IL004_ok_pretrained_after",
        "IL004_ok_load_state_dict_after",
    ):
        assert expected in names
    for path in FIXTURES.glob("IL004_*.py"):
        assert Path(path).with_suffix(".expected").exists()


def test_a_walk_that_inits_through_a_per_module_helper_counts():
    source = (
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.init_weights()\n"
        "        self.fc = nn.Linear(4, 4)\n"
        "    def init_weights(self):\n"
        "        for m in self.modules():\n"
        "            self._init_module(m)\n"
        "    def _init_module(self, m):\n"
        "        if isinstance(m, nn.Linear):\n"
        "            nn.init.xavier_uniform_(m.weight)\n"
    )
    (found,) = _il004(source)
    assert found.message == "init_weights() runs before fc is assigned: it does not initialise it"


def test_freezing_is_not_an_init():
    source = (
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, backbone):\n"
        "        super().__init__()\n"
        "        self.backbone = backbone\n"
        "        self.freeze()\n"
        "        self.head = nn.Linear(4, 4)\n"
        "    def freeze(self):\n"
        "        for p in self.parameters():\n"
        "            p.requires_grad_(False)\n"
    )
    assert not _il004(source)


def test_assigning_a_parameter_named_weight_does_not_block_the_move():
    source = (
        "import torch\n"
        "import torch.nn as nn\n"
        "class Dense(nn.Module):\n"
        "    def __init__(self, n_in, n_out):\n"
        "        super().__init__()\n"
        "        self.reset_parameters()\n"
        "        self.weight = nn.Parameter(torch.empty(n_out, n_in))\n"
        "        self.bias = nn.Parameter(torch.empty(n_out))\n"
        "    def reset_parameters(self):\n"
        "        for p in self.parameters():\n"
        "            nn.init.uniform_(p, -0.1, 0.1)\n"
    )
    (found,) = _il004(source)
    assert found.message == "reset_parameters() runs before weight, bias are assigned: it initialises none of them"
    assert found.fix is not None and found.fix.applicability == Applicability.SAFE
