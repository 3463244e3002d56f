"""``GET /key``: the calling key's credits and limits, read leniently; failures are provider errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from agent.errors import (
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    ProviderConnectionError,
    ProviderUnavailableError,
)
from agent.providers.key_info import KeyInfo, KeyRateLimit, fetch_key_info
from tests.loopback.key import key_info

pytestmark = pytest.mark.anyio

BASE = "https://openrouter.test/api/v1"
KEY_URL = f"{BASE}/key"
KEY = "sk-or-v1-" + "0123456789abcdef" * 4


async def fetch() -> KeyInfo:
    async with httpx.AsyncClient() as client:
        return await fetch_key_info(client, BASE, KEY)


@respx.mock
async def test_the_key_description_is_read_with_the_key_as_bearer_token() -> None:
    route = respx.get(KEY_URL).respond(
        200, json={"data": key_info(limit=10, limit_remaining=8.75, limit_reset="monthly", is_free_tier=True)}
    )
    info = await fetch()
    assert info == KeyInfo(
        label="sk-or-v1-abc...789",
        usage=1.25,
        usage_daily=1.25,
        usage_weekly=1.25,
        usage_monthly=1.25,
        limit=10.0,
        limit_remaining=8.75,
        limit_reset="monthly",
        is_free_tier=True,
        expires_at=None,
        rate_limit=KeyRateLimit(requests=1000, interval="1h"),
    )
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"


@respx.mock
async def test_fields_that_do_not_fit_are_unknown_and_the_key_itself_is_never_kept() -> None:
    data: dict[str, Any] = {
        "label": f"my key {KEY}",
        "usage": "lots",
        "limit": None,
        "limit_remaining": [1],
        "rate_limit": "deprecated",
        "is_free_tier": {"no": 1},
    }
    respx.get(KEY_URL).respond(200, json={"data": data})
    info = await fetch()
    assert info == KeyInfo(label="my key [redacted]")


@pytest.mark.parametrize(
    ("status", "body", "error", "words"),
    [
        (401, {"error": {"message": "User not found.", "code": 401}}, AuthenticationError, "refused"),
        (404, {"error": {"message": "Not Found", "code": 404}}, BadRequestError, "has no key information"),
        (503, {"error": {"message": "down", "code": 503}}, ProviderUnavailableError, "could not be fetched"),
    ],
)
@respx.mock
async def test_failures_are_the_provider_errors_of_every_request(
    status: int, body: dict[str, Any], error: type[Exception], words: str
) -> None:
    respx.get(KEY_URL).respond(status, json=body)
    with pytest.raises(error) as caught:
        await fetch()
    assert words in str(caught.value)
    assert KEY not in str(caught.value)


@respx.mock
async def test_a_refused_key_exits_4() -> None:
    respx.get(KEY_URL).respond(401, json={"error": {"message": "No cookie auth credentials found"}})
    with pytest.raises(AuthenticationError) as caught:
        await fetch()
    assert caught.value.exit_code == 4


@pytest.mark.parametrize(
    "content", [b"not json", b'{"data": [1, 2]}', b"[]"], ids=["not-json", "data-not-object", "a-list"]
)
@respx.mock
async def test_an_answer_that_is_no_key_description_is_a_bad_response(content: bytes) -> None:
    respx.get(KEY_URL).respond(200, content=content)
    with pytest.raises(BadResponseError):
        await fetch()


@respx.mock
async def test_an_unreachable_endpoint_says_so() -> None:
    respx.get(KEY_URL).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ProviderConnectionError):
        await fetch()
