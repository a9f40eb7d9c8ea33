"""Writing a fixed file back the way a careful editor does (vim's `backupcopy=auto`).

`--fix` must never lose a byte the user wrote, nor change what the file *is*:

* the bytes on disk are compared with the ones that were fixed right before they are replaced
  (after the new content is safely written elsewhere): a file changed meanwhile, say by an editor
  appending lines, is left alone and the caller is told;
* a symbolic link stays a link: the file written is the link's target;
* mode, owner, group and extended attributes (ACLs, SELinux labels, user.*) are kept;
* a read-only file (no write bit, or not writable by this user) is refused, never replaced: a
  rename only needs the folder to be writable and would bypass the file's own protection.

The usual way is a temporary file beside the target, given the target's owner, group, extended
attributes and mode, then renamed over it: readers see the old file or the new one, never half.
Where a rename would change what the file is (other hard links would keep the old text; the
owner or an attribute cannot be given to a new file by this user; the folder is not writable; the
file is a mount point), the bytes are written through the file's own inode instead, after the
space for them is reserved, so that a full disk fails before anything is changed.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Optional

# Errors of a rename (or of creating the temporary file) that writing in place can avoid: no
# right to the folder, the target is a mount point or on another device.
_REPLACE_IMPOSSIBLE = frozenset({errno.EACCES, errno.EPERM, errno.EBUSY, errno.EXDEV, errno.EROFS})
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class WriteError(Exception):
    """The file was not written (and not changed); the message says why."""


class _InPlace(Exception):
    """A rename would change what the file is: write through its inode instead."""


def replace_contents(path: str, data: bytes, expected: bytes) -> None:
    """Make the file at `path` (through symbolic links: their target) hold `data`, provided it
    still holds `expected`; WriteError, with the file untouched, when that cannot be done safely."""
    target = os.path.realpath(path)
    try:
        info = os.stat(target)
    except OSError as error:
        raise WriteError(f"cannot write: {_reason(error)}") from None
    if not stat.S_ISREG(info.st_mode):
        raise WriteError("not a regular file; not written")
    if not info.st_mode & 0o222 or not _may_write(target):
        raise WriteError("the file is read-only; not changed (make it writable to let --fix change it)")
    from initlint.interrupt import deferred

    with deferred():  # Ctrl-C between the write and the truncate would leave neither text
        try:
            if info.st_nlink > 1:
                raise _InPlace  # a rename would leave the other links holding the old text
            _replace(target, info, data, expected)
        except _InPlace:
            _write_in_place(target, data, expected)


def _may_write(target: str) -> bool:
    """Whether this process may write the file (permissions, ACLs, an immutable flag, a read-only
    mount), as the kernel judges it for the effective user (what open() would use)."""
    effective = os.access in os.supports_effective_ids
    return os.access(target, os.W_OK, effective_ids=effective)


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def _changed() -> WriteError:
    return WriteError("the file changed since it was read; not overwritten (run --fix again)")


def _current(target: str, limit: int) -> Optional[bytes]:
    """The target's bytes now, up to `limit` (None when it is gone or no longer a regular file)."""
    try:
        fd = os.open(target, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        return _read_all(fd, limit) if stat.S_ISREG(os.fstat(fd).st_mode) else None
    finally:
        os.close(fd)


def _replace(target: str, info: os.stat_result, data: bytes, expected: bytes) -> None:
    """Write a temporary file that is the target in all but content, then rename it over the target."""
    import tempfile  # only a run that writes pays for it

    folder, name = os.path.split(target)
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".initlint-tmp", dir=folder)
    except OSError as error:
        if error.errno in _REPLACE_IMPOSSIBLE:
            raise _InPlace from None
        raise WriteError(f"cannot write: {_reason(error)}") from None
    try:
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                _give_identity(handle.fileno(), temporary, target, info)
                os.fsync(handle.fileno())
        except _InPlace:
            raise
        except OSError as error:
            raise WriteError(f"cannot write: {_reason(error)}") from None
        # The last moment before the rename: whatever was added since the read would be lost.
        if _current(target, len(expected) + 1) != expected:
            raise _changed()
        try:
            os.replace(temporary, target)
        except OSError as error:
            if error.errno in _REPLACE_IMPOSSIBLE:
                raise _InPlace from None
            raise WriteError(f"cannot write: {_reason(error)}") from None
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _give_identity(fd: int, temporary: str, target: str, info: os.stat_result) -> None:
    """Owner, group, extended attributes and mode of the target onto the temporary file; _InPlace
    when this user may not give one of them (the rename would change the file's owner, say)."""
    mine = os.fstat(fd)
    if hasattr(os, "fchown") and (mine.st_uid, mine.st_gid) != (info.st_uid, info.st_gid):
        try:
            os.fchown(fd, info.st_uid, info.st_gid)
        except OSError:
            raise _InPlace from None
    if not _copy_xattrs(target, fd):
        raise _InPlace
    # Last: chown clears the set-user-id and set-group-id bits.
    os.chmod(fd if os.chmod in os.supports_fd else temporary, stat.S_IMODE(info.st_mode))


def _copy_xattrs(target: str, fd: int) -> bool:
    """The target's extended attributes, exactly, onto `fd` (and none it lacks, such as an ACL
    inherited from the folder); False when one cannot be read or set."""
    if not hasattr(os, "listxattr"):
        return True
    unsupported = (errno.ENOTSUP, getattr(errno, "EOPNOTSUPP", errno.ENOTSUP))
    try:
        wanted = {name: os.getxattr(target, name) for name in os.listxattr(target)}
        present = os.listxattr(fd)
    except OSError as error:
        return error.errno in unsupported  # a file system without them has none to keep
    try:
        for name in present:
            if name not in wanted:
                os.removexattr(fd, name)
        for name, value in wanted.items():
            os.setxattr(fd, name, value)
    except OSError:
        return False
    return True


def _write_in_place(target: str, data: bytes, expected: bytes) -> None:
    """Write `data` through the target's own inode: hard links, owner and attributes stay as they
    are. The space is reserved first, so a full disk leaves the file as it was."""
    try:
        fd = os.open(target, os.O_RDWR | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise WriteError(f"cannot write: {_reason(error)}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise WriteError("not a regular file; not written")
        if _read_all(fd, len(expected) + 1) != expected:
            raise _changed()
        if len(data) > len(expected) and hasattr(os, "posix_fallocate"):
            try:
                os.posix_fallocate(fd, 0, len(data))
            except OSError as error:
                if error.errno not in (errno.EINVAL, errno.ENOTSUP, getattr(errno, "EOPNOTSUPP", errno.ENOTSUP)):
                    raise WriteError(f"cannot write: {_reason(error)}") from None
        try:
            _write_all(fd, data)
            os.ftruncate(fd, len(data))
            os.fsync(fd)
        except OSError as error:
            try:  # the original bytes back: they fit, they were there a moment ago
                _write_all(fd, expected)
                os.ftruncate(fd, len(expected))
            except OSError:
                pass
            raise WriteError(f"cannot write: {_reason(error)}") from None
    finally:
        os.close(fd)


def _read_all(fd: int, limit: int) -> bytes:
    chunks, size = [], 0
    os.lseek(fd, 0, os.SEEK_SET)
    while size < limit:
        chunk = os.read(fd, min(1 << 20, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    os.lseek(fd, 0, os.SEEK_SET)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
