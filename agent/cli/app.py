"""The ``agent`` command: a thin typer app; each command group lives in its own module.

Heavy imports (httpx, the MCP SDK) happen inside the commands, so ``agent --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent import __version__

__all__ = ["app", "main"]

app = typer.Typer(
    name="agent",
    help="Run LLM agents that use MCP tools, through OpenRouter or any OpenAI-compatible API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"agent {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Run LLM agents that use MCP tools."""


PromptArg = Annotated[str, typer.Argument(help="The task for the agent; '-' reads it from stdin.")]
ModelOpt = Annotated[str | None, typer.Option("-m", "--model", help="Model id (default: the provider's).")]
ProviderOpt = Annotated[
    str | None, typer.Option("-p", "--provider", help="Provider name (default: openrouter).")
]
ServerOpt = Annotated[
    list[str] | None,
    typer.Option(
        "-s",
        "--server",
        help="MCP server: a name from the MCP config, a bundled server (fs, fs:DIR, sqlite:DB, calc), "
        "a command line, or an http(s) URL. Repeatable.",
    ),
]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Provider file or config directory.")]
McpConfigOpt = Annotated[
    Path | None, typer.Option("--mcp-config", help="MCP servers file (mcpServers JSON/YAML).")
]
MaxTurnsOpt = Annotated[int, typer.Option("--max-turns", min=1, help="Stop after this many model turns.")]
TimeoutOpt = Annotated[
    float | None, typer.Option("--timeout", min=0.001, help="Stop the whole run after SECONDS.")
]
ToolTimeoutOpt = Annotated[
    float, typer.Option("--tool-timeout", min=0.001, help="Cancel a tool call after SECONDS.")
]
StreamOpt = Annotated[bool, typer.Option("--stream/--no-stream", help="Stream the answer as it is written.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON result object on stdout.")]
SystemOpt = Annotated[str | None, typer.Option("--system", help="System prompt.")]
ToolChoiceOpt = Annotated[str | None, typer.Option("--tool-choice", help="auto, required or none.")]
ProtocolOpt = Annotated[
    str,
    typer.Option(
        "--protocol", help="Tool calls: native, text (in the prompt), or auto (native where supported)."
    ),
]
FallbackOpt = Annotated[
    list[str] | None,
    typer.Option("--fallback", help="A model to hand the turn to when the model is unavailable. Repeatable."),
]
RetriesOpt = Annotated[
    int | None,
    typer.Option("--retries", min=0, help="Retries per model (default: the provider's max_retries)."),
]
MaxToolOutputOpt = Annotated[
    int | None,
    typer.Option("--max-tool-output", min=1, help="Cut a tool result to CHARS characters (default 100000)."),
]
StrictServersOpt = Annotated[
    bool, typer.Option("--strict-servers", help="Fail the run (exit 1) when an MCP server does not start.")
]
VerboseOpt = Annotated[
    bool, typer.Option("-v", "--verbose", help="Show details: servers, usage, raw errors.")
]


@app.command()
def run(
    prompt: PromptArg,
    model: ModelOpt = None,
    provider: ProviderOpt = None,
    server: ServerOpt = None,
    config: ConfigOpt = None,
    mcp_config: McpConfigOpt = None,
    max_turns: MaxTurnsOpt = 20,
    timeout: TimeoutOpt = None,
    tool_timeout: ToolTimeoutOpt = 60.0,
    stream: StreamOpt = True,
    json_output: JsonOpt = False,
    system: SystemOpt = None,
    tool_choice: ToolChoiceOpt = None,
    strict_servers: StrictServersOpt = False,
    max_tool_output: MaxToolOutputOpt = None,
    fallback: FallbackOpt = None,
    retries: RetriesOpt = None,
    protocol: ProtocolOpt = "auto",
    verbose: VerboseOpt = False,
) -> None:
    """Run an agent on PROMPT with tools from MCP servers until the model answers."""
    from agent.cli.run import RunArgs, execute

    code = execute(
        RunArgs(
            prompt=prompt,
            model=model,
            provider=provider,
            servers=server or [],
            config=config,
            mcp_config=mcp_config,
            max_turns=max_turns,
            timeout=timeout,
            tool_timeout=tool_timeout,
            stream=stream,
            json_output=json_output,
            system=system,
            tool_choice=tool_choice,
            strict_servers=strict_servers,
            max_tool_output=max_tool_output,
            fallbacks=fallback or [],
            retries=retries,
            protocol=protocol,
            verbose=verbose,
        )
    )
    raise typer.Exit(code)


@app.command()
def query(
    prompt: PromptArg,
    provider: ProviderOpt = None,
    model: ModelOpt = None,
    server: ServerOpt = None,
    config: ConfigOpt = None,
    mcp_config: McpConfigOpt = None,
    stream: StreamOpt = True,
    json_output: JsonOpt = False,
    fallback: FallbackOpt = None,
    retries: RetriesOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Ask one question (as in mcp-cli); tools come from the servers given, if any."""
    from agent.cli.run import RunArgs, execute

    code = execute(
        RunArgs(
            prompt=prompt,
            model=model,
            provider=provider,
            servers=server or [],
            config=config,
            mcp_config=mcp_config,
            stream=stream,
            json_output=json_output,
            fallbacks=fallback or [],
            retries=retries,
            verbose=verbose,
        )
    )
    raise typer.Exit(code)


def main() -> None:
    """Console-script entry point."""
    app()
