"""A model's provider endpoints (``GET {base_url}/models/{author}/{slug}/endpoints``).

OpenRouter serves one model through several providers (and quantizations of one provider), each
an endpoint with its own ``supported_parameters``, prices and uptime. The catalog says what some
endpoint takes; this says which one does, so ``agent probe --providers`` can try each endpoint
pinned by its ``tag``. Parsed leniently like the catalog: a field that does not fit is unknown,
an endpoint with neither tag nor provider name (nothing to pin) is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from pydantic import ValidationError, ValidatorFunctionWrapHandler, WrapValidator

from agent.errors import BadResponseError, ConfigError
from agent.lenient import Lenient, LenientBool, LenientFloat, LenientInt, LenientStr, or_none
from agent.models.catalog import CatalogPricing, preset_base
from agent.providers.http_get import get_json

if TYPE_CHECKING:
    import httpx

    from agent.models.catalog import Catalog

__all__ = ["ModelEndpoint", "ModelEndpoints", "endpoints_model", "fetch_endpoints"]

_MAX_BYTES = 4 << 20
_ROUTING_VARIANTS = frozenset({"nitro", "floor", "exacto", "online"})
"""Suffixes that only change routing: the base model's endpoints serve them (reference §5;
``:free``, ``:thinking`` and ``:extended`` are models of their own with their own endpoints)."""


def _strings_or_none(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    if not isinstance(value, list):
        return None
    return handler([item for item in value if isinstance(item, str)])


class ModelEndpoint(Lenient):
    """One provider endpoint of a model (OpenRouter's ``PublicEndpoint``), the fields we use."""

    provider_name: LenientStr = None
    tag: LenientStr = None
    name: LenientStr = None
    model_id: LenientStr = None
    quantization: LenientStr = None
    context_length: LenientInt = None
    max_completion_tokens: LenientInt = None
    max_prompt_tokens: LenientInt = None
    pricing: Annotated[CatalogPricing | None, WrapValidator(or_none)] = None
    supported_parameters: Annotated[list[str] | None, WrapValidator(_strings_or_none)] = None
    status: LenientInt = None
    uptime_last_30m: LenientFloat = None
    uptime_last_1d: LenientFloat = None
    supports_implicit_caching: LenientBool = None

    @property
    def slug(self) -> str:
        """What pins a request to this endpoint in ``provider.only``: its tag (``deepinfra/fp8``)."""
        return self.tag or (self.provider_name or "").lower()

    @property
    def label(self) -> str:
        """The provider's name as OpenRouter shows it, else the slug."""
        return self.provider_name or self.slug

    @property
    def supports_tools(self) -> bool:
        """Whether this endpoint lists ``tools`` among its supported parameters."""
        return "tools" in (self.supported_parameters or ())

    def takes(self, parameter: str) -> bool:
        """Whether this endpoint lists ``parameter`` (unknown parameters lists take everything)."""
        return self.supported_parameters is None or parameter in self.supported_parameters


@dataclass(frozen=True, slots=True)
class ModelEndpoints:
    """The endpoints serving ``model`` (listed for ``listed_as``, its base model)."""

    model: str
    listed_as: str
    endpoints: tuple[ModelEndpoint, ...]
    skipped: int = 0

    @property
    def with_tools(self) -> tuple[ModelEndpoint, ...]:
        """The endpoints that take tool schemas."""
        return tuple(e for e in self.endpoints if e.supports_tools)


def endpoints_model(model_id: str, catalog: Catalog | None = None) -> str:
    """The model whose endpoints serve ``model_id``: its catalog entry, else preset and variant stripped.

    Raises:
        ConfigError: ``model_id`` names no ``author/slug`` model (a bare preset, a bare name).
    """
    entry = catalog.lookup(model_id) if catalog is not None else None
    model = entry.id if entry is not None else preset_base(model_id)
    base, _, variant = model.rpartition(":")
    if base and variant in _ROUTING_VARIANTS:
        model = base
    author, _, slug = model.partition("/")
    if not author or not slug or author.startswith(("@", "~")):
        raise ConfigError(
            f"{model_id!r} names no author/slug model whose provider endpoints could be listed",
            source="MODEL",
        )
    return model


async def fetch_endpoints(
    client: httpx.AsyncClient,
    base_url: str,
    model_id: str,
    *,
    api_key: str | None = None,
    catalog: Catalog | None = None,
) -> ModelEndpoints:
    """The provider endpoints of ``model_id`` (a variant or preset: those of its base model).

    Raises:
        ConfigError: the id names no ``author/slug`` model.
        agent.errors.ProviderError: the request failed (404: the endpoint knows no such model),
            or the body is not a list of endpoints.
    """
    listed_as = endpoints_model(model_id, catalog)
    author, _, slug = listed_as.partition("/")
    url = f"{base_url.strip().rstrip('/')}/models/{quote(author, safe='')}/{quote(slug, safe=':')}/endpoints"
    what = f"the provider endpoints of {listed_as}"
    body = await get_json(
        client,
        url,
        api_key=api_key,
        what=what,
        limit=_MAX_BYTES,
        not_found=f"{what} could not be listed: {url} knows no such model (404)",
    )
    data = body.get("data") if isinstance(body, dict) else None
    raw = data.get("endpoints") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        raise BadResponseError(f"{what} at {url} has no 'data.endpoints' list")
    endpoints: list[ModelEndpoint] = []
    for item in raw:
        try:
            endpoint = ModelEndpoint.model_validate(item)
        except ValidationError:
            endpoint = None
        if endpoint is None or not endpoint.slug:
            continue
        endpoints.append(endpoint)
    return ModelEndpoints(model_id, listed_as, tuple(endpoints), skipped=len(raw) - len(endpoints))
