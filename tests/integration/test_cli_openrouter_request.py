"""OpenRouter's request surface through the real CLI: routing, model ids, reasoning, schemas, caching.

The loopback OpenRouter checks every request body against OpenRouter's OpenAPI document (and
the rules it documents beside it), so each test also proves the request is one OpenRouter takes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli_helpers import Completed, agent_env, at_a_terminal, run_agent_cli
from tests.loopback import (
    ScriptedOpenRouter,
    UsageReport,
    call,
    catalog_model,
    last_tool_result,
    last_user_text,
    reply,
)

TOOLED = ("tools", "tool_choice", "max_tokens", "temperature")
CATALOG = [
    catalog_model("test/model", supported_parameters=(*TOOLED, "response_format", "reasoning")),
    catalog_model("test/plain", supported_parameters=TOOLED),
    catalog_model("anthropic/claude-test", supported_parameters=(*TOOLED, "reasoning")),
]
SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "integer"}, "unit": {"type": "string"}},
    "required": ["answer", "unit"],
}


def run(server: ScriptedOpenRouter, tmp_path: Path, *args: str, model: str = "test/model") -> Completed:
    env = agent_env(server.base_url, tmp_path)
    return run_agent_cli("run", "go", "-m", model, *args, env=env, cwd=tmp_path)


def provider_file(tmp_path: Path, extra: str) -> None:
    """A user provider file (trusted: it is the user's own) with ``extra`` under ``config:``."""
    folder = tmp_path / "agent-config" / "providers"
    folder.mkdir(parents=True)
    (folder / "openrouter.yaml").write_text(
        "interface_type: openai_compatible\nprovider_name: openrouter\nconfig:\n"
        "  api_key: ${OPENROUTER_API_KEY}\n  api_endpoint: https://openrouter.ai/api/v1\n"
        f"  default_model: test/model\n{extra}"
    )


def answer_with_sum(body: dict[str, Any]) -> Any:
    return reply(f"The sum is {last_tool_result(body)}")


# -- 1. provider routing ---------------------------------------------------------------------


def test_routing_flags_and_the_provider_file_go_on_every_request_with_require_parameters(
    tmp_path: Path,
) -> None:
    provider_file(
        tmp_path,
        "  provider:\n    sort: price\n    data_collection: deny\n    only: [openai]\n"
        "    preferred_max_latency: {p90: 3}\n",
    )
    flags = [
        "--only", "deepinfra,together",
        "--ignore", "azure",
        "--provider-order", "together",
        "--max-price", "1,2.5",
        "--no-allow-fallbacks",
        "--quantizations", "fp8,bf16",
        "--zdr",
    ]  # fmt: skip
    with ScriptedOpenRouter(
        reply(None, call("evaluate", {"expression": "2+3"})), answer_with_sum, catalog=CATALOG
    ) as server:
        done = run(server, tmp_path, "-s", "calc", "--json", *flags)
    assert done.code == 0, done.stderr
    assert done.json()["output"] == "The sum is 5"
    expected = {
        "sort": "price",
        "data_collection": "deny",
        "only": ["deepinfra", "together"],
        "preferred_max_latency": {"p90": 3.0},
        "ignore": ["azure"],
        "order": ["together"],
        "max_price": {"prompt": "1", "completion": "2.5"},
        "allow_fallbacks": False,
        "quantizations": ["fp8", "bf16"],
        "zdr": True,
        "require_parameters": True,
    }
    assert [body["provider"] for body in server.chat_bodies] == [expected, expected]
    server.assert_clean()


def test_a_run_without_tools_routes_as_asked_but_does_not_require_parameters(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply("hi"), catalog=CATALOG) as server:
        done = run(server, tmp_path, "--no-servers", "--sort", "throughput")
    assert done.code == 0, done.stderr
    assert server.chat_bodies[0]["provider"] == {"sort": "throughput"}
    with ScriptedOpenRouter(reply("hi"), catalog=CATALOG) as server:
        assert run(server, tmp_path, "--no-servers").code == 0
    assert "provider" not in server.chat_bodies[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--sort", "cheapest"],
            "--sort: expected 'price', 'throughput', 'latency' or 'exacto', got 'cheapest'",
        ),
        (["--max-price", "one"], "--max-price: expected PROMPT,COMPLETION in USD per million tokens"),
        (["--quantizations", "fp9"], "--quantizations: unknown quantization 'fp9'"),
        (["--data-collection", "never"], "--data-collection: expected 'allow' or 'deny', got 'never'"),
    ],
)
def test_a_wrong_routing_flag_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    with ScriptedOpenRouter(catalog=CATALOG) as server:
        done = run(server, tmp_path, "--no-servers", *args)
    assert done.code == 2
    assert done.stderr.startswith(f"error: {message}"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert server.chat_bodies == []


def test_a_wrong_provider_block_in_the_file_names_file_and_field(tmp_path: Path) -> None:
    provider_file(tmp_path, "  provider:\n    sort_by: price\n")
    with ScriptedOpenRouter(catalog=CATALOG) as server:
        done = run(server, tmp_path, "--no-servers")
    assert done.code == 2
    assert "config.provider.sort_by: unknown field" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


# -- 2. model ids as OpenRouter spells them ---------------------------------------------------


@pytest.mark.parametrize(
    "model", ["test/model:nitro", "test/model:floor", "test/model:exacto", "test/model@preset/fast"]
)
def test_variants_and_presets_use_the_base_models_capabilities_and_report_who_answered(
    tmp_path: Path, model: str
) -> None:
    # No cost in the response: the run's cost is estimated from the base model's catalog prices,
    # which only happens when the variant's capabilities were found through the base id.
    answer = reply(
        "hi", model="test/model", usage=UsageReport(prompt_tokens=1000, completion_tokens=500, cost=None)
    )
    with ScriptedOpenRouter(models={model: [answer]}, catalog=CATALOG, presets={"fast": {}}) as server:
        done = run(server, tmp_path, "--no-servers", "--json", model=model)
    assert done.code == 0, done.stderr
    result = done.json()
    assert server.chat_bodies[0]["model"] == model
    assert result["model"] == "test/model"
    assert result["usage"]["cost"] == pytest.approx(0.002)
    assert result["usage"]["cost_source"] == "estimated"


def test_a_preset_alias_and_auto_router_run_and_name_the_model_that_answered(tmp_path: Path) -> None:
    steps = {
        "@preset/coder": [reply("from the preset", model="test/model")],
        "~test/model-latest": [reply("from the alias", model="test/model")],
        "openrouter/auto": [reply("from auto", model="anthropic/claude-test")],
    }
    with ScriptedOpenRouter(
        models=steps, catalog=CATALOG, presets={"coder": {"model": "test/model"}}
    ) as server:
        answered = [
            run(server, tmp_path, "--no-servers", "--json", model=model).json()["model"] for model in steps
        ]
    assert answered == ["test/model", "test/model", "anthropic/claude-test"]
    assert [body["model"] for body in server.chat_bodies] == list(steps)
    server.assert_clean()


# -- 3. reasoning --------------------------------------------------------------------------------


def test_reasoning_flags_are_sent_to_a_model_that_takes_them(tmp_path: Path) -> None:
    provider_file(tmp_path, "  reasoning:\n    effort: low\n")
    with ScriptedOpenRouter(
        reply("4", reasoning="Two and two make four."),
        reply("4"),
        reply("4"),
        catalog=CATALOG,
    ) as server:
        from_file = run(server, tmp_path, "--no-servers", "--json")
        effort = run(
            server, tmp_path, "--no-servers", "--json", "--reasoning-effort", "high", "--reasoning-exclude"
        )
        budget = run(server, tmp_path, "--no-servers", "--json", "--reasoning-max-tokens", "2048")
    assert [done.code for done in (from_file, effort, budget)] == [0, 0, 0]
    assert [body["reasoning"] for body in server.chat_bodies] == [
        {"effort": "low"},
        {"effort": "high", "exclude": True},
        {"max_tokens": 2048},
    ]
    # Under --json the reasoning never reaches stdout, which holds only the result object.
    assert json.loads(from_file.stdout)["output"] == "4"


def test_reasoning_options_are_not_sent_to_a_model_without_them(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply("4"), catalog=CATALOG) as server:
        done = run(server, tmp_path, "--no-servers", "--reasoning-effort", "high", model="test/plain")
    assert done.code == 0, done.stderr
    assert "reasoning" not in server.chat_bodies[0]
    assert "warning: test/plain does not take reasoning options" in done.stderr


def test_both_an_effort_and_a_budget_is_one_line(tmp_path: Path) -> None:
    with ScriptedOpenRouter(catalog=CATALOG) as server:
        done = run(
            server, tmp_path, "--no-servers", "--reasoning-effort", "low", "--reasoning-max-tokens", "9"
        )
    assert done.code == 2
    assert done.stderr.startswith("error: --reasoning-effort: give one of --reasoning-effort and")


def test_reasoning_streams_dimmed_to_the_terminal_apart_from_the_answer(tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        reply("Four.", reasoning="Two and two\x1b[31m make four."), catalog=CATALOG
    ) as server:
        env = agent_env(server.base_url, tmp_path)
        code, screen, out = at_a_terminal(
            ["run", "2+2?", "-m", "test/model", "--no-servers"], env, tmp_path, lambda seen: None
        )
    assert code == 0, screen
    assert "\x1b[2mTwo and two make four.\x1b[22m\n" in screen.replace("\x1b[31m", "")
    assert "\x1b[31m" not in screen  # the model's own escape is cleaned away
    assert out == "Four.\n"


# -- 4. structured output ----------------------------------------------------------------------


def test_schema_is_sent_as_a_strict_response_format_and_the_answer_comes_back_as_data(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply('{"answer": 4, "unit": "apples"}'), catalog=CATALOG) as server:
        done = run(server, tmp_path, "--no-servers", "--json", "--schema", json.dumps(SCHEMA))
    assert done.code == 0, done.stderr
    result = done.json()
    assert result["data"] == {"answer": 4, "unit": "apples"}
    body = server.chat_bodies[0]
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {
            "name": "output",
            "strict": True,
            "schema": {**SCHEMA, "additionalProperties": False},
        },
    }
    assert body["provider"] == {"require_parameters": True}
    server.assert_clean()


