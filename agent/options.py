"""Every option of an agent, declared once: its type, default, help, CLI flag and config key.

:class:`AgentOptions` is the table. Each option's :class:`Flag` metadata names its CLI flags, its
help text and, where the provider file supplies the default, the config key. The typer
commands (``agent run``, ``query``, ``compare``, ``probe``) build their flags from it
(:func:`agent.cli.options.command`), and :class:`agent.Agent` takes the same names as keyword
arguments, validated here: a wrong value is one :class:`~agent.errors.ConfigError` line
naming the flag (or the keyword).
"""

import dataclasses
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from agent.errors import ConfigError
from agent.policy import ApprovalMode, check_tool_glob

__all__ = [
    "AgentOptions",
    "Flag",
    "OutputOptions",
    "flag_of",
    "option_default",
    "option_names",
    "option_type",
    "parse_options",
]

ToolChoiceOption = Literal["auto", "required", "none"]
ProtocolOption = Literal["auto", "native", "text"]
ProviderSortOption = Literal["price", "throughput", "latency", "exacto"]
DataCollectionOption = Literal["allow", "deny"]
ReasoningEffortOption = Literal["minimal", "low", "medium", "high", "xhigh", "max", "none"]
ServerLogLevel = Literal["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]


@dataclass(frozen=True)
class Flag:
    """How one option appears on the command line (and where its default comes from).

    Attributes:
        names: the flags, e.g. ``("-m", "--model")``; a ``--x/--no-x`` pair for booleans.
        help: one line for ``--help``.
        config: the provider-file key (under ``config:``) that supplies the default when the
            option is not given, if any.
        cli_type: the type typer parses, when it differs from the field's (e.g. a path where
            the API also takes a mapping).
        metavar: how the value is shown in ``--help``.
        at_least: the smallest value allowed, if bounded.
        above: the value must be greater than this, if bounded.
        pairs: the flag is repeated as ``NAME=VALUE``; the option is the mapping they make.
        check: checks each value (each item of a list) after validation; its ``ValueError``
            message says what was expected.
        commas: a list option whose values may also be given comma-separated (``--only a,b``).
        convert: turns the value as given (a flag's text) into the option's value before
            validation; its ``ValueError`` message says what was expected.
    """

    names: tuple[str, ...]
    help: str
    config: str | None = None
    cli_type: Any = None
    metavar: str | None = None
    at_least: float | None = None
    above: float | None = None
    pairs: bool = False
    check: Callable[[Any], Any] | None = None
    commas: bool = False
    convert: Callable[[Any], Any] | None = None


def _flag(
    *names: str,
    help: str,
    config: str | None = None,
    cli_type: Any = None,
    metavar: str | None = None,
    at_least: float | None = None,
    above: float | None = None,
    pairs: bool = False,
    check: Callable[[Any], Any] | None = None,
    commas: bool = False,
    convert: Callable[[Any], Any] | None = None,
) -> Flag:
    return Flag(names, help, config, cli_type, metavar, at_least, above, pairs, check, commas, convert)


@dataclass(frozen=True, kw_only=True)
class AgentOptions:
    """What an agent is: its provider and model, its MCP servers, and the limits of each run.

    A plain dataclass (importing it costs ``agent --help`` nothing); :func:`parse_options`
    validates values against it with pydantic.
    """

    model: Annotated[
        str | None,
        _flag(
            "-m", "--model", help="Model id (default: the provider's default_model).", config="default_model"
        ),
    ] = None
    provider: Annotated[
        str | None, _flag("-p", "--provider", help="Provider name (default: openrouter).")
    ] = None
    config: Annotated[Path | None, _flag("--config", help="Provider file or config directory.")] = None
    servers: Annotated[
        list[str],
        _flag(
            "-s",
            "--server",
            help="MCP server: a name from the MCP config, a bundled server (fs, fs:DIR, sqlite:DB, calc), "
            "a command line, or an http(s) URL. Repeatable. Default: every enabled server of the MCP config.",
        ),
    ] = field(default_factory=list)
    mcp_config: Annotated[
        Path | dict[str, Any] | None,
        _flag("--mcp-config", help="MCP servers file (mcpServers JSON/YAML).", cli_type=Path | None),
    ] = None
    no_servers: Annotated[bool, _flag("--no-servers", help="Attach no MCP servers.")] = False
    strict_servers: Annotated[
        bool, _flag("--strict-servers", help="Fail (exit 1) when an MCP server does not start.")
    ] = False
    fallbacks: Annotated[
        list[str],
        _flag(
            "--fallback",
            help="A model to hand the turn to when the model is unavailable. Repeatable.",
            config="fallback_models",
        ),
    ] = field(default_factory=list)
    provider_order: Annotated[
        list[str],
        _flag(
            "--provider-order",
            help="OpenRouter: try these providers first, in order (A,B or repeated).",
            metavar="A,B",
            config="provider.order",
            commas=True,
        ),
    ] = field(default_factory=list)
    provider_only: Annotated[
        list[str],
        _flag(
            "--only",
            help="OpenRouter: route only to these providers (A,B or repeated).",
            metavar="A,B",
            config="provider.only",
            commas=True,
        ),
    ] = field(default_factory=list)
    provider_ignore: Annotated[
        list[str],
        _flag(
            "--ignore",
            help="OpenRouter: never route to these providers (A,B or repeated).",
            metavar="A,B",
            config="provider.ignore",
            commas=True,
        ),
    ] = field(default_factory=list)
    provider_sort: Annotated[
        ProviderSortOption | None,
        _flag(
            "--sort",
            help="OpenRouter: pick providers by price, throughput, latency or exacto (tool-call quality).",
            metavar="BY",
            config="provider.sort",
            cli_type=str | None,
        ),
    ] = None
    max_price: Annotated[
        dict[str, float] | None,
        _flag(
            "--max-price",
            help="OpenRouter: only providers at most this USD per million prompt and completion tokens.",
            metavar="PROMPT,COMPLETION",
            config="provider.max_price",
            cli_type=str | None,
            convert=lambda value: _price_pair(value),
        ),
    ] = None
    allow_fallbacks: Annotated[
        bool | None,
        _flag(
            "--allow-fallbacks/--no-allow-fallbacks",
            help="OpenRouter: whether other providers may serve the request when the chosen ones fail.",
            config="provider.allow_fallbacks",
        ),
    ] = None
    data_collection: Annotated[
        DataCollectionOption | None,
        _flag(
            "--data-collection",
            help="OpenRouter: deny skips providers that store or train on your data.",
            metavar="allow|deny",
            config="provider.data_collection",
            cli_type=str | None,
        ),
    ] = None
    zdr: Annotated[
        bool,
        _flag("--zdr", help="OpenRouter: only zero-data-retention endpoints.", config="provider.zdr"),
    ] = False
    quantizations: Annotated[
        list[str],
        _flag(
            "--quantizations",
            help="OpenRouter: only providers serving these quantizations (fp8,bf16...).",
            metavar="Q,Q",
            config="provider.quantizations",
            commas=True,
        ),
    ] = field(default_factory=list)
    reasoning_effort: Annotated[
        ReasoningEffortOption | None,
        _flag(
            "--reasoning-effort",
            help="How hard a reasoning model thinks: minimal, low, medium, high, xhigh, max or none.",
            metavar="EFFORT",
            config="reasoning.effort",
            cli_type=str | None,
        ),
    ] = None
    reasoning_max_tokens: Annotated[
        int | None,
        _flag(
            "--reasoning-max-tokens",
            help="The most tokens a reasoning model may think with (instead of an effort).",
            metavar="N",
            config="reasoning.max_tokens",
            at_least=1,
        ),
    ] = None
    reasoning_exclude: Annotated[
        bool,
        _flag(
            "--reasoning-exclude",
            help="Let the model reason, but do not send its reasoning back.",
            config="reasoning.exclude",
        ),
    ] = False
    schema: Annotated[
        str | dict[str, Any] | None,
        _flag(
            "--schema",
            help="Structured output: the answer must be JSON matching this JSON Schema (a file, or the "
            "schema itself); --json carries it as data.",
            metavar="FILE|JSON",
            cli_type=str | None,
        ),
    ] = None
    prompt_cache: Annotated[
        bool,
        _flag(
            "--cache/--no-cache",
            help="Mark the system prompt and tools as cacheable for models that need it (Anthropic, "
            "Gemini), and keep a run on one provider (session_id) so caches stay warm.",
            config="prompt_cache",
        ),
    ] = True
    auto_fallback: Annotated[
        bool,
        _flag(
            "--auto-fallback",
            help="When OpenRouter says the model is unavailable and names fallback models, use them.",
            config="auto_fallback",
        ),
    ] = False
    retries: Annotated[
        int | None,
        _flag(
            "--retries",
            help="Retries per model (default: the provider's max_retries).",
            config="max_retries",
            at_least=0,
        ),
    ] = None
    max_turns: Annotated[int, _flag("--max-turns", help="Stop after this many model turns.", at_least=1)] = 20
    max_cost: Annotated[
        float | None,
        _flag(
            "--max-cost",
            help="Stop a run before a request that could take its cost over USD "
            "(after it, when the model's price is unknown).",
            metavar="USD",
            above=0,
        ),
    ] = None
    max_total_tokens: Annotated[
        int | None,
        _flag(
            "--max-tokens",
            help="Stop a run before a request that could take its tokens (prompt and completion, "
            "all turns) over N.",
            metavar="N",
            at_least=1,
        ),
    ] = None
    timeout: Annotated[
        float | None,
        _flag("--timeout", help="Stop the whole run after SECONDS.", metavar="SECONDS", above=0),
    ] = None
    tool_timeout: Annotated[
        float,
        _flag("--tool-timeout", help="Cancel a tool call after SECONDS.", metavar="SECONDS", above=0),
    ] = 60.0
    stream: Annotated[bool, _flag("--stream/--no-stream", help="Stream the answer as it is written.")] = True
    system: Annotated[str | None, _flag("--system", help="System prompt.")] = None
    tool_choice: Annotated[
        ToolChoiceOption | None,
        _flag("--tool-choice", help="auto, required (first turn only) or none.", cli_type=str | None),
    ] = None
    protocol: Annotated[
        ProtocolOption,
        _flag(
            "--protocol",
            help="Tool calls: native, text (in the prompt), or auto (native where supported).",
            cli_type=str,
        ),
    ] = "auto"
    max_tool_output: Annotated[
        int | None,
        _flag(
            "--max-tool-output",
            help="Cut a tool result to CHARS characters (default 100000).",
            metavar="CHARS",
            at_least=1,
        ),
    ] = None
    resources: Annotated[
        list[str],
        _flag(
            "--resource",
            help="Add an MCP resource to the conversation, before the prompt: SERVER:URI. Repeatable.",
            metavar="SERVER:URI",
        ),
    ] = field(default_factory=list)
    server_prompt: Annotated[
        str | None,
        _flag(
            "--prompt",
            help="Start from an MCP server's prompt: SERVER:NAME. Its messages open the conversation; "
            "PROMPT, if given, follows them.",
            metavar="SERVER:NAME",
        ),
    ] = None
    prompt_args: Annotated[
        dict[str, str],
        _flag(
            "--arg",
            help="An argument of the --prompt prompt: NAME=VALUE. Repeatable.",
            metavar="NAME=VALUE",
            cli_type=list[str],
            pairs=True,
        ),
    ] = field(default_factory=dict)
    roots: Annotated[
        list[str],
        _flag(
            "--root",
            help="A directory MCP servers may work in (offered as a root). Repeatable. "
            "Default: the working directory.",
            metavar="DIR",
        ),
    ] = field(default_factory=list)
    allow_sampling: Annotated[
        bool,
        _flag(
            "--allow-sampling",
            help="Let MCP servers ask the model for completions (sampling) without asking first.",
        ),
    ] = False
    allow: Annotated[
        list[str],
        _flag(
            "--allow",
            help="Only let tools matching this SERVER.TOOL glob run (fs.*, *.read_*). Repeatable. "
            "Allowing does not approve.",
            metavar="GLOB",
            check=check_tool_glob,
        ),
    ] = field(default_factory=list)
    deny: Annotated[
        list[str],
        _flag(
            "--deny",
            help="Refuse tools matching this SERVER.TOOL glob (fs.write_*, *.delete_*). Repeatable.",
            metavar="GLOB",
            check=check_tool_glob,
        ),
    ] = field(default_factory=list)
    approval: Annotated[
        ApprovalMode,
        _flag(
            "--approval",
            help="Which tool calls need approval: destructive (tools that may change or delete data), "
            "strict (every tool not annotated read-only) or off.",
            metavar="MODE",
            cli_type=str,
        ),
    ] = "destructive"
    yes: Annotated[
        bool,
        _flag("-y", "--yes", help="Approve every tool call that needs approval, without asking."),
    ] = False
    approve_with: Annotated[
        str | None,
        _flag(
            "--approve-with",
            help="Ask this command whether a tool call may run: the call as JSON on stdin, "
            "allow or deny on stdout (see README).",
            metavar="CMD",
        ),
    ] = None
    server_log_level: Annotated[
        ServerLogLevel,
        _flag(
            "--server-log-level",
            help="The least severe MCP server log message to receive (shown with --verbose).",
            metavar="LEVEL",
            cli_type=str,
        ),
    ] = "info"
    otel: Annotated[
        bool,
        _flag(
            "--otel",
            help="Send OpenTelemetry spans of the run over OTLP/HTTP (to OTEL_EXPORTER_OTLP_ENDPOINT, "
            "else localhost:4318); on by itself when that variable is set. Needs the otel extra.",
        ),
    ] = False
    otel_content: Annotated[
        bool,
        _flag(
            "--otel-content",
            help="Put tool arguments and results in the spans (also "
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true).",
        ),
    ] = False
    record: Annotated[
        Path | None,
        _flag(
            "--record",
            help="Write the run's model exchanges and tool calls to FILE, to replay it later.",
            metavar="FILE",
        ),
    ] = None
    replay: Annotated[
        Path | None,
        _flag(
            "--replay",
            help="Answer the model's requests from FILE (made with --record): offline, no key needed. "
            "A request that differs from the recording stops the run, naming the difference.",
            metavar="FILE",
        ),
    ] = None
    replay_tools: Annotated[
        bool, _flag("--replay-tools", help="With --replay, answer tool calls from the recording too.")
    ] = False
    no_session: Annotated[
        bool, _flag("--no-session", help="Store nothing: the run is not kept as a session.")
    ] = False
    continue_session: Annotated[
        bool,
        _flag(
            "-c", "--continue", help="Carry on the last session of this directory, with its whole history."
        ),
    ] = False
    resume: Annotated[
        str | None,
        _flag(
            "--resume",
            help="Carry on session ID (or the start of its id), with its whole history.",
            metavar="ID",
        ),
    ] = None
    transcript: Annotated[
        Path | None,
        _flag(
            "--transcript",
            help="Write the run's messages and events to FILE as JSON lines, as they happen.",
            metavar="FILE",
        ),
    ] = None


