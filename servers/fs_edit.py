"""Exact-text edits for the fs server: each old text must match exactly once, all or nothing.

Requiring a unique match makes an edit say precisely where it applies; a model that quotes too
little context gets told how many places matched instead of silently changing the wrong one.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["EditError", "TextEdit", "apply_edits", "unified_diff"]


class EditError(ValueError):
    """An edit could not be applied; nothing was changed."""


@dataclass(frozen=True, slots=True)
class TextEdit:
    """Replace ``old_text`` (which must occur exactly once) with ``new_text``."""

    old_text: str
    new_text: str


def apply_edits(text: str, edits: Sequence[TextEdit]) -> str:
    r"""Apply edits in order, each to the result of the previous one.

    Line endings are compared as ``\\n``: a CRLF file is edited as LF and written back as CRLF.

    Raises:
        EditError: No edits were given, an old text is empty, or it matches zero or several times.
    """
    if not edits:
        raise EditError("no edits given")
    crlf = "\r\n" in text
    current = text.replace("\r\n", "\n") if crlf else text
    for number, edit in enumerate(edits, start=1):
        old = edit.old_text.replace("\r\n", "\n")
        new = edit.new_text.replace("\r\n", "\n")
        if not old:
            raise EditError(f"edit {number}: old_text is empty")
        count = current.count(old)
        if count == 0:
            raise EditError(f"edit {number}: old_text was not found (it must match the file exactly)")
        if count > 1:
            raise EditError(
                f"edit {number}: old_text matches {count} places; "
                "include more surrounding text to make it unique"
            )
        current = current.replace(old, new, 1)
    return current.replace("\n", "\r\n") if crlf else current


def unified_diff(before: str, after: str, name: str) -> str:
    """A unified diff of two versions of a file, labelled like ``git diff``; empty when they are equal."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )
