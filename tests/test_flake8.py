"""The flake8 plugin, through flake8 itself: the same findings, rows and (1-based) columns as `initlint`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import BAD_SCRIPT, FIXTURES, SEED_CASES
from initlint.cli import main

pytest.importorskip("flake8", reason="flake8 is not installed (pip install -e '.[test]')")

LINE = re.compile(r"^(?P<path>.+?):(?P<row>\d+):(?P<col>\d+): (?P<code>IL\d{3}) (?P<message>.*)$")

CASES = sorted(SEED_CASES.glob("*.py")) + sorted(p for p in FIXTURES.glob("*.py") if not p.name.startswith("IL004_ok"))[:12]


def _parse(output: str):
    # initlint marks fixable findings with `[*]` (ruff's marker); flake8 has no such column
    return sorted((Path(m["path"]).name, int(m["row"]), int(m["col"]), m["code"], m["message"].removeprefix("[*] ")) for m in map(LINE.match, output.splitlines()) if m)


def _flake8(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "flake8", "--isolated", "--select", "IL", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


def _initlint(paths, cwd: Path) -> str:
    import os

    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, ["check", "--no-cache", "-q", *map(str, paths)]).output
    finally:
        os.chdir(old)


def test_the_entry_point_is_installed():
    result = subprocess.run([sys.executable, "-m", "flake8", "--version"], capture_output=True, text=True, timeout=120)
    assert "initlint" in result.stdout, result.stdout + result.stderr


def test_same_findings_and_columns_as_initlint(tmp_path):
    if not SEED_CASES.is_dir():
        pytest.skip("the seed cases are not here")
    for case in CASES:
        shutil.copyfile(case, tmp_path / case.name)
    names = [case.name for case in CASES]
    flake8 = _flake8(*names, cwd=tmp_path)
    assert flake8.returncode in (0, 1), flake8.stderr
    ours = _parse(_initlint(names, tmp_path))
    theirs = _parse(flake8.stdout)
    assert ours, "the cases should have findings"
    assert theirs == ours
    assert {"IL001", "IL002", "IL003", "IL004", "IL005"} <= {code for _, _, _, code, _ in theirs}


def test_columns_count_from_one(tmp_path):
    """TorchFix's plugin reports one column too far; an indented call must show its real column."""
    (tmp_path / "m.py").write_text(
        "import torch\n"
        "def build():\n"
        "    w2 = torch.ones(8, 1, requires_grad=True)\n"
        "    w1 = torch.ones(4, 8, requires_grad=True)\n"
        "    return (torch.randn(2, 4) @ w1).relu() @ w2\n"
    )
    result = _flake8("m.py", cwd=tmp_path)
    [(name, row, col, code, _)] = _parse(result.stdout)
    assert (row, col, code) == (4, 5, "IL001")
    assert (row, col, code) == _parse(_initlint(["m.py"], tmp_path))[0][1:4]


def test_flake8_noqa_and_other_codes(tmp_path):
    (tmp_path / "m.py").write_text(BAD_SCRIPT.replace("grad=True)\nloss", "grad=True)  # noqa: IL001\nloss"))
    assert _parse(_flake8("m.py", cwd=tmp_path).stdout) == []
    assert _flake8("--select", "E", "m.py", cwd=tmp_path).returncode in (0, 1)


def test_project_config_is_read(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\nignore = ['IL001']\n")
    (tmp_path / "m.py").write_text(BAD_SCRIPT)
    assert _parse(_flake8("m.py", cwd=tmp_path).stdout) == []