@dataclass(frozen=True, kw_only=True)
class OutputOptions:
    """How the CLI shows a run (not part of an agent: the library never prints)."""

    json_output: Annotated[bool, _flag("--json", help="Print one JSON result object on stdout.")] = False
    events: Annotated[
        bool,
        _flag(
            "--events",
            help="Print the run's events on stdout, one JSON object per line (docs/events.md); "
            "the last, run_finished, carries the --json result.",
        ),
    ] = False
    verbose: Annotated[bool, _flag("-v", "--verbose", help="Show details: servers, usage, raw errors.")] = (
        False
    )


OptionTable = type[AgentOptions] | type[OutputOptions]


def option_names(table: OptionTable) -> tuple[str, ...]:
    """The option names of ``table``, in declaration order."""
    return tuple(f.name for f in dataclasses.fields(table))


def _hints(table: OptionTable) -> dict[str, Any]:
    # Real annotations (this module does not defer them), so nothing is evaluated from strings.
    return {item.name: item.type for item in dataclasses.fields(table)}


def option_type(table: OptionTable, name: str) -> Any:
    """The value type of option ``name`` (its annotation without the metadata)."""
    return typing.get_args(_hints(table)[name])[0]


def option_default(table: OptionTable, name: str) -> Any:
    """The default of option ``name``."""
    item = next(f for f in dataclasses.fields(table) if f.name == name)
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    return item.default


