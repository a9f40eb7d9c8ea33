"""Settings: the configuration files that apply to each file, plus command-line overrides ->
one frozen Settings per configuration, as ruff resolves them.

Each file is checked with the settings of the nearest configuration above it (see
`initlint.config_files` for which files count); `--config PATH` overrides them all. Settings
that must be the same for the whole run (the output format, the cache, the number of workers,
force-exclude and respect-gitignore) come from the first configuration above the current folder.
Command-line flags win over both. Rule selectors are expanded into codes once, here.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from initlint import config_files
from initlint.config_files import FORMATS, ConfigError, ConfigFile  # noqa: F401 - re-exported

CACHE_DIRNAME = ".initlint_cache"

DEFAULT_EXCLUDE = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".hg",
    CACHE_DIRNAME,
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

KNOWN_KEYS = frozenset(config_files.KEYS)


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know about one file's configuration, resolved once."""

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
    respect_gitignore: bool = True
    # Judge test code too (tests/, test_*.py, test functions): by default the model rules leave
    # it alone, since tests build reference models with constants on purpose.
    lint_tests: bool = False

    def with_overrides(self, **changes: Any) -> "Settings":
        """A copy with some fields changed."""
        return replace(self, **changes)


_RULE_MODULE = re.compile(r"^(il\d{3})_\w+\.py$")


@functools.lru_cache(maxsize=1)
def all_codes() -> Tuple[str, ...]:
    """Every static rule code, sorted.

    Read from the names of the rules package's modules (`il001_constant_weight_init.py`), not by
    importing the registry: resolving settings must not import the rules (and libcst with them),
    since a run with nothing to parse never does. tests/test_imports_light.py checks that the
    two agree; the rules' own test checks that every module is registered.
    """
    import importlib.util

    spec = importlib.util.find_spec("initlint.rules")
    codes = set()
    for folder in (spec.submodule_search_locations or ()) if spec is not None else ():
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        codes.update(match.group(1).upper() for match in map(_RULE_MODULE.match, names) if match)
    if not codes:  # installed in a form without module files (a zip, a frozen app): import them
        from initlint.rules import BY_CODE

        codes = set(BY_CODE)
    return tuple(sorted(codes))


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
        raise ConfigError(f"{what}: unknown rule code or prefix {', '.join(unknown)} (known: {', '.join(codes)})")
    return tuple(sorted(chosen))


