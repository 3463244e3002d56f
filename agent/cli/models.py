"""``agent models``: the endpoint's model catalog, filtered and sorted."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast, get_args

from agent.cli.common import open_endpoint, run_command, warn
from agent.cli.exit_codes import EXIT_OK
from agent.cli.options import split_values
from agent.cli.tables import text_table
from agent.cli.terminal import json_safe
from agent.errors import ConfigError

if TYPE_CHECKING:
    from agent.models.catalog import CatalogEntry

__all__ = ["ModelsArgs", "execute"]

_MILLION = Decimal(1_000_000)


@dataclass
class ModelsArgs:
    """Everything ``agent models`` was asked to do."""

    provider: str | None = None
    config: Path | None = None
    tools: bool = False
    free: bool = False
    search: str | None = None
    sort: str = "id"
    refresh: bool = False
    embeddings: bool = False
    json_output: bool = False


def per_million(price: Decimal | None) -> Decimal | None:
    """USD per million tokens from USD per token."""
    return None if price is None else price * _MILLION


def _price(price: Decimal | None) -> str:
    value = per_million(price)
    if value is None:
        return "?"
    if value == 0:
        return "0"
    return f"{value:.2f}" if value >= Decimal("0.1") else f"{value:.3g}"


def _context(tokens: int | None) -> str:
    if not tokens:
        return "?"
    if tokens >= 1_000_000:
        return f"{tokens / 1_000_000:.3g}M"
    return f"{tokens / 1000:.0f}k" if tokens >= 1000 else str(tokens)


def _context_length(entry: CatalogEntry) -> int | None:
    top = entry.top_provider
    return entry.context_length or (top.context_length if top is not None else None)


def _tools(entry: CatalogEntry) -> bool | None:
    return None if entry.supported_parameters is None else entry.supports_tools


def model_json(entry: CatalogEntry) -> dict[str, Any]:
    """One catalog entry as ``agent models --json`` prints it (prices in USD per million tokens)."""
    pricing = entry.pricing
    prompt = per_million(pricing.prompt if pricing else None)
    completion = per_million(pricing.completion if pricing else None)
    return {
        "id": entry.id,
        "name": entry.name,
        "tools": _tools(entry),
        "context_length": _context_length(entry),
        "prompt_per_million": None if prompt is None else float(prompt),
        "completion_per_million": None if completion is None else float(completion),
        "free": entry.is_free,
        "created": entry.created,
    }


def model_rows(entries: list[CatalogEntry]) -> list[str]:
    """The ``agent models`` table: id, tool support, context, prices per million tokens, free."""
    rows = []
    for entry in entries:
        pricing = entry.pricing
        tools = _tools(entry)
        rows.append(
            [
                entry.id,
                "?" if tools is None else "yes" if tools else "no",
                _context(_context_length(entry)),
                _price(pricing.prompt if pricing else None),
                _price(pricing.completion if pricing else None),
                "free" if entry.is_free else "",
            ]
        )
    headers = ["MODEL", "TOOLS", "CONTEXT", "$/M IN", "$/M OUT", ""]
    return text_table(headers, rows, right={2, 3, 4})


def embedding_json(entry: CatalogEntry) -> dict[str, Any]:
    """One embedding model as ``agent models --embeddings --json`` prints it (USD per million tokens)."""
    prompt = per_million(entry.pricing.prompt if entry.pricing else None)
    return {
        "id": entry.id,
        "name": entry.name,
        "context_length": _context_length(entry),
        "prompt_per_million": None if prompt is None else float(prompt),
        "free": entry.is_free,
        "created": entry.created,
    }


def embedding_rows(entries: list[CatalogEntry]) -> list[str]:
    """The ``agent models --embeddings`` table: id, context, price per million input tokens."""
    rows = [
        [
            entry.id,
            _context(_context_length(entry)),
            _price(entry.pricing.prompt if entry.pricing else None),
            "free" if entry.is_free else "",
        ]
        for entry in entries
    ]
    return text_table(["MODEL", "CONTEXT", "$/M IN", ""], rows, right={1, 2})


def execute(values: dict[str, Any]) -> int:
    """List the catalog as the CLI does and return the exit code."""
    agent_values, output, own = split_values(values)
    args = ModelsArgs(**agent_values, **output, **own)
    return run_command(lambda: _main(args))


async def _main(args: ModelsArgs) -> int:
    from agent.models.catalog import SortKey, select

    if args.sort not in get_args(SortKey):
        raise ConfigError(
            f"expected one of {', '.join(get_args(SortKey))}, got {args.sort!r}", source="--sort"
        )
    if args.embeddings and args.tools:
        raise ConfigError(
            "embedding models take no tools; give one of --tools and --embeddings", source="--tools"
        )
    endpoint = open_endpoint(args.provider, args.config, interactive=not args.json_output)
    from agent.core.endpoint import catalog_of

    catalog = await catalog_of(
        endpoint, refresh=args.refresh, kind="embeddings" if args.embeddings else "chat"
    )
    if catalog.stale:
        warn(f"using the cached model catalog of {catalog.fetched_at:%Y-%m-%d}: {catalog.stale_reason}")
    entries = select(
        catalog.entries.values(),
        tools=args.tools,
        free=args.free,
        search=args.search,
        sort=cast(SortKey, args.sort),
    )
    if args.embeddings:
        if args.json_output:
            listed = [embedding_json(e) for e in entries]
            sys.stdout.write(json_safe(json.dumps(listed, ensure_ascii=False)) + "\n")
        elif entries:
            sys.stdout.write("\n".join(embedding_rows(entries)) + "\n")
        warn(f"{len(entries)} of {len(catalog.entries)} embedding models", level="info")
        return EXIT_OK
    if args.json_output:
        sys.stdout.write(json_safe(json.dumps([model_json(e) for e in entries], ensure_ascii=False)) + "\n")
    elif entries:
        sys.stdout.write("\n".join(model_rows(entries)) + "\n")
    with_tools = sum(e.supports_tools for e in entries)
    warn(f"{len(entries)} of {len(catalog.entries)} models ({with_tools} with tools)", level="info")
    return EXIT_OK
