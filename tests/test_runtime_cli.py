"""`initlint runtime`: targets, formats, exit codes (workers are real subprocesses)."""

from __future__ import annotations

import json
import os
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
