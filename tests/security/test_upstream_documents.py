"""Hostile answers to the runtime's GETs (the model catalog, the key information, a model's provider
endpoints), through the one reader they use (agent/providers/http_get.py): each is one error line,
bounded, without the key."""

from __future__ import annotations

import httpx
import pytest
import respx

from agent.errors import BadResponseError, ProviderError
from agent.models.catalog import _fetch as fetch_catalog_raw
from agent.models.endpoints import fetch_endpoints
from agent.providers.key_info import fetch_key_info

pytestmark = pytest.mark.anyio

BASE = "https://openrouter.test/api/v1"
KEY = "sk-or-v1-" + "fedcba9876543210" * 4

HOSTILE = {
    "huge": b'{"data": {"label": "' + b"x" * (70 << 20) + b'"}}',
    "nested": b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "control-characters": b"\x1b]0;owned\x07\x1b[2J not json",
}


ENDPOINTS = "models/acme/model/endpoints"
PATHS = ["key", "models", ENDPOINTS]


async def fetch(path: str) -> object:
    async with httpx.AsyncClient() as client:
        if path == "key":
            return await fetch_key_info(client, BASE, KEY)
        if path == ENDPOINTS:
            return await fetch_endpoints(client, BASE, "acme/model", api_key=KEY)
        return await fetch_catalog_raw(client, BASE, KEY, "chat")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("body", sorted(HOSTILE))
@respx.mock
async def test_a_hostile_body_is_one_bad_response_line(path: str, body: str) -> None:
    respx.get(f"{BASE}/{path}").respond(200, content=HOSTILE[body])
    with pytest.raises(BadResponseError) as caught:
        await fetch(path)
    message = str(caught.value)
    assert "\n" not in message and "\x1b" not in message and len(message) < 300


@pytest.mark.parametrize("path", PATHS)
@respx.mock
async def test_an_error_body_echoing_the_key_never_shows_it(path: str) -> None:
    body = {"error": {"code": 401, "message": f"bad key {KEY}\nsecond line"}}
    respx.get(f"{BASE}/{path}").respond(401, json=body)
    with pytest.raises(ProviderError) as caught:
        await fetch(path)
    assert KEY not in str(caught.value) and "\n" not in str(caught.value)
