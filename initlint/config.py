"""`[tool.initlint]` in the nearest pyproject.toml, plus command-line overrides -> one frozen Settings."""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

FORMATS = ("concise", "full", "json", "github", "sarif")

DEFAULT_EXCLUDE = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".hg",
    ".initlint_cache",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pytest_cache",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    "venv",
    "__pypackages__",
    "__pycache__",
    "_build",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "*.egg-info",
)

KNOWN_KEYS = frozenset(
    {
        "select",
        "ignore",
        "extend-select",
        "per-file-ignores",
        "extend-per-file-ignores",
        "exclude",
        "extend-exclude",
        "force-exclude",
        "format",
        "extend-init-modules",
        "jobs",
        "cache-dir",
    }
)


class ConfigError(Exception):
    """A configuration the user can fix: reported as a message, exit code 2."""


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know, resolved once."""

    select: Tuple[str, ...]
    per_file_ignores: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()
    exclude: Tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: Tuple[str, ...] = ()
    force_exclude: bool = False
    format: str = "concise"
    extend_init_modules: Tuple[str, ...] = ()
    jobs: int = 0  # 0: every core
    cache_dir: Optional[str] = None  # None: <root>/.initlint_cache
    no_cache: bool = False
    root: str = field(default_factory=os.getcwd)  # the project root (where the config was found)
    config_path: Optional[str] = None

    def with_overrides(self, **changes: Any) -> "Settings":
        """A copy with some fields changed."""
        return replace(self, **changes)


# Every static rule code. Kept here, not read from `initlint.rules`, so that resolving settings
# does not import the rules (and libcst with them): a run with nothing to parse never does.
# tests/test_imports_light.py checks that it matches initlint.rules.BY_CODE.
RULE_CODES: Tuple[str, ...] = ("IL001", "IL002", "IL003", "IL004", "IL005", "IL010")


def all_codes() -> Tuple[str, ...]:
    """Every static rule code, sorted."""
    return RULE_CODES


def expand(selectors: Iterable[str], what: str) -> Tuple[str, ...]:
    """Codes matched by selectors (`IL001`, prefixes like `IL0`, or `ALL`); unknown ones are errors."""
    codes = all_codes()
    chosen: List[str] = []
    unknown: List[str] = []
    for selector in selectors:
        selector = selector.strip().upper()
        if not selector:
            continue
        matched = list(codes) if selector == "ALL" else [c for c in codes if c.startswith(selector)]
        if not matched:
            unknown.append(selector)
        chosen.extend(c for c in matched if c not in chosen)
    if unknown:
        raise ConfigError(f"unknown rule code or prefix in {what}: {', '.join(unknown)} (known: {', '.join(codes)})")
    return tuple(sorted(chosen))


def find_config(start: Path) -> Optional[Path]:
    """The nearest pyproject.toml, upwards from `start`, that has a [tool.initlint] table (or the nearest one)."""
    start = start.resolve()
    directory = start if start.is_dir() else start.parent
    for candidate in (directory, *directory.parents):
        path = candidate / "pyproject.toml"
        if path.is_file():
            try:
                data = _read_toml(path)
            except ConfigError:
                raise
            if "initlint" in data.get("tool", {}):
                return path
    return None


def _read_toml(path: Path) -> Dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None


def load(config: Optional[Path], start: Path, cli: Mapping[str, Any]) -> Settings:
    """Settings from the config file (explicit, or the nearest), with CLI values winning."""
    path = config if config is not None else find_config(start)
    table: Dict[str, Any] = {}
    root = Path.cwd()
    if path is not None:
        data = _read_toml(path)
        table = data.get("tool", {}).get("initlint", {}) if path.name == "pyproject.toml" else data
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [tool.initlint] must be a table")
        root = path.parent.resolve()
        unknown = sorted(set(table) - KNOWN_KEYS)
        if unknown:
            raise ConfigError(f"{path}: unknown key(s) in [tool.initlint]: {', '.join(unknown)}")
    where = str(path) if path else "the command line"
    return _settings(table, cli, root, where, str(path) if path else None)


def _strings(value: Any, key: str, where: str) -> Tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{where}: `{key}` must be a list of strings")


def _settings(table: Mapping[str, Any], cli: Mapping[str, Any], root: Path, where: str, path: Optional[str]) -> Settings:
    def pick(key: str, default: Any = None) -> Any:
        value = cli.get(key)
        if value not in (None, (), []):
            return value
        return table.get(key, default)

    select = expand(_strings(pick("select", ["ALL"]), "select", where), "select")
    extend = expand(_strings(pick("extend-select", []), "extend-select", where), "extend-select")
    ignore = expand(_strings(pick("ignore", []), "ignore", where), "ignore")
    chosen = tuple(c for c in sorted(set(select) | set(extend)) if c not in ignore)

    per_file: List[Tuple[str, Tuple[str, ...]]] = []
    for key in ("per-file-ignores", "extend-per-file-ignores"):
        mapping = table.get(key, {})
        if not isinstance(mapping, dict):
            raise ConfigError(f"{where}: `{key}` must be a table of pattern = [codes]")
        for pattern, codes in mapping.items():
            per_file.append((pattern, expand(_strings(codes, key, where), key)))
    for item in cli.get("per-file-ignores") or ():
        pattern, _, codes = item.partition(":")
        if not codes:
            raise ConfigError(f"--per-file-ignores expects PATTERN:CODES, got {item!r}")
        per_file.append((pattern, expand(codes.split(","), "--per-file-ignores")))

    fmt = pick("format", "concise")
    if fmt not in FORMATS:
        raise ConfigError(f"{where}: unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    jobs = pick("jobs", 0)
    if not isinstance(jobs, int) or jobs < 0:
        raise ConfigError(f"{where}: `jobs` must be a non-negative integer")
    exclude = _strings(table.get("exclude", list(DEFAULT_EXCLUDE)), "exclude", where)
    if cli.get("exclude"):
        exclude = tuple(cli["exclude"])
    extend_exclude = _strings(table.get("extend-exclude", []), "extend-exclude", where) + tuple(cli.get("extend-exclude") or ())
    return Settings(
        select=chosen,
        per_file_ignores=tuple(per_file),
        exclude=exclude,
        extend_exclude=extend_exclude,
        force_exclude=bool(cli.get("force-exclude") or table.get("force-exclude", False)),
        format=fmt,
        extend_init_modules=_strings(table.get("extend-init-modules", []), "extend-init-modules", where),
        jobs=jobs,
        cache_dir=_cache_dir(cli, table, root),
        no_cache=bool(cli.get("no-cache")),
        root=str(root),
        config_path=path,
    )


def _cache_dir(cli: Mapping[str, Any], table: Mapping[str, Any], root: Path) -> Optional[str]:
    """`--cache-dir` (relative to the working directory) or `cache-dir` (relative to the config's folder)."""
    if cli.get("cache-dir"):
        return os.path.abspath(cli["cache-dir"])
    if table.get("cache-dir"):
        return str(root / str(table["cache-dir"]))
    return None


def ignored_for(path: str, settings: Settings) -> Tuple[str, ...]:
    """Codes that per-file-ignores turn off for `path` (patterns match the path relative to the root, or its name)."""
    if not settings.per_file_ignores:
        return ()
    from fnmatch import fnmatch

    rel = relative(path, settings.root)
    codes: List[str] = []
    for pattern, pattern_codes in settings.per_file_ignores:
        if fnmatch(rel, pattern) or fnmatch(Path(path).name, pattern) or fnmatch(rel, pattern.rstrip("/") + "/*"):
            codes.extend(pattern_codes)
    return tuple(codes)


@functools.lru_cache(maxsize=8)
def _resolved(root: str) -> str:
    """`root` (absolute) with its symbolic links resolved: once per run, not once per file."""
    return str(Path(root).resolve())


def relative(path: str, root: str) -> str:
    """`path` relative to `root` in POSIX form when it is under it, else as given."""
    absolute, base = os.path.abspath(path), _resolved(os.path.abspath(root))
    if absolute == base:
        return "."
    prefix = base if base.endswith(os.sep) else base + os.sep
    if absolute.startswith(prefix):
        rel = absolute[len(prefix):]
        return rel.replace(os.sep, "/") if os.sep != "/" else rel
    return Path(path).as_posix()
