"""`--fix` writes like an editor that respects the user: it never loses bytes written meanwhile,
keeps links links (symbolic and hard), keeps mode, owner, group and extended attributes, refuses
read-only files, and reports a file it could not write as IL902 without touching it.

Permissions, links and ownership are checked in a subprocess, and where root would hide the bug
(root may write any file) as an unprivileged user (see tests/unprivileged.py)."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES
from initlint import fix as fixing
from initlint import writing
from initlint.engine import lint_source
from unprivileged import GID, IS_ROOT, OTHER_GID, OTHER_UID, ROOT, UID, initlint, needs_root, posix_only, share
from conftest import settings

LENET = (FIXTURES / "IL004_lenet_seed004.py").read_bytes()
FIXED = (FIXTURES / "IL004_lenet_seed004.fixed").read_bytes()

pytestmark = posix_only


def _fix(cwd: Path, *names: str, unprivileged: bool = False) -> subprocess.CompletedProcess:
    args = ("check", "--no-cache", "--fix", *names)
    if unprivileged:
        return initlint(cwd, *args)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "initlint", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _leftovers(folder: Path) -> list:
    return [p.name for p in folder.iterdir() if p.name.endswith(".initlint-tmp")]


# ---- the write itself --------------------------------------------------------------------------


def test_replace_contents_replaces_and_keeps_the_mode(tmp_path: Path):
    path = tmp_path / "f.py"
    path.write_bytes(b"old\n")
    path.chmod(0o2750)  # set-gid kept too
    writing.replace_contents(str(path), b"new\n", expected=b"old\n")
    assert path.read_bytes() == b"new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o2750
    assert os.listdir(tmp_path) == ["f.py"]


@pytest.mark.parametrize("links", [1, 2], ids=["rename", "in-place"])
def test_a_file_changed_since_it_was_read_is_never_overwritten(tmp_path: Path, links: int):
    path = tmp_path / "f.py"
    path.write_bytes(b"old\nappended by an editor meanwhile\n")
    if links == 2:
        os.link(path, tmp_path / "twin.py")
    with pytest.raises(writing.WriteError, match="changed since it was read"):
        writing.replace_contents(str(path), b"new\n", expected=b"old\n")
    assert path.read_bytes() == b"old\nappended by an editor meanwhile\n"
    assert _leftovers(tmp_path) == []


def test_lines_appended_while_fix_runs_are_kept(tmp_path: Path, monkeypatch):
    """An editor appends to the file while --fix is computing: the fix is not written, the
    appended lines are all there, and the file is reported as not fixed (IL902)."""
    from click.testing import CliRunner

    from initlint.cli import main

    monkeypatch.chdir(tmp_path)
    Path("m.py").write_bytes(LENET)
    real = fixing.fix_source

    def slow_fix(text, lint, **options):
        result = real(text, lint, **options)
        with open("m.py", "ab") as handle:  # the editor saves, mid-run
            handle.write(b"# appended while initlint ran\n")
        return result

    monkeypatch.setattr(fixing, "fix_source", slow_fix)
    result = CliRunner().invoke(main, ["check", "--no-cache", "--fix", "m.py"])
    assert Path("m.py").read_bytes() == LENET + b"# appended while initlint ran\n"
    assert "m.py:1:1: IL902 cannot fix: the file changed since it was read" in result.output
    assert result.exit_code == 1 and _leftovers(tmp_path) == []


def test_a_full_disk_in_place_changes_nothing(tmp_path: Path, monkeypatch):
    path = tmp_path / "f.py"
    path.write_bytes(b"old\n")
    os.link(path, tmp_path / "twin.py")  # hard links are written in place

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writing.os, "posix_fallocate", full)
    with pytest.raises(writing.WriteError, match="No space left"):
        writing.replace_contents(str(path), b"a longer text than before\n", expected=b"old\n")
    assert path.read_bytes() == b"old\n" and (tmp_path / "twin.py").read_bytes() == b"old\n"


# ---- through the command line, in a subprocess ------------------------------------------------------


def test_a_symlinked_source_stays_a_link_and_its_target_is_fixed(tmp_path: Path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.py"
    target.write_bytes(LENET)
    (tmp_path / "link.py").symlink_to(Path("real", "model.py"))
    (tmp_path / "chain.py").symlink_to("link.py")  # a link to a link
    result = _fix(tmp_path, "chain.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "link.py").is_symlink() and os.readlink(tmp_path / "link.py") == str(Path("real", "model.py"))
    assert (tmp_path / "chain.py").is_symlink()
    assert target.read_bytes() == FIXED
    assert _leftovers(tmp_path) == [] and _leftovers(tmp_path / "real") == []


def test_hard_links_stay_one_file(tmp_path: Path):
    first = tmp_path / "a.py"
    first.write_bytes(LENET)
    os.link(first, tmp_path / "b.py")
    inode = first.stat().st_ino
    result = _fix(tmp_path, "a.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert first.stat().st_ino == inode and first.stat().st_nlink == 2
    assert first.read_bytes() == FIXED and (tmp_path / "b.py").read_bytes() == FIXED


def test_mode_and_extended_attributes_are_kept(tmp_path: Path):
    path = tmp_path / "m.py"
    path.write_bytes(LENET)
    path.chmod(0o640)
    try:
        os.setxattr(path, "user.origin", b"vendored from upstream")
    except OSError as error:
        pytest.skip(f"this file system has no user extended attributes ({error.strerror})")
    result = _fix(tmp_path, "m.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert path.read_bytes() == FIXED
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.getxattr(path, "user.origin") == b"vendored from upstream"


@needs_root
def test_owner_and_group_are_kept_when_root_fixes_a_users_file(tmp_path: Path):
    path = tmp_path / "m.py"
    path.write_bytes(LENET)
    os.chown(path, OTHER_UID, OTHER_GID)
    result = _fix(tmp_path, "m.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert path.read_bytes() == FIXED
    assert (path.stat().st_uid, path.stat().st_gid) == (OTHER_UID, OTHER_GID)


@needs_root
def test_owner_is_kept_when_a_group_member_fixes_anothers_file(tmp_path: Path):
    """The unprivileged user may write the file (group) but cannot give a new file its owner:
    the bytes go through the file's own inode, and it still belongs to its owner."""
    share(tmp_path)
    path = tmp_path / "m.py"
    path.write_bytes(LENET)
    os.chown(path, OTHER_UID, OTHER_GID)
    path.chmod(0o664)
    result = initlint(tmp_path, "check", "--no-cache", "--fix", "m.py", groups=[OTHER_GID])
    assert result.returncode == 0, result.stdout + result.stderr
    assert path.read_bytes() == FIXED
    assert (path.stat().st_uid, path.stat().st_gid) == (OTHER_UID, OTHER_GID)
    assert stat.S_IMODE(path.stat().st_mode) == 0o664 and _leftovers(tmp_path) == []


