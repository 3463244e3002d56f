"""Script steps: what the loopback server answers to one ``POST /chat/completions``.

Each step is a small frozen dataclass; the lower-case helpers build them with readable defaults.
A step may also be a function of the request JSON that returns a step, for answers that depend
on the conversation (e.g. quoting the last tool result back).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

__all__ = [
    "Call",
    "Delayed",
    "ErrorReply",
    "Reply",
    "Step",
    "StreamFault",
    "UsageReport",
    "availability_error",
    "call",
    "credits_error",
    "delayed",
    "detail_text",
    "drop",
    "error",
    "error_chunk",
    "last_tool_result",
    "last_user_text",
    "rate_limit_error",
    "raw_error",
    "reply",
    "stall",
]

Framing = Literal["chunked", "close"]
"""How a streamed body ends: HTTP/1.1 chunked encoding, or ``Connection: close`` at EOF."""


@dataclass(frozen=True)
class Call:
    """One tool call the scripted model makes.

    ``arguments`` is a dict (sent as JSON text), a raw string sent verbatim (``""``, broken JSON),
    or ``None`` to leave the ``arguments`` key out. ``id=None`` gets a fresh ``call_N`` id;
    ``omit_id=True`` leaves the id out entirely; give two calls the same id for duplicates.
    """

    name: str
    arguments: Mapping[str, Any] | str | None = field(default_factory=dict)
    id: str | None = None
    omit_id: bool = False

    def arguments_text(self) -> str | None:
        """The ``function.arguments`` string as it goes on the wire (None: key omitted)."""
        if self.arguments is None or isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments))


@dataclass(frozen=True)
class UsageReport:
    """Token counts and cost of one response, as OpenRouter reports them in ``usage``."""

    prompt_tokens: int = 10
    completion_tokens: int = 5
    cost: float | None = 0.001
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0

    def to_wire(self) -> dict[str, Any]:
        """The ``usage`` object of reference §3 (``cost`` left out when None)."""
        usage: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {
                "cached_tokens": self.cached_tokens,
                "cache_write_tokens": self.cache_write_tokens,
                "audio_tokens": 0,
            },
            "completion_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
        }
        if self.cost is not None:
            usage["cost"] = self.cost
            usage["is_byok"] = False
            usage["cost_details"] = {
                "upstream_inference_cost": None,
                "upstream_inference_prompt_cost": 0,
                "upstream_inference_completions_cost": 0,
            }
        return usage


@dataclass(frozen=True)
class Reply:
    """A successful completion, streamed or not depending on the request's ``stream``.

    Streamed, ``reasoning`` comes in pieces; when ``reasoning_details`` are given they stream
    instead, each whole in one delta with its text as ``reasoning`` (as OpenRouter does), so keep
    ``reasoning`` equal to their joined text or leave it None.
    ``finish_reason``/``native_finish_reason`` default to ``tool_calls`` when there are calls and
    ``stop`` otherwise. ``model`` overrides the answering model (default: the requested one).
    The remaining fields only shape the stream: piece size of content and reasoning, extra
    ``: OPENROUTER PROCESSING`` comments between chunks, tool calls sent whole in one delta,
    a choice repeated in the usage chunk, and the body framing.
    """

    content: str | None = None
    tool_calls: Sequence[Call] = ()
    reasoning: str | None = None
    reasoning_details: Sequence[Mapping[str, Any]] | None = None
    finish_reason: str | None = None
    native_finish_reason: str | None = None
    usage: UsageReport | None = field(default_factory=UsageReport)
    provider: str = "Loopback"
    model: str | None = None
    piece_size: int = 3
    keepalives: bool = False
    whole_tool_calls: bool = False
    usage_chunk_with_choice: bool = False
    framing: Framing = "chunked"

    def reasoning_text(self) -> str | None:
        """``reasoning``, or else the text of ``reasoning_details`` joined, as OpenRouter reports it."""
        if self.reasoning is not None or self.reasoning_details is None:
            return self.reasoning
        return "".join(detail_text(d) for d in self.reasoning_details)

    def finish(self) -> str:
        """The normalized finish reason this reply ends with."""
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"

    def native_finish(self) -> str:
        """The provider's raw finish reason this reply reports."""
        return self.native_finish_reason if self.native_finish_reason is not None else self.finish()


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error before any token: OpenRouter's ``{"error": {...}}`` body, or ``raw_body``.

    ``code`` defaults to the status; a status of 200 gives the "error envelope in a 200" quirk.
    ``fields`` are more members of the ``error`` object (``error_type``, ``availability``, ...).
    """

    status: int
    message: str = "Provider returned error"
    code: int | str | None = None
    metadata: Mapping[str, Any] | None = None
    fields: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    raw_body: str | None = None
    content_type: str = "application/json"


@dataclass(frozen=True)
class StreamFault:
    """A failure after the response started: an error chunk, a dropped connection, or a stall.

    ``partial`` is streamed first, cut to its first ``after_chunks`` data chunks (default: every
    chunk before the finish chunk). ``error`` is the error chunk's object; ``stall_seconds`` is
    how long a stall holds the connection open, silent, before dropping it. On a non-streamed
    request an ``error`` fault becomes a 200 with ``finish_reason: "error"`` and
    ``choices[0].error``; a drop or stall closes the connection without a response.
    """

    kind: Literal["error", "drop", "stall"]
    partial: Reply = field(default_factory=Reply)
    after_chunks: int | None = None
    error: Mapping[str, Any] = field(
        default_factory=lambda: {
            "code": 502,
            "message": "Provider disconnected",
            "metadata": {"error_type": "provider_unavailable"},
        }
    )
    done_after_error: bool = False
    stall_seconds: float = 30.0


@dataclass(frozen=True)
class Delayed:
    """Wait ``seconds`` (interrupted when the server closes), then answer with ``step``."""

    seconds: float
    step: Step


Step: TypeAlias = "Reply | ErrorReply | StreamFault | Delayed | Callable[[dict[str, Any]], Step]"


def call(
    name: str,
    arguments: Mapping[str, Any] | str | None = None,
    *,
    id: str | None = None,
    omit_id: bool = False,
) -> Call:
    """A tool call; ``arguments`` defaults to ``{}``."""
    return Call(name, {} if arguments is None else arguments, id=id, omit_id=omit_id)


def reply(content: str | None = None, *tool_calls: Call, **options: Any) -> Reply:
    """A reply with optional text and tool calls; ``options`` are the other :class:`Reply` fields."""
    return Reply(content=content, tool_calls=tuple(tool_calls), **options)


def error(
    status: int,
    message: str = "Provider returned error",
    *,
    metadata: Mapping[str, Any] | None = None,
    retry_after: float | None = None,
    headers: Mapping[str, str] | None = None,
    code: int | str | None = None,
) -> ErrorReply:
    """An OpenRouter error response; ``retry_after`` sets the ``Retry-After`` header (seconds)."""
    all_headers = dict(headers or {})
    if retry_after is not None:
        all_headers["Retry-After"] = f"{retry_after:g}"
    return ErrorReply(status, message, code=code, metadata=metadata, headers=all_headers)


AVAILABILITY_ERROR_TYPES: Mapping[str, str] = {
    "model_not_found": "invalid_request",
    "wrong_endpoint": "invalid_request",
    "no_endpoints": "not_found",
    "model_deprecated": "not_found",
    "model_unavailable_upstream": "not_found",
    "capacity_exhausted": "rate_limit_exceeded",
    "temporarily_unavailable": "provider_overloaded",
    "region_restricted": "permission_denied",
    "privacy_restricted": "not_found",
    "constraint_filtered": "not_found",
    "free_variant_ended": "not_found",
}
"""``availability.code`` → ``error_type`` (ORD api_reference/errors-and-debugging.mdx, table of codes)."""

CREDITS_URL = "https://openrouter.ai/settings/credits"


def availability_error(
    status: int,
    message: str,
    *,
    code: str,
    retryable: bool,
    retry_after: float | None = None,
    fallback_models: Sequence[str] = (),
    requested_models: Sequence[str] = (),
    excluded_by: Sequence[str] | None = None,
    constraint: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> ErrorReply:
    """A model availability error: the envelope plus ``error_type``, ``http_status`` and ``availability``.

    As ORD api_reference/errors-and-debugging.mdx ("Model availability errors") shows it:
    ``code``, ``retryable``, ``requested_models`` and ``docs_url`` are always there, the other
    fields only when given; ``retry_after`` is also sent as the ``Retry-After`` header.
    ``constraint`` is ``{"field", "detail"}`` (``constraint_filtered``, ``wrong_endpoint``).
    """
    availability: dict[str, Any] = {"code": code, "retryable": retryable}
    if retry_after is not None:
        availability["retry_after"] = retry_after
    availability["requested_models"] = list(requested_models)
    if excluded_by is not None:
        availability["excluded_by"] = list(excluded_by)
    if fallback_models:
        availability["fallback_models"] = list(fallback_models)
    if constraint is not None:
        availability["constraint"] = dict(constraint)
    availability["docs_url"] = f"https://openrouter.ai/docs/errors#{code}"
    fields = {
        "error_type": AVAILABILITY_ERROR_TYPES.get(code, "unmapped"),
        "http_status": status,
        "availability": availability,
    }
    all_headers = dict(headers or {})
    if retry_after is not None:
        all_headers["Retry-After"] = f"{retry_after:g}"
    return ErrorReply(status, message, metadata=metadata, fields=fields, headers=all_headers)


def credits_error(
    kind: Literal["balance", "never_purchased", "max_tokens", "key_limit"] = "balance",
    *,
    requested_tokens: int = 64000,
    affordable_tokens: int = 2666,
    metadata: Mapping[str, Any] | None = None,
) -> ErrorReply:
    """A 402 in OpenRouter's words (reference §6 and the bodies quoted in public issues).

    ``balance``: out of credits; ``never_purchased``: a new account's key; ``max_tokens``: the
    request's ``max_tokens`` is more than the balance affords; ``key_limit``: the key's own
    credit limit is reached.
    """
    messages = {
        "balance": f"Insufficient credits. Add more using {CREDITS_URL}",
        "never_purchased": (
            "Insufficient credits. This account never purchased credits. Make sure your key is on the "
            f"correct account or org, and if so, purchase more at {CREDITS_URL}"
        ),
        "max_tokens": (
            "This request requires more credits, or fewer max_tokens. "
            f"You requested up to {requested_tokens} tokens, but can only afford {affordable_tokens}. "
            f"To increase, visit {CREDITS_URL} and add more credits"
        ),
        "key_limit": (
            f"More credits are required to run this request. {requested_tokens} token capacity required, "
            f"{affordable_tokens} available. To increase, visit https://openrouter.ai/settings/keys and "
            "create a key with a higher limit"
        ),
    }
    return ErrorReply(402, messages[kind], metadata=metadata)


FREE_DAILY_LIMIT = (
    "Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model requests per day"
)


def rate_limit_error(
    message: str = FREE_DAILY_LIMIT,
    *,
    limit: int = 50,
    remaining: int = 0,
    reset_ms: int = 1_743_638_400_000,
    retry_after: float | None = None,
    metadata: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> ErrorReply:
    """OpenRouter's own 429 (a platform limit such as the free-model daily cap), reference §6.

    The ``X-RateLimit-*`` values go out as headers and again in ``metadata.headers`` (the reset
    as epoch milliseconds, as captured bodies show); ``retry_after`` adds ``Retry-After``.
    """
    limits = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(reset_ms),
    }
    all_headers = {**limits, **(headers or {})}
    if retry_after is not None:
        all_headers["Retry-After"] = f"{retry_after:g}"
    body_metadata = {"headers": limits, "provider_name": None, **(metadata or {})}
    return ErrorReply(429, message, metadata=body_metadata, headers=all_headers)


def raw_error(status: int, body: str, *, content_type: str = "text/html") -> ErrorReply:
    """An error whose body is not OpenRouter JSON (a proxy's HTML page, plain text, garbage)."""
    return ErrorReply(status, raw_body=body, content_type=content_type)


def error_chunk(
    partial: Reply | None = None,
    *,
    code: int | str = 502,
    message: str = "Provider disconnected",
    error_type: str = "provider_unavailable",
    after_chunks: int | None = None,
) -> StreamFault:
    """A mid-stream error chunk after ``partial`` (default: nothing but the role delta)."""
    body = {"code": code, "message": message, "metadata": {"error_type": error_type}}
    return StreamFault("error", partial or Reply(), after_chunks=after_chunks, error=body)


def drop(partial: Reply | None = None, *, after_chunks: int | None = None) -> StreamFault:
    """Close the connection mid-stream, after ``partial``'s first chunks, with no ``[DONE]``."""
    return StreamFault("drop", partial or Reply(), after_chunks=after_chunks)


def stall(seconds: float, partial: Reply | None = None, *, after_chunks: int | None = None) -> StreamFault:
    """Go silent mid-stream for ``seconds`` (read-timeout tests), then drop the connection."""
    return StreamFault("stall", partial or Reply(), after_chunks=after_chunks, stall_seconds=seconds)


def delayed(seconds: float, step: Step) -> Delayed:
    """Answer with ``step`` only after ``seconds`` (timeout tests)."""
    return Delayed(seconds, step)


def last_tool_result(request: Mapping[str, Any]) -> str:
    """The content of the request's last ``tool`` message (text parts joined); ``""`` if none."""
    for message in reversed(request.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "tool":
            return _text_of(message.get("content"))
    return ""


def last_user_text(request: Mapping[str, Any]) -> str:
    """The content of the request's last ``user`` message (text parts joined); ``""`` if none."""
    for message in reversed(request.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def detail_text(detail: Mapping[str, Any]) -> str:
    """The readable text of one ``reasoning_details`` item (text or summary; ``""`` if encrypted)."""
    text = detail.get("text", detail.get("summary"))
    return text if isinstance(text, str) else ""


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""
