"""`python -m initlint` never imports the project's own modules: a `tokenize.py`, `json.py` or
`click.py` in the working directory (which `python -m` puts first on sys.path) is linted, not
run in place of the real module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT

SHADOWS = ("tokenize", "json", "click", "libcst", "re", "enum", "dataclasses", "concurrent", "multiprocessing", "hashlib", "tempfile")


@pytest.mark.parametrize(
    "args",
    [
        ("check", "--no-cache", "."),
        ("check", "--jobs", "2", "--format", "json", "."),  # workers, the cache, the json reporter
        ("check", "--no-cache", "--format", "sarif", "--diff", "."),
        ("check", "--no-cache", "--fix", "."),
        ("rule", "IL001"),
    ],
    ids=["check", "workers-json", "sarif-diff", "fix", "rule"],
)
def test_modules_in_the_working_directory_are_not_imported(tmp_path: Path, args):
    for name in SHADOWS:
        (tmp_path / f"{name}.py").write_text(f"open({str(tmp_path / ('IMPORTED_' + name))!r}, 'w').close()\nraise SystemExit('shadowed {name}')\n")
    for i in range(10):
        (tmp_path / f"model{i}.py").write_bytes((FIXTURES / "IL004_lenet_seed004.py").read_bytes())
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "initlint", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("IMPORTED_")] == []
    assert "shadowed" not in result.stdout + result.stderr
    assert result.returncode in (0, 1), result.stderr[-2000:]
    if "json" in args:
        assert len({d["filename"] for d in json.loads(result.stdout)}) == 10
