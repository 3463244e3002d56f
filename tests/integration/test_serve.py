"""``agent serve`` end to end: a real ``agent serve`` process, the MCP SDK's client as the host.

The model is the loopback OpenRouter; the agent's MCP servers are the bundled ones (real
processes). Over stdio and streamable HTTP, on both protocol eras: the tools and their schemas,
a task answered with its result and a progress notification per turn, a cancelled call, the
host's roots narrowing the fs server, the catalog and the probe, and an agent that hands a task
to another agent.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import jsonschema
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters, stdio_client
from mcp.client.context import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client

from agent.serve.results import run_result_schema
from tests.integration.cli_helpers import AGENT, TEST_KEY, agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, call, catalog_model, delayed, last_tool_result, reply
from tests.loopback.simulated import SIMULATED, simulated_catalog

pytestmark = pytest.mark.anyio

TOKEN = "serve-test-token-0123456789abcdef"


@asynccontextmanager
async def stdio_host(
    server: ScriptedOpenRouter, home: Path, *args: str, **client: Any
) -> AsyncIterator[Client]:
    """The SDK client connected to ``agent serve ARGS`` over stdio (its stderr in home/serve.log)."""
    params = StdioServerParameters(
        command=AGENT, args=["serve", *args], env=agent_env(server.base_url, home), cwd=str(home)
    )
    with (home / "serve.log").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), **client) as host:
            yield host


@contextmanager
def http_serve(
    server: ScriptedOpenRouter, home: Path, *args: str, **env: str
) -> Iterator[tuple[str, list[str]]]:
    """``agent serve --http 127.0.0.1:0 ARGS`` as a process: its URL, and its stderr lines so far."""
    proc = subprocess.Popen(
        [AGENT, "serve", "--http", "127.0.0.1:0", *args],
        env=agent_env(server.base_url, home, **env),
        cwd=home,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    listening = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            if "listening on" in line:
                listening.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert listening.wait(30), lines
        url = next(line for line in lines if "listening on" in line).rsplit(" ", 1)[1]
        yield url, lines
    finally:
        proc.terminate()
        code = proc.wait(timeout=15)
        reader.join(timeout=5)
        assert proc.stdout is not None and proc.stderr is not None
        out = proc.stdout.read()
        proc.stdout.close()
        proc.stderr.close()
    assert out == ""  # stdout is the protocol's, or nobody's
    assert code == 0, lines  # SIGTERM stops it cleanly (the agent closes its servers and sessions)


def answer_with_calc() -> tuple[Any, Any]:
    """A model that adds with calc, then answers with the tool's result."""
    return reply(None, call("evaluate", {"expression": "2+2"})), lambda req: reply(
        f"It is {last_tool_result(req)}"
    )


async def test_a_host_over_stdio_gets_the_tools_and_a_task_answered_with_its_result_and_progress(
    tmp_path: Path,
) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    with ScriptedOpenRouter(*answer_with_calc()) as server:
        with anyio.fail_after(60):
            async with stdio_host(server, tmp_path, "-m", "test/model", "-s", "calc") as host:
                assert host.protocol_version == "2026-07-28"
                tools = {tool.name: tool for tool in (await host.list_tools()).tools}
                request = {"task": "What is 2+2?"}
                result = await host.call_tool("run_task", request, progress_callback=on_progress)
    assert sorted(tools) == ["list_models", "probe_models", "run_task"]
    run_task = tools["run_task"]
    assert run_task.output_schema == run_result_schema()
    jsonschema.Draft202012Validator.check_schema(run_task.output_schema)
    assert "$ref" not in json.dumps(run_task.output_schema)
    assert run_task.annotations == types.ToolAnnotations(
        title="Run a task with an agent",
        read_only_hint=False,
        destructive_hint=False,  # calls that need approval are refused: nothing is destroyed
        idempotent_hint=False,
        open_world_hint=True,
    )
    assert tools["list_models"].annotations is not None and tools["list_models"].annotations.read_only_hint
    assert sorted(run_task.input_schema["properties"]) == [
        "max_cost",
        "max_turns",
        "model",
        "servers",
        "task",
        "timeout",
    ]
    assert "calc" in (run_task.description or "")

    print("request:", json.dumps({"name": "run_task", "arguments": request}))
    print("result:", json.dumps(result.model_dump(mode="json", by_alias=True, exclude_none=True)))
    assert not result.is_error
    assert [block.model_dump(exclude_none=True) for block in result.content] == [
        {"type": "text", "text": "It is 4"}
    ]
    structured = result.structured_content
    assert structured is not None
    jsonschema.validate(structured, run_task.output_schema)
    assert structured["output"] == "It is 4"
    assert structured["stop_reason"] == "completed"
    assert structured["turns"] == 2
    assert [(c["server"], c["tool"], c["output"]) for c in structured["tool_calls"]] == [
        ("calc", "evaluate", "4")
    ]
    assert [s["name"] for s in structured["servers"]] == ["calc"]
    assert isinstance(structured["session_id"], str) and structured["session_id"]
    assert progress == [(1.0, None, "turn 1: calling calc.evaluate"), (2.0, None, "turn 2: answering")]
    log = (tmp_path / "serve.log").read_text()
    assert TEST_KEY not in log and "Traceback" not in log
    # The run is a stored session like any other.
    sessions = run_agent_cli("sessions", "list", "--json", env=agent_env(None, tmp_path), cwd=tmp_path)
    assert [s["id"] for s in json.loads(sessions.stdout)] == [structured["session_id"]]
    server.assert_clean()


