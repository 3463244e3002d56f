"""OpenRouter's ``models`` routing array: the request body, and what a route may contain."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import httpx
import pytest

from agent.errors import ConfigError
from agent.messages import RequestSettings, UserMessage
from agent.providers import OpenAICompatibleModel, create_http_client

pytestmark = pytest.mark.anyio

BASE_URL = "https://openrouter.test/api/v1"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with create_http_client(5.0) as client:
        yield client


def routed(
    client: httpx.AsyncClient, model: str, route: Sequence[str] | None, provider: str = "openrouter"
) -> OpenAICompatibleModel:
    return OpenAICompatibleModel(
        client, model=model, base_url=BASE_URL, api_key="k", provider_name=provider, route_models=route
    )


BODIES = [
    ("three models", "a/x", ["a/x", "b/y", "c/z"], {"model": "a/x", "models": ["a/x", "b/y", "c/z"]}),
    ("two models", "a/x", ["a/x", "b/y"], {"model": "a/x", "models": ["a/x", "b/y"]}),
    ("a route of one sends no array", "a/x", ["a/x"], {"model": "a/x"}),
    ("no route", "a/x", None, {"model": "a/x"}),
]


@pytest.mark.parametrize(("model", "route", "expected"), [c[1:] for c in BODIES], ids=[c[0] for c in BODIES])
async def test_route_models_are_sent_as_the_models_array_with_the_first_as_model(
    http: httpx.AsyncClient, model: str, route: list[str] | None, expected: dict[str, object]
) -> None:
    client = routed(http, model, route)

    body = client.request_body([UserMessage(content="hi")], [], RequestSettings())

    assert body == {**expected, "messages": [{"role": "user", "content": "hi"}], "usage": {"include": True}}
    assert client.route_models == tuple(route or [model])


BAD_ROUTES = [
    (
        "more than three",
        "a/x",
        ["a/x", "b/y", "c/z", "d/w"],
        "openrouter",
        "at most 3 models in one request, got 4",
    ),
    ("not starting with the model", "a/x", ["b/y", "a/x"], "openrouter", "must start with the model 'a/x'"),
    ("a model twice", "a/x", ["a/x", "b/y", "b/y"], "openrouter", "lists a model twice"),
    ("not openrouter", "a/x", ["a/x", "b/y"], "local", "needs OpenRouter, not provider 'local'"),
    ("a string", "a/x", "a/x,b/y", "openrouter", "expected a list of model ids"),
]


@pytest.mark.parametrize(
    ("model", "route", "provider", "message"), [c[1:] for c in BAD_ROUTES], ids=[c[0] for c in BAD_ROUTES]
)
async def test_invalid_routes_are_refused_with_one_line_naming_route_models(
    http: httpx.AsyncClient, model: str, route: Sequence[str], provider: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=r"^route_models: ") as raised:
        routed(http, model, route, provider)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


async def test_repr_shows_the_route_but_never_the_key(http: httpx.AsyncClient) -> None:
    client = OpenAICompatibleModel(
        http, model="a/x", base_url=BASE_URL, api_key="sk-or-v1-secret-key-value", route_models=["a/x", "b/y"]
    )
    assert repr(client) == (
        f"OpenAICompatibleModel(model='a/x', base_url='{BASE_URL}', provider_name='openrouter', "
        "route_models=['a/x', 'b/y'])"
    )
