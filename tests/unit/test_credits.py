"""A final 402 or 429 says what ``GET /key`` reports; a failed lookup leaves the error as it was."""

from __future__ import annotations

import anyio
import httpx
import pytest
import respx

from agent.errors import ProviderError, ProviderUnavailableError
from agent.providers.advice import with_advice
from agent.providers.credits import key_figures, with_key_figures
from agent.providers.http_errors import classify
from agent.providers.key_info import KeyInfo
from tests.loopback.key import key_info

pytestmark = pytest.mark.anyio

BASE = "https://openrouter.test/api/v1"
KEY_URL = f"{BASE}/key"
KEY = "sk-or-v1-" + "0123456789abcdef" * 4
MODEL = "meta/llama:free"


def http(status: int, message: str) -> ProviderError:
    return with_advice(classify(status, message, model=MODEL, secret=None))


async def explained(error: ProviderError, *, within: float = 3.0) -> ProviderError:
    async with httpx.AsyncClient() as client:
        return await with_key_figures(error, client, BASE, KEY, within=within)


FIGURES = [
    ("402 with a limit", 402, KeyInfo(usage=4.97, limit=5, limit_remaining=0.03),
     "The key has $0.03 of its $5.00 limit left (usage $4.97)."),
    ("402 with a resetting limit", 402, KeyInfo(usage=0.5, limit=0.5, limit_remaining=0, limit_reset="daily"),
     "The key has $0.00 of its $0.50 limit left (usage $0.50, the limit resets daily)."),
    ("402 without a limit", 402, KeyInfo(usage=12.5),
     "The key has no credit limit (usage $12.50), so the account's credits ran out."),
    ("402 tiny amounts", 402, KeyInfo(usage=0.9988, limit=1, limit_remaining=0.0012),
     "The key has $0.0012 of its $1.00 limit left (usage $1.00)."),
    ("429 free tier", 429, KeyInfo(is_free_tier=True),
     "The key is on the free tier (is_free_tier): free models allow 20 requests a minute and 50 a day "
     "until you buy 10 credits (then 1000 a day)."),
    ("429 free tier with a limit", 429, KeyInfo(is_free_tier=True, usage=1, limit=1, limit_remaining=0),
     "The key is on the free tier (is_free_tier): free models allow 20 requests a minute and 50 a day "
     "until you buy 10 credits (then 1000 a day); it has $0.00 of its $1.00 limit left (usage $1.00)."),
    ("429 credits bought", 429, KeyInfo(is_free_tier=False),
     "The key is not on the free tier (10 credits bought): "
     "free models allow 20 requests a minute and 1000 a day."),
    ("429 nothing to say", 429, KeyInfo(), ""),
    ("429 odd reset word dropped", 429, KeyInfo(limit=2, limit_reset="\x1b[2Jsoon!"),
     "The key has a $2.00 credit limit."),
]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "info", "sentence"), [c[1:] for c in FIGURES], ids=[c[0] for c in FIGURES]
)
def test_the_key_figures_sentence(status: int, info: KeyInfo, sentence: str) -> None:
    assert key_figures(info, http(status, "Rate limit exceeded: free-models-per-min")) == sentence


@respx.mock
async def test_a_402_gets_the_figures_before_its_advice() -> None:
    route = respx.get(KEY_URL).respond(
        200, json={"data": key_info(usage=4.97, limit=5, limit_remaining=0.03)}
    )
    error = await explained(http(402, "Insufficient credits"))
    assert error.message == (
        "not enough credits for this request (402): Insufficient credits. "
        "The key has $0.03 of its $5.00 limit left (usage $4.97). "
        "Add credits at https://openrouter.ai/settings/credits, ask for fewer max_tokens, "
        "or use a free model (an id ending in :free)."
    )
    assert (error.status, type(error).__name__, error.exit_code) == (402, "InsufficientCreditsError", 4)
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"


@respx.mock
async def test_a_free_tier_429_names_the_tier_in_place_of_the_generic_free_model_limits() -> None:
    respx.get(KEY_URL).respond(200, json={"data": key_info(is_free_tier=True)})
    error = await explained(http(429, "Rate limit exceeded: free-models-per-day"))
    assert error.message == (
        "rate limited (429): Rate limit exceeded: free-models-per-day. "
        "The key is on the free tier (is_free_tier): free models allow 20 requests a minute and 50 a day "
        "until you buy 10 credits (then 1000 a day). Rate limited; a daily limit: try again tomorrow."
    )


@respx.mock
@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500, json={"error": {"code": 500, "message": "down"}}),
        httpx.Response(401, json={"error": {"code": 401, "message": "User not found."}}),
        httpx.Response(200, text="<html>"),
        httpx.ConnectError("refused"),
    ],
    ids=["500", "401", "not json", "connection"],
)
async def test_a_failed_key_lookup_leaves_the_error_as_it_was(answer: httpx.Response | Exception) -> None:
    respx.get(KEY_URL).mock(side_effect=[answer])
    error = http(402, "Insufficient credits")
    assert await explained(error) is error


@respx.mock
async def test_a_slow_key_lookup_is_given_up_on() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(5)
        return httpx.Response(200, json={"data": key_info(limit=1, limit_remaining=0)})

    respx.get(KEY_URL).mock(side_effect=slow)
    error = http(402, "Insufficient credits")
    assert await explained(error, within=0.05) is error


@respx.mock
async def test_other_errors_do_not_look_the_key_up() -> None:
    route = respx.get(KEY_URL).respond(200, json={"data": key_info()})
    error: ProviderError = ProviderUnavailableError("down", status=503)
    assert await explained(error) is error
    assert not route.called
