"""A run that parses nothing imports neither libcst nor the rules' analysis (only their light
declarations, which the screen reads); static mode never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from initlint.config import all_codes

from conftest import FIXTURES

PROBE = """
import json, sys
from initlint.cli import main
sys.argv = ["initlint", "check", "--no-cache", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "modules": sorted(m for m in sys.modules if m.split(".")[0] in ("libcst", "torch", "initlint"))}))
"""


def _run(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_nothing_to_check_imports_no_libcst(tmp_path: Path):
    quiet = tmp_path / "quiet.py"
    quiet.write_text("import os\n\nprint(os.getcwd())\n")
    result = _run(str(quiet))
    assert result["code"] == 0
    assert not [m for m in result["modules"] if m.startswith(("libcst", "torch"))], result["modules"]
    heavy = [m for m in result["modules"] if m.startswith("initlint.rules._") and m != "initlint.rules._declarations" or m in ("initlint.facts", "initlint.targets", "initlint.model")]
    assert not heavy, heavy


def test_static_mode_never_imports_torch():
    result = _run(str(FIXTURES / "IL001_fill_and_tensors.py"))
    assert result["code"] == 1
    assert "libcst" in result["modules"]
    assert not [m for m in result["modules"] if m.startswith("torch")]


def test_the_static_codes_read_from_module_names_match_the_registry():
    from initlint.rules import BY_CODE

    assert all_codes() == tuple(sorted(BY_CODE))