def test_a_model_without_response_format_gets_the_schema_in_the_prompt_and_one_retry(tmp_path: Path) -> None:
    schema_file = tmp_path / "answer.schema.json"
    schema_file.write_text(json.dumps({**SCHEMA, "title": "Fruit count"}))
    with ScriptedOpenRouter(
        reply("Four apples."),
        lambda body: reply('```json\n{"answer": 4, "unit": "apples"}\n```'),
        catalog=CATALOG,
    ) as server:
        done = run(
            server, tmp_path, "--no-servers", "--json", "--schema", "answer.schema.json", model="test/plain"
        )
    assert done.code == 0, done.stderr
    assert done.json()["data"] == {"answer": 4, "unit": "apples"}
    first, second = server.chat_bodies
    assert "response_format" not in first
    assert "matches this JSON Schema" in last_user_text(first)
    assert '"title":"Fruit count"' in last_user_text(first)
    assert last_user_text(second).startswith("Your answer was not accepted: the answer is not JSON")


def test_an_answer_that_never_matches_fails_the_run_with_one_line(tmp_path: Path) -> None:
    wrong = reply('{"answer": "four", "unit": "apples"}')
    with ScriptedOpenRouter(wrong, wrong, catalog=CATALOG) as server:
        done = run(server, tmp_path, "--no-servers", "--json", "--schema", json.dumps(SCHEMA))
    assert done.code == 1
    error = done.json()["error"]
    assert error["type"] == "OutputSchemaError"
    assert error["message"] == (
        "the answer does not match the schema at answer: 'four' is not of type 'integer', "
        "also when asked again (--schema)"
    )


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ("missing.json", "--schema: cannot read missing.json: No such file or directory"),
        ('{"type": "objekt"}', "--schema: not a valid JSON Schema at type: 'objekt' is not valid"),
        ("{not json", "--schema: the schema is not valid JSON"),
    ],
)
def test_a_bad_schema_is_one_line_and_exit_2(tmp_path: Path, schema: str, message: str) -> None:
    with ScriptedOpenRouter(catalog=CATALOG) as server:
        done = run(server, tmp_path, "--no-servers", "--schema", schema)
    assert done.code == 2, done.stderr
    assert done.stderr.startswith(f"error: {message}"), done.stderr
    assert server.chat_bodies == []


