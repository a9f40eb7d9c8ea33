"""The runtime probe in-process: every case of issue 5's "Cases it must get right", and the API."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from initlint.runtime import Report, assert_learnable, check

MODELS = Path(__file__).resolve().parent / "runtime_models"


def load(name: str):
    """A test model file as a module (under a private name: never collides with other tests)."""
    spec = importlib.util.spec_from_file_location(f"_runtime_models_{name}", MODELS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models run faster on one thread, and OpenMP's barriers crawl on a loaded 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def mnist():
    return load("mnist")


def finding(report: Report, code: str, parameter: str):
    return next((f for f in report.findings if f.code == code and f.parameter == parameter), None)


# --- seed 001: the MNIST MLP -------------------------------------------------------------


def test_all_zero_is_dead_and_symmetric(mnist):
    report = check(mnist.net_all_zero)
    dead = {f.parameter for f in report.by_code("IL102")}
    assert {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "out.weight"} <= dead
    assert "out.bias" not in dead  # the output bias gets the cotangent itself
    fc1 = finding(report, "IL101", "fc1.weight")
    assert (fc1.units, fc1.distinct, fc1.axis) == (128, 1, 0)
    assert finding(report, "IL101", "out.weight") is None  # its bias entries differ: units differ


def test_all_ones_is_symmetric_not_dead(mnist):
    report = check(mnist.net_ones)
    assert report.codes == ("IL101", "IL101")
    fc1, fc2 = report.findings
    assert (fc1.parameter, fc1.units, fc1.distinct) == ("fc1.weight", 128, 1)
    assert (fc2.parameter, fc2.units, fc2.distinct) == ("fc2.weight", 64, 1)
    assert fc1.evidence == "fc1.weight: 128 units, 1 distinct (identical weights and gradients over 3 steps)"


def test_zeroed_first_layer_is_dead(mnist):
    report = check(mnist.net_zero_layer)
    dead = {f.parameter for f in report.by_code("IL102")}
    assert {"fc1.weight", "fc1.bias"} <= dead
    assert "out.weight" not in dead and "fc2.bias" not in dead


# --- healthy counterparts ------------------------------------------------------------------


def test_default_mnist_is_quiet(mnist):
    assert check(mnist.net_baseline).ok


def test_zero_output_layer_is_quiet():
    """Upstream gradients are zero at step 0 and non-zero from step 1: not dead."""
    report = check(load("healthy").ZeroHead)
    assert report.ok, report.format()
    stat = report.stat("fc1.weight")
    assert stat.first_nonzero == 1
    assert "zero at step 0, non-zero from step 1" in stat.describe()


def test_hidden_weight_alone_zero_is_quiet():
    report = check(load("healthy").ZeroHiddenWeight)
    assert report.ok, report.format()


def test_lora_pair_with_zero_b_is_quiet():
    report = check(load("healthy").LoRALinear)
    assert report.ok, report.format()
    assert report.stat("lora_A").first_nonzero == 1  # B is zero at step 0


# --- seed 002 and seed 000 -----------------------------------------------------------------


def test_constinit_first_layer_has_identical_rows():
    constinit = load("constinit")
    report = check(lambda: constinit.ConstInit(1.0, 0.5, bias=True))
    assert report.codes == ("IL101",)
    (found,) = report.findings
    assert (found.parameter, found.axis, found.units, found.distinct) == ("linear1.weight", 0, 2, 1)


def test_raw_full_matrices_are_symmetric_along_dim_1_and_echo_is_silent():
    report = check(load("rawnet").ConstantTwoLayer, torch.randn(8, 3))
    assert report.codes == ("IL101",)
    (found,) = report.findings
    assert (found.parameter, found.axis, found.units, found.distinct) == ("W1", 1, 2, 1)
    assert "along dim 1" in found.evidence
    assert report.echoes == ("W2 dim 0: echoes W1 dim 1",)


def test_raw_random_matrices_are_quiet():
    assert check(load("rawnet").RandomTwoLayer, torch.randn(8, 3)).ok


# --- seed 004: IL103 ------------------------------------------------------------------------


def test_lenet_init_touches_nothing():
    lenet = load("lenet")
    report = check(lenet.LeNet, kwargs={"in_channels": 1})
    assert report.codes == ("IL103",)
    (routine,) = report.init_routines
    assert routine.name == "LeNet._initialize_weights"
    assert (routine.walks, routine.walked_parameters, routine.init_calls, routine.reached, routine.total) == (1, 0, 0, 0, 10)
    assert routine.line == 15  # the call in __init__: the site the static IL004 flags
    assert "reached 0 of 10 parameters" in report.findings[0].evidence


def test_fixed_lenet_touches_every_layer():
    report = check(load("lenet_fixed").LeNet)
    assert report.ok, report.format()
    (routine,) = report.init_routines
    assert routine.touched_all and routine.reached == 10 and routine.init_calls == 10


def test_apply_before_layers_is_caught():
    class Early(nn.Module):
        def __init__(self):
            super().__init__()
            self.apply(self._init)
            self.fc = nn.Linear(4, 3)

        def _init(self, m):
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)

        def forward(self, x):
            return self.fc(x)

    report = check(Early)
    assert report.codes == ("IL103",)
    assert "self.apply" in report.findings[0].evidence


def test_early_walk_that_is_not_an_init_is_quiet():
    class CountsEarly(nn.Module):
        def __init__(self):
            super().__init__()
            self._freeze()  # walks parameters() before the layers, but is no initialiser
            self.fc = nn.Linear(4, 3)

        def _freeze(self):
            for p in self.parameters():
                p.requires_grad_(False)

        def forward(self, x):
            return self.fc(x)

    report = check(CountsEarly)
    assert report.ok and report.init_routines[0].walked_parameters == 0


def test_init_of_a_complete_submodule_that_matches_nothing_is_quiet():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
            self._init(self.encoder)  # the encoder is complete; its layers are not Conv2d
            self.head = nn.Linear(4, 2)

        def _init(self, module):
            for m in module.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight)

        def forward(self, x):
            return self.head(self.encoder(x))

    report = check(Net)
    assert report.ok, report.format()
    assert report.init_routines[0].reached == 0


def test_init_of_replaced_parameter_is_caught():
    class Replaced(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self._init()
            self.fc = nn.Linear(4, 3)  # the initialised layer is thrown away

        def _init(self):
            nn.init.orthogonal_(self.fc.weight)

        def forward(self, x):
            return self.fc(x)

    assert check(Replaced).codes == ("IL103",)


def test_defaults_and_helpers_are_not_init_routines():
    """nn.Linear's own reset_parameters is not the user's init; an init that ran after the layers is fine."""
    report = check(load("healthy").MNISTNet)
    assert report.init_routines == ()
    report = check(load("healthy").ZeroHead)
    assert [r.reached for r in report.init_routines] == [2]


# --- the API's guarantees -------------------------------------------------------------------


def test_user_module_is_unchanged(mnist):
    model = mnist.net_ones
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    check(model)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not model.training  # its mode too
    assert all(p.grad is None for p in model.parameters())


def test_patches_are_removed():
    original = (torch.Tensor.fill_, torch.Tensor.data, nn.Module.modules, F.dropout, nn.init.normal_)
    check(load("lenet_fixed").LeNet)
    assert "fill_" not in torch.Tensor.__dict__ and "data" not in torch.Tensor.__dict__
    assert (torch.Tensor.fill_, torch.Tensor.data, nn.Module.modules, F.dropout) == original[:4]
    nn.init.normal_(torch.empty(3))  # the permanent nn.init wrapper still works outside a build


def test_dropout_is_switched_off_and_reported():
    report = check(load("healthy").WithDropout)
    assert report.ok
    assert any("dropout switched off" in n and "drop" in n for n in report.notes)
    assert any("functional dropout" in n for n in report.notes)


def test_dict_and_tuple_outputs_get_cotangents():
    assert check(load("healthy").DictOutput).ok


def test_dataclass_output_gets_cotangents():
    import dataclasses

    @dataclasses.dataclass
    class Output:
        logits: torch.Tensor
        hidden: tuple

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(6, 8)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            h = torch.relu(self.body(x))
            return Output(self.head(h), (h,))

    report = check(Net)
    assert report.ok, report.format()


def test_output_without_gradient_is_a_clear_error():
    from initlint.runtime.probe import ProbeError

    class NoGrad(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            return self.fc(x).argmax(-1)

    with pytest.raises(ProbeError, match="no floating tensor"):
        check(NoGrad, torch.randn(4, 3))


def test_factory_returning_module_and_inputs():
    report = check(load("healthy").make_with_inputs)
    assert report.ok and report.input_shapes == ("2x784 float32",)


def test_degenerate_example_inputs_are_redrawn():
    """All-ones examples would make every hidden unit of a healthy layer get identical gradients upstream."""
    healthy = load("healthy")
    assert check(healthy.MNISTNet(), torch.ones(4, 784)).ok


@pytest.mark.parametrize(
    "model, shape",
    [
        (lambda: nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 30 * 30, 10)), "4x3x32x32 float32"),
        (lambda: nn.Sequential(nn.Conv2d(1, 4, 5), nn.Flatten(), nn.Linear(4 * 24 * 24, 2)), "4x1x28x28 float32"),
        (lambda: nn.Sequential(nn.Embedding(50, 8), nn.Flatten(), nn.Linear(8 * 16, 3)), "4x16 int64"),
        (lambda: nn.Conv1d(2, 4, 3), "4x2x32 float32"),
    ],
)
def test_input_shape_inference(model, shape):
    assert check(model).input_shapes == (shape,)


def test_rnn_inference_respects_batch_first():
    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(6, 8, batch_first=True)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            return self.head(self.rnn(x)[0])

    report = check(Tagger)
    assert report.input_shapes == ("4x16x6 float32",) and report.ok


def test_inference_failure_says_what_to_pass():
    from initlint.runtime.shapes import InputError

    with pytest.raises(InputError, match="pass --input-shape"):
        check(load("rawnet").ConstantTwoLayer)


def test_explicit_shapes_and_token_dtype():
    model = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2))
    assert check(model, input_shapes=["5,3:long"]).input_shapes == ("5x3 int64",)


def test_too_few_steps_is_refused(mnist):
    with pytest.raises(ValueError, match="at least 3"):
        check(mnist.net_baseline, steps=1)


def test_assert_learnable(mnist):
    with pytest.warns(UserWarning, match="not checked"):  # instances: IL103 and IL107 cannot be watched
        assert assert_learnable(mnist.net_baseline).ok
    with pytest.raises(AssertionError) as caught, pytest.warns(UserWarning):
        assert_learnable(mnist.net_ones)
    text = str(caught.value)
    assert "IL101 symmetric-units: fc1.weight: 128 units, 1 distinct" in text


def test_report_round_trips_through_json(mnist):
    import json

    report = check(mnist.net_all_zero)
    assert Report.from_dict(json.loads(json.dumps(report.to_dict()))) == report


def test_package_import_does_not_import_torch():
    code = "import sys, initlint.runtime, initlint.runtime.cli, initlint.runtime.confirm; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_gives_the_same_verdicts(mnist):
    healthy = load("healthy")
    assert check(mnist.net_ones, device="cuda").codes == ("IL101", "IL101")
    assert {f.parameter for f in check(mnist.net_all_zero, device="cuda").by_code("IL102")} >= {"fc1.weight", "fc1.bias"}
    assert check(healthy.ZeroHead, device="cuda").ok
    assert check(healthy.ZeroHiddenWeight, device="cuda").ok
    assert check(load("lenet").LeNet, kwargs={"in_channels": 1}, device="cuda").codes == ("IL103",)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_construction_codes_and_canary():
    """IL105-IL107 on a GPU: the canary is written into CUDA allocations too, and read back exactly."""
    recipes = load("recipes")
    report = check(lambda: recipes.Uninitialised().cuda(), device="cuda", input_shapes=["4,8"])
    assert report.by_code("IL107")
    with torch.device("cuda"):
        assert check(recipes.Uninitialised, device="cuda", input_shapes=["4,8"]).by_code("IL107")
        assert not check(recipes.ResetInInit, device="cuda", input_shapes=["4,8"]).by_code("IL107")
    assert check(recipes.Repeated, device="cuda", input_shapes=["4,8"]).by_code("IL106")
