"""Configuration as ruff resolves it: each file takes its nearest configuration, `--config`
overrides, run-wide settings come from the current folder's, and every broken file on the way up
is an exit-2 message that names it (a diagnostic in flake8 and the language server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from initlint.cli import main
from initlint.config import ConfigError, Resolver, load

from conftest import BAD_SCRIPT

BAD = BAD_SCRIPT


def lint(*args: str):
    return CliRunner().invoke(main, ["check", "--no-cache", *args])


def found(result) -> list:
    return sorted(line.split(": ")[0] for line in result.stdout.splitlines() if ": IL" in line)


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """top/ (ignores nothing) with a.py, and top/proj/ (its own pyproject) with b.py and more/c.py."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'top'\n")
    (tmp_path / "a.py").write_text(BAD)
    proj = tmp_path / "proj"
    (proj / "more").mkdir(parents=True)
    (proj / "pyproject.toml").write_text("[tool.initlint]\nper-file-ignores = { 'more/*' = ['IL001'] }\n")
    (proj / "b.py").write_text(BAD)
    (proj / "more" / "c.py").write_text(BAD)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_each_file_uses_its_nearest_configuration(tree):
    # proj's per-file-ignores hold whichever path comes first on the command line
    for args in (("a.py", "proj"), ("proj", "a.py"), (".",), ("proj/more/c.py", "a.py")):
        result = lint(*args)
        assert "proj/more/c.py:3:1" not in found(result), args
    assert found(lint("a.py", "proj")) == ["a.py:3:1", "proj/b.py:3:1"]
    # from inside the project, too
    os.chdir(tree / "proj")
    assert found(lint(".")) == ["b.py:3:1"]


def test_a_pyproject_without_the_table_is_skipped_but_read(tree):
    (tree / "proj" / "more" / "pyproject.toml").write_text("[project]\nname = 'more'\n")
    assert "proj/more/c.py:3:1" not in found(lint("proj"))  # proj's table still applies


def test_initlint_toml_files_come_first_and_use_top_level_keys(tree):
    (tree / "proj" / "initlint.toml").write_text("ignore = ['IL001']\n")
    assert found(lint("proj")) == []
    (tree / "proj" / ".initlint.toml").write_text("select = ['IL002']\nextend-select = ['IL001']\n")
    assert found(lint("proj")) == ["proj/b.py:3:1", "proj/more/c.py:3:1"]  # .initlint.toml wins, its own rules


def test_config_option_overrides_every_discovered_file(tree):
    (tree / "strict.toml").write_text("select = ['ALL']\n")
    assert found(lint("--config", "strict.toml", ".")) == ["a.py:3:1", "proj/b.py:3:1", "proj/more/c.py:3:1"]
    # a pyproject given explicitly is read as one ([tool.initlint])
    assert found(lint("--config", "proj/pyproject.toml", "proj")) == ["proj/b.py:3:1"]
    # paths in it are relative to its folder: `more/*` is proj/more, not ./more
    assert found(lint("--config", "proj/pyproject.toml", "a.py", "proj/more")) == ["a.py:3:1"]


def test_inline_config_overrides(tree):
    assert found(lint("--config", "ignore = ['IL001']", ".")) == []
    result = lint("--config", "format = 'json'", "a.py")
    assert json.loads(result.stdout)[0]["code"] == "IL001"
    result = lint("--config", "format = 'xml'", "a.py")
    assert result.exit_code == 2 and "xml" in result.stderr
    result = lint("--config", "nonsense", "a.py")
    assert result.exit_code == 2 and "nonsense" in result.stderr


