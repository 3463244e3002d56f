"""OpenRouter's request options beyond the chat itself: provider routing and reasoning.

Both come from the provider file (``config.provider``, ``config.reasoning``) and from options
(``--only``, ``--sort``, ``--reasoning-effort`` ...); an option given wins over the file, key by
key. :func:`request_extras` makes them the JSON the request carries (OpenRouter's
``ProviderPreferences`` and ``ReasoningConfig``), checked here so a wrong value is one line
naming the flag or the file's field, never a 400 from the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.errors import ConfigError

if TYPE_CHECKING:
    from agent.options import AgentOptions

__all__ = [
    "PRICE_KEYS",
    "QUANTIZATIONS",
    "ProviderPreferences",
    "ReasoningSettings",
    "RequestExtras",
    "reasoning_wire",
    "request_extras",
    "routing_wire",
    "with_required_parameters",
]

QUANTIZATIONS = (
    "int4",
    "int8",
    "fp4",
    "mxfp4",
    "nvfp4",
    "fp6",
    "fp8",
    "mxfp8",
    "fp16",
    "bf16",
    "fp32",
    "unknown",
)
"""The quantization levels OpenRouter filters by (OpenAPI ``Quantization``)."""
PRICE_KEYS = ("prompt", "completion", "request", "image", "audio")
"""The keys of ``max_price``: USD per million prompt/completion tokens, per request, image, audio unit."""

Quantization = Literal[
    "int4", "int8", "fp4", "mxfp4", "nvfp4", "fp6", "fp8", "mxfp8", "fp16", "bf16", "fp32", "unknown"
]
SortBy = Literal["price", "throughput", "latency", "exacto"]


class SortConfig(BaseModel):
    """``sort: {by, partition}``: how providers (and, with ``models``, models) are ordered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    by: SortBy | None = None
    partition: Literal["model", "none"] | None = None


class Percentiles(BaseModel):
    """A latency or throughput preference per percentile."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    p50: float | None = None
    p75: float | None = None
    p90: float | None = None
    p99: float | None = None


class ProviderPreferences(BaseModel):
    """``config.provider`` in a provider file: OpenRouter's provider routing, as its API spells it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order: list[str] | None = None
    only: list[str] | None = None
    ignore: list[str] | None = None
    sort: SortBy | SortConfig | None = None
    max_price: dict[Literal["prompt", "completion", "request", "image", "audio"], float] | None = None
    allow_fallbacks: bool | None = None
    require_parameters: bool | None = None
    data_collection: Literal["allow", "deny"] | None = None
    zdr: bool | None = None
    enforce_distillable_text: bool | None = None
    quantizations: list[Quantization] | None = None
    preferred_min_throughput: float | Percentiles | None = None
    preferred_max_latency: float | Percentiles | None = None


class ReasoningSettings(BaseModel):
    """``config.reasoning`` in a provider file: how much a reasoning model thinks, and whether we see it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    effort: Literal["minimal", "low", "medium", "high", "xhigh", "max", "none"] | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    exclude: bool | None = None
    enabled: bool | None = None


@dataclass(frozen=True, slots=True)
class RequestExtras:
    """What every request of an agent carries besides the conversation (OpenRouter only).

    Attributes:
        provider: the ``provider`` routing object, or None for OpenRouter's defaults.
        reasoning: the ``reasoning`` object, or None for the model's default.
    """

    provider: dict[str, Any] | None = None
    reasoning: dict[str, Any] | None = None


_FLAGS = {
    "order": ("provider_order", "--provider-order"),
    "only": ("provider_only", "--only"),
    "ignore": ("provider_ignore", "--ignore"),
    "sort": ("provider_sort", "--sort"),
    "max_price": ("max_price", "--max-price"),
    "allow_fallbacks": ("allow_fallbacks", "--allow-fallbacks"),
    "data_collection": ("data_collection", "--data-collection"),
    "zdr": ("zdr", "--zdr"),
    "quantizations": ("quantizations", "--quantizations"),
}
"""Each routing key, the option that sets it, and its flag."""


def routing_wire(options: AgentOptions, configured: ProviderPreferences | None) -> dict[str, Any] | None:
    """The ``provider`` object: the file's preferences, with each option given replacing its key.

    Raises:
        ConfigError: a quantization or ``max_price`` key is not one OpenRouter knows.
    """
    wire: dict[str, Any] = configured.model_dump(exclude_none=True, mode="json") if configured else {}
    for key, (name, flag) in _FLAGS.items():
        value = getattr(options, name)
        if value is None or value == [] or (key == "zdr" and not value):
            continue  # not given (``--zdr`` off says nothing: the file or OpenRouter decides)
        if key == "quantizations":
            unknown = [q for q in value if q not in QUANTIZATIONS]
            if unknown:
                raise ConfigError(
                    f"unknown quantization {unknown[0]!r}; expected some of: {', '.join(QUANTIZATIONS)}",
                    source=flag,
                )
        if key == "max_price":
            unknown = [k for k in value if k not in PRICE_KEYS]
            if unknown:
                raise ConfigError(
                    f"unknown max_price key {unknown[0]!r}; expected some of: {', '.join(PRICE_KEYS)}",
                    source=flag,
                )
        wire[key] = list(value) if isinstance(value, list) else value
    if "max_price" in wire:  # the API's OpenAPI document types each price as a decimal string
        wire["max_price"] = {k: _decimal(v) for k, v in wire["max_price"].items()}
    return wire or None


def reasoning_wire(options: AgentOptions, configured: ReasoningSettings | None) -> dict[str, Any] | None:
    """The ``reasoning`` object: the file's settings, with each option given replacing its key.

    Raises:
        ConfigError: both an effort and a token budget are asked for.
    """
    wire: dict[str, Any] = configured.model_dump(exclude_none=True) if configured else {}
    if options.reasoning_effort is not None:
        wire["effort"] = options.reasoning_effort
        if options.reasoning_max_tokens is None:
            wire.pop("max_tokens", None)
    if options.reasoning_max_tokens is not None:
        wire["max_tokens"] = options.reasoning_max_tokens
        if options.reasoning_effort is None:
            wire.pop("effort", None)
    if options.reasoning_exclude:
        wire["exclude"] = True
    if "effort" in wire and "max_tokens" in wire:
        raise ConfigError(
            "give one of --reasoning-effort and --reasoning-max-tokens, not both", source="--reasoning-effort"
        )
    return wire or None


def request_extras(
    options: AgentOptions,
    provider: ProviderPreferences | None,
    reasoning: ReasoningSettings | None,
) -> RequestExtras:
    """The routing and reasoning every request of an agent with ``options`` carries."""
    return RequestExtras(
        provider=routing_wire(options, provider), reasoning=reasoning_wire(options, reasoning)
    )


def with_required_parameters(provider: dict[str, Any] | None) -> dict[str, Any]:
    """``provider`` with ``require_parameters: true`` unless it says otherwise itself.

    A request with tools or ``response_format`` then reaches only endpoints that honour them
    (OpenRouter otherwise may route to one that drops them silently).
    """
    if provider is not None and "require_parameters" in provider:
        return provider
    return {**(provider or {}), "require_parameters": True}


def _decimal(value: float) -> str:
    return f"{value:.12g}"