def test_a_file_in_a_folder_the_user_cannot_write_is_fixed_in_place(tmp_path: Path):
    folder = tmp_path / "locked"
    folder.mkdir()
    path = folder / "m.py"
    path.write_bytes(LENET)
    share(tmp_path)
    if IS_ROOT:
        os.chown(path, UID, GID)
    folder.chmod(0o555)  # no new files here: no temporary file, no rename
    try:
        result = initlint(tmp_path, "check", "--no-cache", "--fix", "locked/m.py")
    finally:
        folder.chmod(0o755)
    assert result.returncode == 0, result.stdout + result.stderr
    assert path.read_bytes() == FIXED


@pytest.mark.parametrize("unprivileged", [False, True], ids=["as-root-or-self", "unprivileged"])
def test_read_only_files_are_refused_and_reported(tmp_path: Path, unprivileged: bool):
    share(tmp_path)
    path = tmp_path / "m.py"
    path.write_bytes(LENET)
    if unprivileged and IS_ROOT:
        os.chown(path, UID, GID)
    path.chmod(0o444)
    result = _fix(tmp_path, "m.py", unprivileged=unprivileged)
    assert path.read_bytes() == LENET
    assert "m.py:1:1: IL902 cannot fix: the file is read-only" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 1 and _leftovers(tmp_path) == []


def test_a_file_the_user_may_not_write_is_not_replaced(tmp_path: Path):
    """Regression: the rename only needs the folder to be writable, so another user's file in a
    shared folder was replaced (and became the runner's)."""
    share(tmp_path)
    path = tmp_path / "m.py"
    path.write_bytes(LENET)
    path.chmod(0o644)  # root's (or, without root, our own read-only) file
    if not IS_ROOT:
        path.chmod(0o444)
    owner = path.stat().st_uid
    result = initlint(tmp_path, "check", "--no-cache", "--fix", "m.py")
    assert path.read_bytes() == LENET and path.stat().st_uid == owner
    assert "IL902 cannot fix: the file is read-only" in result.stdout, result.stdout + result.stderr


def test_a_notebook_goes_through_the_same_writer(tmp_path: Path):
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": LENET.decode()}]
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "nb.ipynb"
    target.write_text(json.dumps(notebook, indent=1))
    (tmp_path / "nb.ipynb").symlink_to(Path("real", "nb.ipynb"))
    result = _fix(tmp_path, "nb.ipynb")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "nb.ipynb").is_symlink()
    assert json.loads(target.read_text())["cells"][0]["source"] == FIXED.decode()
    target.write_text(json.dumps(notebook, indent=1))
    target.chmod(0o444)
    refused = _fix(tmp_path, "nb.ipynb")
    assert "IL902 cannot fix: the file is read-only" in refused.stdout
    assert json.loads(target.read_text()) == notebook


def test_lint_source_sees_the_fixed_text(tmp_path: Path):
    """Sanity for the fixtures above: LENET has one safe fix, FIXED has none."""
    assert any(d.fix is not None for d in lint_source(LENET.decode(), "m.py", settings()))
    assert not any(d.fix is not None for d in lint_source(FIXED.decode(), "m.py", settings()))
