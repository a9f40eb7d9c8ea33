"""The fix machinery: `.fixed` snapshots, byte-exact round trips, atomic writes, --fix / --diff.

`INITLINT_UPDATE_SNAPSHOTS=1 pytest tests/test_fix.py` rewrites the `.fixed` snapshots (review the diff).
Snapshots apply every offered fix, unsafe ones included, so that each fix's output is pinned.
"""

from __future__ import annotations

import codecs
import importlib.util
import os
import stat
import sys
from pathlib import Path
from typing import List

import pytest
from click.testing import CliRunner

from conftest import FIXTURES, UPDATE, settings
from initlint import fix as fixing
from initlint.cli import main
from initlint.diagnostic import Applicability, Diagnostic, Edit, Fix, Location
from initlint.engine import lint_source

CASES = sorted(FIXTURES.glob("*.py"))


def _read(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def _linter(path: str):
    return lambda text: lint_source(text, path, settings())


def _fixed(path: Path, source: str, unsafe: bool = True) -> fixing.FixedSource:
    return fixing.fix_source(source, _linter(f"fixtures/{path.name}"), unsafe=unsafe)


# ---- snapshots -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_fixed_snapshot(path: Path):
    """Each fixture whose findings carry fixes has a `.fixed` snapshot of the result, exactly."""
    source = _read(path)
    result = _fixed(path, source)
    snapshot = path.with_suffix(".fixed")
    if result.text == source:
        assert not snapshot.exists(), f"{snapshot.name} exists but no fix changes {path.name}"
        return
    assert result.errors == ()
    assert fixing.parses(result.text)
    if UPDATE:
        with open(snapshot, "w", encoding="utf-8", newline="") as handle:
            handle.write(result.text)
    assert snapshot.exists(), f"missing snapshot {snapshot.name}: run with INITLINT_UPDATE_SNAPSHOTS=1"
    assert result.text == _read(snapshot)
    # Idempotent: the fixed text offers nothing more to fix.
    again = _fixed(path, result.text)
    assert again.text == result.text and again.fixed == 0
    assert not any(d.fix is not None for d in again.diagnostics)


def test_safe_only_leaves_unsafe_fixes_alone():
    path = FIXTURES / "IL004_guarded_unsafe.py"
    source = _read(path)
    assert _fixed(path, source, unsafe=False).text == source
    assert _fixed(path, source, unsafe=True).text != source


# ---- applying edits ----------------------------------------------------------------------------------


def _diag(fix: Fix, row: int = 1) -> Diagnostic:
    loc = Location(row, 1)
    return Diagnostic(code="IL999", name="test", message="m", path="x.py", location=loc, end_location=loc, fix=fix)


def test_apply_skips_overlapping_fixes_for_a_later_round():
    text = "abcdef"
    first = Fix("a", (Edit(0, 2, "XY"),))
    overlapping = Fix("b", (Edit(1, 3, "Z"),))
    later = Fix("c", (Edit(4, 5, "Q"),))
    new, taken = fixing.apply_fixes(text, [later, overlapping, first])
    assert new == "XYcdQf"
    assert taken == [first, later]


def test_apply_rejects_two_insertions_at_one_offset_in_one_round():
    one = Fix("a", (Edit(3, 3, "1"),))
    two = Fix("b", (Edit(3, 3, "2"),))
    new, taken = fixing.apply_fixes("abcdef", [one, two])
    assert new == "abc1def" and taken == [one]


def test_fix_source_iterates_until_nothing_applies():
    # A fake rule that wants every "x" replaced, one at a time.
    def lint(text: str) -> List[Diagnostic]:
        i = text.find("x")
        return [] if i < 0 else [_diag(Fix("x", (Edit(i, i + 1, "y"),)))]

    result = fixing.fix_source("x = 1\nx = 2\nx = 3\n", lint)
    assert result.text == "y = 1\ny = 2\ny = 3\n"
    assert result.fixed == 3 and result.diagnostics == ()


def test_fix_source_stops_after_max_rounds():
    def lint(text: str) -> List[Diagnostic]:
        return [_diag(Fix("grow", (Edit(len(text), len(text), "#\n"),)))]

    result = fixing.fix_source("", lint)
    assert result.fixed == fixing.MAX_ROUNDS


def test_unsafe_fixes_need_opting_in():
    unsafe = Fix("u", (Edit(0, 1, "b"),), Applicability.UNSAFE)
    display = Fix("d", (Edit(0, 1, "b"),), Applicability.DISPLAY_ONLY)
    assert not fixing.wanted(unsafe) and fixing.wanted(unsafe, unsafe=True)
    assert not fixing.wanted(display, unsafe=True)
    assert fixing.fix_source("a = 1\n", lambda t: [_diag(unsafe)] if t.startswith("a") else []).text == "a = 1\n"


def test_a_fix_that_would_not_parse_is_dropped(tmp_path: Path):
    path = tmp_path / "model.py"
    original = b"import torch\r\nx = 1\r\n"
    path.write_bytes(original)
    bad = Fix("break it", (Edit(0, 0, "def (:\n"),))
    outcome = fixing.fix_file(str(path), lambda text: [_diag(bad)] if "x = 1" in text else [])
    assert path.read_bytes() == original
    assert not outcome.written and outcome.fixed == 0
    assert outcome.errors and "does not parse" in outcome.errors[0]


def test_a_bad_fix_does_not_block_a_good_one():
    bad = Fix("bad", (Edit(0, 0, "def (:\n"),))
    good = Fix("good", (Edit(4, 5, "2"),))
    result = fixing.fix_source("a = 1\n", lambda t: [_diag(bad), _diag(good)] if "1" in t else [])
    assert result.text == "a = 2\n" and result.fixed == 1 and len(result.errors) == 1


def test_unified_diff_is_git_style():
    diff = fixing.unified_diff("pkg/m.py", "a\nb\n", "b\na")
    assert diff.startswith("--- a/pkg/m.py\n+++ b/pkg/m.py\n")
    assert "\\ No newline at end of file" in diff
    assert fixing.unified_diff("m.py", "same\n", "same\n") == ""


# ---- files: bytes, encodings, atomic writes -------------------------------------------------------------

MODEL_LINES = [
    "# -*- coding: utf-8 -*-",
    "import torch.nn as nn  ",  # trailing spaces must survive
    "",
    "",
    "class Net(nn.Module):",
    "{i}def __init__(self):",
    "{i}{i}super().__init__()",
    "{i}{i}# café: run the init",  # moves with the call
    "{i}{i}self.apply(self._init)",
    "{i}{i}self.fc = nn.Linear(4, 4)   # ünïcode comment",
    "",
    "{i}def _init(self, m):",
    "{i}{i}if isinstance(m, nn.Linear):",
    "{i}{i}{i}nn.init.zeros_(m.bias)",
]
# The same file after the fix: lines 8-9 moved after line 10.
FIXED_ORDER = [0, 1, 2, 3, 4, 5, 6, 9, 7, 8, 10, 11, 12, 13]


def _model(newline: str, indent: str, order=None) -> str:
    lines = [line.format(i=indent) for line in MODEL_LINES]
    if order is not None:
        lines = [lines[k] for k in order]
    return newline.join(lines) + newline


@pytest.mark.parametrize(
    "newline, indent, bom",
    [("\n", "    ", b""), ("\r\n", "    ", b""), ("\r\n", "\t", codecs.BOM_UTF8), ("\n", "\t", codecs.BOM_UTF8)],
    ids=["lf", "crlf", "crlf-tabs-bom", "lf-tabs-bom"],
)
def test_fix_keeps_every_other_byte(tmp_path: Path, newline: str, indent: str, bom: bytes):
    path = tmp_path / "model.py"
    path.write_bytes(bom + _model(newline, indent).encode("utf-8"))
    os.chmod(path, 0o640)
    outcome = fixing.fix_file(str(path), _linter(str(path)))
    assert outcome.written and outcome.fixed == 1
    assert path.read_bytes() == bom + _model(newline, indent, FIXED_ORDER).encode("utf-8")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["model.py"]  # no temporary file left behind
    # Applying it again changes nothing.
    again = fixing.fix_file(str(path), _linter(str(path)))
    assert not again.written and again.fixed == 0


def test_mixed_newlines_outside_the_moved_lines_survive(tmp_path: Path):
    text = _model("\n", "    ").replace("import torch.nn as nn  \n", "import torch.nn as nn  \r\n")
    path = tmp_path / "model.py"
    path.write_bytes(text.encode("utf-8"))
    fixing.fix_file(str(path), _linter(str(path)))
    expected = _model("\n", "    ", FIXED_ORDER).replace("import torch.nn as nn  \n", "import torch.nn as nn  \r\n")
    assert path.read_bytes() == expected.encode("utf-8")


def test_latin1_file_round_trips(tmp_path: Path):
    text = _model("\n", "    ").replace("utf-8", "latin-1")
    path = tmp_path / "model.py"
    path.write_bytes(text.encode("latin-1"))
    fixing.fix_file(str(path), _linter(str(path)))
    expected = _model("\n", "    ", FIXED_ORDER).replace("utf-8", "latin-1")
    assert path.read_bytes() == expected.encode("latin-1")


def test_failed_write_leaves_the_file_and_no_temp(tmp_path: Path, monkeypatch):
    path = tmp_path / "model.py"
    original = _model("\n", "    ").encode("utf-8")
    path.write_bytes(original)

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fixing.os, "replace", boom)
    with pytest.raises(fixing.FixError, match="cannot write"):
        fixing.fix_file(str(path), _linter(str(path)))
    assert path.read_bytes() == original
    assert sorted(os.listdir(tmp_path)) == ["model.py"]


