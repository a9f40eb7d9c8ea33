"""A cache of results: a run that changes nothing reads every file but parses none.

Entries are content-addressed. The key hashes a file's bytes together with everything else that
decides its diagnostics: the rule codes that apply to it (after per-file-ignores), the modules
configured as `extend-init-modules`, the file's suffix, the cache schema, initlint's version and a
fingerprint of initlint's own code (so that an editable install that changed is not trusted either),
and the versions of libcst and Python. An edit, a config change or an upgrade changes the key, so a
stale entry is never read again; it is simply left unused.

The cache is data, never code: an entry is a small JSON document, validated field by field on the
way in (a planted file can at worst be a miss, never run anything, as a pickle would). Diagnostics
are stored without their path and given the current one on the way out: a renamed or copied file
hits the entry of its twin and still reports its own path.

Hostile or broken folders are expected: the cache folder is created, and used, only as a real
folder (a symbolic link there is refused with a warning: writing through it would put files
wherever it points); everything inside is opened relative to that folder, without following
links. Whatever cannot be read back as an entry of this schema with this key (a partial write, a
corrupt, foreign or planted file, a link, a fifo, a device) is a miss, and the next write replaces
it. Parallel runs are safe: an entry is written to a temporary file of its own and renamed over
(`os.replace` is atomic); CACHEDIR.TAG is written once, whole, and never rewritten. A folder that
cannot be created or written gives one warning (carried back in the FileResult, printed by the
command line) and the run goes on without the cache.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import sys
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from initlint.config import Settings
    from initlint.diagnostic import Diagnostic

SCHEMA = 2  # 1 was pickled; its folder (v1) is never read
DIRNAME = ".initlint_cache"
MAX_ENTRY_BYTES = 16 * 1024 * 1024  # far beyond any real entry; a bigger file is not one of ours

_TAG_SIGNATURE = "Signature: 8a477f597d28d172789f06886806bc55\n"
_TAG = (
    _TAG_SIGNATURE + "# This file is a cache directory tag created by initlint.\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n"
)
_GITIGNORE = "# Automatically created by initlint.\n*\n"

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
# Opening relative to a folder's descriptor is what makes "never through a link" hold for the
# folder itself, whatever is swapped in meanwhile; where it is missing, paths are checked instead.
_AT = all(f in os.supports_dir_fd for f in (os.open, os.mkdir, os.stat, os.rename, os.unlink, os.rmdir))


def directory(settings: "Settings") -> str:
    """Where the cache lives: `--cache-dir` / `cache-dir` (the configuration expands `~`), else
    `.initlint_cache` in the project root."""
    return settings.cache_dir or os.path.join(settings.root, DIRNAME)


class Cache:
    """Diagnostics by key, one small JSON file per entry under `<folder>/v<SCHEMA>/`."""

    def __init__(self, folder: str, extend_init_modules: Sequence[str] = ()) -> None:
        self.folder = os.path.abspath(folder)  # (no trailing slash: `link/` would follow the link)
        self.entries = os.path.join(self.folder, f"v{SCHEMA}")
        self._run = _fingerprint(tuple(extend_init_modules))
        self._fd: Any = None  # the entries folder, opened without following links
        self._prepared = False  # the folder, its tag and the entries folder checked for writing
        self._broken = False
        self._warning: Optional[str] = None  # said once (see `take_warning`)

    def key(self, data: bytes, suffix: str, codes: Sequence[str]) -> str:
        """The key of a file with content `data` checked with the rules `codes`."""
        digest = hashlib.blake2b(self._run, digest_size=20)
        digest.update(f"\0{suffix}\0{','.join(codes)}\0".encode())
        digest.update(data)
        return digest.hexdigest()

    def get(self, key: str, path: str) -> Optional[Tuple["Diagnostic", ...]]:
        """The diagnostics stored under `key`, with `path` as their path; None on a miss."""
        if self._broken or (self._fd is None and not self._open(create=False)):
            return None
        blob = self._read(key)
        if blob is None:
            return None
        try:
            entry = json.loads(blob)
            if not (isinstance(entry, dict) and entry.get("schema") == SCHEMA and entry.get("key") == key):
                return None
            return tuple(_diagnostic(item, path) for item in _list(entry.get("diagnostics")))
        except (ValueError, TypeError, KeyError, RecursionError):  # corrupt, foreign or planted: a miss
            return None

    def put(self, key: str, diagnostics: Sequence["Diagnostic"]) -> None:
        """Store `diagnostics` under `key` (atomically). A failure disables the cache for this
        process and leaves a warning for `take_warning`."""
        if self._broken or (not self._prepared and not self._open(create=True)):
            return
        blob = json.dumps({"schema": SCHEMA, "key": key, "diagnostics": [_record(d) for d in diagnostics]}, separators=(",", ":"))
        try:
            self._write(key, blob.encode("utf-8"))
        except OSError as error:
            self._fail(f"cannot write the cache in {self.entries}: {error.strerror or error}")

    def take_warning(self) -> Optional[str]:
        """Why the cache stopped working, the first time it is asked (then None)."""
        warning, self._warning = self._warning, None
        return warning

    # ---- the folder ----------------------------------------------------------------------------

    def _fail(self, warning: str) -> None:
        self._broken = True
        self._warning = f"{warning}; results are not cached"

    def _open(self, create: bool) -> bool:
        """Open (and with `create`, make) the cache folder and its entries folder; False when
        there is none yet to read, or (with a warning) when it cannot be used."""
        # Reading gives up quietly (nothing cached yet, or something to repair): the first write
        # creates or repairs the folder, or says why it cannot.
        try:
            if create:
                self._make_folder()
            folder = _open_folder(self.folder)
        except OSError as error:
            if create:
                self._fail(_folder_problem(self.folder, error))
            return False
        try:
            if create:
                _write_once(folder, "CACHEDIR.TAG", _TAG, keep=lambda text: text.startswith(_TAG_SIGNATURE))
                _write_once(folder, ".gitignore", _GITIGNORE, keep=lambda text: True)
                _mkdir(folder, f"v{SCHEMA}")
            entries = _open_folder(f"v{SCHEMA}", folder)
        except OSError as error:
            if create:
                self._fail(_folder_problem(self.entries, error))
            return False
        finally:
            _close(folder)
        _close(self._fd)
        self._fd, self._prepared = entries, create
        return True

    def _make_folder(self) -> None:
        """The cache folder as a real folder: its parents as the user named them, itself never a link."""
        parent = os.path.dirname(os.path.abspath(self.folder))
        os.makedirs(parent, exist_ok=True)
        try:
            os.mkdir(self.folder)
        except FileExistsError:
            pass

    # ---- entries -------------------------------------------------------------------------------

    def _read(self, key: str) -> Optional[bytes]:
        """An entry's bytes when it is a regular file of a sane size; None for anything else."""
        try:
            if not stat.S_ISREG(_stat(key, self._fd).st_mode):  # a fifo or device is never opened
                return None
            fd = _open(key, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0), self._fd)
        except OSError:
            return None
        try:
            info = os.fstat(fd)  # (what was opened, whatever was swapped in since the stat)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ENTRY_BYTES:
                return None
            return os.read(fd, info.st_size + 1)  # (an entry is written whole, then renamed in)
        except OSError:
            return None
        finally:
            os.close(fd)

    def _write(self, key: str, blob: bytes) -> None:
        temporary = _write_temporary(self._fd, f".{key}", blob)
        try:
            try:
                _replace(temporary, key, self._fd)
            except IsADirectoryError:  # a folder planted under the entry's name: take its place if empty
                _unlink(key, self._fd, remove=os.rmdir)
                _replace(temporary, key, self._fd)
        except BaseException:
            _unlink(temporary, self._fd)
            raise


