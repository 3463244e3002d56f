"""OpenRouter's request options beyond the chat: routing, reasoning, structured output, caching."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from agent.errors import ConfigError
from agent.messages import RequestSettings, SystemMessage, ToolSpec, UserMessage
from agent.options import parse_options
from agent.providers import OpenAICompatibleModel
from agent.providers.routing import (
    ProviderPreferences,
    ReasoningSettings,
    RequestExtras,
    reasoning_wire,
    request_extras,
    routing_wire,
)

TOOLS = [ToolSpec(name="calc__add", description="Add.", parameters={"type": "object", "properties": {}})]
MESSAGES = [SystemMessage(content="Be brief."), UserMessage(content="2+2?")]


def body(
    extras: RequestExtras | None = None,
    *,
    tools: list[ToolSpec] | None = None,
    provider_name: str = "openrouter",
    **settings: Any,
) -> dict[str, Any]:
    model = OpenAICompatibleModel(
        httpx.AsyncClient(),
        model="acme/m",
        base_url="http://127.0.0.1:9/api/v1",
        api_key=None,
        provider_name=provider_name,
        extras=extras,
    )
    return model.request_body(MESSAGES, tools or [], RequestSettings(**settings))


def test_flags_make_openrouters_provider_object_and_win_over_the_file_key_by_key() -> None:
    options = parse_options(
        {
            "provider_order": ["deepinfra,together"],
            "provider_only": ["deepinfra", "together", "fireworks"],
            "provider_ignore": ["azure"],
            "provider_sort": "throughput",
            "max_price": "1,2.5",
            "allow_fallbacks": False,
            "data_collection": "deny",
            "zdr": True,
            "quantizations": ["fp8,bf16"],
        },
        as_flags=True,
    )
    configured = ProviderPreferences(sort="price", require_parameters=False, only=["openai"])
    assert routing_wire(options, configured) == {
        "order": ["deepinfra", "together"],
        "only": ["deepinfra", "together", "fireworks"],
        "ignore": ["azure"],
        "sort": "throughput",
        "max_price": {"prompt": "1", "completion": "2.5"},
        "allow_fallbacks": False,
        "require_parameters": False,
        "data_collection": "deny",
        "zdr": True,
        "quantizations": ["fp8", "bf16"],
    }
    assert routing_wire(parse_options({}), None) is None
    assert routing_wire(parse_options({}), configured) == {
        "only": ["openai"],
        "sort": "price",
        "require_parameters": False,
    }


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"quantizations": ["fp9"]}, "--quantizations: unknown quantization 'fp9'"),
        ({"max_price": {"tokens": 1}}, "--max-price: unknown max_price key 'tokens'"),
    ],
)
def test_a_wrong_routing_value_is_one_line_naming_the_flag(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        routing_wire(parse_options(values, as_flags=True), None)
    assert str(caught.value).startswith(message)


def test_bad_flag_text_is_one_line() -> None:
    with pytest.raises(ConfigError, match=r"^--max-price: expected PROMPT,COMPLETION"):
        parse_options({"max_price": "cheap"}, as_flags=True)
    with pytest.raises(ConfigError, match=r"^--max-price: expected prices that are not negative"):
        parse_options({"max_price": "-1,2"}, as_flags=True)
    with pytest.raises(ConfigError, match=r"^--sort: expected 'price', 'throughput', 'latency' or 'exacto'"):
        parse_options({"provider_sort": "cheapest"}, as_flags=True)


def test_reasoning_flags_replace_the_files_effort_or_budget() -> None:
    configured = ReasoningSettings(effort="low", exclude=False)
    assert reasoning_wire(parse_options({}), configured) == {"effort": "low", "exclude": False}
    effort = parse_options({"reasoning_effort": "high"})
    assert reasoning_wire(effort, configured) == {"effort": "high", "exclude": False}
    budget = parse_options({"reasoning_max_tokens": 2000, "reasoning_exclude": True})
    assert reasoning_wire(budget, configured) == {"max_tokens": 2000, "exclude": True}
    both = parse_options({"reasoning_max_tokens": 2000, "reasoning_effort": "low"})
    with pytest.raises(ConfigError, match="give one of --reasoning-effort and --reasoning-max-tokens"):
        reasoning_wire(both, None)


def test_tools_or_a_response_format_ask_for_endpoints_that_take_them() -> None:
    assert "provider" not in body()
    assert body(tools=TOOLS)["provider"] == {"require_parameters": True}
    schema = {"type": "json_schema", "json_schema": {"name": "answer", "strict": True, "schema": {}}}
    sent = body(response_format=schema)
    assert (sent["response_format"], sent["provider"]) == (schema, {"require_parameters": True})
    routed = RequestExtras(provider={"only": ["groq"], "sort": "price"})
    assert body(routed, tools=TOOLS)["provider"] == {
        "only": ["groq"],
        "sort": "price",
        "require_parameters": True,
    }
    assert body(routed)["provider"] == {"only": ["groq"], "sort": "price"}
    told = RequestExtras(provider={"require_parameters": False})
    assert body(told, tools=TOOLS)["provider"] == {"require_parameters": False}


def test_reasoning_session_and_cache_breakpoints_go_on_the_request() -> None:
    extras = request_extras(parse_options({"reasoning_effort": "minimal"}), None, None)
    sent = body(extras, tools=TOOLS, session_id="s-1", cache_prompt=True)
    assert sent["reasoning"] == {"effort": "minimal"}
    assert sent["session_id"] == "s-1"
    assert sent["messages"][0] == {
        "role": "system",
        "content": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
    }
    assert sent["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert sent["messages"][1] == {"role": "user", "content": "2+2?"}
    plain = body(extras, tools=TOOLS)
    assert plain["messages"][0] == {"role": "system", "content": "Be brief."}
    assert "cache_control" not in plain["tools"][-1]


def test_other_providers_get_openais_reasoning_effort_and_no_openrouter_fields() -> None:
    extras = RequestExtras(provider={"only": ["x"]}, reasoning={"effort": "low"})
    sent = body(extras, tools=TOOLS, provider_name="local", session_id="s-1")
    assert sent["reasoning_effort"] == "low"
    assert not {"provider", "reasoning", "session_id", "usage"} & set(sent)
