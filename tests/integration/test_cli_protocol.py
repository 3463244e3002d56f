"""Tool support per model through the real CLI: catalog facts, the text protocol, the switch on a 404."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.integration.cli_helpers import agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, catalog_model, error, last_user_text, reply

NO_TOOLS = catalog_model("plain/model", supported_parameters=("max_tokens", "temperature"))
NO_ENDPOINTS = (
    "No endpoints found that support tool use. To learn more about provider routing, visit: https://x"
)


def text_call(request: dict[str, Any]) -> Any:
    assert "tools" not in request
    assert "<tools>" in request["messages"][0]["content"]
    return reply('Checking.\n<tool_call>{"name": "evaluate", "arguments": {"expression": "6*7"}}</tool_call>')


def quote_result(request: dict[str, Any]) -> Any:
    return reply(f"The answer is {last_user_text(request)}")


def test_a_model_without_native_tools_in_the_catalog_completes_a_tool_task_in_text(tmp_path: Path) -> None:
    with ScriptedOpenRouter(text_call, quote_result, catalog=[NO_TOOLS]) as server:
        done = run_agent_cli(
            "run", "6 times 7?", "-s", "calc", "-m", "plain/model", "--json",
            env=agent_env(server.base_url, tmp_path), cwd=tmp_path,
        )  # fmt: skip
    assert done.code == 0, done.stderr
    result = done.json()
    assert result["tool_protocol"] == "text"
    assert [(c["tool"], c["output"]) for c in result["tool_calls"]] == [("evaluate", "42")]
    assert '"content": "42"' in server.chat_bodies[1]["messages"][-1]["content"]
    assert result["output"].startswith("The answer is <tool_response>")
    server.assert_clean()


def test_protocol_native_overrides_the_catalog(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply("no tools needed"), catalog=[NO_TOOLS]) as server:
        done = run_agent_cli(
            "run", "hi", "-s", "calc", "-m", "plain/model", "--protocol", "native", "--json",
            env=agent_env(server.base_url, tmp_path), cwd=tmp_path,
        )  # fmt: skip
    assert done.json()["tool_protocol"] == "native"
    assert "tools" in server.chat_bodies[0]


def test_a_404_for_tools_switches_to_text_and_later_runs_start_there(tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        error(404, NO_ENDPOINTS), text_call, quote_result, text_call, quote_result
    ) as server:
        runs = [
            run_agent_cli(
                "run",
                "6 times 7?",
                "-s",
                "calc",
                "-m",
                "odd/model",
                "--json",
                "--retries",
                "0",
                env=agent_env(server.base_url, tmp_path),
                cwd=tmp_path,
            )
            for _ in range(2)
        ]
    first, second = runs
    assert first.code == 0, first.stderr
    assert first.json()["tool_protocol"] == "text"
    assert "warning: odd/model takes no native tool calls here; continuing with the text tool protocol" in (
        first.stderr
    )
    assert second.code == 0, second.stderr
    assert second.json()["tool_protocol"] == "text"
    assert ["tools" in body for body in server.chat_bodies] == [True, False, False, False, False]
    server.assert_clean()


def test_a_model_missing_from_the_catalog_that_the_endpoint_takes_runs_without_a_warning(
    tmp_path: Path,
) -> None:
    with ScriptedOpenRouter(reply("hello"), catalog=[NO_TOOLS]) as server:
        done = run_agent_cli(
            "run", "hi", "-m", "brand/new-model", env=agent_env(server.base_url, tmp_path), cwd=tmp_path
        )
    assert (done.code, done.stdout, done.stderr) == (0, "hello\n", "")


def test_an_unknown_model_id_is_one_line_suggesting_close_catalog_ids(tmp_path: Path) -> None:
    catalog = [catalog_model("openai/gpt-4o"), catalog_model("openai/gpt-4o-mini"), NO_TOOLS]
    with ScriptedOpenRouter(error(400, "gpt-4o is not a valid model ID"), catalog=catalog) as server:
        done = run_agent_cli(
            "run", "hi", "-m", "gpt-4o", env=agent_env(server.base_url, tmp_path), cwd=tmp_path
        )
    assert (done.code, done.stdout) == (1, "")
    assert done.stderr.splitlines() == [
        "error: model gpt-4o is not available (400): gpt-4o is not a valid model ID; "
        "did you mean openai/gpt-4o? (`agent models --search` lists the ids)"
    ]


def test_the_default_alias_resolves_to_the_newest_model_of_its_family_in_the_catalog(tmp_path: Path) -> None:
    older = catalog_model("anthropic/claude-sonnet-4", created=1_700_000_000, context_length=100_000)
    newer = catalog_model("anthropic/claude-sonnet-4.5", created=1_760_000_000, context_length=1_000_000)
    with ScriptedOpenRouter(reply("hi"), catalog=[older, newer]) as server:
        done = run_agent_cli(
            "run", "hi", "--json", "-v", env=agent_env(server.base_url, tmp_path), cwd=tmp_path
        )
    assert done.code == 0, done.stderr
    assert server.chat_bodies[0]["model"] == "~anthropic/claude-sonnet-latest"
    assert "not in the endpoint's catalog" not in done.stderr


def test_the_catalog_is_cached_between_runs(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply("one"), reply("two"), catalog=[NO_TOOLS]) as server:
        for _ in range(2):
            run_agent_cli(
                "run", "hi", "-m", "plain/model", env=agent_env(server.base_url, tmp_path), cwd=tmp_path
            )
    assert [r.path for r in server.requests if r.method == "GET"] == ["/api/v1/models"]