def _listed(value: Any) -> Tuple[str, ...]:
    """A checked array of strings, or one comma-separated string, as a tuple."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return tuple(value)


class Resolver:
    """The settings of every folder of a run (each file takes its folder's), and the run's global ones.

    `cli`: the command line's values by configuration key (None or empty when not given).
    `configs`: the `--config` values: at most one file (replacing every discovered one) and any
    number of inline `KEY = VALUE` overrides. Errors in any configuration read are ConfigError.
    """

    def __init__(self, cli: Optional[Mapping[str, Any]] = None, configs: Sequence[str] = (), cwd: Optional[str] = None) -> None:
        self.cli: Mapping[str, Any] = dict(cli or {})
        self.cwd = os.path.abspath(cwd or os.getcwd())
        self._explicit: Optional[ConfigFile] = None
        self._overrides: Dict[str, Any] = {}
        for value in configs:
            candidate = os.path.join(self.cwd, os.path.expanduser(value))
            if os.path.isfile(candidate):
                if self._explicit is not None:
                    raise ConfigError(f"--config: give one configuration file, not two ({self._explicit.path}, {value})")
                self._explicit = config_files.read(Path(candidate), explicit=True)
            elif "=" in value:
                self._overrides.update(config_files.inline(value))
            else:
                raise ConfigError(f"--config {value}: no such file")
        self._by_dir: Dict[str, Settings] = {}
        self._by_config: Dict[Optional[Path], Settings] = {}
        self.config = self._explicit or self._nearest(self.cwd)
        self.globals = self._globals(self.config)

    def _nearest(self, folder: str) -> Optional[ConfigFile]:
        for candidate in config_files.parents(folder):
            found = config_files.in_folder(candidate)
            if found is not None:
                return found
        return None

    def _table(self, config: Optional[ConfigFile]) -> Dict[str, Any]:
        table = dict(config.table) if config is not None else {}
        if "output-format" in table:
            table["format"] = table.pop("output-format")
        overrides = dict(self._overrides)
        if "output-format" in overrides:
            overrides["format"] = overrides.pop("output-format")
        table.update(overrides)
        return table

    def _globals(self, config: Optional[ConfigFile]) -> Settings:
        """The current folder's settings, with the run-wide values resolved."""
        table = self._table(config)
        root = config.root if config is not None else Path(self.cwd)
        where = str(config.path) if config is not None else "the command line"
        settings = _settings(table, self.cli, root, where, str(config.path) if config is not None else None)
        cli = self.cli
        if cli.get("cache-dir"):
            cache_dir = os.path.join(self.cwd, os.path.expanduser(str(cli["cache-dir"])))
        elif table.get("cache-dir"):
            cache_dir = str(root / os.path.expanduser(str(table["cache-dir"])))
        else:
            cache_dir = str(root / CACHE_DIRNAME)
        gitignore = cli.get("respect-gitignore")
        return replace(
            settings,
            format=cli.get("format") or table.get("format", "concise"),
            jobs=cli["jobs"] if cli.get("jobs") is not None else table.get("jobs", 0),
            cache_dir=os.path.normpath(cache_dir),
            no_cache=bool(cli.get("no-cache")),
            force_exclude=bool(cli.get("force-exclude") or table.get("force-exclude", False)),
            respect_gitignore=gitignore if gitignore is not None else table.get("respect-gitignore", True),
        )

    def _of(self, config: Optional[ConfigFile]) -> Settings:
        """The settings of the files under `config` (one object per configuration)."""
        key = config.path if config is not None else None
        if key not in self._by_config:
            if config is self.config:
                self._by_config[key] = self.globals
            else:
                root = config.root if config is not None else Path(self.cwd)
                local = _settings(self._table(config), self.cli, root, str(key) if key else "the command line", str(key) if key else None)
                g = self.globals
                self._by_config[key] = replace(
                    local, format=g.format, jobs=g.jobs, cache_dir=g.cache_dir, no_cache=g.no_cache,
                    force_exclude=g.force_exclude, respect_gitignore=g.respect_gitignore,
                )
        return self._by_config[key]

    def for_dir(self, directory: str) -> Settings:
        """The settings of the files in `directory`: its nearest configuration's (or --config's)."""
        if self._explicit is not None:
            return self.globals
        start = os.path.abspath(directory)
        cached = self._by_dir.get(start)
        if cached is not None:
            return cached
        passed: List[str] = []
        config: Optional[ConfigFile] = None
        for folder in config_files.parents(start):  # a loop, not recursion: folders can nest deeply
            if folder in self._by_dir:
                settings = self._by_dir[folder]
                break
            passed.append(folder)
            config = config_files.in_folder(folder)
            if config is not None:
                settings = self._of(config)
                break
        else:
            settings = self._of(None)
        for folder in passed:
            self._by_dir[folder] = settings
        return settings

    def for_path(self, path: str) -> Settings:
        """The settings of a file (its folder's) or of a folder."""
        absolute = os.path.join(self.cwd, path)
        return self.for_dir(absolute if os.path.isdir(absolute) else os.path.dirname(absolute))


def find_config(start: Path) -> Optional[Path]:
    """The nearest configuration file at or above `start` (a file or a folder); ConfigError for a
    broken file on the way."""
    start = Path(os.path.abspath(start))
    folder = str(start if start.is_dir() else start.parent)
    for candidate in config_files.parents(folder):
        found = config_files.in_folder(candidate)
        if found is not None:
            return found.path
    return None


def load(config: Optional[Path], start: Path, cli: Mapping[str, Any]) -> Settings:
    """The settings of `start` (a file or folder): `config` if given, else its nearest configuration
    (which then also gives the run-wide values: the editor's and flake8's case)."""
    start = Path(os.path.abspath(start))
    folder = str(start if start.is_dir() else start.parent)
    configs = (os.path.abspath(config),) if config is not None else ()
    return Resolver(cli, configs, cwd=folder).globals


def _settings(table: Mapping[str, Any], cli: Mapping[str, Any], root: Path, where: str, path: Optional[str]) -> Settings:
    """One configuration's table (checked already) with the command line's values on top."""

    def pick(key: str, default: Any = None) -> Any:
        value = cli.get(key)
        if value not in (None, (), []):
            return value
        return _listed(table[key]) if key in table else default

    select = expand(pick("select", ("ALL",)), f"{where}: select" if not cli.get("select") else "--select")
    extend = expand(pick("extend-select", ()), f"{where}: extend-select" if not cli.get("extend-select") else "--extend-select")
    ignore_config = expand(_listed(table.get("ignore", ())), f"{where}: ignore")
    ignore_cli = expand(cli.get("ignore") or (), "--ignore")
    off = set(ignore_config) | set(ignore_cli)
    chosen = tuple(c for c in sorted(set(select) | set(extend)) if c not in off)

    per_file: List[Tuple[str, Tuple[str, ...]]] = []
    for key in ("per-file-ignores", "extend-per-file-ignores"):
        for pattern, codes in table.get(key, {}).items():
            per_file.append((pattern, expand(_listed(codes), f"{where}: {key} {pattern!r}")))
    for item in cli.get("per-file-ignores") or ():
        pattern, _, codes = item.rpartition(":")
        if not pattern or not codes:
            raise ConfigError(f"--per-file-ignores expects PATTERN:CODES, got {item!r}")
        per_file.append((pattern, expand(codes.split(","), "--per-file-ignores")))

    exclude = tuple(cli["exclude"]) if cli.get("exclude") else _listed(table.get("exclude", DEFAULT_EXCLUDE))
    extend_exclude = _listed(table.get("extend-exclude", ())) + tuple(cli.get("extend-exclude") or ())
    return Settings(
        select=chosen,
        per_file_ignores=tuple(per_file),
        exclude=exclude,
        extend_exclude=extend_exclude,
        extend_init_modules=_listed(table.get("extend-init-modules", ())),
        lint_tests=bool(table.get("lint-tests", False)),
        root=str(Path(os.path.abspath(root)).resolve()),
        config_path=path,
    )


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


# --- [tool.initlint.runtime]: read here, validated by initlint.runtime.settings ----------------
# Kept apart from Settings on purpose: only the runtime mode reads it, and it needs no rule codes.


def runtime_table(config: Optional[Path], start: Path) -> Tuple[Dict[str, Any], Optional[Path]]:
    """The raw `runtime` table of the configuration (`config`, else the nearest one to `start`), and its file."""
    path = Path(os.path.abspath(config)) if config is not None else find_config(start)
    if path is None:
        return {}, None
    found = config_files.read(path, explicit=config is not None)
    return dict(found.table.get("runtime", {})) if found is not None else {}, path
