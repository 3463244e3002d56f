"""What the user can do about a provider error: one line of advice appended to its message.

Advice is added where the outcome is final (after retries, with no fallback left), so the
message itself tells a person or a ``--json`` script what to change: look the model id up,
add ``--fallback``, buy credits or use a ``:free`` model, wait for a rate limit to reset, try the
models OpenRouter suggests (``error.availability.fallback_models``).
A too-long conversation gets none here: the loop compacts it and words the final error; nor
does an endpoint that cannot be reached at all: its message already says what to check, and
another model behind the same endpoint would not help.
The exception keeps its class, status, code and metadata (``raw``, ``provider_name``), so
``--verbose`` and exit codes see the same error; API keys never enter the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from agent.errors import (
    AuthenticationError,
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
    ResponseLimitError,
)
from agent.providers.http_errors import is_unreachable
from agent.providers.retry_policy import is_daily_limit, rate_limit_headers, rate_limit_reset
from agent.text import one_line

__all__ = ["CREDITS_URL", "FREE_MODEL_LIMITS", "advice_for", "suggestion_for", "with_advice"]

CREDITS_URL = "https://openrouter.ai/settings/credits"
"""Where OpenRouter credits are bought."""
FREE_MODEL_LIMITS = (
    "free models (ids ending in :free) allow 20 requests a minute and 50 a day "
    "(1000 a day once 10 credits were bought)"
)
"""OpenRouter's published limits for ``:free`` models (reference §6)."""


def with_advice(
    error: ProviderError, *, tried: Sequence[str] = (), now: datetime | None = None
) -> ProviderError:
    """A copy of ``error`` (same class and fields) whose message ends with what to do about it.

    Args:
        error: the final error of a request: retries are spent and no fallback is left.
        tried: every model the request went to, in order (named when more than one failed).
        now: the current time, for "resets in ..." (default: now).

    Returns ``error`` itself when there is nothing to add or the advice is already there.
    """
    advice = " ".join(
        part
        for part in (advice_for(error, tried=tried, now=now), suggestion_for(error, tried=tried))
        if part and part not in error.message
    )
    if not advice:
        return error
    return error.reworded(f"{error.message.rstrip('. ')}. {advice}")


def suggestion_for(error: ProviderError, *, tried: Sequence[str] = ()) -> str:
    """``OpenRouter suggests: a/b, c/d (--fallback or --auto-fallback).`` for the models it named.

    The models come from the error's ``availability.fallback_models``; ones already tried are
    left out. ``""`` when there are none.
    """
    models = [model for model in error.fallback_models if model not in tried]
    if not models or "OpenRouter suggests: " in error.message:
        return ""
    return f"OpenRouter suggests: {', '.join(models)} (--fallback or --auto-fallback)."


def advice_for(error: ProviderError, *, tried: Sequence[str] = (), now: datetime | None = None) -> str:
    """The advice sentence for ``error`` ("" when there is none), without the error itself."""
    model = error.model or (tried[0] if tried else "")
    if isinstance(error, AuthenticationError):
        return "Check the API key configured for the provider (e.g. OPENROUTER_API_KEY)."
    if isinstance(error, InsufficientCreditsError):
        return (
            f"Add credits at {CREDITS_URL}, ask for fewer max_tokens, "
            "or use a free model (an id ending in :free)."
        )
    if isinstance(error, PermissionDeniedError):
        return _moderation(error)
    if isinstance(error, NoToolEndpointsError):
        return "Choose a model that supports tool calling (see `agent models --tools`)."
    if isinstance(error, ModelNotFoundError):
        return (
            f"The model id '{model}' was not found or has no available endpoint; "
            f"look it up with `agent models --search {_search_term(model)}`."
        )
    if isinstance(error, ContextLengthError):
        return ""  # the message says so already; the loop compacts and gives its own advice
    if isinstance(error, RateLimitError):
        return _rate_limit(error, now or datetime.now(UTC))
    if isinstance(error, ResponseLimitError):
        return ""  # the endpoint misbehaves; waiting or another model of the same endpoint won't help
    if is_unreachable(error):
        return ""  # the message names the host and what to check; no model was asked anything
    if isinstance(error, ProviderUnavailableError | ProviderConnectionError | BadResponseError):
        if len(tried) > 1:
            return (
                f"Every model failed ({', '.join(tried)}); try again later "
                "or add another fallback with --fallback MODEL."
            )
        return (
            "The model is temporarily unavailable; try again later or add a fallback with --fallback MODEL."
        )
    return ""


def _search_term(model: str) -> str:
    """The last part of a model id, without a ``:variant`` suffix: ``a/b-c:free`` -> ``b-c``."""
    return model.rsplit("/", 1)[-1].split(":", 1)[0] or model


def _moderation(error: PermissionDeniedError) -> str:
    flagged = error.metadata.get("flagged_input")
    reasons = error.metadata.get("reasons")
    if not flagged and not reasons:
        return ""
    quoted = f' Flagged input: "{one_line(str(flagged), 100)}".' if flagged else ""
    return f"Moderation flagged the input; rephrase it or use another model.{quoted}"


def _rate_limit(error: RateLimitError, now: datetime) -> str:
    headers = rate_limit_headers(error)
    facts: list[str] = []
    if "x-ratelimit-limit" in headers:
        facts.append(f"limit {headers['x-ratelimit-limit']} requests")
    if "x-ratelimit-remaining" in headers:
        facts.append(f"{headers['x-ratelimit-remaining']} remaining")
    source = error.metadata.get("limit_source")
    if isinstance(source, str) and source:
        facts.append(f"source {source}")
    parts = [f"Rate limit ({', '.join(facts)})" if facts else "Rate limited"]
    reset = rate_limit_reset(error)
    if error.retry_after is not None:
        parts.append(f"try again in {_duration(error.retry_after)}")
    elif reset is not None and reset > now.timestamp():
        when = datetime.fromtimestamp(reset, UTC).strftime("%Y-%m-%d %H:%M UTC")
        parts.append(f"it resets at {when} (in {_duration(reset - now.timestamp())})")
    elif is_daily_limit(error):
        parts.append("a daily limit: try again tomorrow")
    else:
        parts.append("try again in a minute")
    hint = error.metadata.get("remedy_hint")
    if isinstance(hint, str) and hint.strip():
        parts.append(one_line(hint, 160).rstrip("."))
    wording = f"{error.message} {error.model or ''} {source or ''}".lower()
    if "free" in wording:
        parts.append(FREE_MODEL_LIMITS)
    return "; ".join(parts) + "."


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"
