"""The OpenAI-compatible chat client (OpenRouter and any ``/chat/completions`` endpoint), on httpx.

Requests are built straight from our message types with a few dict literals per message (the
history grows every turn, so this stays cheap); responses, streamed or not, go through one
:class:`~agent.providers.response.ResponseBuilder`; every failure becomes one typed
:class:`~agent.errors.ProviderError` (see :mod:`agent.providers.http_errors`).

What the endpoint sends is read within limits: a whole body of at most :data:`MAX_BODY_SIZE`,
stream events of at most :data:`~agent.providers.sse.MAX_EVENT_SIZE`, JSON at most
:data:`~agent.safe_json.MAX_DEPTH` deep (past them, :class:`~agent.errors.ResponseLimitError`),
and only the first :data:`MAX_ERROR_BODY_SIZE` of an error body.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import httpx

from agent import __version__, safe_json
from agent.errors import BadResponseError, ConfigError, ProviderConnectionError, ResponseLimitError
from agent.messages import (
    AssistantMessage,
    MediaPart,
    Message,
    ModelResponse,
    RequestSettings,
    ToolMessage,
    ToolSpec,
    UserMessage,
    describe_media,
)
from agent.providers.base import DeltaCallback
from agent.providers.http_body import read_body
from agent.providers.http_errors import connection_error, error_from_response, one_line, redact
from agent.providers.response import ResponseBuilder
from agent.providers.routing import RequestExtras, with_required_parameters
from agent.providers.sse import SSEDecoder, aiter_sse_data
from agent.run_context import RunContext

__all__ = [
    "APP_TITLE",
    "APP_URL",
    "MAX_BODY_SIZE",
    "MAX_ERROR_BODY_SIZE",
    "MAX_ROUTE_MODELS",
    "OpenAICompatibleModel",
    "create_http_client",
    "request_headers",
]

APP_URL = "https://github.com/agent-runtime/agent"
"""Sent as ``HTTP-Referer``: OpenRouter's app identifier for attribution."""
APP_TITLE = "agent"
"""Sent as ``X-OpenRouter-Title`` (and the older ``X-Title``)."""

CONNECT_TIMEOUT_SECONDS = 10.0
MAX_BODY_SIZE = 64 * 1024 * 1024
"""The largest whole (non-streamed) response body read; a larger one is a ResponseLimitError."""
MAX_ERROR_BODY_SIZE = 1024 * 1024
"""How much of an error response's body is read: enough for any error message."""
_DRAIN_LIMIT = 64 * 1024
_SNIPPET_WINDOW = 4096
MAX_ROUTE_MODELS = 3
"""OpenRouter rejects a ``models`` array of more than 3 entries."""


def http_limits() -> httpx.Limits:
    """The connection pool of an agent's client.

    One pool serves every concurrent run of an Agent: as many connections as httpx's default
    (fewer queue requests, and the pool's scheduler is linear in the queue), most kept alive.
    """
    return httpx.Limits(max_connections=100, max_keepalive_connections=64, keepalive_expiry=120.0)


def create_http_client(
    timeout_seconds: float, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """A pooled keep-alive client for one run: connect within 10 s, wait ``timeout_seconds`` for data.

    The read timeout applies between bytes, so a long stream is fine as long as the server keeps
    sending (OpenRouter sends ``: OPENROUTER PROCESSING`` comments while the model thinks).
    ``transport`` replaces the network (a recording or a replay; see :mod:`agent.replay`).
    """
    if not timeout_seconds > 0:
        raise ConfigError(f"timeout_seconds must be a positive number, got {timeout_seconds!r}")
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_seconds, connect=min(CONNECT_TIMEOUT_SECONDS, timeout_seconds)),
        limits=http_limits(),
        headers={"User-Agent": f"agent/{__version__}"},
        transport=transport,
    )


def request_headers(
    api_key: str | None, extra_headers: Mapping[str, str] | None = None, **more: str
) -> httpx.Headers:
    """The headers of every request to the API: JSON, attribution, the key (if any), then extras.

    ``more`` adds headers by name (``Accept="application/json"``) before ``extra_headers``,
    which override everything.
    """
    headers = {
        "Content-Type": "application/json",
        **{name.replace("_", "-"): value for name, value in more.items()},
        "HTTP-Referer": APP_URL,
        "X-OpenRouter-Title": APP_TITLE,
        "X-Title": APP_TITLE,
    }
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    headers.update(extra_headers or {})
    return httpx.Headers(headers)


