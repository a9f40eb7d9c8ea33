"""Static mode never runs user code: linting files whose import would leave a marker writes none,
and no user module reaches `sys.modules`, whatever the files are called and whatever the flags."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

# Module-level code that would leave a marker if it were ever imported or executed. (Not named
# sitecustomize.py: the interpreter itself would run that from the PYTHONPATH at start-up.)
PAYLOAD = (
    "import os\nopen(os.path.join({folder!r}, 'MARKER_' + __name__.replace('.', '_')), 'w').write('ran')\n"
    "import torch.nn as nn\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        nn.init.constant_(self.fc.weight, 1)\n        self.fc = nn.Linear(2, 2)\n"
    "import torch\nW2 = torch.ones(8, 1, requires_grad=True)\nW1 = torch.ones(4, 8, requires_grad=True)\nloss = (torch.relu(torch.randn(2, 4) @ W1) @ W2).sum()\n"
)
NAMES = ["usermod.py", "pkg/__init__.py", "pkg/conftest.py", "pkg/setup.py", "pkg/__main__.py", "pkg/stub.pyi"]

DRIVER = """
import sys
sys.argv = ["initlint", "check", "--no-cache", *{args!r}]
try:
    from initlint.cli import main
    main()
except SystemExit as exit:
    code = exit.code
user = sorted(name for name in sys.modules if name.split(".")[0] in ("usermod", "pkg", "conftest", "setup", "torch"))
print("USER_MODULES", user, file=sys.stderr)
assert not user, user
sys.exit(code)
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in NAMES:
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(PAYLOAD.format(folder=str(tmp_path)))
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\n")
    return tmp_path


def _run(tree: Path, *args: str) -> subprocess.CompletedProcess:
    # The tree is the working directory and on sys.path: an import of `usermod` would find it.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tree), str(ROOT)]))
    return subprocess.run([sys.executable, "-c", DRIVER.format(args=list(args))], cwd=tree, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "args",
    [
        ["."],
        ["--jobs", "2", "."],
        ["--format", "sarif", "."],
        ["--fix", "--unsafe-fixes", "."],
        ["--diff", "."],
        ["usermod.py", "pkg/__init__.py", "pkg/conftest.py"],
    ],
    ids=["plain", "parallel", "sarif", "fix", "diff", "named"],
)
def test_static_mode_runs_no_user_code(tree: Path, args):
    result = _run(tree, *args)
    assert result.returncode in (0, 1), (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    assert "USER_MODULES []" in result.stderr
    assert "IL001" in result.stdout or "--diff" in args  # the files were linted (--diff prints only fixes)
    markers = sorted(p.name for p in tree.rglob("MARKER_*"))
    assert markers == [], f"user code ran: {markers}"


def test_the_payload_would_leave_a_marker(tree: Path):
    """The check above means something: importing the module does write the marker."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    subprocess.run([sys.executable, "-S", "-c", "import usermod"], cwd=tree, env=env, capture_output=True, timeout=60)
    assert (tree / "MARKER_usermod").exists()
