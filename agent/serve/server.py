"""``agent serve``: the agent as an MCP server (the SDK's ``MCPServer``), over stdio or streamable HTTP.

Three tools: ``run_task`` (a task for the agent, with its servers and limits), ``list_models``
(the catalog) and ``probe_models`` (the tool-calling checks of ``agent probe``). One entered
:class:`~agent.Agent` serves every call, so its MCP servers start once and are shared by
concurrent runs. ``run_task`` reports each turn as a progress notification, stops when the host
cancels the call, and returns the answer as text and the ``agent run --json`` object as
structured content (its output schema is RunResult's).

::

    async with Agent(options) as agent, serving(agent) as server:
        await server.run_stdio_async()
"""

# No ``from __future__ import annotations``: the tools' annotations name values of build_server
# (the servers, the probe limit), and the SDK reads them when the tools are registered.

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from mcp.server.mcpserver import Context, ListRoots, MCPServer, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools.base import Tool
from mcp_types import CallToolResult, ListRootsResult, TextContent, ToolAnnotations
from pydantic import Field

from agent import __version__
from agent.core.agent import Agent
from agent.errors import AgentError
from agent.serve.results import run_result_schema
from agent.serve.roots import RootedServers, bundled_fs_servers
from agent.serve.tools import Log, ModelList, ProbeReport, ServeSettings, ServeTools
from agent.text import one_line

__all__ = ["build_server", "serving"]

_INSTRUCTIONS = (
    "An agent that runs tasks with a model of its endpoint (OpenRouter) and tools from its own MCP "
    "servers. run_task hands it a task and returns the answer (and the run's details as "
    "structured content); list_models and probe_models help choose a model."
)


@asynccontextmanager
async def serving(
    agent: Agent, settings: ServeSettings | None = None, *, log: Log | None = None
) -> AsyncIterator[MCPServer[Any]]:
    """The MCP server of an entered ``agent`` (and the fs servers it starts for hosts' roots)."""
    from agent.core.server_plan import plan_servers

    fs_servers = bundled_fs_servers(plan_servers(agent.options, agent.endpoint).targets)
    async with RootedServers() as rooted:
        tools = ServeTools(agent, settings or ServeSettings(), rooted, fs_servers, log)
        yield build_server(tools)


def _error(message: str) -> ToolError:
    return ToolError(one_line(message, 1_000))


def build_server(tools: ServeTools) -> MCPServer[Any]:
    """The MCP server answering ``tools``' three tools."""
    names = tools.server_names()
    server: MCPServer[Any] = MCPServer(
        "agent",
        version=__version__,
        instructions=_INSTRUCTIONS,
        log_level="WARNING",
        tools=[_run_task(tools, names)],
    )

    @server.tool(
        title="List the endpoint's models",
        annotations=ToolAnnotations(
            title="List the endpoint's models",
            read_only_hint=True,
            idempotent_hint=True,
            open_world_hint=True,
        ),
    )
    async def list_models(
        tools_only: Annotated[bool, Field(description="Only models that take tool schemas.")] = False,
        free_only: Annotated[bool, Field(description="Only free models.")] = False,
        search: Annotated[
            str | None, Field(description="Only models whose id or name has every word of this text.")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=500, description="Return at most this many models.")] = 50,
    ) -> ModelList:
        """List the model ids this agent can run tasks with (OpenRouter's catalog, cached for a day).

        Each with whether it takes tools, its context length and its prices in USD per million
        tokens; ordered by id, which groups them by vendor.
        """
        try:
            return await tools.list_models(tools=tools_only, free=free_only, search=search, limit=limit)
        except AgentError as exc:
            raise _error(str(exc)) from None

    @server.tool(
        title="Check how well models call tools",
        annotations=ToolAnnotations(
            title="Check how well models call tools",
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=True,
            open_world_hint=True,
        ),
    )
    async def probe_models(
        models: Annotated[
            list[str],
            Field(
                min_length=1,
                max_length=tools.settings.max_probe_models,
                description=f"Model ids to check (at most {tools.settings.max_probe_models}).",
            ),
        ],
        checks: Annotated[
            list[str] | None,
            Field(
                description="Only these checks (default: all): single, typed, parallel, restraint, "
                "required, result, stream, text."
            ),
        ] = None,
    ) -> ProbeReport:
        """Check how well each model calls tools, as `agent probe` does: a verdict per check.

        Each check is a real (paid) request to the model: a single call with correct arguments,
        typed arguments, two calls in one turn, no call when none is needed, tool_choice=required,
        the result used in the answer, calls while streaming, and the text protocol. The verdicts
        are stored, so later runs start with the right tool protocol.
        """
        try:
            return await tools.probe_models(models, checks)
        except AgentError as exc:
            raise _error(str(exc)) from None

    return server


