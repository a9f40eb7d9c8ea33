"""The pre-commit hook, through a real pre-commit run (`pre-commit try-repo`) on a throwaway repo.

Slow (pre-commit builds a virtualenv and installs initlint into it), so it runs once per session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

import readme
from conftest import BAD_SCRIPT, ROOT

pytestmark = pytest.mark.slow

BAD = BAD_SCRIPT
CLEAN = "import torch.nn as nn\nfc = nn.Linear(4, 8)\nnn.init.zeros_(fc.bias)\n"


def _pre_commit() -> list:
    exe = shutil.which("pre-commit", path=os.path.dirname(sys.executable)) or shutil.which("pre-commit")
    if exe is None:
        pytest.skip("pre-commit is not installed (pip install -e '.[test]')")
    return [exe]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    base = tmp_path_factory.mktemp("precommit")
    env = dict(os.environ, PRE_COMMIT_HOME=str(base / "cache"), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    env.pop("PRE_COMMIT", None)
    work = base / "work"
    work.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=work, check=True, env=env)
    (work / "bad.py").write_text(BAD)
    (work / "clean.py").write_text(CLEAN)
    (work / "notes.txt").write_text("nn.init.constant_(fc.weight, 0.5)\n")
    subprocess.run(["git", "add", "."], cwd=work, check=True, env=env)
    return work, env


def _try_repo(work, env, *files):
    cmd = _pre_commit() + ["try-repo", str(ROOT), "initlint", "--verbose", "--files", *files]
    return subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=900)


def test_hook_fails_on_a_finding(sandbox):
    work, env = sandbox
    result = _try_repo(work, env, "bad.py")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "bad.py:3:1: IL001" in output
    assert "Failed" in output


def test_hook_passes_on_a_clean_file_and_skips_non_python(sandbox):
    work, env = sandbox
    result = _try_repo(work, env, "clean.py", "notes.txt")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Passed" in output


def test_the_readme_snippet_blocks_a_commit(sandbox):
    """The README's `.pre-commit-config.yaml`, with this checkout as the repository and its HEAD
    commit as `rev:` (no release exists: a sha is what the README tells users to pin)."""
    work, env = sandbox
    snippet = readme.only(lambda block: block.language == "yaml" and block.text.startswith("repos:")).text
    assert readme.SHA_PLACEHOLDER in snippet and "https://github.com/initlint/initlint" in snippet
    config = snippet.replace("https://github.com/initlint/initlint", ROOT.as_posix()).replace(readme.SHA_PLACEHOLDER, _head())
    (work / ".pre-commit-config.yaml").write_text(config)
    subprocess.run(["git", "add", ".pre-commit-config.yaml"], cwd=work, check=True, env=env)
    subprocess.run(_pre_commit() + ["install"], cwd=work, check=True, env=env, capture_output=True)
    blocked = subprocess.run(["git", "commit", "-q", "-m", "bad"], cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert blocked.returncode != 0, blocked.stdout + blocked.stderr
    assert "IL001" in blocked.stdout + blocked.stderr
    subprocess.run(["git", "rm", "-q", "--cached", "bad.py"], cwd=work, check=True, env=env)
    allowed = subprocess.run(["git", "commit", "-q", "-m", "clean"], cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


def _head() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        pytest.skip("initlint is not in a git checkout")
    dirty = subprocess.run(["git", "status", "--porcelain", "--", ".pre-commit-hooks.yaml", "pyproject.toml"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    if dirty:
        pytest.skip("the hook manifest has uncommitted changes: the installed hook would not match")
    return head
