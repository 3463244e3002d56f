"""The MCP manager against in-process servers: routing, restarts, tool-list changes, failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp.server import Server
from mcp.server.mcpserver import Context, MCPServer

from agent.events import Event, Notice, ServerFailed, ServerStarted
from agent.loop import RunOptions, run_agent
from agent.mcp.manager import McpManager
from agent.mcp.report import ServerReport
from agent.mcp.targets import ServerTarget
from agent.testing import ScriptedChatModel, call, reply
from agent.tools import ToolOutcome
from tests.fixtures.mcp_memory import MemoryLink, never_answering, tool_server
from tests.fixtures.mcp_test_server import build_server

pytestmark = pytest.mark.anyio


async def echo(arguments: dict[str, Any]) -> str:
    return str(arguments["message"])


def named(name: str) -> MemoryLink:
    async def whoami(arguments: dict[str, Any]) -> str:
        return name

    return MemoryLink(tool_server(name, {"whoami": whoami, "echo": echo}))


def crashable() -> MemoryLink:
    """A server whose ``crash`` tool kills its own session, as ``os._exit`` would."""

    async def crash(arguments: dict[str, Any]) -> str:
        link.cut()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    link = MemoryLink(tool_server("crashable", {"echo": echo, "crash": crash}))
    return link


def refusing() -> MemoryLink:
    link = named("down")
    link.refuse = True
    return link


async def test_calls_are_routed_to_the_server_that_offers_the_tool() -> None:
    events: list[Event] = []
    a, b = named("a"), named("b")
    with anyio.fail_after(5):
        async with McpManager({"a": a, "b": b}, on_event=events.append) as manager:
            assert await manager.call("a", "whoami", {}) == ToolOutcome("a")
            assert await manager.call("b", "whoami", {}) == ToolOutcome("b")
            assert await manager.call("c", "whoami", {}) == ToolOutcome(
                "Unknown MCP server 'c'", is_error=True
            )
            assert [(t.server, t.name) for t in manager.tools()] == [
                ("a", "whoami"),
                ("a", "echo"),
                ("b", "whoami"),
                ("b", "echo"),
            ]
            assert manager.tools() is manager.tools()
            assert manager.active == ["a", "b"]
    assert sorted((e.server, e.tools) for e in events if isinstance(e, ServerStarted)) == [("a", 2), ("b", 2)]
    assert (a.opened, b.opened) == (1, 1)


async def test_server_objects_are_connected_in_process() -> None:
    with anyio.fail_after(5):
        async with McpManager({"t": build_server()}) as manager:
            assert await manager.call("t", "add", {"a": 2, "b": 3}) == ToolOutcome("5")
            assert ("t", "files.read-all") in {(t.server, t.name) for t in manager.tools()}


async def test_tool_errors_and_mixed_content_reach_the_model_as_text() -> None:
    async with McpManager({"t": build_server()}) as manager:
        failed = await manager.call("t", "fail", {"reason": "no such row"})
        mixed = await manager.call("t", "mixed", {})
    assert failed == ToolOutcome("Error executing tool fail: no such row", is_error=True)
    assert mixed.text.splitlines()[0] == "some text"
    assert "[image: image/png, 2.0 KiB]" in mixed.text
    assert "[resource link: readme <test://readme>, text/plain]" in mixed.text


async def test_the_loop_calls_dotted_tool_names_through_sanitised_names() -> None:
    model = ScriptedChatModel([reply(None, call("files_read-all")), reply("done")])
    async with McpManager({"t": build_server()}) as manager:
        result = await run_agent(model, manager, "go")
    assert "files_read-all" in [spec.name for spec in model.requests[0].tools]
    assert [(c.server, c.tool, c.output) for c in result.tool_calls] == [("t", "files.read-all", "dotted")]


async def test_a_crashed_server_is_restarted_once_on_its_next_call_and_then_left_out() -> None:
    link = crashable()
    events: list[Event] = []
    with anyio.fail_after(5):
        async with McpManager({"t": link}, on_event=events.append) as manager:
            assert await manager.call("t", "crash", {}) == ToolOutcome(
                "Error calling tool 'crash': the connection to MCP server 't' closed during the call",
                is_error=True,
            )
            assert manager.reports() == [ServerReport(name="t", status="active", tools=2)]
            assert {t.name for t in manager.tools()} == {"echo", "crash"}
            assert await manager.call("t", "echo", {"message": "back"}) == ToolOutcome("back")
            assert link.opened == 2
            assert [e.message for e in events if isinstance(e, Notice)] == [
                "MCP server 't' stopped unexpectedly; restarting it"
            ]
            assert (await manager.call("t", "crash", {})).is_error
            assert manager.tools() == []
            assert await manager.call("t", "echo", {"message": "x"}) == ToolOutcome(
                "MCP server 't' stopped working and could not be restarted", is_error=True
            )
            assert manager.reports() == [
                ServerReport(name="t", status="failed", error="stopped and could not be restarted")
            ]
    assert link.opened == 2


async def test_a_restart_that_fails_leaves_the_server_out_and_says_why() -> None:
    link = crashable()
    events: list[Event] = []
    with anyio.fail_after(5):
        async with McpManager({"t": link}, on_event=events.append) as manager:
            link.refuse = True
            await manager.call("t", "crash", {})
            gone = ToolOutcome("MCP server 't' stopped working and could not be restarted", is_error=True)
            assert await manager.call("t", "echo", {"message": "x"}) == gone
            assert await manager.call("t", "echo", {"message": "x"}) == gone
            assert manager.tools() == []
            assert manager.reports() == [
                ServerReport(
                    name="t",
                    status="failed",
                    error="start-up failed: ConnectionRefusedError: connection refused",
                )
            ]
    assert [e.server for e in events if isinstance(e, ServerFailed)] == ["t"]


async def test_a_bare_transport_serves_one_connection_and_is_not_restarted() -> None:
    link = crashable()
    with anyio.fail_after(5):
        async with McpManager({"t": link()}) as manager:
            assert await manager.call("t", "echo", {"message": "once"}) == ToolOutcome("once")
            await manager.call("t", "crash", {})
            assert manager.tools() == []
            assert (await manager.call("t", "echo", {"message": "x"})).text == (
                "MCP server 't' stopped working and could not be restarted"
            )
    assert link.opened == 1


def growing_server() -> MCPServer:
    server = MCPServer("growing")

    @server.tool()
    async def grow(ctx: Context) -> str:
        """Add a tool, then tell the client."""

        def extra() -> str:
            """A tool that did not exist at start-up."""
            return "new"

        server.add_tool(extra, name="extra")
        await ctx.session.send_tool_list_changed()
        return "grown"

    return server


async def test_a_server_that_adds_a_tool_and_notifies_has_it_listed() -> None:
    events: list[Event] = []
    changed = anyio.Event()

    def on_event(event: Event) -> None:
        events.append(event)
        if isinstance(event, Notice) and event.level == "info":
            changed.set()

    with anyio.fail_after(5):
        async with McpManager({"g": growing_server()}, on_event=on_event) as manager:
            before = manager.tools()
            assert [t.name for t in before] == ["grow"]
            assert await manager.call("g", "grow", {}) == ToolOutcome("grown")
            await changed.wait()
            assert [t.name for t in manager.tools()] == ["grow", "extra"]
            assert manager.tools() is not before
            assert await manager.call("g", "extra", {}) == ToolOutcome("new")
            assert manager.reports() == [ServerReport(name="g", status="active", tools=2)]
    assert Notice(level="info", message="MCP server 'g' now offers 2 tools") in events


def hanging_server() -> tuple[Server[Any], anyio.Event, anyio.Event]:
    started, cancelled = anyio.Event(), anyio.Event()

    async def hang(arguments: dict[str, Any]) -> str:
        started.set()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            cancelled.set()
            raise
        raise AssertionError("unreachable")

    return tool_server("hanging", {"hang": hang, "echo": echo}), started, cancelled


async def test_a_cancelled_call_is_cancelled_on_the_server_which_stays_usable() -> None:
    server, started, cancelled = hanging_server()
    with anyio.fail_after(5):
        async with McpManager({"t": server}) as manager:
            async with anyio.create_task_group() as tg:
                tg.start_soon(manager.call, "t", "hang", {})
                await started.wait()
                tg.cancel_scope.cancel()
            await cancelled.wait()
            assert await manager.call("t", "echo", {"message": "still usable"}) == ToolOutcome("still usable")


async def test_a_hung_tool_is_cancelled_by_the_tool_timeout_and_the_server_stays_usable() -> None:
    server, _, cancelled = hanging_server()
    model = ScriptedChatModel(
        [reply(None, call("hang")), reply(None, call("echo", {"message": "still here"})), reply("ok")]
    )
    with anyio.fail_after(5):
        async with McpManager({"t": server}) as manager:
            result = await run_agent(model, manager, "go", RunOptions(tool_timeout=0.05))
            await cancelled.wait()
    assert [(c.tool, c.is_error) for c in result.tool_calls] == [("hang", True), ("echo", False)]
    assert result.tool_calls[1].output == "still here"


@asynccontextmanager
async def broken_lifespan(server: MCPServer) -> AsyncIterator[None]:
    raise RuntimeError("cannot open database /nonexistent.db")
    yield


async def test_servers_that_fail_to_start_are_reported_with_the_reason_and_left_out() -> None:
    events: list[Event] = []
    servers: dict[str, ServerTarget] = {
        "broken": MCPServer("broken", lifespan=broken_lifespan),
        "down": refusing(),
        "mute": never_answering,
        "up": named("up"),
    }
    with anyio.fail_after(5):
        async with McpManager(servers, on_event=events.append, startup_timeout=0.05) as manager:
            assert manager.active == ["up"]
            assert {t.server for t in manager.tools()} == {"up"}
            assert [(s.name, s.error.detail if s.error else None) for s in manager.failed] == [
                ("broken", "start-up failed: RuntimeError: cannot open database /nonexistent.db"),
                ("down", "start-up failed: ConnectionRefusedError: connection refused"),
                ("mute", "did not start within 0.05 s"),
            ]
            assert await manager.call("down", "echo", {"message": "x"}) == ToolOutcome(
                "MCP server 'down' is not running", is_error=True
            )
    assert sorted(e.server for e in events if isinstance(e, ServerFailed)) == ["broken", "down", "mute"]


async def test_reports_list_every_configured_server_in_order_with_its_state() -> None:
    off = named("off")
    servers = {"up": named("up"), "down": refusing(), "off": off}
    with anyio.fail_after(5):
        async with McpManager(servers, disabled=["off", "elsewhere"]) as manager:
            assert manager.reports() == [
                ServerReport(name="up", status="active", tools=2),
                ServerReport(
                    name="down",
                    status="failed",
                    error="start-up failed: ConnectionRefusedError: connection refused",
                ),
                ServerReport(name="off", status="disabled"),
                ServerReport(name="elsewhere", status="disabled"),
            ]
            assert await manager.call("off", "whoami", {}) == ToolOutcome(
                "Unknown MCP server 'off'", is_error=True
            )
        assert [r.status for r in manager.reports()] == ["active", "failed", "disabled", "disabled"]
    assert off.opened == 0
    assert manager.reports()[0].model_dump() == {"name": "up", "status": "active", "tools": 2, "error": None}


async def test_a_call_made_before_the_servers_finished_starting_waits_for_its_server() -> None:
    with anyio.fail_after(5):
        async with McpManager({"a": named("a")}, wait=False) as manager:
            assert await manager.call("a", "whoami", {}) == ToolOutcome("a")
            await manager.wait_started()
            assert manager.active == ["a"]
