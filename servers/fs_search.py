"""File search for the fs server: glob matching over a walk that never follows symlinked directories.

The walk is our own (not ``Path.glob``) so that ``..`` in a pattern cannot climb out of the
search directory and symlinked directories are never entered; every match is still checked
against the sandbox by the caller.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["MAX_VISITED", "glob_to_regex", "iter_matches", "matching_lines"]

MAX_VISITED = 100_000
_MAX_LINE_CHARS = 200


def _normalise(pattern: str) -> str:
    return pattern.strip().removeprefix("./").rstrip("/")


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Compile a glob (``*``, ``?``, ``[abc]``, ``**`` for any depth) to a regex on ``/`` paths.

    Raises:
        ValueError: The pattern is empty or contains ``..``.
    """
    pattern = _normalise(pattern)
    if not pattern:
        raise ValueError("the glob pattern is empty")
    if ".." in pattern.split("/"):
        raise ValueError(f"the glob pattern {pattern!r} may not contain '..'")
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            out.append(f"[{'^' if negate else ''}{body.replace(chr(92), chr(92) * 2)}]")
            i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    return re.compile("".join(out) + r"\Z")


def iter_matches(directory: Path, pattern: str, *, include_hidden: bool = False) -> Iterator[Path]:
    """Yield paths under ``directory`` whose relative path matches ``pattern``, in sorted walk order.

    A pattern without ``/`` matches file and directory names at any depth (like ``find -name``);
    one with ``/`` matches the whole path relative to ``directory``.

    Raises:
        ValueError: The pattern is invalid, or the walk visited more than ``MAX_VISITED`` entries.
    """
    regex = glob_to_regex(pattern)
    by_name = "/" not in _normalise(pattern)
    visited = 0
    for dirpath, dirnames, filenames in os.walk(directory, followlinks=False):
        dirnames.sort()
        if not include_hidden:
            dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        base = Path(dirpath)
        relative_dir = base.relative_to(directory).as_posix()
        for name in sorted(dirnames + filenames):
            visited += 1
            if visited > MAX_VISITED:
                raise ValueError(f"searched more than {MAX_VISITED} entries; use a narrower directory")
            if not include_hidden and name.startswith("."):
                continue
            candidate = name if by_name else (name if relative_dir == "." else f"{relative_dir}/{name}")
            if regex.match(candidate):
                yield base / name


def matching_lines(
    path: Path, matches: Callable[[str], bool], *, max_bytes: int
) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` for lines of a UTF-8 text file that satisfy ``matches``.

    Binary, undecodable or larger-than-``max_bytes`` files yield nothing: content search skips them.
    """
    try:
        if path.stat().st_size > max_bytes:
            return
        data = path.read_bytes()
    except OSError:
        return
    if b"\0" in data[:8192]:
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if matches(line):
            shown = line.strip()
            yield number, shown if len(shown) <= _MAX_LINE_CHARS else shown[:_MAX_LINE_CHARS] + "…"
