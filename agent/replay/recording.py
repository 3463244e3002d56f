"""``--record FILE``: the model exchanges of a run (and its tool calls), written as JSON lines.

The recording is taken at the HTTP layer, under everything the runtime does with a response
(streaming, retries, fallbacks, the catalog look-up), so a replay exercises all of it again.
Each line is one of:

- ``{"type": "recording", "version": 1}`` first;
- ``{"type": "http", "method", "path", "request", "status", "headers", "body"}``: one request to
  the provider and its whole response body as text (a stream's too); ``request`` is the JSON
  body sent (null for a GET). No request header is kept, so neither is the key;
- ``{"type": "tool", "server", "tool", "arguments", "text", "is_error"}``: one tool call and
  what it returned (for ``--replay-tools``).

Lines are written whole and flushed as each exchange ends. Known secrets are redacted.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import httpx

from agent.errors import ConfigError
from agent.redaction import redact
from agent.tools import ToolInfo, ToolOutcome, Toolset

__all__ = ["KEPT_HEADERS", "RECORDING_VERSION", "RecordFile", "RecordingToolset", "RecordingTransport"]

RECORDING_VERSION = 1
KEPT_HEADERS = ("content-type", "retry-after")
"""The response headers a recording keeps (and a replay gives back)."""


class RecordFile:
    """The file a recording is written to.

    Raises:
        ConfigError: the file cannot be written (one line naming ``--record``).
    """

    def __init__(self, path: Path, *, secrets: Iterable[str | None] = ()) -> None:
        self.path = path
        self._secrets = tuple(s for s in secrets if s)
        try:
            self._file: IO[str] = path.open("w", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {path}: {exc.strerror or exc}", source="--record") from exc
        self.write({"type": "recording", "version": RECORDING_VERSION})

    def write(self, record: dict[str, Any]) -> None:
        """Append one record as a whole line."""
        if self._file.closed:
            return
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        self._file.write(redact(text, self._secrets) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file (records written after are dropped)."""
        self._file.close()


class _Tee(httpx.AsyncByteStream):
    """A response body passed on as it arrives, and recorded once it ends (or is abandoned)."""

    def __init__(self, inner: httpx.AsyncByteStream, done: Any) -> None:
        self._inner = inner
        self._done = done
        self._chunks: list[bytes] = []

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._chunks.append(chunk)
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            done, self._done = self._done, None
            if done is not None:
                done(b"".join(self._chunks))


class RecordingTransport(httpx.AsyncBaseTransport):
    """Sends requests through ``inner`` and records each exchange in ``file``."""

    def __init__(self, inner: httpx.AsyncBaseTransport, file: RecordFile) -> None:
        self._inner = inner
        self._file = file

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; its response body is recorded as it is read."""
        sent = request.content
        body = json.loads(sent) if sent else None
        response = await self._inner.handle_async_request(request)
        headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
        path = request.url.raw_path.decode("ascii", "replace")

        def done(data: bytes) -> None:
            self._file.write(
                {
                    "type": "http",
                    "method": request.method,
                    "path": path,
                    "request": body,
                    "status": response.status_code,
                    "headers": headers,
                    "body": data.decode("utf-8", "replace"),
                }
            )

        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_Tee(response.stream, done),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close the network transport."""
        await self._inner.aclose()


class RecordingToolset:
    """A :class:`~agent.tools.Toolset` that records each call of ``inner`` and what it returned."""

    def __init__(self, inner: Toolset, file: RecordFile) -> None:
        self._inner = inner
        self._file = file

    def tools(self) -> Sequence[ToolInfo]:
        """The tools of ``inner``."""
        return self._inner.tools()

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        """Call ``inner`` and record the outcome."""
        outcome = await self._inner.call(server, tool, arguments)
        self._file.write(
            {
                "type": "tool",
                "server": server,
                "tool": tool,
                "arguments": arguments,
                "text": outcome.text,
                "is_error": outcome.is_error,
            }
        )
        return outcome
