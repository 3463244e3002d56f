r"""Nothing the model, a tool or an upstream server says can drive the terminal.

Text rendered for a person passes through :func:`clean`: escape sequences (CSI such as
``ESC [2J``, OSC such as ``ESC ]0;title BEL`` or the OSC 52 clipboard write) are removed whole,
and every other C0/C1 control except ``\n`` and ``\t`` is dropped, as are bidirectional
overrides (which reorder what a reader sees). This holds whether or not the stream is a
terminal: piped output is ``cat``-ed later. JSON output keeps the exact text, with those
characters escaped as ``\uXXXX`` by :func:`json_safe`, so it passes :func:`clean` unchanged.
"""

from __future__ import annotations

import re
import sys
from typing import Any, TextIO

__all__ = ["SafeStream", "clean", "install", "json_safe"]

# A whole escape sequence: CSI, OSC/DCS/APC/PM/SOS with their terminator, or a two-byte ESC X.
_SEQUENCE = re.compile(
    r"\x1b\[[0-?]{0,64}[ -/]{0,16}[@-~]"
    r"|\x1b[\]P^_X][^\x07\x1b]{0,4096}(?:\x07|\x1b\\)"
    r"|\x1b[ -~]"
    r"|\x9b[0-?]{0,64}[ -/]{0,16}[@-~]"
    r"|[\x90\x9d\x9e\x9f][^\x07\x1b\x9c]{0,4096}(?:\x07|\x9c|\x1b\\)"
)
# The start of a sequence cut off at the end of a write (a streamed answer arrives in pieces).
_UNFINISHED = re.compile(
    r"(?:\x1b(?:\[[0-?]{0,64}[ -/]{0,16}|[\]P^_X][^\x07\x1b]{0,4096}\x1b?)?"
    r"|\x9b[0-?]{0,64}[ -/]{0,16}"
    r"|[\x90\x9d\x9e\x9f][^\x07\x1b\x9c]{0,4096}\x1b?)\Z"
)
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE_CHAR = re.compile(f"[{_UNSAFE}]")


def clean(text: str) -> str:
    r"""``text`` without escape sequences and control characters (``\n`` and ``\t`` are kept)."""
    if _UNSAFE_CHAR.search(text) is None:
        return text
    text = text.replace("\r\n", "\n")
    text = _SEQUENCE.sub("", text)
    return _UNSAFE_CHAR.sub("", text)


def json_safe(text: str) -> str:
    r"""A JSON document with every character :func:`clean` would drop written as ``\uXXXX``.

    Those characters can only occur inside JSON strings, so the document means the same.
    """
    return _UNSAFE_CHAR.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


class SafeStream:
    """A text stream that cleans everything written to it (see :func:`clean`)."""

    def __init__(self, raw: TextIO) -> None:
        self.raw = raw
        self._pending = ""

    def write(self, text: str) -> int:
        """Write ``text`` cleaned; returns the length of ``text`` as given, as callers expect.

        A sequence cut off at the end is held back until the next write completes (and removes)
        it, so a streamed answer cannot split one across deltas to slip it through.
        """
        combined = self._pending + text
        self._pending = ""
        if _UNSAFE_CHAR.search(combined) is not None:
            unfinished = _UNFINISHED.search(combined)
            if unfinished is not None and unfinished.start() < len(combined):
                self._pending = combined[unfinished.start() :]
                combined = combined[: unfinished.start()]
            combined = clean(combined)
        self.raw.write(combined)
        return len(text)

    def writelines(self, lines: Any) -> None:
        """Write each line cleaned."""
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Flush the underlying stream."""
        self.raw.flush()

    def isatty(self) -> bool:
        """Whether the underlying stream is a terminal."""
        return self.raw.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def install() -> None:
    """Route ``sys.stdout`` and ``sys.stderr`` through :class:`SafeStream` (idempotent)."""
    if not isinstance(sys.stdout, SafeStream):
        sys.stdout = SafeStream(sys.stdout)
    if not isinstance(sys.stderr, SafeStream):
        sys.stderr = SafeStream(sys.stderr)
