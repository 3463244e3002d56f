"""What OpenRouter reports about one generation (``GET {base_url}/generation?id=gen-…``).

Every response carries a generation id (``X-Generation-Id``, and the body's ``id``); OpenRouter
answers for it with the exact cost, the provider that served it, latency and native token
counts. A generation only becomes known there a moment after it ends, so a 404 right after a
run is retried a few times with a short backoff before the id is reported as not looked up.
The answer is read leniently: a field that does not fit is unknown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import anyio
import httpx

from agent.errors import AgentError, BadResponseError, ProviderError
from agent.lenient import Lenient, LenientBool, LenientFloat, LenientInt, LenientStr
from agent.providers.http_get import get_json

__all__ = [
    "LOOKUP_ATTEMPTS",
    "LOOKUP_BACKOFF_SECONDS",
    "GenerationLookup",
    "GenerationStats",
    "fetch_generation",
    "lookup_generations",
]

LOOKUP_ATTEMPTS = 4
"""How many times one id is asked for while OpenRouter does not know it yet (404)."""
LOOKUP_BACKOFF_SECONDS = 0.5
"""The wait before the second attempt; each further one waits twice as long."""
LOOKUP_SECONDS = 10.0
"""The longest one id's lookup (all its attempts) may take."""

_MAX_BYTES = 1 << 20


class GenerationStats(Lenient):
    """One generation as OpenRouter accounts for it; ``None`` where it does not say.

    Attributes:
        id: the generation id.
        model: the model that answered.
        provider_name: the upstream provider that served it.
        total_cost: what it cost, in USD (exact, as billed).
        cache_discount: what prompt caching took off the cost, in USD.
        latency: milliseconds until the first token.
        generation_time: milliseconds the generation took.
        tokens_prompt: prompt tokens (normalized count); ``tokens_completion`` likewise.
        native_tokens_prompt: prompt tokens as the provider counted them; ``_completion``,
            ``_reasoning`` and ``_cached`` likewise.
        finish_reason: why it ended (normalized); ``native_finish_reason`` as the provider said.
        streamed: whether it was streamed.
    """

    id: LenientStr = None
    model: LenientStr = None
    provider_name: LenientStr = None
    total_cost: LenientFloat = None
    cache_discount: LenientFloat = None
    latency: LenientFloat = None
    generation_time: LenientFloat = None
    tokens_prompt: LenientInt = None
    tokens_completion: LenientInt = None
    native_tokens_prompt: LenientInt = None
    native_tokens_completion: LenientInt = None
    native_tokens_reasoning: LenientInt = None
    native_tokens_cached: LenientInt = None
    finish_reason: LenientStr = None
    native_finish_reason: LenientStr = None
    streamed: LenientBool = None


@dataclass(frozen=True, slots=True)
class GenerationLookup:
    """The answer for one generation id: its stats, or why they could not be looked up."""

    id: str
    stats: GenerationStats | None = None
    error: str | None = None


async def fetch_generation(
    client: httpx.AsyncClient, base_url: str, api_key: str | None, generation_id: str
) -> GenerationStats:
    """``GET {base_url}/generation?id=...`` once.

    Raises:
        agent.errors.ProviderError: the request failed (a 404 has ``status`` 404: not known, or
            not yet), or the answer is not a generation.
    """
    url = str(httpx.URL(base_url.strip().rstrip("/") + "/generation", params={"id": generation_id}))
    body = await get_json(
        client,
        url,
        api_key=api_key,
        what="the generation",
        limit=_MAX_BYTES,
        not_found=f"generation {generation_id} is not known (yet)",
    )
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise BadResponseError(f"the generation at {url} has no 'data' object")
    return GenerationStats.model_validate(data)


async def lookup_generations(
    client: httpx.AsyncClient,
    base_url: str,
    api_key: str | None,
    ids: Sequence[str],
    *,
    attempts: int = LOOKUP_ATTEMPTS,
    backoff: float = LOOKUP_BACKOFF_SECONDS,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> list[GenerationLookup]:
    """Each id's stats, in order; an id still unknown after ``attempts`` (404s) says so.

    Never raises for a failed lookup: the failure is the entry's ``error``.
    """
    found: list[GenerationLookup] = []
    for generation_id in ids:
        found.append(await _lookup(client, base_url, api_key, generation_id, attempts, backoff, sleep))
    return found


async def _lookup(
    client: httpx.AsyncClient,
    base_url: str,
    api_key: str | None,
    generation_id: str,
    attempts: int,
    backoff: float,
    sleep: Callable[[float], Awaitable[None]],
) -> GenerationLookup:
    error = "the lookup timed out"
    with anyio.move_on_after(LOOKUP_SECONDS):
        for attempt in range(1, max(1, attempts) + 1):
            try:
                stats = await fetch_generation(client, base_url, api_key, generation_id)
            except ProviderError as exc:
                error = str(exc)
                if exc.status != 404 or attempt >= attempts:
                    break
            except AgentError as exc:
                error = str(exc)
                break
            else:
                return GenerationLookup(generation_id, stats=stats)
            await sleep(backoff * 2 ** (attempt - 1))
    return GenerationLookup(generation_id, error=error)