def test_run_wide_settings_come_from_the_current_folder(tree):
    (tree / "proj" / "pyproject.toml").write_text("[tool.initlint]\nformat = 'json'\ncache-dir = 'proj-cache'\n")
    result = CliRunner().invoke(main, ["check", "proj"])
    assert result.stdout.startswith("proj/b.py:3:1: IL001")  # concise: proj's format is not the run's
    assert (tree / ".initlint_cache").is_dir() and not (tree / "proj" / "proj-cache").exists()
    os.chdir(tree / "proj")
    result = CliRunner().invoke(main, ["check", "."])
    assert json.loads(result.stdout)[0]["filename"] == "b.py"  # here it is the current folder's
    assert (tree / "proj" / "proj-cache").is_dir()


def test_cache_dir_expands_the_home_folder(tree, monkeypatch):
    monkeypatch.setenv("HOME", str(tree / "home"))
    (tree / "pyproject.toml").write_text("[tool.initlint]\ncache-dir = '~/cache'\n")
    assert Resolver({}).globals.cache_dir == str(tree / "home" / "cache")


BROKEN = {
    "not UTF-8": (b"[tool.initlint]\nselect = ['IL001']  # caf\xe9\n", "not valid UTF-8"),
    "not TOML": (b"[tool.initlint\n", "invalid TOML"),
    "tool is a number": (b"tool = 5\n", "`tool` must be a table, not an integer"),
    "tool.initlint is a string": (b"[tool]\ninitlint = 'on'\n", "`tool.initlint` must be a table, not a string"),
    "unknown key": (b"[tool.initlint]\nselcet = ['IL001']\n", "unknown key `selcet` (did you mean `select`?)"),
}
WRONG_TYPES = {
    "select": ("5", "must be an array of strings, not an integer"),
    "ignore": ("[1]", "holds an integer"),
    "extend-select": ("{ a = 1 }", "not a table"),
    "per-file-ignores": ("['a']", "must be a table of pattern = [codes], not an array"),
    "extend-per-file-ignores": ("{ 'x.py' = 3 }", "'x.py' must be an array of strings"),
    "exclude": ("true", "not a boolean"),
    "extend-exclude": ("[[1]]", "holds an array"),
    "force-exclude": ("'yes'", "must be true or false, not a string"),
    "respect-gitignore": ("1", "must be true or false, not an integer"),
    "format": ("1.5", "must be a string, not a float"),
    "output-format": ("'xml'", "unknown format 'xml'"),
    "extend-init-modules": ("2024-01-01", "not a"),
    "lint-tests": ("'on'", "must be true or false, not a string"),
    "jobs": ("-1", "must be a non-negative integer, not -1"),
    "cache-dir": ("[]", "must be a string, not an array"),
    "runtime": ("3", "must be a table, not an integer"),  # its contents: tests/test_runtime_settings.py
}


def _bad(folder: Path, content: bytes) -> Path:
    path = folder / "pyproject.toml"
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_pyproject_is_a_message_naming_it(tree, case):
    content, reason = BROKEN[case]
    path = _bad(tree / "proj", content)
    result = lint("proj")
    assert result.exit_code == 2, result.output
    assert str(path) in result.stderr and reason in result.stderr
    assert "Traceback" not in result.output


def test_every_key_checks_its_type():
    from initlint.config_files import KEYS

    assert set(WRONG_TYPES) == set(KEYS)  # a new key needs a case here


@pytest.mark.parametrize("key", sorted(WRONG_TYPES))
def test_a_value_of_the_wrong_type_names_the_file_and_the_key(tree, key):
    value, reason = WRONG_TYPES[key]
    path = _bad(tree / "proj", f"[tool.initlint]\n{key} = {value}\n".encode())
    result = lint("proj/b.py")
    assert result.exit_code == 2, result.output
    assert str(path) in result.stderr and f"`{key}`" in result.stderr and reason in result.stderr, result.stderr


