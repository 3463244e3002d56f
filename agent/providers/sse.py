r"""Incremental Server-Sent Events decoding: bytes in arbitrary pieces in, ``data`` strings out.

Chat completion streams are SSE. Chunks from the network split lines, and even UTF-8
characters, anywhere, so the decoder keeps what it has not finished. It follows the SSE rules
that matter here: ``:`` comment lines (``: OPENROUTER PROCESSING``) are skipped, several
``data:`` lines of one event are joined with ``\\n``, ``\\r\\n``, ``\\r`` and ``\\n`` all end a
line, other fields are ignored, and ``data: [DONE]`` ends the stream.
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterable, AsyncIterator

__all__ = ["DONE", "SSEDecoder", "aiter_sse_data"]

DONE = "[DONE]"
"""The data of the event that ends an OpenAI-style stream."""


class SSEDecoder:
    """Turns SSE bytes into the ``data`` strings of complete events, one piece at a time.

    Events with empty data are skipped. After ``data: [DONE]`` :attr:`done` is true and further
    input is ignored; :meth:`end` must be called at end of input to flush a last unterminated
    ``[DONE]`` line (an incomplete event is dropped, as the SSE rules say).
    """

    __slots__ = ("_after_cr", "_data", "_done", "_partial", "_started", "_utf8")

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""
        self._data: list[str] = []
        self._after_cr = False
        self._started = False
        self._done = False

    @property
    def done(self) -> bool:
        """Whether ``data: [DONE]`` has been seen."""
        return self._done

    def feed(self, chunk: bytes) -> list[str]:
        """Decode one piece of the stream; return the data of the events it completed."""
        if self._done:
            return []
        return self._take(self._utf8.decode(chunk))

    def end(self) -> list[str]:
        """Flush the input at end of stream; return the data of a last complete event, if any."""
        if self._done:
            return []
        out = self._take(self._utf8.decode(b"", final=True))
        if self._done:
            return out
        if self._partial:
            line, self._partial = self._partial, ""
            self._line(line, out)
        if self._data == [DONE]:
            self._done = True
        self._data = []
        return out

    def _take(self, text: str) -> list[str]:
        out: list[str] = []
        if not text:
            return out
        if not self._started:
            self._started = True
            if text[0] == "\ufeff":
                text = text[1:]
        if self._after_cr and text[:1] == "\n":
            text = text[1:]
        self._after_cr = text[-1:] == "\r"
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._line(line, out)
            if self._done:
                self._partial = ""
                break
        return out

    def _line(self, line: str, out: list[str]) -> None:
        if not line:
            if self._data:
                data = "\n".join(self._data)
                self._data = []
                if data == DONE:
                    self._done = True
                elif data:
                    out.append(data)
            return
        if line[0] == ":":
            return
        field, colon, value = line.partition(":")
        if field != "data":
            return
        if colon and value[:1] == " ":
            value = value[1:]
        self._data.append(value)


async def aiter_sse_data(
    chunks: AsyncIterable[bytes], decoder: SSEDecoder | None = None
) -> AsyncIterator[str]:
    """Yield the data of each event in an SSE byte stream, stopping at ``data: [DONE]``.

    Pass a ``decoder`` to learn afterwards (``decoder.done``) whether the stream ended with
    ``[DONE]`` or simply stopped.
    """
    decoder = decoder or SSEDecoder()
    async for chunk in chunks:
        for data in decoder.feed(chunk):
            yield data
        if decoder.done:
            return
    for data in decoder.end():
        yield data
