"""What a ruff user reaches for: `.` by default, typos as usage errors, --statistics, -o,
--show-fixes and [*], colour, --quiet/--silent, stdin, .gitignore, --watch, and `initlint rule`
for every code."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import BAD_SCRIPT, FIXTURES
from initlint.cli import main

BAD = BAD_SCRIPT
LENET = (FIXTURES / "IL004_lenet_seed004.py").read_text(encoding="utf-8")
LENET_FIXED = (FIXTURES / "IL004_lenet_seed004.fixed").read_text(encoding="utf-8")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(*args: str, **kw):
    return CliRunner().invoke(main, list(args), **kw)


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "bad.py").write_text(BAD)
    (tmp_path / "src" / "lenet.py").write_text(LENET)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _cli(*args: str, cwd: Path, env=None, input=None) -> subprocess.CompletedProcess:
    """initlint in a process of its own (stdout is a pipe, as in CI)."""
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "initlint", *args], cwd=cwd, env=environ, input=input,
                          capture_output=True, text=True, timeout=120)


# ---- the first word ---------------------------------------------------------------------------


def test_a_typo_of_a_command_is_a_usage_error_naming_the_commands(project):
    result = run("chekc", "src")
    assert result.exit_code == 2
    assert "'chekc' is neither a command nor an existing file or folder" in result.output
    assert "Did you mean `initlint check`?" in result.output
    for command in ("check", "rule", "rules", "lsp", "runtime", "matcher-path"):
        assert command in result.output
    assert run("rulez").exit_code == 2


def test_an_existing_path_or_an_option_first_means_check(project):
    (project / "rule").mkdir()  # a folder named like a command is still the command
    assert run("src").exit_code == 1
    assert run("--select", "IL001", "src/bad.py").exit_code == 1
    assert run("rule", "IL001").exit_code == 0


# ---- output -------------------------------------------------------------------------------------


def test_statistics_text_and_json(project):
    (project / "src" / "more.py").write_text(BAD)
    result = run("--statistics", "src")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["2\tIL001\t[ ] constant-weight-init", "1\tIL004\t[*] init-before-layers"]
    data = json.loads(run("--statistics", "--format", "json", "src").stdout)
    assert data == [
        {"code": "IL001", "name": "constant-weight-init", "count": 2, "fixable": False},
        {"code": "IL004", "name": "init-before-layers", "count": 1, "fixable": True},
    ]
    assert run("--statistics", "src/bad.py").stdout.splitlines() == ["1\tIL001\tconstant-weight-init"]


def test_output_file(project):
    result = run("-o", "reports/out.json", "--format", "json", "src")
    assert result.exit_code == 1 and result.stdout == ""
    assert {d["code"] for d in json.loads((project / "reports" / "out.json").read_text())} == {"IL001", "IL004"}
    run("--output-file", "out.txt", "src/bad.py")
    assert (project / "out.txt").read_text().startswith("src/bad.py:3:1: IL001 ")
    assert run("-o", "src", "src").exit_code == 2  # a folder: click refuses it


def test_output_file_that_cannot_be_written_is_one_error_line(project):
    (project / "ro").mkdir()
    (project / "ro" / "x").write_text("")
    result = run("-o", "ro/x/out.txt", "src")  # below a file: cannot be created
    assert result.exit_code == 2
    assert "cannot write the report to ro/x/out.txt" in result.stderr and "Traceback" not in result.output


def test_fix_markers_and_show_fixes(project):
    result = run("src")
    assert "src/lenet.py:15:13: IL004 [*] " in result.stdout and "src/bad.py:3:1: IL001 W1 " in result.stdout
    assert "[*] 1 fixable with --fix." in result.stderr
    fixed = run("--fix", "--show-fixes", "src")
    assert fixed.exit_code == 1  # IL001 is left
    assert "Fixed 1 problem:\n- src/lenet.py:\n    1 × IL004 (init-before-layers)" in fixed.stderr
    assert (project / "src" / "lenet.py").read_text() == LENET_FIXED


def test_exit_non_zero_on_fix(project):
    (project / "src" / "bad.py").unlink()
    assert run("--fix", "--exit-non-zero-on-fix", "src").exit_code == 1
    assert run("--fix", "--exit-non-zero-on-fix", "src").exit_code == 0  # nothing left to fix


def test_quiet_and_silent(project):
    quiet = run("-q", "src")
    assert quiet.exit_code == 1 and quiet.stdout and quiet.stderr == ""
    silent = run("--silent", "src")
    assert silent.exit_code == 1 and silent.output == ""


def test_colour_on_a_terminal_only(project):
    plain = _cli("src", cwd=project)
    assert "\x1b[" not in plain.stdout  # piped
    forced = _cli("src", cwd=project, env={"FORCE_COLOR": "1"})
    assert "\x1b[" in forced.stdout and ANSI.sub("", forced.stdout) == plain.stdout
    for off in ({"FORCE_COLOR": "1", "NO_COLOR": "1"},):
        assert "\x1b[" not in _cli("src", cwd=project, env=off).stdout
    assert "\x1b[" not in _cli("--no-color", "src", cwd=project, env={"FORCE_COLOR": "1"}).stdout


def test_colour_follows_the_terminal(monkeypatch):
    from initlint.cli import use_color

    class Tty:
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_color(False, None, Tty()) is True
    assert use_color(True, None, Tty()) is False
    assert use_color(False, "out.txt", Tty()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color(False, None, Tty()) is False


# ---- standard input -------------------------------------------------------------------------


def test_stdin_with_dash_and_filename(project):
    result = run("-", input=BAD)
    assert result.exit_code == 1 and result.stdout.startswith("-:3:1: IL001 ")
    result = run("check", "--stdin-filename", "models/net.py", input=BAD)
    assert result.exit_code == 1 and result.stdout.startswith("models/net.py:3:1: IL001 ")
    assert run("-", input="x = 1\n").exit_code == 0
    assert run("-", "src", input=BAD).exit_code == 2  # stdin and paths do not mix


def test_stdin_fix_writes_the_code_to_stdout_and_findings_to_stderr(project):
    result = run("--fix", "--stdin-filename", "lenet.py", input=LENET)
    assert result.exit_code == 0
    assert result.stdout == LENET_FIXED
    result = run("--fix", "-", input=BAD + LENET.split("\n", 1)[1])
    assert result.exit_code == 1 and "-:3:1: IL001" in result.stderr and "IL001" not in result.stdout
    diff = run("--diff", "-", input=LENET)
    assert diff.exit_code == 1 and diff.stdout.startswith("--- a/-\n+++ b/-\n")


def test_stdin_notebook_and_bad_bytes(project):
    notebook = (FIXTURES / "notebooks" / "seeds.ipynb").read_text(encoding="utf-8")
    result = run("--stdin-filename", "nb.ipynb", input=notebook)
    assert result.exit_code == 1 and result.stdout.startswith("nb.ipynb:cell 3:4:1: IL001")
    result = run("-", input=b"\x00\x01")
    assert result.exit_code == 1 and "IL902" in result.stdout


def test_stdin_filename_under_force_exclude(project):
    (project / "pyproject.toml").write_text("[tool.initlint]\nextend-exclude = ['gen']\n")
    result = run("--force-exclude", "--stdin-filename", "gen/x.py", input=BAD)
    assert result.exit_code == 0 and result.stdout == ""
    result = run("--force-exclude", "--fix", "--stdin-filename", "gen/x.py", input=BAD)
    assert result.stdout == BAD  # passed through untouched


# ---- .gitignore -------------------------------------------------------------------------------


@pytest.fixture
def repo(project):
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    for rel in ("gen/a.py", "keep/b.py", "keep/skip.py", "notes/c.py", "src/sub/d.py", "src/sub/e.py", "local.py"):
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(BAD)
    (project / ".gitignore").write_text("gen/\nkeep/*.py\n!keep/b.py\n/local.py\nsrc/sub/\n!src/sub/\n")
    (project / "src" / "sub" / ".gitignore").write_text("e.py\n")
    (project / ".git" / "info").mkdir(exist_ok=True)
    (project / ".git" / "info" / "exclude").write_text("notes/\n")
    return project


def _files(result) -> list:
    return sorted({line.split(":")[0] for line in result.stdout.splitlines() if ": IL" in line})


def test_gitignore_is_respected_by_default(repo):
    assert _files(run(".")) == ["keep/b.py", "src/bad.py", "src/lenet.py", "src/sub/d.py"]


def test_no_respect_gitignore(repo):
    every = ["gen/a.py", "keep/b.py", "keep/skip.py", "local.py", "notes/c.py", "src/bad.py", "src/lenet.py", "src/sub/d.py", "src/sub/e.py"]
    assert _files(run("--no-respect-gitignore", ".")) == every
    (repo / "pyproject.toml").write_text("[tool.initlint]\nrespect-gitignore = false\n")
    assert _files(run(".")) == every
    assert _files(run("--respect-gitignore", ".")) == ["keep/b.py", "src/bad.py", "src/lenet.py", "src/sub/d.py"]


def test_what_is_named_is_linted_even_if_ignored(repo):
    assert _files(run("gen/a.py", "local.py")) == ["gen/a.py", "local.py"]
    assert _files(run("gen")) == ["gen/a.py"]  # a folder named on the command line is entered
    assert _files(run("--force-exclude", "keep/skip.py")) == ["keep/skip.py"]  # .gitignore is not an exclude


def test_gitignore_outside_a_repository_applies_from_the_project_root(project):
    (project / "gen").mkdir()
    (project / "gen" / "a.py").write_text(BAD)
    (project / ".gitignore").write_text("gen/\n")
    assert _files(run(".")) == ["src/bad.py", "src/lenet.py"]


# ---- --watch ----------------------------------------------------------------------------------


def _read_until(process, stream, needle: str, timeout: float = 30) -> str:
    """What `stream` printed until `needle` appeared (os.read: no buffering of its own)."""
    seen = ""
    deadline = time.monotonic() + timeout
    import select

    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{needle!r} never came; got {seen!r}"
        ready, _, _ = select.select([stream], [], [], left)
        if ready:
            chunk = os.read(stream.fileno(), 65536).decode()
            assert chunk, f"the process ended before {needle!r}; got {seen!r}"
            seen += chunk
    return seen


def test_watch_checks_again_on_every_change(project):
    (project / "src" / "lenet.py").unlink()
    process = subprocess.Popen([sys.executable, "-m", "initlint", "--watch", "--no-cache", "src"], cwd=project,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert "src/bad.py:3:1: IL001" in _read_until(process, process.stdout, "IL001")
        _read_until(process, process.stderr, "Watching for file changes")
        (project / "src" / "bad.py").write_text("x = 1\n")
        assert "All checks passed!" in _read_until(process, process.stderr, "All checks passed!")
        (project / "src" / "new.py").write_text(BAD)
        assert "src/new.py:3:1: IL001" in _read_until(process, process.stdout, "new.py")
        (project / "pyproject.toml").write_text("[tool.initlint]\nignore = 'IL9'\n")  # broken: reported, still watching
        assert "IL9" in _read_until(process, process.stderr, "initlint: error:")
        (project / "pyproject.toml").write_text("[tool.initlint]\nignore = ['IL001']\n")
        assert "All checks passed!" in _read_until(process, process.stderr, "All checks passed!")
        assert process.poll() is None
    finally:
        process.send_signal(2)  # Ctrl-C
        process.wait(timeout=30)
    assert process.returncode == 0


# ---- initlint rule ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["IL001", "IL004", "IL101", "IL104", "IL901", "IL902", "IL903", "IL904", "il102", "identical-rows"])
def test_rule_knows_every_code(code):
    result = run("rule", code)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# ") and "## What it does" in result.stdout
    assert "docs/rules.md#il" in result.stdout


def test_rule_json_all_and_unknown():
    from initlint import catalog

    data = json.loads(run("rule", "--all", "--output-format", "json").stdout)
    assert [d["code"] for d in data] == [e.code for e in catalog.entries()]
    assert {"IL001", "IL101", "IL901", "IL904"} <= {d["code"] for d in data}
    one = json.loads(run("rule", "IL004", "--output-format", "json").stdout)
    assert one["name"] == "init-before-layers" and one["fixable"] is True
    unknown = run("rule", "IL999")
    assert unknown.exit_code == 2 and "IL101" in unknown.stderr and "IL901" in unknown.stderr


def test_rules_lists_every_family_from_the_registries():
    from initlint.rules import ALL_RULES
    from initlint.runtime import codes

    out = run("rules").stdout
    for rule in ALL_RULES:
        assert re.search(rf"^{rule.code}  {re.escape(rule.name)} ", out, re.M)
    for code, name in codes.CODES:
        assert re.search(rf"^{code}  {name} ", out, re.M)
    assert re.search(r"^IL904  config-error ", out, re.M)


# ---- matcher-path -----------------------------------------------------------------------------


def test_matcher_path_prints_the_installed_matcher():
    result = run("matcher-path")
    path = Path(result.stdout.strip())
    assert result.exit_code == 0 and path.is_absolute() and path.name == "initlint-problem-matcher.json"
    assert json.loads(path.read_text())["problemMatcher"][0]["owner"] == "initlint"


def test_watch_starts_with_a_broken_configuration_and_waits_for_the_fix(project):
    (project / "src" / "lenet.py").unlink()
    (project / "pyproject.toml").write_text("tool = 5\n")
    process = subprocess.Popen([sys.executable, "-m", "initlint", "--watch", "--no-cache", "src"], cwd=project,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert "must be a table" in _read_until(process, process.stderr, "Watching for file changes")
        (project / "pyproject.toml").write_text("[tool.initlint]\n")
        assert "src/bad.py:3:1: IL001" in _read_until(process, process.stdout, "IL001")
    finally:
        process.send_signal(2)
        process.wait(timeout=30)
    assert process.returncode == 0


def test_colour_on_a_real_terminal(project):
    import pty

    def on_a_tty(*extra: str, env=None) -> str:
        main_fd, tty = pty.openpty()
        environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
        environ.update(env or {}, TERM="xterm")
        done = subprocess.run([sys.executable, "-m", "initlint", *extra, "src"], cwd=project, stdout=tty,
                              stderr=subprocess.DEVNULL, env=environ, timeout=120)
        os.close(tty)
        out = b""
        while True:
            try:
                chunk = os.read(main_fd, 65536)
            except OSError:  # the terminal has nothing more
                break
            if not chunk:
                break
            out += chunk
        os.close(main_fd)
        assert done.returncode == 1
        return out.decode()

    assert "\x1b[" in on_a_tty()
    assert "\x1b[" not in on_a_tty("--no-color")
    assert "\x1b[" not in on_a_tty(env={"NO_COLOR": "1"})
