"""The VS Code extension in editors/vscode, built with npm as a user would from source: the README's
command (`npm install`, `npm run package`, `code --install-extension` with a stand-in `code` that
records what it was given), then `npm test` (the real extension and vscode-languageclient, a
stand-in `vscode` module, the real `initlint lsp` of this environment: the handshake must
complete). Skips without node and npm; needs the npm registry."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import readme
from conftest import ROOT

pytestmark = pytest.mark.slow

EXTENSION = ROOT / "editors" / "vscode"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The README's block, run from a copy of the repository's editors/vscode."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed")
    top = tmp_path_factory.mktemp("checkout")
    folder = top / "editors" / "vscode"
    shutil.copytree(EXTENSION, folder, ignore=shutil.ignore_patterns("node_modules", "*.vsix", "package-lock.json"))
    stand_in = top / "bin"
    stand_in.mkdir()
    (stand_in / "code").write_text(f'#!/bin/sh\nprintf "%s\\n" "$PWD" "$@" > "{top / "code-args"}"\n')
    (stand_in / "code").chmod(0o755)
    [command] = readme.only(lambda block: block.language == "sh" and "editors/vscode" in block.text).commands()
    env = dict(os.environ, PATH=os.pathsep.join([str(stand_in), os.environ.get("PATH", "")]))
    done = subprocess.run(["bash", "-c", command], cwd=top, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    cwd, *args = (top / "code-args").read_text().splitlines()
    assert args == ["--install-extension", "initlint.vsix"] and (Path(cwd) / "initlint.vsix").is_file()
    return folder


def _server_env(tmp: Path) -> dict:
    """PATH with this environment's `initlint` first (a wrapper when it has no console script)."""
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "initlint").exists():
        bin_dir = tmp / "bin"
        bin_dir.mkdir(exist_ok=True)
        wrapper = bin_dir / "initlint"
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m initlint "$@"\n')
        wrapper.chmod(0o755)
    return dict(os.environ, PATH=os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]))


def test_the_extension_starts_initlints_server(built, tmp_path):
    done = subprocess.run(["npm", "test"], cwd=built, env=_server_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok: the extension started initlint " in done.stdout


def test_a_missing_server_fails_the_smoke_test(built, tmp_path):
    env = dict(_server_env(tmp_path), INITLINT_PATH=str(tmp_path / "no-such-initlint"))
    done = subprocess.run(["npm", "test"], cwd=built, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0  # the smoke test can fail


def test_it_packages_as_a_vsix(built):
    with zipfile.ZipFile(built / "initlint.vsix") as vsix:
        names = set(vsix.namelist())
    assert {"extension/package.json", "extension/extension.js", "extension.vsixmanifest"} <= names
    assert any(name.startswith("extension/node_modules/vscode-languageclient/") for name in names)
    assert not any(name.startswith("extension/test/") for name in names)
