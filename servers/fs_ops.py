"""The file operations behind the fs server's tools, as plain functions over a :class:`Sandbox`.

Each returns the text a model reads and raises ``OSError`` or ``ValueError`` for anything the
caller can fix; the server turns those into tool errors. No MCP imports here.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from servers.fs_edit import TextEdit, apply_edits, unified_diff
from servers.fs_search import iter_matches, matching_lines
from servers.sandbox import Sandbox

__all__ = [
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
MAX_ENTRIES = 1000
MAX_RESULTS = 1000
_SNIFF_BYTES = 8192


def _check_text(path: Path, name: str) -> int:
    """Return the file size after refusing directories and binary files."""
    if path.is_dir():
        raise IsADirectoryError(f"{name} is a directory")
    size = path.stat().st_size
    with path.open("rb") as handle:
        if b"\0" in handle.read(_SNIFF_BYTES):
            raise ValueError(f"{name} is a binary file ({size} bytes); only text files can be read")
    return size


def read_file(sandbox: Sandbox, path: str, offset: int = 1, limit: int | None = None) -> str:
    """Return UTF-8 text, whole or the ``limit`` lines from line ``offset``, capped at MAX_READ_BYTES."""
    real = sandbox.resolve(path)
    name = sandbox.display(real)
    size = _check_text(real, name)
    if limit is None and offset == 1 and size > MAX_READ_BYTES:
        raise ValueError(
            f"{name} is {size} bytes, over the {MAX_READ_BYTES}-byte limit for a whole-file read; "
            "pass offset and limit to read it in parts"
        )
    lines: list[str] = []
    used = seen = 0
    last = offset - 1
    more = False
    with real.open(encoding="utf-8", newline="") as handle:
        for number, line in enumerate(handle, start=1):
            seen = number
            if number < offset:
                continue
            if (limit is not None and number >= offset + limit) or used + len(line) > MAX_READ_BYTES:
                more = True
                break
            lines.append(line)
            used += len(line)
            last = number
    if not lines and offset > 1 and not more:
        raise ValueError(f"offset {offset} is past the end of {name} ({seen} lines)")
    text = "".join(lines)
    if more:
        separator = "" if text.endswith("\n") or not text else "\n"
        text += f"{separator}[lines {offset}-{last} shown; more follow: pass offset={last + 1} to continue]"
    return text if text or size else f"({name} is empty)"


def list_directory(sandbox: Sandbox, path: str) -> str:
    """One line per entry, directories first: ``[dir] a/``, ``[file] b (N bytes)``, ``[link] c -> d``."""
    real = sandbox.resolve(path)
    name = sandbox.display(real)
    entries = sorted(
        os.scandir(real), key=lambda entry: (not entry.is_dir(follow_symlinks=False), entry.name)
    )
    if not entries:
        return f"({name} is empty)"
    lines: list[str] = []
    for entry in entries[:MAX_ENTRIES]:
        if entry.is_symlink():
            lines.append(f"[link] {entry.name} -> {os.readlink(entry.path)}")
        elif entry.is_dir():
            lines.append(f"[dir]  {entry.name}/")
        else:
            lines.append(f"[file] {entry.name} ({entry.stat().st_size} bytes)")
    if len(entries) > MAX_ENTRIES:
        lines.append(f"[{len(entries) - MAX_ENTRIES} more entries not shown]")
    return "\n".join(lines)


def _content_matcher(content: str, regex: bool) -> Callable[[str], bool]:
    if not regex:
        return lambda line: content in line
    try:
        compiled = re.compile(content)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {content!r}: {exc}") from exc
    return lambda line: compiled.search(line) is not None


def search_files(
    sandbox: Sandbox,
    pattern: str,
    path: str = ".",
    content: str | None = None,
    regex: bool = False,
    max_results: int = 100,
    include_hidden: bool = False,
) -> str:
    """Paths matching a glob under ``path``; with ``content``, the matching lines as ``path:line: text``."""
    directory = sandbox.resolve(path)
    if not directory.is_dir():
        raise NotADirectoryError(f"{sandbox.display(directory)} is not a directory")
    matcher = _content_matcher(content, regex) if content else None
    cap = max(1, min(max_results, MAX_RESULTS))
    results: list[str] = []
    for found in iter_matches(directory, pattern, include_hidden=include_hidden):
        real = Path(os.path.realpath(found))
        if not sandbox.contains(real):
            continue
        shown = sandbox.display(found)
        if matcher is None:
            results.append(shown)
        elif real.is_file():
            results.extend(
                f"{shown}:{number}: {line}"
                for number, line in matching_lines(real, matcher, max_bytes=4 * MAX_READ_BYTES)
            )
        if len(results) >= cap:
            return "\n".join(
                [*results[:cap], f"[stopped at {cap} results; narrow the pattern or the directory]"]
            )
    if not results:
        scope = f" containing {content!r}" if content else ""
        return f"No matches for {pattern!r}{scope} under {sandbox.display(directory)}"
    return "\n".join(results)


def _mode_line(mode: int) -> str:
    return f"{stat.filemode(mode)} ({stat.S_IMODE(mode):o})"


def file_info(sandbox: Sandbox, path: str) -> str:
    """Type, size, times and permissions of a file or directory, one ``key: value`` per line."""
    real = sandbox.resolve(path)
    info = real.stat()
    kind = "directory" if stat.S_ISDIR(info.st_mode) else "file" if stat.S_ISREG(info.st_mode) else "other"

    def stamp(seconds: float) -> str:
        return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="seconds")

    lines = [
        f"path: {sandbox.display(real)}",
        f"absolute_path: {real}",
        f"type: {kind}",
        f"size: {info.st_size} bytes",
        f"modified: {stamp(info.st_mtime)}",
        f"accessed: {stamp(info.st_atime)}",
        f"permissions: {_mode_line(info.st_mode)}",
    ]
    if kind == "directory":
        lines.append(f"entries: {sum(1 for _ in os.scandir(real))}")
    return "\n".join(lines)


def write_file(sandbox: Sandbox, path: str, content: str) -> str:
    """Create or replace a UTF-8 text file, creating missing parent directories."""
    real = sandbox.resolve(path)
    name = sandbox.display(real)
    if real.is_dir():
        raise IsADirectoryError(f"{name} is a directory")
    existed = real.exists()
    real.parent.mkdir(parents=True, exist_ok=True)
    with real.open("w", encoding="utf-8", newline="") as handle:
        handle.write(content)
    size = len(content.encode("utf-8"))
    return f"{'Replaced' if existed else 'Created'} {name} ({size} bytes)"


def edit_file(sandbox: Sandbox, path: str, edits: Sequence[TextEdit], dry_run: bool = False) -> str:
    """Apply exact replacements all-or-nothing and return the unified diff (nothing written on a dry run)."""
    real = sandbox.resolve(path)
    name = sandbox.display(real)
    if _check_text(real, name) > 4 * MAX_READ_BYTES:
        raise ValueError(f"{name} is too large to edit (over {4 * MAX_READ_BYTES} bytes)")
    with real.open(encoding="utf-8", newline="") as handle:
        before = handle.read()
    after = apply_edits(before, edits)
    diff = unified_diff(before, after, name)
    if not diff:
        return f"No changes: the edits leave {name} as it was"
    if dry_run:
        return f"Dry run, nothing written. Diff of {name}:\n{diff}"
    with real.open("w", encoding="utf-8", newline="") as handle:
        handle.write(after)
    return f"Applied {len(edits)} edit(s) to {name}:\n{diff}"
