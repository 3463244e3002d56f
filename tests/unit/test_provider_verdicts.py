"""Per-provider endpoints and verdicts: the listing's lenient parse, the ids it is asked for,
the probe store's provider records, and how verdicts route a model's requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from agent.core.provider_verdicts import pinned, routed_by_verdicts
from agent.errors import BadRequestError, BadResponseError, ConfigError
from agent.models.capabilities import CapabilityFacts
from agent.models.catalog import Catalog, CatalogEntry, CatalogPricing
from agent.models.endpoints import ModelEndpoint, endpoints_model, fetch_endpoints
from agent.models.probe_store import PROBES_FILE_NAME, ProbeRecord, ProbeStore, ProviderVerdict
from agent.providers.routing import RequestExtras
from tests.loopback import endpoint

BASE = "https://openrouter.test/api/v1"
T0 = datetime(2026, 4, 5, 6, 7, 8, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize(
    ("model", "listed_as"),
    [
        ("acme/m", "acme/m"),
        ("acme/m:nitro", "acme/m"),
        ("acme/m:online", "acme/m"),
        ("acme/m:free", "acme/m:free"),
        ("acme/m:thinking", "acme/m:thinking"),
        ("acme/m@preset/fast", "acme/m"),
        ("acme/m:floor@preset/fast", "acme/m"),
    ],
)
def test_a_variant_or_preset_lists_its_base_models_endpoints_but_free_has_its_own(
    model: str, listed_as: str
) -> None:
    assert endpoints_model(model) == listed_as


def test_the_catalog_resolves_aliases_before_listing() -> None:
    catalog = Catalog(
        entries={
            "acme/m-2": CatalogEntry(id="acme/m-2", created=2),
            "acme/m-1": CatalogEntry(id="acme/m-1", created=1),
        },
        fetched_at=T0,
    )
    assert endpoints_model("~acme/m-latest", catalog) == "acme/m-2"


@pytest.mark.parametrize("model", ["@preset/fast", "gpt-4o", "~acme/m-latest"])
def test_an_id_without_author_and_slug_is_a_usage_error(model: str) -> None:
    with pytest.raises(ConfigError, match="names no author/slug model") as caught:
        endpoints_model(model)
    assert caught.value.exit_code == 2


@pytest.mark.anyio
async def test_endpoints_are_parsed_leniently_and_unpinnable_ones_skipped() -> None:
    odd = {
        **endpoint("Odd", tag="odd/int4", status="up"),
        "context_length": "lots",
        "supported_parameters": "tools",
    }
    body = {
        "data": {"id": "acme/m:free", "endpoints": [endpoint("DeepInfra", tag="deepinfra/fp8"), odd, {}, 7]}
    }
    with respx.mock(assert_all_mocked=True) as router:
        route = router.get(f"{BASE}/models/acme/m:free/endpoints").mock(
            return_value=httpx.Response(200, json=body)
        )
        async with httpx.AsyncClient() as client:
            listed = await fetch_endpoints(client, BASE, "acme/m:free", api_key="sk-test")
    assert route.calls.last.request.headers["authorization"] == "Bearer sk-test"
    assert (listed.model, listed.listed_as, listed.skipped) == ("acme/m:free", "acme/m:free", 2)
    first, second = listed.endpoints
    assert first == ModelEndpoint(
        provider_name="DeepInfra",
        tag="deepinfra/fp8",
        name="DeepInfra",
        model_id="",
        model_name="",
        quantization="fp8",
        context_length=128_000,
        max_completion_tokens=4096,
        max_prompt_tokens=128_000,
        pricing=CatalogPricing(
            prompt=Decimal("0.000001"), completion=Decimal("0.000002"), request=Decimal(0)
        ),
        supported_parameters=["tools", "tool_choice", "parallel_tool_calls", "max_tokens", "temperature"],
        status=0,
        uptime_last_30m=99.5,
        uptime_last_1d=99.8,
        supports_implicit_caching=False,
    )
    assert (second.slug, second.context_length, second.supported_parameters, second.status) == (
        "odd/int4",
        None,
        None,
        None,
    )
    assert (first.supports_tools, second.supports_tools, second.takes("tool_choice")) == (True, False, True)
    assert listed.with_tools == (first,)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("response", "error", "message"),
    [
        (
            httpx.Response(404, json={"error": {"code": 404, "message": "Resource not found"}}),
            BadRequestError,
            f"the provider endpoints of acme/nope could not be listed: {BASE}/models/acme/nope/endpoints "
            "knows no such model (404)",
        ),
        (
            httpx.Response(200, json={"data": []}),
            BadResponseError,
            f"the provider endpoints of acme/nope at {BASE}/models/acme/nope/endpoints "
            "has no 'data.endpoints' list",
        ),
    ],
    ids=["unknown model", "wrong shape"],
)
async def test_a_failed_listing_is_one_provider_error_naming_the_model_and_url(
    response: httpx.Response, error: type[Exception], message: str
) -> None:
    with respx.mock(assert_all_mocked=True) as router:
        router.get(f"{BASE}/models/acme/nope/endpoints").mock(return_value=response)
        async with httpx.AsyncClient() as client:
            with pytest.raises(error) as caught:
                await fetch_endpoints(client, BASE, "acme/nope")
    assert str(caught.value) == message


def verdict(name: Any, latency: float | None = 100.0) -> ProviderVerdict:
    return ProviderVerdict(provider="P", verdict=name, latency_ms=latency, probed_at=T0)


def record(**verdicts: ProviderVerdict) -> ProbeRecord:
    return ProbeRecord(facts=CapabilityFacts(), probed_at=T0, providers=verdicts)


MIXED = record(
    slow=verdict("pass", 900.0), fast=verdict("pass", 100.0), bad=verdict("fail"), down=verdict("error")
)


@pytest.mark.parametrize(
    ("provider", "probe", "shared", "routed", "note"),
    [
        pytest.param(
            None,
            MIXED,
            False,
            {"order": ["fast", "slow"], "ignore": ["bad"]},
            "routing acme/m to providers that passed agent probe --providers: fast, slow (ignoring bad, "
            "which failed)",
            id="passing first, fastest first; failing ignored",
        ),
        pytest.param(
            {"ignore": ["other"], "sort": "price"},
            MIXED,
            False,
            {"order": ["fast", "slow"], "ignore": ["other", "bad"], "sort": "price"},
            "routing acme/m to providers that passed agent probe --providers: fast, slow (ignoring bad, "
            "which failed)",
            id="the user's other keys kept",
        ),
        pytest.param(
            None,
            MIXED,
            True,
            {"order": ["fast", "slow"]},
            "routing acme/m to providers that passed agent probe --providers: fast, slow",
            id="fallback models share the request: nothing ignored",
        ),
        pytest.param({"only": ["bad"]}, MIXED, False, {"only": ["bad"]}, None, id="--only wins"),
        pytest.param({"order": ["bad"]}, MIXED, False, {"order": ["bad"]}, None, id="--provider-order wins"),
        pytest.param(None, record(bad=verdict("fail")), False, None, None, id="none passed"),
        pytest.param(None, ProbeRecord(facts=CapabilityFacts(), probed_at=T0), False, None, None, id="none"),
        pytest.param(None, None, False, None, None, id="never probed"),
    ],
)
def test_verdicts_route_to_passing_providers_unless_the_user_chose(
    provider: dict[str, Any] | None, probe: ProbeRecord | None, shared: bool, routed: Any, note: str | None
) -> None:
    extras = RequestExtras(provider=provider, reasoning={"effort": "low"})
    assert routed_by_verdicts(extras, probe, model="acme/m", shared=shared) == (
        RequestExtras(provider=routed, reasoning={"effort": "low"}),
        note,
    )


def test_a_pin_replaces_the_provider_choice_and_keeps_other_preferences() -> None:
    extras = RequestExtras(provider={"order": ["a"], "ignore": ["b"], "quantizations": ["fp4"], "zdr": True})
    assert pinned(extras, "b/fp8") == RequestExtras(
        provider={"zdr": True, "only": ["b/fp8"], "allow_fallbacks": False}
    )


def test_provider_verdicts_are_stored_with_the_models_facts_and_survive_later_facts(tmp_path: Path) -> None:
    path = tmp_path / PROBES_FILE_NAME
    store = ProbeStore(path, clock=lambda: T0)
    store.record(BASE, "acme/m", CapabilityFacts(parallel_tool_calls=True), note="agent probe: 7/7")
    store.record_providers(BASE, "acme/m", {"a/fp8": verdict("pass"), "b": verdict("fail")})
    store.record_no_native_tools(BASE, "acme/m:free")
    store.record(BASE, "acme/m", CapabilityFacts(native_tools=True))
    got = ProbeStore(path).get(BASE, "acme/m")
    assert got == ProbeRecord(
        facts=CapabilityFacts(parallel_tool_calls=True, native_tools=True),
        probed_at=T0,
        note="agent probe: 7/7",
        providers={"a/fp8": verdict("pass"), "b": verdict("fail")},
    )
    assert json.loads(path.read_text())["format"] == 2


def test_a_format_1_store_is_read_and_rewritten_as_format_2(tmp_path: Path) -> None:
    path = tmp_path / PROBES_FILE_NAME
    ProbeStore(path, clock=lambda: T0).record(BASE, "acme/m", CapabilityFacts(native_tools=False))
    document = json.loads(path.read_text())
    path.write_text(json.dumps({**document, "format": 1}))
    store = ProbeStore(path, clock=lambda: T0)
    assert store.get(BASE, "acme/m") == ProbeRecord(facts=CapabilityFacts(native_tools=False), probed_at=T0)
    store.record_providers(BASE, "acme/m", {"a": verdict("pass")})
    assert json.loads(path.read_text())["format"] == 2
    assert store.get(BASE, "acme/m") == ProbeRecord(
        facts=CapabilityFacts(native_tools=False), probed_at=T0, providers={"a": verdict("pass")}
    )
