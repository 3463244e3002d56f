"""What an MCP connection can be given, and how start-up failures are put in one line."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError

from agent.config.servers import HttpServerConfig, StdioServerConfig
from agent.mcp.connection import McpConnection
from agent.mcp.eras import plan_mode
from agent.mcp.failures import describe_start_failure, one_line
from agent.mcp.manager import McpManager
from agent.mcp.targets import ServerTarget, TargetKind, startup_timeout_of, target_kind
from tests.fixtures.mcp_memory import MemoryLink, never_answering, tool_server

STDIO = StdioServerConfig(command="/usr/bin/server", startup_timeout=3, mode="auto")
HTTP = HttpServerConfig(url="http://127.0.0.1:9/mcp")


@pytest.mark.parametrize(
    ("target", "kind", "restartable"),
    [
        (STDIO, "stdio", True),
        (HTTP, "http", True),
        (MCPServer("high-level"), "server", True),
        (tool_server("low-level", {}), "server", True),
        (MemoryLink(tool_server("linked", {})), "factory", True),
        (never_answering, "factory", True),
        (never_answering(), "transport", False),
    ],
)
def test_targets_are_told_apart_and_only_bare_transports_cannot_reconnect(
    target: ServerTarget, kind: TargetKind, restartable: bool
) -> None:
    assert target_kind(target) == kind
    assert McpConnection("s", target).restartable is restartable


@pytest.mark.parametrize("target", [42, "http://127.0.0.1:9/mcp", None])
def test_anything_else_is_refused_when_the_manager_is_made(target: Any) -> None:
    with pytest.raises(TypeError, match="an MCP server target must be a server config"):
        McpManager({"x": target})


def test_configs_set_their_own_start_up_timeout_and_mode_others_take_the_defaults() -> None:
    assert [startup_timeout_of(t, 7.0) for t in (STDIO, HTTP, never_answering)] == [3.0, 30.0, 7.0]
    # A config without a mode is probed (here with nowhere to remember the answer); others: legacy.
    assert [plan_mode(t, None, None).mode for t in (STDIO, HTTP, never_answering)] == [
        "auto",
        "auto",
        "legacy",
    ]


CLOSED = MCPError(code=-32000, message="Connection closed")


@pytest.mark.parametrize(
    ("error", "target", "expected"),
    [
        (FileNotFoundError(2, "No such file"), STDIO, "command not found: /usr/bin/server"),
        (PermissionError(13, "Permission denied"), STDIO, "command is not executable: /usr/bin/server"),
        (ExceptionGroup("g", [ExceptionGroup("h", [CLOSED])]), STDIO, "the server exited during start-up"),
        (ExceptionGroup("g", [CLOSED]), never_answering, "the connection closed during start-up"),
        (MCPError(code=-32603, message="bad\nthings"), HTTP, "start-up failed: bad things"),
        (ExceptionGroup("g", [OSError("refused")]), HTTP, "start-up failed: OSError: refused"),
        (RuntimeError(), HTTP, "start-up failed: RuntimeError: RuntimeError"),
    ],
)
def test_start_up_failures_are_described_in_one_line(
    error: BaseException, target: ServerTarget, expected: str
) -> None:
    assert describe_start_failure(error, target) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("  two\n\tlines \r\n", "two lines"),
        ("x" * 400, "x" * 299 + "…"),
    ],
)
def test_one_line_collapses_whitespace_and_caps_the_length(text: str, expected: str) -> None:
    assert one_line(text, 300) == expected
