"""Running initlint as an unprivileged user, for the tests where root would hide the bug (root
writes read-only files, forks past RLIMIT_NPROC, writes into any folder).

Under root the command runs through `setpriv` with the uid and gid below (no account is needed
to drop to a numeric uid, so none is created on the machine) and no supplementary groups; under
any other user it runs as that user, who is unprivileged already. The dropped process keeps one
capability, CAP_DAC_READ_SEARCH (read any file, enter any folder), because the interpreter and
pytest's temporary folders may live under root's private home: it is never allowed to *write*
anything the user could not, which is what these tests are about. Tests that need a *second*
user (a file owned by someone else) can only set that up as root, and skip otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Sequence

import pytest

ROOT = Path(__file__).resolve().parent.parent
UID = GID = 54_321  # outside the ranges distributions give to accounts
OTHER_UID = OTHER_GID = 54_322

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="a file owned by another user can only be set up as root")
posix_only = pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX users and permissions")


def share(path: Path) -> None:
    """Give `path` (a test's folder) to the unprivileged user, so that it may create files there."""
    if IS_ROOT:
        os.chown(path, UID, GID)


def command(args: Sequence[str], groups: Sequence[int] = ()) -> List[str]:
    """`args` as a command line that runs as the unprivileged user."""
    if not IS_ROOT:
        return list(args)
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv (util-linux): cannot drop to an unprivileged user")
    who = [f"--reuid={UID}", f"--regid={GID}", f"--groups={','.join(map(str, groups))}" if groups else "--clear-groups"]
    caps = ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
    return [setpriv, *who, *caps, "--", *args]


def initlint(cwd: Path, *args: str, groups: Sequence[int] = (), timeout: float = 120, **options) -> subprocess.CompletedProcess:
    """`python -m initlint ARGS` in `cwd`, as the unprivileged user."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1", HOME=str(cwd))
    return subprocess.run(
        command([sys.executable, "-m", "initlint", *args], groups), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, **options
    )