def flag_of(table: OptionTable, name: str) -> Flag:
    """The :class:`Flag` of option ``name`` of ``table``."""
    for item in typing.get_args(_hints(table)[name])[1:]:
        if isinstance(item, Flag):
            return item
    raise KeyError(f"{table.__name__}.{name} has no Flag")


_ADAPTERS: dict[str, Any] = {}


def _adapter() -> Any:
    """The pydantic validator of :class:`AgentOptions`, built once (building it costs milliseconds)."""
    adapter = _ADAPTERS.get("options")
    if adapter is None:
        from pydantic import TypeAdapter

        adapter = _ADAPTERS["options"] = TypeAdapter(AgentOptions)
    return adapter


def parse_options(values: dict[str, Any], *, as_flags: bool = False) -> AgentOptions:
    """Validate ``values`` into :class:`AgentOptions`; the first problem is one ConfigError line.

    Args:
        values: option name -> value (keyword arguments, or parsed flags).
        as_flags: name the problem by its CLI flag (``--max-turns``) rather than the keyword.
    """
    from pydantic import ValidationError

    names = option_names(AgentOptions)
    unknown = [key for key in values if key not in names]
    if unknown:
        raise ConfigError(f"unknown option {unknown[0]!r}; expected one of: {', '.join(names)}")
    values = {key: _given(key, value, as_flags=as_flags) for key, value in values.items()}
    try:
        options: AgentOptions = _adapter().validate_python(values)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        name = str(first["loc"][0]) if first["loc"] else ""
        where = name
        if as_flags and name in names:
            where = flag_of(AgentOptions, name).names[-1].split("/")[0]
        from agent.config.files import describe_error

        raise ConfigError(describe_error(first, None), source=where or None) from None
    for name in values:
        _check_bounds(name, getattr(options, name), as_flags=as_flags)
        _check_values(name, getattr(options, name), as_flags=as_flags)
    return options


