"""`initlint runtime`: targets, formats, exit codes (workers are real subprocesses)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

from click.testing import CliRunner

from initlint.diagnostic import Diagnostic, Location
from initlint.runtime import cli
from initlint.runtime.cli import runtime_command

MODELS = Path(__file__).resolve().parent / "runtime_models"
ROOT = MODELS.parent.parent


def model(name: str) -> str:
    return str((MODELS / name).relative_to(ROOT))


@pytest.fixture(autouse=True)
def in_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def invoke(*args: str):
    return CliRunner().invoke(runtime_command, list(args), catch_exceptions=False)


def test_seed_models_in_one_run_json():
    result = invoke(
        f"{model('mnist.py')}::net_all_zero", f"{model('mnist.py')}::net_ones", f"{model('mnist.py')}::net_baseline",
        f"{model('lenet.py')}::LeNet", "--args", '{"in_channels": 1}', "--format", "json", "-j", "2",
    )
    assert result.exit_code == 1, result.output
    found = json.loads(result.stdout)
    by_message = {(d["code"], d["message"]) for d in found}
    assert ("IL101", "net_ones: fc1.weight: 128 units, 1 distinct (identical weights and gradients over 3 steps)") in by_message
    assert any(code == "IL102" and msg.startswith("net_all_zero: fc1.weight: gradient exactly zero") for code, msg in by_message)
    assert not any(msg.startswith("net_baseline") for _, msg in by_message)
    (il103,) = [d for d in found if d["code"] == "IL103"]
    assert il103["filename"].endswith("lenet.py") and il103["location"]["row"] == 15
    mnist_rows = {d["location"]["row"] for d in found if d["filename"].endswith("mnist.py")}
    assert mnist_rows == {7}  # the class definition
    assert all(d["url"].endswith("docs/rules.md#" + d["code"].lower()) for d in found)
    assert "net_baseline: MNISTNet, 3 steps on cpu" in result.stderr


def test_file_target_probes_every_buildable_class():
    result = invoke(model("rawnet.py"), "--input-shape", "4,3", "-j", "2")
    assert result.exit_code == 1, result.output
    lines = result.stdout.strip().splitlines()
    assert lines == [f"{model('rawnet.py')}:6:1: IL101 W1: 2 units along dim 1, 1 distinct (identical weights and gradients over 3 steps)"]
    assert "rawnet.py::RandomTwoLayer: RandomTwoLayer" in result.stderr


def test_file_whose_classes_all_need_arguments_is_a_usage_error():
    result = invoke(model("lenet.py"))
    assert result.exit_code == 2
    assert "needs constructor arguments: in_channels" in result.output


def test_module_entry_point_dotted_target_and_clean_exit():
    """`python -m initlint.runtime.cli package.module:Name` from the models' folder."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "initlint.runtime.cli", "healthy:ZeroHead"],
        capture_output=True, text=True, cwd=MODELS, env=env, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "healthy:ZeroHead: ZeroHead, 3 steps on cpu" in done.stderr
    assert "All checks passed!" in done.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope.py::Net"], "no such file"),
        (["not a target"], "expected path/to/model.py::Name"),
        ([f"{model('mnist.py')}::1bad"], "not a (dotted) Python name"),
        ([f"{model('mnist.py')}::net_ones", "--args", "{bad"], "--args is not valid JSON"),
        ([f"{model('mnist.py')}::net_ones", "--args", "[1]"], "must be a JSON object"),
        ([f"{model('mnist.py')}::net_ones", "--input-shape", "2,a"], "expected integers"),
        ([f"{model('mnist.py')}::net_ones", "--dtype", "complex7"], "unknown dtype"),
        ([f"{model('mnist.py')}::net_ones", "--steps", "1"], "1 is not in the range x>=3"),
    ],
)
def test_usage_errors_exit_2(args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_missing_torch_is_a_clear_usage_error(monkeypatch):
    monkeypatch.setattr(cli, "torch_available", lambda: False)
    result = invoke(f"{model('mnist.py')}::net_ones")
    assert result.exit_code == 2
    assert "pip install 'initlint[runtime]'" in result.output


def test_concise_fallback_without_reporters(monkeypatch):
    monkeypatch.setitem(sys.modules, "initlint.report", None)  # import fails as if not written yet
    here = Location(3, 1)
    found = [Diagnostic("IL101", "symmetric-units", "fc1.weight: 2 units, 1 distinct", "m.py", here, here)]
    text, closing = cli._render(found, "json")
    assert text == "m.py:3:1: IL101 fc1.weight: 2 units, 1 distinct"
    assert "1 problem" in closing


# --- file targets: instances and factories too; inputs; configuration; progress ---------------------------


def test_file_target_probes_module_level_instances_and_factories():
    result = invoke(model("healthy.py"), "--format", "json", "-j", "2", "--quiet")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []
    assert result.stderr == ""  # --quiet: diagnostics only
    result = invoke(model("mnist.py"), "--format", "json", "-j", "2")
    found = json.loads(result.stdout)
    instances = {d["message"].split(":")[0] for d in found}
    assert instances == {"net_zero_layer", "net_all_zero", "net_ones"}  # net_baseline and the class are healthy
    for name in ("MNISTNet", "net_baseline", "net_ones"):
        assert f"mnist.py::{name}: MNISTNet, 3 steps on cpu" in result.stderr
    assert "healthy.py::make_with_inputs" not in result.stderr


def test_factories_are_found_from_their_source_never_by_calling_them(tmp_path):
    (tmp_path / "nets.py").write_text(
        "import torch.nn as nn\n\n"
        "def make() -> nn.Module:\n    return nn.Linear(4, 2)\n\n"
        "def make_pair():\n    net = nn.Sequential(nn.Linear(3, 2))\n    return net, None\n\n"
        "def main():\n    raise SystemExit('never run: not a factory')\n\n"
        "def needs(width):\n    return nn.Linear(width, 2)\n"
    )
    result = invoke(str(tmp_path / "nets.py"), "--format", "json")
    assert result.exit_code == 0, result.output
    assert "nets.py::make: Linear" in result.stderr and "nets.py::make_pair: Sequential" in result.stderr
    assert "main" not in result.stderr and "needs" not in result.stderr


def test_input_values_are_used_as_given(tmp_path):
    torch = pytest.importorskip("torch")
    zeros = str(tmp_path / "zeros.pt")
    torch.save(torch.zeros(4, 784), zeros)
    target = f"{model('healthy.py')}::MNISTNet"
    for value in ("torch.zeros(4, 784)", zeros):
        result = invoke(target, "--input", value, "--format", "json")
        (found,) = json.loads(result.stdout)  # all-zero data, as asked: the first layer gets no gradient
        assert found["code"] == "IL102" and found["message"].startswith("fc1.weight"), value
    assert invoke(target, "--input", "torch.randn(4, 784)").exit_code == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--input", "torch.randn(4,"], "neither a .pt file nor a Python expression"),
        (["--input", "missing.pt"], "no such file"),
        (["--input", "torch.randn(4, 784)", "--input-shape", "4,784"], "either by --input-shape or by --input"),
    ],
)
def test_bad_inputs_are_usage_errors(args, message):
    result = invoke(f"{model('healthy.py')}::MNISTNet", *args)
    assert result.exit_code == 2 and message in result.output


