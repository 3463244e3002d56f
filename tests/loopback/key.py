"""The ``GET /key`` side of the loopback server: the calling key's credits and limits."""

from __future__ import annotations

from typing import Any

__all__ = ["key_info"]


def key_info(
    *,
    label: str = "sk-or-v1-abc...789",
    usage: float = 1.25,
    limit: float | None = None,
    limit_remaining: float | None = None,
    limit_reset: str | None = None,
    is_free_tier: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """The ``data`` object of ``GET /api/v1/key`` as OpenRouter sends it; ``extra`` adds or overrides.

    ``limit`` None is a key without a credit limit (``limit_remaining`` None: unlimited).
    """
    return {
        "label": label,
        "limit": limit,
        "limit_remaining": limit_remaining,
        "limit_reset": limit_reset,
        "usage": usage,
        "usage_daily": usage,
        "usage_weekly": usage,
        "usage_monthly": usage,
        "byok_usage": 0,
        "byok_usage_daily": 0,
        "byok_usage_weekly": 0,
        "byok_usage_monthly": 0,
        "is_free_tier": is_free_tier,
        "is_management_key": False,
        "is_provisioning_key": False,
        "include_byok_in_limit": False,
        "creator_user_id": "user_loopback",
        "expires_at": None,
        "rate_limit": {
            "requests": 1000,
            "interval": "1h",
            "note": "This field is deprecated and safe to ignore.",
        },
        **extra,
    }
