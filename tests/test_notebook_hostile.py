"""Bad notebooks are messages: JSON that Python's json module reads but no notebook should hold
(NaN and Infinity, a key twice in one object, outputs nested thousands deep, a number of
thousands of digits, a lone surrogate in a cell) is IL902 for that notebook; the run goes on,
and `--fix` leaves the notebook byte for byte as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT

LENET = (FIXTURES / "IL004_lenet_seed004.py").read_text(encoding="utf-8")


def _notebook(outputs: str = "[]", metadata: str = "{}", extra: str = "") -> str:
    cell = f'{{"cell_type": "code", "metadata": {{}}, "execution_count": null, "outputs": {outputs}, "source": {json.dumps(LENET)}}}'
    return f'{{"cells": [{cell}{extra}], "metadata": {metadata}, "nbformat": 4, "nbformat_minor": 5}}'


HOSTILE = {
    "nan": (_notebook(metadata='{"loss": NaN}'), "NaN"),
    "infinity": (_notebook(outputs='[{"output_type": "execute_result", "data": {"v": -Infinity}, "metadata": {}}]'), "Infinity"),
    "duplicate-key": (_notebook(metadata='{"kernelspec": {}, "kernelspec": {"language": "python"}}'), "twice"),
    "duplicate-source": (_notebook().replace('"source":', '"source": "x = 1\\n", "source":', 1), "twice"),
    "deep-outputs": (_notebook(outputs="[" * 10_000 + "]" * 10_000), "nested too deeply"),
    "deep-objects": (_notebook(metadata='{"a":' * 10_000 + "1" + "}" * 10_000), "nested too deeply"),
    "huge-number": (_notebook(metadata='{"n": ' + "9" * 5_000 + "}"), "digits"),
    "lone-surrogate": (_notebook(extra=', {"cell_type": "code", "metadata": {}, "outputs": [], "source": "x = \\"\\ud800\\"\\n"}'), "surrogate"),
}


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "initlint", "check", "--no-cache", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_notebook_is_il902_and_the_run_goes_on(tmp_path: Path, name: str):
    text, reason = HOSTILE[name]
    (tmp_path / "bad.ipynb").write_text(text, encoding="utf-8")
    (tmp_path / "good.ipynb").write_text(_notebook(), encoding="utf-8")
    before = (tmp_path / "bad.ipynb").read_bytes()
    for args in ((".",), ("--fix", ".")):
        result = _run(tmp_path, *args)
        lines = result.stdout.splitlines()
        mine = [line for line in lines if line.startswith("bad.ipynb")]
        assert len(mine) == 1 and mine[0].startswith("bad.ipynb:1:1: IL902 cannot read notebook") and reason in mine[0], lines
        assert "Traceback" not in result.stderr and result.returncode == 1, result.stderr[-2000:]
        assert (tmp_path / "bad.ipynb").read_bytes() == before
    # the good notebook was linted, then fixed, next to it
    assert json.loads((tmp_path / "good.ipynb").read_text())["cells"][0]["source"] != LENET


def test_outputs_nested_deep_but_readable_still_fix(tmp_path: Path):
    """900 levels: json reads them; the rewrite of the cell's source must not recurse on them."""
    path = tmp_path / "deep.ipynb"
    path.write_text(_notebook(outputs="[" + "[" * 900 + "]" * 900 + "]"), encoding="utf-8")
    result = _run(tmp_path, "--fix", "deep.ipynb")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(path.read_text())
    assert data["cells"][0]["source"] == (FIXTURES / "IL004_lenet_seed004.fixed").read_text(encoding="utf-8")
