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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from agent.errors import ConfigError

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
    """

    names: tuple[str, ...]
    help: str
    config: str | None = None
    cli_type: Any = None
    metavar: str | None = None
    at_least: float | None = None
    above: float | None = None
    pairs: bool = False


def _flag(
    *names: str,
    help: str,
    config: str | None = None,
    cli_type: Any = None,
    metavar: str | None = None,
    at_least: float | None = None,
    above: float | None = None,
    pairs: bool = False,
) -> Flag:
    return Flag(names, help, config, cli_type, metavar, at_least, above, pairs)


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
        _flag("--max-cost", help="Stop a run once it has cost this many USD.", metavar="USD", above=0),
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
    server_log_level: Annotated[
        ServerLogLevel,
        _flag(
            "--server-log-level",
            help="The least severe MCP server log message to receive (shown with --verbose).",
            metavar="LEVEL",
            cli_type=str,
        ),
    ] = "info"


@dataclass(frozen=True, kw_only=True)
class OutputOptions:
    """How the CLI shows a run (not part of an agent: the library never prints)."""

    json_output: Annotated[bool, _flag("--json", help="Print one JSON result object on stdout.")] = False
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
    values = {
        key: _pairs(value, _where(key, as_flags=as_flags)) if flag_of(AgentOptions, key).pairs else value
        for key, value in values.items()
    }
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
    return options


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
