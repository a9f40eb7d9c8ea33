"""`confirm`: static findings come back with a `runtime: confirmed / refuted / could not reach the site` note,
`check --runtime` does not fail on a refuted finding, and a crash or hang costs only its own recipe."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

from click.testing import CliRunner
from conftest import BAD_SCRIPT

from initlint.diagnostic import Diagnostic, Location
from initlint.runtime import confirm as confirm_module
from initlint.runtime.claims import counts_against_exit, verdict_of
from initlint.runtime.confirm import confirm
from initlint.runtime.settings import parse

MODELS = Path(__file__).resolve().parent / "runtime_models"


def static(code: str, path, row: int) -> Diagnostic:
    here = Location(row, 9)
    return Diagnostic(code, "static", "static message", str(path if os.path.isabs(str(path)) else MODELS / path), here, here)


@pytest.fixture(scope="module")
def confirmed():
    wanted = [
        static("IL002", "mnist.py", 25),  # net_zero_layer.fc1.weight.data = zeros
        static("IL003", "mnist.py", 30),  # the all-zero loop over net_all_zero
        static("IL003", "mnist.py", 35),  # the all-ones loop over net_ones
        static("IL004", "lenet_noargs.py", 16),  # _initialize_weights() before the layers
        static("IL004", "lenet_fixed.py", 21),  # after the fix
        static("IL001", "constinit.py", 24),  # ConstInit needs arguments nobody passes
        static("IL001", "healthy.py", 37),  # inside ZeroHiddenWeight: zeros_(self.fc1.weight), random bias
        static("IL901", "mnist.py", 1),  # not a static rule finding: left alone
    ]
    return wanted, confirm(wanted, timeout=30, jobs=2)


def notes(confirmed, index):
    wanted, got = confirmed
    assert got[index].code == wanted[index].code and got[index].location == wanted[index].location
    return got[index].notes


def test_zeroed_layer_is_confirmed_dead(confirmed):
    (note,) = notes(confirmed, 0)
    assert note.startswith("runtime: confirmed — fc1.weight: gradient exactly zero at every one of 3 steps")
    assert "[built as module-level net_zero_layer, as the file left it]" in note


def test_all_zero_loop_is_confirmed(confirmed):
    (note,) = notes(confirmed, 1)
    assert note.startswith("runtime: confirmed — ") and "fc1.weight: 128 units, 1 distinct" in note


def test_all_ones_loop_is_confirmed_symmetric(confirmed):
    (note,) = notes(confirmed, 2)
    assert note == (
        "runtime: confirmed — fc1.weight: 128 units, 1 distinct (identical weights and gradients over 3 steps); "
        "fc2.weight: 64 units, 1 distinct (identical weights and gradients over 3 steps) "
        "[built as module-level net_ones, as the file left it]"
    )


def test_init_before_layers_is_confirmed(confirmed):
    (note,) = notes(confirmed, 3)
    assert note.startswith("runtime: confirmed — LeNet._initialize_weights ran while LeNet was built and reached 0 of 10 parameters")


def test_fixed_init_is_refuted_with_what_was_measured(confirmed):
    (note,) = notes(confirmed, 4)
    assert note == "runtime: refuted — LeNet._initialize_weights reached 10 of 10 parameters [built as LeNet()]"


def test_class_needing_arguments_says_what_to_try(confirmed):
    (note,) = notes(confirmed, 5)
    assert note.startswith("runtime: could not reach the site — ConstInit needs constructor arguments (init_w, init_b)")
    assert note.endswith("try: initlint runtime tests/runtime_models/constinit.py::ConstInit --args '{\"init_w\": 1.0, \"init_b\": 1.0}'")


def test_random_bias_refutes_and_says_what_broke_the_tie(confirmed):
    (note,) = notes(confirmed, 6)
    # Two of 128 random biases fall within the tolerance of each other about one time in 12: the
    # gradients then tell those two apart, and the note says so.
    assert note.startswith("runtime: refuted — fc1.weight: 1 distinct of 128 by their weights at init, ")
    assert "but the random bias tells every unit apart" in note or "the random bias tells 127 apart, and their gradients tell the rest apart" in note


def test_other_diagnostics_are_untouched(confirmed):
    wanted, got = confirmed
    assert got[7] is wanted[7]
    assert len(got) == len(wanted)


def test_no_verdict_is_not_confirmed(confirmed):
    _, got = confirmed
    assert all("not confirmed" not in n for d in got for n in d.notes)
    assert [verdict_of(d) for d in got] == ["confirmed"] * 4 + ["refuted", "unreached", "refuted", None]


def test_configured_arguments_reach_the_site():
    """[tool.initlint.runtime.targets] gives ConstInit its arguments: both sites are reached and judged."""
    settings = parse({"targets": {"ConstInit": {"args": {"init_w": 1.0, "init_b": 0.5}, "input-shapes": ["32,3"]}}}, "pyproject.toml", str(MODELS))
    rows, last = confirm([static("IL005", "constinit.py", 22), static("IL001", "constinit.py", 24)], timeout=30, settings=settings)
    # linear1's repeated rows feed linear2, whose columns are all equal: tied on both sides, for ever.
    assert rows.notes == ("runtime: confirmed — linear1.weight: 2 units, 1 distinct (identical weights and gradients over 3 steps) "
                          "[built as ConstInit(init_b=0.5, init_w=1.0)]",)
    # linear2 is the output layer: the loss tells its units apart (the random cotangent stands for the targets).
    (note,) = last.notes
    assert note.startswith("runtime: refuted — linear2.weight: 1 distinct of 4 by their weights at init, and their gradients tell them apart from step 0")


def test_without_torch_every_static_finding_says_so(monkeypatch):
    monkeypatch.setattr(confirm_module, "torch_available", lambda: False)
    (got,) = confirm([static("IL001", "constinit.py", 24)])
    assert got.notes == ("runtime: could not measure — the runtime mode needs torch: pip install 'initlint[runtime]'",)


def test_notebook_cells_are_not_run():
    here = Location(1, 1)
    (got,) = confirm([Diagnostic("IL001", "x", "m", "nb.ipynb", here, here, cell=2)])
    assert got.notes == ("runtime: could not reach the site — notebook cells are not run by the runtime confirmation",)


# --- a crash or a hang costs only its own recipe ----------------------------------------------------

FAULTY = '''
import ctypes, time
import torch
import torch.nn as nn


class Crashes(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        nn.init.constant_(self.fc.weight, 0.5)  # site: crash
        ctypes.string_at(0)


class Hangs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        nn.init.constant_(self.fc.weight, 0.5)  # site: hang
        time.sleep(600)


class Fine(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 2)
        with torch.no_grad():
            for layer in (self.fc1, self.fc2):
                layer.weight.fill_(0.5)  # site: fine
                layer.bias.fill_(0.1)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
'''


def _rows(text: str):
    return {line.split("# site: ")[1]: number for number, line in enumerate(text.splitlines(), 1) if "# site: " in line}


def test_crash_and_hang_lose_only_their_own_recipe(tmp_path):
    path = tmp_path / "faulty.py"
    path.write_text(FAULTY)
    rows = _rows(FAULTY)
    wanted = [static("IL001", path, rows["crash"]), static("IL001", path, rows["hang"]), static("IL001", path, rows["fine"])]
    crash, hang, fine = confirm(wanted, timeout=4)
    assert "could not reach the site" in crash.notes[0] and "crashed with SIGSEGV" in crash.notes[0]
    assert "could not reach the site" in hang.notes[0] and "timed out after 4 s" in hang.notes[0]
    assert fine.notes[0].startswith("runtime: confirmed — fc1.weight: 8 units, 1 distinct")


# --- `initlint check --runtime`: the exit code policy -------------------------------------------------


def _check(monkeypatch, tmp_path, note):
    """Run `initlint check --runtime` on a file with one finding whose runtime verdict is `note`."""
    from initlint import cli

    (tmp_path / "model.py").write_text(BAD_SCRIPT)  # one static finding
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\n")

    def fake(diagnostics, **options):
        assert options["progress"] is False  # --quiet
        return [dataclasses.replace(d, notes=d.notes + (note,)) for d in diagnostics]

    monkeypatch.setattr(confirm_module, "confirm", fake)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.main, ["check", "--runtime", "--no-cache", "-q", "model.py"])
    assert note in result.output  # the finding was there, and was judged
    return result


def test_a_refuted_finding_does_not_fail_the_run(monkeypatch, tmp_path):
    result = _check(monkeypatch, tmp_path, "runtime: refuted — fc.weight: the random bias tells every unit apart")
    assert "runtime: refuted" in result.output
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("word", ["confirmed", "refuted (worse than claimed)", "could not reach the site", "could not measure"])
def test_every_other_verdict_fails_the_run(monkeypatch, tmp_path, word):
    result = _check(monkeypatch, tmp_path, f"runtime: {word} — evidence")
    assert result.exit_code == 1, result.output


def test_counts_against_exit():
    here = Location(1, 1)
    plain = Diagnostic("IL001", "x", "m", "f.py", here, here)
    assert counts_against_exit(plain)
    assert not counts_against_exit(dataclasses.replace(plain, notes=("runtime: refuted — x",)))
    assert counts_against_exit(dataclasses.replace(plain, notes=("runtime: refuted (another lasting defect) — x",)))


def test_bad_runtime_configuration_is_a_usage_error(tmp_path, monkeypatch):
    from initlint import cli

    (tmp_path / "model.py").write_text("x = 1\n")
    (tmp_path / "pyproject.toml").write_text("[tool.initlint.runtime.targets.Net]\nargs = 3\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.main, ["check", "--runtime", "--no-cache", "model.py"])
    assert result.exit_code == 2
    assert "`args` must be a table" in result.output


def test_end_to_end_seed_file_fails_ci_and_shows_progress(tmp_path):
    """The real command on seed 001's demo: its findings are confirmed, so the run fails; progress goes to stderr."""
    import subprocess

    source = (MODELS / "mnist.py").read_text()
    (tmp_path / "demo.py").write_text(source)
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\n")
    env = dict(os.environ, PYTHONPATH=str(MODELS.parent.parent))
    done = subprocess.run([sys.executable, "-m", "initlint", "check", "--runtime", "--no-cache", "demo.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "runtime: confirmed" in done.stdout
    assert "runtime: started demo.py" in done.stderr and "confirmed (" in done.stderr
