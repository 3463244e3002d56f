"""One MCP server connection, owned by one task from start-up to shutdown.

The owning task enters and exits the SDK's transport and session contexts (anyio requires
both in the same task); other tasks call tools through the live session. The SDK is imported
here, lazily, so commands that never talk to a server do not pay for importing it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio

from agent import __version__
from agent.config.servers import HttpServerConfig, ServerConfig, StdioServerConfig
from agent.errors import ServerStartError
from agent.mcp.convert import outcome_from_result, tool_from_mcp
from agent.mcp.stdio import process_transport, spawn_stdio, stop_process
from agent.tools import ToolInfo, ToolOutcome

if TYPE_CHECKING:
    from mcp import Client

__all__ = ["McpConnection"]

_STDERR_TAIL_LINES = 12
_LIST_PAGE_CAP = 100


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _describe_start_failure(exc: BaseException, config: ServerConfig) -> str:
    """One line saying why a server did not start, from whatever the SDK raised."""
    from mcp.shared.exceptions import MCPError

    leaves = _leaves(exc)
    for leaf in leaves:
        if isinstance(leaf, FileNotFoundError) and isinstance(config, StdioServerConfig):
            return f"command not found: {config.command}"
        if isinstance(leaf, PermissionError) and isinstance(config, StdioServerConfig):
            return f"command is not executable: {config.command}"
    for leaf in leaves:
        if isinstance(leaf, MCPError):
            if "closed" in leaf.error.message.lower():
                return "the server exited during start-up"
            return f"start-up failed: {leaf.error.message}"
    leaf = leaves[0]
    text = str(leaf) or type(leaf).__name__
    return f"start-up failed: {type(leaf).__name__}: {text}"


class McpConnection:
    """A live connection to one configured MCP server.

    Args:
        name: the configured server name (used in tool routing and messages).
        config: how to start or reach the server.
    """

    def __init__(self, name: str, config: ServerConfig) -> None:
        self.name = name
        self.config = config
        self.tools: list[ToolInfo] = []
        self.failure: ServerStartError | None = None
        self._client: Client | None = None
        self._ready = anyio.Event()
        self._wake = anyio.Event()
        self._closing = False
        self._tools_stale = False
        self._scope: anyio.CancelScope | None = None
        self._errlog: Any = None
        self._crashed = False
        self._spawned = anyio.Event()

    @property
    def alive(self) -> bool:
        """True once started and until closed, failed or crashed."""
        return self._client is not None and self.failure is None and not self._crashed

    @property
    def crashed(self) -> bool:
        """True when the server went away after a successful start (not by :meth:`close`)."""
        if self._crashed:
            return True
        return self._ready.is_set() and self.failure is None and self._client is None and not self._closing

    async def run(self) -> None:
        """The owning task: connect, list tools, serve until :meth:`close`, then disconnect."""
        with anyio.CancelScope() as scope:
            self._scope = scope
            try:
                async with self._open_client() as client:
                    self._client = client
                    self.tools = await self._list_tools(client)
                    self._ready.set()
                    await self._serve(client)
            except Exception as exc:
                if not self._ready.is_set():
                    self.failure = ServerStartError(
                        _describe_start_failure(exc, self.config),
                        server=self.name,
                        stderr_tail=self._stderr_tail(),
                    )
            finally:
                self._client = None
                self._spawned.set()
                self._ready.set()
                if self._errlog is not None:
                    self._errlog.close()

    async def wait_ready(self, seconds: float) -> None:
        """Wait until the server is up or failed; a server not up in ``seconds`` is stopped."""
        with anyio.move_on_after(seconds):
            await self._ready.wait()
        if not self._ready.is_set():
            if self._scope is not None:
                self._scope.cancel()
            self.failure = ServerStartError(
                f"did not start within {seconds:g} s", server=self.name, stderr_tail=self._stderr_tail()
            )
            self._ready.set()

    def close(self) -> None:
        """Ask the owning task to disconnect (the server process is stopped by the SDK)."""
        self._closing = True
        self._wake.set()
        if not self._ready.is_set() and self._scope is not None:
            self._scope.cancel()

    async def call(self, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        """Call ``tool``; protocol failures become error outcomes the model can read."""
        from mcp.shared.exceptions import MCPError
        from mcp_types import CONNECTION_CLOSED

        client = self._client
        if client is None or self._crashed:
            return ToolOutcome(f"MCP server '{self.name}' is not running", is_error=True)
        try:
            result = await client.call_tool(tool, arguments)
        except MCPError as exc:
            message = exc.error.message
            if exc.error.code == CONNECTION_CLOSED:
                self._crashed = True
                last = self._stderr_tail().splitlines()[-1:]
                said = f" (its last words: {last[0].strip()})" if last else ""
                message = f"the MCP server '{self.name}' exited during the call{said}"
            return ToolOutcome(f"Error calling tool '{tool}': {message}", is_error=True)
        except RuntimeError as exc:  # e.g. the SDK's check of structured content against outputSchema
            return ToolOutcome(f"Error calling tool '{tool}': {exc}", is_error=True)
        except Exception as exc:  # a malformed result or a transport failure: the run goes on
            return ToolOutcome(f"Error calling tool '{tool}': {type(exc).__name__}: {exc}", is_error=True)
        return outcome_from_result(result)

    async def _serve(self, client: Client) -> None:
        while not self._closing:
            await self._wake.wait()
            self._wake = anyio.Event()
            if self._tools_stale and not self._closing:
                self._tools_stale = False
                with contextlib.suppress(Exception):
                    self.tools = await self._list_tools(client, refresh=True)

    async def _list_tools(self, client: Client, *, refresh: bool = False) -> list[ToolInfo]:
        tools: list[ToolInfo] = []
        cursor: str | None = None
        for _ in range(_LIST_PAGE_CAP):
            page = await client.list_tools(cursor=cursor, cache_mode="refresh" if refresh else "use")
            tools.extend(
                tool_from_mcp(self.name, t)
                for t in page.tools
                if not (t.execution is not None and t.execution.task_support == "required")
            )
            cursor = page.next_cursor
            if not cursor:
                break
        return tools

    async def _on_message(self, message: Any) -> None:
        import mcp_types as types

        if isinstance(message, types.ToolListChangedNotification):
            self._tools_stale = True
            self._wake.set()

    @contextlib.asynccontextmanager
    async def _open_client(self) -> AsyncIterator[Client]:
        config = self.config
        async with contextlib.AsyncExitStack() as stack:
            transport: Any
            if isinstance(config, StdioServerConfig):
                # Spawn before importing the SDK: its import overlaps the server's own start-up.
                # The stderr file outlives the transport: its tail is read after a failed start.
                self._errlog = tempfile.TemporaryFile()  # noqa: SIM115
                try:
                    process = await spawn_stdio(config, self._errlog)
                finally:
                    self._spawned.set()
                stack.push_async_callback(stop_process, process)
                transport = process_transport(process)
            else:
                self._spawned.set()
                transport = await self._http_transport(stack)
            import mcp_types as types
            from mcp import Client

            info = types.Implementation(name="agent", version=__version__)
            client = await stack.enter_async_context(
                Client(transport, mode=config.mode, client_info=info, message_handler=self._on_message)
            )
            yield client

    async def _http_transport(self, stack: contextlib.AsyncExitStack) -> Any:
        config = self.config
        assert isinstance(config, HttpServerConfig)
        if config.type == "sse":
            from mcp.client.sse import sse_client

            return sse_client(config.url, headers=dict(config.headers))
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        http = await stack.enter_async_context(
            httpx2.AsyncClient(headers=dict(config.headers), timeout=httpx2.Timeout(30, read=300))
        )
        return streamable_http_client(config.url, http_client=http)

    async def wait_spawned(self) -> None:
        """Wait until the server process exists (or could not be started); HTTP servers: at once."""
        await self._spawned.wait()

    def _stderr_tail(self) -> str:
        """The last lines the server wrote to stderr (empty for HTTP servers)."""
        if self._errlog is None or self._errlog.closed:
            return ""
        try:
            size = self._errlog.seek(0, os.SEEK_END)
            self._errlog.seek(max(0, size - 8192))
            lines = self._errlog.read().decode("utf-8", "replace").splitlines()
        except (OSError, ValueError):
            return ""
        return "\n".join(lines[-_STDERR_TAIL_LINES:])
