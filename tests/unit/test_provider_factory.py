"""build_chat_model: a chain cut into groups, each retried, all behind one fallback model."""

from __future__ import annotations

import pytest

from agent.errors import ConfigError
from agent.providers import (
    FallbackChatModel,
    OpenAICompatibleModel,
    RetryingChatModel,
    build_chat_model,
    create_http_client,
    model_groups,
)

pytestmark = pytest.mark.anyio

GROUPS = [
    ("openrouter alone", "openrouter", "a", [], [["a"]]),
    ("openrouter three", "openrouter", "a", ["b", "c"], [["a", "b", "c"]]),
    ("openrouter five", "openrouter", "a", ["b", "c", "d", "e"], [["a", "b", "c"], ["d", "e"]]),
    ("openrouter seven", "openrouter", "a", list("bcdefg"), [["a", "b", "c"], ["d", "e", "f"], ["g"]]),
    ("duplicates dropped", "openrouter", "a", ["b", "a", "b", "c"], [["a", "b", "c"]]),
    ("whitespace trimmed", "openrouter", " a ", ["b "], [["a", "b"]]),
    ("other provider one per group", "local", "a", ["b", "c"], [["a"], ["b"], ["c"]]),
]


@pytest.mark.parametrize(
    ("provider", "model", "fallbacks", "expected"), [c[1:] for c in GROUPS], ids=[c[0] for c in GROUPS]
)
def test_model_groups_cut_the_chain_by_what_one_request_can_route(
    provider: str, model: str, fallbacks: list[str], expected: list[list[str]]
) -> None:
    assert model_groups(provider, model, fallbacks) == expected


@pytest.mark.parametrize(
    ("model", "fallbacks", "message"),
    [
        ("", [], "--model: a model id must not be empty"),
        ("a", ["b", " "], "--fallback #2: a model id must not be empty"),
    ],
)
def test_empty_model_ids_are_refused_naming_the_flag(model: str, fallbacks: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        model_groups("openrouter", model, fallbacks)
    assert str(raised.value) == message


async def test_build_chat_model_wraps_each_group_in_retry_behind_one_fallback_model() -> None:
    async with create_http_client(5.0) as http:
        model = build_chat_model(
            client=http,
            provider_name="openrouter",
            base_url="http://127.0.0.1:9/api/v1",
            api_key="k",
            model="a",
            fallbacks=["b", "c", "d"],
            max_retries=3,
            extra_headers={"X-Test": "1"},
        )

    assert isinstance(model, FallbackChatModel)
    assert model.model_name == "a"
    assert [type(m) for m in model.models] == [RetryingChatModel, RetryingChatModel]
    members = [m for m in model.models if isinstance(m, RetryingChatModel)]
    assert [(m.max_retries, m.route_models) for m in members] == [(3, ("a", "b", "c")), (3, ("d",))]
    assert all(isinstance(m.inner, OpenAICompatibleModel) for m in members)


async def test_negative_retries_are_a_configuration_error() -> None:
    async with create_http_client(5.0) as http:
        with pytest.raises(ConfigError, match=r"^max_retries: must not be negative, got -1$"):
            build_chat_model(
                client=http,
                provider_name="openrouter",
                base_url="http://127.0.0.1:9",
                api_key=None,
                model="a",
                max_retries=-1,
            )
