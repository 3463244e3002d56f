"""Per-model capabilities as data, resolved by a layered merge.

Layers, later wins, each overriding only the facts it knows (``None`` means unknown)::

    defaults < model id (":free") < vendor rule < catalog entry < user overrides < probe results

Defaults assume an OpenAI-compatible model (native tools, parallel calls, every ``tool_choice``,
tool schemas in full JSON Schema).
Vendor rules are small pure functions keyed by the ``vendor/`` prefix and hold only documented
facts. The catalog layer reads OpenRouter's ``supported_parameters``, limits, prices and
``architecture.input_modalities``. User overrides come from ``models.yaml``
(:mod:`agent.models.overrides`), probe results from the
:class:`~agent.models.probe_store.ProbeStore`. Prices are exact ``Decimal`` USD amounts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from agent.models.catalog import CatalogEntry, CatalogPricing, TopProvider, preset_base
from agent.schema_shapes import SchemaProfile

__all__ = [
    "ALL_TOOL_CHOICES",
    "DEFAULTS",
    "VENDOR_RULES",
    "CapabilityFacts",
    "CapabilityLayer",
    "ModelCapabilities",
    "ToolChoice",
    "catalog_facts",
    "layers_for",
    "merge",
    "resolve",
    "vendor_layer",
]

ToolChoice = Literal["auto", "required", "none", "named"]
ALL_TOOL_CHOICES: tuple[ToolChoice, ...] = ("auto", "required", "none", "named")


class CapabilityFacts(BaseModel):
    """What one layer knows about a model; ``None`` is unknown and leaves lower layers in place.

    Attributes:
        native_tools: the endpoint accepts tool schemas and returns structured tool calls.
        tool_choice: the ``tool_choice`` values that may be sent (``named`` forces one tool;
            ``("auto",)`` means send none and let the model decide).
        parallel_tool_calls: the ``parallel_tool_calls`` request parameter is honoured.
        tool_schema_profile: the dialect tool schemas are sent in (:mod:`agent.schema_shapes`):
            ``full`` JSON Schema, or ``gemini`` (Google's OpenAPI 3.0 subset).
        structured_outputs: ``response_format`` (JSON mode or JSON schema) is honoured.
        reasoning: the model reasons and takes the ``reasoning`` parameter.
        context_length: the context window in tokens.
        max_completion_tokens: the most tokens one completion may have.
        prompt_price: USD per prompt token.
        completion_price: USD per completion token.
        request_price: USD per request.
        free: no charge (a ``:free`` variant, or zero prices).
        image_input: the model takes images (tool results bring theirs along, else described).
        audio_input: the model takes audio (as ``input_audio``).
        cache_breakpoints: its providers cache a prompt only up to ``cache_control`` breakpoints
            (Anthropic, Gemini); others cache on their own.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    native_tools: bool | None = None
    tool_choice: tuple[ToolChoice, ...] | None = None
    parallel_tool_calls: bool | None = None
    tool_schema_profile: SchemaProfile | None = None
    structured_outputs: bool | None = None
    reasoning: bool | None = None
    context_length: int | None = Field(default=None, gt=0)
    max_completion_tokens: int | None = Field(default=None, gt=0)
    prompt_price: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    completion_price: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    request_price: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    free: bool | None = None
    image_input: bool | None = None
    audio_input: bool | None = None
    cache_breakpoints: bool | None = None

    def known(self) -> dict[str, Any]:
        """The facts this layer states (the fields that are not ``None``), in field order."""
        values = {name: getattr(self, name) for name in CapabilityFacts.model_fields}
        return {name: value for name, value in values.items() if value is not None}


class ModelCapabilities(CapabilityFacts):
    """The merged capabilities of one model, with the layer each fact came from in ``sources``."""

    model: str
    sources: dict[str, str] = Field(default_factory=dict)

    @property
    def tool_protocol(self) -> Literal["native", "text"]:
        """``text`` when native tool calling is known not to work, else ``native``."""
        return "text" if self.native_tools is False else "native"

    def allows_tool_choice(self, value: ToolChoice) -> bool:
        """Whether ``tool_choice=value`` may be sent (unknown counts as allowed)."""
        return self.tool_choice is None or value in self.tool_choice

    def cost(self, prompt_tokens: int, completion_tokens: int) -> Decimal | None:
        """USD for one request of this size, or ``None`` when a price is unknown."""
        if self.prompt_price is None or self.completion_price is None:
            return None
        request = self.request_price or Decimal(0)
        return self.prompt_price * prompt_tokens + self.completion_price * completion_tokens + request


class CapabilityLayer(NamedTuple):
    """One layer of the merge: who says it (shown in ``sources``) and what it says."""

    source: str
    facts: CapabilityFacts


DEFAULTS = CapabilityFacts(
    native_tools=True, tool_choice=ALL_TOOL_CHOICES, parallel_tool_calls=True, tool_schema_profile="full"
)
"""What an OpenAI-compatible endpoint does unless a later layer knows better."""


def merge(model_id: str, layers: Iterable[CapabilityLayer]) -> ModelCapabilities:
    """Apply ``layers`` in order: each known fact replaces the one below and records its source."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for layer in layers:
        for name, value in layer.facts.known().items():
            values[name] = value
            sources[name] = layer.source
    return ModelCapabilities(model=model_id, sources=sources, **values)


def resolve(
    model_id: str, *, catalog_entry: CatalogEntry | None = None, above: Iterable[CapabilityLayer] = ()
) -> ModelCapabilities:
    """The capabilities of ``model_id`` from every layer that has something to say.

    Args:
        model_id: the model.
        catalog_entry: its entry in the endpoint's catalog, if listed.
        above: layers that override the catalog, least important first: the user's overrides,
            then probe results (see :mod:`agent.models.resolution`).
    """
    return merge(model_id, layers_for(model_id, catalog_entry=catalog_entry, above=above))


def layers_for(
    model_id: str, *, catalog_entry: CatalogEntry | None = None, above: Iterable[CapabilityLayer] = ()
) -> list[CapabilityLayer]:
    """The layers :func:`resolve` merges, least important first (useful to explain a result)."""
    layers = [CapabilityLayer("defaults", DEFAULTS)]
    base = preset_base(model_id)  # a preset's settings come from OpenRouter, its model from the id
    if base.endswith(":free"):
        layers.append(CapabilityLayer("model id", CapabilityFacts(free=True)))
    vendor = vendor_layer(base)
    if vendor is not None:
        layers.append(vendor)
    if catalog_entry is not None:
        layers.append(CapabilityLayer("catalog", catalog_facts(catalog_entry)))
    layers.extend(above)
    return layers


def _openai(slug: str) -> CapabilityFacts | None:
    """OpenAI documents these models without function calling."""
    if slug.startswith(("o1-preview", "o1-mini", "chatgpt-4o-latest", "gpt-3.5-turbo-instruct")):
        return CapabilityFacts(native_tools=False)
    return None


def _anthropic(slug: str) -> CapabilityFacts | None:
    """Anthropic caches only up to ``cache_control`` breakpoints.

    With extended thinking it refuses forced tool use: only ``auto`` and ``none``.
    """
    if slug.endswith(":thinking"):
        return CapabilityFacts(tool_choice=("auto", "none"), reasoning=True, cache_breakpoints=True)
    return CapabilityFacts(cache_breakpoints=True)


def _google(slug: str) -> CapabilityFacts:
    """Google's endpoints take tool schemas only in their OpenAPI 3.0 subset.

    ``$ref``, ``additionalProperties``, ``const``, type lists and more fail the whole request.
    Gemini caches explicitly only up to ``cache_control`` breakpoints.
    """
    return CapabilityFacts(tool_schema_profile="gemini", cache_breakpoints=True)


VENDOR_RULES: Mapping[str, Callable[[str], CapabilityFacts | None]] = {
    "anthropic": _anthropic,
    "google": _google,
    "openai": _openai,
}
"""Rules by ``vendor/`` prefix; each gets the rest of the model id (with any ``:variant``)."""


def vendor_layer(model_id: str) -> CapabilityLayer | None:
    """The vendor rule's facts for ``model_id``, if its vendor has a rule that applies."""
    vendor, slash, slug = model_id.removeprefix("~").partition("/")
    rule = VENDOR_RULES.get(vendor) if slash else None
    facts = rule(slug) if rule is not None else None
    return CapabilityLayer(f"vendor rule ({vendor})", facts) if facts is not None else None


def catalog_facts(entry: CatalogEntry) -> CapabilityFacts:
    """What a catalog entry says: tool support from ``supported_parameters``, limits, prices, inputs.

    A missing ``supported_parameters`` (non-OpenRouter endpoints) says nothing about features;
    a present list is taken as complete, so a parameter absent from it is unsupported.
    The catalog has no word on the tool schema dialect: vendor rules and overrides state it.
    """
    facts: dict[str, Any] = {}
    params = entry.supported_parameters
    if params is not None:
        given = set(params)
        tools = "tools" in given
        facts["native_tools"] = tools
        choices: tuple[ToolChoice, ...] = ALL_TOOL_CHOICES if "tool_choice" in given else ("auto",)
        facts["tool_choice"] = choices if tools else ()
        facts["parallel_tool_calls"] = tools and "parallel_tool_calls" in given
        facts["structured_outputs"] = bool(given & {"structured_outputs", "response_format"})
        facts["reasoning"] = bool(given & {"reasoning", "include_reasoning", "reasoning_effort"})
    top = entry.top_provider or TopProvider()
    facts["context_length"] = _positive(entry.context_length) or _positive(top.context_length)
    facts["max_completion_tokens"] = _positive(top.max_completion_tokens)
    pricing = entry.pricing or CatalogPricing()
    facts |= {
        "prompt_price": pricing.prompt,
        "completion_price": pricing.completion,
        "request_price": pricing.request,
    }
    if entry.id.endswith(":free") or (pricing.prompt is not None and pricing.completion is not None):
        facts["free"] = entry.is_free
    modalities = entry.architecture.input_modalities if entry.architecture else None
    if modalities is not None:  # a present list is complete, like supported_parameters
        facts["image_input"] = "image" in modalities
        facts["audio_input"] = "audio" in modalities
    return CapabilityFacts(**facts)


def _positive(value: int | None) -> int | None:
    return value if value is not None and value > 0 else None
