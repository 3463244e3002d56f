"""The ``agent`` command: a thin typer app; each command group lives in its own module.

Heavy imports (httpx, the MCP SDK) happen inside the commands, so ``agent --help`` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from agent import __version__
from agent.cli.options import CHAT_OPTIONS, COMPARE_OPTIONS, QUERY_OPTIONS, RUN_OPTIONS, command
from agent.cli.options import examples as _examples
from agent.cli.options import own as _own

__all__ = ["app", "main"]

app = typer.Typer(
    name="agent",
    help="Run LLM agents that use MCP tools, through OpenRouter or any OpenAI-compatible API.\n\n"
    "Every command takes -h. At a terminal the output is styled; --plain, NO_COLOR or a pipe "
    "make it plain text.\n\n"
    "Examples:\n"
    '  agent run "summarise the CSVs in ./data" -s fs:./data\n'
    "  agent models --tools --search qwen\n"
    "  agent completion bash > ~/.local/share/bash-completion/completions/agent",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
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
    plain: Annotated[
        bool,
        typer.Option(
            "--plain",
            envvar="AGENT_PLAIN",
            help="Plain text, no colours, spinners or live tables, even at a terminal "
            "(as with NO_COLOR or TERM=dumb).",
        ),
    ] = False,
) -> None:
    """Run LLM agents that use MCP tools."""
    from agent.cli import style

    style.PLAIN = plain


_PROMPT = _own(
    "prompt", Annotated[str, typer.Argument(help="The task for the agent; '-' reads it from stdin.")]
)
_RUN_PROMPT = _own(
    "prompt",
    Annotated[
        str | None,
        typer.Argument(
            help="The task for the agent; '-' reads it from stdin. "
            "Optional with --prompt: the server prompt's last message is then the task."
        ),
    ],
    None,
)
_INVENTORY_OPTIONS = ("servers", "mcp_config", "no_servers", "provider", "config")
"""What chooses the servers, as for ``agent run`` (the provider file and trust included)."""
_CONCURRENCY = _own(
    "concurrency", Annotated[int, typer.Option("--concurrency", min=1, help="Models worked on at once.")], 4
)


def _run(values: dict[str, Any]) -> int:
    from agent.cli.run import execute

    return execute(values)


def _chat(values: dict[str, Any]) -> int:
    from agent.cli.chat import execute

    return execute(values)


def _query(values: dict[str, Any]) -> int:
    from agent.cli.run import execute

    return execute(values, answer_only=True)


def _models(values: dict[str, Any]) -> int:
    from agent.cli.models import execute

    return execute(values)


def _key(values: dict[str, Any]) -> int:
    from agent.cli.key import execute

    return execute(values)


def _embed(values: dict[str, Any]) -> int:
    from agent.cli.embed import execute

    return execute(values)


def _probe(values: dict[str, Any]) -> int:
    from agent.cli.probe import execute

    return execute(values)


def _compare(values: dict[str, Any]) -> int:
    from agent.cli.compare import execute

    return execute(values)


def _listing(listing: Literal["servers", "tools", "prompts", "resources"]) -> Callable[[dict[str, Any]], int]:
    def handler(values: dict[str, Any]) -> int:
        from agent.cli.servers import execute

        return execute(listing, values)

    return handler


command(
    app,
    "run",
    _run,
    help="Run an agent on PROMPT with tools from MCP servers until the model answers.\n\n"
    "With no --server, every enabled server of the MCP config is attached."
    + _examples(
        'agent run "summarise the CSVs in ./data" -s fs:./data',
        'agent run "what is 17 * 23?" -s calc -m openai/gpt-4o-mini',
        "agent run - --json < task.txt",
    ),
    agent_options=RUN_OPTIONS,
    output_options=("json_output", "events", "verbose"),
    own=[_RUN_PROMPT],
)
command(
    app,
    "query",
    _query,
    help="Ask one question (as in mcp-cli) and print only the answer; tools come from the configured "
    "or given servers.\n\nstdout carries the final answer alone, once the run is done; stderr stays "
    "empty unless something goes wrong (--verbose shows the servers, tool calls and turns)."
    + _examples('agent query "What is 2**10?" --provider openrouter --model openai/gpt-4o-mini -s calc'),
    agent_options=QUERY_OPTIONS,
    own=[_PROMPT],
)
command(
    app,
    "chat",
    _chat,
    help="Chat with the agent: each message is a run that carries the conversation on, as one session.\n\n"
    "At a terminal: Enter sends, Esc Enter or a line ending in \\ starts a new line, Ctrl-C cancels "
    "a turn, Ctrl-D leaves; /help lists the slash commands (/model, /fallback, /tools, /servers, "
    "/cost, /clear, /save, /resume). Otherwise each line of stdin is a message, answered on stdout; "
    "exit 0 when every turn completed, else the exit code of the first that did not. The limits "
    "(--max-turns, --max-cost, --timeout...) apply to each turn."
    + _examples(
        "agent chat -s fs -s calc",
        "agent chat --continue",
        "agent chat --resume 3f2a -m openai/gpt-4o-mini",
    ),
    agent_options=CHAT_OPTIONS,
    output_options=("verbose",),
)
command(
    app,
    "models",
    _models,
    help="List the endpoint's models: tool support, context, prices per million tokens.\n\n"
    "The catalog is cached for a day. Exit 1 when it cannot be fetched and there is no cache."
    + _examples("agent models --tools --search claude", "agent models --free --sort context"),
    agent_options=("provider", "config"),
    output_options=("json_output",),
    own=[
        _own(
            "tools",
            Annotated[bool, typer.Option("--tools", help="Only models that take tool schemas.")],
            False,
        ),
        _own("free", Annotated[bool, typer.Option("--free", help="Only free models.")], False),
        _own(
            "search",
            Annotated[
                str | None,
                typer.Option("--search", help="Only models whose id or name has every word of TEXT."),
            ],
            None,
        ),
        _own(
            "sort",
            Annotated[
                str,
                typer.Option(
                    "--sort",
                    help="id (groups by vendor), newest, price (cheapest first) or context (largest first).",
                ),
            ],
            "id",
        ),
        _own(
            "refresh",
            Annotated[
                bool, typer.Option("--refresh", help="Fetch the catalog now instead of using the cache.")
            ],
            False,
        ),
        _own(
            "embeddings",
            Annotated[
                bool,
                typer.Option("--embeddings", help="List the embedding models (for `agent embed`) instead."),
            ],
            False,
        ),
    ],
)
command(
    app,
    "embed",
    _embed,
    help="Turn each TEXT (or each file, or stdin) into an embedding vector with embedding model -m.\n\n"
    "Texts come from the arguments, then -f files ('-' is stdin), else from stdin when it is not a "
    "terminal; --lines makes each non-blank line a text. Prints a summary (count, dimensions, "
    "model, tokens, cost); --json one object with every vector, --jsonl one "
    '{"index", "embedding"} line per text. Exit 2 for bad input, 4 when the key is refused or '
    "out of credits, 1 for other provider errors."
    + _examples(
        'agent embed "hello" "world" -m openai/text-embedding-3-small',
        "agent embed -f notes.txt --lines --jsonl -m openai/text-embedding-3-small",
    ),
    agent_options=("provider", "config"),
    output_options=("json_output", "verbose"),
    own=[
        _own(
            "texts",
            Annotated[list[str] | None, typer.Argument(metavar="TEXT", help="Texts to embed.")],
            None,
        ),
        _own(
            "model",
            Annotated[
                str,
                typer.Option(
                    "-m", "--model", help="The embedding model, e.g. openai/text-embedding-3-small."
                ),
            ],
        ),
        _own(
            "files",
            Annotated[
                list[str] | None,
                typer.Option(
                    "-f", "--file", metavar="PATH", help="Embed the file's text ('-': stdin). Repeatable."
                ),
            ],
            None,
        ),
        _own(
            "lines",
            Annotated[
                bool, typer.Option("--lines", help="Each non-blank line of the files or stdin is a text.")
            ],
            False,
        ),
        _own(
            "dimensions",
            Annotated[
                int | None,
                typer.Option("--dimensions", min=1, help="Ask for vectors of N numbers (if the model can)."),
            ],
            None,
        ),
        _own(
            "batch_size",
            Annotated[int, typer.Option("--batch-size", min=1, help="Texts per request.")],
            64,
        ),
        _own(
            "concurrency",
            Annotated[int, typer.Option("--concurrency", min=1, help="Requests in flight at once.")],
            4,
        ),
        _own(
            "jsonl",
            Annotated[
                bool,
                typer.Option("--jsonl", help='One {"index", "embedding"} line per text; summary on stderr.'),
            ],
            False,
        ),
    ],
)
command(
    app,
    "key",
    _key,
    help="Show the API key's credits used, its limit and what remains, and its rate limits.\n\n"
    "From OpenRouter's GET /key; the key itself is never shown. Exit 4 when the key is refused, "
    "2 when none is configured." + _examples("agent key", "agent key --json"),
    agent_options=("provider", "config"),
    output_options=("json_output",),
)
command(
    app,
    "probe",
    _probe,
    help="Check how well each MODEL calls tools: a battery of real requests, a verdict per check.\n\n"
    "Checks: a single call with correct arguments; integer, enum, array and object arguments; "
    "two calls in one turn; no call when none is needed; tool_choice=required; the tool result "
    "used in the answer; calls while streaming; the text protocol. The verdicts are stored, so "
    "`agent run --protocol auto` uses them. --providers probes each provider endpoint of the model "
    "instead (the native checks, each request pinned to it; endpoints without tools are listed, "
    "not probed); later runs then prefer the providers that passed. Exit 0 when probing ran, even "
    "with failing verdicts; 1 only if every model errored (4 if the API key was refused)."
    + _examples(
        "agent probe openai/gpt-4o-mini qwen/qwen3-32b",
        "agent probe meta-llama/llama-3.3-70b-instruct --providers --markdown report.md",
    ),
    agent_options=("provider", "config", "retries"),
    own=[
        _own("model_ids", Annotated[list[str], typer.Argument(metavar="MODEL", help="Model ids to probe.")]),
        _CONCURRENCY,
        _own(
            "providers",
            Annotated[
                bool,
                typer.Option("--providers", help="Probe each provider endpoint of the model, pinned to it."),
            ],
            False,
        ),
        _own(
            "checks",
            Annotated[
                str | None,
                typer.Option("--checks", metavar="NAMES", help="Only these checks (comma-separated)."),
            ],
            None,
        ),
        _own(
            "check_timeout",
            Annotated[
                float,
                typer.Option("--check-timeout", min=0.001, help="Count a check as an error after SECONDS."),
            ],
            60.0,
        ),
        _own(
            "markdown",
            Annotated[
                Path | None, typer.Option("--markdown", help="Also write the report as Markdown to FILE.")
            ],
            None,
        ),
    ],
)
command(
    app,
    "compare",
    _compare,
    help="Run PROMPT on several models at once: outcome, turns, tool calls, tokens, cost, time.\n\n"
    "The MCP servers start once and are shared by every model's run: tools that keep state "
    "(files, databases, memory) see every run's changes. Exit 0 when at least one model "
    "completed; otherwise the exit code of the first model's run."
    + _examples(
        'agent compare "list the files here" -s fs -m openai/gpt-4o-mini -m qwen/qwen3-32b',
        'agent compare "add 2 and 3" -s calc -m mistralai/mistral-small --providers --json',
    ),
    agent_options=COMPARE_OPTIONS,
    own=[
        _PROMPT,
        _own(
            "model_ids",
            Annotated[
                list[str], typer.Option("-m", "--model", help="A model to run the task on. Repeatable.")
            ],
        ),
        _CONCURRENCY,
        _own(
            "providers",
            Annotated[
                bool,
                typer.Option(
                    "--providers", help="Run on each provider endpoint of each model (pinned): a row each."
                ),
            ],
            False,
        ),
    ],
    defaults={"max_turns": 10},
)
_LISTING_NOTE = (
    "\n\nThe servers are chosen as for `agent run` (-s, --mcp-config, --no-servers) and started; "
    "no model or API key is needed. --json prints one JSON list."
)
command(
    app,
    "servers",
    _listing("servers"),
    help="List the MCP servers: status, transport, protocol version, start-up time, what each offers."
    + _LISTING_NOTE
    + " Exit 0 when the listing worked, also with failed servers (their rows say why)."
    + _examples("agent servers", "agent servers -s fs -s calc --json"),
    agent_options=_INVENTORY_OPTIONS,
)
command(
    app,
    "tools",
    _listing("tools"),
    help="List the tools of the MCP servers: the name the model sees, hints, arguments, description."
    + _LISTING_NOTE
    + _examples("agent tools -s fs", "agent tools --mcp-config mcp.json --json"),
    agent_options=_INVENTORY_OPTIONS,
)
command(
    app,
    "prompts",
    _listing("prompts"),
    help="List the prompts of the MCP servers and their arguments (use one with `agent run --prompt`)."
    + _LISTING_NOTE
    + _examples("agent prompts --mcp-config mcp.json"),
    agent_options=_INVENTORY_OPTIONS,
)
command(
    app,
    "resources",
    _listing("resources"),
    help="List the resources and resource templates of the MCP servers (add one with `agent run --resource`)."
    + _LISTING_NOTE
    + _examples("agent resources -s fs:./docs"),
    agent_options=_INVENTORY_OPTIONS,
)


@app.command()
def init(
    provider: Annotated[
        str | None,
        typer.Option(
            "-p", "--provider", help="Provider to set up (default: openrouter), or its file's name."
        ),
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option("--endpoint", metavar="URL", help="Set up an OpenAI-compatible endpoint (named by -p)."),
    ] = None,
    model: Annotated[str | None, typer.Option("-m", "--model", help="The default model.")] = None,
    key_env: Annotated[
        str | None,
        typer.Option(
            "--key-env", metavar="VAR", help="The key is in this environment variable (not stored)."
        ),
    ] = None,
    key_stdin: Annotated[
        bool, typer.Option("--key-stdin", help="Read the key from stdin and store it (secrets.env, 0600).")
    ] = False,
    servers: Annotated[
        list[str] | None,
        typer.Option(
            "-s",
            "--server",
            metavar="SPEC",
            help="Add an MCP server: files[:DIR], calculator, db:FILE, filesystem[:DIR], memory, time, "
            "git, fetch, a command line or a URL; NAME=SPEC names it. Repeatable.",
        ),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option("-y", "--yes", help="Ask nothing: defaults for what no flag gives; replace entries."),
    ] = False,
    no_verify: Annotated[
        bool, typer.Option("--no-verify", help="Do not check the key (GET /key) or the model.")
    ] = False,
) -> None:
    """Set up agent: provider, API key, default model, MCP servers (asked at a terminal, or by flags).

    Files are written at the end, after showing them; the key only if you ask (secrets.env, 0600).

    Exit 2: a flag is missing without a terminal; 4: the key was refused; 130: stopped, nothing written.

    Examples:
      agent init
      agent init --key-env OPENROUTER_API_KEY -m openai/gpt-4o-mini -s files -y
    """
    from agent.cli.init import InitArgs, execute

    args = InitArgs(provider, endpoint, model, key_env, key_stdin, servers or [], yes, no_verify)
    raise typer.Exit(execute(args))


@app.command("config")
def config_command(
    provider: Annotated[
        str | None, typer.Option("-p", "--provider", help="Provider name (default: openrouter).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Provider file or config directory.")
    ] = None,
    mcp_config: Annotated[
        Path | None, typer.Option("--mcp-config", help="MCP servers file (mcpServers JSON or YAML).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show the configuration in force: which files are used or ignored, and the effective values.

    Keys are shown masked. Exit 2 when a file in force is wrong (the rest is still shown).

    Examples:
      agent config
      agent config --json
    """
    from agent.cli.show_config import execute

    raise typer.Exit(
        execute(provider=provider, config=config, mcp_config=mcp_config, json_output=json_output)
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

    Trust is recorded with a hash of each file: a changed, new or removed file needs trusting again.

    Examples:
      agent trust
      agent trust --list
      agent trust ~/src/project --forget
    """
    from agent.cli.trust import TrustArgs, execute

    raise typer.Exit(execute(TrustArgs(directory=directory, list_only=list_only, forget=forget)))


def _serve(values: dict[str, Any]) -> int:
    from agent.cli.serve import execute

    return execute(values)


def _serve_options() -> tuple[str, ...]:
    from agent.cli.serve import SERVE_OPTIONS

    return SERVE_OPTIONS


command(
    app,
    "serve",
    _serve,
    help="Serve the agent as an MCP server (stdio, or streamable HTTP with --http) for MCP hosts.\n\n"
    "Tools: run_task (a task for the agent, with its servers, model and limits: the options given "
    "here are every run's defaults, and a host can only tighten the limits or choose among these "
    "servers by name), list_models, probe_models. Tool calls that need approval are refused "
    "unless --yes or --approve-with is given. --http binds loopback addresses only, unless "
    "--allow-remote, which needs a bearer token in $AGENT_SERVE_TOKEN (or --token-env). "
    "Exit 0 when the host disconnects, 2 for a usage or configuration error."
    + _examples("agent serve -s fs -s calc", "agent serve --http 8765 -s calc"),
    agent_options=_serve_options(),
    output_options=("verbose",),
    own=[
        _own(
            "http",
            Annotated[
                str | None,
                typer.Option(
                    "--http",
                    metavar="HOST:PORT",
                    help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdio (PORT alone: "
                    "127.0.0.1; 0: any free port).",
                ),
            ],
            None,
        ),
        _own(
            "allow_remote",
            Annotated[
                bool,
                typer.Option("--allow-remote", help="Allow a non-loopback --http address (needs a token)."),
            ],
            False,
        ),
        _own(
            "token_env",
            Annotated[
                str,
                typer.Option(
                    "--token-env",
                    metavar="VAR",
                    help="The environment variable holding the bearer token HTTP clients must send.",
                ),
            ],
            "AGENT_SERVE_TOKEN",
        ),
        _own(
            "roots_from_host",
            Annotated[
                bool,
                typer.Option(
                    "--roots-from-host/--no-roots-from-host",
                    help="Narrow the bundled fs server to the host's roots in each run_task.",
                ),
            ],
            True,
        ),
    ],
)


sessions_app = typer.Typer(
    help="The sessions kept of every run: list, show, export, remove (carry one on with "
    "`agent run --continue` or `--resume ID`)."
    + _examples("agent sessions list --here", "agent sessions show 3f2a", "agent run --continue 'and then?'"),
    no_args_is_help=True,
)
app.add_typer(sessions_app, name="sessions")

from agent.cli.batch import batch_app  # noqa: E402 (a command group; its commands import on use)

app.add_typer(batch_app, name="batch")


@sessions_app.command("list")
def sessions_list(
    here: Annotated[bool, typer.Option("--here", help="Only sessions of the current directory.")] = False,
    limit: Annotated[int, typer.Option("--limit", help="Show at most N sessions.", min=1)] = 20,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON list.")] = False,
) -> None:
    """List sessions, the most recent first.

    Each row: the id (its start is enough to show, export or resume it), when, model, cost, first prompt.

    Examples:
      agent sessions list
      agent sessions list --here --limit 5 --json
    """
    from agent.cli.sessions import list_sessions

    raise typer.Exit(list_sessions(here=here, limit=limit, json_output=json_output))


@sessions_app.command("show")
def sessions_show(session: Annotated[str, typer.Argument(help="A session id, or the start of one.")]) -> None:
    """Show a session as a readable transcript.

    The messages as sent and received, tool calls and their results included.

    Example:
      agent sessions show 3f2a
    """
    from agent.cli.sessions import show

    raise typer.Exit(show(session))


@sessions_app.command("export")
def sessions_export(
    session: Annotated[str, typer.Argument(help="A session id, or the start of one.")],
    fmt: Annotated[
        str, typer.Option("--format", help="jsonl (records, as --transcript writes) or md.")
    ] = "jsonl",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to FILE, not stdout.")] = None,
) -> None:
    """Export a session: its messages exactly as sent, and its events.

    jsonl writes the records `--transcript` writes; md a readable transcript.

    Examples:
      agent sessions export 3f2a > session.jsonl
      agent sessions export 3f2a --format md -o session.md
    """
    from agent.cli.sessions import export

    raise typer.Exit(export(session, fmt=fmt, output=output))


@sessions_app.command("rm")
def sessions_rm(
    sessions: Annotated[list[str], typer.Argument(help="Session ids, or the start of each.")],
) -> None:
    """Remove sessions with everything stored of them.

    A removed session cannot be shown or carried on any more.

    Example:
      agent sessions rm 3f2a 9c01
    """
    from agent.cli.sessions import remove

    raise typer.Exit(remove(sessions))


@app.command()
def completion(
    shell: Annotated[str, typer.Argument(metavar="SHELL", help="bash, zsh or fish (also powershell, pwsh).")],
) -> None:
    """Print the shell completion script for SHELL (`agent --install-completion` installs it).

    Load it in your shell's start-up file, or write it where the shell looks for completions.

    Examples:
      agent completion bash > ~/.local/share/bash-completion/completions/agent
      agent completion zsh > "${fpath[1]}/_agent"
      agent completion fish > ~/.config/fish/completions/agent.fish
      agent --install-completion
    """
    from agent.cli.completion import script

    raise typer.Exit(script(shell))


def main(*, whole_process: bool = True) -> None:
    """Console-script entry point: a usage mistake is one line on stderr and exit code 2.

    ``whole_process`` says the process is ours alone (the console script), so start-up may
    tune it (freeze the start-up heap); tests running the CLI in-process pass ``False``.
    """
    from typer.exceptions import TyperException

    from agent.cli.terminal import install

    install()
    import agent.cli
    from agent.cli import style

    style.PLAIN = False  # until the root callback reads --plain (a process may run several commands)

    agent.cli.FREEZE_HEAP_AFTER_START = whole_process
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
            style.write_line(sys.stderr, f"error: {where}: {message} (see '{where} --help')")
        sys.exit(int(getattr(exc, "exit_code", 2)))
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
