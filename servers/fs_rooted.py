"""File access below a sandbox root, one component at a time, never following a link.

:meth:`Sandbox.resolve` checks a path by name, and between that check and the I/O another
process can swap a directory for a symlink that points outside (a TOCTOU race). So every
operation here starts from the root's descriptor and opens each component relative to the
previous one with ``O_NOFOLLOW`` (``openat`` style): a link that appears anywhere on the way is
refused, not followed. Only regular files are opened for reading, never FIFOs or devices (which
can block forever), and writes go to a temporary file that is renamed over the target.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO, NoReturn

from servers.sandbox import AccessDeniedError, Sandbox

__all__ = [
    "DIRECTORY_FLAGS",
    "NotRegularFileError",
    "lstat",
    "open_directory",
    "open_regular",
    "write_atomic",
]

DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_KINDS = {
    stat.S_IFIFO: "FIFO (named pipe)",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}


class NotRegularFileError(ValueError):
    """The path is a FIFO, socket or device: only regular files are read or written."""


def _swapped(sandbox: Sandbox, real: Path) -> AccessDeniedError:
    return AccessDeniedError(
        f"Access denied: {sandbox.display(real)} changed during the call (a symbolic link appeared "
        "on the way); links are not followed while reading or writing"
    )


def _explain(sandbox: Sandbox, real: Path, fd: int, name: str, exc: OSError) -> NoReturn:
    """Re-raise ``exc``, as :class:`AccessDeniedError` when ``name`` turned out to be a link."""
    with suppress(OSError):
        if stat.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode):
            raise _swapped(sandbox, real) from exc
    raise exc


def _open_child(sandbox: Sandbox, real: Path, fd: int, name: str, create: bool) -> int:
    """Open directory ``name`` under ``fd`` without following links, creating it if asked."""
    try:
        return os.open(name, DIRECTORY_FLAGS, dir_fd=fd)
    except FileNotFoundError:
        if not create:
            raise
    except OSError as exc:
        _explain(sandbox, real, fd, name, exc)
    with suppress(FileExistsError):  # another call may create it at the same moment
        os.mkdir(name, 0o777, dir_fd=fd)
    try:
        return os.open(name, DIRECTORY_FLAGS, dir_fd=fd)
    except OSError as exc:
        _explain(sandbox, real, fd, name, exc)


@contextmanager
def open_directory(sandbox: Sandbox, real: Path, *, create: bool = False) -> Iterator[int]:
    """Yield a descriptor for directory ``real`` opened component by component from its root.

    With ``create``, missing directories are made on the way (iteratively, however deep).

    Raises:
        AccessDeniedError: A component is (now) a symbolic link, or ``real`` is outside the roots.
        OSError: A component is missing (without ``create``) or is not a directory.
    """
    with _walk(sandbox, real, real, create=create) as fd:
        yield fd


@contextmanager
def _walk(sandbox: Sandbox, directory: Path, target: Path, *, create: bool) -> Iterator[int]:
    """Open ``directory`` from its root; errors name ``target``, the path the caller asked for."""
    root = sandbox.root_of(directory)
    fd = os.open(root, DIRECTORY_FLAGS & ~os.O_NOFOLLOW)
    try:
        for name in directory.relative_to(root).parts:
            child = _open_child(sandbox, target, fd, name, create)
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


@contextmanager
def _open_parent(sandbox: Sandbox, real: Path, *, create: bool = False) -> Iterator[tuple[int, str]]:
    """Yield ``(parent descriptor, last name)`` for a path below a root."""
    if real == sandbox.root_of(real):
        raise IsADirectoryError(f"{sandbox.display(real)} is a directory")
    with _walk(sandbox, real.parent, real, create=create) as fd:
        yield fd, real.name


def _require_regular(sandbox: Sandbox, real: Path, info: os.stat_result) -> None:
    mode = info.st_mode
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"{sandbox.display(real)} is a directory")
    if stat.S_ISLNK(mode):
        raise _swapped(sandbox, real)
    kind = _KINDS.get(stat.S_IFMT(mode), "special file")
    raise NotRegularFileError(
        f"{sandbox.display(real)} is a {kind}, not a regular file; only regular files can be opened"
    )


def lstat(sandbox: Sandbox, real: Path) -> os.stat_result:
    """The status of ``real`` itself (a link is reported as a link), without opening it."""
    if real == sandbox.root_of(real):
        with open_directory(sandbox, real) as fd:
            return os.fstat(fd)
    with _open_parent(sandbox, real) as (parent, name):
        return os.stat(name, dir_fd=parent, follow_symlinks=False)


@contextmanager
def open_regular(sandbox: Sandbox, real: Path) -> Iterator[BinaryIO]:
    """Yield a binary reader for ``real``, which must be a regular file (checked before and after opening).

    Raises:
        NotRegularFileError: It is a FIFO, socket or device.
        IsADirectoryError: It is a directory.
        AccessDeniedError: It or a directory on the way is (now) a symbolic link.
    """
    with _open_parent(sandbox, real) as (parent, name):
        _require_regular(sandbox, real, os.stat(name, dir_fd=parent, follow_symlinks=False))
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=parent)
        except OSError as exc:
            _explain(sandbox, real, parent, name, exc)
    with os.fdopen(fd, "rb") as handle:
        _require_regular(sandbox, real, os.fstat(fd))
        yield handle


def write_atomic(sandbox: Sandbox, real: Path, data: bytes) -> bool:
    """Replace (or create) regular file ``real`` with ``data``; return whether it existed.

    The data goes to a temporary file in the same directory that is then renamed over the
    target, so a reader sees the old or the new content, never half of it. An existing file
    keeps its permission bits. Missing parent directories are created.

    Raises:
        NotRegularFileError: The target is a FIFO, socket or device.
        IsADirectoryError: The target is a directory.
        AccessDeniedError: A directory on the way is (now) a symbolic link.
    """
    with _open_parent(sandbox, real, create=True) as (parent, name):
        try:
            info: os.stat_result | None = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            info = None
        if info is not None:
            _require_regular(sandbox, real, info)
        temp = f".fs-write-{secrets.token_hex(8)}.tmp"
        fd = os.open(temp, _TEMP_FLAGS, 0o666, dir_fd=parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                if info is not None:
                    os.fchmod(handle.fileno(), stat.S_IMODE(info.st_mode))
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, name, src_dir_fd=parent, dst_dir_fd=parent)
        except BaseException:
            with suppress(OSError):
                os.unlink(temp, dir_fd=parent)
            raise
    return info is not None