def _given(name: str, value: Any, *, as_flags: bool) -> Any:
    """A value as given, made ready for validation: pairs, comma lists and conversions."""
    flag = flag_of(AgentOptions, name)
    if flag.pairs:
        return _pairs(value, _where(name, as_flags=as_flags))
    if flag.commas and isinstance(value, list | tuple):
        return [part.strip() for item in value for part in str(item).split(",") if part.strip()]
    if flag.convert is not None and value is not None:
        try:
            return flag.convert(value)
        except ValueError as exc:
            raise ConfigError(f"{exc}, got {value!r}", source=_where(name, as_flags=as_flags)) from None
    return value


def _price_pair(value: Any) -> Any:
    """``"1,2"`` (USD per million prompt and completion tokens) as ``{"prompt": 1, "completion": 2}``.

    A mapping is taken as given (validated later); one number caps both.
    """
    if not isinstance(value, str):
        return value
    parts = [part.strip() for part in value.split(",")]
    if len(parts) not in (1, 2) or not all(parts):
        raise ValueError("expected PROMPT,COMPLETION in USD per million tokens, e.g. 1,2")
    try:
        prices = [float(part) for part in parts]
    except ValueError:
        raise ValueError("expected PROMPT,COMPLETION in USD per million tokens, e.g. 1,2") from None
    if any(not price >= 0 or price == float("inf") for price in prices):
        raise ValueError("expected prices that are not negative")
    return {"prompt": prices[0], "completion": prices[-1]}