class OpenAICompatibleModel:
    """A :class:`~agent.providers.base.ChatModel` that POSTs to ``{base_url}/chat/completions``.

    Args:
        client: the shared pooled client of the run (see :func:`create_http_client`).
        model: the model id to request.
        base_url: the API root, e.g. ``https://openrouter.ai/api/v1``.
        api_key: sent as a bearer token; no ``Authorization`` header when ``None``.
        provider_name: ``"openrouter"`` adds OpenRouter's usage-accounting flag to requests.
        extra_headers: added to (and overriding) the default headers.
        route_models: OpenRouter only: ``model`` and up to two fallbacks, sent as the ``models``
            routing array so OpenRouter tries them in order within one request; the response's
            ``model`` says which one answered.
        extras: OpenRouter only: the provider routing and reasoning every request carries. A
            request with tools or ``response_format`` also asks for ``require_parameters``.

    Raises:
        ConfigError: ``route_models`` does not start with ``model``, has more than
            :data:`MAX_ROUTE_MODELS` entries, or is given for a provider other than OpenRouter.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        model: str,
        base_url: str,
        api_key: str | None,
        provider_name: str = "openrouter",
        extra_headers: Mapping[str, str] | None = None,
        route_models: Sequence[str] | None = None,
        extras: RequestExtras | None = None,
    ) -> None:
        self._client = client
        self._extras = extras or RequestExtras()
        # The provider object of a request with tools or response_format: built once, not per request.
        self._provider_required = with_required_parameters(self._extras.provider)
        self._model = model
        self._route = _check_route(model, route_models, provider_name)
        self._base_url = base_url.rstrip("/")
        self._url = f"{self._base_url}/chat/completions"
        self._api_key = api_key or None
        self.provider_name = provider_name
        self._headers = request_headers(self._api_key, extra_headers)  # built once, not per request

    def __repr__(self) -> str:
        route = f", route_models={list(self._route)!r}" if len(self._route) > 1 else ""
        return (
            f"OpenAICompatibleModel(model={self._model!r}, base_url={self._base_url!r}, "
            f"provider_name={self.provider_name!r}{route})"
        )

    @property
    def model_name(self) -> str:
        """The model id requests are made for."""
        return self._model

    @property
    def route_models(self) -> tuple[str, ...]:
        """The models one request may reach, in the order they are tried (just ``model`` unrouted)."""
        return self._route

    def request_body(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], settings: RequestSettings
    ) -> dict[str, Any]:
        """The JSON body of a ``/chat/completions`` request for this conversation."""
        body: dict[str, Any] = {"model": self._model, "messages": _map_messages(messages)}
        if len(self._route) > 1:
            body["models"] = list(self._route)
        if tools:
            body["tools"] = _map_tools(tools)
            if settings.tool_choice is not None:
                body["tool_choice"] = settings.tool_choice
            if settings.parallel_tool_calls is not None:
                body["parallel_tool_calls"] = settings.parallel_tool_calls
        if settings.max_tokens is not None:
            body["max_tokens"] = settings.max_tokens
        if settings.temperature is not None:
            body["temperature"] = settings.temperature
        if settings.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        if settings.response_format is not None:
            body["response_format"] = settings.response_format
        if self.provider_name == "openrouter":
            body["usage"] = {"include": True}
            required = tools or settings.response_format is not None
            provider = self._provider_required if required else self._extras.provider
            if provider:
                body["provider"] = provider
            if self._extras.reasoning:
                body["reasoning"] = self._extras.reasoning
            if settings.session_id:
                body["session_id"] = settings.session_id
        elif self._extras.reasoning and "effort" in self._extras.reasoning:
            body["reasoning_effort"] = self._extras.reasoning["effort"]
        if settings.cache_prompt:
            _mark_cacheable(body)
        return body

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        settings: RequestSettings,
        on_delta: DeltaCallback | None = None,
        *,
        run: RunContext | None = None,
    ) -> ModelResponse:
        """Send one request and return the whole response (streamed when ``settings.stream``).

        ``on_delta`` is called only for streamed requests, with each fragment as it arrives.

        Raises:
            agent.errors.ProviderError: the request failed; partial streamed output is dropped.
        """
        body = self.request_body(messages, tools, settings)
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        builder = ResponseBuilder(
            model=self._model, secret=self._api_key, on_delta=on_delta if settings.stream else None
        )
        try:
            async with self._client.stream("POST", self._url, content=content, headers=self._headers) as rsp:
                await self._read(rsp, builder, streamed=settings.stream)
        except httpx.HTTPError as exc:
            raise connection_error(exc, url=self._url, model=self._model, secret=self._api_key) from exc
        return builder.build()

    async def _read(self, response: httpx.Response, builder: ResponseBuilder, *, streamed: bool) -> None:
        if not response.is_success:
            content, _ = await read_body(response, MAX_ERROR_BODY_SIZE)  # the start tells what failed
            raise error_from_response(
                response.status_code, response.headers, content, model=self._model, secret=self._api_key
            )
        builder.id = response.headers.get("x-generation-id") or None
        if streamed and not response.headers.get("content-type", "").startswith("application/json"):
            decoder = SSEDecoder()
            chunks = response.aiter_bytes()
            try:
                async for data in aiter_sse_data(chunks, decoder):
                    builder.add(self._parse(data, "a stream chunk"))
            except ResponseLimitError as exc:
                exc.model = exc.model or self._model  # the decoder does not know the model
                raise
            if decoder.done:
                await _drain(chunks)
            elif builder.finish_reason is None:
                raise ProviderConnectionError(
                    f"the stream from {self._url} ended before the response was complete", model=self._model
                )
        else:
            whole, complete = await read_body(response, MAX_BODY_SIZE)
            if not complete:
                raise ResponseLimitError(
                    f"the response body from {self._url} is larger than {MAX_BODY_SIZE // 2**20} MiB, "
                    "larger than any chat completion",
                    model=self._model,
                )
            builder.add(self._parse(whole, "the response body"))

    def _parse(self, data: str | bytes, what: str) -> Any:
        try:
            return safe_json.loads(data)
        except safe_json.JSONTooDeepError as exc:
            raise ResponseLimitError(f"the JSON of {what} is {exc}", model=self._model) from None
        except ValueError as exc:
            secret = self._api_key or ""
            head = data[: _SNIPPET_WINDOW + len(secret)]  # enough for the snippet, not the whole body
            text = head if isinstance(head, str) else head.decode("utf-8", errors="replace")
            snippet = one_line(redact(text, self._api_key), 120) or "(empty)"
            raise BadResponseError(f"{what} was not valid JSON: {snippet}", model=self._model) from exc


async def _drain(chunks: AsyncIterator[bytes], limit: int = _DRAIN_LIMIT) -> None:
    """Read what follows ``[DONE]`` (the end of the chunked body) so the connection can be reused.

    A server that keeps talking past ``limit`` bytes is cut off instead (the connection is closed).
    """
    seen = 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > limit:
            break


def _check_route(model: str, route: Sequence[str] | None, provider_name: str) -> tuple[str, ...]:
    if route is None or list(route) == [model]:
        return (model,)
    where = "route_models"
    if isinstance(route, str):
        raise ConfigError(f"expected a list of model ids, got the string {route!r}", field=where)
    if provider_name != "openrouter":
        raise ConfigError(
            f"routing between models in one request needs OpenRouter, not provider {provider_name!r}",
            field=where,
        )
    if not route or route[0] != model:
        raise ConfigError(f"must start with the model {model!r}, got {list(route)!r}", field=where)
    if len(route) > MAX_ROUTE_MODELS:
        raise ConfigError(
            f"OpenRouter accepts at most {MAX_ROUTE_MODELS} models in one request, got {len(route)}",
            field=where,
        )
    if len(set(route)) != len(route):
        raise ConfigError(f"lists a model twice: {list(route)!r}", field=where)
    return tuple(route)


def _map_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Our messages as chat messages.

    ``tool`` messages take only text, so the images and audio of a turn's tool results go in
    one ``user`` message right after the turn's last tool message (each labelled with its call),
    and each tool message says its media follows: every call is still answered, in order,
    before anything else.
    """
    wire: list[dict[str, Any]] = []
    attached: list[dict[str, Any]] = []  # media of the tool messages just mapped
    for message in messages:
        if attached and not isinstance(message, ToolMessage):
            wire.append({"role": "user", "content": attached})  # after all the turn's tool messages
            attached = []
        if isinstance(message, AssistantMessage):
            wire.append(_map_assistant(message))
        elif isinstance(message, ToolMessage):
            wire.append(
                {
                    "role": "tool",
                    "tool_call_id": message.tool_call_id,
                    "content": _with_media(message, attached) if message.media else message.content,
                    "name": message.name,
                }
            )
        elif isinstance(message, UserMessage) and message.media:
            parts = [{"type": "text", "text": message.content}, *map(_map_media, message.media)]
            wire.append({"role": "user", "content": parts})
        else:
            wire.append({"role": message.role, "content": message.content})
    if attached:
        wire.append({"role": "user", "content": attached})
    return wire


