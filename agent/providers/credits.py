"""What ``GET /key`` says about the key, added to a run's final 402 or 429 error.

"Not enough credits" and "rate limited" say what failed, not where the key stands: its credit
limit, what is left of it, whether the account is on the free tier (50 free-model requests a
day until 10 credits are bought). After a run fails with one of those, the key is looked up once,
with a short timeout, and the figures go into the error's one line, before its advice. The
lookup never fails the error path: if ``/key`` cannot be read, the original error stands.
"""

from __future__ import annotations

import anyio
import httpx

from agent.errors import AgentError, InsufficientCreditsError, ProviderError, RateLimitError
from agent.providers.advice import FREE_MODEL_LIMITS
from agent.providers.key_info import KeyInfo, fetch_key_info

__all__ = ["KEY_LOOKUP_SECONDS", "key_figures", "with_key_figures"]

KEY_LOOKUP_SECONDS = 3.0
"""The longest the ``GET /key`` lookup may take before the error is reported without it."""

_ADVICE_STARTS = (". Add credits at ", ". Rate limit")
"""Where the advice :func:`~agent.providers.advice.with_advice` appended begins."""


async def with_key_figures(
    error: ProviderError,
    client: httpx.AsyncClient,
    base_url: str,
    api_key: str,
    *,
    within: float = KEY_LOOKUP_SECONDS,
) -> ProviderError:
    """``error`` saying what ``GET {base_url}/key`` reports, for a 402 or 429; else ``error`` itself.

    Returns ``error`` unchanged when it is neither, or the lookup fails or takes over ``within``
    seconds, or the key information says nothing useful for it.
    """
    if not isinstance(error, InsufficientCreditsError | RateLimitError):
        return error
    info: KeyInfo | None = None
    with anyio.move_on_after(within):
        try:
            info = await fetch_key_info(client, base_url, api_key)
        except (AgentError, httpx.HTTPError, ValueError):
            return error
    if info is None:
        return error
    figures = key_figures(info, error)
    if not figures or figures in error.message:
        return error
    message = error.message
    if isinstance(error, RateLimitError) and info.is_free_tier is not None:
        message = message.replace(f"; {FREE_MODEL_LIMITS}", "")  # the key's own tier says it exactly
    return error.reworded(_inserted(message, figures))


def key_figures(info: KeyInfo, error: ProviderError) -> str:
    """The sentence about the key for ``error`` (``""`` when the key information has nothing for it).

    For a 402 it gives the credit limit and what is left, or says there is none; for a 429 the
    free tier (and the limit, when the key has one).
    """
    parts: list[str] = []
    if isinstance(error, RateLimitError):
        wording = f"{error.message} {error.model or ''}".lower()
        if info.is_free_tier is True:
            parts.append(
                "the key is on the free tier (is_free_tier): free models allow 20 requests a minute "
                "and 50 a day until you buy 10 credits (then 1000 a day)"
            )
        elif info.is_free_tier is False and "free" in wording:
            parts.append(
                "the key is not on the free tier (10 credits bought): "
                "free models allow 20 requests a minute and 1000 a day"
            )
    limit = _limit(info)
    if limit:
        parts.append(limit if not parts else f"it {limit.removeprefix('the key ')}")
    elif isinstance(error, InsufficientCreditsError) and info.limit is None:
        usage = f" (usage {_usd(info.usage)})" if info.usage is not None else ""
        parts.append(f"the key has no credit limit{usage}, so the account's credits ran out")
    if not parts:
        return ""
    text = "; ".join(parts)
    return f"{text[0].upper()}{text[1:]}."


def _limit(info: KeyInfo) -> str:
    """``the key has $0.03 of its $5.00 limit left (usage $4.97, resets monthly)``, or ``""``."""
    if info.limit is None:
        return ""
    facts: list[str] = []
    if info.usage is not None:
        facts.append(f"usage {_usd(info.usage)}")
    reset = _word(info.limit_reset)
    if reset:
        facts.append(f"the limit resets {reset}")
    detail = f" ({', '.join(facts)})" if facts else ""
    if info.limit_remaining is None:
        return f"the key has a {_usd(info.limit)} credit limit{detail}"
    return f"the key has {_usd(info.limit_remaining)} of its {_usd(info.limit)} limit left{detail}"


def _inserted(message: str, figures: str) -> str:
    """``message`` with ``figures`` before its advice (or at its end when it has none)."""
    for start in _ADVICE_STARTS:
        head, found, advice = message.partition(start)
        if found:
            return f"{head}. {figures} {found.removeprefix('. ')}{advice}"
    return f"{message.rstrip('. ')}. {figures}"


def _usd(amount: float | None) -> str:
    """``$4.97``; amounts under a cent keep their significant digits (``$0.0012``)."""
    if amount is None:
        return "$?"
    if amount != 0 and abs(amount) < 0.01:
        return f"${amount:.2g}"
    return f"${amount:,.2f}"


def _word(value: str | None) -> str:
    """A short printable word from the key information (``daily``), or ``""``."""
    if not value:
        return ""
    text = "".join(char for char in value.strip()[:20] if char.isprintable())
    return text if text.replace("_", "").replace("-", "").isalnum() else ""
