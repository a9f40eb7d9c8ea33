"""flake8 plugin: `flake8 --select IL` reports initlint's findings.

Registered as the `IL` entry point of `flake8.extension`. flake8 adds one to the column a plugin
yields (it expects the AST's 0-based col_offset), so the plugin yields initlint's 1-based column
minus one and flake8 prints the same column initlint does. Settings come from the
`[tool.initlint]` table of the checked file's project, as for `initlint check`; a configuration
that cannot be used is reported on the file as IL904 (flake8 has no other way to say it), and the
file is not checked with settings it did not ask for.
"""

from __future__ import annotations

import ast
import os
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Sequence, Tuple, Type

from initlint import __version__
from initlint.config import ConfigError, Settings, load
from initlint.diagnostic import CONFIG_ERROR


@lru_cache(maxsize=256)
def _settings(folder: str) -> Settings:
    return load(None, Path(folder), {"no-cache": True})  # (a ConfigError is raised, not cached)


def settings_for(filename: str) -> Settings:
    """The settings of the project `filename` belongs to (its nearest configuration); ConfigError
    when that configuration, or one on the way up to it, cannot be used."""
    if filename in ("-", "stdin", ""):
        return _settings(os.getcwd())
    return _settings(os.path.dirname(os.path.abspath(filename)))


class Plugin:
    """A flake8 tree plugin; it lints the file's text (`lines`), not flake8's AST."""

    name = "initlint"
    version = __version__

    def __init__(self, tree: ast.AST, filename: str, lines: Sequence[str]) -> None:
        self.filename = filename
        self.lines = lines

    def run(self) -> Iterator[Tuple[int, int, str, Type["Plugin"]]]:
        """(row, 0-based column, "ILnnn message", type) for each finding."""
        from initlint.engine import lint_source
        from initlint.report.concise import one_line

        try:
            settings = settings_for(self.filename)
        except ConfigError as error:
            yield 1, 0, f"{CONFIG_ERROR[0]} {one_line(str(error))}", type(self)
            return
        source = "".join(self.lines)
        for d in lint_source(source, self.filename, settings):
            yield d.location.row, d.location.column - 1, f"{d.code} {one_line(d.message)}", type(self)
