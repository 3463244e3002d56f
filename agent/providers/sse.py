r"""Incremental Server-Sent Events decoding: bytes in arbitrary pieces in, ``data`` strings out.

Chat completion streams are SSE. Chunks from the network split lines, and even UTF-8
characters, anywhere, so the decoder keeps what it has not finished. It follows the SSE rules
that matter here: ``:`` comment lines (``: OPENROUTER PROCESSING``) are skipped, several
``data:`` lines of one event are joined with ``\\n``, ``\\r\\n``, ``\\r`` and ``\\n`` all end a
line, other fields are ignored, and ``data: [DONE]`` ends the stream.

The stream comes from the network, so decoding is linear and bounded: the unfinished line is
kept as bytes and appended to (never re-joined per chunk), lines are cut at the ASCII line-end
bytes (which never occur inside a UTF-8 character) and decoded once, and no line or event may
exceed :data:`MAX_EVENT_SIZE`.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from agent.errors import ResponseLimitError

__all__ = ["DONE", "MAX_EVENT_SIZE", "SSEDecoder", "aiter_sse_data"]

DONE = "[DONE]"
"""The data of the event that ends an OpenAI-style stream."""

MAX_EVENT_SIZE = 16 * 1024 * 1024
"""The most bytes in one line, and in the ``data`` lines of one event (with the line ends between).

A chat completion streams as many small events (a few tokens each; a long tool-call argument
arrives as many small deltas), well under a kilobyte each; the largest real events carry an
image as base64, a few megabytes. An endpoint that sends more in one event is not streaming a
chat completion, and reading on would only fill memory.
"""

_BOM = b"\xef\xbb\xbf"


class SSEDecoder:
    """Turns SSE bytes into the ``data`` strings of complete events, one piece at a time.

    Events with empty data are skipped. After ``data: [DONE]`` :attr:`done` is true and further
    input is ignored; :meth:`end` must be called at end of input to flush a last unterminated
    ``[DONE]`` line (an incomplete event is dropped, as the SSE rules say). Bytes that are not
    UTF-8 become U+FFFD. After a :class:`~agent.errors.ResponseLimitError` the stream is
    abandoned: the decoder must not be fed again.

    Args:
        max_event_size: the most bytes a line, or the ``data`` lines of one event, may have.
    """

    __slots__ = ("_after_cr", "_data", "_data_size", "_done", "_first_line", "_line", "_max")

    def __init__(self, max_event_size: int = MAX_EVENT_SIZE) -> None:
        self._max = max_event_size
        self._line = bytearray()
        self._data: list[str] = []
        self._data_size = 0
        self._after_cr = False
        self._first_line = True
        self._done = False

    @property
    def done(self) -> bool:
        """Whether ``data: [DONE]`` has been seen."""
        return self._done

    def feed(self, chunk: bytes) -> list[str]:
        """Decode one piece of the stream; return the data of the events it completed.

        Raises:
            ResponseLimitError: a line or an event is longer than ``max_event_size`` bytes.
        """
        out: list[str] = []
        if self._done or not chunk:
            return out
        if self._after_cr:
            self._after_cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if b"\r" in chunk:
            self._after_cr = chunk[-1:] == b"\r"
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = chunk.split(b"\n")
        buffer = self._line
        if len(lines) == 1:  # no line ends: the line goes on
            buffer += chunk
            if len(buffer) > self._max:
                raise self._too_large("a line")
            return out
        first: bytes | bytearray = lines[0]
        if buffer:
            buffer += first
            first = buffer
        if len(first) > self._max:
            raise self._too_large("a line")
        self._take(first, out)
        for line in lines[1:-1]:
            if self._done:
                break
            if len(line) > self._max:
                raise self._too_large("a line")
            self._take(line, out)
        buffer.clear()
        if self._done:
            return out
        last = lines[-1]
        if len(last) > self._max:
            raise self._too_large("a line")
        buffer += last
        return out

    def end(self) -> list[str]:
        """Flush the input at end of stream; return the data of a last complete event, if any."""
        out: list[str] = []
        if self._done:
            return out
        line, self._line = self._line, bytearray()
        if line:
            self._take(line, out)
        if self._data == [DONE]:
            self._done = True
        self._data = []
        self._data_size = 0
        return out

    def _take(self, line: bytes | bytearray, out: list[str]) -> None:
        """Act on one complete line: end the event, skip it, or add its ``data``."""
        if self._first_line:
            self._first_line = False
            if line.startswith(_BOM):
                line = line[len(_BOM) :]
        if not line:
            if self._data:
                data = "\n".join(self._data)
                self._data = []
                self._data_size = 0
                if data == DONE:
                    self._done = True
                elif data:
                    out.append(data)
            return
        if not line.startswith(b"data"):
            return  # a comment (":") or another field
        if len(line) == 4:
            value = ""
        elif line[4] == 0x3A:  # "data:"
            value = line[6 if line[5:6] == b" " else 5 :].decode("utf-8", "replace")
        else:
            return  # a field that only starts with "data"
        size = self._data_size + len(line)  # the event's data lines so far, with their line ends
        if size > self._max:
            raise self._too_large("an event")
        self._data_size = size + 1
        self._data.append(value)

    def _too_large(self, what: str) -> ResponseLimitError:
        return ResponseLimitError(
            f"the stream sent {what} of more than {_size(self._max)}, "
            "larger than any chat completion event: the endpoint is misbehaving"
        )


def _size(count: int) -> str:
    mib = count / (1024 * 1024)
    return f"{mib:g} MiB" if mib >= 1 else f"{count:,} bytes"


async def aiter_sse_data(
    chunks: AsyncIterable[bytes], decoder: SSEDecoder | None = None
) -> AsyncIterator[str]:
    """Yield the data of each event in an SSE byte stream, stopping at ``data: [DONE]``.

    Pass a ``decoder`` to learn afterwards (``decoder.done``) whether the stream ended with
    ``[DONE]`` or simply stopped.

    Raises:
        ResponseLimitError: a line or an event is longer than the decoder allows.
    """
    decoder = decoder or SSEDecoder()
    async for chunk in chunks:
        for data in decoder.feed(chunk):
            yield data
        if decoder.done:
            return
    for data in decoder.end():
        yield data