def test_configured_targets_are_used(tmp_path, monkeypatch):
    (tmp_path / "lenet.py").write_text((MODELS / "lenet.py").read_text())
    (tmp_path / "pyproject.toml").write_text('[tool.initlint.runtime.targets.LeNet]\nargs = { in_channels = 1 }\ninput-shapes = ["2,1,32,32"]\n')
    monkeypatch.chdir(tmp_path)
    result = invoke("lenet.py", "--format", "json")
    assert result.exit_code == 1, result.output
    (found,) = json.loads(result.stdout)
    assert found["code"] == "IL103"
    assert "inputs 2x1x32x32 float32" in result.stderr


def test_bad_configuration_is_a_usage_error(tmp_path, monkeypatch):
    (tmp_path / "m.py").write_text("import torch.nn as nn\nnet = nn.Linear(2, 2)\n")
    (tmp_path / "pyproject.toml").write_text('[tool.initlint.runtime.targets.Net]\nmasks = [3]\ninput-shapes = ["2,2"]\n')
    monkeypatch.chdir(tmp_path)
    result = invoke("m.py")
    assert result.exit_code == 2 and "`masks` names input 3, but there are 1 input(s)" in result.output


def test_what_construction_proved_survives_a_broken_forward(tmp_path):
    (tmp_path / "broken.py").write_text(
        "import torch, torch.nn as nn\n\n"
        "class Broken(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.w = nn.Parameter(torch.Tensor(3, 3))\n\n"
        "    def forward(self, x):\n        raise RuntimeError('forward is broken')\n"
    )
    result = invoke(f"{tmp_path / 'broken.py'}::Broken", "--input-shape", "2,3", "--format", "json")
    assert result.exit_code == 1
    codes = sorted(d["code"] for d in json.loads(result.stdout))
    assert codes == ["IL104", "IL107"]


def test_progress_lines_off_a_terminal():
    result = invoke(f"{model('healthy.py')}::ZeroHead", f"{model('healthy.py')}::LoRALinear", "-j", "1")
    lines = result.stderr.splitlines()
    assert lines[0] == f"runtime: started {model('healthy.py')}::ZeroHead"
    assert lines[1].startswith(f"runtime: [1/2] {model('healthy.py')}::ZeroHead: ZeroHead, 3 steps on cpu")
    assert re.search(r"\(\d+\.\d s\): no findings$", lines[1])
    assert lines[3].startswith("runtime: [2/2]")
