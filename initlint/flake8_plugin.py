"""flake8 plugin: `flake8 --select IL` reports initlint's findings.

Registered as the `IL` entry point of `flake8.extension`. flake8 adds one to the column a plugin
yields (it expects the AST's 0-based col_offset), so the plugin yields initlint's 1-based column
minus one and flake8 prints the same column initlint does. Settings come from the
`[tool.initlint]` table of the checked file's project, as for `initlint check`.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Optional, Sequence, Tuple, Type

from initlint import __version__
from initlint.config import ConfigError, Settings, all_codes, find_config, load


@lru_cache(maxsize=64)
def _settings(config: Optional[Path]) -> Settings:
    try:
        return load(config, Path.cwd(), {})
    except ConfigError:
        # flake8 has no place for initlint's config errors; `initlint check` reports them.
        return Settings(select=all_codes())


def settings_for(filename: str) -> Settings:
    """The settings of the project `filename` belongs to (its nearest [tool.initlint])."""
    start = Path.cwd() if filename in ("-", "stdin", "") else Path(filename)
    try:
        config = find_config(start)
    except ConfigError:
        config = None
    return _settings(config)


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

        source = "".join(self.lines)
        for d in lint_source(source, self.filename, settings_for(self.filename)):
            yield d.location.row, d.location.column - 1, f"{d.code} {one_line(d.message)}", type(self)
