"""A cache of results: a run that changes nothing reads every file but parses none.

Entries are content-addressed. The key hashes a file's bytes together with everything else that
decides its diagnostics: the rule codes that apply to it (after per-file-ignores), the modules
configured as `extend-init-modules`, the file's suffix, the cache schema, initlint's version and a
fingerprint of initlint's own code (so that an editable install that changed is not trusted either),
and the versions of libcst and Python. An edit, a config change or an upgrade changes the key, so a
stale entry is never read again; it is simply left unused.

Diagnostics are stored without their path and given the current one on the way out: a renamed or
copied file hits the entry of its twin and still reports its own path.

Parallel runs are safe: an entry is written to a temporary file beside it and renamed over
(`os.replace` is atomic), and whatever cannot be read back as an entry of this schema with this key
(a partial write, a corrupt or foreign file) is a miss, never an error. The cache is best-effort:
a folder that cannot be created or written just means no caching.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Dict, Optional, Sequence, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from initlint.config import Settings
    from initlint.diagnostic import Diagnostic

SCHEMA = 1
DIRNAME = ".initlint_cache"

_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by initlint.\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n"
)


def directory(settings: "Settings") -> str:
    """Where the cache lives: `--cache-dir` / `cache-dir`, else `.initlint_cache` in the project root."""
    return settings.cache_dir or os.path.join(settings.root, DIRNAME)


class Cache:
    """Diagnostics by key, one small file per entry under `<folder>/v<SCHEMA>/`."""

    def __init__(self, folder: str, extend_init_modules: Sequence[str] = ()) -> None:
        self.folder = folder
        self.entries = os.path.join(folder, f"v{SCHEMA}")
        self._run = _fingerprint(tuple(extend_init_modules))
        self._ready = False

    def key(self, data: bytes, suffix: str, codes: Sequence[str]) -> str:
        """The key of a file with content `data` checked with the rules `codes`."""
        digest = hashlib.blake2b(self._run, digest_size=20)
        digest.update(f"\0{suffix}\0{','.join(codes)}\0".encode())
        digest.update(data)
        return digest.hexdigest()

    def get(self, key: str, path: str) -> Optional[Tuple["Diagnostic", ...]]:
        """The diagnostics stored under `key`, with `path` as their path; None on a miss."""
        from initlint.diagnostic import Diagnostic

        try:
            with open(os.path.join(self.entries, key), "rb") as handle:
                entry = pickle.load(handle)
        except Exception:  # noqa: BLE001 - missing, partial, corrupt or foreign: a miss
            return None
        if not (isinstance(entry, tuple) and len(entry) == 3 and entry[0] == SCHEMA and entry[1] == key):
            return None
        diagnostics = entry[2]
        if not isinstance(diagnostics, tuple) or not all(isinstance(d, Diagnostic) for d in diagnostics):
            return None
        return tuple(replace(d, path=path) for d in diagnostics)

    def put(self, key: str, diagnostics: Sequence["Diagnostic"]) -> None:
        """Store `diagnostics` under `key` (atomically; failures are ignored)."""
        if not self._ready and not self._prepare():
            return
        blob = pickle.dumps((SCHEMA, key, tuple(replace(d, path="") for d in diagnostics)), protocol=pickle.HIGHEST_PROTOCOL)
        temporary = os.path.join(self.entries, f".{key}.{os.getpid()}.tmp")
        try:
            with open(temporary, "wb") as handle:
                handle.write(blob)
            os.replace(temporary, os.path.join(self.entries, key))
        except OSError:
            try:
                os.unlink(temporary)
            except OSError:
                pass

    def _prepare(self) -> bool:
        """Create the folder, tagged like ruff's and pytest's (CACHEDIR.TAG, a .gitignore of `*`)."""
        try:
            os.makedirs(self.entries, exist_ok=True)
            for name, text in (("CACHEDIR.TAG", _TAG), (".gitignore", "# Automatically created by initlint.\n*\n")):
                path = os.path.join(self.folder, name)
                if not os.path.exists(path):
                    with open(path, "w", encoding="utf-8") as handle:
                        handle.write(text)
        except OSError:
            return False
        self._ready = True
        return True


_OPEN: Dict[Tuple[str, Tuple[str, ...], str], Cache] = {}


def for_settings(settings: "Settings") -> Optional[Cache]:
    """The cache a run uses (one per process), or None with `--no-cache`."""
    if settings.no_cache:
        return None
    import initlint

    handle = (directory(settings), tuple(settings.extend_init_modules), initlint.__version__)
    if handle not in _OPEN:
        _OPEN[handle] = Cache(handle[0], handle[1])
    return _OPEN[handle]


def _fingerprint(extend_init_modules: Tuple[str, ...]) -> bytes:
    """Everything besides the file and its rules that decides a result."""
    import initlint

    parts = [
        f"schema={SCHEMA}",
        f"initlint={initlint.__version__}",
        f"code={_code_stamp()}",
        f"libcst={_libcst_version()}",
        f"python={sys.version_info[0]}.{sys.version_info[1]}",
        f"extend-init-modules={','.join(extend_init_modules)}",
    ]
    return "\n".join(parts).encode()


_STAMP: Optional[str] = None


def _code_stamp() -> str:
    """Names, sizes and modification times of initlint's own modules (and its rules): a changed
    checkout of the same version must not trust entries written by the old code."""
    global _STAMP
    if _STAMP is None:
        import initlint
        import importlib.util

        folders = [os.path.dirname(initlint.__file__)]
        spec = importlib.util.find_spec("initlint.rules")  # finds the package without importing it
        if spec is not None and spec.submodule_search_locations:
            folders.extend(spec.submodule_search_locations)
        stamp = hashlib.blake2b(digest_size=12)
        for folder in folders:
            try:
                names = sorted(os.listdir(folder))
            except OSError:
                continue
            for name in names:
                if name.endswith(".py"):
                    try:
                        info = os.stat(os.path.join(folder, name))
                    except OSError:
                        continue
                    stamp.update(f"{folder}/{name}:{info.st_size}:{info.st_mtime_ns}\n".encode())
        _STAMP = stamp.hexdigest()
    return _STAMP


def _libcst_version() -> str:
    try:
        from importlib.metadata import version

        return version("libcst")
    except Exception:  # noqa: BLE001 - not installed as a distribution: the key just says so
        return "unknown"
