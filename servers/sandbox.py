"""The path policy of the fs server: every path must stay inside the allowed root directories.

A path is checked twice: lexically (so ``..`` cannot climb out) and after resolving symlinks
(so a link inside a root cannot point outside it). Paths that do not exist yet are resolved as
far as they exist, which keeps new files under a symlinked directory honest too. The result is
only a name: the I/O itself goes through :mod:`servers.fs_rooted`, which walks it again from the
root without following any link, so a link swapped in after this check is refused there.

Errors (all ``ValueError``, so callers that expect one keep working)::

    SandboxError
    ├── AccessDeniedError   the path, or where its links lead, is outside every root
    └── InvalidPathError    NUL, unencodable, longer than MAX_PATH_CHARS or deeper than MAX_PATH_DEPTH
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = [
    "MAX_PATH_CHARS",
    "MAX_PATH_DEPTH",
    "AccessDeniedError",
    "InvalidPathError",
    "Sandbox",
    "SandboxError",
]

MAX_PATH_CHARS = 4096
MAX_PATH_DEPTH = 64


class SandboxError(ValueError):
    """A path the sandbox will not hand out; the message says why in one line."""


class AccessDeniedError(SandboxError):
    """A path lies outside the allowed directories."""


class InvalidPathError(SandboxError):
    """A path that no file can have here: NUL, unencodable, too long or too deep."""


def _is_within(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def _check_syntax(path: str) -> None:
    shown = path if len(path) <= 80 else path[:80] + "…"
    if len(path) > MAX_PATH_CHARS:
        raise InvalidPathError(f"path is {len(path)} characters long, over the limit of {MAX_PATH_CHARS}")
    if "\0" in path:
        raise InvalidPathError(f"path {shown!r} contains a NUL character")
    try:
        os.fsencode(path)
    except UnicodeEncodeError as exc:
        raise InvalidPathError(f"path {shown!r} cannot be encoded for this filesystem") from exc


class Sandbox:
    """Resolves user-supplied paths against a fixed set of root directories, refusing escapes."""

    def __init__(self, roots: Sequence[str | os.PathLike[str]]) -> None:
        """Check that every root is an existing directory; no roots means the current directory.

        Raises:
            ValueError: A root does not exist or is not a directory.
        """
        given = [Path(os.path.expanduser(os.fspath(root))) for root in roots] or [Path.cwd()]
        lexical: list[Path] = []
        real: list[Path] = []
        for root in given:
            if not root.is_dir():
                what = "is not a directory" if root.exists() else "does not exist"
                raise ValueError(f"allowed directory {os.fspath(root)!r} {what}")
            lexical.append(Path(os.path.normpath(root.absolute())))
            real.append(Path(os.path.realpath(root)))
        self._lexical = tuple(lexical)
        self.roots: tuple[Path, ...] = tuple(dict.fromkeys(real))

    def __repr__(self) -> str:
        return f"Sandbox(roots={[str(root) for root in self.roots]!r})"

    def resolve(self, path: str) -> Path:
        """Turn a user path into a real absolute path inside the roots.

        Relative paths are taken from the first root; ``~`` expands to the home directory.

        Raises:
            AccessDeniedError: The path, or what its symlinks point to, is outside every root.
            InvalidPathError: The path has a NUL, cannot be encoded, or is too long or too deep.
        """
        _check_syntax(path)
        expanded = Path(os.path.expanduser(path.strip() or "."))
        absolute = expanded if expanded.is_absolute() else self._lexical[0] / expanded
        lexical = Path(os.path.normpath(absolute))
        if not _is_within(lexical, self._lexical + self.roots):
            raise self._denied(path)
        self._check_depth(lexical, self._lexical + self.roots)
        real = Path(os.path.realpath(lexical))
        if not self.contains(real):
            raise self._denied(path)
        self._check_depth(real, self.roots)
        return real

    def root_of(self, real_path: Path) -> Path:
        """The innermost root that holds an already-resolved real path.

        Raises:
            AccessDeniedError: No root holds it.
        """
        inside = [root for root in self.roots if real_path == root or real_path.is_relative_to(root)]
        if not inside:
            raise self._denied(str(real_path))
        return max(inside, key=lambda root: len(root.parts))

    def contains(self, real_path: Path) -> bool:
        """Whether an already-resolved real path lies inside the roots."""
        return _is_within(real_path, self.roots)

    def display(self, real_path: Path) -> str:
        """Show a path the way a caller can pass it back: relative to the first root when inside it."""
        first = self.roots[0]
        if real_path == first:
            return "."
        if real_path.is_relative_to(first):
            return real_path.relative_to(first).as_posix()
        return str(real_path)

    def describe_roots(self) -> str:
        """The roots as one comma-separated line, for messages."""
        return ", ".join(str(root) for root in self.roots)

    def _check_depth(self, path: Path, roots: Iterable[Path]) -> None:
        depth = min(len(path.parts) - len(root.parts) for root in roots if _is_within(path, [root]))
        if depth > MAX_PATH_DEPTH:
            raise InvalidPathError(f"path is {depth} levels deep, over the limit of {MAX_PATH_DEPTH}")

    def _denied(self, path: str) -> AccessDeniedError:
        shown = path if len(path) <= 200 else path[:200] + "…"
        return AccessDeniedError(
            f"Access denied: {shown} is outside the allowed directories ({self.describe_roots()})"
        )
