"""The path policy of the fs server: every path must stay inside the allowed root directories.

A path is checked twice: lexically (so ``..`` cannot climb out) and after resolving symlinks
(so a link inside a root cannot point outside it). Paths that do not exist yet are resolved as
far as they exist, which keeps new files under a symlinked directory honest too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["AccessDeniedError", "Sandbox"]


class AccessDeniedError(ValueError):
    """A path lies outside the allowed directories."""


def _is_within(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


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
        """
        expanded = Path(os.path.expanduser(path.strip() or "."))
        absolute = expanded if expanded.is_absolute() else self._lexical[0] / expanded
        lexical = Path(os.path.normpath(absolute))
        if not _is_within(lexical, self._lexical + self.roots):
            raise self._denied(path)
        real = Path(os.path.realpath(lexical))
        if not _is_within(real, self.roots):
            raise self._denied(path)
        return real

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

    def _denied(self, path: str) -> AccessDeniedError:
        return AccessDeniedError(
            f"Access denied: {path} is outside the allowed directories ({self.describe_roots()})"
        )
