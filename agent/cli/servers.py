"""``agent servers|tools|prompts|resources``: what the MCP servers offer, as a table or ``--json``.

The servers are chosen as for ``agent run`` (the same options, through :class:`agent.Agent`),
started without a model or an API key, listed, and stopped. ``--json`` prints one JSON list.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from agent.cli.common import run_command
from agent.cli.exit_codes import EXIT_OK
from agent.cli.options import split_values
from agent.cli.tables import format_duration, text_table
from agent.cli.terminal import json_safe
from agent.events import Event, ServerFailed
from agent.options import OutputOptions
from agent.text import one_line

if TYPE_CHECKING:
    from pydantic import BaseModel

    from agent.core.agent import Agent
    from agent.mcp.inventory import PromptArgumentEntry, PromptEntry, ResourceEntry, ServerEntry, ToolEntry

__all__ = ["Listing", "execute", "prompt_rows", "resource_rows", "server_rows", "tool_rows"]

Listing = Literal["servers", "tools", "prompts", "resources"]

_CELL = 70


def execute(listing: Listing, values: dict[str, Any]) -> int:
    """List what the servers offer as the CLI does and return the exit code."""
    agent_values, output_values, _own = split_values(values)
    output = OutputOptions(**output_values)

    async def main() -> int:
        return await _main(listing, agent_values, output)

    return run_command(main, verbose=output.verbose)


async def _main(listing: Listing, values: dict[str, Any], output: OutputOptions) -> int:
    from agent.cli.questions import TerminalQuestions
    from agent.cli.render import HumanRenderer
    from agent.cli.trust import settle_project_trust
    from agent.core.agent import Agent
    from agent.options import parse_options

    options = parse_options(values, as_flags=True)
    settle_project_trust(interactive=not output.json_output)
    renderer = HumanRenderer(sys.stderr, sys.stderr, verbose=output.verbose)
    # A server's OAuth sign-in is asked at a terminal: listing servers is how a user signs in.
    at_terminal = sys.stdin.isatty() and sys.stderr.isatty()
    questions = TerminalQuestions(renderer, sys.stdin, sys.stderr, interactive=at_terminal)

    def on_event(event: Event) -> None:
        if listing == "servers" and isinstance(event, ServerFailed):
            return  # the table says why, in its row
        renderer(event)

    authorize = questions.authorize if at_terminal else None
    renderer.waiting("starting MCP servers")
    async with Agent(options, on_event=on_event, authorize=authorize).servers_only() as agent:
        entries: Sequence[BaseModel] = await _LISTERS[listing](agent)
        renderer.clear_progress()
    if output.json_output:
        text = json.dumps([entry.model_dump(mode="json") for entry in entries], ensure_ascii=False)
        sys.stdout.write(json_safe(text) + "\n")
    elif entries:
        sys.stdout.write("\n".join(_TABLES[listing](entries)) + "\n")
    sys.stdout.flush()
    sys.stderr.write(f"info: {_summary(listing, entries)}\n")
    return EXIT_OK


def _summary(listing: Listing, entries: Sequence[Any]) -> str:
    count = len(entries)
    if listing == "servers":
        active = sum(entry.status == "active" for entry in entries)
        return f"{count} server{'' if count == 1 else 's'}, {active} active"
    noun = {"tools": "tool", "prompts": "prompt", "resources": "resource"}[listing]
    servers = len({entry.server for entry in entries})
    return f"{count} {noun}{'' if count == 1 else 's'} from {servers} server{'' if servers == 1 else 's'}"


async def _servers(agent: Agent) -> Sequence[BaseModel]:
    return await agent.list_servers()


async def _tools(agent: Agent) -> Sequence[BaseModel]:
    return await agent.list_tools()


async def _prompts(agent: Agent) -> Sequence[BaseModel]:
    return await agent.list_prompts()


async def _resources(agent: Agent) -> Sequence[BaseModel]:
    return await agent.list_resources()


_LISTERS: dict[Listing, Callable[[Agent], Awaitable[Sequence[BaseModel]]]] = {
    "servers": _servers,
    "tools": _tools,
    "prompts": _prompts,
    "resources": _resources,
}


def _cell(value: Any, limit: int = _CELL) -> str:
    return "" if value is None else one_line(value, limit)


def server_rows(entries: Sequence[ServerEntry]) -> list[str]:
    """The ``agent servers`` table (counts of a server that is not active are shown as ``-``)."""
    rows = []
    for e in entries:
        counts = [e.tools, e.resources, e.resource_templates, e.prompts]
        rows.append(
            [
                _cell(e.name),
                e.status,
                e.transport or "",
                e.protocol_version or "",
                "" if e.startup_ms is None else format_duration(e.startup_ms),
                *(str(n) if e.status == "active" else "-" for n in counts),
                _cell(e.error if e.error else e.server_info, 120),
            ]
        )
    headers = [
        "SERVER",
        "STATUS",
        "TRANSPORT",
        "PROTOCOL",
        "START-UP",
        "TOOLS",
        "RESOURCES",
        "TEMPLATES",
        "PROMPTS",
        "SERVER INFO / ERROR",
    ]
    return text_table(headers, rows, right={4, 5, 6, 7, 8})


_HINTS = (
    ("read_only_hint", True, "read-only"),
    ("destructive_hint", True, "destructive"),
    ("destructive_hint", False, "non-destructive"),
    ("idempotent_hint", True, "idempotent"),
    ("open_world_hint", False, "closed-world"),
)


def _hints(annotations: dict[str, Any]) -> str:
    return ", ".join(label for key, value, label in _HINTS if annotations.get(key) is value)


def _schema_arguments(schema: dict[str, Any]) -> str:
    """``path, depth?``: the schema's properties, optional ones marked."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return ""
    required = schema.get("required")
    needed = set(required) if isinstance(required, list) else set()
    return ", ".join(name if name in needed else f"{name}?" for name in properties)


