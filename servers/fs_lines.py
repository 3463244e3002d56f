"""Lines of a UTF-8 text file in bounded memory, however long a line is.

Reading ``limit=1`` of a 300 MB one-line file used to load all of it (643 MB of memory). Here the
file is read in ``CHUNK_BYTES`` pieces: a line keeps at most ``MAX_LINE_CHARS`` characters and
the rest is only counted, and skipped lines are counted as newline bytes without being decoded.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import BinaryIO

__all__ = ["CHUNK_BYTES", "MAX_LINE_CHARS", "Line", "LineReader"]

CHUNK_BYTES = 64 * 1024
MAX_LINE_CHARS = 4000


@dataclass(frozen=True, slots=True)
class Line:
    """One line: its first characters, its full length and its ending."""

    number: int
    text: str
    """At most ``MAX_LINE_CHARS`` characters of the line, without the ending."""
    length: int
    """Characters in the whole line, without the ending."""
    ending: str
    """``"\\n"``, ``"\\r\\n"`` or ``""`` for a last line without one."""

    def render(self) -> str:
        """The line as shown to a model: cut lines end with ``[line truncated: N characters]``."""
        if self.length <= len(self.text):
            return self.text + self.ending
        return f"{self.text} [line truncated: {self.length} characters]{self.ending}"


class LineReader:
    """Reads lines from a binary file in chunks; lines end at a newline byte only."""

    def __init__(self, raw: BinaryIO, *, max_chars: int = MAX_LINE_CHARS, chunk_bytes: int = CHUNK_BYTES):
        """Read from the current position of ``raw``."""
        self._raw = raw
        self._max_chars = max_chars
        self._chunk_bytes = chunk_bytes
        self._buffer = b""
        self._pos = 0
        self._mid_line = False
        self.lines_read = 0
        """Lines consumed so far, by :meth:`skip` or :meth:`next_line`."""

    def _fill(self) -> bool:
        """Load the next chunk once the buffer is used up; ``False`` at the end of the file."""
        if self._pos < len(self._buffer):
            return True
        self._buffer = self._raw.read(self._chunk_bytes)
        self._pos = 0
        return bool(self._buffer)

    def at_end(self) -> bool:
        """Whether no bytes remain (reads at most one more chunk to find out)."""
        return not self._fill()

    def skip(self, count: int) -> int:
        """Skip up to ``count`` lines without decoding them; return how many there were."""
        skipped = 0
        while skipped < count:
            if not self._fill():
                if self._mid_line:
                    skipped += 1
                    self._mid_line = False
                break
            newlines = self._buffer.count(b"\n", self._pos)
            if skipped + newlines < count:
                skipped += newlines
                self._mid_line = not self._buffer.endswith(b"\n")
                self._pos = len(self._buffer)
                continue
            for _ in range(count - skipped):
                self._pos = self._buffer.index(b"\n", self._pos) + 1
            skipped = count
            self._mid_line = False
        self.lines_read += skipped
        return skipped

    def next_line(self) -> Line | None:
        """The next line, or ``None`` at the end of the file.

        Raises:
            UnicodeDecodeError: The line is not valid UTF-8.
        """
        decoder = codecs.getincrementaldecoder("utf-8")()
        kept: list[str] = []
        kept_chars = length = 0
        last_char = ""
        newline = False
        started = False
        while self._fill():
            started = True
            end = self._buffer.find(b"\n", self._pos)
            stop = len(self._buffer) if end == -1 else end
            text = decoder.decode(self._buffer[self._pos : stop])
            self._pos = stop if end == -1 else end + 1
            if text:
                last_char = text[-1]
                length += len(text)
                if kept_chars <= self._max_chars:  # one spare character for a trailing \r
                    kept.append(text[: self._max_chars + 1 - kept_chars])
                    kept_chars += len(kept[-1])
            if end != -1:
                newline = True
                break
        decoder.decode(b"", final=True)
        self._mid_line = False
        if not started:
            return None
        ending = "\n" if newline else ""
        if newline and last_char == "\r":
            ending, length = "\r\n", length - 1
        self.lines_read += 1
        text = "".join(kept)[: min(length, self._max_chars)]
        return Line(self.lines_read, text, length, ending)
