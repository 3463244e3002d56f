"""File search for the fs server: a glob over a walk that never follows a link, and text matching.

The walk is our own, over directory descriptors (``openat`` style, like :func:`os.fwalk` but
refusing links and non-directories at every step), so ``..`` in a pattern cannot climb out, a
symlinked directory is never entered, even one swapped in mid-walk, and a FIFO is never opened.
Every match is still checked against the sandbox by the caller.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from pathlib import Path

from servers.fs_glob import Glob
from servers.fs_rooted import DIRECTORY_FLAGS, open_regular
from servers.sandbox import Sandbox

__all__ = [
    "MAX_SEARCH_SECONDS",
    "MAX_VISITED",
    "MAX_WALK_DEPTH",
    "LineMatcher",
    "SearchLimitError",
    "iter_matches",
    "plain_matcher",
    "read_text",
    "shorten",
    "walk",
]

MAX_VISITED = 100_000
MAX_WALK_DEPTH = 64
MAX_SEARCH_SECONDS = 10.0
_MAX_LINE_CHARS = 200
_SNIFF_BYTES = 8192

LineMatcher = Callable[[Sequence[str]], list[int]]
"""Given a file's lines, the 0-based indices of those that match."""


class SearchLimitError(ValueError):
    """The search visited too many entries or ran out of time."""


def _entries(fd: int, include_hidden: bool) -> tuple[list[str], list[str]]:
    """Sorted names in a directory, and the sorted names of its real subdirectories."""
    names: list[str] = []
    subdirectories: list[str] = []
    with os.scandir(fd) as scan:
        for entry in scan:
            if not include_hidden and entry.name.startswith("."):
                continue
            names.append(entry.name)
            with suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    subdirectories.append(entry.name)
    return sorted(names), sorted(subdirectories)


def _descend(stack: list[tuple[int, str, Iterator[str]]], owned: list[int]) -> tuple[int, str] | None:
    """Open the next subdirectory in depth-first order, closing directories that are done."""
    while stack:
        parent, prefix, pending = stack[-1]
        name = next(pending, None)
        if name is None:
            stack.pop()
            if parent in owned:
                owned.remove(parent)
                os.close(parent)
            continue
        try:
            child = os.open(name, DIRECTORY_FLAGS, dir_fd=parent)
        except OSError:  # gone, or no longer a directory (say, swapped for a link): skip it
            continue
        owned.append(child)
        return child, f"{prefix}{name}/"
    return None


def walk(top_fd: int, *, include_hidden: bool = False, deadline: float | None = None) -> Iterator[str]:
    """Yield the ``/``-separated relative path of every entry under ``top_fd``, in sorted pre-order.

    All names of a directory come before the contents of its subdirectories; links and entries
    deeper than ``MAX_WALK_DEPTH`` are listed but never entered. ``top_fd`` stays open.

    Raises:
        SearchLimitError: More than ``MAX_VISITED`` entries, or ``time.monotonic()`` passed ``deadline``.
    """
    visited = 0
    owned: list[int] = []
    stack: list[tuple[int, str, Iterator[str]]] = []
    current: tuple[int, str] | None = (top_fd, "")
    try:
        while current is not None:
            fd, prefix = current
            names, subdirectories = _entries(fd, include_hidden)
            stack.append((fd, prefix, iter(subdirectories if len(stack) < MAX_WALK_DEPTH else ())))
            for name in names:
                visited += 1
                if visited > MAX_VISITED:
                    raise SearchLimitError(
                        f"searched more than {MAX_VISITED} entries; use a narrower directory"
                    )
                if deadline is not None and time.monotonic() > deadline:
                    raise SearchLimitError(
                        f"search took longer than {MAX_SEARCH_SECONDS:g} s; "
                        "narrow the pattern or the directory"
                    )
                yield prefix + name
            current = _descend(stack, owned)
    finally:
        for fd in owned:
            os.close(fd)


def iter_matches(
    top_fd: int, pattern: str, *, include_hidden: bool = False, deadline: float | None = None
) -> Iterator[str]:
    """Yield relative paths under ``top_fd`` that match ``pattern``, in sorted walk order.

    A pattern without ``/`` matches file and directory names at any depth (like ``find -name``);
    one with ``/`` matches the whole path relative to the directory.

    Raises:
        ValueError: The pattern is invalid.
        SearchLimitError: The walk visited too many entries or passed ``deadline``.
    """
    glob = Glob(pattern)
    for relative in walk(top_fd, include_hidden=include_hidden, deadline=deadline):
        if glob.match(relative.rpartition("/")[2] if glob.by_name else relative):
            yield relative


def read_text(sandbox: Sandbox, real: Path, *, max_bytes: int) -> str | None:
    """The text of a regular UTF-8 file for a content search; ``None`` for anything to skip.

    Skipped: FIFOs, devices and directories, links swapped in mid-call, unreadable, binary,
    undecodable and larger-than-``max_bytes`` files.
    """
    try:
        with open_regular(sandbox, real) as handle:
            data = handle.read(max_bytes + 1)
    except (OSError, ValueError):  # ValueError: AccessDeniedError, NotRegularFileError
        return None
    if len(data) > max_bytes or b"\0" in data[:_SNIFF_BYTES]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def plain_matcher(content: str) -> LineMatcher:
    """Match lines that contain ``content`` literally."""
    return lambda lines: [index for index, line in enumerate(lines) if content in line]


def shorten(line: str) -> str:
    """A matching line as shown in results: stripped and cut at a couple of hundred characters."""
    shown = line.strip()
    return shown if len(shown) <= _MAX_LINE_CHARS else shown[:_MAX_LINE_CHARS] + "…"
