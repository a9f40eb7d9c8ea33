"""`initlint check --watch`: check, then check again whenever a watched file changes.

A polling loop (no platform file-watching API, no dependency): every half second it compares the
size and modification time of the source files under the paths, of the configuration and
.gitignore files among them, and of the configuration files above the current folder. The
snapshot does not depend on the settings, so a broken configuration is watched too and the run
resumes when it is fixed. The snapshot is taken before each check, so a change made while a check
runs is seen (a file `--fix` wrote costs one more check, which finds nothing new to fix).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Callable, Dict, Optional, Sequence, Tuple

import click

from initlint.config_files import CONFIG_NAMES, parents
from initlint.interrupt import Interrupted

INTERVAL = 0.5
_WATCHED_NAMES = frozenset(CONFIG_NAMES) | {".gitignore"}
_SUFFIXES = (".py", ".pyi", ".ipynb")
# Folders never worth watching (their files are never linted by default either).
_SKIPPED = frozenset({".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".initlint_cache",
                      ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox", "build", "dist"})

Snapshot = Dict[str, Optional[Tuple[int, int]]]


def _stamp(path: str) -> Optional[Tuple[int, int]]:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def snapshot(paths: Sequence[str]) -> Snapshot:
    """(modification time, size) of every file that can change a check of `paths`."""
    seen: Snapshot = {}
    for folder in parents(os.path.abspath(os.getcwd())):
        for name in CONFIG_NAMES:
            seen[os.path.join(folder, name)] = _stamp(os.path.join(folder, name))
    for path in paths:
        if not os.path.isdir(path):
            seen[os.path.abspath(path)] = _stamp(path)
            continue
        for directory, dirnames, filenames in os.walk(path):
            dirnames[:] = [d for d in dirnames if d not in _SKIPPED and not d.endswith(".egg-info")]
            for name in filenames:
                if name.endswith(_SUFFIXES) or name in _WATCHED_NAMES:
                    full = os.path.abspath(os.path.join(directory, name))
                    seen[full] = _stamp(full)
    return seen


def loop(paths: Sequence[str], make_resolver: Callable[[], object], check: Callable[[object], int],
         interval: float = INTERVAL) -> None:
    """Check now and after every change, until Ctrl-C (exit 0). `make_resolver` returns None for
    a broken configuration (it has said why); the check waits for the next change then."""

    def once(why: str) -> None:
        if sys.stdout.isatty():
            click.clear()
        click.echo(f"[{time.strftime('%H:%M:%S')}] {why}", err=True)
        resolver = make_resolver()
        if resolver is not None:
            check(resolver)
        click.echo("Watching for file changes (Ctrl-C to stop).", err=True)

    try:
        before = snapshot(paths)
        once("Starting initlint in watch mode...")
        while True:
            time.sleep(interval)
            now = snapshot(paths)
            if now != before:
                before = now
                once("File change detected...")
    except KeyboardInterrupt:
        sys.exit(0)
    except Interrupted as stop:  # (the command line turns signals into this: initlint.interrupt)
        if stop.signum == signal.SIGINT:
            sys.exit(0)  # Ctrl-C is how a watch ends
        raise
