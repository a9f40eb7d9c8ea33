"""Configuration files: which files count, reading them, and checking every value's type.

A folder's configuration is, in this order (ruff's), the first of `.initlint.toml`,
`initlint.toml` (both with the keys at the top level) and a `pyproject.toml` with a
`[tool.initlint]` table. A `pyproject.toml` without that table is read all the same (it may be
on the way up to the configuration): one that is not UTF-8, not TOML, or whose `tool` is not a
table is an error that names the file, never a traceback and never silently skipped.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

FORMATS = ("concise", "full", "json", "github", "sarif")
CONFIG_NAMES = (".initlint.toml", "initlint.toml", "pyproject.toml")


class ConfigError(Exception):
    """A configuration the user can fix: reported as a message, exit code 2."""


@dataclass(frozen=True)
class ConfigFile:
    """One configuration file and its initlint table (every value's type checked)."""

    path: Path
    table: Mapping[str, Any]

    @property
    def root(self) -> Path:
        """The folder its relative patterns and paths are resolved from."""
        return self.path.parent


def type_name(value: Any) -> str:
    """How TOML would call a value's type, for messages."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"  # dates and times


def _strings(value: Any) -> Optional[str]:
    """Why `value` is not a list of strings (or one comma-separated string), else None."""
    if isinstance(value, str):
        return None
    if not isinstance(value, list):
        return f"must be an array of strings, not {type_name(value)}"
    for item in value:
        if not isinstance(item, str):
            return f"must be an array of strings, but holds {type_name(item)} ({item!r})"
    return None


def _boolean(value: Any) -> Optional[str]:
    return None if isinstance(value, bool) else f"must be true or false, not {type_name(value)}"


def _string(value: Any) -> Optional[str]:
    return None if isinstance(value, str) else f"must be a string, not {type_name(value)}"


def _format(value: Any) -> Optional[str]:
    if not isinstance(value, str):
        return f"must be a string, not {type_name(value)}"
    return None if value in FORMATS else f"unknown format {value!r} (choose from {', '.join(FORMATS)})"


def _jobs(value: Any) -> Optional[str]:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"must be a non-negative integer, not {type_name(value)}"
    return None if value >= 0 else f"must be a non-negative integer, not {value}"


def _pattern_table(value: Any) -> Optional[str]:
    if not isinstance(value, dict):
        return f"must be a table of pattern = [codes], not {type_name(value)}"
    for pattern, codes in value.items():
        why = _strings(codes)
        if why is not None:
            return f"{pattern!r} {why}"
    return None


def _table(value: Any) -> Optional[str]:
    return None if isinstance(value, dict) else f"must be a table, not {type_name(value)}"


# Every key of [tool.initlint], with the check of its value (None: fine, else why not).
KEYS: Dict[str, Callable[[Any], Optional[str]]] = {
    "select": _strings,
    "ignore": _strings,
    "extend-select": _strings,
    "per-file-ignores": _pattern_table,
    "extend-per-file-ignores": _pattern_table,
    "exclude": _strings,
    "extend-exclude": _strings,
    "force-exclude": _boolean,
    "respect-gitignore": _boolean,
    "format": _format,
    "output-format": _format,  # ruff's name for it
    "extend-init-modules": _strings,
    "lint-tests": _boolean,
    "jobs": _jobs,
    "cache-dir": _string,
    "runtime": _table,  # [tool.initlint.runtime]: its contents are checked by initlint.runtime.settings
}


def validate(table: Mapping[str, Any], where: str) -> None:
    """Raise ConfigError naming `where` and the key for an unknown key or a value of the wrong type."""
    for key, value in table.items():
        check = KEYS.get(key)
        if check is None:
            import difflib  # (only for a message)

            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f" (did you mean `{close[0]}`?)" if close else f" (known: {', '.join(sorted(KEYS))})"
            raise ConfigError(f"{where}: unknown key `{key}`{hint}")
        why = check(value)
        if why is not None:
            raise ConfigError(f"{where}: `{key}` {why}")
    if "format" in table and "output-format" in table:
        raise ConfigError(f"{where}: give `format` or `output-format`, not both")


def read_toml(path: Path) -> Dict[str, Any]:
    """A TOML file's data; ConfigError (naming the file) when it cannot be read or is not UTF-8 TOML."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not valid UTF-8 (byte {error.start}): TOML files must be UTF-8") from None
    try:
        return tomllib.loads(text[1:] if text.startswith("\ufeff") else text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None


def _tool_table(data: Mapping[str, Any], path: Path) -> Optional[Mapping[str, Any]]:
    """The [tool.initlint] table of a pyproject's data, None when it has none."""
    tool = data.get("tool")
    if tool is None:
        return None
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: `tool` must be a table, not {type_name(tool)}")
    table = tool.get("initlint")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: `tool.initlint` must be a table, not {type_name(table)}")
    return table


def read(path: Path, explicit: bool = False) -> Optional[ConfigFile]:
    """A configuration file's checked initlint table; None for a pyproject.toml without one.

    `explicit` (`--config PATH`): any file name; a file whose only initlint settings are under
    [tool.initlint] is read as a pyproject, any other as an initlint.toml.
    """
    data = read_toml(path)
    if path.name == "pyproject.toml" or (explicit and "tool" in data and not set(data) & set(KEYS)):
        table = _tool_table(data, path)
        if table is None:
            if explicit:
                raise ConfigError(f"{path}: no [tool.initlint] table")
            return None
    else:
        table = data
    validate(table, str(path))
    return ConfigFile(path, table)


def in_folder(folder: str) -> Optional[ConfigFile]:
    """The configuration file of one folder (not its parents), if it has one."""
    for name in CONFIG_NAMES:
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            found = read(Path(candidate))
            if found is not None:
                return found
    return None


def inline(text: str) -> Dict[str, Any]:
    """`--config "KEY = VALUE"`: one TOML assignment as an override (ruff's form)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"--config {text!r} is neither a file nor a TOML `key = value` ({error})") from None
    validate(data, f"--config {text!r}")
    return data


def parents(start: str) -> Tuple[str, ...]:
    """`start` (absolute) and every folder above it, nearest first."""
    out = [start]
    while True:
        parent = os.path.dirname(out[-1])
        if parent == out[-1]:
            return tuple(out)
        out.append(parent)
