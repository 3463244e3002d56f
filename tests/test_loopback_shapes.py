"""The loopback server checks chat bodies as OpenRouter does and routes model ids as it answers them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.loopback import (
    ScriptedOpenRouter,
    UsageReport,
    Violation,
    availability_error,
    catalog_model,
    check_shape,
    credits_error,
    error,
    rate_limit_error,
    reply,
)

USER = {"role": "user", "content": "hi"}
TOOL = {
    "type": "function",
    "function": {"name": "fs_read", "parameters": {"type": "object", "properties": {}}},
}
EPHEMERAL = {"type": "ephemeral"}
SCHEMA_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "answer", "strict": True, "schema": {"type": "object", "properties": {}}},
}


def chat(model: str = "openai/gpt-4o", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [USER], **extra}


def cached_parts(count: int) -> list[dict[str, Any]]:
    return [{"type": "text", "text": f"part {n}", "cache_control": EPHEMERAL} for n in range(count)]


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as http:
        yield http


def post(client: httpx.Client, server: ScriptedOpenRouter, body: Any) -> httpx.Response:
    return client.post(f"{server.base_url}/chat/completions", json=body)


# -- check_shape ---------------------------------------------------------------------------------


def test_a_body_like_the_runtime_sends_with_the_whole_request_surface_passes() -> None:
    body = {
        "model": "anthropic/claude-sonnet-4.5:exacto",
        "models": ["a/1", "b/2"],
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "rules", "cache_control": EPHEMERAL}]},
            USER,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "fs_read", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "text", "name": "fs_read"},
        ],
        "tools": [{**TOOL, "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "max_tokens": 1000,
        "temperature": 0.2,
        "stream": True,
        "stream_options": {"include_usage": True},
        "usage": {"include": True},
        "provider": {"require_parameters": True, "only": ["anthropic"], "sort": "throughput", "zdr": True},
        "reasoning": {"effort": "high", "exclude": False},
        "response_format": SCHEMA_FORMAT,
        "cache_control": EPHEMERAL,
        "session_id": "s" * 256,
        "plugins": [{"id": "response-healing"}],
    }
    assert check_shape(body) == []


@pytest.mark.parametrize(
    ("extra", "problems"),
    [
        (
            {"provider": {"onlyy": ["openai"]}},
            ["provider: Additional properties are not allowed ('onlyy' was unexpected)"],
        ),
        (
            {"provider": {"sort": "fastest"}},
            [
                "provider.sort: 'fastest' is not one of ['price', 'throughput', 'latency', 'exacto'], "
                "nor null or object"
            ],
        ),
        ({"models": ["a/1", "a/2", "a/3", "a/4"]}, ["models: 'models' array must have 3 items or fewer."]),
        ({"session_id": "s" * 257}, ["session_id: longer than 256 characters"]),
        (
            {"reasoning": {"effort": "high", "max_tokens": 2000}},
            ["reasoning: use effort or max_tokens, not both"],
        ),
        (
            {"reasoning": {"effort": "huge"}},
            [
                "reasoning.effort: 'huge' is not one of "
                "['max', 'xhigh', 'high', 'medium', 'low', 'minimal', 'none']"
            ],
        ),
        (
            {"reasoning": {"effort": "low"}, "reasoning_effort": "high"},
            ["reasoning_effort: 'high' differs from reasoning.effort 'low'; send one of them"],
        ),
        (
            {"reasoning": {"max_tokens": "lots"}},
            ["reasoning.max_tokens: expected integer or null, got 'lots'"],
        ),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "object"}}}},
            ["response_format.json_schema: 'name' is a required property"],
        ),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"name": "answer"}}},
            ["response_format.json_schema.schema: a json_schema response format needs a 'schema' object"],
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "x" * 65}}]},
            ["tools[0].function.name: longer than 64 characters"],
        ),
        (
            {"tools": [{**TOOL, "cache_control": {"type": "persistent"}}]},
            ["tools[0].cache_control.type: 'persistent' is not one of ['ephemeral']"],
        ),
        (
            {"tool_choice": "sometimes"},
            ["tool_choice: 'sometimes' is not one of ['none', 'auto', 'required'], nor object"],
        ),
        (
            {"plugins": [{"id": "telepathy"}]},
            [
                "plugins[0].id: 'telepathy' is not one of ['auto-router', 'auto-beta-router', 'moderation', "
                "'web', 'web-fetch', 'file-parser', 'response-healing', 'context-compression', "
                "'pareto-router', 'fusion']"
            ],
        ),
        ({"stop": ["a", "b", "c", "d", "e"]}, ["stop: more than 4 items"]),
        ({"metadata": {f"k{n}": "v" for n in range(17)}}, ["metadata: more than 16 pairs"]),
        (
            {"messages": [{"role": "bot", "content": "hi"}]},
            ["messages[0].role: 'bot' is not one of ['system', 'user', 'developer', 'assistant', 'tool']"],
        ),
        (
            {"messages": [{"role": "user", "content": [{"text": "hi"}]}]},
            ["messages[0].content[0]: 'type' is a required property"],
        ),
        ({"messages": []}, ["messages: fewer than 1 items"]),
    ],
)
def test_each_body_openrouter_rejects_gets_one_line_naming_where(
    extra: dict[str, Any], problems: list[str]
) -> None:
    assert check_shape(chat(**extra)) == problems


def test_more_than_four_cache_breakpoints_across_content_parts_and_tools_are_rejected() -> None:
    four = {
        "messages": [{"role": "user", "content": cached_parts(3)}],
        "tools": [{**TOOL, "cache_control": EPHEMERAL}],
    }
    five = {**four, "messages": [{"role": "user", "content": cached_parts(4)}]}

    assert check_shape({**four, "cache_control": EPHEMERAL}) == []  # the top-level one is automatic
    assert check_shape(five) == [
        "cache_control: 5 cache breakpoints (messages[0].content[0], messages[0].content[1], "
        "messages[0].content[2], messages[0].content[3], tools[0]); at most 4 are allowed"
    ]


# -- the shape check over HTTP -------------------------------------------------------------------


def test_a_body_openrouter_rejects_is_answered_400_recorded_and_consumes_no_step(
    client: httpx.Client,
) -> None:
    with ScriptedOpenRouter(reply("fine")) as server:
        rejected = post(client, server, chat(provider={"only": ["openai"], "fast": True}))
        accepted = post(client, server, chat(provider={"only": ["openai"]}))

    assert (rejected.status_code, rejected.json()) == (
        400,
        {
            "error": {
                "code": 400,
                "message": "Invalid request: "
                "provider: Additional properties are not allowed ('fast' was unexpected)",
            }
        },
    )
    assert accepted.json()["choices"][0]["message"]["content"] == "fine"
    assert server.violations == [
        Violation(0, "provider: Additional properties are not allowed ('fast' was unexpected)")
    ]
    assert server.remaining() == {}


def test_shape_checks_can_be_switched_off(client: httpx.Client) -> None:
    with ScriptedOpenRouter(reply("fine"), strict_shapes=False) as server:
        response = post(client, server, chat(reasoning={"effort": "high", "max_tokens": 10}))

    assert response.status_code == 200
    server.assert_clean()


# -- provider preferences --------------------------------------------------------------------------


def test_provider_preferences_are_exposed_and_tools_without_require_parameters_are_noted(
    client: httpx.Client,
) -> None:
    required = {"require_parameters": True}
    with ScriptedOpenRouter(reply("a"), reply("b"), reply("c"), reply("d"), strict_history=False) as server:
        post(client, server, chat(tools=[TOOL]))
        post(client, server, chat(tools=[TOOL], provider=required))
        post(client, server, chat(response_format=SCHEMA_FORMAT, provider={"sort": "price"}))
        post(client, server, chat())

    assert server.provider_prefs == [None, required, {"sort": "price"}, None]
    assert server.unrequired == [0, 2]
    server.assert_clean()


def endpoint(provider: str, tag: str, *parameters: str) -> dict[str, Any]:
    supported = list(parameters) or ["tools", "tool_choice", "max_tokens", "temperature"]
    return {"provider_name": provider, "tag": tag, "supported_parameters": supported}


SERVED = catalog_model(
    "acme/m1", endpoints=[endpoint("Alpha", "alpha"), endpoint("Beta", "beta/turbo", "max_tokens")]
)


@pytest.mark.parametrize(
    "provider",
    [
        {"only": ["gamma"]},
        {"ignore": ["alpha", "beta"]},
        {"order": ["gamma"], "allow_fallbacks": False},
    ],
)
def test_provider_preferences_that_leave_no_endpoint_get_openrouters_404(
    client: httpx.Client, provider: dict[str, Any]
) -> None:
    with ScriptedOpenRouter(reply("unused"), catalog=[SERVED]) as server:
        response = post(client, server, chat("acme/m1", provider=provider))

    assert (response.status_code, response.json()) == (
        404,
        {
            "error": {
                "code": 404,
                "message": "No allowed providers are available for the selected model.",
                "error_type": "not_found",
                "http_status": 404,
                "availability": {
                    "code": "no_endpoints",
                    "retryable": False,
                    "requested_models": ["acme/m1"],
                    "excluded_by": ["allowed_providers"],
                    "docs_url": "https://openrouter.ai/docs/errors#no_endpoints",
                },
            }
        },
    )
    assert server.remaining() == {None: 1}  # no provider was reached: no step taken


@pytest.mark.parametrize(
    "provider",
    [
        {"only": ["Beta"]},
        {"only": ["beta/turbo"]},
        {"order": ["gamma"]},
        {"order": ["alpha"], "allow_fallbacks": False},
    ],
)
def test_provider_preferences_that_leave_an_endpoint_are_served(
    client: httpx.Client, provider: dict[str, Any]
) -> None:
    with ScriptedOpenRouter(reply("served"), catalog=[SERVED]) as server:
        response = post(client, server, chat("acme/m1", provider=provider))

    assert response.json()["choices"][0]["message"]["content"] == "served"
    server.assert_clean()


def test_require_parameters_with_no_endpoint_supporting_them_is_a_constraint_filtered_404(
    client: httpx.Client,
) -> None:
    with ScriptedOpenRouter(catalog=[SERVED]) as server:
        body = chat("acme/m1", tools=[TOOL], provider={"only": ["beta"], "require_parameters": True})
        response = post(client, server, body)

    availability = response.json()["error"]["availability"]
    assert (response.status_code, response.json()["error"]["message"]) == (
        404,
        "No endpoints found that can handle the requested parameters.",
    )
    assert availability == {
        "code": "constraint_filtered",
        "retryable": False,
        "requested_models": ["acme/m1"],
        "excluded_by": ["require_parameters"],
        "constraint": {"field": "require_parameters", "detail": "no allowed endpoint supports ['tools']"},
        "docs_url": "https://openrouter.ai/docs/errors#constraint_filtered",
    }


def test_a_models_route_falls_back_past_a_model_without_allowed_endpoints(client: httpx.Client) -> None:
    with ScriptedOpenRouter(models={"acme/m1": [], "acme/m2": [reply("second")]}, catalog=[SERVED]) as server:
        response = post(client, server, chat("acme/m1", models=["acme/m2"], provider={"only": ["gamma"]}))

    assert (response.json()["model"], response.json()["choices"][0]["message"]["content"]) == (
        "acme/m2",
        "second",
    )
    assert [(r.tried, r.answered) for r in server.routes] == [(("acme/m2",), "acme/m2")]
    server.assert_clean()


# -- model ids as OpenRouter answers them -----------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "answered"),
    [
        ("acme/m1:nitro", "acme/m1"),
        ("acme/m1:floor", "acme/m1"),
        ("acme/m1:exacto", "acme/m1"),
        ("acme/m1:online", "acme/m1"),
        ("acme/m1:free", "acme/m1:free"),
        ("acme/m1:thinking", "acme/m1:thinking"),
        ("acme/m1:extended", "acme/m1:extended"),
        ("~acme/m-latest", "acme/m-3"),
        ("~acme/fixed-latest", "acme/m-1"),
        ("openrouter/auto", "acme/m-2"),
        ("@preset/coder", "acme/m-1"),
        ("acme/other@preset/coder", "acme/other"),
    ],
)
def test_the_response_names_the_model_openrouter_would_and_steps_come_from_the_requested_queue(
    client: httpx.Client, requested: str, answered: str
) -> None:
    catalog = [
        catalog_model("acme/m-1", created=1, supported_parameters=["max_tokens"]),
        catalog_model("acme/m-2", created=2),
        catalog_model("acme/m-3", created=3),
        catalog_model("acme/mx-9", created=9),
    ]
    with ScriptedOpenRouter(
        models={requested: [reply("ok"), reply("ok")]},
        catalog=catalog,
        presets={"coder": {"model": "acme/m-1", "temperature": 0.1}},
        aliases={"~acme/fixed-latest": "acme/m-1"},
    ) as server:
        plain = post(client, server, chat(requested))
        streamed = post(client, server, chat(requested, stream=True))

    assert plain.json()["model"] == answered
    assert f'"model": "{answered}"' in streamed.text
    server.assert_clean()


def test_auto_model_is_configurable_and_a_replys_own_model_wins(client: httpx.Client) -> None:
    with ScriptedOpenRouter(
        reply("a"), reply("b", model="acme/picked"), auto_model="acme/auto-pick"
    ) as server:
        first = post(client, server, chat("openrouter/auto"))
        second = post(client, server, chat("openrouter/auto"))

    assert (first.json()["model"], second.json()["model"]) == ("acme/auto-pick", "acme/picked")


def test_a_preset_merges_its_settings_under_the_requests_and_an_unknown_preset_is_404(
    client: httpx.Client,
) -> None:
    presets = {"pinned": {"model": "acme/m1", "provider": {"only": ["gamma"]}}}
    with ScriptedOpenRouter(reply("ok"), catalog=[SERVED], presets=presets) as server:
        pinned = post(client, server, chat("@preset/pinned"))
        overridden = post(client, server, chat("@preset/pinned", provider={"only": ["alpha"]}))
        unknown = post(client, server, chat("acme/m1@preset/missing"))

    assert pinned.json()["error"]["availability"]["code"] == "no_endpoints"
    assert overridden.json()["model"] == "acme/m1"
    assert (unknown.status_code, unknown.json()) == (
        404,
        {"error": {"code": 404, "message": "Preset 'missing' not found"}},
    )
    server.assert_clean()


# -- usage and error helpers ------------------------------------------------------------------------


def test_usage_reports_cache_writes_next_to_cache_reads(client: httpx.Client) -> None:
    usage = UsageReport(prompt_tokens=100, cached_tokens=60, cache_write_tokens=40)
    with ScriptedOpenRouter(reply("ok", usage=usage)) as server:
        response = post(client, server, chat())

    assert response.json()["usage"]["prompt_tokens_details"] == {
        "cached_tokens": 60,
        "cache_write_tokens": 40,
        "audio_tokens": 0,
    }


def test_availability_error_has_the_documented_envelope_and_retry_after_header(client: httpx.Client) -> None:
    step = availability_error(
        429,
        "All providers for acme/m1 are at capacity. Retry after 40 seconds.",
        code="capacity_exhausted",
        retryable=True,
        retry_after=40,
        requested_models=["acme/m1"],
        fallback_models=["acme/m2"],
        metadata={"previous_errors": [{"provider": "alpha", "code": "capacity_exhausted", "status": 429}]},
    )
    with ScriptedOpenRouter(step) as server:
        response = post(client, server, chat("acme/m1"))

    assert response.headers["retry-after"] == "40"
    assert (response.status_code, response.json()) == (
        429,
        {
            "error": {
                "code": 429,
                "message": "All providers for acme/m1 are at capacity. Retry after 40 seconds.",
                "error_type": "rate_limit_exceeded",
                "http_status": 429,
                "availability": {
                    "code": "capacity_exhausted",
                    "retryable": True,
                    "retry_after": 40,
                    "requested_models": ["acme/m1"],
                    "fallback_models": ["acme/m2"],
                    "docs_url": "https://openrouter.ai/docs/errors#capacity_exhausted",
                },
                "metadata": {
                    "previous_errors": [{"provider": "alpha", "code": "capacity_exhausted", "status": 429}]
                },
            }
        },
    )


def test_credits_errors_are_402s_in_openrouters_words() -> None:
    assert credits_error() == error(
        402, "Insufficient credits. Add more using https://openrouter.ai/settings/credits"
    )
    assert credits_error("max_tokens", requested_tokens=4096, affordable_tokens=4000).message == (
        "This request requires more credits, or fewer max_tokens. You requested up to 4096 tokens, "
        "but can only afford 4000. To increase, visit https://openrouter.ai/settings/credits "
        "and add more credits"
    )


def test_rate_limit_error_sends_x_ratelimit_headers_and_echoes_them_in_metadata(client: httpx.Client) -> None:
    with ScriptedOpenRouter(rate_limit_error(retry_after=60)) as server:
        response = post(client, server, chat("acme/m1:free"))

    limits = {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1743638400000"}
    assert {k: response.headers[k] for k in [*limits, "Retry-After"]} == {**limits, "Retry-After": "60"}
    assert (response.status_code, response.json()) == (
        429,
        {
            "error": {
                "code": 429,
                "message": "Rate limit exceeded: free-models-per-day. "
                "Add 10 credits to unlock 1000 free model requests per day",
                "metadata": {"headers": limits, "provider_name": None},
            }
        },
    )