# -- 5. prompt caching ---------------------------------------------------------------------------


def test_cache_breakpoints_and_one_session_id_keep_an_anthropic_run_cached(tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        reply(
            None,
            call("evaluate", {"expression": "2+3"}),
            usage=UsageReport(prompt_tokens=900, cache_write_tokens=800),
        ),
        lambda body: reply(
            f"The sum is {last_tool_result(body)}", usage=UsageReport(prompt_tokens=950, cached_tokens=800)
        ),
        catalog=CATALOG,
    ) as server:
        done = run(
            server,
            tmp_path,
            "-s",
            "calc",
            "--json",
            "--system",
            "Be brief.",
            "--verbose",
            model="anthropic/claude-test",
        )
    assert done.code == 0, done.stderr
    result = done.json()
    bodies = server.chat_bodies
    for body in bodies:
        assert body["messages"][0] == {
            "role": "system",
            "content": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        }
        assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
        assert all("cache_control" not in tool for tool in body["tools"][:-1])
    assert {body["session_id"] for body in bodies} == {result["session_id"]}
    assert (result["usage"]["cached_tokens"], result["usage"]["cache_write_tokens"]) == (800, 800)
    assert "(800 written to cache)" in done.stderr
    assert "(800 from cache)" in done.stderr
    server.assert_clean()


def test_other_models_get_no_breakpoints_and_no_cache_turns_both_off(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply("hi"), reply("hi"), catalog=CATALOG) as server:
        plain = run(server, tmp_path, "-s", "calc", "--system", "Be brief.", "--json")
        off = run(server, tmp_path, "-s", "calc", "--no-cache", "--json", model="anthropic/claude-test")
    assert (plain.code, off.code) == (0, 0)
    cached, uncached = server.chat_bodies
    assert cached["messages"][0] == {"role": "system", "content": "Be brief."}
    assert "cache_control" not in json.dumps(cached)
    assert cached["session_id"] == plain.json()["session_id"]
    assert "cache_control" not in json.dumps(uncached)
    assert "session_id" not in uncached


def test_a_run_that_is_not_stored_still_keeps_to_one_provider(tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        reply(None, call("evaluate", {"expression": "1+1"})), answer_with_sum, catalog=CATALOG
    ) as server:
        done = run(server, tmp_path, "-s", "calc", "--no-session", "--json")
    assert done.code == 0, done.stderr
    ids = {body["session_id"] for body in server.chat_bodies}
    assert len(ids) == 1
    assert done.json()["session_id"] is None
