"""A fresh clone, the README's two set-up commands, and with them every integration.

    python tests/fresh_clone.py [--repo PATH_OR_URL] [--rev REV] [--keep]

Clones the repository (default: the one this file is in, at its HEAD commit) into a temporary
folder, then runs the README's two set-up blocks there exactly as written, with nothing of this
environment on PATH: the first installs initlint and lints the example (exit 1: it has
findings), the second installs the test extra and runs the whole suite, which runs every README
block and each integration from that clone (pre-commit with a commit as `rev:`, the GitHub
Action's install and run steps, flake8, the language server, the VS Code extension with npm).
Exit status 0 when both did what the README says.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import readme  # noqa: E402


def clean_env() -> dict:
    """The environment without any virtualenv of ours on PATH (the clone must bring its own)."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    keep = [p for p in env.get("PATH", "").split(os.pathsep) if p and not Path(p, "activate").exists()]
    env["PATH"] = os.pathsep.join(keep)
    return env


def setup_blocks(clone: Path):
    """The clone's own README set-up blocks: (install and lint, install and test)."""
    readme.README = clone / "README.md"
    blocks = [b for b in readme.blocks() if b.section.startswith("Set-up") and b.language == "sh"]
    install = next(b for b in blocks if "pip install -e . &&" in b.text)
    tests = next(b for b in blocks if '".[test]"' in b.text)
    return install.commands(), tests.commands()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=str(HERE.parent))
    parser.add_argument("--rev", default=None, help="a commit, branch or tag (default: the repository's HEAD)")
    parser.add_argument("--keep", action="store_true", help="keep the clone")
    args = parser.parse_args()
    rev = args.rev or subprocess.run(["git", "rev-parse", "HEAD"], cwd=args.repo, capture_output=True, text=True,
                                     check=True).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="initlint-fresh-"))
    clone = work / "initlint"
    env = clean_env()
    try:
        subprocess.run(["git", "clone", "-q", "--no-checkout", args.repo, str(clone)], check=True)
        subprocess.run(["git", "checkout", "-q", rev], cwd=clone, check=True)
        print(f"fresh clone of {args.repo} at {rev} in {clone}", flush=True)
        install, tests = setup_blocks(clone)
        for command in install:
            print(f"$ {command}", flush=True)
            done = subprocess.run(["bash", "-c", command], cwd=clone, env=env)
            if done.returncode != 1:  # the example has findings: 1 is success here
                print(f"expected exit status 1 (findings in the example), got {done.returncode}", file=sys.stderr)
                return 1
        for command in tests:
            print(f"$ {command}", flush=True)
            done = subprocess.run(["bash", "-c", command], cwd=clone, env=env)
            if done.returncode != 0:
                print(f"the test command failed with exit status {done.returncode}", file=sys.stderr)
                return 1
        print("fresh clone: both README set-up commands did what the README says", flush=True)
        return 0
    finally:
        if args.keep:
            print(f"kept {clone}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