def test_broken_files_anywhere_on_the_way_up(tree):
    """Above the file, below its configuration (a pyproject without the table), or in a folder
    met while walking: each stops the run with its own name."""
    deep = tree / "proj" / "pkg" / "sub"
    deep.mkdir(parents=True)
    (deep / "m.py").write_text(BAD)
    middle = _bad(tree / "proj" / "pkg", b"tool = 5\n")
    for args in (("proj/pkg/sub/m.py",), ("proj",), (".",)):
        result = lint(*args)
        assert result.exit_code == 2 and str(middle) in result.stderr, (args, result.output)
    middle.unlink()
    walked = _bad(deep, b"[tool.initlint]\njobs = 'many'\n")
    result = lint("proj")
    assert result.exit_code == 2 and str(walked) in result.stderr and "`jobs`" in result.stderr


def test_the_current_folders_broken_config_stops_even_files_elsewhere(tree, tmp_path_factory):
    other = tmp_path_factory.mktemp("other")
    (other / "x.py").write_text(BAD)
    _bad(tree, b"tool = 5\n")
    result = lint(str(other / "x.py"))
    assert result.exit_code == 2 and "tool" in result.stderr


def test_stdin_filename_takes_its_configuration(tree):
    result = CliRunner().invoke(main, ["check", "--no-cache", "--stdin-filename", "proj/more/c.py", "-"], input=BAD)
    assert result.exit_code == 0 and result.stdout == ""
    result = CliRunner().invoke(main, ["check", "--no-cache", "--stdin-filename", "proj/b.py", "-"], input=BAD)
    assert result.exit_code == 1 and result.stdout.startswith("proj/b.py:3:1: IL001")


def test_load_and_resolver_raise_config_error(tree):
    _bad(tree / "proj", b"tool = 5\n")
    with pytest.raises(ConfigError, match="must be a table"):
        load(None, tree / "proj" / "b.py", {})
    assert load(None, tree / "a.py", {}).select  # the top is fine on its own


# ---- the flake8 plugin and the language server: a message, never a crash ----------------------


@pytest.mark.parametrize("case", ["not UTF-8", "tool is a number"])
def test_flake8_reports_a_broken_configuration_on_the_file(tree, case):
    pytest.importorskip("flake8")
    _bad(tree / "proj", BROKEN[case][0])
    done = subprocess.run([sys.executable, "-m", "flake8", "--isolated", "--select", "IL", "proj/b.py", "a.py"],
                          cwd=tree, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("proj/b.py:1:1: IL904 ") and "pyproject.toml" in line for line in lines), done.stdout
    assert "a.py:3:1: IL001 " in done.stdout  # files under a sound configuration are checked as usual


def test_language_server_reports_a_broken_configuration(tree):
    from initlint.lsp import lint_cells, lint_text

    _bad(tree / "proj", BROKEN["not UTF-8"][0])
    [diagnostic] = lint_text(BAD, str(tree / "proj" / "b.py"))
    assert diagnostic.code == "IL904" and "not valid UTF-8" in diagnostic.message
    cells = lint_cells([("cell-1", "import torch.nn as nn\n"), ("cell-2", BAD)], str(tree / "proj" / "nb.ipynb"))
    assert [d.code for d in cells["cell-1"]] == ["IL904"] and cells["cell-2"] == []
    assert [d.code for d in lint_text(BAD, str(tree / "a.py"))] == ["IL001"]


def test_lint_tests_judges_test_code(tmp_path, monkeypatch):
    """Test code is left alone by default; `lint-tests = true` judges it like any other."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_model.py").write_text(BAD)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert CliRunner().invoke(main, ["check", "--no-cache", "."]).exit_code == 0
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\nlint-tests = true\n")
    result = CliRunner().invoke(main, ["check", "--no-cache", "."])
    assert result.exit_code == 1 and "tests/test_model.py:3:1: IL001" in result.stdout


def test_a_project_inside_a_folder_named_test_is_still_judged(tmp_path, monkeypatch):
    """Only the path inside the project says whether a file is test code."""
    project = tmp_path / "test" / "proj"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (project / "model.py").write_text(BAD)
    monkeypatch.chdir(project)
    result = CliRunner().invoke(main, ["check", "--no-cache", str(project / "model.py")])
    assert result.exit_code == 1 and "IL001" in result.stdout
