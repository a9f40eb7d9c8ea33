"""`confirm`: static findings come back with a `runtime: confirmed / not confirmed / could not run` note."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from initlint.diagnostic import Diagnostic, Location
from initlint.runtime import confirm as confirm_module
from initlint.runtime.confirm import confirm, locate
from initlint.runtime.spec import Target

MODELS = Path(__file__).resolve().parent / "runtime_models"


def static(code: str, name: str, row: int) -> Diagnostic:
    here = Location(row, 9)
    return Diagnostic(code, "static", "static message", str(MODELS / name), here, here)


@pytest.fixture(scope="module")
def confirmed():
    wanted = [
        static("IL002", "mnist.py", 25),  # net_zero_layer.fc1.weight.data = zeros
        static("IL003", "mnist.py", 30),  # the all-zero loop over net_all_zero
        static("IL003", "mnist.py", 35),  # the all-ones loop over net_ones
        static("IL004", "lenet_noargs.py", 16),  # _initialize_weights() before the layers
        static("IL004", "lenet_fixed.py", 21),  # after the fix
        static("IL001", "constinit.py", 24),  # ConstInit needs arguments
        static("IL001", "healthy.py", 35),  # inside ZeroHiddenWeight: zeros_(self.fc1.weight)
        static("IL901", "mnist.py", 1),  # not a static rule finding: left alone
    ]
    return wanted, confirm(wanted, timeout=30, jobs=3)


def notes(confirmed, index):
    wanted, got = confirmed
    assert got[index].code == wanted[index].code and got[index].location == wanted[index].location
    return got[index].notes


def test_zeroed_layer_is_confirmed_dead(confirmed):
    (note,) = notes(confirmed, 0)
    assert note.startswith("runtime: confirmed — fc1.weight: gradient exactly zero at every one of 3 steps")


def test_all_zero_loop_is_confirmed(confirmed):
    (note,) = notes(confirmed, 1)
    assert note.startswith("runtime: confirmed — ") and "fc1.weight: 128 units, 1 distinct" in note


def test_all_ones_loop_is_confirmed_symmetric(confirmed):
    (note,) = notes(confirmed, 2)
    assert note == (
        "runtime: confirmed — fc1.weight: 128 units, 1 distinct (identical weights and gradients over 3 steps); "
        "fc2.weight: 64 units, 1 distinct (identical weights and gradients over 3 steps)"
    )


def test_init_before_layers_is_confirmed(confirmed):
    (note,) = notes(confirmed, 3)
    assert note.startswith("runtime: confirmed — LeNet._initialize_weights ran while LeNet was built and reached 0 of 10 parameters")


def test_fixed_init_is_not_confirmed(confirmed):
    (note,) = notes(confirmed, 4)
    assert note == "runtime: not confirmed — LeNet._initialize_weights reached 10 of 10 parameters"


def test_class_needing_arguments_could_not_run(confirmed):
    (note,) = notes(confirmed, 5)
    assert note == "runtime: could not run — ConstInit needs constructor arguments: init_w, init_b"


def test_healthy_zero_hidden_weight_is_not_confirmed(confirmed):
    (note,) = notes(confirmed, 6)
    assert note.startswith("runtime: not confirmed — fc1.weight: 128 units, 128 distinct; gradient non-zero from step 0")


def test_other_diagnostics_are_untouched(confirmed):
    wanted, got = confirmed
    assert got[7] is wanted[7]
    assert len(got) == len(wanted)


def test_locate():
    assert locate(static("IL001", "constinit.py", 22)) == Target(path=str(MODELS / "constinit.py"), name="ConstInit")
    assert locate(static("IL003", "mnist.py", 30)).candidates[0] == "net_all_zero"
    assert locate(static("IL002", "mnist.py", 25)).candidates == ("net_zero_layer",)
    assert "not run" in locate(Diagnostic("IL001", "x", "m", "nb.ipynb", Location(1, 1), Location(1, 1), cell=2))


def test_without_torch_every_static_finding_says_so(monkeypatch):
    monkeypatch.setattr(confirm_module, "torch_available", lambda: False)
    (got,) = confirm([static("IL001", "constinit.py", 24)])
    assert got.notes == ("runtime: could not run — the runtime mode needs torch: pip install 'initlint[runtime]'",)
