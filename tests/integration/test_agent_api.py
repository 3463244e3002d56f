"""``agent.Agent`` as a Python user drives it: a loopback OpenRouter and real MCP server processes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import anyio
import pytest

from agent import Agent, ConfigError
from agent.events import Event, RunFinished, ServerStarted, ToolCallFinished
from tests.integration.cli_helpers import TEST_KEY, agent_env
from tests.loopback import ScriptedOpenRouter, Step, call, last_tool_result, last_user_text, reply

pytestmark = pytest.mark.anyio


def doubling(request: dict[str, Any]) -> Step:
    """Asked 'double N': call calc's evaluate with N*2, then answer with what it returned."""
    result = last_tool_result(request)
    if result:
        return reply(f"twice is {result}")
    number = re.sub(r"\D", "", last_user_text(request))
    return reply(None, call("evaluate", {"expression": f"{number}*2"}))


def env_for(server: ScriptedOpenRouter, home: Path) -> dict[str, str]:
    return agent_env(server.base_url, home)


async def test_twenty_concurrent_runs_on_one_agent_share_its_servers_and_each_get_their_own_answer(
    tmp_path: Path,
) -> None:
    started: list[ServerStarted] = []

    def on_event(event: Event) -> None:
        if isinstance(event, ServerStarted):
            started.append(event)

    with ScriptedOpenRouter(behaviours={None: doubling}) as server:
        async with Agent(
            model="test/model",
            servers=["calc"],
            env=env_for(server, tmp_path),
            cwd=tmp_path,
            on_event=on_event,
        ) as agent:
            results: dict[int, Any] = {}

            async def one(n: int) -> None:
                results[n] = await agent.run(f"double {n}")

            async with anyio.create_task_group() as tg:
                for n in range(20):
                    tg.start_soon(one, 100 + n)
        server.assert_clean()
    assert len(started) == 1  # one calc process for every run
    for n, result in results.items():
        assert (result.stop_reason, result.output, result.turns) == ("completed", f"twice is {n * 2}", 2)
        [record] = result.tool_calls
        assert (record.server, record.tool, record.arguments, record.output) == (
            "calc",
            "evaluate",
            {"expression": f"{n}*2"},
            str(n * 2),
        )
        assert [s.model_dump() for s in result.servers] == [
            {"name": "calc", "status": "active", "tools": 1, "error": None}
        ]
    assert len(server.chat_bodies) == 40
    ports = {r.client_port for r in server.requests}
    assert len(ports) <= 20  # one pool of kept-alive connections, not a connection per request


def test_run_sync_runs_once_for_a_plain_script(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply("hello")) as server:
        result = Agent(
            model="test/model", no_servers=True, env=env_for(server, tmp_path), cwd=tmp_path
        ).run_sync("hi")
    assert (result.stop_reason, result.output, result.model, result.servers) == (
        "completed",
        "hello",
        "test/model",
        [],
    )


async def test_events_of_one_run_arrive_in_order_and_end_with_the_result(tmp_path: Path) -> None:
    with ScriptedOpenRouter(behaviours={None: doubling}) as server:
        async with Agent(
            model="test/model", servers=["calc"], env=env_for(server, tmp_path), cwd=tmp_path
        ) as agent:
            events = [event async for event in agent.events("double 21")]
    kinds = [event.type for event in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    [finished] = [e for e in events if isinstance(e, RunFinished)]
    assert finished.result.output == "twice is 42"
    assert [e.call.output for e in events if isinstance(e, ToolCallFinished)] == ["42"]


async def test_an_mcp_config_mapping_attaches_its_enabled_servers_and_reports_the_disabled(
    tmp_path: Path,
) -> None:
    import sys

    mcp = {
        "mcpServers": {
            "math": {"command": sys.executable, "args": ["-P", "-m", "servers.calc"]},
            "off": {"command": "never-started", "disabled": True},
        }
    }
    with ScriptedOpenRouter(reply("fine")) as server:
        agent = Agent(model="test/model", mcp_config=mcp, env=env_for(server, tmp_path), cwd=tmp_path)
        result = await agent.run("hi")
    assert [(s.name, s.status, s.tools) for s in result.servers] == [
        ("math", "active", 1),
        ("off", "disabled", 0),
    ]


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"max_turns": 0}, "max_turns: expected a number at least 1, got 0"),
        ({"colour": "red"}, "unknown option 'colour'; expected one of: model, provider, config,"),
        ({"protocol": "xml"}, "protocol: expected 'auto', 'native' or 'text', got 'xml'"),
    ],
)
def test_a_wrong_keyword_is_one_config_error_naming_it(keywords: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Agent(**keywords)
    assert str(caught.value).startswith(message)


async def test_an_empty_prompt_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="the prompt is empty"):
        await Agent(model="m", no_servers=True, env={"OPENROUTER_API_KEY": TEST_KEY}, cwd=tmp_path).run("  ")


async def test_run_with_an_output_schema_gives_a_pydantic_object(tmp_path: Path) -> None:
    from pydantic import BaseModel

    from tests.loopback import catalog_model

    class Sum(BaseModel):
        expression: str
        value: int

    catalog = [catalog_model("test/model", supported_parameters=("tools", "response_format"))]
    with ScriptedOpenRouter(
        reply('{"expression": "2+3", "value": 5}'),
        reply('{"expression": "2+3"}'),
        reply('{"expression": "2+3", "value": "five"}'),
        reply('{"value": "five"}'),
        catalog=catalog,
    ) as server:
        async with Agent(
            model="test/model", no_servers=True, env=env_for(server, tmp_path), cwd=tmp_path
        ) as agent:
            good = await agent.run("2+3?", output_schema=Sum)
            bad = await agent.run("2+3?", output_schema=Sum)
            plain = await agent.run("2+3?", output_schema={"type": "object"})
        server.assert_clean()
    assert good.data == Sum(expression="2+3", value=5)
    assert good.output == '{"expression": "2+3", "value": 5}'
    assert server.chat_bodies[0]["response_format"]["json_schema"]["schema"]["title"] == "Sum"
    assert server.chat_bodies[0]["response_format"]["json_schema"]["strict"] is True
    assert bad.error is not None and bad.error.type == "OutputSchemaError"
    assert plain.data == {"value": "five"}
