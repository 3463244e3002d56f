"""Typer commands whose flags come from the option table (:mod:`agent.options`), not from copies.

A command names the :class:`~agent.options.AgentOptions` and
:class:`~agent.options.OutputOptions` fields it takes, plus parameters of its own (the prompt,
``--concurrency``...); :func:`command` builds the typer signature from the table's types,
defaults, flags and help, and calls the handler with one dict of values.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, get_origin

import typer

from agent.options import (
    AgentOptions,
    OptionTable,
    OutputOptions,
    flag_of,
    option_default,
    option_names,
    option_type,
)

__all__ = [
    "CHAT_OPTIONS",
    "COMPARE_OPTIONS",
    "POLICY_OPTIONS",
    "QUERY_OPTIONS",
    "REASONING_OPTIONS",
    "ROUTING_OPTIONS",
    "RUN_OPTIONS",
    "TRACING_OPTIONS",
    "command",
    "examples",
    "own",
    "split_values",
]


def own(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    """A parameter of one command only (the option table holds the shared ones)."""
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def examples(*lines: str) -> str:
    """The help's closing paragraph: command lines to copy (no ``[...]``: help text is rich markup)."""
    return "\n\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


RUN_OPTIONS = option_names(AgentOptions)
"""``agent run`` takes every agent option."""
POLICY_OPTIONS = ("allow", "deny", "approval", "yes", "approve_with")
"""Which tool calls may run, and who approves them: every command that runs tools takes these."""
TRACING_OPTIONS = ("otel", "otel_content")
"""OpenTelemetry spans of the runs: every command that runs the agent takes these."""
ROUTING_OPTIONS = (
    "provider_order",
    "provider_only",
    "provider_ignore",
    "provider_sort",
    "max_price",
    "allow_fallbacks",
    "data_collection",
    "zdr",
    "quantizations",
)
"""OpenRouter's provider routing: every command that sends chat requests takes these."""
REASONING_OPTIONS = ("reasoning_effort", "reasoning_max_tokens", "reasoning_exclude")
"""How much a reasoning model thinks: every command that sends chat requests takes these."""
QUERY_OPTIONS = (
    "provider",
    "model",
    "servers",
    "config",
    "mcp_config",
    "no_servers",
    "stream",
    "fallbacks",
    "retries",
    *ROUTING_OPTIONS,
    *REASONING_OPTIONS,
    *POLICY_OPTIONS,
    *TRACING_OPTIONS,
)
"""``agent query`` (as in mcp-cli): the endpoint, the model, the servers, streaming, fallbacks, and
the tool policy."""
COMPARE_OPTIONS = (
    "provider",
    "config",
    "servers",
    "mcp_config",
    "no_servers",
    "max_turns",
    "max_cost",
    "max_total_tokens",
    "timeout",
    "tool_timeout",
    "protocol",
    "system",
    "retries",
    "schema",
    "prompt_cache",
    *ROUTING_OPTIONS,
    *REASONING_OPTIONS,
    *POLICY_OPTIONS,
    *TRACING_OPTIONS,
)
"""``agent compare``: everything of a run but the model (``-m`` names several) and streaming."""
_NOT_IN_CHAT = (
    "schema",
    "tool_choice",
    "resources",
    "server_prompt",
    "prompt_args",
    "record",
    "replay",
    "replay_tools",
    "transcript",
)
CHAT_OPTIONS = tuple(name for name in RUN_OPTIONS if name not in _NOT_IN_CHAT)
"""``agent chat``: a run's options (the limits apply per turn), but what shapes one run only: an
output schema, a forced tool choice, an opening (resources, a server prompt), and the files a run
writes alone (recording, replay, transcript)."""

Handler = Callable[[dict[str, Any]], int]


def _parameter(
    table: OptionTable, name: str, default_override: Any = inspect.Parameter.empty
) -> inspect.Parameter:
    flag = flag_of(table, name)
    annotation = flag.cli_type if flag.cli_type is not None else option_type(table, name)
    default = option_default(table, name)
    if default_override is not inspect.Parameter.empty:
        default = default_override
    if get_origin(annotation) is list:
        annotation = annotation | None  # typer: a repeatable option, None when not given
        default = None
    option = typer.Option(*flag.names, help=flag.help, metavar=flag.metavar, show_default=_shows(default))
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[annotation, option]
    )


def _shows(default: Any) -> bool:
    return default not in (None, False, "", [])


def command(
    app: typer.Typer,
    name: str,
    handler: Handler,
    *,
    help: str,
    agent_options: Sequence[str] = (),
    output_options: Sequence[str] = ("json_output", "verbose"),
    own: Sequence[inspect.Parameter] = (),
    defaults: Mapping[str, Any] | None = None,
) -> None:
    """Register command ``name`` on ``app``: its own parameters first, then the table's options.

    Args:
        app: the typer app.
        name: the command name.
        handler: receives every parameter's value by name and returns the exit code.
        help: the command's help text (first line: the summary).
        agent_options: :class:`AgentOptions` fields the command takes.
        output_options: :class:`OutputOptions` fields the command takes.
        own: the command's own parameters (typer ``Annotated`` annotations).
        defaults: per-command defaults that differ from the table's.
    """
    overrides = dict(defaults or {})
    parameters = [*own]
    parameters += [
        _parameter(AgentOptions, n, overrides.get(n, inspect.Parameter.empty)) for n in agent_options
    ]
    parameters += [_parameter(OutputOptions, n) for n in output_options]

    def body(**values: Any) -> None:
        raise typer.Exit(handler(values))

    body.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    body.__annotations__ = {p.name: p.annotation for p in parameters}
    body.__doc__ = help
    body.__name__ = name
    app.command(name)(body)


def split_values(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``values`` as (agent options, output options, the command's own), lists of None made empty."""
    agent: dict[str, Any] = {}
    output: dict[str, Any] = {}
    own: dict[str, Any] = {}
    agent_names, output_names = option_names(AgentOptions), option_names(OutputOptions)
    for key, value in values.items():
        if key in agent_names:
            if value is None and get_origin(option_type(AgentOptions, key)) is list:
                continue  # not given: the table's default
            agent[key] = value
        elif key in output_names:
            output[key] = value
        else:
            own[key] = value
    return agent, output, own