def _where(name: str, *, as_flags: bool) -> str:
    """How a problem with option ``name`` is located: its CLI flag, or the keyword."""
    return flag_of(AgentOptions, name).names[-1].split("/")[0] if as_flags else name


def _pairs(value: Any, where: str) -> Any:
    """Repeated ``NAME=VALUE`` values as a mapping (None as an empty one; a mapping as given)."""
    if value is None:
        return {}
    if not isinstance(value, list | tuple):
        return value
    pairs: dict[str, Any] = {}
    for item in value:
        name, equals, text = str(item).partition("=")
        if not equals or not name.strip():
            raise ConfigError(f"expected NAME=VALUE, got {item!r}", source=where)
        pairs[name.strip()] = text
    return pairs


def _check_values(name: str, value: Any, *, as_flags: bool) -> None:
    """Run the option's own check over its value (each item of a list)."""
    check = flag_of(AgentOptions, name).check
    if check is None:
        return
    for item in value if isinstance(value, list) else [value]:
        try:
            check(item)
        except ValueError as exc:
            raise ConfigError(f"{exc}, got {item!r}", source=_where(name, as_flags=as_flags)) from None


def _check_bounds(name: str, value: Any, *, as_flags: bool) -> None:
    flag = flag_of(AgentOptions, name)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return
    where = flag.names[-1].split("/")[0] if as_flags else name
    shown = int(value) if isinstance(value, float) and value.is_integer() else value
    if flag.at_least is not None and value < flag.at_least:
        raise ConfigError(f"expected a number at least {flag.at_least:g}, got {shown}", source=where)
    if flag.above is not None and value <= flag.above:
        raise ConfigError(f"expected a number greater than {flag.above:g}, got {shown}", source=where)
