"""The exception tree of the runtime.

Every error a user can meet derives from :class:`AgentError`, carries a one-line message that
names what went wrong and where, and maps to one documented exit code::

    AgentError                         exit 1 unless stated
    ├── ConfigError                    exit 2  a config file, flag, or environment variable is wrong
    ├── ProviderError                          the chat endpoint refused or failed a request
    │   ├── AuthenticationError        exit 4  401: the API key was refused
    │   ├── InsufficientCreditsError   exit 4  402: not enough credits for the request
    │   ├── PermissionDeniedError              403: moderation, guardrail or permission
    │   ├── ModelNotFoundError                 unknown model id / no endpoints for the model
    │   ├── NoToolEndpointsError               404: no endpoint of the model supports tools
    │   ├── RateLimitError                     429: rate limited
    │   ├── ContextLengthError                 the request does not fit the model's window
    │   ├── BadRequestError                    400/413/422: the request was rejected
    │   ├── ProviderUnavailableError           5xx, 408, 524, 529: try again or another model
    │   ├── ProviderConnectionError            connection refused, reset, or timed out
    │   └── BadResponseError                   a 200 without choices, an error chunk, bad JSON
    │       └── ResponseLimitError             too large, or JSON nested too deeply: not retried
    ├── McpError                               an MCP server could not be used
    │   └── ServerStartError                   a server did not start or initialise
    ├── ReplayDivergedError                    a replayed run asked what the recording did not
    └── OutputSchemaError                      the answer did not match --schema, asked twice

Signals to the model (unknown tool, bad arguments, a tool that failed or timed out) are not
exceptions: the loop turns them into tool results and the run goes on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Self

__all__ = [
    "AgentError",
    "AuthenticationError",
    "BadRequestError",
    "BadResponseError",
    "ConfigError",
    "ContextLengthError",
    "InsufficientCreditsError",
    "McpError",
    "ModelNotFoundError",
    "NoToolEndpointsError",
    "PermissionDeniedError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderUnavailableError",
    "RateLimitError",
    "ReplayDivergedError",
    "ResponseLimitError",
    "ServerStartError",
]


class AgentError(Exception):
    """Root of every error the runtime raises on purpose."""

    exit_code: int = 1

    @property
    def type_name(self) -> str:
        """The class name, used as ``error.type`` in JSON results."""
        return type(self).__name__


class ConfigError(AgentError):
    """A configuration file, flag or environment variable is wrong.

    Args:
        message: what is wrong and what was expected.
        source: the file (or flag) the mistake is in, if any.
        field: the dotted field path inside ``source``, if any.
    """

    exit_code = 2

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None) -> None:
        from agent.redaction import redact

        message = redact(message)
        self.source = source
        self.field = field
        self.detail = message
        where = ""
        if source and field:
            where = f"{source}: {field}: "
        elif source:
            where = f"{source}: "
        elif field:
            where = f"{field}: "
        text = f"{where}{message}"
        if not text.isprintable():  # one line, whatever names or values a file holds
            text = "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
        super().__init__(text)


class ProviderError(AgentError):
    """The chat endpoint refused or failed a request.

    Args:
        message: the upstream message, or a description of the failure.
        status: the HTTP status, if the failure had one.
        code: the ``error.code`` of the body (an int, or a string on some providers).
        metadata: ``error.metadata`` of the body (``raw``, ``provider_name``, ...).
        model: the model the request was for.
        retry_after: seconds the server asked to wait, if it said (``Retry-After``, or
            ``error.availability.retry_after``).
        retryable: whether the same request may succeed if sent again, when the server said so
            (``error.availability.retryable``); ``None`` keeps the class's default.
        fallback_models: models OpenRouter suggests instead (``error.availability.fallback_models``).
        availability_code: ``error.availability.code`` (``capacity_exhausted``, ``model_deprecated``, ...).
    """

    retryable: bool = False
    """Whether sending the same request again may succeed: the class's default, or what the server said."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | str | None = None,
        metadata: dict[str, Any] | None = None,
        model: str | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
        fallback_models: Sequence[str] = (),
        availability_code: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.metadata = metadata or {}
        self.model = model
        self.retry_after = retry_after
        if retryable is not None:
            self.retryable = retryable
        self.fallback_models: tuple[str, ...] = tuple(fallback_models)
        self.availability_code = availability_code
        super().__init__(message)

    def reworded(self, message: str) -> Self:
        """The same error (class and every field) with another message."""
        return type(self)(message, **self._fields())

    def _fields(self) -> dict[str, Any]:
        """Every constructor argument but the message, as this error has it."""
        return {
            "status": self.status,
            "code": self.code,
            "metadata": self.metadata,
            "model": self.model,
            "retry_after": self.retry_after,
            "retryable": self.retryable,
            "fallback_models": self.fallback_models,
            "availability_code": self.availability_code,
        }

    def as_json(self) -> dict[str, Any]:
        """The message and every field, JSON-ready (metadata values that are not JSON become text)."""
        fields = self._fields()
        fields["fallback_models"] = list(self.fallback_models)
        try:
            fields["metadata"] = dict(json.loads(json.dumps(self.metadata, default=str)))
        except (TypeError, ValueError):
            fields["metadata"] = {}
        return {"message": self.message, **fields}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """The error :meth:`as_json` describes; a field of the wrong type is left unknown."""

        def typed(name: str, *kinds: type) -> Any:
            value = data.get(name)
            if isinstance(value, bool) and bool not in kinds:  # a bool is an int to isinstance
                return None
            return value if isinstance(value, kinds) else None

        metadata = data.get("metadata")
        fallbacks = data.get("fallback_models")
        return cls(
            str(data.get("message", "")),
            status=typed("status", int),
            code=typed("code", int, str),
            metadata=dict(metadata) if isinstance(metadata, dict) else {},
            model=typed("model", str),
            retry_after=typed("retry_after", int, float),
            retryable=typed("retryable", bool),
            fallback_models=[str(m) for m in fallbacks] if isinstance(fallbacks, list) else (),
            availability_code=typed("availability_code", str),
        )

    @property
    def provider_name(self) -> str | None:
        """The upstream provider named in the error metadata, if any."""
        name = self.metadata.get("provider_name")
        return name if isinstance(name, str) else None

    @property
    def raw(self) -> str | None:
        """The upstream provider's own error text (``metadata.raw``), if any."""
        raw = self.metadata.get("raw")
        if raw is None:
            return None
        return raw if isinstance(raw, str) else repr(raw)


