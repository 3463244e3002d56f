"""The file operations behind the fs server's tools, as plain functions over a :class:`Sandbox`.

Each returns the text a model reads and raises ``OSError`` or ``ValueError`` for anything the
caller can fix; the server turns those into tool errors. Paths are checked by the sandbox and
then opened through :mod:`servers.fs_rooted`, which follows no link and opens only regular
files. No MCP imports here.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from servers.fs_edit import TextEdit, apply_edits, unified_diff
from servers.fs_lines import LineReader
from servers.fs_locks import PathLocks
from servers.fs_regex import RegexWorker, check_regex
from servers.fs_rooted import lstat, open_directory, open_regular, write_atomic
from servers.fs_search import MAX_SEARCH_SECONDS, LineMatcher, iter_matches, plain_matcher, read_text, shorten
from servers.sandbox import Sandbox

__all__ = [
    "MAX_EDIT_BYTES",
    "MAX_ENTRIES",
    "MAX_READ_BYTES",
    "MAX_RESULTS",
    "edit_file",
    "file_info",
    "list_directory",
    "read_file",
    "search_files",
    "write_file",
]

MAX_READ_BYTES = 256 * 1024
MAX_EDIT_BYTES = 4 * MAX_READ_BYTES
MAX_ENTRIES = 1000
MAX_RESULTS = 1000
_SNIFF_BYTES = 8192
_LOCKS = PathLocks()  # per file, not per server: two servers in one process edit the same files


def _refuse_binary(handle: BinaryIO, name: str, size: int) -> None:
    if b"\0" in handle.read(_SNIFF_BYTES):
        raise ValueError(f"{name} is a binary file ({size} bytes); only text files can be read")
    handle.seek(0)


def _take_lines(reader: LineReader, limit: int | None) -> tuple[list[str], bool]:
    """Up to ``limit`` rendered lines (at least one) within MAX_READ_BYTES characters, and if more follow."""
    shown: list[str] = []
    used = 0
    while limit is None or len(shown) < limit:
        line = reader.next_line()
        if line is None:
            return shown, False
        text = line.render()
        if shown and used + len(text) > MAX_READ_BYTES:
            return shown, True
        shown.append(text)
        used += len(text)
    return shown, not reader.at_end()


def read_file(sandbox: Sandbox, path: str, offset: int = 1, limit: int | None = None) -> str:
    """Return UTF-8 text, whole or the ``limit`` lines from line ``offset``, capped at MAX_READ_BYTES.

    Reads in bounded chunks; a very long line is cut with a ``[line truncated: N characters]`` mark.
    """
    real = sandbox.resolve(path)
    name = sandbox.display(real)
    with open_regular(sandbox, real) as handle:
        size = os.fstat(handle.fileno()).st_size
        _refuse_binary(handle, name, size)
        if limit is None and offset == 1 and size > MAX_READ_BYTES:
            raise ValueError(
                f"{name} is {size} bytes, over the {MAX_READ_BYTES}-byte limit for a whole-file read; "
                "pass offset and limit to read it in parts"
            )
        reader = LineReader(handle)
        skipped = reader.skip(offset - 1)
        shown, more = _take_lines(reader, limit)
    if not shown:
        if offset > 1:
            raise ValueError(f"offset {offset} is past the end of {name} ({skipped} lines)")
        return f"({name} is empty)"
    text = "".join(shown)
    if more:
        last = offset + len(shown) - 1
        span = f"line {offset}" if last == offset else f"lines {offset}-{last}"
        separator = "" if text.endswith("\n") else "\n"
        text += f"{separator}[{span} shown; more follow: pass offset={last + 1} to continue]"
    return text


def _entry_kind(entry: os.DirEntry[str]) -> str:
    try:
        if entry.is_symlink():
            return "link"
        if entry.is_dir(follow_symlinks=False):
            return "dir"
        return "file" if entry.is_file(follow_symlinks=False) else "other"
    except OSError:
        return "other"


def _entry_line(fd: int, name: str, kind: str) -> str:
    if kind == "dir":
        return f"[dir]  {name}/"
    if kind != "file":
        return f"[{kind}] {name}"
    try:
        size = f"{os.stat(name, dir_fd=fd, follow_symlinks=False).st_size} bytes"
    except OSError:
        size = "gone"
    return f"[file] {name} ({size})"


def list_directory(sandbox: Sandbox, path: str) -> str:
    """One line per entry, directories first: ``[dir] a/``, ``[file] b (N bytes)``, ``[link] c``.

    Links are marked as links and never followed or read: their targets stay private.
    """
    real = sandbox.resolve(path)
    with open_directory(sandbox, real) as fd:
        with os.scandir(fd) as scan:
            entries = sorted(((entry.name, _entry_kind(entry)) for entry in scan), key=_dirs_first)
        lines = [_entry_line(fd, name, kind) for name, kind in entries[:MAX_ENTRIES]]
    if not entries:
        return f"({sandbox.display(real)} is empty)"
    if len(entries) > MAX_ENTRIES:
        lines.append(f"[{len(entries) - MAX_ENTRIES} more entries not shown]")
    return "\n".join(lines)


def _dirs_first(entry: tuple[str, str]) -> tuple[bool, str]:
    return entry[1] != "dir", entry[0]


def search_files(
    sandbox: Sandbox,
    pattern: str,
    path: str = ".",
    content: str | None = None,
    regex: bool = False,
    max_results: int = 100,
    include_hidden: bool = False,
) -> str:
    """Paths matching a glob under ``path``; with ``content``, the matching lines as ``path:line: text``.

    A regex runs in a worker process with a time budget per file (see :mod:`servers.fs_regex`).
    """
    directory = sandbox.resolve(path)
    if content and regex:
        check_regex(content)
    cap = max(1, min(max_results, MAX_RESULTS))
    deadline = time.monotonic() + MAX_SEARCH_SECONDS
    results: list[str] = []
    with ExitStack() as stack:
        try:
            fd = stack.enter_context(open_directory(sandbox, directory))
        except NotADirectoryError as exc:
            raise NotADirectoryError(f"{sandbox.display(directory)} is not a directory") from exc
        matcher: LineMatcher | None = None
        if content and regex:
            matcher = stack.enter_context(RegexWorker(content)).matching_lines
        elif content:
            matcher = plain_matcher(content)
        for relative in iter_matches(fd, pattern, include_hidden=include_hidden, deadline=deadline):
            found = directory / relative
            real = Path(os.path.realpath(found))
            if not sandbox.contains(real):
                continue
            shown = sandbox.display(found)
            if matcher is None:
                results.append(shown)
            elif (text := read_text(sandbox, real, max_bytes=MAX_EDIT_BYTES)) is not None:
                lines = text.splitlines()
                results.extend(f"{shown}:{index + 1}: {shorten(lines[index])}" for index in matcher(lines))
            if len(results) >= cap:
                return "\n".join(
                    [*results[:cap], f"[stopped at {cap} results; narrow the pattern or the directory]"]
                )
    if not results:
        scope = f" containing {content!r}" if content else ""
        return f"No matches for {pattern!r}{scope} under {sandbox.display(directory)}"
    return "\n".join(results)


def file_info(sandbox: Sandbox, path: str) -> str:
    """Type, size, times and permissions of a file or directory, one ``key: value`` per line.

    Nothing is opened but directories (to count entries), so a FIFO or device is safe to ask about.
    """
    real = sandbox.resolve(path)
    info = lstat(sandbox, real)
    mode = info.st_mode
    kind = "directory" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"

    def stamp(seconds: float) -> str:
        return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="seconds")

    lines = [
        f"path: {sandbox.display(real)}",
        f"absolute_path: {real}",
        f"type: {kind}",
        f"size: {info.st_size} bytes",
        f"modified: {stamp(info.st_mtime)}",
        f"accessed: {stamp(info.st_atime)}",
        f"permissions: {stat.filemode(mode)} ({stat.S_IMODE(mode):o})",
    ]
    if kind == "directory":
        with open_directory(sandbox, real) as fd, os.scandir(fd) as scan:
            lines.append(f"entries: {sum(1 for _ in scan)}")
    return "\n".join(lines)


def write_file(sandbox: Sandbox, path: str, content: str) -> str:
    """Create or replace a UTF-8 text file atomically, creating missing parent directories."""
    real = sandbox.resolve(path)
    data = content.encode("utf-8")
    with _LOCKS.hold(real):
        existed = write_atomic(sandbox, real, data)
    return f"{'Replaced' if existed else 'Created'} {sandbox.display(real)} ({len(data)} bytes)"


def _read_for_edit(sandbox: Sandbox, real: Path, name: str) -> str:
    with open_regular(sandbox, real) as handle:
        data = handle.read(MAX_EDIT_BYTES + 1)
    if len(data) > MAX_EDIT_BYTES:
        raise ValueError(f"{name} is too large to edit (over {MAX_EDIT_BYTES} bytes)")
    if b"\0" in data[:_SNIFF_BYTES]:
        raise ValueError(f"{name} is a binary file; only text files can be edited")
    return data.decode("utf-8")


def edit_file(sandbox: Sandbox, path: str, edits: Sequence[TextEdit], dry_run: bool = False) -> str:
    """Apply exact replacements all-or-nothing and return the unified diff (nothing written on a dry run).

    The read, the edits and the atomic write happen under the file's lock, so parallel edits of
    one file apply one after the other and none is lost.
    """
    real = sandbox.resolve(path)
    name = sandbox.display(real)
    with _LOCKS.hold(real):
        before = _read_for_edit(sandbox, real, name)
        after = apply_edits(before, edits)
        diff = unified_diff(before, after, name)
        if not diff:
            return f"No changes: the edits leave {name} as it was"
        if dry_run:
            return f"Dry run, nothing written. Diff of {name}:\n{diff}"
        write_atomic(sandbox, real, after.encode("utf-8"))
    return f"Applied {len(edits)} edit(s) to {name}:\n{diff}"