# ---- the command line --------------------------------------------------------------------------------


def _run(*args: str):
    return CliRunner().invoke(main, ["check", *args])


def _stdout(result) -> str:
    return getattr(result, "stdout", result.output)


def _copy(tmp_path: Path, fixture: str) -> Path:
    target = tmp_path / fixture
    target.write_bytes((FIXTURES / fixture).read_bytes())
    return target


def test_diff_prints_and_writes_nothing(tmp_path: Path):
    path = _copy(tmp_path, "IL004_lenet_seed004.py")
    before = path.read_bytes()
    result = _run("--diff", str(path))
    assert result.exit_code == 1
    out = _stdout(result)
    name = str(path).lstrip("/")
    assert f"--- a/{name}\n" in out and f"+++ b/{name}\n" in out
    assert "-        if init_weights:" in out and "+        if init_weights:" in out
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == [path.name]


def test_diff_with_nothing_to_fix_exits_zero(tmp_path: Path):
    path = _copy(tmp_path, "IL004_ok_call_after_last_layer.py")
    result = _run("--diff", str(path))
    assert result.exit_code == 0 and "---" not in _stdout(result)


def test_fix_exit_zero_when_nothing_is_left(tmp_path: Path):
    path = _copy(tmp_path, "IL004_lenet_seed004.py")
    result = _run("--fix", "--select", "IL004", str(path))
    assert result.exit_code == 0, result.output
    assert "Fixed 1 problem" in result.output
    assert "IL004" not in _stdout(result)
    assert path.read_text() == _read(FIXTURES / "IL004_lenet_seed004.fixed")


