"""Helpers shared by the OpenAI-compatible client tests (no tests here).

Requests are answered by respx at the transport; anything not mocked fails the test. Streams
are real SSE bytes: ``: OPENROUTER PROCESSING`` comments, ``data: ...`` events, ``data: [DONE]``,
cut into small pieces so that lines (and UTF-8 characters) are split across chunks.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import httpx
import respx

from agent.messages import Message, ModelResponse, RequestSettings, ToolSpec, UserMessage
from agent.providers import OpenAICompatibleModel, create_http_client
from agent.providers.base import DeltaCallback

BASE_URL = "https://openrouter.test/api/v1"
URL = f"{BASE_URL}/chat/completions"
KEY = "sk-or-v1-" + "0123456789abcdef" * 4
MODEL = "acme/model-1"
COMMENT = ": OPENROUTER PROCESSING\n\n"


def fragments(text: str, sizes: Sequence[int] = (1, 3, 2)) -> list[str]:
    """``text`` cut into pieces of 1-3 characters (cycling through ``sizes``)."""
    pieces, at, i = [], 0, 0
    while at < len(text):
        size = sizes[i % len(sizes)]
        pieces.append(text[at : at + size])
        at += size
        i += 1
    return pieces


def sse_text(events: Iterable[dict[str, Any] | str], *, done: bool = True) -> str:
    """An OpenRouter-style SSE body: comments between events, ``[DONE]`` at the end if ``done``."""
    parts = [COMMENT]
    for n, event in enumerate(events):
        data = event if isinstance(event, str) else json.dumps(event, ensure_ascii=False)
        parts.append(f"data: {data}\n\n")
        if n % 3 == 2:
            parts.append(COMMENT)
    if done:
        parts.append("data: [DONE]\n\n")
    return "".join(parts)


def split_bytes(data: bytes, size: int = 7) -> list[bytes]:
    """``data`` in pieces of ``size`` bytes: lines and multi-byte characters get cut."""
    return [data[i : i + size] for i in range(0, len(data), size)]


async def byte_stream(pieces: Iterable[bytes], fail_with: Exception | None = None) -> AsyncIterator[bytes]:
    """Yield ``pieces``, then raise ``fail_with`` (a dropped connection) if given."""
    for piece in pieces:
        yield piece
    if fail_with is not None:
        raise fail_with


def stream_response(
    events: Iterable[dict[str, Any] | str],
    *,
    done: bool = True,
    size: int = 7,
    fail_with: Exception | None = None,
) -> httpx.Response:
    """A 200 ``text/event-stream`` response carrying ``events``, delivered in small pieces."""
    pieces = split_bytes(sse_text(events, done=done).encode(), size)
    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=byte_stream(pieces, fail_with)
    )


def chunk(
    delta: dict[str, Any] | None = None,
    *,
    finish: str | None = None,
    native: str | None = None,
    choices: bool = True,
    **top: Any,
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` with a single choice (or ``choices: []``)."""
    body: dict[str, Any] = {"id": "gen-1", "object": "chat.completion.chunk", "created": 1, "model": MODEL}
    body |= top
    body["choices"] = (
        [{"index": 0, "delta": delta or {}, "finish_reason": finish, "native_finish_reason": native}]
        if choices
        else []
    )
    return body


def args_chunks(index: int | None, arguments: str) -> list[dict[str, Any]]:
    """Argument fragments (1-3 characters) of one streamed tool call."""
    out = []
    for piece in fragments(arguments):
        call: dict[str, Any] = {"function": {"arguments": piece}}
        if index is not None:
            call["index"] = index
        out.append(chunk({"tool_calls": [call]}))
    return out


async def complete(
    response: httpx.Response | Exception,
    *,
    stream: bool,
    messages: Sequence[Message] = (UserMessage(content="hi"),),
    tools: Sequence[ToolSpec] = (),
    settings: RequestSettings | None = None,
    on_delta: DeltaCallback | None = None,
    timeout_seconds: float = 5.0,
    **model_kwargs: Any,
) -> tuple[ModelResponse, httpx.Request]:
    """Run one ``complete`` against a mocked endpoint; return the response and the request sent."""
    settings = (settings or RequestSettings()).model_copy(update={"stream": stream})
    kwargs: dict[str, Any] = {"model": MODEL, "base_url": BASE_URL, "api_key": KEY} | model_kwargs
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        route = router.post(kwargs["base_url"].rstrip("/") + "/chat/completions")
        if isinstance(response, Exception):
            route.mock(side_effect=response)
        else:
            route.mock(return_value=response)
        async with create_http_client(timeout_seconds) as client:
            model = OpenAICompatibleModel(client, **kwargs)
            try:
                result = await model.complete(messages, tools, settings, on_delta)
            finally:
                request = route.calls.last.request if route.calls else None
    assert request is not None
    return result, request
