"""One MCP server connection, owned by one task from start-up to shutdown.

The owning task enters and exits the transport and session contexts (anyio requires both in
the same task); other tasks call tools through the live session, which multiplexes concurrent
requests. The SDK is imported here, lazily, so commands that never talk to a server do not pay
for importing it, and stdio servers are spawned before it is imported.

The protocol era is chosen by :mod:`~agent.mcp.eras` (and remembered there once probed); what
the client offers the server (roots, sampling, elicitation, logs) by
:mod:`~agent.mcp.client_features`. A changed tool list is listed again in the owning task: on
notice from a server of the handshake era, or through a ``subscriptions/listen`` stream on a
2026-07-28 server that offers one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from typing import IO, TYPE_CHECKING, Any, cast

import anyio

from agent import __version__
from agent.config.servers import DEFAULT_STARTUP_TIMEOUT, HttpServerConfig, StdioServerConfig
from agent.errors import McpError, ServerStartError
from agent.events import CURRENT_CALL, EventSink, Notice, ToolsRefreshFailed
from agent.mcp.client_features import ClientFeatures, ClientSide
from agent.mcp.content import ResourceContent, prompt_messages, request_error, resource_contents
from agent.mcp.convert import outcome_from_error, outcome_from_result, tool_from_mcp
from agent.mcp.eras import MODERN_VERSION, EraStore, SdkMode, plan_mode
from agent.mcp.failures import describe_start_failure
from agent.mcp.inventory import (
    PromptEntry,
    ResourceEntry,
    ToolEntry,
    TransportName,
    prompt_entry,
    resource_entry,
    template_entry,
    tool_entry,
    transport_name,
)
from agent.mcp.stdio import process_transport, spawn_stdio, stop_process
from agent.mcp.targets import ServerTarget, sdk_source, startup_timeout_of, target_kind
from agent.text import one_line
from agent.tools import ToolInfo, ToolOutcome
from agent.tracing import call_trace

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from mcp import Client
    from mcp.client import Transport
    from mcp_types import RequestParamsMeta

    from agent.mcp.oauth import OAuthOptions
    from agent.mcp.targets import InProcessServer
    from agent.messages import Message

__all__ = ["McpConnection"]

_STDERR_TAIL_LINES = 12
_LIST_PAGE_CAP = 100
_SETTLE_SECONDS = 5.0
"""How long a call's result waits for a tool-list refresh the server asked for during the call."""