def tool_rows(entries: Sequence[ToolEntry]) -> list[str]:
    """The ``agent tools`` table."""
    rows = [
        [
            _cell(e.server),
            _cell(e.name),
            _cell(e.model_name or "-"),
            _hints(e.annotations),
            _cell(_schema_arguments(e.input_schema), 50),
            _cell(e.description),
        ]
        for e in entries
    ]
    return text_table(["SERVER", "TOOL", "MODEL SEES", "HINTS", "ARGUMENTS", "DESCRIPTION"], rows)


def _prompt_arguments(arguments: Sequence[PromptArgumentEntry]) -> str:
    return ", ".join(a.name if a.required else f"{a.name}?" for a in arguments)


def prompt_rows(entries: Sequence[PromptEntry]) -> list[str]:
    """The ``agent prompts`` table."""
    rows = [
        [_cell(e.server), _cell(e.name), _cell(_prompt_arguments(e.arguments), 50), _cell(e.description)]
        for e in entries
    ]
    return text_table(["SERVER", "PROMPT", "ARGUMENTS", "DESCRIPTION"], rows)


def resource_rows(entries: Sequence[ResourceEntry]) -> list[str]:
    """The ``agent resources`` table."""
    rows = [
        [
            _cell(e.server),
            _cell(e.uri, 90),
            "template" if e.template else "resource",
            _cell(e.name, 40),
            _cell(e.mime_type or ""),
            _cell(e.description),
        ]
        for e in entries
    ]
    return text_table(["SERVER", "URI", "KIND", "NAME", "MIME TYPE", "DESCRIPTION"], rows)


_TABLES: dict[Listing, Callable[[Sequence[Any]], list[str]]] = {
    "servers": server_rows,
    "tools": tool_rows,
    "prompts": prompt_rows,
    "resources": resource_rows,
}
