"""Bad input never crashes the run: each file is reported and the others are still linted."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from initlint.cli import main
from initlint.engine import lint_source

from conftest import BAD_SCRIPT, settings

BAD = BAD_SCRIPT


def run(*args):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")
    (tmp_path / "good_bad.py").write_text(BAD)
    return tmp_path


def _lines(result):
    return result.stdout.splitlines()


def test_findings_of_plain_file(tree):
    result = run(".")
    assert result.exit_code == 1
    assert any(":3:1: IL001" in line for line in _lines(result))


FINDING = BAD_SCRIPT.encode()


@pytest.mark.parametrize(
    "name,content,code,needle",
    [
        # (files that cannot hold an init site are not parsed at all; these hold one, so the
        # definitions the screen drops are checked too before anything is reported)
        ("syntax.py", FINDING + b"def f(:\n    pass\n", "IL901", "cannot parse"),
        ("latin1.py", "x = 'caf\u00e9'\nzeros = 1\n".encode("latin-1"), "IL902", "not valid utf-8"),
        ("binary.py", b"\x7fELF\x00\x00\x01zeros", "IL902", "NUL"),
        ("py2.py", FINDING + b"print 'hello'\n", "IL901", "cannot parse"),
        ("deep.py", FINDING + b"x = " + b"(" * 5000 + b"1" + b")" * 5000 + b"\n", "IL901", "nested"),
        ("unary.py", FINDING + b"x = " + b"-" * 50000 + b"1\n", "IL901", "nested too deeply"),
        # a syntax error in the code the rules read is reported with or without a finding
        ("kept.py", b"import torch\nW1 = torch.ones(4, 8, requires_grad=True)\nW1.data.fill_(1 +)\n", "IL901", "cannot parse"),
    ],
)
def test_broken_file_is_reported_and_others_still_linted(tree, name, content, code, needle):
    (tree / name).write_bytes(content)
    result = run(".")
    assert result.exit_code == 1
    lines = _lines(result)
    mine = [line for line in lines if line.startswith(name)]
    assert len(mine) == 1 and f" {code} " in mine[0] and needle.lower() in mine[0].lower(), lines
    assert any(line.startswith("good_bad.py:3:1: IL001") for line in lines)


@pytest.mark.parametrize(
    "content",
    [
        b"import torch.nn as nn\nnn.init.constant_(fc.weight, 1)\ndef f(:\n    pass\n",
        b"import torch.nn as nn\nnn.init.constant_(fc.weight, 1)\ndef g():\n    print 'hello'\n",
    ],
)
def test_syntax_error_in_dropped_code_of_a_file_without_findings_is_not_parsed(tree, content):
    """Documented trade-off (README "Performance"): without a finding to report, a definition the
    screen drops is never parsed, just as a file it drops is never read past the screen. (Module-
    level statements are kept for the rules that read data flow there, so an error in one of them
    is reported.)"""
    # ...and the screen drops most of the file (one that keeps most of it is parsed whole)
    unrelated = "".join(f"\n\ndef helper_{i}(x):\n    return x + {i}\n" for i in range(40)).encode()
    (tree / "quiet.py").write_bytes(content + unrelated)
    result = run(".")
    assert not [line for line in _lines(result) if line.startswith("quiet.py")], _lines(result)
    assert any(line.startswith("good_bad.py:3:1: IL001") for line in _lines(result))


def test_empty_file_is_clean(tree):
    (tree / "empty.py").write_bytes(b"")
    result = run("empty.py")
    assert result.exit_code == 0 and result.stdout == ""


def test_coding_cookie_is_honoured(tree):
    source = "# -*- coding: latin-1 -*-\n# caf\u00e9\n" + BAD
    (tree / "cookie.py").write_bytes(source.encode("latin-1"))
    result = run("cookie.py")
    assert result.exit_code == 1 and "cookie.py:5:1: IL001" in result.stdout


def test_bom_and_crlf(tree):
    (tree / "bom.py").write_bytes(b"\xef\xbb\xbf" + BAD.replace("\n", "\r\n").encode())
    result = run("bom.py")
    assert result.exit_code == 1 and "bom.py:3:1: IL001" in result.stdout


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root reads every file")
def test_unreadable_file(tree):
    path = tree / "secret.py"
    path.write_text(BAD)
    path.chmod(0)
    result = run(".")
    assert "secret.py:1:1: IL902" in result.stdout


def test_unreadable_file_even_as_root(tree, monkeypatch):
    """Permission errors are simulated so the test means something when run as root."""
    import initlint.engine as engine

    real_open = open

    def fake_open(path, *args, **kwargs):
        if str(path).endswith("secret.py"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    (tree / "secret.py").write_text(BAD)
    monkeypatch.setattr(engine, "open", fake_open, raising=False)
    result = run("--jobs", "1", ".")
    lines = _lines(result)
    assert any(line.startswith("secret.py:1:1: IL902") and "Permission denied" in line for line in lines), lines
    assert any(line.startswith("good_bad.py:3:1: IL001") for line in lines)


def test_symlink_loop_and_missing_path(tree):
    (tree / "pkg").mkdir()
    (tree / "pkg" / "m.py").write_text(BAD)
    os.symlink(tree / "pkg", tree / "pkg" / "loop")
    os.symlink(tree / "nowhere.py", tree / "dangling.py")
    result = run(".", "missing.py")
    lines = _lines(result)
    assert sum("pkg/m.py:3:1: IL001" in line for line in lines) == 1, lines
    assert any(line.startswith("missing.py:1:1: IL902") for line in lines)
    assert any("dangling.py" in line and "IL902" in line for line in lines)
    assert result.exit_code == 1


def test_directory_named_like_a_file(tree):
    (tree / "x.py").mkdir()
    (tree / "x.py" / "inner.py").write_text(BAD)
    result = run(".")
    assert "x.py/inner.py:3:1: IL001" in result.stdout


def test_rule_that_raises_is_an_internal_error_for_that_file(tree, monkeypatch):
    from initlint.rules import ALL_RULES

    rule = ALL_RULES[0]

    def boom(self, facts):
        raise ValueError("kaboom")
        yield  # pragma: no cover

    monkeypatch.setattr(rule, "check", boom)
    (tree / "other.py").write_text(BAD)
    result = run("--jobs", "1", ".")
    assert result.exit_code == 2
    internal = [line for line in _lines(result) if " IL903 " in line]
    assert len(internal) == 2 and all(rule.code in line and "kaboom" in line for line in internal)


def test_long_but_legal_chains_still_lint():
    source = "import torch\nx = " + "+".join(["1"] * 1500) + "\nW = torch.ones(3, 3, requires_grad=True)\nV = torch.ones(3, 1, requires_grad=True)\ny = (x @ W).relu() @ V\n"
    assert [d.code for d in lint_source(source, "chain.py", settings())] == ["IL001"]