class McpConnection:
    """A live connection to one MCP server.

    Args:
        name: the configured server name (used in tool routing and messages).
        target: how to start or reach the server (see :data:`~agent.mcp.targets.ServerTarget`).
        startup_timeout: seconds to start, for targets without a config of their own.
        on_tools_changed: called (in the owning task) after the server's tool list changed.
        on_event: receives what the connection reports by itself (a tool list that could not be
            listed again, server logs and requests not made during a known tool call).
        features: what the client offers the server (see :class:`ClientFeatures`); None: nothing.
        mode: the protocol era to speak (``legacy``, ``auto``, ``2026-07-28``), overriding the
            config's; None: the config's, else remembered in ``eras`` (see :mod:`agent.mcp.eras`).
        eras: where probed eras are remembered; None: a config without a mode is probed each start.
        oauth: how an HTTP server that needs a sign-in is signed in to (see
            :mod:`agent.mcp.oauth`); None: the options in force (``use_oauth_options``). Time
            spent waiting on the user to sign in does not count against the start-up timeout.

    Raises:
        TypeError: ``target`` is not something a connection can be given.
    """

    def __init__(
        self,
        name: str,
        target: ServerTarget,
        *,
        startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
        on_tools_changed: Callable[[McpConnection], None] | None = None,
        on_event: EventSink | None = None,
        features: ClientFeatures | None = None,
        mode: SdkMode | None = None,
        eras: EraStore | None = None,
        oauth: OAuthOptions | None = None,
    ) -> None:
        self.name = name
        self.target = target
        self.kind = target_kind(target)
        self.startup_timeout = startup_timeout_of(target, startup_timeout)
        self.tools: list[ToolInfo] = []
        self.failure: ServerStartError | None = None
        self.transport: TransportName = transport_name(target, self.kind)
        self.protocol_version: str | None = None
        """The protocol version negotiated with the server (once started)."""
        self.server_info: str | None = None
        """The server's own name and version, as it introduced itself (once started)."""
        self.offers_tools = True
        self.offers_resources = False
        self.offers_prompts = False
        self._on_tools_changed = on_tools_changed
        self._on_event = on_event
        self.client_side = ClientSide(name, features, on_event)
        self._mode = mode
        self._eras = eras
        self._oauth = oauth
        self._signing_in_since: float | None = None
        self._signed_in_seconds = 0.0
        self._nudge = anyio.Event()
        """Set when the start-up's state changes: up, failed, or a sign-in began or ended."""
        self._client: Client | None = None
        self._ready = anyio.Event()
        self._wake = anyio.Event()
        self._closing = False
        self._tools_stale = False
        self._settled = anyio.Event()
        self._settled.set()
        self._scope: anyio.CancelScope | None = None
        self._errlog: IO[bytes] | None = None
        self._crashed = False
        self._spawned = anyio.Event()

    @property
    def restartable(self) -> bool:
        """Whether a fresh connection can replace this one: not for a bare (single-use) transport."""
        return self.kind != "transport"

    @property
    def alive(self) -> bool:
        """True once started and until closed, failed or crashed."""
        return self._client is not None and self.failure is None and not self._crashed

    @property
    def started(self) -> bool:
        """True once the server is up (and after it stopped, if it ever was up)."""
        return self._ready.is_set() and self.failure is None

    @property
    def crashed(self) -> bool:
        """True when the server went away after a successful start (not by :meth:`close`)."""
        return self._crashed

    async def run(self) -> None:
        """The owning task: connect, list tools, serve until :meth:`close`, then disconnect."""
        with anyio.CancelScope() as scope:
            self._scope = scope
            try:
                async with self._open_client() as client:
                    self._client = client
                    self._note_session(client)
                    self.tools = await self._initial_tools(client)
                    self._mark_ready()
                    async with anyio.create_task_group() as tg:
                        if self._listens(client):
                            tg.start_soon(self._listen, client)
                        await self._serve(client)
                        tg.cancel_scope.cancel()
            except Exception as exc:
                if not self._ready.is_set():
                    self.failure = ServerStartError(
                        describe_start_failure(exc, self.target),
                        server=self.name,
                        stderr_tail=self._stderr_tail(),
                    )
            finally:
                if self._ready.is_set() and self.failure is None and not self._closing:
                    self._crashed = True  # the session ended on its own
                self._client = None
                self._spawned.set()
                self._mark_ready()
                self._settled.set()
                if self._errlog is not None:
                    self._errlog.close()

    async def wait_ready(self, seconds: float | None = None) -> None:
        """Wait until the server is up or failed; one not up in time (its start-up timeout) is stopped.

        While a sign-in waits on the user the clock stops: the sign-in has a limit of its own.
        """
        seconds = self.startup_timeout if seconds is None else seconds
        deadline = anyio.current_time() + seconds
        while not self._ready.is_set():
            nudge = self._nudge
            if self._signing_in_since is not None:
                await nudge.wait()
                continue
            remaining = deadline + self._signed_in_seconds - anyio.current_time()
            if remaining <= 0:
                break
            with anyio.move_on_after(remaining):
                await nudge.wait()
        if not self._ready.is_set():
            if self._scope is not None:
                self._scope.cancel()
            self.failure = ServerStartError(
                f"did not start within {seconds:g} s", server=self.name, stderr_tail=self._stderr_tail()
            )
            self._mark_ready()

    def _mark_ready(self) -> None:
        self._ready.set()
        self._poke()

    def _poke(self) -> None:
        nudge, self._nudge = self._nudge, anyio.Event()
        nudge.set()

    def _signing_in(self, waiting: bool) -> None:
        """Told by the sign-in when it starts and stops waiting on the user (see ``OAuthOptions``)."""
        now = anyio.current_time()
        if waiting:
            self._signing_in_since = now
        elif self._signing_in_since is not None:
            self._signed_in_seconds += now - self._signing_in_since
            self._signing_in_since = None
        self._poke()

    def _oauth_options(self) -> OAuthOptions:
        """The sign-in options for this connection: the given ones, telling it when the user is waited on."""
        from agent.mcp.oauth import current_oauth_options

        options = self._oauth or current_oauth_options()
        told = options.on_waiting

        def waiting(state: bool) -> None:
            self._signing_in(state)
            if told is not None:
                told(state)

        return dataclasses.replace(options, on_waiting=waiting)

    async def wait_spawned(self) -> None:
        """Wait until the server process exists (or could not be started); other targets: at once."""
        await self._spawned.wait()

    def close(self) -> None:
        """Ask the owning task to disconnect (a server process is stopped on the way out)."""
        self._closing = True
        self._wake.set()
        if not self._ready.is_set() and self._scope is not None:
            self._scope.cancel()

    async def call(self, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        """Call ``tool`` (once the server is up); protocol failures become error outcomes."""
        from mcp.shared.exceptions import MCPError
        from mcp_types import CONNECTION_CLOSED

        if not self._ready.is_set():
            await self.wait_ready()
        client = self._client
        if client is None or self._crashed:
            return ToolOutcome(f"MCP server '{self.name}' is not running", is_error=True)
        scope = CURRENT_CALL.get()
        progress = None
        if scope is not None and scope.emit is not None and scope.progress:  # asked only if wanted
            progress = self.client_side.progress(tool, scope)
        try:
            with self.client_side.calling(scope), call_trace(scope) as traced:
                # _meta is an open map (traceparent, tracestate), which the TypedDict cannot say.
                meta = cast("RequestParamsMeta | None", traced)
                result = await client.call_tool(tool, arguments, progress_callback=progress, meta=meta)
        except MCPError as exc:
            message = exc.error.message
            if exc.error.code == CONNECTION_CLOSED:
                self._crashed = True
                message = self._lost_message()
            return ToolOutcome(f"Error calling tool '{tool}': {message}", is_error=True)
        except RuntimeError as exc:  # e.g. the SDK's check of structured content against outputSchema
            return outcome_from_error(tool, exc)
        except Exception as exc:  # a malformed result or a transport failure: the run goes on
            return ToolOutcome(f"Error calling tool '{tool}': {type(exc).__name__}: {exc}", is_error=True)
        if not self._settled.is_set():  # the call changed the tools: the next turn should see them
            with anyio.move_on_after(_SETTLE_SECONDS):
                await self._settled.wait()
        return outcome_from_result(result)

    def _lost_message(self) -> str:
        if self.kind != "stdio":
            return f"the connection to MCP server '{self.name}' closed during the call"
        last = self._stderr_tail().splitlines()[-1:]
        said = f" (its last words: {last[0].strip()})" if last else ""
        return f"the MCP server '{self.name}' exited during the call{said}"

    # -- what the server offers besides calls: listings, resources, prompts ----------------

    def _note_session(self, client: Client) -> None:
        """Record what the handshake said: protocol version, server identity, capabilities."""
        with contextlib.suppress(Exception):  # a session without them still serves calls
            self.protocol_version = client.protocol_version
            info = client.server_info
            if info is not None:
                self.server_info = f"{info.name} {info.version}".strip()
            capabilities = client.server_capabilities
            self.offers_tools = capabilities.tools is not None
            self.offers_resources = capabilities.resources is not None
            self.offers_prompts = capabilities.prompts is not None

    async def _initial_tools(self, client: Client) -> list[ToolInfo]:
        """The tools at start-up; none from a server of prompts or resources only (no tools/list)."""
        from mcp.shared.exceptions import MCPError
        from mcp_types import METHOD_NOT_FOUND

        try:
            return await self._list_tools(client)
        except MCPError as exc:
            if self.offers_tools or exc.error.code != METHOD_NOT_FOUND:
                raise
            return []

    async def _live_client(self) -> Client:
        if not self._ready.is_set():
            await self.wait_ready()
        client = self._client
        if client is None or self._crashed:
            raise McpError("is not running", server=self.name)
        return client

    async def _pages(
        self, action: str, fetch: Callable[[str | None], Awaitable[tuple[list[Any], str | None]]]
    ) -> list[Any]:
        """Every item of a paginated listing (at most ``_LIST_PAGE_CAP`` pages)."""
        items: list[Any] = []
        cursor: str | None = None
        try:
            for _ in range(_LIST_PAGE_CAP):
                page, cursor = await fetch(cursor)
                items.extend(page)
                if not cursor:
                    break
        except Exception as exc:
            raise request_error(exc, server=self.name, action=action) from exc
        return items

    async def list_tool_entries(self) -> list[ToolEntry]:
        """The tools the server lists (those offered to the model), with annotations and schemas."""
        client = await self._live_client()
        if not self.offers_tools and not self.tools:
            return []

        async def fetch(cursor: str | None) -> tuple[list[Any], str | None]:
            page = await client.list_tools(cursor=cursor)
            return page.tools, page.next_cursor

        tools = await self._pages("list tools", fetch)
        return [
            tool_entry(self.name, t)
            for t in tools
            if not (t.execution is not None and t.execution.task_support == "required")
        ]

    async def list_prompts(self) -> list[PromptEntry]:
        """The prompts the server lists; none when it does not offer prompts."""
        client = await self._live_client()
        if not self.offers_prompts:
            return []

        async def fetch(cursor: str | None) -> tuple[list[Any], str | None]:
            page = await client.list_prompts(cursor=cursor)
            return page.prompts, page.next_cursor

        return [prompt_entry(self.name, p) for p in await self._pages("list prompts", fetch)]

    async def list_resources(self) -> list[ResourceEntry]:
        """The resources, then the resource templates, the server lists; none when it offers none."""
        client = await self._live_client()
        if not self.offers_resources:
            return []

        async def resources(cursor: str | None) -> tuple[list[Any], str | None]:
            page = await client.list_resources(cursor=cursor)
            return page.resources, page.next_cursor

        async def templates(cursor: str | None) -> tuple[list[Any], str | None]:
            page = await client.list_resource_templates(cursor=cursor)
            return page.resource_templates, page.next_cursor

        entries = [resource_entry(self.name, r) for r in await self._pages("list resources", resources)]
        try:
            listed = await self._pages("list resource templates", templates)
        except McpError:  # an old server without templates/list: its resources still count
            listed = []
        return entries + [template_entry(self.name, t) for t in listed]

    async def read_resource(self, uri: str) -> list[ResourceContent]:
        """Read resource ``uri``.

        Raises:
            ConfigError: the server has no such resource.
            McpError: the server is not running or failed the request.
        """
        client = await self._live_client()
        try:
            result = await client.read_resource(uri)
        except Exception as exc:
            raise request_error(
                exc,
                server=self.name,
                action=f"read resource {uri!r}",
                refused=f"MCP server '{self.name}' has no resource {uri!r}",
            ) from exc
        return resource_contents(result)

    async def get_prompt(self, name: str, arguments: dict[str, str], *, limit: int) -> list[Message]:
        """The messages of prompt ``name`` filled in with ``arguments`` (resource text cut at ``limit``).

        Raises:
            ConfigError: the server refused the prompt's name or arguments.
            McpError: the server is not running or failed the request.
        """
        client = await self._live_client()
        try:
            result = await client.get_prompt(name, arguments)
        except Exception as exc:
            raise request_error(
                exc,
                server=self.name,
                action=f"get prompt {name!r}",
                refused=f"MCP server '{self.name}' refused prompt {name!r} with these arguments",
            ) from exc
        return prompt_messages(self.name, result, limit=limit)

    async def _serve(self, client: Client) -> None:
        while not self._closing:
            await self._wake.wait()
            self._wake = anyio.Event()
            if self._tools_stale and not self._closing:
                self._tools_stale = False
                await self._refresh_tools(client)
            if not self._tools_stale:
                self._settled.set()

    async def _refresh_tools(self, client: Client) -> None:
        """List the tools again; on failure the old list stays and a ``ToolsRefreshFailed`` says why."""
        try:
            self.tools = await self._list_tools(client, refresh=True)
        except Exception as exc:
            error = ToolsRefreshFailed(server=self.name, error=_describe(exc), tools=len(self.tools))
            self._report(error)
            return
        if self._on_tools_changed is not None:
            # A failing observer must not take the connection down with it.
            with contextlib.suppress(Exception):
                self._on_tools_changed(self)

    def _report(self, event: ToolsRefreshFailed | Notice) -> None:
        if self._on_event is not None:
            with contextlib.suppress(Exception):
                self._on_event(event)

    def _mark_tools_stale(self) -> None:
        self._tools_stale = True
        if self._settled.is_set():
            self._settled = anyio.Event()
        self._wake.set()

    def _listens(self, client: Client) -> bool:
        """Whether to open a ``subscriptions/listen`` stream: a 2026-07-28 server whose tools change."""
        with contextlib.suppress(Exception):
            tools = client.server_capabilities.tools
            return client.protocol_version == MODERN_VERSION and bool(tools and tools.list_changed)
        return False

    async def _listen(self, client: Client) -> None:
        """Hear of tool-list changes of a 2026-07-28 server (they reach ``_on_message`` too)."""
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                async for _ in subscription:
                    self._mark_tools_stale()
        except Exception as exc:
            if not self._closing and not self._crashed:
                message = f"MCP server '{self.name}' will not report changes to its tools: {_describe(exc)}"
                self._report(Notice(message=message))

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
            self._mark_tools_stale()

    @contextlib.asynccontextmanager
    async def _open_client(self) -> AsyncIterator[Client]:
        async with contextlib.AsyncExitStack() as stack:
            source = await self._open_source(stack)
            import mcp_types as types
            from mcp import Client

            info = types.Implementation(name="agent", version=__version__)
            plan = plan_mode(self.target, self._mode, self._eras)
            client = await stack.enter_async_context(
                Client(
                    source,
                    mode=plan.mode,
                    client_info=info,
                    message_handler=self._on_message,
                    **self.client_side.client_kwargs(),
                )
            )
            if plan.mode == MODERN_VERSION:
                await _discover(client)
            if plan.remember_as is not None and self._eras is not None:
                self._eras.remember(plan.remember_as, client.protocol_version)
            yield client

    async def _open_source(self, stack: contextlib.AsyncExitStack) -> Transport | InProcessServer:
        """The transport (or in-process server) to hand the SDK's client."""
        target = self.target
        if not isinstance(target, StdioServerConfig):
            self._spawned.set()
            oauth = self._oauth_options() if isinstance(target, HttpServerConfig) else None
            return await sdk_source(target, stack, server=self.name, oauth=oauth)
        # Spawn before importing the SDK: its import overlaps the server's own start-up.
        # The stderr file outlives the transport: its tail is read after a failed start.
        self._errlog = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            process = await spawn_stdio(target, self._errlog)
        finally:
            self._spawned.set()
        stack.push_async_callback(stop_process, process)
        return process_transport(process)

    def _stderr_tail(self) -> str:
        """The last lines the server wrote to stderr (empty for other targets)."""
        if self._errlog is None or self._errlog.closed:
            return ""
        try:
            size = self._errlog.seek(0, os.SEEK_END)
            self._errlog.seek(max(0, size - 8192))
            lines = self._errlog.read().decode("utf-8", "replace").splitlines()
        except (OSError, ValueError):
            return ""
        return "\n".join(lines[-_STDERR_TAIL_LINES:])


def _describe(exc: Exception) -> str:
    """One line for a failed request: the server's error message, or the exception."""
    from mcp.shared.exceptions import MCPError

    text = exc.error.message if isinstance(exc, MCPError) else f"{type(exc).__name__}: {exc}"
    return one_line(text, 300)


async def _discover(client: Client) -> None:
    """Learn the capabilities of a server spoken to in 2026-07-28 without a probe (a pinned mode).

    Raises:
        MCPError: the server does not answer ``server/discover`` (it does not speak 2026-07-28).
    """
    import mcp_types as types
    from mcp.shared.exceptions import MCPError

    try:
        raw = await client.session.send_discover(MODERN_VERSION)
        client.session.adopt(types.DiscoverResult.model_validate(raw))
    except MCPError as exc:
        raise MCPError(
            exc.error.code,
            f"the server does not speak MCP {MODERN_VERSION} (server/discover: {exc.error.message})",
        ) from exc
