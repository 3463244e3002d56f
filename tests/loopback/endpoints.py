"""The ``GET /models/{author}/{slug}/endpoints`` side of the loopback server.

A catalog entry built with ``catalog_model(id, endpoints=[endpoint("DeepInfra", ...), ...])`` lists
its provider endpoints (OpenRouter's ``PublicEndpoint`` shape, OAS ``ListEndpointsResponse``); an
entry without ``endpoints`` has none; an id the catalog does not know is a 404, as OpenRouter
answers it (OAS ``NotFoundResponse`` example).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from tests.loopback import wire

__all__ = ["endpoint", "endpoints_answer"]

_TOOLS = ("tools", "tool_choice", "parallel_tool_calls", "max_tokens", "temperature")


def endpoint(
    provider_name: str,
    *,
    tag: str | None = None,
    supported_parameters: Sequence[str] = _TOOLS,
    quantization: str | None = "fp8",
    context_length: int = 128_000,
    prompt_price: str = "0.000001",
    completion_price: str = "0.000002",
    **extra: Any,
) -> dict[str, Any]:
    """A ``PublicEndpoint``; ``tag`` defaults to the provider's slug, ``extra`` adds or overrides fields."""
    return {
        "name": provider_name,
        "model_id": "",  # filled in from the catalog entry when answered
        "model_name": "",
        "context_length": context_length,
        "pricing": {"prompt": prompt_price, "completion": completion_price, "request": "0", "image": "0"},
        "provider_name": provider_name,
        "tag": tag if tag is not None else provider_name.lower().replace(" ", "-"),
        "quantization": quantization,
        "max_completion_tokens": 4096,
        "max_prompt_tokens": context_length,
        "supported_parameters": list(supported_parameters),
        "status": 0,
        "uptime_last_30m": 99.5,
        "uptime_last_5m": 100,
        "uptime_last_1d": 99.8,
        "supports_implicit_caching": False,
        "latency_last_30m": {"p50": 0.25, "p75": 0.35, "p90": 0.48, "p99": 0.85},
        "throughput_last_30m": {"p50": 45.2, "p75": 38.5, "p90": 28.3, "p99": 15.1},
        **extra,
    }


def endpoints_answer(path: str, catalog: Sequence[Mapping[str, Any]]) -> tuple[int, Any]:
    """Status and body for ``GET {path}``, where ``path`` is ``{author}/{slug}/endpoints``."""
    model = unquote(path.removesuffix("/endpoints"))
    entry = next((m for m in catalog if m.get("id") == model), None)
    if entry is None:
        return 404, wire.error_body(404, "Resource not found")
    endpoints = [
        {**e, "model_id": e.get("model_id") or model, "model_name": e.get("model_name") or entry.get("name")}
        for e in entry.get("endpoints") or []
    ]
    data = {k: entry.get(k) for k in ("id", "name", "created", "description", "architecture")}
    return 200, {"data": {**data, "endpoints": endpoints}}
