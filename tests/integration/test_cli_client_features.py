"""What MCP servers ask of the client, end to end: the real CLI (and ``Agent``), a loopback
OpenRouter, and a fixture server over stdio in both protocol eras."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from agent import Agent
from agent.config.servers import StdioServerConfig, load_mcp_config
from agent.events import (
    ElicitationAnswer,
    ElicitationRequested,
    SamplingRequest,
    ToolProgress,
    answer_through_events,
)
from agent.mcp.eras import config_key
from agent.mcp.manager import McpManager
from agent.messages import UserMessage
from agent.tools import ToolOutcome
from tests.integration.cli_helpers import FIXTURE_SERVER, Completed, agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, call, last_tool_result, reply

FEATURES_SERVER = str(Path(__file__).parents[1] / "fixtures" / "mcp_client_features_server.py")


def write_config(tmp_path: Path, **modes: str | None) -> Path:
    """An MCP config of fixture servers, one per name, each with its ``mode`` (None: none)."""
    servers: dict[str, Any] = {}
    for name, mode in modes.items():
        servers[name] = {"command": sys.executable, "args": [FEATURES_SERVER]}
        if mode is not None:
            servers[name]["mode"] = mode
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": servers}))
    return path


def run(server: ScriptedOpenRouter, tmp_path: Path, *args: str, **modes: str | None) -> Completed:
    config = write_config(tmp_path, **(modes or {"fx": None}))
    return run_agent_cli(
        "run",
        "go",
        "-m",
        "test/model",
        "--mcp-config",
        str(config),
        "--approval",  # the fixture's tools say nothing, so they count as destructive: not asked here
        "off",
        *args,
        env=agent_env(server.base_url, tmp_path),
        cwd=tmp_path,
    )


def answer_with_tool_result(request: dict[str, Any]) -> Any:
    return reply(f"The tool said: {last_tool_result(request)}")


def tool_messages(body: dict[str, Any]) -> list[str]:
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


# -- protocol eras ---------------------------------------------------------------------------


def test_one_config_serves_both_eras_and_remembers_the_era_it_probed(tmp_path: Path) -> None:
    config = write_config(tmp_path, old="legacy", new=None)
    env = agent_env(None, tmp_path)
    done = run_agent_cli("servers", "--json", "--mcp-config", str(config), env=env, cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert [(s["name"], s["status"], s["protocol_version"]) for s in json.loads(done.stdout)] == [
        ("old", "active", "2025-11-25"),
        ("new", "active", "2026-07-28"),
    ]
    new = load_mcp_config(config, env={})["new"]
    remembered = json.loads((tmp_path / "agent-cache" / "mcp-eras.json").read_text())
    assert {key: entry["version"] for key, entry in remembered.items()} == {config_key(new): "2026-07-28"}


def test_a_server_remembered_as_legacy_is_spoken_to_with_the_handshake(tmp_path: Path) -> None:
    config = write_config(tmp_path, fx=None)
    cache = tmp_path / "agent-cache"
    cache.mkdir()
    key = config_key(load_mcp_config(config, env={})["fx"])
    (cache / "mcp-eras.json").write_text(json.dumps({key: {"version": "2025-11-25", "seen": 4102444800}}))
    done = run_agent_cli(
        "servers", "--json", "--mcp-config", str(config), env=agent_env(None, tmp_path), cwd=tmp_path
    )
    assert done.code == 0, done.stderr
    assert [s["protocol_version"] for s in json.loads(done.stdout)] == ["2025-11-25"]


@pytest.mark.parametrize("mode", ["legacy", None])
def test_a_tool_a_server_adds_is_offered_to_the_model_on_the_next_turn(
    tmp_path: Path, mode: str | None
) -> None:
    with ScriptedOpenRouter(
        reply(None, call("grow")), reply(None, call("extra")), answer_with_tool_result
    ) as server:
        done = run(server, tmp_path, "--json", fx=mode)
    assert done.code == 0, done.stderr
    first, second, _ = server.chat_bodies
    assert "extra" not in [t["function"]["name"] for t in first["tools"]]
    assert "extra" in [t["function"]["name"] for t in second["tools"]]
    assert done.json()["output"] == "The tool said: extra here"


# -- progress and logs -------------------------------------------------------------------------


def test_progress_is_not_printed_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply(None, call("slow_progress", {"steps": 3})), reply("ok")) as server:
        done = run(server, tmp_path, "--verbose")
    assert done.code == 0, done.stderr
    assert "✓ fx.slow_progress" in done.stderr
    assert "…" not in done.stderr and "step 1 of 3" not in done.stderr


@pytest.mark.parametrize("mode", ["legacy", None])
def test_server_logs_are_shown_on_stderr_with_verbose_and_cleaned(tmp_path: Path, mode: str | None) -> None:
    with ScriptedOpenRouter(
        reply(None, call("chatty")), reply("ok"), reply(None, call("chatty")), reply("ok")
    ) as server:
        quiet = run(server, tmp_path, fx=mode)
        loud = run(server, tmp_path, "--verbose", fx=mode)
    assert quiet.code == loud.code == 0, loud.stderr
    assert "starting work" not in quiet.stderr
    logs = [line for line in loud.stderr.splitlines() if line.startswith("· fx [")]
    assert logs == [
        "· fx [info] fixture: starting work",
        "· fx [warning] fixture: disk almost full!",
        '· fx [error] fixture: {"code": 7}',
    ]
    assert "\x1b" not in loud.stderr and "\x07" not in loud.stderr


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_an_abandoned_call_is_cancelled_on_a_stdio_server_of_either_era(
    tmp_path: Path, mode: str
) -> None:
    marker = tmp_path / "cancelled"
    config = StdioServerConfig(command=sys.executable, args=[FIXTURE_SERVER], mode=mode)  # type: ignore[arg-type]
    with anyio.fail_after(30):
        async with McpManager({"t": config}) as manager:
            (entry,) = await manager.server_entries()
            assert entry.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
            with anyio.move_on_after(0.5):  # the call is abandoned, as a tool timeout does
                await manager.call("t", "sleep", {"seconds": 30, "marker": str(marker)})
            assert await manager.call("t", "echo", {"message": "still usable"}) == ToolOutcome("still usable")
    # The server handled the cancellation before it saw its stdin close.
    assert marker.read_text() == "cancelled"


# -- roots -------------------------------------------------------------------------------------


def test_servers_get_the_working_directory_as_their_root(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply(None, call("where")), answer_with_tool_result) as server:
        done = run(server, tmp_path, "--json")
    assert done.json()["tool_calls"][0]["output"] == tmp_path.resolve().as_uri()


def test_root_options_replace_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    elsewhere = tmp_path / "else where"
    elsewhere.mkdir()
    with ScriptedOpenRouter(reply(None, call("where")), answer_with_tool_result) as server:
        done = run(server, tmp_path, "--json", "--root", "data", "--root", str(elsewhere))
    assert done.json()["tool_calls"][0]["output"].splitlines() == [
        (tmp_path / "data").resolve().as_uri(),
        elsewhere.resolve().as_uri(),
    ]


def test_a_root_that_is_not_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    with ScriptedOpenRouter() as server:
        done = run(server, tmp_path, "--root", "missing")
    assert done.code == 2
    assert done.stderr.strip().splitlines()[-1] == "error: --root: not a directory: missing"


# -- sampling ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["legacy", None])
def test_sampling_is_refused_when_nobody_can_be_asked(tmp_path: Path, mode: str | None) -> None:
    with ScriptedOpenRouter(reply(None, call("summarise", {"text": "a long story"})), reply("ok")) as server:
        done = run(server, tmp_path, "--json", fx=mode)
    assert done.code == 0, done.stderr
    assert (
        "warning: MCP server 'fx' asked for a model completion (sampling); "
        "refused: not asked: not at a terminal (--allow-sampling allows it)"
    ) in done.stderr.splitlines()
    (tool_call,) = done.json()["tool_calls"]
    assert tool_call["is_error"]
    assert "Sampling request refused: not asked: not at a terminal" in tool_call["output"]
    assert len(server.chat_bodies) == 2  # the model was not asked for the server


@pytest.mark.parametrize("mode", ["legacy", None])
def test_allowed_sampling_is_answered_by_the_runs_model(tmp_path: Path, mode: str | None) -> None:
    with ScriptedOpenRouter(
        reply(None, call("summarise", {"text": "a long story"})), reply("Short."), answer_with_tool_result
    ) as server:
        done = run(server, tmp_path, "--json", "--allow-sampling", fx=mode)
    assert done.code == 0, done.stderr
    assert done.json()["output"] == "The tool said: test/model: Short."
    sampling = server.chat_bodies[1]
    assert sampling["messages"] == [
        {"role": "system", "content": "You summarise."},
        {"role": "user", "content": "Summarise: a long story"},
    ]
    assert (sampling["model"], sampling["max_tokens"], "tools" in sampling) == ("test/model", 50, False)


# -- elicitation -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["legacy", None])
def test_elicitation_is_declined_when_nobody_can_be_asked(tmp_path: Path, mode: str | None) -> None:
    with ScriptedOpenRouter(reply(None, call("book")), answer_with_tool_result) as server:
        done = run(server, tmp_path, "--json", fx=mode)
    assert done.code == 0, done.stderr
    assert "warning: MCP server 'fx' asked for input; declined: not asked: not at a terminal" in done.stderr
    assert json.loads(done.json()["tool_calls"][0]["output"]) == {"action": "decline", "data": None}


# -- the Python API ----------------------------------------------------------------------------


def api_config(mode: str | None = None) -> dict[str, Any]:
    server: dict[str, Any] = {"command": sys.executable, "args": [FEATURES_SERVER]}
    if mode is not None:
        server["mode"] = mode
    return {"mcpServers": {"fx": server}}


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", None])
async def test_the_api_reports_a_tools_progress_over_stdio(tmp_path: Path, mode: str | None) -> None:
    with ScriptedOpenRouter(
        reply(None, call("slow_progress", {"steps": 2}, id="call_p")), reply("ok")
    ) as server:
        agent = Agent(
            model="test/model",
            mcp_config=api_config(mode),
            approval="off",
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        )
        with anyio.fail_after(30):
            events = [event async for event in agent.events("go")]
    assert [e for e in events if isinstance(e, ToolProgress)] == [
        ToolProgress(
            server="fx", tool="slow_progress", call_id="call_p", progress=n, total=2, message=f"step {n} of 2"
        )
        for n in (1, 2)
    ]


@pytest.mark.anyio
async def test_the_api_answers_an_elicitation_through_the_event_stream(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply(None, call("book")), answer_with_tool_result) as server:
        agent = Agent(
            model="test/model",
            mcp_config=api_config(),
            approval="off",
            answer_elicitation=answer_through_events,
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        )
        with anyio.fail_after(30):
            async with agent:
                async for event in agent.events("book me a table"):
                    if isinstance(event, ElicitationRequested):
                        fields = [f.name for f in event.request.fields]
                        event.respond(ElicitationAnswer.accept({"date": "2026-12-24", "guests": 3}))
    assert fields == ["date", "guests", "seating", "confirm"]
    assert tool_messages(server.chat_bodies[1]) == [
        json.dumps(
            {
                "action": "accept",
                "data": {"date": "2026-12-24", "guests": 3, "seating": "indoor", "confirm": False},
            }
        )
    ]


@pytest.mark.anyio
async def test_the_api_asks_its_sampling_handler_and_answers_with_the_agents_model(tmp_path: Path) -> None:
    asked: list[SamplingRequest] = []

    async def approve(request: SamplingRequest) -> bool:
        asked.append(request)
        return True

    with ScriptedOpenRouter(
        reply(None, call("summarise", {"text": "notes"}, id="call_s")),
        reply("Brief."),
        answer_with_tool_result,
    ) as server:
        agent = Agent(
            model="test/model",
            mcp_config=api_config(),
            approval="off",
            approve_sampling=approve,
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        )
        with anyio.fail_after(30):
            result = await agent.run("summarise my notes")
    assert result.output == "The tool said: test/model: Brief."
    assert asked == [
        SamplingRequest(
            server="fx",
            call_id="call_s",
            messages=[UserMessage(content="Summarise: notes")],
            system_prompt="You summarise.",
            max_tokens=50,
        )
    ]
