"""The model catalog (``GET {base_url}/models``): fetched, cached on disk, searched.

The catalog is advisory: entries are parsed leniently (unknown fields ignored, a bad field
becomes unknown, an entry without an id is skipped), a fresh cache answers without a request,
and when a refresh fails a stale cache is returned marked ``stale`` with the reason, so the CLI
can warn and go on. Caches are keyed by a hash of the endpoint URL, never by the API key.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
import httpx
from pydantic import ValidationError, ValidatorFunctionWrapHandler, WrapValidator

from agent.cache import endpoint_key, write_atomically
from agent.errors import BadResponseError, ProviderError
from agent.lenient import Lenient, LenientInt, LenientStr, or_none
from agent.providers.http_get import get_json

__all__ = [
    "DEFAULT_TTL",
    "Catalog",
    "CatalogArchitecture",
    "CatalogEntry",
    "CatalogKind",
    "CatalogPricing",
    "SortKey",
    "TopProvider",
    "load_catalog",
    "preset_base",
    "select",
]

DEFAULT_TTL = timedelta(hours=24)
_CACHE_FORMAT = 1
_MAX_CATALOG_BYTES = 64 << 20  # OpenRouter's full catalog is a few MiB
CatalogKind = Literal["chat", "embeddings"]
"""Which listing: ``chat`` models (``GET /models``) or ``embeddings`` models (``GET /embeddings/models``)."""
_LISTINGS: dict[CatalogKind, tuple[str, str, str]] = {
    "chat": ("/models", "", "the model catalog"),
    "embeddings": ("/embeddings/models", "-embeddings", "the embedding model catalog"),
}
_VARIANTS = frozenset({"nitro", "floor", "exacto", "thinking", "online", "extended"})
"""``:suffix`` variants served by the base model's entry (``:free`` has entries of its own)."""