async def test_a_failed_run_is_an_error_result_with_its_one_line_error_and_the_structured_result(
    tmp_path: Path,
) -> None:
    with ScriptedOpenRouter(reply(None, call("evaluate", {"expression": "1+1"}))) as server:
        with anyio.fail_after(60):
            async with stdio_host(server, tmp_path, "-m", "test/model", "-s", "calc") as host:
                limited = await host.call_tool("run_task", {"task": "Add up", "max_turns": 1})
                unknown = await host.call_tool("run_task", {"task": "Add up", "servers": ["fs"]})
    assert limited.is_error
    assert [block.model_dump(exclude_none=True) for block in limited.content] == [
        {"type": "text", "text": "stopped: the run reached the turn limit (max_turns) after 1 turn"}
    ]
    assert limited.structured_content is not None
    assert limited.structured_content["stop_reason"] == "max_turns"
    assert unknown.is_error
    assert unknown.content[0].model_dump(exclude_none=True) == {
        "type": "text",
        "text": "error: ConfigError: servers: unknown server 'fs'; this agent's servers are: calc",
    }
    assert unknown.structured_content is not None
    jsonschema.validate(unknown.structured_content, run_result_schema())
    assert unknown.structured_content["error"]["type"] == "ConfigError"


async def test_cancelling_a_call_stops_its_run_and_the_next_call_works(tmp_path: Path) -> None:
    stalled = threading.Event()

    def stall(request: dict[str, Any]) -> Any:
        stalled.set()
        return delayed(30, reply("too late"))  # the model stalls on the second turn

    with ScriptedOpenRouter(
        reply(None, call("evaluate", {"expression": "1+1"})), stall, reply("the next task is done")
    ) as server:
        with anyio.fail_after(60):
            async with stdio_host(server, tmp_path, "-m", "test/model", "-s", "calc") as host:
                async with anyio.create_task_group() as tg:

                    async def slow() -> None:
                        await host.call_tool("run_task", {"task": "Take a while"})
                        raise AssertionError("the cancelled call returned")

                    tg.start_soon(slow)
                    await anyio.to_thread.run_sync(stalled.wait)
                    tg.cancel_scope.cancel()
                after = await host.call_tool("run_task", {"task": "Next"})
    assert not after.is_error
    assert after.content[0].model_dump(exclude_none=True) == {"type": "text", "text": "the next task is done"}
    sessions = run_agent_cli("sessions", "list", "--json", env=agent_env(None, tmp_path), cwd=tmp_path)
    statuses = {s["title"]: s["status"] for s in json.loads(sessions.stdout)}
    assert statuses == {"Take a while": "error", "Next": "completed"}
    assert len(server.chat_bodies) == 3  # the stopped run asked nothing more


async def test_the_hosts_roots_become_the_fs_servers_directories(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "a").mkdir(parents=True)
    (work / "b").mkdir()
    home = tmp_path / "home"
    home.mkdir()

    async def roots(ctx: ClientRequestContext) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri=(work / "a").as_uri(), name="a")])

    listing = reply(None, call("list_allowed_directories", {})), lambda req: reply(last_tool_result(req))
    with ScriptedOpenRouter(*listing, *listing) as server:
        with anyio.fail_after(60):
            async with stdio_host(
                server, home, "-m", "test/model", "-s", f"fs:{work}", mode="legacy", list_roots_callback=roots
            ) as host:
                narrowed = await host.call_tool("run_task", {"task": "Which directories can you read?"})
            async with stdio_host(server, home, "-m", "test/model", "-s", f"fs:{work}") as plain:
                whole = await plain.call_tool("run_task", {"task": "Which directories can you read?"})
    assert narrowed.content[0].model_dump(exclude_none=True) == {
        "type": "text",
        "text": str((work / "a").resolve()),
    }
    assert whole.content[0].model_dump(exclude_none=True) == {"type": "text", "text": str(work.resolve())}