def _with_media(message: ToolMessage, attached: list[dict[str, Any]]) -> str:
    """The tool message's text with a note that its media follows; the media labelled in ``attached``."""
    what = describe_media(message.media)
    attached.append(
        {"type": "text", "text": f"{what} from tool call {message.tool_call_id} ({message.name}):"}
    )
    attached.extend(_map_media(part) for part in message.media)
    verb = "is" if len(message.media) == 1 else "are"
    return f"{message.content}\n[{what} of this result {verb} attached to the next user message]"


_AUDIO_FORMATS = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "audio/ogg": "ogg",
    "audio/aac": "aac",
    "audio/aiff": "aiff",
    "audio/x-aiff": "aiff",
    "audio/mp4": "m4a",
    "audio/x-m4a": "m4a",
}
"""``input_audio`` formats by media type (OpenRouter: wav, mp3, flac, m4a, ogg, aiff, aac)."""
_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
"""Image types every vision model behind an OpenAI-compatible API takes."""


def _map_media(part: MediaPart) -> dict[str, Any]:
    """An image as an ``image_url`` data URL, a clip as ``input_audio``; other types as a note."""
    mime = part.mime_type.lower()
    if part.type == "image" and mime in _IMAGE_TYPES:
        return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{part.data}"}}
    audio_format = _AUDIO_FORMATS.get(mime) if part.type == "audio" else None
    if audio_format is not None:
        return {"type": "input_audio", "input_audio": {"data": part.data, "format": audio_format}}
    what = "image" if part.type == "image" else "audio"
    return {
        "type": "text",
        "text": f"[{what} of type {part.mime_type} not sent: the API does not take that type]",
    }


