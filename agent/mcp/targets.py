"""What an MCP connection can be given: a server config, an SDK transport, or a server object.

A :data:`ServerTarget` is one of

- a :class:`~agent.config.servers.StdioServerConfig` (we spawn the process; see ``stdio.py``),
- an :class:`~agent.config.servers.HttpServerConfig` (streamable HTTP or legacy SSE),
- an SDK transport: an async context manager yielding the ``(read, write)`` stream pair, used
  for one connection (the MCP SDK's ``Client`` accepts the same),
- a transport factory: a callable returning a fresh transport for every (re)connection,
- an in-process server (the SDK's ``MCPServer`` or low-level ``Server``), connected in memory.

This module only looks at the SDK when the target is not a config, so stdio servers can still
be spawned before the SDK is imported.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast

from agent.config.servers import (
    DEFAULT_STARTUP_TIMEOUT,
    HttpServerConfig,
    ServerConfig,
    StdioServerConfig,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from mcp.client import Transport
    from mcp.server import MCPServer, Server

    from agent.mcp.oauth import OAuthOptions

__all__ = [
    "InProcessServer",
    "ServerTarget",
    "TargetKind",
    "TransportFactory",
    "http_transport",
    "sdk_source",
    "startup_timeout_of",
    "target_kind",
]

TransportFactory: TypeAlias = "Callable[[], Transport]"
"""Makes a fresh SDK transport; called once per connection attempt, so restarts work."""

InProcessServer: TypeAlias = "Server[Any] | MCPServer"
"""An MCP server object living in this process, connected through memory streams."""

ServerTarget: TypeAlias = "ServerConfig | Transport | TransportFactory | InProcessServer"
"""Anything a connection (and :class:`~agent.mcp.manager.McpManager`) can connect to."""

TargetKind = Literal["stdio", "http", "server", "transport", "factory"]


def target_kind(target: object) -> TargetKind:
    """Classify ``target``; the SDK is imported only for targets that are not configs.

    Raises:
        TypeError: ``target`` is none of the kinds a connection accepts.
    """
    if isinstance(target, StdioServerConfig):
        return "stdio"
    if isinstance(target, HttpServerConfig):
        return "http"
    from mcp.server import MCPServer, Server

    if isinstance(target, Server | MCPServer):
        return "server"
    if not isinstance(target, type) and hasattr(target, "__aenter__") and hasattr(target, "__aexit__"):
        return "transport"
    if callable(target):
        return "factory"
    raise TypeError(
        "an MCP server target must be a server config, an SDK transport (or a factory of one), "
        f"or an MCPServer/Server object; got {type(target).__name__}"
    )


def startup_timeout_of(target: ServerTarget, default: float = DEFAULT_STARTUP_TIMEOUT) -> float:
    """Seconds the target may take to start: its config's, else ``default``."""
    if isinstance(target, StdioServerConfig | HttpServerConfig):
        return target.startup_timeout
    return default


async def sdk_source(
    target: ServerTarget,
    stack: contextlib.AsyncExitStack,
    *,
    server: str | None = None,
    oauth: OAuthOptions | None = None,
) -> Transport | InProcessServer:
    """What to hand the SDK's ``Client`` for a target that is not a stdio config.

    HTTP resources the transport needs are entered on ``stack`` (closed after the client).
    ``server`` (the configured name) and ``oauth`` go to :func:`http_transport`.
    """
    if isinstance(target, StdioServerConfig):
        raise TypeError("stdio servers are spawned by the connection, not opened here")
    if isinstance(target, HttpServerConfig):
        return await http_transport(target, stack, server=server, oauth=oauth)
    from mcp.server import MCPServer, Server

    if isinstance(target, Server | MCPServer):
        return target
    if target_kind(target) == "transport":
        return cast("Transport", target)
    return cast("TransportFactory", target)()


async def http_transport(
    config: HttpServerConfig,
    stack: contextlib.AsyncExitStack,
    *,
    server: str | None = None,
    oauth: OAuthOptions | None = None,
) -> Transport:
    """The SDK transport for an HTTP server entry: legacy SSE or streamable HTTP.

    Unless the entry turns OAuth off (see ``HttpServerConfig.oauth``), requests carry the SDK's
    OAuth provider, which signs in when the server asks (see :mod:`agent.mcp.oauth`), and a
    failed sign-in is what the transport raises.

    Args:
        config: the server entry.
        stack: where resources that outlive this call are entered.
        server: the configured name, shown in a sign-in prompt (default: the URL).
        oauth: how to sign in; default the options in force (``use_oauth_options``).
    """
    auth = None
    if config.oauth_settings is not None:
        from agent.mcp.oauth import oauth_provider

        auth = await oauth_provider(config, oauth, server=server)
    if config.type == "sse":
        from mcp.client.sse import sse_client

        transport = sse_client(config.url, headers=dict(config.headers), auth=auth)
    else:
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        http = await stack.enter_async_context(
            httpx2.AsyncClient(headers=dict(config.headers), timeout=httpx2.Timeout(30, read=300), auth=auth)
        )
        transport = streamable_http_client(config.url, http_client=http)
    if auth is None:
        return transport
    from agent.mcp.oauth import reporting_auth_failures

    return reporting_auth_failures(transport, auth)
