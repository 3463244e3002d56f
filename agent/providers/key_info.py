"""What OpenRouter says about the calling API key (``GET {base_url}/key``): credits and limits.

The answer is read leniently (a field that does not fit is unknown) and never holds the key
itself: OpenRouter's ``label`` is a masked form of it, and is redacted anyway should it ever
carry the key. Failures are the provider errors of every other request (a refused key is an
:class:`~agent.errors.AuthenticationError`); an endpoint without ``/key`` (not OpenRouter) says so.
"""

from __future__ import annotations

from typing import Annotated

import httpx
from pydantic import WrapValidator

from agent.errors import BadResponseError
from agent.lenient import Lenient, LenientBool, LenientFloat, LenientInt, LenientStr, or_none
from agent.providers.http_get import get_json
from agent.redaction import redact

__all__ = ["KeyInfo", "KeyRateLimit", "fetch_key_info"]

_MAX_BYTES = 1 << 20


class KeyRateLimit(Lenient):
    """A request rate limit: ``requests`` per ``interval`` (e.g. ``10s``); OpenRouter has deprecated it."""

    requests: LenientInt = None
    interval: LenientStr = None


class KeyInfo(Lenient):
    """Credits and limits of an API key, in USD; ``None`` where OpenRouter does not say.

    Attributes:
        label: OpenRouter's name for the key (a masked form of it, e.g. ``sk-or-v1-abc...789``).
        usage: credits used by the key, all time; ``usage_daily`` / ``_weekly`` / ``_monthly``
            for the current UTC day, week and month.
        limit: the key's credit limit; None: no limit.
        limit_remaining: credits left under the limit; None: unlimited.
        limit_reset: how often the limit resets (``daily``, ``weekly``, ``monthly``), if it does.
        is_free_tier: the account has never bought credits (free models then allow fewer
            requests a day).
        expires_at: when the key expires (ISO 8601), if it does.
        rate_limit: the request rate limit OpenRouter reports (deprecated by OpenRouter).
    """

    label: LenientStr = None
    usage: LenientFloat = None
    usage_daily: LenientFloat = None
    usage_weekly: LenientFloat = None
    usage_monthly: LenientFloat = None
    limit: LenientFloat = None
    limit_remaining: LenientFloat = None
    limit_reset: LenientStr = None
    is_free_tier: LenientBool = None
    expires_at: LenientStr = None
    rate_limit: Annotated[KeyRateLimit | None, WrapValidator(or_none)] = None


async def fetch_key_info(client: httpx.AsyncClient, base_url: str, api_key: str) -> KeyInfo:
    """``GET {base_url}/key`` with ``api_key``: what the endpoint says about the key.

    Raises:
        agent.errors.ProviderError: the request failed (401: the key was refused, exit 4), the
            endpoint has no ``/key``, or the answer is not a key description.
    """
    url = base_url.strip().rstrip("/") + "/key"
    body = await get_json(
        client,
        url,
        api_key=api_key,
        what="the key information",
        limit=_MAX_BYTES,
        not_found=f"the endpoint has no key information ({url} answered 404; OpenRouter has it)",
    )
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise BadResponseError(f"the key information at {url} has no 'data' object")
    info = KeyInfo.model_validate(data)
    if info.label is not None:
        info = info.model_copy(update={"label": redact(info.label, api_key)})
    return info
