from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from agent.errors import (
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    InsufficientCreditsError,
    ProviderConnectionError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
)
from agent.models.catalog import (
    Catalog,
    CatalogArchitecture,
    CatalogEntry,
    CatalogPricing,
    TopProvider,
    load_catalog,
)
from tests.loopback.catalog import catalog_model

BASE = "https://openrouter.test/api/v1"
MODELS_URL = f"{BASE}/models"
KEY = "sk-or-v1-" + "0123456789abcdef" * 4
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def entry(model_id: str, **fields: Any) -> CatalogEntry:
    """The entry ``catalog_model(model_id)`` parses to."""
    base: dict[str, Any] = {
        "id": model_id,
        "name": model_id,
        "description": "",
        "created": 1_750_000_000,
        "context_length": 128_000,
        "pricing": CatalogPricing(
            prompt=Decimal("0.000001"), completion=Decimal("0.000002"), request=Decimal(0)
        ),
        "top_provider": TopProvider(context_length=128_000, max_completion_tokens=4096),
        "supported_parameters": ["tools", "tool_choice", "max_tokens", "temperature"],
        "architecture": CatalogArchitecture(input_modalities=["text"]),
    }
    return CatalogEntry(**(base | fields))


def models_body(*models: dict[str, Any]) -> dict[str, Any]:
    return {"data": list(models), "total_count": len(models), "links": {"next": None}}


async def load(cache_dir: Path | None, clock: Clock, base_url: str = BASE, **kwargs: Any) -> Catalog:
    async with httpx.AsyncClient() as client:
        return await load_catalog(client, base_url, cache_dir=cache_dir, clock=clock, **kwargs)


class Endpoint:
    """Answers ``GET /models`` with a copy of ``response`` (or raises ``response``) and counts calls.

    respx resets its own call records when its context exits; these survive it.
    """

    def __init__(self, response: httpx.Response | Exception) -> None:
        self.response = response
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if isinstance(self.response, Exception):
            raise self.response
        r = self.response
        return httpx.Response(r.status_code, headers=r.headers, content=r.content)

    @property
    def call_count(self) -> int:
        return len(self.requests)


def mocked(response: httpx.Response | Exception) -> tuple[respx.MockRouter, Endpoint]:
    """A router where only ``GET /models`` of ``BASE`` is answered; any other request fails."""
    router = respx.mock(assert_all_called=False, assert_all_mocked=True)
    endpoint = Endpoint(response)
    router.get(MODELS_URL).mock(side_effect=endpoint)
    return router, endpoint


@pytest.mark.anyio
async def test_load_catalog_parses_entries_leniently_and_skips_entries_without_an_id(tmp_path: Path) -> None:
    odd = catalog_model(
        "acme/odd",
        context_length="lots",
        pricing={"prompt": "-1", "completion": "abc", "request": "0.01", "image": "0"},
        top_provider="none",
        supported_parameters=["tools", 5, "reasoning"],
        name=None,
        brand_new_field={"x": 1},
    )
    body = models_body(catalog_model("acme/one"), odd, {"name": "no id"}, {"id": 42}, {"id": "  "}, "junk")
    router, _ = mocked(httpx.Response(200, json=body))
    with router:
        catalog = await load(tmp_path, Clock())
    assert catalog == Catalog(
        entries={
            "acme/one": entry("acme/one"),
            "acme/odd": entry(
                "acme/odd",
                name=None,
                context_length=None,
                pricing=CatalogPricing(prompt=None, completion=None, request=Decimal("0.01")),
                top_provider=None,
                supported_parameters=["tools", "reasoning"],
            ),
        },
        fetched_at=T0,
        skipped=4,
    )


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "ids"),
    [
        ([catalog_model("a/x")], ["a/x"]),
        ({"object": "list", "data": [catalog_model("a/y")]}, ["a/y"]),
        ({"data": []}, []),
    ],
    ids=["bare list", "openai list object", "empty"],
)
async def test_load_catalog_accepts_openai_compatible_list_shapes(body: Any, ids: list[str]) -> None:
    router, _ = mocked(httpx.Response(200, json=body))
    with router:
        catalog = await load(None, Clock())
    assert list(catalog.entries) == ids


