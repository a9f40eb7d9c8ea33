"""Walking the tree: links to folders are not followed (unless named on the command line and
inside the project), loops and links to `/` are cut, a tree thousands of folders deep is walked
without recursion, and fifos, sockets and devices met on the way are skipped, never opened.

Each case runs `python -m initlint` in a subprocess, with a timeout: a walk that follows a link
to `/` or blocks on a fifo fails by taking too long."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BAD_SCRIPT, FIXTURES, ROOT, settings
from initlint.files import discover

pytestmark = pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="POSIX links and special files")

BAD = BAD_SCRIPT  # a finding at 3:1
FIXABLE = (FIXTURES / "IL004_lenet_seed004.py").read_bytes()


def _check(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "initlint", "check", "--no-cache", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _files(result: subprocess.CompletedProcess) -> set:
    return {line.split(":")[0] for line in result.stdout.splitlines()}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.initlint]\n")
    (root / "src" / "model.py").write_text(BAD)
    return root


def test_a_link_to_a_folder_outside_is_not_followed_and_fix_leaves_it_alone(project: Path, tmp_path: Path):
    other = tmp_path / "other_project"
    other.mkdir()
    (other / "theirs.py").write_bytes(FIXABLE)
    (project / "vendored").symlink_to(other)
    result = _check(project, "--fix", ".")
    assert _files(result) == {"src/model.py"}, result.stdout
    assert (other / "theirs.py").read_bytes() == FIXABLE


def test_a_link_to_a_file_outside_is_not_linted_nor_fixed_in_a_walk(project: Path, tmp_path: Path):
    outside = tmp_path / "elsewhere.py"
    outside.write_bytes(FIXABLE)
    (project / "src" / "borrowed.py").symlink_to(outside)
    (project / "src" / "alias.py").symlink_to("model.py")  # inside: linted once, as one file
    result = _check(project, "--fix", ".")
    assert _files(result) == {"src/alias.py"}, result.stdout
    assert outside.read_bytes() == FIXABLE
    named = _check(project, "--fix", "src/borrowed.py")  # named: the user asked for it
    assert named.returncode == 0, named.stdout + named.stderr
    assert outside.read_bytes() == (FIXTURES / "IL004_lenet_seed004.fixed").read_bytes()
    assert (project / "src" / "borrowed.py").is_symlink()


def test_a_link_to_a_folder_inside_is_not_walked_twice(project: Path):
    (project / "alias").symlink_to(project / "src")
    assert _files(_check(project, ".")) == {"src/model.py"}


def test_a_link_named_on_the_command_line_is_followed_inside_the_project(project: Path):
    (project / "alias").symlink_to("src")
    result = _check(project, "alias")
    assert _files(result) == {"alias/model.py"}, result.stdout + result.stderr


def test_a_link_named_on_the_command_line_is_not_followed_out_of_the_project(project: Path, tmp_path: Path):
    other = tmp_path / "other_project"
    other.mkdir()
    (other / "theirs.py").write_bytes(FIXABLE)
    (project / "vendored").symlink_to(other)
    result = _check(project, "--fix", "vendored", "src")
    lines = result.stdout.splitlines()
    assert any(line.startswith("vendored:1:1: IL902") and "outside the project" in line for line in lines), lines
    assert any(line.startswith("src/model.py:3:1: IL001") for line in lines), lines
    assert (other / "theirs.py").read_bytes() == FIXABLE


def test_loops_and_links_to_the_root_are_cut(project: Path):
    (project / "src" / "loop").symlink_to("..")
    (project / "src" / "self").symlink_to(".")
    (project / "root").symlink_to("/")
    (project / "a").symlink_to("b")
    (project / "b").symlink_to("a")
    result = _check(project, ".", timeout=30)
    assert _files(result) == {"src/model.py"}, result.stdout + result.stderr
    named = _check(project, "root", "src", timeout=30)
    assert any(line.startswith("root:1:1: IL902") for line in named.stdout.splitlines()), named.stdout
    assert "src/model.py" in _files(named)


def _remove_tree(top: Path) -> None:
    """rm -r without recursion (shutil.rmtree recurses: pytest's own clean-up could not remove it)."""
    stack = [str(top)]
    while stack:
        entries = os.listdir(stack[-1])
        if not entries:
            os.rmdir(stack.pop())
            continue
        full = os.path.join(stack[-1], entries[0])
        if os.path.isdir(full) and not os.path.islink(full):
            stack.append(full)
        else:
            os.unlink(full)


def test_a_tree_deeper_than_the_recursion_limit(project: Path):
    deep = project
    try:
        for _ in range(1_200):  # (one level at a time: pathlib's mkdir(parents=True) recurses)
            deep = deep / "d"
            deep.mkdir()
        (deep / "bottom.py").write_text(BAD)
        result = _check(project, ".", timeout=120)
        assert "RecursionError" not in result.stderr and result.returncode == 1, result.stderr[-2000:]
        assert any(name.endswith("/d/bottom.py") for name in _files(result))
        assert len(discover([str(project)], settings(root=str(project))).files) == 2  # in-process too
    finally:
        if (project / "d").exists():
            _remove_tree(project / "d")


def test_fifos_sockets_and_devices_are_skipped(project: Path):
    folder = project / "src" / "special"
    folder.mkdir()
    os.mkfifo(folder / "fifo.py")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(folder / "sock.py"))
    except OSError:  # a path too long for a socket address
        pass
    (folder / "zero.py").symlink_to("/dev/zero")  # reading it would never end
    (folder / "fifo_link.py").symlink_to("fifo.py")
    try:
        os.mknod(folder / "null.py", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except (PermissionError, AttributeError):
        pass  # (only root may make device nodes; the link to /dev/zero stands in)
    try:
        result = _check(project, ".", timeout=30)
    finally:
        server.close()
    assert _files(result) == {"src/model.py"}, result.stdout + result.stderr
    named = _check(project, "src/special/zero.py", "src/special/fifo.py", timeout=30)
    assert {line.split(":")[0] for line in named.stdout.splitlines() if " IL902 " in line and "not a regular file" in line} == {
        "src/special/zero.py", "src/special/fifo.py"
    }, named.stdout