async def test_list_models_and_probe_models_answer_from_the_catalog_and_the_checks(tmp_path: Path) -> None:
    catalog = [
        *simulated_catalog(),
        catalog_model("vendor/big", context_length=1_000_000),
        catalog_model("vendor/chat-only", supported_parameters=("max_tokens",)),
    ]
    with ScriptedOpenRouter(behaviours=SIMULATED, catalog=catalog) as server:
        with anyio.fail_after(60):
            async with stdio_host(server, tmp_path, "-m", "sim/capable", "--no-servers") as host:
                listed = await host.call_tool("list_models", {"tools_only": True, "search": "vendor"})
                probed = await host.call_tool(
                    "probe_models", {"models": ["sim/capable"], "checks": ["single"]}
                )
                too_many = await host.call_tool("probe_models", {"models": [f"m/{n}" for n in range(6)]})
    assert not listed.is_error
    assert listed.structured_content == {
        "models": [
            {
                "id": "vendor/big",
                "tools": True,
                "context_length": 1_000_000,
                "prompt_per_million": 1.0,
                "completion_per_million": 2.0,
                "free": False,
            }
        ],
        "matched": 1,
        "total": len(catalog),
        "stale": None,
    }
    assert not probed.is_error
    assert probed.structured_content is not None
    (model,) = probed.structured_content["models"]
    assert (model["model"], model["passed"], model["decided"], model["in_catalog"], model["stored"]) == (
        "sim/capable",
        1,
        1,
        True,
        True,
    )
    assert [(c["check"], c["verdict"]) for c in model["checks"]] == [("single", "pass")]
    assert too_many.is_error


async def test_over_http_a_task_is_answered_and_requests_without_the_token_are_refused(
    tmp_path: Path,
) -> None:
    with (
        ScriptedOpenRouter(*answer_with_calc()) as server,
        http_serve(server, tmp_path, "-m", "test/model", "-s", "calc", AGENT_SERVE_TOKEN=TOKEN) as (
            url,
            lines,
        ),
    ):
        assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp")
        with anyio.fail_after(60):
            async with httpx2.AsyncClient() as anonymous:
                refused = await anonymous.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
            async with (
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
                Client(streamable_http_client(url, http_client=http)) as host,
            ):
                tools = (await host.list_tools()).tools
                result = await host.call_tool("run_task", {"task": "What is 2+2?"})
    assert refused.status_code == 401
    assert TOKEN not in refused.text
    assert sorted(tool.name for tool in tools) == ["list_models", "probe_models", "run_task"]
    assert not result.is_error
    assert result.content[0].model_dump(exclude_none=True) == {"type": "text", "text": "It is 4"}
    assert result.structured_content is not None
    jsonschema.validate(result.structured_content, run_result_schema())
    assert not any(TOKEN in line or TEST_KEY in line for line in lines)


def test_a_remote_address_needs_allow_remote_and_a_token(tmp_path: Path) -> None:
    env = agent_env("http://127.0.0.1:9/api/v1", tmp_path)
    plain = run_agent_cli("serve", "--http", "0.0.0.0:0", env=env, cwd=tmp_path)
    no_token = run_agent_cli("serve", "--http", "0.0.0.0:0", "--allow-remote", env=env, cwd=tmp_path)
    assert (plain.code, no_token.code) == (2, 2)
    assert plain.stdout == no_token.stdout == ""
    assert plain.stderr.count("\n") == 1 and "--allow-remote" in plain.stderr
    assert no_token.stderr.count("\n") == 1 and "AGENT_SERVE_TOKEN" in no_token.stderr


def test_an_agent_hands_a_task_to_an_agent_serve(tmp_path: Path) -> None:
    inner_env = {
        name: f"${{{name}}}"
        for name in ("OPENROUTER_API_KEY", "OPENROUTER_BASE_URL", "AGENT_CONFIG_DIR", "AGENT_CACHE_DIR")
    }
    mcp = {
        "mcpServers": {
            "helper": {
                "command": AGENT,
                "args": ["serve", "-m", "inner/model", "-s", "calc"],
                "env": {**inner_env, "AGENT_DATA_DIR": str(tmp_path / "inner-data")},
            }
        }
    }
    (tmp_path / "mcp.json").write_text(json.dumps(mcp))
    with ScriptedOpenRouter(
        models={
            "outer/model": [
                reply(None, call("run_task", {"task": "What is 6*7? Use the calculator."})),
                lambda req: reply(f"The helper says: {last_tool_result(req).splitlines()[0]}"),
            ],
            "inner/model": [
                reply(None, call("evaluate", {"expression": "6*7"})),
                lambda req: reply(f"6*7 = {last_tool_result(req)}"),
            ],
        }
    ) as server:
        done = run_agent_cli(
            "run",
            "Ask the helper agent for 6*7",
            "-m",
            "outer/model",
            "--mcp-config",
            str(tmp_path / "mcp.json"),
            "--json",
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        )
    assert done.code == 0, done.stderr
    result = done.json()
    assert result["output"] == "The helper says: 6*7 = 42"
    (outer_call,) = result["tool_calls"]
    assert (outer_call["server"], outer_call["tool"], outer_call["is_error"]) == ("helper", "run_task", False)
    inner = json.loads(outer_call["output"].split("\n", 1)[1])  # the structured result follows the answer
    assert inner["model"] == "inner/model"
    assert [(c["server"], c["tool"]) for c in inner["tool_calls"]] == [("calc", "evaluate")]
    done.assert_no_key()
    assert os.path.isdir(tmp_path / "inner-data")
    server.assert_clean()
