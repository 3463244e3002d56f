"""``GET /generation``: one generation's stats, read leniently; a fresh id is asked again briefly."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from agent.cli.render import generation_line
from agent.errors import BadRequestError
from agent.providers.generation import GenerationLookup, GenerationStats, fetch_generation, lookup_generations

pytestmark = pytest.mark.anyio

BASE = "https://openrouter.test/api/v1"
URL = f"{BASE}/generation"
KEY = "sk-or-v1-" + "0123456789abcdef" * 4
OAS_EXAMPLE: dict[str, Any] = {  # OAS GenerationResponse example (abridged)
    "id": "gen-3bhGkxlo4XFrqiabUM7NDtwDzWwG",
    "total_cost": 0.0015,
    "cache_discount": None,
    "model": "sao10k/l3-stheno-8b",
    "provider_name": "Infermatic",
    "latency": 1250,
    "generation_time": 1200,
    "finish_reason": "stop",
    "native_finish_reason": "stop",
    "tokens_prompt": 10,
    "tokens_completion": 25,
    "native_tokens_prompt": 10,
    "native_tokens_completion": 25,
    "native_tokens_reasoning": 5,
    "native_tokens_cached": 3,
    "streamed": True,
    "upstream_id": "chatcmpl-791bcf62",
    "workspace_id": "550e8400",
}
STATS = GenerationStats(
    id="gen-3bhGkxlo4XFrqiabUM7NDtwDzWwG",
    model="sao10k/l3-stheno-8b",
    provider_name="Infermatic",
    total_cost=0.0015,
    latency=1250.0,
    generation_time=1200.0,
    tokens_prompt=10,
    tokens_completion=25,
    native_tokens_prompt=10,
    native_tokens_completion=25,
    native_tokens_reasoning=5,
    native_tokens_cached=3,
    finish_reason="stop",
    native_finish_reason="stop",
    streamed=True,
)


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def lookup(*ids: str, sleep: Sleeps | None = None) -> list[GenerationLookup]:
    async with httpx.AsyncClient() as client:
        return await lookup_generations(client, BASE, KEY, ids, sleep=sleep or Sleeps())


@respx.mock
async def test_a_generation_is_read_with_the_key_and_its_id_in_the_query() -> None:
    route = respx.get(URL).respond(200, json={"data": OAS_EXAMPLE})
    async with httpx.AsyncClient() as client:
        stats = await fetch_generation(client, BASE, KEY, "gen-3bhGkxlo4XFrqiabUM7NDtwDzWwG")
    assert stats == STATS
    request = route.calls.last.request
    assert request.url.params["id"] == "gen-3bhGkxlo4XFrqiabUM7NDtwDzWwG"
    assert request.headers["authorization"] == f"Bearer {KEY}"


@respx.mock
async def test_fields_that_do_not_fit_are_unknown() -> None:
    respx.get(URL).respond(
        200, json={"data": {"id": "gen-1", "total_cost": "cheap", "latency": [1], "model": 7}}
    )
    [found] = await lookup("gen-1")
    assert found == GenerationLookup("gen-1", stats=GenerationStats(id="gen-1"))


@respx.mock
async def test_an_id_not_known_yet_is_asked_again_with_a_growing_wait() -> None:
    route = respx.get(URL).mock(
        side_effect=[
            httpx.Response(404, json={"error": {"code": 404, "message": "Generation not found"}}),
            httpx.Response(404, json={"error": {"code": 404, "message": "Generation not found"}}),
            httpx.Response(200, json={"data": OAS_EXAMPLE}),
        ]
    )
    sleeps = Sleeps()
    [found] = await lookup("gen-3bhGkxlo4XFrqiabUM7NDtwDzWwG", sleep=sleeps)
    assert found.stats == STATS
    assert (route.call_count, sleeps.waits) == (3, [0.5, 1.0])


@respx.mock
async def test_an_id_never_found_says_so_after_four_attempts() -> None:
    route = respx.get(URL).respond(404, json={"error": {"code": 404, "message": "Generation not found"}})
    sleeps = Sleeps()
    [found] = await lookup("gen-x", sleep=sleeps)
    assert found == GenerationLookup("gen-x", error="generation gen-x is not known (yet)")
    assert (route.call_count, sleeps.waits) == (4, [0.5, 1.0, 2.0])


@respx.mock
async def test_other_failures_are_not_retried_and_name_what_was_fetched() -> None:
    route = respx.get(URL).respond(401, json={"error": {"code": 401, "message": "User not found."}})
    [found] = await lookup("gen-x")
    assert route.call_count == 1
    assert found.stats is None and found.error is not None
    assert found.error.startswith(
        f"the generation at {URL}?id=gen-x could not be fetched: the API key was refused"
    )
    assert KEY not in found.error


@respx.mock
async def test_a_body_without_data_is_a_bad_response() -> None:
    respx.get(URL).respond(200, json={"nothing": True})
    [found] = await lookup("gen-x")
    assert found.error == f"the generation at {URL}?id=gen-x has no 'data' object"


async def test_a_404_is_a_bad_request_with_its_status() -> None:
    with respx.mock:
        respx.get(URL).respond(404, json={"error": {"code": 404, "message": "nope"}})
        async with httpx.AsyncClient() as client:
            with pytest.raises(BadRequestError) as caught:
                await fetch_generation(client, BASE, KEY, "gen-x")
    assert caught.value.status == 404


LINES = [
    (
        GenerationLookup("gen-3bhGkxlo4XFrqiabUM7NDtwDzWwG", stats=STATS),
        "generation gen-3bhGkxlo4XFrqiabUM7NDtwDzWwG: provider Infermatic, model sao10k/l3-stheno-8b, "
        "cost $0.0015, latency 1,250 ms (generation 1,200 ms), tokens 10 in, 25 out (5 reasoning, 3 cached), "
        "finish stop",
    ),
    (
        GenerationLookup(
            "gen-2", stats=GenerationStats(total_cost=0.00001, cache_discount=0.000002, tokens_prompt=3)
        ),
        "generation gen-2: provider ?, model ?, cost $0.00001, cache discount $0.000002, tokens 3 in, ? out",
    ),
    (
        GenerationLookup("gen-3", stats=GenerationStats(provider_name="Evil\x1b[2J", model="m")),
        "generation gen-3: provider Evil, model m, cost unknown",
    ),
    (
        GenerationLookup("gen-4", error="generation gen-4 is not known (yet)"),
        "generation gen-4: could not be looked up (generation gen-4 is not known (yet))",
    ),
]


@pytest.mark.parametrize(("lookup_", "line"), LINES)
def test_each_generation_is_one_clean_line(lookup_: GenerationLookup, line: str) -> None:
    assert generation_line(lookup_) == line