def _folder_problem(folder: str, error: OSError) -> str:
    if error.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(folder):
        return f"the cache folder {folder} is a symbolic link, which initlint does not write through"
    if error.errno == errno.ENOTDIR or (error.errno == errno.EEXIST and not os.path.isdir(folder)):
        return f"the cache folder {folder} is not a folder"
    return f"cannot use the cache folder {folder}: {error.strerror or error}"


# ---- file operations relative to an open folder (or checked paths where that is not available) ----


def _open_folder(name: str, at: Optional[int] = None) -> Any:
    """A folder that must not be a link: its descriptor (or, without dir_fd support, its checked path)."""
    if _AT:
        return os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=at)
    path = name if at is None else os.path.join(at, name)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise OSError(errno.ELOOP, "is a symbolic link", path)
    if not stat.S_ISDIR(info.st_mode):
        raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
    return path


def _where(name: str, at: Any) -> Tuple[str, Optional[int]]:
    if _AT:
        return name, at
    return (name if at is None else os.path.join(at, name)), None


def _open(name: str, flags: int, at: Any, mode: int = 0o666) -> int:
    name, fd = _where(name, at)
    return os.open(name, flags | _NOFOLLOW | _CLOEXEC, mode, dir_fd=fd)


def _stat(name: str, at: Any) -> os.stat_result:
    name, fd = _where(name, at)
    return os.stat(name, dir_fd=fd, follow_symlinks=False)


