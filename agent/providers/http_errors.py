"""Failed chat requests to typed errors: one mapping, most specific first, keys never shown.

Every way a request can fail (an HTTP error status, an ``error`` object inside a 200 body or a
stream chunk, a dropped connection) ends in :func:`classify`, so the same upstream failure
gives the same exception whichever way it arrived. Messages are one line, carry the upstream
message (and the upstream provider's own words from ``metadata.raw``), and have the API key
(and anything shaped like one) replaced by ``[redacted]``. An endpoint that cannot be reached
at all says so and what to check, rather than blaming the model.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from agent import safe_json
from agent.errors import (
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    ContextLengthError,
    InsufficientCreditsError,
    ModelNotFoundError,
    NoToolEndpointsError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
)
from agent.redaction import redact as _redact
from agent.text import one_line

__all__ = [
    "UNREACHABLE",
    "classify",
    "connection_error",
    "error_from_body",
    "error_from_response",
    "is_unreachable",
    "one_line",
    "parse_retry_after",
    "redact",
    "upstream_message",
]

UNREACHABLE = "endpoint_unreachable"
"""``metadata["error_type"]`` of a :class:`ProviderConnectionError` whose endpoint could not be
reached at all (name lookup, refused connection, proxy, TLS): no model was asked anything."""

_UNAVAILABLE = frozenset({408, 500, 502, 503, 524, 529})
_TYPE_STATUS = {
    "authentication": 401,
    "payment_required": 402,
    "permission_denied": 403,
    "not_found": 404,
    "timeout": 408,
    "payload_too_large": 413,
    "rate_limit_exceeded": 429,
    "server": 500,
    "provider_unavailable": 502,
    "provider_overloaded": 529,
}
_NO_TOOLS = "no endpoints found that support tool use"
_CONTEXT = re.compile(
    r"context[ _-]?(length|window)|maximum context|prompt is too long|too many (input )?tokens"
    r"|input is too long|reduce the length of the (messages|prompt)"
)
_MODEL_NOT_FOUND = re.compile(
    r"not a valid model|model\b[^.]{0,80}\b(not found|does not exist)|no such model|unknown model"
    r"|invalid model (id|name)\b|model_not_found"
)
_MAX_UPSTREAM = 200
_MESSAGE_KEYS = ("message", "error", "detail", "error_description", "msg")
_NESTED_JSON = 3
_CHECK_ENDPOINT = (
    "check the endpoint URL (OPENROUTER_BASE_URL or api_endpoint in the provider file) "
    "and your network and proxy settings"
)


def redact(text: str, secret: str | None) -> str:
    """Replace ``secret`` and anything shaped like an API key in ``text`` (any case) with ``[redacted]``."""
    return _redact(text, secret)


def upstream_message(raw: object, limit: int = _MAX_UPSTREAM) -> str:
    """The upstream provider's own words from ``metadata.raw``, as one short printable line.

    ``raw`` is often JSON text (sometimes JSON inside JSON) holding ``error.message``; that
    message is taken when there is one, else the text itself. Returns ``""`` for nothing useful.
    Redact secrets before calling: this only shortens and drops unprintable characters.
    """
    text = _message_of(raw, _NESTED_JSON)
    if text is None:
        text = raw if isinstance(raw, str) else ""
    text = "".join(char for char in " ".join(text.split()) if char.isprintable())
    return one_line(text, limit)


def is_unreachable(error: ProviderError) -> bool:
    """Whether ``error`` means the endpoint itself could not be reached (see :data:`UNREACHABLE`)."""
    return isinstance(error, ProviderConnectionError) and error.metadata.get("error_type") == UNREACHABLE


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_from_response(
    status: int, headers: Mapping[str, str], content: bytes, *, model: str | None, secret: str | None
) -> ProviderError:
    """The error for an HTTP error response, whatever its body (JSON envelope, text, HTML)."""
    retry_after = parse_retry_after(headers.get("retry-after"))
    try:
        body: Any = safe_json.loads(content) if content.strip() else None
    except ValueError:  # not JSON, or nested too deeply to trust
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        exc = error_from_body(error, status=status, retry_after=retry_after, model=model, secret=secret)
    else:
        if isinstance(error, str):
            message = error
        elif isinstance(body, dict) and isinstance(body.get("message") or body.get("detail"), str):
            message = body.get("message") or body["detail"]
        else:
            message = content.decode("utf-8", errors="replace") or httpx.codes.get_reason_phrase(status)
        exc = classify(status, message, retry_after=retry_after, model=model, secret=secret)
    # OpenRouter's own 429s carry the limit in X-RateLimit-* headers; keep them beside the body's.
    limits = {name: value for name, value in headers.items() if name.lower().startswith("x-ratelimit-")}
    if limits and not isinstance(exc.metadata.get("headers"), Mapping):
        exc.metadata["headers"] = limits
    return exc


def error_from_body(
    error: Mapping[str, Any],
    *,
    status: int | None,
    retry_after: float | None = None,
    model: str | None,
    secret: str | None,
) -> ProviderError:
    """The error for an OpenRouter ``error`` object, from an error response or inside a 200 body."""
    raw_meta = error.get("metadata")
    metadata: dict[str, Any] = dict(raw_meta) if isinstance(raw_meta, Mapping) else {}
    raw_code = error.get("code")
    code = raw_code if isinstance(raw_code, int | str) and not isinstance(raw_code, bool) else None
    error_type = error.get("error_type") or metadata.get("error_type")
    availability = error.get("availability")
    availability = availability if isinstance(availability, Mapping) else {}
    if status is None or status < 400:
        status = _status_of(code, error.get("http_status"), error_type)
    if retry_after is None:
        retry_after = _seconds(availability.get("retry_after"))
    retryable = availability.get("retryable")
    suggested = availability.get("fallback_models")
    return classify(
        status,
        str(error.get("message") or ""),
        code=code,
        metadata=metadata,
        error_type=error_type if isinstance(error_type, str) else None,
        availability_code=availability.get("code") if isinstance(availability.get("code"), str) else None,
        retry_after=retry_after,
        retryable=retryable if isinstance(retryable, bool) else None,
        fallback_models=_model_ids(suggested, secret),
        model=model,
        secret=secret,
    )


def classify(
    status: int | None,
    message: str,
    *,
    code: int | str | None = None,
    metadata: Mapping[str, Any] | None = None,
    error_type: str | None = None,
    availability_code: str | None = None,
    retry_after: float | None = None,
    retryable: bool | None = None,
    fallback_models: Sequence[str] = (),
    model: str | None,
    secret: str | None,
) -> ProviderError:
    """Pick the exception for a failure: the one place status, wording and error codes are read.

    ``availability_code``, ``retryable`` and ``fallback_models`` come from OpenRouter's
    ``error.availability`` and are kept on the error (``retryable`` overrides the class's default).
    """
    meta: dict[str, Any] = _redact_value(dict(metadata or {}), secret)
    upstream = one_line(redact(message, secret)) or "(no message)"
    raw = meta.get("raw")
    wording = f"{message} {raw if isinstance(raw, str) else ''} {code or ''} {error_type or ''}".lower()
    client_side = status is None or (400 <= status < 500 and status != 429)
    via = meta.get("provider_name")
    via = one_line(via, 60) if isinstance(via, str) and via.strip() else None
    said = upstream_message(raw) if raw is not None else ""
    if said and said.lower() not in upstream.lower():
        via_text = f'; {via or "the upstream provider"} said: "{said}"'
    else:
        via_text = f" [provider: {via}]" if via else ""

    def make(cls: type[ProviderError], summary: str, extra: str = "") -> ProviderError:
        where = f" ({status})" if status else ""
        return cls(
            f"{summary}{where}: {upstream}{extra}{via_text}",
            status=status,
            code=code,
            metadata=meta,
            model=model,
            retry_after=retry_after,
            retryable=retryable,
            fallback_models=fallback_models,
            availability_code=availability_code,
        )

    if status == 401:
        return make(AuthenticationError, "the API key was refused")
    if status == 402:
        return make(InsufficientCreditsError, "not enough credits for this request")
    if status == 403:
        reasons = meta.get("reasons")
        extra = ""
        if isinstance(reasons, list) and reasons:
            extra = f" (reasons: {', '.join(str(r) for r in reasons)})"
        return make(PermissionDeniedError, "the request was refused", extra)
    if status == 404 and message.strip().lower().startswith(_NO_TOOLS):
        return make(NoToolEndpointsError, f"no endpoint of {model or 'the model'} supports tool use")
    if client_side and (error_type == "context_length_exceeded" or _CONTEXT.search(wording)):
        return make(ContextLengthError, "the request does not fit the model's context window")
    if status == 404 or (
        client_side and (availability_code == "model_not_found" or _MODEL_NOT_FOUND.search(wording))
    ):
        return make(ModelNotFoundError, f"model {model or '(unknown)'} is not available")
    if status == 429:
        return make(RateLimitError, "rate limited")
    if status is not None and (status in _UNAVAILABLE or status >= 500):
        return make(ProviderUnavailableError, "the provider is unavailable")
    if status is not None and 400 <= status < 500:
        return make(BadRequestError, "the request was rejected")
    return make(BadResponseError, "the provider reported an error")


def connection_error(
    exc: httpx.HTTPError, *, url: str, model: str | None, secret: str | None
) -> ProviderError:
    """The error for a request that failed below HTTP: connect, read, timeout, protocol.

    A request that never reached the endpoint (name lookup, refused connection, proxy, TLS) says
    which host could not be reached and what to check, and is marked :data:`UNREACHABLE`.
    """
    detail = one_line(redact(str(exc), secret)) or type(exc).__name__
    if isinstance(exc, httpx.DecodingError):
        return BadResponseError(f"the response from {url} could not be decoded: {detail}", model=model)
    reason = _unreachable_reason(exc, detail)
    if reason is not None:
        # A name that does not resolve or a TLS failure will not fix itself in a second.
        permanent = reason.startswith(("host name lookup failed", "TLS handshake failed"))
        return ProviderConnectionError(
            f"cannot reach the endpoint {_host(url)} ({reason}); {_CHECK_ENDPOINT}",
            model=model,
            metadata={"error_type": UNREACHABLE, "permanent": permanent},
        )
    if isinstance(exc, httpx.TimeoutException):
        message = f"the request to {url} timed out ({type(exc).__name__})"
    elif isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        message = f"the connection to {url} was lost: {detail}"
    else:
        message = f"the request to {url} failed: {detail}"
    return ProviderConnectionError(message, model=model)


def _unreachable_reason(exc: httpx.HTTPError, detail: str) -> str | None:
    """Why no connection to the endpoint was made, or None when the failure came later."""
    if isinstance(exc, httpx.ProxyError):
        return f"proxy error: {detail}"
    if isinstance(exc, httpx.ConnectTimeout):
        return "connection timed out"
    if not isinstance(exc, httpx.ConnectError):
        return None
    cause: BaseException | None = exc
    seen: list[BaseException] = []
    while cause is not None and cause not in seen and len(seen) < 8:
        seen.append(cause)
        if isinstance(cause, socket.gaierror):
            why = cause.strerror or str(cause)
            return f"host name lookup failed: {one_line(why, 80)}"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake failed: {one_line(str(cause), 120)}"
        cause = cause.__cause__ or cause.__context__
    return detail


def _host(url: str) -> str:
    """``host`` or ``host:port`` of ``url`` (never its user name, password or path)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "(invalid URL)"
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return f"{host}:{parsed.port}" if parsed.port is not None else host or "(no host)"


def _message_of(value: object, depth: int) -> str | None:
    """The message inside an error value: JSON text, an ``error`` object, or a list of them."""
    if depth < 0:
        return None
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] not in ("{", "["):
            return stripped or None
        try:
            parsed = safe_json.loads(stripped)
        except ValueError:
            return stripped
        return _message_of(parsed, depth - 1) if not isinstance(parsed, str) else parsed
    if isinstance(value, Mapping):
        for key in _MESSAGE_KEYS:
            found = _message_of(value.get(key), depth) if value.get(key) is not None else None
            if found:
                return found
        return None
    if isinstance(value, list) and value:
        return _message_of(value[0], depth)
    return None


def _status_of(code: int | str | None, http_status: object, error_type: object) -> int | None:
    for value in (code, http_status):
        if isinstance(value, int) and not isinstance(value, bool) and value >= 400:
            return value
        if isinstance(value, str) and value.isdigit() and int(value) >= 400:
            return int(value)
    return _TYPE_STATUS.get(error_type) if isinstance(error_type, str) else None


def _seconds(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return max(0.0, float(value))
    return parse_retry_after(value) if isinstance(value, str) else None


def _model_ids(value: object, secret: str | None, limit: int = 10) -> tuple[str, ...]:
    """The model ids in an ``availability.fallback_models`` list: printable, short, each once."""
    if not isinstance(value, list):
        return ()
    ids: list[str] = []
    for item in value:
        if isinstance(item, str) and item.strip() and len(item) <= 200:
            name = one_line(redact(item.strip(), secret), 200)
            if name.isprintable() and " " not in name and name not in ids:
                ids.append(name)
    return tuple(ids[:limit])


def _redact_value(value: Any, secret: str | None) -> Any:
    if isinstance(value, str):
        return redact(value, secret)
    if isinstance(value, dict):
        return {k: _redact_value(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(v, secret) for v in value]
    return value
