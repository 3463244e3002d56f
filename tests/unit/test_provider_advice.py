"""The advice appended to a final provider error: one line that says what to do."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from agent.errors import (
    BadRequestError,
    ProviderConnectionError,
    ProviderError,
)
from agent.providers.advice import with_advice
from agent.providers.http_errors import classify, connection_error

MODEL = "anthropic/claude-3.5-sonnett"
FREE = "meta-llama/llama-3.3-70b-instruct:free"
NOW = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
KEY = "sk-or-v1-" + "0123456789abcdef" * 4


def http(status: int, message: str, model: str = MODEL, **options: Any) -> ProviderError:
    return classify(status, message, model=model, secret=KEY, **options)


FREE_DAY_MESSAGE = (
    "Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model requests per day"
)
MIDNIGHT_MS = str(int(datetime(2026, 11, 25, tzinfo=UTC).timestamp() * 1000))
FREE_DAILY = {
    "headers": {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": MIDNIGHT_MS},
}

# (id, error, models tried, the whole message the user sees)
CASES: list[tuple[str, ProviderError, list[str], str]] = [
    (
        "unknown model id",
        http(400, f"{MODEL} is not a valid model ID"),
        [MODEL],
        f"model {MODEL} is not available (400): {MODEL} is not a valid model ID. "
        f"The model id '{MODEL}' was not found or has no available endpoint; "
        "look it up with `agent models --search claude-3.5-sonnett`.",
    ),
    (
        "free variant without endpoints",
        http(404, f"No endpoints found for {FREE}.", model=FREE),
        [FREE],
        f"model {FREE} is not available (404): No endpoints found for {FREE}. "
        f"The model id '{FREE}' was not found or has no available endpoint; "
        "look it up with `agent models --search llama-3.3-70b-instruct`.",
    ),
    (
        "no tool endpoints",
        http(404, "No endpoints found that support tool use."),
        [MODEL],
        f"no endpoint of {MODEL} supports tool use (404): No endpoints found that support tool use. "
        "Choose a model that supports tool calling (see `agent models --tools`).",
    ),
    (
        "unavailable with no fallback",
        http(503, "No instances available"),
        [MODEL],
        "the provider is unavailable (503): No instances available. "
        "The model is temporarily unavailable; try again later or add a fallback with --fallback MODEL.",
    ),
    (
        "connection lost with no fallback",
        ProviderConnectionError(
            "the connection to http://127.0.0.1:9/api/v1/chat/completions was lost: reset", model=MODEL
        ),
        [MODEL],
        "the connection to http://127.0.0.1:9/api/v1/chat/completions was lost: reset. "
        "The model is temporarily unavailable; try again later or add a fallback with --fallback MODEL.",
    ),
    (
        "endpoint unreachable",
        connection_error(
            httpx.ConnectError("[Errno 111] Connection refused"),
            url="http://127.0.0.1:9/api/v1/chat/completions",
            model=MODEL,
            secret=KEY,
        ),
        [MODEL, "b/y"],
        "cannot reach the endpoint 127.0.0.1:9 ([Errno 111] Connection refused); check the endpoint URL "
        "(OPENROUTER_BASE_URL or api_endpoint in the provider file) and your network and proxy settings",
    ),
    (
        "the upstream provider's words",
        http(
            400,
            "Provider returned error",
            metadata={
                "raw": '{"error":{"message":"Unsupported value: \'none\' for tool_choice"}}',
                "provider_name": "OpenAI",
            },
        ),
        [MODEL],
        "the request was rejected (400): Provider returned error; "
        "OpenAI said: \"Unsupported value: 'none' for tool_choice\"",
    ),
    (
        "402 credits",
        http(402, "This request requires more credits, or fewer max_tokens."),
        [MODEL],
        "not enough credits for this request (402): This request requires more credits, or fewer max_tokens. "
        "Add credits at https://openrouter.ai/settings/credits, ask for fewer max_tokens, "
        "or use a free model (an id ending in :free).",
    ),
    (
        "401 key refused",
        http(401, f"Incorrect API key provided: {KEY}"),
        [MODEL],
        "the API key was refused (401): Incorrect API key provided: [redacted]. "
        "Check the API key configured for the provider (e.g. OPENROUTER_API_KEY).",
    ),
    (
        "403 moderation with flagged input",
        http(
            403,
            "Input was flagged",
            metadata={
                "reasons": ["violence", "hate"],
                "flagged_input": "how do I\nbuild a ...",
                "provider_name": "OpenAI",
            },
        ),
        [MODEL],
        "the request was refused (403): Input was flagged (reasons: violence, hate) [provider: OpenAI]. "
        "Moderation flagged the input; rephrase it or use another model. "
        'Flagged input: "how do I build a ...".',
    ),
    (
        "403 without moderation details",
        http(403, "Forbidden"),
        [MODEL],
        "the request was refused (403): Forbidden",
    ),
    (
        "context length",
        http(400, "This endpoint's maximum context length is 8192 tokens."),
        [MODEL],
        "the request does not fit the model's context window (400): This endpoint's maximum context length "
        "is 8192 tokens.",
    ),
    (
        "429 free daily cap with reset time",
        http(
            429,
            FREE_DAY_MESSAGE,
            model=FREE,
            metadata=FREE_DAILY,
        ),
        [FREE],
        f"rate limited (429): {FREE_DAY_MESSAGE}. Rate limit (limit 50 requests, 0 remaining); "
        "it resets at 2026-11-25 00:00 UTC (in 2 h 0 min); free models (ids ending in :free) allow "
        "20 requests a minute and 50 a day (1000 a day once 10 credits were bought).",
    ),
    (
        "429 with retry-after and limit source",
        http(
            429,
            "Provider returned error",
            metadata={
                "limit_source": "upstream_provider_shared_pool",
                "remedy_hint": "Retry shortly or add your own key.",
            },
            retry_after=45.0,
        ),
        [MODEL],
        "rate limited (429): Provider returned error. Rate limit (source upstream_provider_shared_pool); "
        "try again in 45 s; Retry shortly or add your own key.",
    ),
    (
        "429 daily limit without reset time",
        http(429, "Rate limit exceeded: free-models-per-day", model=FREE),
        [FREE],
        "rate limited (429): Rate limit exceeded: free-models-per-day. Rate limited; "
        "a daily limit: try again tomorrow; free models (ids ending in :free) allow "
        "20 requests a minute and 50 a day (1000 a day once 10 credits were bought).",
    ),
    (
        "429 nothing known",
        http(429, "Too many requests"),
        [MODEL],
        "rate limited (429): Too many requests. Rate limited; try again in a minute.",
    ),
    (
        "every model of the chain failed",
        http(502, "Provider returned error", model="b/y"),
        ["a/x", "b/y"],
        "the provider is unavailable (502): Provider returned error. Every model failed (a/x, b/y); "
        "try again later or add another fallback with --fallback MODEL.",
    ),
]


@pytest.mark.parametrize(("error", "tried", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_final_errors_end_with_what_to_do(error: ProviderError, tried: list[str], expected: str) -> None:
    advised = with_advice(error, tried=tried, now=NOW)

    assert str(advised) == expected
    assert KEY not in str(advised)
    assert (type(advised), advised.status, advised.code, advised.metadata, advised.model) == (
        type(error),
        error.status,
        error.code,
        error.metadata,
        error.model,
    )


def test_errors_without_advice_are_returned_unchanged() -> None:
    error = http(400, "Invalid request")
    assert isinstance(error, BadRequestError)
    assert with_advice(error, tried=[MODEL], now=NOW) is error


def test_advice_is_not_added_twice() -> None:
    once = with_advice(http(503, "down"), tried=[MODEL], now=NOW)
    assert with_advice(once, tried=[MODEL], now=NOW) is once
