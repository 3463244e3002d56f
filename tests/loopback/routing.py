"""Model ids and provider routing as OpenRouter resolves them: variants, presets, aliases, endpoints.

Pure functions of the request and the server's configuration. The server still takes each step
from the queue of the model id *as requested*; these functions decide what the response's
``model`` names and whether any endpoint may serve the request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tests.loopback.steps import ErrorReply, availability_error

__all__ = [
    "PARAMETERS",
    "ROUTING_VARIANTS",
    "answering_model",
    "needs_required_parameters",
    "request_parameters",
    "unavailable",
    "with_preset",
]

PRESET = "@preset/"

ROUTING_VARIANTS = (":nitro", ":floor", ":exacto", ":online")
"""Suffixes that only change routing, so the response names the base model.

What this relies on: the landscape notes (/work/shared/reference/landscape.md §1 "Variants") and
ORD guides/routing/model-variants/*.mdx. ``:nitro``/``:floor`` are shortcuts for a provider sort,
``:exacto`` is "not a separate endpoint pool", ``:online`` is a shortcut for the ``web`` plugin;
none is an entry of /models. ``:free``, ``:thinking`` and ``:extended`` are catalog variants, entries
of /models with their own id, price and endpoints, so the response keeps the suffixed id.
"""

PARAMETERS = frozenset(
    {
        "temperature", "top_p", "top_k", "min_p", "top_a", "frequency_penalty", "presence_penalty",
        "repetition_penalty", "max_tokens", "max_completion_tokens", "logit_bias", "logprobs",
        "top_logprobs", "prediction", "seed", "response_format", "stop", "tools", "tool_choice",
        "parallel_tool_calls", "include_reasoning", "reasoning", "reasoning_effort",
        "web_search_options", "verbosity",
    }
)  # fmt: skip
"""Request fields an endpoint lists in ``supported_parameters`` (OAS ``Parameter``)."""

SOFT_FILTERS = ("tools", "response_format")
"""Parameters OpenRouter routes on even without ``require_parameters`` but does not enforce
(ORD guides/routing/provider-selection.mdx, "Requiring Providers to Support All Parameters")."""


def with_preset(
    body: Mapping[str, Any], presets: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any] | ErrorReply:
    """The request as OpenRouter routes it: its preset's settings shallow-merged under its own fields.

    ``model: "@preset/NAME"`` takes the preset's ``model``; ``"MODEL@preset/NAME"`` keeps MODEL;
    the ``preset`` field names a preset too (ORD guides/features/presets.mdx, "request-level
    fields override matching preset fields"). An unknown preset is a 404 (wording not documented).
    """
    model = body.get("model")
    name = model.partition(PRESET)[2] if isinstance(model, str) and PRESET in model else body.get("preset")
    if not isinstance(name, str) or not name:
        return dict(body)
    preset = presets.get(name)
    if preset is None:
        return ErrorReply(404, f"Preset '{name}' not found")
    merged = {**preset, **{k: v for k, v in body.items() if k != "preset"}}
    if isinstance(model, str) and PRESET in model:
        base = model.partition(PRESET)[0]
        if base:
            merged["model"] = base
        elif "model" in preset:
            merged["model"] = preset["model"]
        else:
            del merged["model"]
    return merged


def answering_model(
    requested: str,
    *,
    presets: Mapping[str, Mapping[str, Any]],
    aliases: Mapping[str, str],
    catalog: Sequence[Mapping[str, Any]],
    auto_model: str | None,
) -> str:
    """The model id OpenRouter names in the response to a request for ``requested``."""
    model = requested
    if PRESET in model:
        base, _, name = model.partition(PRESET)
        preset_model = presets.get(name, {}).get("model")
        model = base or (preset_model if isinstance(preset_model, str) else model)
    for variant in ROUTING_VARIANTS:
        if model.endswith(variant):
            model = model.removesuffix(variant)
            break
    if model.startswith("~"):
        model = aliases.get(model) or _newest_of_family(model, catalog) or model
    if model == "openrouter/auto":
        model = auto_model or _first_tool_model(catalog) or model
    return model


def _newest_of_family(alias: str, catalog: Sequence[Mapping[str, Any]]) -> str | None:
    """``~vendor/family-latest`` → the newest (by ``created``) catalog model ``vendor/family...``."""
    family = alias.removeprefix("~").removesuffix("-latest")
    members = [
        m
        for m in catalog
        if isinstance(m.get("id"), str)
        and ":" not in m["id"]
        and (m["id"] == family or m["id"].startswith((f"{family}-", f"{family}.")))
    ]
    if not members:
        return None
    return str(max(members, key=lambda m: m.get("created") or 0)["id"])


def _first_tool_model(catalog: Sequence[Mapping[str, Any]]) -> str | None:
    for entry in catalog:
        if "tools" in (entry.get("supported_parameters") or ()) and entry.get("id") != "openrouter/auto":
            return str(entry["id"])
    return None


def request_parameters(body: Mapping[str, Any]) -> set[str]:
    """The parameters an endpoint must support to serve ``body`` with ``require_parameters``."""
    wanted = {key for key, value in body.items() if key in PARAMETERS and value is not None}
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        wanted.add("structured_outputs")
    return wanted


def needs_required_parameters(body: Mapping[str, Any]) -> bool:
    """True when ``body`` sends tools or a response format without ``provider.require_parameters``.

    OpenRouter accepts it, but may then route to an endpoint that ignores them.
    """
    provider = body.get("provider")
    required = isinstance(provider, dict) and provider.get("require_parameters") is True
    return not required and any(body.get(name) for name in SOFT_FILTERS)


def unavailable(
    model: str, requested: Sequence[str], body: Mapping[str, Any], catalog: Sequence[Mapping[str, Any]]
) -> ErrorReply | None:
    """OpenRouter's 404 when ``body``'s provider preferences leave no endpoint of ``model``.

    Only for catalog entries that list ``endpoints`` (PublicEndpoint-like dicts with
    ``provider_name``, ``tag`` and ``supported_parameters``); None when some endpoint remains.
    """
    entry = next((m for m in catalog if m.get("id") == model), None)
    endpoints = entry.get("endpoints") if entry is not None else None
    if not isinstance(endpoints, list):
        return None
    provider = body.get("provider")
    prefs: Mapping[str, Any] = provider if isinstance(provider, dict) else {}
    pool = [e for e in endpoints if isinstance(e, dict)]
    only, ignore, order = prefs.get("only"), prefs.get("ignore"), prefs.get("order")
    if only:
        pool = [e for e in pool if any(_serves(slug, e) for slug in only)]
    if ignore:
        pool = [e for e in pool if not any(_serves(slug, e) for slug in ignore)]
    if order and prefs.get("allow_fallbacks") is False:
        pool = [e for e in pool if any(_serves(slug, e) for slug in order)]
    if not pool:
        return availability_error(
            404,
            "No allowed providers are available for the selected model.",
            code="no_endpoints",
            retryable=False,
            requested_models=requested,
            excluded_by=["allowed_providers"],
        )
    if prefs.get("require_parameters") is True:
        wanted = request_parameters(body)
        if not any(wanted <= set(e.get("supported_parameters") or ()) for e in pool):
            offered = set().union(*(set(e.get("supported_parameters") or ()) for e in pool))
            missing = sorted(wanted - offered)
            detail = (
                f"no allowed endpoint supports {missing}"
                if missing
                else f"no allowed endpoint supports all of {sorted(wanted)}"
            )
            return availability_error(
                404,
                "No endpoints found that can handle the requested parameters.",
                code="constraint_filtered",
                retryable=False,
                requested_models=requested,
                excluded_by=["require_parameters"],
                constraint={"field": "require_parameters", "detail": detail},
            )
    return None


def _serves(slug: Any, endpoint: Mapping[str, Any]) -> bool:
    """A provider slug matches an endpoint's tag (``deepinfra/turbo``), its base slug, or its name."""
    if not isinstance(slug, str):
        return False
    slug = slug.lower()
    tag = str(endpoint.get("tag") or "").lower()
    return slug in (tag, tag.split("/")[0], str(endpoint.get("provider_name") or "").lower())
