"""The ``agent`` command: a thin typer app; each command group lives in its own module.

Heavy imports (httpx, the MCP SDK) happen inside the commands, so ``agent --help`` stays fast.
"""

from __future__ import annotations

import sys
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
    run(
        prompt,
        model=model,
        provider=provider,
        server=server,
        config=config,
        mcp_config=mcp_config,
        stream=stream,
        json_output=json_output,
        fallback=fallback,
        retries=retries,
        verbose=verbose,
    )


@app.command()
def models(
    provider: ProviderOpt = None,
    config: ConfigOpt = None,
    tools: Annotated[bool, typer.Option("--tools", help="Only models that take tool schemas.")] = False,
    free: Annotated[bool, typer.Option("--free", help="Only free models.")] = False,
    search: Annotated[
        str | None, typer.Option("--search", help="Only models whose id or name has every word of TEXT.")
    ] = None,
    sort: Annotated[
        str,
        typer.Option(
            "--sort", help="id (groups by vendor), newest, price (cheapest first) or context (largest first)."
        ),
    ] = "id",
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Fetch the catalog now instead of using the cache.")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of models on stdout.")
    ] = False,
) -> None:
    """List the endpoint's models: tool support, context, prices per million tokens.

    The catalog is cached for a day. Exit 1 when it cannot be fetched and there is no cache.
    """
    from agent.cli.models import ModelsArgs, execute

    raise typer.Exit(
        execute(
            ModelsArgs(
                provider=provider,
                config=config,
                tools=tools,
                free=free,
                search=search,
                sort=sort,
                refresh=refresh,
                json_output=json_output,
            )
        )
    )


ConcurrencyOpt = Annotated[int, typer.Option("--concurrency", min=1, help="Models worked on at once.")]


@app.command()
def probe(
    model_ids: Annotated[list[str], typer.Argument(metavar="MODEL", help="Model ids to probe.")],
    provider: ProviderOpt = None,
    config: ConfigOpt = None,
    concurrency: ConcurrencyOpt = 4,
    check_timeout: Annotated[
        float, typer.Option("--check-timeout", min=0.001, help="Count a check as an error after SECONDS.")
    ] = 60.0,
    retries: RetriesOpt = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of results on stdout.")
    ] = False,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Also write the report as Markdown to FILE.")
    ] = None,
    verbose: VerboseOpt = False,
) -> None:
    """Check how well each MODEL calls tools: a battery of real requests, a verdict per check.

    Checks: a single call with correct arguments; integer, enum, array and object arguments;
    two calls in one turn; no call when none is needed; tool_choice=required; the tool result
    used in the answer; calls while streaming; the text protocol. The verdicts are stored, so
    `agent run --protocol auto` uses them. Exit 0 when probing ran, even with failing verdicts;
    1 only if every model errored (4 if the API key was refused).
    """
    from agent.cli.probe import ProbeArgs, execute

    raise typer.Exit(
        execute(
            ProbeArgs(
                models=model_ids,
                provider=provider,
                config=config,
                concurrency=concurrency,
                check_timeout=check_timeout,
                retries=retries,
                json_output=json_output,
                markdown=markdown,
                verbose=verbose,
            )
        )
    )


@app.command()
def compare(
    prompt: PromptArg,
    model_ids: Annotated[
        list[str], typer.Option("-m", "--model", help="A model to run the task on. Repeatable.")
    ],
    provider: ProviderOpt = None,
    server: ServerOpt = None,
    config: ConfigOpt = None,
    mcp_config: McpConfigOpt = None,
    max_turns: MaxTurnsOpt = 10,
    timeout: TimeoutOpt = None,
    tool_timeout: ToolTimeoutOpt = 60.0,
    protocol: ProtocolOpt = "auto",
    system: SystemOpt = None,
    concurrency: ConcurrencyOpt = 4,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of run results (with requested_model).")
    ] = False,
    verbose: VerboseOpt = False,
) -> None:
    """Run PROMPT on several models at once and compare outcome, turns, tool calls, tokens, cost, time.

    The MCP servers start once and are shared by every model's run: tools that keep state
    (files, databases, memory) see every run's changes. Exit 0 when at least one model
    completed; otherwise the exit code of the first model's run.
    """
    from agent.cli.compare import CompareArgs, execute

    raise typer.Exit(
        execute(
            CompareArgs(
                prompt=prompt,
                models=model_ids,
                provider=provider,
                servers=server or [],
                config=config,
                mcp_config=mcp_config,
                max_turns=max_turns,
                timeout=timeout,
                tool_timeout=tool_timeout,
                protocol=protocol,
                system=system,
                concurrency=concurrency,
                json_output=json_output,
                verbose=verbose,
            )
        )
    )


@app.command()
def trust(
    directory: Annotated[
        Path | None, typer.Argument(help="The directory to trust (default: the current one).")
    ] = None,
    list_only: Annotated[bool, typer.Option("--list", help="List the trusted directories.")] = False,
    forget: Annotated[bool, typer.Option("--forget", help="Stop trusting DIRECTORY.")] = False,
) -> None:
    """Trust a directory's ./config/ files and .env (they are ignored until you do).

    Trust is recorded with a hash of each file: a file that changes, appears or goes away
    needs trusting again.
    """
    from agent.cli.trust import TrustArgs, execute

    raise typer.Exit(execute(TrustArgs(directory=directory, list_only=list_only, forget=forget)))


def main() -> None:
    """Console-script entry point: a usage mistake is one line on stderr and exit code 2."""
    from typer.exceptions import TyperException

    from agent.cli.terminal import install

    install()
    try:
        code = app(standalone_mode=False)
    except TyperException as exc:  # click's usage and parameter errors
        format_message = getattr(exc, "format_message", None)
        if format_message is None:
            raise
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "agent"
        message = " ".join(str(format_message()).split())
        if message:  # empty when the help was shown because no arguments were given
            sys.stderr.write(f"error: {where}: {message} (see '{where} --help')\n")
        sys.exit(int(getattr(exc, "exit_code", 2)))
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
