"""MCP servers over the real HTTP transports (streamable HTTP, legacy SSE) on 127.0.0.1."""

from __future__ import annotations

import anyio
import pytest

from agent.config.servers import HttpServerConfig
from agent.mcp.manager import McpManager
from agent.mcp.report import ServerReport
from agent.tools import ToolOutcome
from tests.fixtures.mcp_http import serve_on_loopback
from tests.fixtures.mcp_test_server import build_server

pytestmark = pytest.mark.anyio


async def test_a_streamable_http_server_is_listed_called_and_left_cleanly() -> None:
    app = build_server().streamable_http_app()
    with anyio.fail_after(20):
        async with serve_on_loopback(app) as base:
            config = HttpServerConfig(type="streamable-http", url=f"{base}/mcp")
            async with McpManager({"web": config}) as manager:
                assert manager.reports() == [ServerReport(name="web", status="active", tools=9)]
                assert ("web", "files.read-all") in {(t.server, t.name) for t in manager.tools()}
                assert await manager.call("web", "add", {"a": 2, "b": 3}) == ToolOutcome("5")
            assert manager.active == []


async def test_an_sse_server_is_listed_called_and_left_cleanly() -> None:
    app = build_server().sse_app()
    with anyio.fail_after(20):
        async with serve_on_loopback(app) as base:
            config = HttpServerConfig(type="sse", url=f"{base}/sse")
            async with McpManager({"old": config}) as manager:
                assert manager.reports() == [ServerReport(name="old", status="active", tools=9)]
                assert await manager.call("old", "echo", {"message": "over sse"}) == ToolOutcome("over sse")
            assert manager.active == []
