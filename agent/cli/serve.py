"""``agent serve``: the agent as an MCP server for Claude Desktop, Cursor and other MCP hosts.

Parse, enter one :class:`~agent.Agent` (its servers start once), serve until the host goes away
(stdio) or the user stops it (HTTP). stdout belongs to the protocol in stdio mode: everything for
a person goes to stderr, one line each.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from agent.options import AgentOptions, option_names
from agent.text import one_line

if TYPE_CHECKING:
    from agent.events import Event
    from agent.options import OutputOptions

__all__ = ["SERVE_OPTIONS", "execute"]

_PER_RUN_ONLY = (
    "resources",
    "server_prompt",
    "prompt_args",
    "continue_session",
    "resume",
    "transcript",
    "record",
    "replay",
    "replay_tools",
    "schema",
    "stream",
)
SERVE_OPTIONS = tuple(name for name in option_names(AgentOptions) if name not in _PER_RUN_ONLY)
"""``agent serve`` takes the agent options, as defaults of every ``run_task``: all but those of
one run (its opening, the session it carries on, a recording, a schema)."""


class _OneLine(logging.Formatter):
    """``logger: LEVEL: message`` on one line; an exception as ``(Type: text)``, never a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            message += f" ({type(exc).__name__}: {exc})"
        return one_line(f"{record.name}: {record.levelname}: {message}", 1_000)


def _configure_logging() -> None:
    """The SDK's and uvicorn's warnings as single lines on stderr (the SDK would draw tracebacks)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True


def _on_event(event: Event) -> None:
    """What the agent says outside the runs: servers that failed, notices."""
    from agent.cli.common import warn
    from agent.events import Notice, ServerFailed

    if event.seq != 0:
        return  # a run's own events: the host gets them as progress and the result
    if isinstance(event, ServerFailed):
        warn(f"MCP server '{event.server}' failed to start: {one_line(event.message, 500)}")
    elif isinstance(event, Notice):
        warn(one_line(event.message, 1_000), level=event.level)


def execute(values: dict[str, Any]) -> int:
    """Serve as the CLI does until the host disconnects or the user stops it; the exit code."""
    from agent.cli.common import run_command
    from agent.cli.options import split_values
    from agent.options import OutputOptions

    agent_values, output_values, own = split_values(values)
    output = OutputOptions(**output_values)
    return run_command(lambda: _main(agent_values, output, own), verbose=output.verbose)


async def _main(agent_values: dict[str, Any], output: OutputOptions, own: dict[str, Any]) -> int:
    from agent.cli.common import warn
    from agent.cli.exit_codes import EXIT_OK
    from agent.cli.run import servers_line
    from agent.cli.trust import settle_project_trust
    from agent.core.agent import Agent
    from agent.options import parse_options
    from agent.serve.http import parse_address, serve_http, server_token
    from agent.serve.server import serving
    from agent.serve.tools import ServeSettings

    options = parse_options(agent_values, as_flags=True)
    address = parse_address(own["http"]) if own["http"] is not None else None
    token = None
    if address is not None:
        token = server_token(
            address, allow_remote=own["allow_remote"], env=os.environ, token_env=own["token_env"]
        )
    elif own["allow_remote"]:
        warn("--allow-remote has no effect without --http")
    settle_project_trust(interactive=False)  # stdin may be the protocol: never ask
    _configure_logging()
    settings = ServeSettings(roots_from_host=own["roots_from_host"])
    log = (lambda line: warn(line, level="info")) if output.verbose else None
    async with Agent(options, on_event=_on_event) as agent, serving(agent, settings, log=log) as server:
        line = servers_line(agent.servers())
        warn(f"agent serve: model {agent.model_id}" + (f"; {line}" if line else ""), level="info")
        if address is None:
            await server.run_stdio_async()
        else:
            await serve_http(
                server,
                address,
                token=token,
                on_listening=lambda url: warn(f"agent serve: listening on {url}", level="info"),
            )
    return EXIT_OK
