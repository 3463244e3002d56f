"""The MCP servers of a run: started in parallel, each with a timeout, shared, always stopped.

A server that dies after starting is restarted once, on the next call to one of its tools; a
second death leaves it out of the run. Servers that fail to start are reported and left out.
One manager may serve many concurrent runs: each server has one connection, whose session
multiplexes the calls of every run. It also lists what the servers offer (tools with their
details, prompts, resources) and reads resources and prompts, for ``agent servers`` and the like
and for the opening of a run.

What the client side offers the servers (roots, sampling, elicitation, logs) is one
:class:`~agent.mcp.client_features.ClientFeatures` for every connection; which protocol era each
server speaks is decided (and remembered) per server by :mod:`agent.mcp.eras`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from anyio.abc import TaskGroup

from agent.config.servers import DEFAULT_STARTUP_TIMEOUT
from agent.errors import ConfigError, McpError, ServerStartError
from agent.events import EventSink, Notice, ServerFailed, ServerStarted
from agent.mcp.client_features import ClientFeatures
from agent.mcp.connection import McpConnection
from agent.mcp.content import DEFAULT_RESOURCE_CHARS, ResourceContent
from agent.mcp.eras import EraStore, SdkMode
from agent.mcp.inventory import PromptEntry, ResourceEntry, ServerEntry, ToolEntry
from agent.mcp.report import ServerReport
from agent.mcp.targets import ServerTarget
from agent.messages import Message
from agent.naming import ToolNameMap, ToolRef
from agent.text import one_line
from agent.tools import ToolInfo, ToolOutcome

if TYPE_CHECKING:
    from agent.mcp.oauth import OAuthOptions

__all__ = ["McpManager", "ServerStatus"]

MAX_RESTARTS = 1
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """How one server's (latest) start went."""

    name: str
    tools: int
    duration_ms: float
    error: ServerStartError | None

    @property
    def ok(self) -> bool:
        """True when the server is up."""
        return self.error is None