def _run_task(tools: ServeTools, names: list[str]) -> Tool:
    """The ``run_task`` tool, with RunResult's schema as its output schema."""

    def host_roots(ctx: Context, servers: list[str] | None) -> ListRoots | None:
        """Ask the host for its roots when the run uses the bundled fs server and the host has roots."""
        capabilities = ctx.client_capabilities
        if capabilities is None or capabilities.roots is None or not tools.wants_roots(servers):
            return None
        return ListRoots()

    known = ", ".join(names) or "none"

    async def run_task(
        task: Annotated[
            str, Field(min_length=1, description="The task, in words, as you would give it to a person.")
        ],
        ctx: Context,
        roots: Annotated[ListRootsResult | None, Resolve(host_roots)],
        model: Annotated[
            str | None,
            Field(description="An OpenRouter model id to run the task with (default: the agent's model)."),
        ] = None,
        servers: Annotated[
            list[str] | None,
            Field(
                description=f"Which of the agent's own MCP servers to use: some of {known} "
                "(default: all). Only these names: no other program can be started this way."
            ),
        ] = None,
        max_turns: Annotated[
            int | None, Field(ge=1, le=1000, description="Stop after this many model turns.")
        ] = None,
        max_cost: Annotated[
            float | None, Field(gt=0, description="Stop once the run has cost this many USD.")
        ] = None,
        timeout: Annotated[  # noqa: ASYNC109 (the run's limit, passed on; not how long this call waits)
            float | None, Field(gt=0, description="Stop after this many seconds.")
        ] = None,
    ) -> CallToolResult:
        async def report(turn: float, message: str) -> None:
            await ctx.report_progress(turn, None, message)

        outcome = await tools.run_task(
            task,
            model=model,
            servers=servers,
            max_turns=max_turns,
            max_cost=max_cost,
            timeout=timeout,
            roots=[str(root.uri) for root in roots.roots] if roots is not None else None,
            report=report,
        )
        return CallToolResult(
            content=[TextContent(type="text", text=outcome.text)],
            structured_content=outcome.result,
            is_error=outcome.is_error,
        )

    tool = Tool.from_function(
        run_task,
        name="run_task",
        title="Run a task with an agent",
        description=(
            "Hand a task to an agent: a model of its endpoint (OpenRouter) that works on it with "
            f"tools from the agent's own MCP servers ({known}) until it answers. Returns the answer "
            "as text, and the whole run (turns, tool calls, usage, cost, session id) as structured "
            "content; a run that fails or reaches a limit is an error result saying why. The host "
            "picks servers by name only; the agent's tool policy applies (calls that need approval "
            "are refused unless the agent was started with --yes or --approve-with). Each turn is "
            "reported as progress; cancelling the call stops the run."
        ),
        annotations=ToolAnnotations(
            title="Run a task with an agent",
            read_only_hint=False,
            destructive_hint=tools.may_destroy(),
            idempotent_hint=False,
            open_world_hint=True,
        ),
    )
    tool.fn_metadata.output_schema = run_result_schema()
    return tool
