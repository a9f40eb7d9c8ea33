"""Output under hostile conditions: file names that are not valid UTF-8 are escaped in every
format (SARIF percent-encodes the real bytes, JSON never carries a lone surrogate), and a report
that cannot be written (a full disk) is one error line and exit 2, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT

SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
FINDING = (FIXTURES / "IL001_fill_and_tensors.py").read_bytes()
FIXABLE = (FIXTURES / "IL004_lenet_seed004.py").read_bytes()
NAME = b"caf\xe9 \xff.py"  # Latin-1 bytes in a name: no UTF-8 decoding of it exists

pytestmark = pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="needs a file system that takes any bytes in names")


def _run(cwd: Path, *args: str, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    # A UTF-8 locale with Python's strict error handler on stdout (not the C locale's
    # surrogateescape): an unescaped file name would raise UnicodeEncodeError here.
    env = dict(os.environ, PYTHONPATH=str(ROOT), LC_ALL="C.UTF-8", PYTHONUTF8="0", PYTHONIOENCODING="utf-8:strict")
    command = [sys.executable, "-m", "initlint", *args]
    return subprocess.run(command, cwd=cwd, env=env, stdout=stdout, stderr=subprocess.PIPE, timeout=120)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / os.fsdecode(NAME)).write_bytes(FINDING)
    return tmp_path


@pytest.mark.parametrize("fmt", ["concise", "full", "github", "json", "sarif"])
def test_a_file_name_that_is_not_utf8_is_escaped(tree: Path, fmt: str):
    result = _run(tree, "check", "--no-cache", "--format", fmt, ".")
    assert result.returncode == 1, result.stderr.decode("utf-8", "replace")[-2000:]
    text = result.stdout.decode("utf-8")  # strict: the output is valid UTF-8
    assert "\\udc" not in text and "\\ud8" not in text  # no lone surrogate, escaped or raw
    if fmt == "json":
        (first, *_) = json.loads(text)
        assert first["filename"].endswith("caf\\xe9 \\xff.py")
    elif fmt == "sarif":
        jsonschema = pytest.importorskip("jsonschema")
        log = json.loads(text)
        jsonschema.validate(log, json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))
        uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri == "caf%E9%20%FF.py"  # the file's real bytes, percent-encoded
    else:
        assert "caf\\xe9 \\xff.py" in text


def test_the_diff_of_a_file_name_that_is_not_utf8(tmp_path: Path):
    (tmp_path / os.fsdecode(NAME)).write_bytes(FIXABLE)
    result = _run(tmp_path, "check", "--no-cache", "--diff", ".")
    assert result.returncode == 1, result.stderr.decode("utf-8", "replace")[-2000:]
    assert "--- a/caf\\xe9 \\xff.py" in result.stdout.decode("utf-8")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize(
    "args",
    [
        ("check", "--no-cache", "."),
        ("check", "--no-cache", "--format", "json", "."),
        ("check", "--no-cache", "--format", "sarif", "."),
        ("check", "--no-cache", "--format", "full", "."),
        ("check", "--no-cache", "--diff", "."),
        ("rule", "--all"),
    ],
    ids=["concise", "json", "sarif", "full", "diff", "rule-docs"],
)
def test_a_report_to_a_full_disk_is_one_error_line_and_exit_2(tmp_path: Path, args):
    (tmp_path / "model.py").write_bytes(FIXABLE)
    with open("/dev/full", "wb") as full:
        result = _run(tmp_path, *args, stdout=full)
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 2, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("initlint: error:")]
    assert len(errors) == 1 and errors[0].startswith("initlint: error: cannot write the report"), stderr
    assert errors[0].endswith("No space left on device"), stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