def _mkdir(at: Any, name: str) -> None:
    """`name` as a real folder inside `at`: made when missing, a link or file there removed first."""
    where, fd = _where(name, at)
    try:
        info = os.stat(where, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISDIR(info.st_mode):
        return
    if info is not None:
        os.unlink(where, dir_fd=fd)  # inside our own cache folder: ours to clear
    try:
        os.mkdir(where, dir_fd=fd)
    except FileExistsError:
        pass  # a parallel run made it (if it made something else, opening it fails)


def _replace(source: str, target: str, at: Any) -> None:
    (source, fd), (target, _) = _where(source, at), _where(target, at)
    os.replace(source, target, src_dir_fd=fd, dst_dir_fd=fd)


def _unlink(name: str, at: Any, remove=os.unlink) -> None:
    """Remove `name` (a file; with `remove=os.rmdir`, an empty folder) if it can be; no error."""
    name, fd = _where(name, at)
    try:
        remove(name, dir_fd=fd)
    except OSError:
        pass


def _close(fd: Any) -> None:
    if isinstance(fd, int) and fd >= 0:
        try:
            os.close(fd)
        except OSError:
            pass


def _write_temporary(at: Any, prefix: str, data: bytes) -> str:
    """A new file (never an existing one, never through a link) holding `data`; its name."""
    for _ in range(100):
        name = f"{prefix}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        try:
            fd = _open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, at, 0o644)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        except BaseException:
            _unlink(name, at)
            raise
        return name
    raise OSError(errno.EEXIST, "no free temporary name")


def _write_once(at: Any, name: str, text: str, keep) -> None:
    """`name` holding `text`, complete, written once: kept when it is a regular file whose text
    `keep` accepts; else (missing, partial, a link, a fifo) replaced whole by a rename."""
    try:
        if stat.S_ISREG(_stat(name, at).st_mode):
            fd = _open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0), at)
            with os.fdopen(fd, "rb") as handle:
                if keep(handle.read(4096).decode("utf-8", "replace")):
                    return
    except FileNotFoundError:
        pass
    temporary = _write_temporary(at, f".{name}", text.encode("utf-8"))
    try:
        _replace(temporary, name, at)
    except BaseException:
        _unlink(temporary, at)
        raise


# ---- entries as JSON -------------------------------------------------------------------------------


def _record(d: "Diagnostic") -> Dict[str, Any]:
    fix = None
    if d.fix is not None:
        fix = {"title": d.fix.title, "applicability": d.fix.applicability.value, "edits": [[e.start, e.end, e.content] for e in d.fix.edits]}
    return {
        "code": d.code, "name": d.name, "message": d.message,
        "location": [d.location.row, d.location.column], "end": [d.end_location.row, d.end_location.column],
        "severity": d.severity.value, "fix_title": d.fix_title, "fix": fix, "url": d.url, "cell": d.cell,
        "notes": list(d.notes),
    }


def _diagnostic(item: Any, path: str) -> "Diagnostic":
    """One stored diagnostic, every field checked (ValueError, TypeError or KeyError otherwise)."""
    from initlint.diagnostic import Applicability, Diagnostic, Edit, Fix, Location, Severity

    if not isinstance(item, dict):
        raise TypeError("an entry's diagnostic is not an object")
    fix = item["fix"]
    if fix is not None:
        if not isinstance(fix, dict):
            raise TypeError("a fix is not an object")
        edits = []
        for edit in _list(fix["edits"]):
            start, end, content = _list(edit)
            edits.append(Edit(_int(start), _int(end), _str(content)))
        fix = Fix(_str(fix["title"]), tuple(edits), Applicability(fix["applicability"]))
    return Diagnostic(
        code=_str(item["code"]),
        name=_str(item["name"]),
        message=_str(item["message"]),
        path=path,
        location=Location(*_pair(item["location"])),
        end_location=Location(*_pair(item["end"])),
        severity=Severity(item["severity"]),
        fix_title=_optional_str(item["fix_title"]),
        fix=fix,
        url=_optional_str(item["url"]),
        cell=None if item["cell"] is None else _int(item["cell"]),
        notes=tuple(_str(note) for note in _list(item["notes"])),
    )


def _list(value: Any) -> List[Any]:
    if not isinstance(value, list):
        raise TypeError("expected a list")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _optional_str(value: Any) -> Optional[str]:
    return None if value is None else _str(value)


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError("expected a non-negative integer")
    return value


def _pair(value: Any) -> Tuple[int, int]:
    row, column = _list(value)
    return _int(row), _int(column)


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
