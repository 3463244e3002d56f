"""The ``GET /models`` side of the loopback server: catalog entries and OpenRouter's filter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tests.loopback.wire import CREATED

__all__ = ["catalog_model", "filter_catalog"]


def filter_catalog(catalog: Sequence[Mapping[str, Any]], query: Mapping[str, list[str]]) -> list[Any]:
    """Apply ``?supported_parameters=a,b`` and ``?output_modalities=`` (default ``text``) like OpenRouter.

    Models supporting every listed parameter and giving one of the listed outputs (``all``: any).
    """
    wanted = {p for value in query.get("supported_parameters", []) for p in value.split(",") if p}
    outputs = {m for value in query.get("output_modalities", ["text"]) for m in value.split(",") if m}
    return [
        m
        for m in catalog
        if wanted <= set(m.get("supported_parameters") or ())
        and ("all" in outputs or not outputs.isdisjoint(_outputs(m)))
    ]


def _outputs(model: Mapping[str, Any]) -> list[str]:
    architecture = model.get("architecture")
    found = architecture.get("output_modalities") if isinstance(architecture, Mapping) else None
    return [m for m in found if isinstance(m, str)] if isinstance(found, list) else ["text"]


def catalog_model(
    model_id: str,
    *,
    supported_parameters: Sequence[str] = ("tools", "tool_choice", "max_tokens", "temperature"),
    context_length: int = 128_000,
    prompt_price: str = "0.000001",
    completion_price: str = "0.000002",
    **extra: Any,
) -> dict[str, Any]:
    """A ``/models`` entry with the fields of reference §5; ``extra`` adds or overrides fields."""
    return {
        "id": model_id,
        "canonical_slug": model_id,
        "name": model_id,
        "created": CREATED,
        "description": "",
        "context_length": context_length,
        "architecture": {
            "modality": "text->text",
            "input_modalities": ["text"],
            "output_modalities": ["text"],
            "tokenizer": "Other",
            "instruct_type": None,
        },
        "pricing": {"prompt": prompt_price, "completion": completion_price, "request": "0", "image": "0"},
        "top_provider": {
            "context_length": context_length,
            "max_completion_tokens": 4096,
            "is_moderated": False,
        },
        "per_request_limits": None,
        "supported_parameters": list(supported_parameters),
        "default_parameters": None,
        "supported_voices": None,
        "links": {"details": f"/api/v1/models/{model_id}/endpoints"},
        **extra,
    }