def test_fix_exit_one_when_findings_remain(tmp_path: Path):
    path = tmp_path / "both.py"
    unfixable = _read(FIXTURES / "IL004_no_fix_reads_weight.py").split("class Teacher", 1)[1].split("class Counted")[0]
    path.write_text(_read(FIXTURES / "IL004_lenet_seed004.py") + "\nimport copy\n\n\nclass Teacher" + unfixable)
    result = _run("--fix", "--select", "IL004", str(path))
    assert result.exit_code == 1
    assert "Fixed 1 problem" in result.output
    remaining = [line for line in _stdout(result).splitlines() if "IL004" in line]
    assert len(remaining) == 1 and "no fix: " in remaining[0] and "deepcopy" in remaining[0]


def test_fix_without_fixable_findings_changes_nothing(tmp_path: Path):
    path = _copy(tmp_path, "IL004_no_fix_reads_weight.py")
    before = path.read_bytes()
    result = _run("--fix", "--select", "IL004", str(path))
    assert result.exit_code == 1 and "Fixed" not in result.output
    assert path.read_bytes() == before


def test_fix_leaves_unsafe_fixes_without_the_flag(tmp_path: Path):
    path = _copy(tmp_path, "IL004_guarded_unsafe.py")
    before = path.read_bytes()
    assert _run("--fix", str(path)).exit_code == 1
    assert path.read_bytes() == before
    result = _run("--fix", "--unsafe-fixes", str(path))
    assert result.exit_code == 0
    assert path.read_text() == _read(FIXTURES / "IL004_guarded_unsafe.fixed")


