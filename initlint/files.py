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


def discover(paths: Iterable[str], settings: Settings, settings_of: Optional[SettingsOf] = None) -> Discovery:
    """Expand files and folders into the sorted, de-duplicated list of files to lint.

    `settings`: the run's (force-exclude, respect-gitignore); `settings_of`: each folder's, for
    its excludes (default: `settings` everywhere)."""
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
            _walk(path, local, ignored, add, errors)
        elif os.path.exists(path):
            # Files named explicitly are linted even when excluded, unless force-exclude is on (pre-commit).
            if settings.force_exclude and _excluded_with_parents(path, local(os.path.dirname(os.path.abspath(path)))):
                continue
            add(path)
        else:
            errors.append((raw, "broken symbolic link"))
    return Discovery(tuple(sorted(files)), tuple(dict.fromkeys(errors)))  # a path named and walked: once


def _walk(top: str, local: SettingsOf, ignored, add, errors: List[Tuple[str, str]]) -> None:
    """Walk `top`; `ignored(path, is_dir, root)` is the .gitignore test, None to ignore none."""
    visited: Set[Tuple[int, int]] = set()

    def onerror(error: OSError) -> None:
        errors.append((error.filename or top, error.strerror or str(error)))

    for directory, dirnames, filenames in os.walk(top, onerror=onerror, followlinks=True):
        try:
            status = os.stat(directory)
        except OSError as error:
            errors.append((directory, error.strerror or str(error)))
            dirnames[:] = []
            continue
        if (status.st_dev, status.st_ino) in visited:  # a symlink loop: been here already
            dirnames[:] = []
            continue
        visited.add((status.st_dev, status.st_ino))
        settings = local(directory)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not _excluded(os.path.join(directory, d), settings)
            and not _is_virtualenv(os.path.join(directory, d))
            and not (ignored is not None and ignored(os.path.join(directory, d), True, settings.root))
        )
        real = os.path.realpath(directory)  # once per folder; a file's own link is resolved below
        for filename in sorted(filenames):
            full = os.path.join(directory, filename)
            if not filename.endswith(SOURCE_SUFFIXES) or _excluded(full, settings):
                continue
            if ignored is not None and ignored(full, False, settings.root):
                continue
            try:
                mode = os.lstat(full).st_mode
                link = stat.S_ISLNK(mode)
                if link:
                    mode = os.stat(full).st_mode
            except OSError:
                errors.append((os.path.normpath(full), "broken symbolic link"))  # shown as `a.py`, not `./a.py`
                continue
            if stat.S_ISDIR(mode):  # `x.py/` is a folder, not a file
                continue
            add(full, None if link else os.path.join(real, filename))


def display_path(path: str) -> str:
    """How a path is shown: relative to the working directory when under it."""
    return relative(path, str(Path.cwd()))
