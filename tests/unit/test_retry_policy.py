"""The retry decision: which failures are sent again, and after how long."""

from __future__ import annotations

from typing import Any

import pytest

from agent.errors import BadResponseError, ProviderConnectionError, ProviderError
from agent.providers.http_errors import classify, error_from_body
from agent.providers.retry_policy import (
    BACKOFF_CAP_SECONDS,
    is_daily_limit,
    rate_limit_reset,
    retry_delay,
)

MODEL = "acme/model-1"
NOW = 1_750_000_000.0
NO_TOOLS = "No endpoints found that support tool use. To learn more about provider routing, visit: x"


def http(status: int, message: str = "Provider returned error", **options: Any) -> ProviderError:
    return classify(status, message, model=MODEL, secret=None, **options)


def limited(message: str = "Rate limit exceeded", **options: Any) -> ProviderError:
    return http(429, message, **options)


def reset_in(seconds: float) -> dict[str, Any]:
    """Rate-limit headers as OpenRouter echoes them in ``metadata.headers`` (reset in epoch ms)."""
    reset = str(int((NOW + seconds) * 1000))
    return {"headers": {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}}


MID_STREAM_502 = error_from_body(
    {"code": 502, "message": "Provider disconnected", "metadata": {"error_type": "provider_unavailable"}},
    status=None,
    model=MODEL,
    secret=None,
)
MID_STREAM_429 = error_from_body(
    {"code": 429, "message": "Rate limit exceeded", "metadata": {"error_type": "rate_limit_exceeded"}},
    status=None,
    model=MODEL,
    secret=None,
)

# (id, error, failed attempt, max_retries, expected delay); jitter is fixed at rng() = 0.5, so a
# backoff of b waits 0.75 * b: 0.375 s after the first attempt, 0.75 s after the second, ...
CASES: list[tuple[str, ProviderError, int, int, float | None]] = [
    ("408 timeout", http(408), 1, 2, 0.375),
    ("429 without hints backs off", limited(), 1, 2, 0.375),
    ("500", http(500), 1, 2, 0.375),
    ("502", http(502), 1, 2, 0.375),
    ("503", http(503), 1, 2, 0.375),
    ("503 second failure waits twice as long", http(503), 2, 2, 0.75),
    ("503 third failure with three retries", http(503), 3, 3, 1.5),
    ("503 after max_retries gives up", http(503), 3, 2, None),
    ("no retries configured", http(503), 1, 0, None),
    ("backoff is capped", http(503), 9, 10, BACKOFF_CAP_SECONDS * 0.75),
    ("524", http(524), 1, 2, 0.375),
    ("529", http(529), 1, 2, 0.375),
    ("connection error", ProviderConnectionError("could not connect", model=MODEL), 1, 2, 0.375),
    ("200 without choices", BadResponseError("the response had no choices", model=MODEL), 1, 2, 0.375),
    ("mid-stream error chunk", MID_STREAM_502, 1, 2, 0.375),
    ("mid-stream rate limit chunk", MID_STREAM_429, 1, 2, 0.375),
    ("429 Retry-After is honoured exactly", limited(retry_after=7.0), 1, 2, 7.0),
    ("429 Retry-After 0 retries at once", limited(retry_after=0.0), 1, 2, 0.0),
    ("503 Retry-After is honoured", http(503, retry_after=3.0), 1, 2, 3.0),
    ("Retry-After of minutes is not waited out", limited(retry_after=600.0), 1, 2, None),
    ("Retry-After does not extend max_retries", limited(retry_after=1.0), 3, 2, None),
    ("429 waits for X-RateLimit-Reset", limited(metadata=reset_in(30)), 1, 2, 30.0),
    ("X-RateLimit-Reset a day away gives up", limited(metadata=reset_in(86_400)), 1, 2, None),
    ("X-RateLimit-Reset in the past backs off", limited(metadata=reset_in(-5)), 1, 2, 0.375),
    (
        "free-models-per-day cap gives up",
        limited("Rate limit exceeded: free-models-per-day", retry_after=5.0),
        1,
        2,
        None,
    ),
    (
        "daily limit_source gives up",
        limited(metadata={"limit_source": "openrouter_free_tier_daily"}),
        1,
        2,
        None,
    ),
    ("400", http(400, "Invalid request"), 1, 2, None),
    ("401", http(401, "User not found."), 1, 2, None),
    ("402", http(402, "Insufficient credits"), 1, 2, None),
    ("403 moderation", http(403, "Input was flagged", metadata={"reasons": ["violence"]}), 1, 2, None),
    ("404 no tool endpoints", http(404, NO_TOOLS), 1, 2, None),
    ("404 no endpoints for the model", http(404, f"No endpoints found for {MODEL}."), 1, 2, None),
    ("400 unknown model id", http(400, f"{MODEL} is not a valid model ID"), 1, 2, None),
    ("context length", http(400, "This endpoint's maximum context length is 8192 tokens"), 1, 2, None),
    ("413", http(413, "Payload too large"), 1, 2, None),
]


