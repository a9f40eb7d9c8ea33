"""`.gitignore` files, read the way git reads them (the patterns are pathspec's GitIgnoreSpec).

A path is ignored when the nearest `.gitignore` with a pattern matching it says so: files in
deeper folders win over those above them, the last matching pattern of a file wins within it, and
`!pattern` re-includes. `.git/info/exclude` counts as a `.gitignore` at the repository's top, below
the top folder's own. The files that count are those from the repository's top folder (the
nearest folder above with a `.git`) down to the path; outside a repository, from the project root
(the configuration's folder) down. A folder that is ignored is never entered, so nothing inside it
can be re-included, as in git. The user's global excludes file is not read.
"""

from __future__ import annotations

import os
from typing import Dict, List, Optional, Tuple

# The group pathspec's gitignore patterns put around the `/` after a folder (pathspec's
# `_DIR_MARK`, the same since 0.10).
_DIR_MARK = "ps_d"

def _load(path: str):
    """The GitIgnoreSpec of one file, or None when it is missing or unreadable (git skips those too)."""
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8", "surrogateescape")
    except OSError:
        return None
    import pathspec  # only for runs that meet a .gitignore

    try:
        return pathspec.GitIgnoreSpec.from_lines(text.splitlines())
    except Exception:  # noqa: BLE001 - a pattern pathspec cannot compile: git ignores it, so do we
        lines = []
        for line in text.splitlines():
            try:
                pathspec.GitIgnoreSpec.from_lines([line])
            except Exception:  # noqa: BLE001
                continue
            lines.append(line)
        return pathspec.GitIgnoreSpec.from_lines(lines)


class GitIgnore:
    """Answers `ignored(path)` for one run; every .gitignore is read once, and each folder's
    chain of .gitignore files (nearest first) is worked out once."""

    def __init__(self) -> None:
        self._own: Dict[str, List[object]] = {}  # folder -> the specs of its own files
        self._chains: Dict[Tuple[str, str], List[Tuple[object, str]]] = {}  # (folder, boundary) -> [(spec, folder + sep)]
        self._tops: Dict[str, Optional[str]] = {}

    def _top(self, folder: str) -> Optional[str]:
        """The repository's top folder above `folder` (inclusive), None outside a repository."""
        seen: List[str] = []
        current = folder
        while current not in self._tops:
            seen.append(current)
            if os.path.lexists(os.path.join(current, ".git")):
                self._tops[current] = current
                break
            parent = os.path.dirname(current)
            if parent == current:
                self._tops[current] = None
                break
            current = parent
        top = self._tops[current]
        for item in seen:
            self._tops[item] = top
        return top

    def _specs(self, folder: str, top: Optional[str]) -> List[object]:
        specs = self._own.get(folder)
        if specs is None:
            specs = []
            own = _load(os.path.join(folder, ".gitignore"))
            if own is not None:
                specs.append(own)
            if folder == top:
                exclude = _load(os.path.join(folder, ".git", "info", "exclude"))
                if exclude is not None:
                    specs.append(exclude)
            self._own[folder] = specs
        return specs

    def _chain(self, folder: str, top: Optional[str], boundary: str) -> List[Tuple[object, str]]:
        """The specs that apply in `folder`, nearest first, each with its folder as a prefix."""
        key = (folder, boundary)
        chain = self._chains.get(key)
        if chain is None:
            pending: List[str] = []
            current = folder
            while (current, boundary) not in self._chains:  # a loop: folders can nest deeply
                pending.append(current)
                parent = os.path.dirname(current)
                if current == boundary or parent == current:
                    break
                current = parent
            for item in reversed(pending):  # from the top down, each folder adds to its parent's
                parent = os.path.dirname(item)
                above = [] if item == boundary or parent == item else self._chains[(parent, boundary)]
                prefix = item if item.endswith(os.sep) else item + os.sep
                self._chains[(item, boundary)] = [(spec, prefix) for spec in self._specs(item, top)] + above
            chain = self._chains[key]
        return chain

    def ignored(self, path: str, is_dir: bool, root: str) -> bool:
        """Whether git would ignore `path`; `root` bounds the search outside a repository."""
        absolute = os.path.abspath(path)
        folder = os.path.dirname(absolute)
        top = self._top(folder)
        boundary = top if top is not None else os.path.abspath(root)
        if not (folder == boundary or folder.startswith(boundary if boundary.endswith(os.sep) else boundary + os.sep)):
            return False  # outside the project and outside any repository: no .gitignore applies
        for spec, prefix in self._chain(folder, top, boundary):
            relative = absolute[len(prefix):]
            if os.sep != "/":
                relative = relative.replace(os.sep, "/")
            decision = _decide(spec, relative + "/" if is_dir else relative)
            if decision is not None:
                return decision
        return False


def _decide(spec, relative: str) -> Optional[bool]:
    """What the last pattern of one file that matches the entry itself says (True: ignored).

    A pattern that matches only a folder above the entry (`build/` against `build/x.py`) does not
    count: the walk never enters an ignored folder, so such a folder was named on the command line,
    and what a user names explicitly is linted (as ruff and ripgrep do)."""
    for pattern in reversed(spec.patterns):
        if pattern.include is None:
            continue  # a blank line or a comment
        match = pattern.regex.match(relative)
        if match is None:
            continue
        # pathspec marks the `/` after a folder pattern's folder with this group: matched before
        # the end, the pattern matched a folder above the entry, not the entry.
        if match.groupdict().get(_DIR_MARK) is not None and match.end() < len(relative):
            continue
        return bool(pattern.include)
    return None