@pytest.mark.anyio
@pytest.mark.parametrize(("api_key", "authorization"), [(KEY, f"Bearer {KEY}"), (None, None)])
async def test_load_catalog_sends_the_key_only_when_given(
    api_key: str | None, authorization: str | None
) -> None:
    router, route = mocked(httpx.Response(200, json=models_body()))
    with router:
        await load(None, Clock(), api_key=api_key)
    assert route.requests[-1].headers.get("authorization") == authorization


@pytest.mark.anyio
async def test_a_fresh_cache_answers_without_a_request(tmp_path: Path) -> None:
    clock = Clock()
    router, route = mocked(httpx.Response(200, json=models_body(catalog_model("acme/one"))))
    with router:
        first = await load(tmp_path, clock)
    clock.now = T0 + timedelta(hours=23)
    with respx.mock(assert_all_mocked=True):  # no routes: any request fails the test
        second = await load(tmp_path, clock)
    assert route.call_count == 1
    assert second == Catalog(entries=first.entries, fetched_at=T0, from_cache=True)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("age", "ttl", "fetches"),
    [
        (timedelta(0), timedelta(hours=24), False),
        (timedelta(hours=23, minutes=59), timedelta(hours=24), False),
        (timedelta(hours=24), timedelta(hours=24), True),
        (timedelta(minutes=5), timedelta(minutes=1), True),
        (timedelta(minutes=-5), timedelta(hours=24), True),
        (timedelta(0), timedelta(0), True),
    ],
    ids=[
        "just fetched",
        "just under the ttl",
        "at the ttl",
        "custom ttl",
        "cache from the future",
        "zero ttl",
    ],
)
async def test_cache_is_refetched_once_older_than_the_ttl(
    tmp_path: Path, age: timedelta, ttl: timedelta, fetches: bool
) -> None:
    clock = Clock()
    router, _ = mocked(httpx.Response(200, json=models_body(catalog_model("acme/old"))))
    with router:
        await load(tmp_path, clock)
    clock.now = T0 + age
    router, route = mocked(httpx.Response(200, json=models_body(catalog_model("acme/new"))))
    with router:
        catalog = await load(tmp_path, clock, ttl=ttl)
    assert (route.call_count, list(catalog.entries), catalog.from_cache) == (
        (1, ["acme/new"], False) if fetches else (0, ["acme/old"], True)
    )
    assert catalog.fetched_at == (clock.now if fetches else T0)


@pytest.mark.anyio
async def test_refresh_fetches_even_when_the_cache_is_fresh(tmp_path: Path) -> None:
    clock = Clock()
    router, _ = mocked(httpx.Response(200, json=models_body(catalog_model("acme/old"))))
    with router:
        await load(tmp_path, clock)
    clock.now = T0 + timedelta(minutes=1)
    router, route = mocked(httpx.Response(200, json=models_body(catalog_model("acme/new"))))
    with router:
        catalog = await load(tmp_path, clock, refresh=True)
    assert route.call_count == 1
    assert catalog == Catalog(entries={"acme/new": entry("acme/new")}, fetched_at=clock.now)