def _map_assistant(message: AssistantMessage) -> dict[str, Any]:
    if message.tool_calls:
        wire: dict[str, Any] = {
            "role": "assistant",
            "content": message.content or None,
            "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in message.tool_calls
            ],
        }
    else:
        wire = {"role": "assistant", "content": message.content or ""}
    if message.reasoning_details:
        wire["reasoning_details"] = message.reasoning_details
    return wire


_EPHEMERAL = {"type": "ephemeral"}


def _mark_cacheable(body: dict[str, Any]) -> None:
    """Cache breakpoints (``cache_control``) after the system prompt and after the tool definitions.

    Providers that cache only what is marked (Anthropic, Gemini) then reuse the prefix the
    conversation starts with on every turn: two of the four breakpoints a request may have.
    """
    messages = body["messages"]
    first = messages[0] if messages else None
    if first is not None and first["role"] == "system" and isinstance(first["content"], str):
        text = first["content"]
        if text:
            part = {"type": "text", "text": text, "cache_control": _EPHEMERAL}
            messages[0] = {"role": "system", "content": [part]}
    tools = body.get("tools")
    if tools:
        tools[-1] = {**tools[-1], "cache_control": _EPHEMERAL}


def _map_tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    wire: list[dict[str, Any]] = []
    for tool in tools:
        function: dict[str, Any] = {"name": tool.name}
        if tool.description:
            function["description"] = tool.description
        function["parameters"] = tool.parameters
        wire.append({"type": "function", "function": function})
    return wire
