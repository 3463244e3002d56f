"""The MCP manager against real server processes (our fault-injecting test server)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest

from agent.config.servers import StdioServerConfig
from agent.events import Event, Notice, ServerFailed, ServerStarted
from agent.loop import run_agent
from agent.mcp.manager import McpManager
from agent.testing import ScriptedChatModel, call, reply
from agent.tools import ToolOutcome

pytestmark = pytest.mark.anyio

TEST_SERVER = str(Path(__file__).parents[1] / "fixtures" / "mcp_test_server.py")


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def fixture_server(*args: str, **kwargs: object) -> StdioServerConfig:
    return StdioServerConfig(command=sys.executable, args=[TEST_SERVER, *args], **kwargs)  # type: ignore[arg-type]


async def test_servers_start_in_parallel_and_offer_their_tools() -> None:
    events: list[Event] = []
    with anyio.fail_after(30):
        async with McpManager(
            {"a": fixture_server(), "b": fixture_server()}, on_event=events.append
        ) as manager:
            started = [e for e in events if isinstance(e, ServerStarted)]
            assert sorted(e.server for e in started) == ["a", "b"]
            assert all(e.tools == 9 for e in started)
            assert manager.active == ["a", "b"]
            names = {(t.server, t.name) for t in manager.tools()}
            assert ("a", "files.read-all") in names and ("b", "echo") in names
            assert manager.tools() is manager.tools()
            assert await manager.call("a", "add", {"a": 2, "b": 3}) == ToolOutcome("5")


async def test_a_server_that_fails_to_start_is_reported_with_its_stderr_and_left_out() -> None:
    with anyio.fail_after(30):
        async with McpManager({"bad": fixture_server("--fail-start"), "good": fixture_server()}) as manager:
            [failed] = manager.failed
            assert failed.name == "bad"
            assert failed.error is not None
            assert str(failed.error) == "MCP server 'bad': the server exited during start-up"
            assert "fatal: cannot open database /nonexistent.db" in failed.error.stderr_tail
            assert manager.active == ["good"]
            assert {t.server for t in manager.tools()} == {"good"}


async def test_a_missing_command_is_named_in_the_failure() -> None:
    config = StdioServerConfig(command="/nonexistent/mcp-server")
    async with McpManager({"ghost": config}) as manager:
        [failed] = manager.failed
        assert failed.error is not None
        assert failed.error.detail == "command not found: /nonexistent/mcp-server"


async def test_a_server_that_hangs_at_start_up_is_stopped_after_its_timeout() -> None:
    with anyio.fail_after(30):
        async with McpManager({"slow": fixture_server("--hang-start", startup_timeout=0.5)}) as manager:
            [failed] = manager.failed
            assert failed.error is not None
            assert failed.error.detail == "did not start within 0.5 s"


async def test_a_server_crashing_mid_call_gives_an_error_result_and_is_restarted_once(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    events: list[Event] = []
    with anyio.fail_after(30):
        async with McpManager(
            {"t": fixture_server("--pid-file", str(pids))}, on_event=events.append
        ) as manager:
            outcome = await manager.call("t", "crash", {})
            assert outcome == ToolOutcome(
                "Error calling tool 'crash': the MCP server 't' exited during the call "
                "(its last words: crashing on purpose)",
                is_error=True,
            )
            assert {t.name for t in manager.tools()} >= {"echo", "crash"}
            assert await manager.call("t", "echo", {"message": "back"}) == ToolOutcome("back")
            assert len(pids.read_text().split()) == 2
            assert [e.message for e in events if isinstance(e, Notice)] == [
                "MCP server 't' stopped unexpectedly; restarting it"
            ]
            second = await manager.call("t", "crash", {})
            assert second.is_error
            assert manager.tools() == []
            again = await manager.call("t", "echo", {"message": "x"})
            assert again == ToolOutcome(
                "MCP server 't' stopped working and could not be restarted", is_error=True
            )
    assert len(pids.read_text().split()) == 2


async def test_a_restart_that_fails_leaves_the_server_out(tmp_path: Path) -> None:
    flag = tmp_path / "broken"
    events: list[Event] = []
    async with McpManager(
        {"t": fixture_server("--fail-if-exists", str(flag))}, on_event=events.append
    ) as manager:
        flag.write_text("now the server cannot start")
        await manager.call("t", "crash", {})
        outcome = await manager.call("t", "echo", {"message": "x"})
        assert outcome == ToolOutcome(
            "MCP server 't' stopped working and could not be restarted", is_error=True
        )
        assert manager.tools() == []
    assert [e.server for e in events if isinstance(e, ServerFailed)] == ["t"]


async def test_a_timed_out_call_is_cancelled_on_the_server(tmp_path: Path) -> None:
    marker = tmp_path / "cancelled"
    async with McpManager({"t": fixture_server()}) as manager:
        with anyio.move_on_after(0.5):
            await manager.call("t", "sleep", {"seconds": 30, "marker": str(marker)})
        assert await manager.call("t", "echo", {"message": "still usable"}) == ToolOutcome("still usable")
    # The server handled the cancellation notification before it saw its stdin close.
    assert marker.read_text() == "cancelled"


async def test_servers_are_stopped_when_the_block_fails(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    with pytest.raises(RuntimeError, match="boom"):
        async with McpManager({"a": fixture_server("--pid-file", str(pids))}):
            raise RuntimeError("boom")
    [pid] = pids.read_text().split()
    assert not process_alive(int(pid))


async def test_tool_errors_and_mixed_content_reach_the_model_as_text() -> None:
    async with McpManager({"t": fixture_server()}) as manager:
        failed = await manager.call("t", "fail", {"reason": "no such row"})
        mixed = await manager.call("t", "mixed", {})
    assert failed == ToolOutcome("Error executing tool fail: no such row", is_error=True)
    assert mixed.text.splitlines()[0] == "some text"
    assert "[image: image/png, 2.0 KiB]" in mixed.text
    assert "[resource link: readme <test://readme>, text/plain]" in mixed.text


async def test_servers_get_only_the_environment_their_entry_gives() -> None:
    config = fixture_server(env={"GREETING": "hi"})
    async with McpManager({"t": config}) as manager:
        assert (await manager.call("t", "env", {"name": "GREETING"})).text == "hi"
        assert (await manager.call("t", "env", {"name": "OPENROUTER_API_KEY"})).text == "<unset>"


async def test_the_loop_calls_dotted_tool_names_through_sanitised_names() -> None:
    model = ScriptedChatModel([reply(None, call("files_read-all")), reply("done")])
    async with McpManager({"t": fixture_server()}) as manager:
        result = await run_agent(model, manager, "go")
    assert "files_read-all" in [spec.name for spec in model.requests[0].tools]
    assert [(c.server, c.tool, c.output) for c in result.tool_calls] == [("t", "files.read-all", "dotted")]


async def test_a_hung_tool_is_cancelled_by_the_tool_timeout_and_the_server_stays_usable() -> None:
    from agent.loop import RunOptions

    model = ScriptedChatModel(
        [
            reply(None, call("sleep", {"seconds": 30})),
            reply(None, call("echo", {"message": "still here"})),
            reply("ok"),
        ]
    )
    with anyio.fail_after(20):
        async with McpManager({"t": fixture_server()}) as manager:
            result = await run_agent(model, manager, "go", RunOptions(tool_timeout=0.5))
    assert [(c.tool, c.is_error) for c in result.tool_calls] == [("sleep", True), ("echo", False)]
    assert result.tool_calls[1].output == "still here"