def test_fix_reports_remaining_diagnostics_from_the_fixed_text(tmp_path: Path):
    path = tmp_path / "two.py"
    path.write_text(_read(FIXTURES / "IL004_lenet_seed004.py") + "\n\nimport torch\nW = torch.full((3, 2), 1.0, requires_grad=True)\nV = torch.full((2, 1), 1.0, requires_grad=True)\ny = (torch.randn(8, 3) @ W).relu() @ V\n")
    result = _run("--fix", str(path))
    assert result.exit_code == 1
    lines = [line for line in _stdout(result).splitlines() if line.strip()]
    assert all("IL004" not in line for line in lines)
    assert any("IL001" in line for line in lines)


# ---- acceptance: the fixed LeNet really initialises its layers ------------------------------------------------


def _import(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def test_fixed_lenet_gets_the_intended_init(tmp_path: Path):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    path = _copy(tmp_path, "IL004_lenet_seed004.py")
    original = _import(path, "lenet_unfixed")
    result = _run("--fix", str(path))
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert text.index("self._initialize_weights()") > text.index("self.fc3 = nn.Linear(84, 10)")
    fixed = _import(path, "lenet_fixed")

    torch.manual_seed(0)
    model = fixed.LeNet(1)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(convs) == 2 and len(linears) == 3
    for conv in convs:
        assert torch.count_nonzero(conv.bias) == 0
    for linear in linears:
        assert 0.005 < linear.weight.std().item() < 0.02
        assert torch.count_nonzero(linear.bias) == 0

    torch.manual_seed(0)
    before = original.LeNet(1)
    # Unfixed: PyTorch's defaults (uniform in +-1/sqrt(fan_in): std 0.029, 0.053, 0.063), non-zero biases.
    for linear in (m for m in before.modules() if isinstance(m, nn.Linear)):
        assert linear.weight.std().item() > 0.025
    assert all(torch.count_nonzero(m.bias) > 0 for m in before.modules() if isinstance(m, nn.Conv2d))


@pytest.mark.parametrize("fixture", ["IL004_pretrained_no_fix.py", "IL004_ok_pretrained_wrapper.py"])
@pytest.mark.parametrize("flags", [("--fix",), ("--fix", "--unsafe-fixes")])
def test_fix_never_moves_an_init_over_pretrained_modules(tmp_path: Path, fixture: str, flags):
    """Moving the init past a pretrained or loaded module would re-initialise it: no fix, safe or
    unsafe, is applied, and the file is left byte for byte as it was."""
    path = _copy(tmp_path, fixture)
    before = path.read_bytes()
    result = _run(*flags, "--no-cache", str(path))
    assert path.read_bytes() == before
    if fixture.startswith("IL004_ok"):
        assert result.exit_code == 0
    else:
        assert result.exit_code == 1 and "pretrained" in _stdout(result)
