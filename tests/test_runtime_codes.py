"""IL105-IL107 in-process, the probe on complex and zero-size parameters, inputs kept as given, and the
`assert_learnable` warning. (The bridge from static findings to these codes: test_runtime_recipes.py.)"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from initlint.runtime import assert_learnable, check
from initlint.runtime.shapes import is_mask, make, randomize
from initlint.runtime.spec import InputSpec, parse_shape

MODELS = Path(__file__).resolve().parent / "runtime_models"


def _load(name: str):
    """A test model file as a module, under a name of its own."""
    spec = importlib.util.spec_from_file_location(f"_runtime_codes_{name}", MODELS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


Block = _load("recipes").Block  # Linear(8, 8) and a ReLU


# --- IL105 unregistered-tensor ---------------------------------------------------------------------------


def test_layers_in_a_plain_list_are_one_il105_finding():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = [Block(), Block()]
            self.head = nn.Linear(8, 2)

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return self.head(x)

    report = check(Net, torch.randn(4, 8))
    (found,) = report.by_code("IL105")
    assert found.parameter == "layers"
    assert "4 tensors (layers[0].fc.bias, layers[0].fc.weight, layers[1].fc.bias, ...; 144 values)" in found.evidence


def test_global_tensor_that_reaches_the_loss_is_named_and_its_gradient_restored():
    global SCALE
    SCALE = torch.ones(2, requires_grad=True)

    class UsesGlobal(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            return self.fc(x) * SCALE

    (found,) = check(UsesGlobal, torch.randn(4, 3)).by_code("IL105")
    assert found.parameter == "SCALE" and "a global of" in found.evidence
    assert SCALE.grad is None  # the probe's backward passes left no trace on the caller's tensor


def test_a_leaf_made_afresh_in_forward_is_not_unregistered():
    class Fresh(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            return self.fc(x) * torch.ones(2, requires_grad=True)

    assert not check(Fresh, torch.randn(4, 3)).by_code("IL105")


def test_registered_parameters_and_inputs_are_never_il105():
    x = torch.randn(4, 8, requires_grad=True)
    assert check(Block, x, randomize_inputs=False).ok


# --- IL106 shared-parameter ---------------------------------------------------------------------------------


def test_list_multiplication_in_a_container_is_il106():
    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.Sequential(*([Block()] * 3))
            self.acts = nn.ModuleList([nn.ReLU()] * 3)  # no parameters: sharing is harmless

        def forward(self, x):
            return self.blocks(x)

    (found,) = check(Stack, torch.randn(4, 8)).by_code("IL106")
    assert found.parameter == "blocks.0"
    assert found.evidence.startswith("blocks.0, blocks.1, blocks.2 are one Block object: its 2 parameter(s) (72 values)")


def test_sharing_by_name_is_not_il106():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(10, 8)
            self.head = nn.Linear(8, 10, bias=False)
            self.head.weight = self.embed.weight
            self.enc = Block()
            self.dec = self.enc

        def forward(self, ids):
            return self.head(self.dec(self.enc(self.embed(ids))))

    assert not check(Tied, torch.randint(0, 10, (4, 5))).by_code("IL106")


# --- IL107 uninitialised-parameter ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_weight, allocator",
    [
        (lambda: torch.empty(4, 8), "torch.empty"),
        (lambda: torch.Tensor(4, 8), "torch.Tensor(4, 8)"),
        (lambda: torch.FloatTensor(4, 8), "torch.FloatTensor(4, 8)"),
        (lambda: torch.zeros(1).new_empty(4, 8), "Tensor.new_empty"),
        (lambda: torch.empty(4, 8).mul_(0.01), "torch.empty"),  # scaled garbage is garbage
    ],
)
def test_untouched_allocation_is_il107(make_weight, allocator):
    class Raw(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(make_weight())

        def forward(self, x):
            return x @ self.weight.t()

    (found,) = check(Raw, torch.randn(2, 8)).by_code("IL107")
    assert found.parameter == "weight" and f"untouched memory of {allocator}" in found.evidence


@pytest.mark.parametrize(
    "write",
    [
        lambda w: nn.init.kaiming_uniform_(w),
        lambda w: nn.init.eye_(w),  # writes through `out=`
        lambda w: w.data.copy_(torch.randn(4, 8)),
        lambda w: torch.randn(4, 8, out=w.data),
    ],
)
def test_any_write_clears_il107(write):
    class Written(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.empty(4, 8))
            with torch.no_grad():
                write(self.weight)

        def forward(self, x):
            return x @ self.weight.t()

    assert not check(Written, torch.randn(2, 8)).by_code("IL107")


def test_il107_needs_the_construction_and_patches_are_removed():
    class Raw(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.Tensor(3, 3))

        def forward(self, x):
            return x @ self.weight

    instance = Raw()  # built outside initlint's watch
    with torch.no_grad():
        instance.weight.normal_()
    assert not check(instance, torch.randn(2, 3)).by_code("IL107")
    assert torch.empty.__name__ == "empty" and not hasattr(torch.empty, "__wrapped__")
    assert "__new__" not in torch.Tensor.__dict__ and type(torch.FloatTensor).__name__ == "tensortype"


def test_default_layers_are_never_il107():
    def layers():
        return nn.Sequential(nn.Linear(8, 8), nn.LayerNorm(8), nn.Unflatten(1, (8, 1)), nn.Conv1d(8, 4, 1), nn.Flatten(), nn.LazyLinear(2))

    report = check(layers, torch.randn(2, 8))
    assert not report.by_code("IL107"), report.format()


# --- complex and zero-size parameters (issue 17) -----------------------------------------------------------------


def test_complex_parameters_are_probed_not_blamed():
    class Spectral(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(8, 6, dtype=torch.complex64))
            self.fc = nn.Linear(6, 2)

        def forward(self, x):
            return self.fc((x.to(torch.complex64) @ self.w).abs())

    report = check(Spectral, torch.randn(4, 8))
    assert report.ok, report.format()
    assert report.stat("w").units == 8


def test_complex_symmetry_is_still_found():
    class ConstComplex(nn.Module):
        """Hidden units (columns of w1) tied on both sides: equal incoming columns, equal rows of w2."""

        def __init__(self):
            super().__init__()
            self.w1 = nn.Parameter(torch.full((4, 3), 1 + 1j, dtype=torch.complex64))
            self.w2 = nn.Parameter(torch.full((3, 2), 0.5 - 1j, dtype=torch.complex64))

        def forward(self, x):
            return x.to(torch.complex64) @ self.w1 @ self.w2  # a complex output: both parts get a cotangent

    report = check(ConstComplex, torch.randn(5, 4))
    (found,) = report.by_code("IL101")
    assert (found.parameter, found.axis, found.units, found.distinct) == ("w1", 1, 3, 1)


def test_zero_size_parameters_are_skipped_with_a_note():
    class WithEmpty(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)
            self.prompt = nn.Parameter(torch.zeros(0, 4))

        def forward(self, x):
            return self.fc(torch.cat([self.prompt, x]))

    report = check(WithEmpty, torch.randn(3, 4))
    assert report.ok, report.format()
    assert "skipped 1 zero-size parameter(s): prompt" in report.notes


# --- inputs: kept as given where they must be ---------------------------------------------------------------------


def test_masks_and_integers_keep_their_values_and_float_data_is_redrawn():
    generator = torch.Generator().manual_seed(0)
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    ids = torch.tensor([[3, 1, 2]])
    flags = torch.tensor([[True, False, True]])
    data = torch.zeros(1, 3)
    out = randomize([mask, ids, flags, data, "text"], torch.device("cpu"), generator)
    assert torch.equal(out[0], mask) and torch.equal(out[1], ids) and torch.equal(out[2], flags) and out[4] == "text"
    assert not torch.equal(out[3], data) and out[3].shape == data.shape
    kept = randomize([data], torch.device("cpu"), generator, keep=(0,))
    assert torch.equal(kept[0], data)


def test_is_mask():
    assert is_mask(torch.tensor([0.0, 1.0])) and is_mask(torch.ones(3))
    assert not is_mask(torch.zeros(3)) and not is_mask(torch.tensor([0.5, 1.0]))


def test_generated_masks_are_ones_and_ids_are_below_the_vocabulary():
    model = nn.Embedding(7, 2)
    ids, mask, flags = make([parse_shape("2,5:ids"), parse_shape("2,5:mask"), InputSpec((2, 5), "bool")], model, torch.device("cpu"), torch.Generator())
    assert ids.dtype == torch.int64 and int(ids.max()) < 7
    assert torch.equal(mask, torch.ones(2, 5)) and bool(flags.all())


def test_a_zero_one_mask_given_as_example_is_not_turned_into_noise():
    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(6, 4)
            self.head = nn.Linear(4, 2)

        def forward(self, x, mask):
            return self.head(torch.relu(self.fc(x)) * mask)

    mask = torch.tensor([[1.0, 1.0, 0.0, 1.0]]).expand(3, 4)
    report = check(Masked, torch.randn(3, 6), mask)
    assert report.ok, report.format()


def test_forward_of_two_inputs_is_inferred_from_the_layers_they_feed():
    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.text = nn.Embedding(30, 8)
            self.image = nn.Conv2d(3, 8, 3)
            self.head = nn.Linear(16, 2)

        def forward(self, tokens, img):
            t = self.text(tokens).mean(1)
            i = self.image(img).mean((2, 3))
            return self.head(torch.cat([t, i], 1))

    report = check(TwoInputs)
    assert report.input_shapes == ("4x16 int64", "4x3x32x32 float32") and report.ok


def test_lazy_first_layer_is_given_any_feature_size():
    assert check(lambda: nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(1))).input_shapes == ("4x16 float32",)


# --- assert_learnable ----------------------------------------------------------------------------------------------


def test_assert_learnable_with_an_instance_warns_that_il103_is_skipped():
    with pytest.warns(UserWarning, match="IL103 .* not checked") as caught:
        assert_learnable(Block(), torch.randn(2, 8))
    assert caught[0].filename == __file__  # points at the caller's line, not initlint's


def test_assert_learnable_with_a_factory_checks_il103_without_warning():
    lenet = _load("lenet")  # seed 004: _initialize_weights() runs before the layers exist
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AssertionError, match="IL103 init-touched-nothing"):
            assert_learnable(lambda: lenet.LeNet(1), torch.randn(2, 1, 32, 32))
        assert assert_learnable(Block, torch.randn(2, 8)).init_recorded


def test_each_step_sees_fresh_random_inputs_and_kept_inputs_stay():
    """A constant ReLU layer lives or dies with its few samples: one batch of 4 misses every unit 1 time in 16."""
    seen = []

    class Recording(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            seen.append(x.clone())
            return self.fc(x)

    check(Recording, input_shapes=["4,3"])
    assert len(seen) == 3 and not torch.equal(seen[0], seen[1]) and not torch.equal(seen[1], seen[2])
    seen.clear()
    given = torch.randn(4, 3)
    check(Recording, given, randomize_inputs=False)
    assert all(torch.equal(x, given) for x in seen)


def test_the_canary_leaves_torchscript_and_the_torch_namespace_alone():
    """A function mode sees torch.empty: nothing in `torch` is replaced for TorchScript to trip on."""
    from initlint.runtime.canary import Canary

    with Canary(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script is deprecated, still used
        empty = torch.empty
        scripted = torch.jit.script(Block())
        assert scripted(torch.randn(2, 8)).shape == (2, 8)
    assert empty is torch.empty and not hasattr(empty, "__wrapped__")


def test_an_argument_feeds_the_innermost_layer_that_takes_it():
    class Nested(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(16, 32)
            self.c = nn.Linear(32, 8)
            self.b = nn.Conv2d(3, 4, 3)

        def forward(self, x, image):
            h = torch.tanh(self.c(torch.tanh(self.a(x))))
            return h, self.b(image)

    assert check(Nested).input_shapes == ("4x16 float32", "4x3x32x32 float32")


def test_a_large_allocation_is_judged_on_its_marks():
    """Above 65,536 entries only 4,096 spread marks carry the canary: an init clears them all, a few
    stray writes leave the matrix reported (it is still almost all garbage)."""

    class Large(nn.Module):
        def __init__(self):
            super().__init__()
            self.untouched = nn.Parameter(torch.empty(512, 512))
            self.touched = nn.Parameter(torch.empty(512, 512))
            self.initialised = nn.Parameter(torch.empty(512, 512))
            with torch.no_grad():
                self.touched[0, 1] = 1.0  # between two marks
            nn.init.xavier_uniform_(self.initialised)

        def forward(self, x):
            return x @ self.untouched + x @ self.touched + x @ self.initialised

    found = {f.parameter for f in check(Large, input_shapes=["2,512"]).by_code("IL107")}
    assert found == {"untouched", "touched"}
