"""When to send a failed chat request again, and after how long: one pure decision function.

Transient failures (429, 408, 5xx, 524, 529, dropped or timed-out connections, a 200 with no
completion, an error chunk mid-stream) are retried with exponential backoff and jitter, or after
the wait the server asked for. Failures that the same request would meet again (400, 401, 402,
403, 404, an unknown model, a too-long conversation) are not, and neither are waits too long to
sit through: a daily free-model cap or a ``Retry-After`` of many minutes ends the attempt with
the clear error instead. When OpenRouter says in ``error.availability`` whether the same request
may succeed (``retryable``) and after how long (``retry_after``), that decides, whatever the status.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from agent.errors import ProviderError, RateLimitError

__all__ = [
    "BACKOFF_BASE_SECONDS",
    "BACKOFF_CAP_SECONDS",
    "BACKOFF_FACTOR",
    "MAX_WAIT_SECONDS",
    "is_daily_limit",
    "rate_limit_headers",
    "rate_limit_reset",
    "retry_delay",
]

BACKOFF_BASE_SECONDS = 0.5
"""The backoff before the first retry (before jitter)."""
BACKOFF_FACTOR = 2.0
"""Each further retry waits this many times longer."""
BACKOFF_CAP_SECONDS = 30.0
"""Backoff never grows past this."""
MAX_WAIT_SECONDS = 120.0
"""A server-requested wait longer than this is not sat through: the error is raised instead."""

_DAILY = re.compile(r"per[- _]?day|daily")


def retry_delay(
    error: ProviderError,
    attempt: int,
    *,
    max_retries: int,
    rng: Callable[[], float] = random.random,
    now: Callable[[], float] = time.time,
    max_wait: float = MAX_WAIT_SECONDS,
) -> float | None:
    """Seconds to wait before sending the request again, or ``None`` to give up with ``error``.

    Args:
        error: why attempt number ``attempt`` failed.
        attempt: the 1-based number of the attempt that failed (1 = the first request).
        max_retries: how many times a request may be sent again after the first attempt.
        rng: a source of floats in [0, 1) for jitter (inject a constant in tests).
        now: the current Unix time in seconds, for ``X-RateLimit-Reset`` times.
        max_wait: the longest server-requested wait that is honoured rather than given up on.
    """
    if attempt > max_retries or not error.retryable or error.metadata.get("permanent") is True:
        return None
    if isinstance(error, RateLimitError) and is_daily_limit(error):
        return None
    if error.retry_after is not None:
        return error.retry_after if error.retry_after <= max_wait else None
    if isinstance(error, RateLimitError):
        reset = rate_limit_reset(error)
        wait = None if reset is None else reset - now()
        if wait is not None and wait > 0:
            return wait if wait <= max_wait else None
    backoff = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * BACKOFF_FACTOR ** (attempt - 1))
    return backoff * (0.5 + 0.5 * rng())


def is_daily_limit(error: ProviderError) -> bool:
    """True when a 429 is a per-day cap (e.g. ``free-models-per-day``): no point retrying today."""
    source = error.metadata.get("limit_source")
    wording = f"{error.message} {source if isinstance(source, str) else ''}".lower()
    return _DAILY.search(wording) is not None


def rate_limit_reset(error: ProviderError) -> float | None:
    """The Unix time (seconds) the limit resets, from ``X-RateLimit-Reset`` if the error carries it.

    OpenRouter sends epoch milliseconds; a value small enough to be seconds is taken as seconds.
    """
    value = rate_limit_headers(error).get("x-ratelimit-reset")
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number / 1000.0 if number > 1e11 else number


def rate_limit_headers(error: ProviderError) -> dict[str, str]:
    """The ``X-RateLimit-*`` values in ``metadata.headers``, with lower-case names."""
    headers: Any = error.metadata.get("headers")
    if not isinstance(headers, Mapping):
        return {}
    return {
        str(name).lower(): str(value)
        for name, value in headers.items()
        if str(name).lower().startswith("x-ratelimit-") and value is not None
    }