class AuthenticationError(ProviderError):
    """401: the API key was refused (the key itself is never shown)."""

    exit_code = 4


class InsufficientCreditsError(ProviderError):
    """402: the account or key has too few credits for the request."""

    exit_code = 4


class PermissionDeniedError(ProviderError):
    """403: the input was flagged by moderation or a guardrail, or access is denied."""


class ModelNotFoundError(ProviderError):
    """The model id is unknown, or no endpoint serves it."""


class NoToolEndpointsError(ProviderError):
    """404 "No endpoints found that support tool use": a capability fact about the model."""


class RateLimitError(ProviderError):
    """429: too many requests."""

    retryable = True


class ContextLengthError(ProviderError):
    """The request is longer than the model's context window."""


class BadRequestError(ProviderError):
    """400/413/422: the provider rejected the request."""


class ProviderUnavailableError(ProviderError):
    """5xx, 408, 524, 529: the model or provider is down or overloaded for now."""

    retryable = True


class ProviderConnectionError(ProviderError):
    """The connection could not be made, was reset, or timed out."""

    retryable = True


class BadResponseError(ProviderError):
    """A 200 response that carries no completion: no choices, an error chunk, or broken JSON."""

    retryable = True


class ResponseLimitError(BadResponseError):
    """A response broke a size or nesting limit: a huge body or stream event, or JSON too deep.

    No real endpoint sends an event of many megabytes or JSON nested hundreds of levels deep
    (see :mod:`agent.providers.sse` and :mod:`agent.safe_json`): sending the same request again
    would only fetch the same answer, so it is not retried.
    """

    retryable = False


class McpError(AgentError):
    """An MCP server could not be used.

    Args:
        message: what went wrong.
        server: the configured name of the server.
    """

    def __init__(self, message: str, *, server: str) -> None:
        self.server = server
        self.detail = message
        super().__init__(f"MCP server '{server}': {message}")


class ServerStartError(McpError):
    """A server did not start, or did not complete the MCP handshake in time.

    Args:
        message: what went wrong.
        server: the configured name of the server.
        stderr_tail: the last lines the server wrote to stderr.
    """

    def __init__(self, message: str, *, server: str, stderr_tail: str = "") -> None:
        self.stderr_tail = stderr_tail
        super().__init__(message, server=server)


class ReplayDivergedError(AgentError):
    """A run replayed from a recording (``--replay``) did not ask what the recorded run asked."""


class OutputSchemaError(AgentError):
    """The model's final answer did not match the run's output schema, also when asked again."""