@pytest.mark.parametrize(
    ("error", "attempt", "max_retries", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_retry_delay_decides_by_error_attempt_and_server_hints(
    error: ProviderError, attempt: int, max_retries: int, expected: float | None
) -> None:
    delay = retry_delay(error, attempt, max_retries=max_retries, rng=lambda: 0.5, now=lambda: NOW)
    assert delay == expected


@pytest.mark.parametrize(("rng", "expected"), [(0.0, 0.25), (0.5, 0.375), (0.999, 0.49975)])
def test_jitter_spreads_the_first_backoff_between_half_and_all_of_it(rng: float, expected: float) -> None:
    delay = retry_delay(http(503), 1, max_retries=2, rng=lambda: rng, now=lambda: NOW)
    assert delay == pytest.approx(expected)


DAILY_CASES = [
    ("free-models-per-day", limited("Rate limit exceeded: free-models-per-day"), True),
    ("per day in words", limited("You exceeded 1000 requests per day"), True),
    ("daily limit source", limited(metadata={"limit_source": "openrouter_free_tier_daily"}), True),
    ("per minute", limited("Rate limit exceeded: free-models-per-min"), False),
    ("shared capacity", limited(metadata={"limit_source": "openrouter_shared_capacity"}), False),
]


@pytest.mark.parametrize(("error", "expected"), [c[1:] for c in DAILY_CASES], ids=[c[0] for c in DAILY_CASES])
def test_daily_limits_are_recognised_by_message_or_limit_source(error: ProviderError, expected: bool) -> None:
    assert is_daily_limit(error) is expected


RESET_CASES = [
    ("epoch milliseconds", {"headers": {"X-RateLimit-Reset": "1743638400000"}}, 1743638400.0),
    ("epoch seconds", {"headers": {"x-ratelimit-reset": "1743638400"}}, 1743638400.0),
    ("not a number", {"headers": {"X-RateLimit-Reset": "soon"}}, None),
    ("no headers", {}, None),
    ("headers not an object", {"headers": "X-RateLimit-Reset: 1"}, None),
]


@pytest.mark.parametrize(
    ("metadata", "expected"), [c[1:] for c in RESET_CASES], ids=[c[0] for c in RESET_CASES]
)
def test_rate_limit_reset_reads_milliseconds_or_seconds(
    metadata: dict[str, Any], expected: float | None
) -> None:
    assert rate_limit_reset(limited(metadata=metadata)) == expected


def test_an_endpoint_whose_name_does_not_resolve_is_not_retried_but_a_refused_one_is() -> None:
    import socket

    import httpx

    from agent.providers.http_errors import connection_error

    def failure(cause: BaseException) -> ProviderError:
        exc = httpx.ConnectError("connect failed")
        exc.__cause__ = cause
        return connection_error(exc, url="https://api.example.invalid/v1", model="m", secret=None)

    unresolved = failure(socket.gaierror(-2, "Name or service not known"))
    refused = failure(ConnectionRefusedError(111, "Connection refused"))
    assert retry_delay(unresolved, 1, max_retries=2) is None
    assert retry_delay(refused, 1, max_retries=2, rng=lambda: 0.5) is not None
