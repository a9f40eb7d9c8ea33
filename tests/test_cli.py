"""The command line through click's CliRunner: exit codes, streams, formats, verbs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from initlint import __version__
from initlint.cli import main
from initlint.editors import problem_matcher_path

# One finding, at 6:9: the units of self.fc are tied for ever (no bias, and self.out constant too;
# self.out has one unit, so it is not reported itself).
BAD = (
    "import torch.nn as nn\n"
    "class Net(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.fc = nn.Linear(4, 8, bias=False); self.out = nn.Linear(8, 1, bias=False)\n"
    "        nn.init.constant_(self.fc.weight, 0.5)\n"
    "        nn.init.constant_(self.out.weight, 0.5)\n"
    "    def forward(self, x):\n"
    "        return self.out(self.fc(x).relu())\n"
)
CLEAN = "import torch.nn as nn\nlayer = nn.Linear(4, 8)\nnn.init.zeros_(layer.bias)\n"
CONCISE = re.compile(r"^(?P<path>.+?):(?P<row>\d+):(?P<col>\d+): (?P<code>IL\d{3}) (?P<msg>.+)$")


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "bad.py").write_text(BAD)
    (tmp_path / "src" / "clean.py").write_text(CLEAN)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_plain_paths_mean_check(project):
    plain, explicit = run("src/"), run("check", "src/")
    assert plain.exit_code == explicit.exit_code == 1
    assert plain.stdout == explicit.stdout
    lines = plain.stdout.splitlines()
    assert len(lines) == 1
    match = CONCISE.match(lines[0])
    assert match and match["path"] == "src/bad.py" and match["row"] == "6" and match["col"] == "9" and match["code"] == "IL001"
    assert "Found 1 problem in 1 file" in plain.stderr
    assert "Found" not in plain.stdout


def test_clean_file_exits_zero(project):
    result = run("src/clean.py")
    assert result.exit_code == 0
    assert result.stdout == ""


def test_no_paths_means_the_current_folder(project):
    for args in ((), ("check",)):
        result = run(*args)
        assert result.exit_code == 1, result.output
        assert result.stdout.startswith("src/bad.py:6:9: IL001 ")
    (project / "src" / "bad.py").unlink()
    assert run().exit_code == 0


def test_version():
    result = run("--version")
    assert result.exit_code == 0 and __version__ in result.stdout


def test_rule_docs_and_list():
    result = run("rule", "IL001")
    assert result.exit_code == 0
    assert "## What it does" in result.stdout and "constant-weight-init" in result.stdout
    listing = run("rules")
    assert listing.exit_code == 0
    assert all(code in listing.stdout for code in ("IL001", "IL002", "IL003", "IL005"))
    assert run("rule", "IL999").exit_code == 2


@pytest.mark.parametrize("fmt", ["concise", "full", "json", "github", "sarif"])
def test_every_format_parses(project, fmt):
    result = run("check", "--format", fmt, "src/")
    assert result.exit_code == 1
    out = result.stdout
    if fmt == "json":
        data = json.loads(out)
        assert [d["code"] for d in data] == ["IL001"]
        assert data[0]["location"] == {"row": 6, "column": 9}
    elif fmt == "sarif":
        data = json.loads(out)
        assert data["version"] == "2.1.0"
        assert [r["id"] for r in data["runs"][0]["tool"]["driver"]["rules"]] == ["IL001"]
        assert data["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "src/bad.py"
    elif fmt == "github":
        assert out.startswith("::error file=src/bad.py,line=6,col=9,")
    elif fmt == "full":
        assert "nn.init.constant_(self.fc.weight, 0.5)" in out and "^" in out
    else:
        assert CONCISE.match(out.splitlines()[0])


def test_format_from_config_and_cli_wins(project):
    (project / "pyproject.toml").write_text("[tool.initlint]\nformat = 'json'\n")
    assert json.loads(run("src/").stdout)[0]["code"] == "IL001"
    assert CONCISE.match(run("--format", "concise", "src/").stdout.splitlines()[0])


def test_select_and_ignore(project):
    assert run("--ignore", "IL001", "src/").exit_code == 0
    assert run("--select", "IL00", "src/").exit_code == 1
    assert run("--select", "IL002", "src/").exit_code == 0
    (project / "pyproject.toml").write_text("[tool.initlint]\nignore = ['IL0']\n")
    assert run("src/").exit_code == 0
    assert run("--select", "IL001", "src/").exit_code == 0  # ignore from config still applies


def test_per_file_ignores(project):
    (project / "pyproject.toml").write_text("[tool.initlint]\nper-file-ignores = { 'src/bad.py' = ['IL001'] }\n")
    assert run("src/").exit_code == 0
    (project / "pyproject.toml").write_text("[tool.initlint]\nper-file-ignores = { 'src/*' = ['IL005'] }\n")
    assert run("src/").exit_code == 1


@pytest.mark.parametrize(
    "config,needle",
    [
        ("[tool.initlint]\nselcet = ['IL001']\n", "selcet"),
        ("[tool.initlint]\nselect = ['IL777']\n", "IL777"),
        ("[tool.initlint]\nformat = 'xml'\n", "xml"),
        ("[tool.initlint\n", "invalid TOML"),
    ],
)
def test_config_errors_exit_two_and_name_the_problem(project, config, needle):
    (project / "pyproject.toml").write_text(config)
    result = run("src/")
    assert result.exit_code == 2
    assert needle in result.stderr


def test_unknown_code_on_command_line(project):
    result = run("--select", "XX1", "src/")
    assert result.exit_code == 2 and "XX1" in result.stderr


def test_exclude_and_extend_exclude(project):
    (project / "src" / "gen").mkdir()
    (project / "src" / "gen" / "bad2.py").write_text(BAD)
    out = run("src/").stdout
    assert "src/gen/bad2.py" in out
    (project / "pyproject.toml").write_text("[tool.initlint]\nextend-exclude = ['gen']\n")
    out = run("src/").stdout
    assert "bad2.py" not in out and "src/bad.py" in out
    # named explicitly: linted anyway, unless --force-exclude (what pre-commit passes)
    assert run("src/gen/bad2.py").exit_code == 1
    assert run("--force-exclude", "src/gen/bad2.py").exit_code == 0


def test_default_excludes_skip_virtualenvs_and_builds(project):
    for folder in (".venv/lib", "build", "dist", "node_modules/x", "__pycache__", ".git", "myenv"):
        (project / folder).mkdir(parents=True, exist_ok=True)
        (project / folder / "bad.py").write_text(BAD)
    (project / "myenv" / "pyvenv.cfg").write_text("home = /usr\n")
    out = run(".").stdout
    assert out.count("IL001") == 1 and "src/bad.py" in out


def test_noqa_in_every_format(project):
    (project / "src" / "bad.py").write_text(BAD.replace("0.5)\n", "0.5)  # noqa: IL001\n"))
    for fmt in ("concise", "json", "sarif", "github", "full"):
        result = run("--format", fmt, "src/")
        assert result.exit_code == 0, (fmt, result.stdout)


def test_exit_zero(project):
    result = run("--exit-zero", "src/")
    assert result.exit_code == 0 and "IL001" in result.stdout


def test_parallel_output_is_identical_to_serial(project):
    for i in range(20):
        (project / "src" / f"m{i:02}.py").write_text(BAD if i % 3 else CLEAN)
    serial = run("--jobs", "1", "src/")
    parallel = run("--jobs", "2", "src/")
    assert serial.exit_code == parallel.exit_code == 1
    assert serial.stdout == parallel.stdout
    assert serial.stdout.count("IL001") == 14  # 13 of the 20 new files, and bad.py


def test_problem_matcher_captures_every_line_of_real_output(root, monkeypatch):
    monkeypatch.chdir(root)
    matcher = json.loads(Path(problem_matcher_path()).read_text())
    pattern = matcher["problemMatcher"][0]["pattern"][0]
    regex = re.compile(pattern["regexp"])
    result = run("fixtures/")
    # notebook findings (`nb.ipynb:cell N:row:col`) are left out on purpose: their rows count from the cell
    lines = [line for line in result.stdout.splitlines() if ".ipynb:cell " not in line]
    assert result.exit_code == 1 and len(lines) > 20
    for line in lines:
        match = regex.match(line)
        assert match, line
        path, row, col, code, message = (match.group(pattern[k]) for k in ("file", "line", "column", "code", "message"))
        assert (root / path).is_file() and path.startswith("fixtures/")
        source_lines = (root / path).read_text().splitlines()
        assert 1 <= int(row) <= len(source_lines) and 1 <= int(col) <= len(source_lines[int(row) - 1]) + 1
        assert re.fullmatch(r"IL\d{3}", code) and message and not message.startswith(" ")


def test_extend_init_modules(project):
    (project / "src" / "wrapped.py").write_text(
        "import torch.nn as nn\n"
        "from transformers import initialization as init\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(4, 8, bias=False); self.out = nn.Linear(8, 1, bias=False)\n"
        "        init.constant_(self.fc.weight, 0.5)\n"
        "        init.constant_(self.out.weight, 0.5)\n"
        "    def forward(self, x):\n"
        "        return self.out(self.fc(x).relu())\n"
    )
    assert run("src/wrapped.py").exit_code == 0
    (project / "pyproject.toml").write_text("[tool.initlint]\nextend-init-modules = ['transformers.initialization']\n")
    result = run("src/wrapped.py")
    assert result.exit_code == 1 and "src/wrapped.py:7:9: IL001" in result.stdout
    # inside the library itself the wrapper is imported relatively
    source = (project / "src" / "wrapped.py").read_text()
    (project / "src" / "wrapped.py").write_text(source.replace("from transformers import", "from ... import"))
    assert "src/wrapped.py:7:9: IL001" in run("src/wrapped.py").stdout
    # a relative module that merely ends like torch's `init` is not torch.nn.init
    (project / "src" / "wrapped.py").write_text(source.replace("from transformers import initialization", "from . import init"))
    assert run("src/wrapped.py").exit_code == 0


def test_suppression_forms(project):
    variants = {
        "  # noqa": 0,
        "  # noqa: IL001": 0,
        "  # noqa: IL002, IL001": 0,
        "  # noqa:IL001": 0,
        "  # initlint: ignore[IL001]": 0,
        "  # initlint: ignore[IL0]": 0,
        "  # noqa: IL002": 1,
        "  # initlint: ignore[IL005]": 1,
        "  # a comment mentioning noqa? no": 1,
    }
    for comment, expected in variants.items():
        (project / "src" / "bad.py").write_text(BAD.replace("0.5)\n", "0.5)" + comment + "\n"))
        assert run("src/bad.py").exit_code == expected, comment
    # a noqa inside a string is not a comment
    (project / "src" / "bad.py").write_text(BAD + "s = '# noqa'\n")
    assert run("src/bad.py").exit_code == 1
