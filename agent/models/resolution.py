"""What the runtime knows about one model before a run: catalog, user overrides, probe results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from agent.cache import user_cache_dir
from agent.errors import ProviderError
from agent.models.capabilities import ModelCapabilities, resolve
from agent.models.catalog import Catalog, load_catalog
from agent.models.overrides import find_overrides
from agent.models.probe_store import ProbeRecord, ProbeStore

__all__ = ["ResolvedModel", "load_catalog_or_note", "resolve_model"]


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """A model's capabilities, with what the user should hear about how they were found.

    ``warning`` is worth showing (stale catalog, model not listed); ``info`` is a detail for
    ``--verbose`` (no catalog at this endpoint). ``catalog`` is the catalog the model was looked
    up in, if any (its fallbacks' prices come from it). ``probe`` is the model's probe record,
    if any (its provider verdicts route runs).
    """

    capabilities: ModelCapabilities
    warning: str | None = None
    in_catalog: bool | None = None
    info: str | None = None
    suggestions: tuple[str, ...] = ()
    catalog: Catalog | None = field(default=None, compare=False, repr=False)
    probe: ProbeRecord | None = field(default=None, compare=False, repr=False)

    def context_window(self, configured: int | None) -> int | None:
        """The smaller of the configured window and the model's catalog context length."""
        known = [n for n in (configured, self.capabilities.context_length) if n]
        return min(known) if known else None


async def load_catalog_or_note(
    client: httpx.AsyncClient, base_url: str, *, api_key: str | None, env: Mapping[str, str]
) -> tuple[Catalog | None, str | None]:
    """The endpoint's catalog (cached on disk), or None and one line saying why it is missing."""
    try:
        catalog = await load_catalog(client, base_url, api_key=api_key, cache_dir=user_cache_dir(env))
    except ProviderError as exc:
        return None, f"the model catalog could not be read, assuming defaults: {exc}"
    if catalog.stale:
        return (
            catalog,
            f"using the cached model catalog of {catalog.fetched_at:%Y-%m-%d}: {catalog.stale_reason}",
        )
    return catalog, None


async def resolve_model(
    client: httpx.AsyncClient,
    *,
    base_url: str,
    api_key: str | None,
    model: str,
    env: Mapping[str, str],
    cwd: Path,
    config_dir: Path | None = None,
    catalog: Catalog | None = None,
) -> ResolvedModel:
    """Capabilities of ``model`` on ``base_url``: defaults < vendor rules < catalog < overrides < probes.

    Args:
        client: the run's HTTP client (for ``GET /models`` when the cache is not fresh).
        base_url: the API root; catalog cache and probe records are keyed by it.
        api_key: sent with the catalog request if given.
        model: the model id.
        env: the environment (cache and config directories).
        cwd: the working directory (``./config/models.yaml``).
        config_dir: an explicit config directory (``--config DIR``), searched first.
        catalog: an already loaded catalog (``agent probe`` loads it once for many models).
    """
    warning = info = None
    if catalog is None:
        catalog, warning = await load_catalog_or_note(client, base_url, api_key=api_key, env=env)
        if catalog is None:  # many OpenAI-compatible endpoints have no catalog: not worth a warning
            info, warning = warning, None
    entry = catalog.lookup(model) if catalog is not None else None
    in_catalog = None if catalog is None or not catalog.entries else entry is not None
    # Not listed is not yet wrong (a model newer than the cached catalog): no warning here. If the
    # endpoint refuses the id, the run's one error line names these close ids.
    suggestions = tuple(catalog.suggest(model)) if catalog is not None and in_catalog is False else ()
    probe = ProbeStore.in_cache_dir(user_cache_dir(env)).get(base_url, model)
    above = find_overrides(cwd, env, config_dir).layers_for(model)
    if probe is not None:
        above.append(probe.layer())
    capabilities = resolve(model, catalog_entry=entry, above=above)
    return ResolvedModel(capabilities, warning, in_catalog, info, suggestions, catalog, probe)