STALE_CASES = [
    (
        httpx.ConnectError("Connection refused"),
        "cannot reach the endpoint openrouter.test (Connection refused); check the endpoint URL "
        "(OPENROUTER_BASE_URL or api_endpoint in the provider file) and your network and proxy settings",
    ),
    (
        httpx.ReadTimeout("timed out"),
        f"the request to {MODELS_URL} timed out (ReadTimeout)",
    ),
    (
        httpx.Response(503, json={"error": {"message": "down for maintenance", "code": 503}}),
        f"the model catalog at {MODELS_URL} could not be fetched: "
        "the provider is unavailable (503): down for maintenance",
    ),
    (
        httpx.Response(200, text="<html>captive portal</html>"),
        f"the model catalog at {MODELS_URL} is not JSON",
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("failure", "reason"), STALE_CASES, ids=["offline", "timeout", "503", "not json"])
async def test_a_failed_refresh_falls_back_to_the_stale_cache_and_says_why(
    tmp_path: Path, failure: httpx.Response | Exception, reason: str
) -> None:
    clock = Clock()
    router, _ = mocked(httpx.Response(200, json=models_body(catalog_model("acme/one"))))
    with router:
        await load(tmp_path, clock)
    clock.now = T0 + timedelta(days=3)
    router, route = mocked(failure)
    with router:
        catalog = await load(tmp_path, clock)
    assert route.call_count == 1
    assert catalog == Catalog(
        entries={"acme/one": entry("acme/one")},
        fetched_at=T0,
        stale=True,
        stale_reason=reason,
        from_cache=True,
    )


ERROR_CASES: list[tuple[str, httpx.Response | Exception, type[ProviderError], str]] = [
    (
        "offline",
        httpx.ConnectError("Connection refused"),
        ProviderConnectionError,
        "cannot reach the endpoint openrouter.test (Connection refused); check the endpoint URL "
        "(OPENROUTER_BASE_URL or api_endpoint in the provider file) and your network and proxy settings",
    ),
    (
        "401 with the key echoed",
        httpx.Response(401, json={"error": {"message": f"bad key {KEY}", "code": 401}}),
        AuthenticationError,
        f"the model catalog at {MODELS_URL} could not be fetched: "
        "the API key was refused (401): bad key [redacted]",
    ),
    (
        "402",
        httpx.Response(402, json={"error": {"message": "Insufficient credits", "code": 402}}),
        InsufficientCreditsError,
        f"the model catalog at {MODELS_URL} could not be fetched: "
        "not enough credits for this request (402): Insufficient credits",
    ),
    (
        "429",
        httpx.Response(429, json={"error": {"message": "slow down", "code": 429}}),
        RateLimitError,
        f"the model catalog at {MODELS_URL} could not be fetched: rate limited (429): slow down",
    ),
    (
        "500 without a body",
        httpx.Response(500),
        ProviderUnavailableError,
        f"the model catalog at {MODELS_URL} could not be fetched: "
        "the provider is unavailable (500): Internal Server Error",
    ),
    (
        "404 text body",
        httpx.Response(404, text="no such route"),
        BadRequestError,
        f"the model catalog at {MODELS_URL} could not be fetched: not found (404)",
    ),
    (
        "200 not json",
        httpx.Response(200, text="hello"),
        BadResponseError,
        f"the model catalog at {MODELS_URL} is not JSON",
    ),
    (
        "200 without data",
        httpx.Response(200, json={"models": []}),
        BadResponseError,
        f"the model catalog at {MODELS_URL} has no 'data' list",
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("failure", "error_type", "message"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
async def test_a_failed_fetch_without_a_cache_raises_one_line_provider_error(
    tmp_path: Path, failure: httpx.Response | Exception, error_type: type[ProviderError], message: str
) -> None:
    router, _ = mocked(failure)
    with router, pytest.raises(ProviderError) as caught:
        await load(tmp_path, Clock(), api_key=KEY)
    assert (type(caught.value), str(caught.value)) == (error_type, message)


@pytest.mark.anyio
async def test_cache_files_are_named_by_endpoint_hash_and_never_hold_the_key(tmp_path: Path) -> None:
    other = "https://proxy.test/v1"
    with respx.mock(assert_all_mocked=True) as router:
        router.get(MODELS_URL).mock(
            return_value=httpx.Response(200, json=models_body(catalog_model("a/one")))
        )
        router.get(f"{other}/models").mock(
            return_value=httpx.Response(200, json=models_body(catalog_model("b/two")))
        )
        await load(tmp_path, Clock(), api_key=KEY)
        await load(tmp_path, Clock(), base_url=other, api_key=KEY)
        again = await load(tmp_path, Clock(), base_url=f"{BASE}/", api_key=KEY)
    files = sorted((tmp_path / "catalog").iterdir())
    assert len(files) == 2
    assert all(len(f.stem) == 24 and f.suffix == ".json" for f in files)
    assert not any(KEY in f.read_text() for f in files)
    assert again.from_cache
    assert list(again.entries) == ["a/one"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "content",
    ["{not json", "[]", '{"format": 1, "fetched_at": "yesterday", "data": []}', '{"format": 99, "data": []}'],
    ids=["broken json", "wrong shape", "bad timestamp", "unknown format"],
)
async def test_an_unreadable_cache_is_ignored_and_replaced(tmp_path: Path, content: str) -> None:
    router, _ = mocked(httpx.Response(200, json=models_body(catalog_model("acme/one"))))
    with router:
        await load(tmp_path, Clock())
    (cache_file,) = (tmp_path / "catalog").iterdir()
    cache_file.write_text(content)
    router, route = mocked(httpx.Response(200, json=models_body(catalog_model("acme/two"))))
    with router:
        catalog = await load(tmp_path, Clock())
    assert route.call_count == 1
    assert list(catalog.entries) == ["acme/two"]
    assert json.loads(cache_file.read_text())["data"][0]["id"] == "acme/two"


@pytest.mark.anyio
async def test_without_a_cache_dir_every_load_fetches() -> None:
    router, route = mocked(httpx.Response(200, json=models_body()))
    with router:
        await load(None, Clock())
        await load(None, Clock())
    assert route.call_count == 2


@pytest.mark.anyio
async def test_a_cache_that_cannot_be_written_does_not_fail_the_load(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    router, _ = mocked(httpx.Response(200, json=models_body(catalog_model("acme/one"))))
    with router:
        catalog = await load(blocker, Clock())
    assert catalog == Catalog(entries={"acme/one": entry("acme/one")}, fetched_at=T0)


def catalog_of(*entries: CatalogEntry) -> Catalog:
    return Catalog(entries={e.id: e for e in entries}, fetched_at=T0)


def test_an_alias_not_listed_stands_for_the_newest_model_of_its_family() -> None:
    catalog = catalog_of(
        CatalogEntry(id="anthropic/claude-sonnet-4", created=1),
        CatalogEntry(id="anthropic/claude-sonnet-4.5", created=3),
        CatalogEntry(id="anthropic/claude-sonnet-4.5:thinking", created=4),
        CatalogEntry(id="anthropic/claude-3.5-sonnet", created=2),
    )
    found = catalog.lookup("~anthropic/claude-sonnet-latest")
    assert found is not None
    assert found.id == "anthropic/claude-sonnet-4.5"
    assert catalog.lookup("~acme/none-latest") is None


def test_a_listed_alias_is_its_own_entry() -> None:
    alias = CatalogEntry(id="~anthropic/claude-sonnet-latest", created=9)
    catalog = catalog_of(alias, CatalogEntry(id="anthropic/claude-sonnet-4.5", created=3))
    assert catalog.lookup("~anthropic/claude-sonnet-latest") == alias


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ("gpt-4o", ["openai/gpt-4o"]),
        ("openai/gpt4o", ["openai/gpt-4o", "openai/gpt-4o-mini"]),
        ("claude-sonet-4.5", ["anthropic/claude-sonnet-4.5"]),
        ("nothing/like-it", []),
    ],
)
def test_close_catalog_ids_are_suggested_for_an_unlisted_model(wanted: str, expected: list[str]) -> None:
    catalog = catalog_of(
        CatalogEntry(id="openai/gpt-4o"),
        CatalogEntry(id="openai/gpt-4o-mini"),
        CatalogEntry(id="anthropic/claude-sonnet-4.5"),
        CatalogEntry(id="google/gemini-2.5-flash"),
    )
    assert catalog.suggest(wanted) == expected