def _price_or_none(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """A price string as ``Decimal``; negative (OpenRouter's "-1" = variable) or bad -> unknown."""
    price = or_none(value, handler)
    return None if price is None or price < 0 else price


def _strings_or_none(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    if not isinstance(value, list):
        return None
    return handler([item for item in value if isinstance(item, str)])


_Price = Annotated[Decimal | None, WrapValidator(_price_or_none)]


class CatalogPricing(Lenient):
    """USD prices as exact decimals: per prompt token, per completion token, per request."""

    prompt: _Price = None
    completion: _Price = None
    request: _Price = None


class TopProvider(Lenient):
    """Limits of the provider OpenRouter routes to first."""

    context_length: LenientInt = None
    max_completion_tokens: LenientInt = None


class CatalogArchitecture(Lenient):
    """What a model takes and gives: ``input_modalities`` lists ``text``, ``image``, ``audio``..."""

    input_modalities: Annotated[list[str] | None, WrapValidator(_strings_or_none)] = None


class CatalogEntry(Lenient):
    """One model of the catalog, with the fields the runtime uses (others are ignored)."""

    id: str
    name: LenientStr = None
    description: LenientStr = None
    created: LenientInt = None
    context_length: LenientInt = None
    pricing: Annotated[CatalogPricing | None, WrapValidator(or_none)] = None
    top_provider: Annotated[TopProvider | None, WrapValidator(or_none)] = None
    supported_parameters: Annotated[list[str] | None, WrapValidator(_strings_or_none)] = None
    architecture: Annotated[CatalogArchitecture | None, WrapValidator(or_none)] = None

    @property
    def supports_tools(self) -> bool:
        """Whether ``tools`` is among the supported parameters (some endpoint takes tool schemas)."""
        return "tools" in (self.supported_parameters or ())

    @property
    def is_free(self) -> bool:
        """A ``:free`` variant, or prompt, completion and request prices all zero."""
        if self.id.endswith(":free"):
            return True
        p = self.pricing
        return p is not None and p.prompt == 0 and p.completion == 0 and not p.request


@dataclass(frozen=True, slots=True)
class Catalog:
    """The catalog of one endpoint.

    Attributes:
        entries: the models by id.
        fetched_at: when the data was fetched from the endpoint (UTC).
        stale: a refresh was due (or asked for) but failed, so the data is the cached copy;
            ``stale_reason`` says why.
        stale_reason: one line saying why the refresh failed (``None`` when not stale).
        from_cache: the data came from the disk cache rather than a request just made.
        skipped: how many entries could not be read (no usable ``id``).
    """

    entries: Mapping[str, CatalogEntry]
    fetched_at: datetime
    stale: bool = False
    stale_reason: str | None = None
    from_cache: bool = False
    skipped: int = 0

    def get(self, model_id: str) -> CatalogEntry | None:
        """The entry with exactly this id."""
        return self.entries.get(model_id)

    def lookup(self, model_id: str) -> CatalogEntry | None:
        """The entry for ``model_id``; routing variants (``:nitro``, ``:thinking``...) use the base entry.

        ``:free`` is not folded: free variants have their own endpoints, prices and parameters.
        An OpenRouter alias (``~anthropic/claude-sonnet-latest``) not listed itself stands for
        the newest model of its family (``anthropic/claude-sonnet-*``). A model with a preset
        (``vendor/model@preset/NAME``) is its model's entry; a preset alone (``@preset/NAME``)
        has none.
        """
        entry = self.entries.get(model_id)
        if entry is None and "@preset/" in model_id:
            base = preset_base(model_id)
            return self.lookup(base) if base else None
        if entry is None and ":" in model_id:
            base, _, variant = model_id.rpartition(":")
            if variant in _VARIANTS:
                entry = self.entries.get(base)
        if entry is None and model_id.startswith("~"):
            entry = self._newest_of(model_id[1:].removesuffix("-latest"))
        return entry

    def _newest_of(self, family: str) -> CatalogEntry | None:
        members = [e for e in self.entries.values() if e.id.startswith(family) and ":" not in e.id]
        return max(members, key=lambda e: e.created or 0, default=None)

    def suggest(self, model_id: str, limit: int = 3) -> list[str]:
        """Catalog ids close to a ``model_id`` that is not listed (``gpt-4o`` -> ``openai/gpt-4o``)."""
        wanted = model_id.lower().lstrip("~")
        ids = sorted(self.entries)
        by_slug = [i for i in ids if i.lower().rsplit("/", 1)[-1] == wanted]
        close = difflib.get_close_matches(wanted, [i.lower() for i in ids], n=limit, cutoff=0.75)
        slugs = {i.lower().rsplit("/", 1)[-1]: i for i in ids}
        close_slugs = difflib.get_close_matches(wanted.rsplit("/", 1)[-1], list(slugs), n=limit, cutoff=0.8)
        found = [*by_slug, *(i for i in ids if i.lower() in close), *(slugs[s] for s in close_slugs)]
        return list(dict.fromkeys(found))[:limit]


def preset_base(model_id: str) -> str:
    """The model of ``vendor/model@preset/NAME`` (empty for ``@preset/NAME``); other ids as given."""
    base, preset, _ = model_id.partition("@preset/")
    return base if preset else model_id


async def load_catalog(
    client: httpx.AsyncClient,
    base_url: str,
    *,
    api_key: str | None = None,
    cache_dir: Path | None = None,
    ttl: timedelta = DEFAULT_TTL,
    refresh: bool = False,
    clock: Callable[[], datetime] | None = None,
    kind: CatalogKind = "chat",
) -> Catalog:
    """The catalog of ``base_url``: from a fresh cache, else fetched (and cached).

    Args:
        client: the HTTP client to send ``GET {base_url}/models`` with.
        base_url: the API root, e.g. ``https://openrouter.ai/api/v1``.
        api_key: sent as a bearer token if given (OpenRouter does not need one).
        cache_dir: the user cache directory (:func:`agent.cache.user_cache_dir`); ``None``: no cache.
        ttl: how long a cached catalog is fresh.
        refresh: fetch even when the cache is fresh.
        clock: the current time (UTC), for tests.
        kind: ``embeddings`` lists the embedding models instead (OpenRouter's ``/models``
            lists only models that answer in text), cached apart.

    Raises:
        agent.errors.ProviderError: the fetch failed and there is no cache to fall back on.
    """
    now = (clock or _utc_now)()
    suffix = _LISTINGS[kind][1]
    path = cache_dir / "catalog" / f"{endpoint_key(base_url)}{suffix}.json" if cache_dir else None
    cached = await anyio.to_thread.run_sync(_read_cache, path) if path else None
    if cached is not None and not refresh and timedelta(0) <= now - cached[0] < ttl:
        return _build(cached[1], cached[0], from_cache=True)
    try:
        raw = await _fetch(client, base_url, api_key, kind)
    except ProviderError as exc:
        if cached is None:
            raise
        return _build(cached[1], cached[0], from_cache=True, stale_reason=str(exc))
    if path is not None:
        await anyio.to_thread.run_sync(_write_cache, path, now, raw)
    return _build(raw, now)


SortKey = Literal["id", "newest", "price", "context"]


def select(
    entries: Iterable[CatalogEntry],
    *,
    tools: bool = False,
    free: bool = False,
    search: str | None = None,
    sort: SortKey = "id",
) -> list[CatalogEntry]:
    """Filter and sort entries for ``agent models``.

    Args:
        entries: the entries to choose from (e.g. ``catalog.entries.values()``).
        tools: keep only models that take tool schemas.
        free: keep only free models.
        search: every whitespace-separated word must occur in the id or name (case-insensitive).
        sort: ``id`` (default: alphabetical, which groups models by vendor), ``newest`` first,
            ``price`` (cheapest prompt + completion first, unknown last), ``context`` (largest first).
    """
    words = (search or "").casefold().split()
    chosen = [
        entry
        for entry in entries
        if (not tools or entry.supports_tools)
        and (not free or entry.is_free)
        and all(word in f"{entry.id} {entry.name or ''}".casefold() for word in words)
    ]
    chosen.sort(key=lambda e: e.id.casefold())
    if sort == "newest":
        chosen.sort(key=lambda e: -(e.created or 0))
    elif sort == "price":
        chosen.sort(key=_price_key)
    elif sort == "context":
        chosen.sort(key=lambda e: -(e.context_length or 0))
    return chosen


def _price_key(entry: CatalogEntry) -> tuple[bool, Decimal]:
    p = entry.pricing
    if p is None or p.prompt is None or p.completion is None:
        return (True, Decimal(0))
    return (False, p.prompt + p.completion)


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def _fetch(
    client: httpx.AsyncClient, base_url: str, api_key: str | None, kind: CatalogKind
) -> list[Any]:
    """``GET /models`` (or ``/embeddings/models``) and its raw entries; every failure is a ProviderError."""
    path, _, what = _LISTINGS[kind]
    url = base_url.strip().rstrip("/") + path
    body = await get_json(
        client,
        url,
        api_key=api_key,
        what=what,
        limit=_MAX_CATALOG_BYTES,
        not_found=f"{what} at {url} could not be fetched: not found (404)",
    )
    data = body.get("data") if isinstance(body, dict) else body
    if not isinstance(data, list):
        raise BadResponseError(f"{what} at {url} has no 'data' list")
    return data


def _build(
    raw: list[Any], fetched_at: datetime, *, from_cache: bool = False, stale_reason: str | None = None
) -> Catalog:
    entries: dict[str, CatalogEntry] = {}
    skipped = 0
    for item in raw:
        try:
            entry = CatalogEntry.model_validate(item)
        except ValidationError:
            skipped += 1
            continue
        if not entry.id.strip():
            skipped += 1
            continue
        entries[entry.id] = entry
    return Catalog(
        entries=entries,
        fetched_at=fetched_at,
        stale=stale_reason is not None,
        stale_reason=stale_reason,
        from_cache=from_cache,
        skipped=skipped,
    )


def _read_cache(path: Path) -> tuple[datetime, list[Any]] | None:
    """The cached fetch time and raw entries; a missing or unreadable cache is simply absent."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict) or document.get("format") != _CACHE_FORMAT:
            return None
        fetched_at = datetime.fromisoformat(document["fetched_at"])
        data = document["data"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(data, list) or fetched_at.tzinfo is None:
        return None
    return fetched_at, data


def _write_cache(path: Path, fetched_at: datetime, raw: list[Any]) -> None:
    """Write atomically (temp file + rename); a cache that cannot be written is skipped."""
    document = {"format": _CACHE_FORMAT, "fetched_at": fetched_at.isoformat(), "data": raw}
    try:
        write_atomically(path, json.dumps(document, ensure_ascii=False))
    except OSError:
        return
