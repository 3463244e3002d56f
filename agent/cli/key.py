"""``agent key``: the API key's credits used, its limit and what remains, its rate limit (``GET /key``)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.cli.common import open_endpoint, run_command
from agent.cli.exit_codes import EXIT_OK
from agent.cli.options import split_values
from agent.cli.terminal import json_safe

if TYPE_CHECKING:
    from agent.providers.key_info import KeyInfo

__all__ = ["KeyArgs", "execute", "key_rows"]


@dataclass
class KeyArgs:
    """Everything ``agent key`` was asked to do."""

    provider: str | None = None
    config: Path | None = None
    json_output: bool = False


def _usd(amount: float | None) -> str:
    if amount is None:
        return "?"
    return f"${amount:,.2f}" if amount == 0 or abs(amount) >= 0.01 else f"${amount:.4f}"


def key_rows(info: KeyInfo) -> list[tuple[str, str]]:
    """The ``agent key`` table: what the key has used, may use, and how fast."""
    periods = [
        (name, value)
        for name, value in (
            ("today", info.usage_daily),
            ("this week", info.usage_weekly),
            ("this month", info.usage_monthly),
        )
        if value is not None
    ]
    used = _usd(info.usage)
    if periods:
        used += " (" + ", ".join(f"{name} {_usd(value)}" for name, value in periods) + ")"
    if info.limit is None:
        limit = "none"
    else:
        limit = _usd(info.limit) + (f", resets {info.limit_reset}" if info.limit_reset else "")
    remaining = "unlimited" if info.limit_remaining is None else _usd(info.limit_remaining)
    rows = [
        ("key", info.label or "?"),
        ("credits used", used),
        ("limit", limit),
        ("remaining", remaining),
    ]
    if info.is_free_tier is not None:
        rows.append(("free tier", "yes" if info.is_free_tier else "no"))
    rate = info.rate_limit
    if rate is not None and rate.requests is not None:
        per = f" per {rate.interval}" if rate.interval else ""
        rows.append(("rate limit", f"{rate.requests:,} requests{per} (deprecated by OpenRouter)"))
    rows.append(("free models", _free_models(info.is_free_tier)))
    if info.expires_at:
        rows.append(("expires", info.expires_at))
    return rows


def _free_models(free_tier: bool | None) -> str:
    """OpenRouter's documented request limits of ``:free`` models."""
    if free_tier:
        return "20 requests a minute, 50 a day (1000 a day once 10 credits are bought)"
    return "20 requests a minute; 50 a day, or 1000 with at least 10 credits bought"


def execute(values: dict[str, Any]) -> int:
    """Show the key's credits and limits as the CLI does and return the exit code."""
    agent_values, output, _ = split_values(values)
    args = KeyArgs(**agent_values, **output)
    return run_command(lambda: _main(args))


async def _main(args: KeyArgs) -> int:
    from agent.core.endpoint import key_info_of

    endpoint = open_endpoint(args.provider, args.config, interactive=not args.json_output)
    info = await key_info_of(endpoint)
    if args.json_output:
        sys.stdout.write(json_safe(json.dumps(info.model_dump(), ensure_ascii=False)) + "\n")
    else:
        rows = key_rows(info)
        width = max(len(name) for name, _ in rows)
        sys.stdout.write("".join(f"{name.ljust(width)}  {value}\n" for name, value in rows))
    sys.stdout.flush()
    return EXIT_OK
