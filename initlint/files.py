"""Paths on the command line -> the files to lint (excludes, hidden caches, virtualenvs, loops)."""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Set, Tuple

from initlint.config import Settings, relative

# A folder -> the settings of the files in it (config.Resolver.for_dir): each folder's excludes
# come from its nearest configuration.
SettingsOf = Callable[[str], Settings]

SOURCE_SUFFIXES = (".py", ".pyi", ".ipynb")


@dataclass(frozen=True, repr=False, eq=False)
class Discovery:
    """The files to lint, and the paths that could not be walked (with why)."""

    files: Tuple[str, ...]
    errors: Tuple[Tuple[str, str], ...]


@functools.lru_cache(maxsize=16)
def _exclude_pattern(patterns: Tuple[str, ...]) -> "re.Pattern[str]":
    """All the exclude globs as one regular expression (fnmatch's own translation of each): one
    match per path instead of one fnmatch call per glob and path."""
    return re.compile("|".join(f"(?:{fnmatch.translate(os.path.normcase(p.rstrip('/')))})" for p in patterns) or "(?!)")


def _excluded(path: str, settings: Settings) -> bool:
    """A pattern matches the entry's name (`build`, `*.egg-info`) or its path from the root (`src/gen/*`)."""
    match = _exclude_pattern(settings.exclude + settings.extend_exclude).match
    name = os.path.basename(path.rstrip("/\\"))
    return bool(match(os.path.normcase(name)) or match(os.path.normcase(relative(path, settings.root))))


def _excluded_with_parents(path: str, settings: Settings) -> bool:
    """For paths named on the command line under --force-exclude: the path or any folder above it."""
    current = os.path.abspath(path)
    root = os.path.abspath(settings.root)
    while True:
        if _excluded(current, settings):
            return True
        parent = os.path.dirname(current)
        if parent == current or not parent.startswith(root) or current == root:
            return False
        current = parent


def _is_virtualenv(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, "pyvenv.cfg"))


def _inside(path: str, tree: str) -> bool:
    return path == tree or path.startswith(os.path.join(tree, ""))


def discover(paths: Iterable[str], settings: Settings, settings_of: Optional[SettingsOf] = None) -> Discovery:
    """Expand files and folders into the sorted, de-duplicated list of files to lint.

    `settings`: the run's (force-exclude, respect-gitignore); `settings_of`: each folder's, for
    its excludes (default: `settings` everywhere).

    Folders are walked without following symbolic links to folders: a link can lead out of the
    project (and `--fix` would rewrite another one), into a loop, or to `/`. A folder named on
    the command line is walked through its links only when it lies inside its project. Links to
    files inside the walked folder or its project are linted (and fixed through: see
    initlint.writing); fifos, sockets and devices met in a walk are skipped (opening one can
    block for ever)."""
    paths = list(paths)
    local: SettingsOf = settings_of or (lambda _folder: settings)
    ignored = None
    if settings.respect_gitignore and any(os.path.isdir(raw) for raw in paths):  # (files named are never ignored)
        from initlint.gitignore import GitIgnore

        ignored = GitIgnore().ignored
    files: List[str] = []
    errors: List[Tuple[str, str]] = []
    seen: Set[str] = set()

    def add(path: str, key: Optional[str] = None) -> None:
        path = os.path.normpath(path)  # `./a.py` -> `a.py`, as it is shown
        key = key or os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            files.append(path)

    for raw in paths:
        path = os.path.normpath(raw) if raw not in ("", ".") else "."
        if not os.path.lexists(path):
            errors.append((raw, "No such file or directory"))
            continue
        if os.path.isdir(path):
            if settings.force_exclude and path != "." and _excluded_with_parents(path, local(path)):
                continue
            real, tree = os.path.realpath(path), os.path.realpath(local(path).root)
            if real != os.path.abspath(path) and not _inside(real, tree):
                errors.append((raw, f"a symbolic link to a folder outside the project ({real}); not followed"))
                continue
            _walk(path, real, tree, local, ignored, add, errors)
        elif os.path.exists(path):
            # Files named explicitly are linted even when excluded, unless force-exclude is on (pre-commit).
            if settings.force_exclude and _excluded_with_parents(path, local(os.path.dirname(os.path.abspath(path)))):
                continue
            add(path)
        else:
            errors.append((raw, "broken symbolic link"))
    return Discovery(tuple(sorted(files)), tuple(dict.fromkeys(errors)))  # a path named and walked: once


def _walk(top: str, real_top: str, tree: str, local: SettingsOf, ignored, add, errors: List[Tuple[str, str]]) -> None:
    """Every source file under `top`: iterative (a tree thousands of folders deep is no
    RecursionError), never entering a link to a folder nor taking a link out of `top` or `tree`
    (its project). `ignored(path, is_dir, root)` is the .gitignore test, None to ignore none."""
    visited: Set[Tuple[int, int]] = set()
    stack = [(top, real_top)]  # (the folder as shown, its real path: the walk follows no link)
    while stack:
        directory, real = stack.pop()
        try:
            status = os.stat(directory)
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as error:
            errors.append((os.path.normpath(directory), error.strerror or str(error)))
            continue
        if (status.st_dev, status.st_ino) in visited:  # a bind mount inside itself: been here already
            continue
        visited.add((status.st_dev, status.st_ino))
        settings = local(directory)
        folders = []
        for entry in entries:
            full = os.path.join(directory, entry.name)
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not (_excluded(full, settings) or _is_virtualenv(full) or (ignored is not None and ignored(full, True, settings.root))):
                        folders.append((full, os.path.join(real, entry.name)))
                    continue
                if not entry.name.endswith(SOURCE_SUFFIXES) or _excluded(full, settings):
                    continue
                if ignored is not None and ignored(full, False, settings.root):
                    continue
                if entry.is_symlink():
                    _add_link(full, (real_top, tree), add, errors)
                elif entry.is_file(follow_symlinks=False):  # not a fifo, socket or device
                    add(full, os.path.join(real, entry.name))
            except OSError as error:  # gone meanwhile, or unreadable
                errors.append((os.path.normpath(full), error.strerror or str(error)))
        stack.extend(reversed(folders))


def _add_link(path: str, trees: Tuple[str, ...], add, errors: List[Tuple[str, str]]) -> None:
    """A symbolic link met in a walk: linted (and fixed, through it) when it leads to a regular
    file inside one of `trees`; a walk never reaches out of them (name such a file to lint it)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        errors.append((os.path.normpath(path), "broken symbolic link"))  # shown as `a.py`, not `./a.py`
        return
    real = os.path.realpath(path)
    if stat.S_ISREG(mode) and any(_inside(real, tree) for tree in trees):  # (a link to a folder is not followed, one to a fifo not opened)
        add(path, real)


def display_path(path: str) -> str:
    """How a path is shown: relative to the working directory when under it."""
    return relative(path, str(Path.cwd()))