class McpManager:
    """Starts, routes to and stops the MCP servers of a run; a :class:`~agent.tools.Toolset`.

    Use as ``async with McpManager(servers) as manager:`` in one task; any number of tasks may
    call tools meanwhile. Start-up results are in :attr:`statuses` and reported as
    ``ServerStarted``/``ServerFailed`` events; :meth:`reports` says where every server stands.

    Args:
        servers: server name -> what to connect to: a config, an SDK transport (or a factory
            of one), or an in-process ``MCPServer``/``Server`` (see :mod:`agent.mcp.targets`).
        disabled: names of configured servers that are not to be started; they are reported as
            ``disabled`` (after the servers of ``servers`` when not among them).
        on_event: receives server events and notices (restarts, changed tool lists), and what
            servers send that no tool call of a run can be named for (logs, requests).
        wait: enter only once every server is up or failed; with ``False`` entering returns as soon
            as the server processes exist, and :meth:`wait_started` waits for the rest (so the
            caller's own start-up work overlaps the servers').
        startup_timeout: seconds to start, for targets without a config that sets it.
        features: what the client offers every server; None: nothing (a plain client).
        modes: a protocol era per server name, overriding the configs' (``legacy``, ``auto``,
            ``2026-07-28``); in-process servers and transports otherwise speak ``legacy``.
        eras: where eras probed for configs without a ``mode`` are remembered.
        oauth: how HTTP servers that need a sign-in are signed in to; None: the options in force
            (see :func:`~agent.mcp.oauth.use_oauth_options`).

    Raises:
        TypeError: a value of ``servers`` is nothing a connection can be given.
    """

    def __init__(
        self,
        servers: Mapping[str, ServerTarget],
        *,
        disabled: Iterable[str] = (),
        on_event: EventSink | None = None,
        wait: bool = True,
        startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
        features: ClientFeatures | None = None,
        modes: Mapping[str, SdkMode] | None = None,
        eras: EraStore | None = None,
        oauth: OAuthOptions | None = None,
    ) -> None:
        off = list(dict.fromkeys(disabled))
        self._features = features
        self._on_event = on_event
        self._modes = dict(modes or {})
        self._eras = eras
        self._oauth = oauth
        self._disabled = set(off)
        self._order = [*servers, *(name for name in off if name not in servers)]
        self._targets = {name: t for name, t in servers.items() if name not in self._disabled}
        self._startup_timeout = startup_timeout
        self._connections = {name: self._connection(name) for name in self._targets}
        self._every = list(self._connections.values())
        self._restarts = dict.fromkeys(self._targets, 0)
        self._locks = {name: anyio.Lock() for name in self._targets}
        self._task_group: TaskGroup | None = None
        self._wait = wait
        self._started = False
        self.statuses: dict[str, ServerStatus] = {}
        self._tools_cache: list[ToolInfo] = []
        self._tools_key: tuple[list[ToolInfo], ...] = ()

    def _connection(self, name: str) -> McpConnection:
        return McpConnection(
            name,
            self._targets[name],
            startup_timeout=self._startup_timeout,
            on_tools_changed=self._tools_changed,
            on_event=self._on_event,
            features=self._features,
            mode=self._modes.get(name),
            eras=self._eras,
            oauth=self._oauth,
        )

    async def __aenter__(self) -> McpManager:
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        try:
            for connection in self._connections.values():
                self._task_group.start_soon(connection.run, name=f"mcp:{connection.name}")
            for connection in self._connections.values():
                await connection.wait_spawned()
            if self._wait:
                await self.wait_started()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def wait_started(self) -> None:
        """Wait until every server is up or has failed (each within its start-up timeout)."""
        if self._started:
            return
        async with anyio.create_task_group() as starters:
            for connection in self._connections.values():
                starters.start_soon(self._await_start, connection)
        self._started = True

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        for connection in self._every:
            connection.close()
        task_group, self._task_group = self._task_group, None
        if task_group is not None:
            # The connections are closing on their own; the caller's exception (if any) propagates
            # as it is rather than wrapped in the task group's exception group.
            await task_group.__aexit__(None, None, None)
        return None

    def _emit(self, event: ServerStarted | ServerFailed | Notice) -> None:
        if self._on_event is not None:
            self._on_event(event)

    async def _await_start(self, connection: McpConnection) -> ServerStatus:
        started = time.perf_counter()
        await connection.wait_ready()
        status = ServerStatus(
            connection.name, len(connection.tools), (time.perf_counter() - started) * 1000, connection.failure
        )
        self.statuses[connection.name] = status
        if status.error is None:
            self._emit(ServerStarted(server=status.name, tools=status.tools, duration_ms=status.duration_ms))
        else:
            self._emit(
                ServerFailed(
                    server=status.name, message=status.error.detail, stderr_tail=status.error.stderr_tail
                )
            )
        return status

    def _tools_changed(self, connection: McpConnection) -> None:
        if self._connections.get(connection.name) is connection:
            message = f"MCP server '{connection.name}' now offers {len(connection.tools)} tools"
            self._emit(Notice(level="info", message=message))

    @property
    def failed(self) -> list[ServerStatus]:
        """Servers whose (latest) start failed, in configuration order."""
        return [self.statuses[n] for n in self._connections if n in self.statuses and not self.statuses[n].ok]

    @property
    def active(self) -> list[str]:
        """Names of the servers that are up."""
        return [n for n, c in self._connections.items() if c.alive]

    def reports(self) -> list[ServerReport]:
        """Where every configured server stands, in configuration order (for ``--json``)."""
        return [self._report(name) for name in self._order]

    def _report(self, name: str) -> ServerReport:
        if name in self._disabled:
            return ServerReport(name=name, status="disabled")
        connection = self._connections[name]
        if connection.failure is not None:
            return ServerReport(name=name, status="failed", error=one_line(connection.failure.detail, 300))
        if connection.crashed and not self._may_restart(name):
            return ServerReport(name=name, status="failed", error="stopped and could not be restarted")
        if connection.started:
            return ServerReport(name=name, status="active", tools=len(connection.tools))
        return ServerReport(name=name, status="failed", error="did not finish starting")

    def _may_restart(self, name: str) -> bool:
        return self._connections[name].restartable and self._restarts[name] < MAX_RESTARTS

    def _offered(self, name: str, connection: McpConnection) -> bool:
        return connection.alive or (connection.crashed and self._may_restart(name))

    def tools(self) -> Sequence[ToolInfo]:
        """Tools of every live (or restartable) server; the same list object until they change."""
        lists = tuple(c.tools for n, c in self._connections.items() if self._offered(n, c))
        # The key holds the lists themselves, so no new list can reuse the id of an old one.
        key = self._tools_key
        if len(lists) != len(key) or any(a is not b for a, b in zip(lists, key, strict=True)):
            self._tools_key = lists
            self._tools_cache = [tool for tools in lists for tool in tools]
        return self._tools_cache

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        """Run ``tool`` on ``server``, restarting the server once if it died earlier."""
        connection = self._connections.get(server)
        if connection is None:
            return ToolOutcome(f"Unknown MCP server '{server}'", is_error=True)
        if connection.crashed or (self._restarts[server] and connection.failure is not None):
            restarted = await self._restart(server)
            if restarted is None:
                return ToolOutcome(
                    f"MCP server '{server}' stopped working and could not be restarted", is_error=True
                )
            connection = restarted
        return await connection.call(tool, arguments)

    async def _restart(self, name: str) -> McpConnection | None:
        """Replace a crashed connection with a fresh one (once per server); None when not possible.

        Concurrent callers queue on the server's lock: one restarts, the others use its result.
        """
        async with self._locks[name]:
            current = self._connections[name]
            if not current.crashed:
                return current if current.failure is None else None
            if not self._may_restart(name) or self._task_group is None:
                return None
            self._restarts[name] += 1
            current.close()
            self._emit(Notice(message=f"MCP server '{name}' stopped unexpectedly; restarting it"))
            fresh = self._connection(name)
            self._every.append(fresh)
            self._task_group.start_soon(fresh.run, name=f"mcp:{name}")
            status = await self._await_start(fresh)
            self._connections[name] = fresh
            return fresh if status.ok else None

    # -- what the servers offer: listings, and resources and prompts to start a run from ----

    async def _each_live(
        self, listing: Callable[[McpConnection], Awaitable[list[_T]]]
    ) -> dict[str, list[_T]]:
        """``listing`` of every live server, concurrently; a server that fails it is warned of, empty."""
        found: dict[str, list[_T]] = {}

        async def one(connection: McpConnection) -> None:
            try:
                found[connection.name] = await listing(connection)
            except McpError as exc:  # says which server, and what it could not do
                self._emit(Notice(message=str(exc)))
                found[connection.name] = []

        async with anyio.create_task_group() as tg:
            for connection in self._connections.values():
                if connection.alive:
                    tg.start_soon(one, connection)
        return {name: found[name] for name in self._connections if name in found}

    async def server_entries(self) -> list[ServerEntry]:
        """Every configured server (in configuration order): status, transport, protocol, counts."""
        resources: dict[str, list[ResourceEntry]] = {}
        prompts: dict[str, list[PromptEntry]] = {}

        async def list_resources() -> None:
            resources.update(await self._each_live(McpConnection.list_resources))

        async def list_prompts() -> None:
            prompts.update(await self._each_live(McpConnection.list_prompts))

        async with anyio.create_task_group() as tg:
            tg.start_soon(list_resources)
            tg.start_soon(list_prompts)
        entries = []
        for report in self.reports():
            connection = self._connections.get(report.name)
            status = self.statuses.get(report.name)
            listed = resources.get(report.name, [])
            entries.append(
                ServerEntry(
                    name=report.name,
                    status=report.status,
                    transport=connection.transport if connection else None,
                    protocol_version=connection.protocol_version if connection else None,
                    server_info=connection.server_info if connection else None,
                    startup_ms=status.duration_ms if status else None,
                    tools=report.tools,
                    resources=sum(not r.template for r in listed),
                    resource_templates=sum(r.template for r in listed),
                    prompts=len(prompts.get(report.name, [])),
                    error=report.error,
                )
            )
        return entries

    async def tool_entries(self) -> list[ToolEntry]:
        """Every tool of the live servers, named as the model sees it (the loop's name map)."""
        names = ToolNameMap(ToolRef(t.server, t.name) for t in self.tools())
        listed = await self._each_live(McpConnection.list_tool_entries)
        entries = []
        for tools in listed.values():
            for tool in tools:
                try:
                    visible: str | None = names.name_for(tool.server, tool.name)
                except KeyError:  # listed after the model's tool list was taken
                    visible = None
                entries.append(tool.model_copy(update={"model_name": visible}))
        return entries

    async def prompt_entries(self) -> list[PromptEntry]:
        """Every prompt of the live servers."""
        listed = await self._each_live(McpConnection.list_prompts)
        return [prompt for prompts in listed.values() for prompt in prompts]

    async def resource_entries(self) -> list[ResourceEntry]:
        """Every resource and resource template of the live servers."""
        listed = await self._each_live(McpConnection.list_resources)
        return [resource for resources in listed.values() for resource in resources]

    async def usable(self, server: str) -> McpConnection:
        """The live connection of ``server`` (restarted once if it died).

        Raises:
            ConfigError: no such server is attached, or it is disabled.
            McpError: it did not start, or stopped and could not be restarted.
        """
        if server in self._disabled:
            raise ConfigError(f"MCP server '{server}' is disabled in the MCP config")
        connection = self._connections.get(server)
        if connection is None:
            attached = ", ".join(self._connections) or "none"
            raise ConfigError(f"no MCP server '{server}' is attached (attached: {attached})")
        if connection.crashed or (self._restarts[server] and connection.failure is not None):
            restarted = await self._restart(server)
            if restarted is None:
                raise McpError("stopped working and could not be restarted", server=server)
            connection = restarted
        if connection.failure is not None:
            raise McpError(f"did not start: {one_line(connection.failure.detail, 300)}", server=server)
        return connection

    async def read_resource(self, server: str, uri: str) -> list[ResourceContent]:
        """Read resource ``uri`` of ``server`` (see :meth:`usable` and ``McpConnection.read_resource``)."""
        connection = await self.usable(server)
        return await connection.read_resource(uri)

    async def get_prompt(
        self, server: str, name: str, arguments: Mapping[str, str], *, limit: int = DEFAULT_RESOURCE_CHARS
    ) -> list[Message]:
        """The messages of prompt ``name`` of ``server``, checked against its listing first.

        Raises:
            ConfigError: the server, the prompt or an argument is unknown, or a required one is
                missing.
            McpError: the server is not usable or failed the request.
        """
        connection = await self.usable(server)
        prompts = {prompt.name: prompt for prompt in await connection.list_prompts()}
        prompt = prompts.get(name)
        if prompt is None:
            offered = ", ".join(prompts) or "none"
            raise ConfigError(f"MCP server '{server}' has no prompt {name!r} (its prompts: {offered})")
        declared = [argument.name for argument in prompt.arguments]
        unknown = [key for key in arguments if key not in declared]
        if unknown:
            takes = ", ".join(declared) or "no arguments"
            raise ConfigError(
                f"prompt {name!r} of MCP server '{server}' has no argument {unknown[0]!r} (it takes: {takes})"
            )
        missing = [key for key in prompt.required if key not in arguments]
        if missing:
            raise ConfigError(
                f"prompt {name!r} of MCP server '{server}' needs the argument"
                f"{'s' if len(missing) > 1 else ''} {', '.join(missing)} (give --arg NAME=VALUE)"
            )
        return await connection.get_prompt(name, dict(arguments), limit=limit)
