"""``agent compare PROMPT -m A -m B``: one task, the same MCP servers, several models side by side."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import anyio

from agent.cli.common import (
    Endpoint,
    check_choice,
    open_endpoint,
    read_prompt,
    remember_no_native_tools,
    resolve_servers,
    run_command,
    warn,
)
from agent.cli.exit_codes import EXIT_OK, exit_code_for
from agent.cli.render import HumanRenderer
from agent.cli.tables import format_cost, format_duration, text_table
from agent.cli.terminal import json_safe
from agent.errors import ConfigError
from agent.events import Event, Notice, ProtocolSwitched, Retrying, ToolCallFinished
from agent.result import RunResult

if TYPE_CHECKING:
    import httpx

    from agent.models.catalog import Catalog
    from agent.tools import Toolset

__all__ = ["CompareArgs", "compare_lines", "execute"]

_PROTOCOLS = ("auto", "native", "text")
_ANSWER_WIDTH = 100


@dataclass
class CompareArgs:
    """Everything ``agent compare`` was asked to do."""

    prompt: str
    models: list[str]
    provider: str | None = None
    servers: list[str] = field(default_factory=list)
    config: Path | None = None
    mcp_config: Path | None = None
    max_turns: int = 10
    timeout: float | None = None
    tool_timeout: float = 60.0
    protocol: str = "auto"
    system: str | None = None
    concurrency: int = 4
    json_output: bool = False
    verbose: bool = False


@dataclass
class _Entry:
    """One model's run."""

    model: str
    result: RunResult = field(default_factory=RunResult)


class _ModelEvents:
    """Shows one model's warnings (and, verbose, its tool calls) on stderr, tagged with the model."""

    def __init__(self, model: str, verbose: bool, remember: Callable[[str], None]) -> None:
        self.model = model
        self.verbose = verbose
        self.remember = remember

    def __call__(self, event: Event) -> None:
        tag = f"[{self.model}]"
        if isinstance(event, Notice):
            warn(f"{tag} {event.message}", level=event.level)
        elif isinstance(event, Retrying):
            warn(f"{tag} {event.error}; retrying in {event.delay:.1f} s")
        elif isinstance(event, ProtocolSwitched):
            warn(f"{tag} takes no native tool calls here; continuing with the text tool protocol")
            self.remember(event.model)
        elif isinstance(event, ToolCallFinished) and self.verbose:
            call = event.call
            mark = "✗" if call.is_error else "✓"
            sys.stderr.write(f"  {tag} {mark} {call.server}.{call.tool} ({call.duration_ms:.0f} ms)\n")


def _calls(result: RunResult) -> str:
    errors = sum(c.is_error for c in result.tool_calls)
    return f"{len(result.tool_calls)} ({errors} failed)" if errors else str(len(result.tool_calls))


def compare_lines(entries: Sequence[tuple[str, RunResult]]) -> list[str]:
    """The table on stdout (outcome, turns, tool calls, tokens, cost, time), then each answer's start."""
    headers = ["MODEL", "OUTCOME", "PROTOCOL", "TURNS", "TOOL CALLS", "TOKENS", "COST", "TIME"]
    rows = [
        [
            model,
            result.stop_reason,
            result.tool_protocol,
            str(result.turns),
            _calls(result),
            f"{result.usage.total_tokens:,}",
            format_cost(result.usage.cost),
            format_duration(result.duration_ms),
        ]
        for model, result in entries
    ]
    lines = [*text_table(headers, rows, right={3, 4, 5, 6, 7}), ""]
    width = max(len(model) for model, _ in entries)
    for model, result in entries:
        text = " ".join(result.output.split()) if result.output else ""
        if result.error is not None:
            text = f"error: {result.error.message}"
        if len(text) > _ANSWER_WIDTH:
            text = text[: _ANSWER_WIDTH - 1] + "…"
        lines.append(f"{model.ljust(width)}  {text or '(no answer)'}".rstrip())
    return lines


def execute(args: CompareArgs) -> int:
    """Compare as the CLI does and return the exit code."""
    return run_command(lambda: _main(args), verbose=args.verbose)


async def _main(args: CompareArgs) -> int:
    from agent.mcp.manager import McpManager
    from agent.models.resolution import load_catalog_or_note
    from agent.providers.openai_compat import create_http_client

    check_choice(args.protocol, _PROTOCOLS, "--protocol")
    models = list(dict.fromkeys(m.strip() for m in args.models))
    if not models or "" in models:
        raise ConfigError("give one or more models with -m/--model", source="--model")
    prompt = read_prompt(args.prompt)
    endpoint = open_endpoint(args.provider, args.config, interactive=not args.json_output)
    api_key = endpoint.provider.require_api_key()
    servers = resolve_servers(args.servers, args.mcp_config, endpoint.cwd, endpoint.env)
    entries = [_Entry(m) for m in models]
    renderer = HumanRenderer(sys.stderr, sys.stderr, verbose=args.verbose)
    async with (
        McpManager(servers, on_event=renderer) as manager,
        create_http_client(endpoint.provider.config.timeout_seconds) as http,
    ):
        catalog, note = await load_catalog_or_note(http, endpoint.base_url, api_key=api_key, env=endpoint.env)
        if note:
            warn(note)
        comparison = _Comparison(args, prompt, endpoint, api_key, http, manager, catalog)
        async with anyio.create_task_group() as tg:
            for entry in entries:
                tg.start_soon(comparison.run, entry)
    if args.json_output:
        objects = [{"requested_model": e.model, **e.result.model_dump(mode="json")} for e in entries]
        sys.stdout.write(json_safe(json.dumps(objects, ensure_ascii=False)) + "\n")
    else:
        sys.stdout.write("\n".join(compare_lines([(e.model, e.result) for e in entries])) + "\n")
    if any(e.result.stop_reason == "completed" for e in entries):
        return EXIT_OK
    return exit_code_for(entries[0].result)


@dataclass
class _Comparison:
    """What every model's run shares: the task, the endpoint, the HTTP client and the servers."""

    args: CompareArgs
    prompt: str
    endpoint: Endpoint
    api_key: str
    http: httpx.AsyncClient
    toolset: Toolset
    catalog: Catalog | None
    limiter: anyio.CapacityLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = anyio.CapacityLimiter(self.args.concurrency)

    def remember_no_native_tools(self, model: str) -> None:
        """Record a 404 "no tool endpoints", so later runs of ``model`` start on the text protocol."""
        remember_no_native_tools(self.endpoint.env, self.endpoint.base_url, model)

    async def run(self, entry: _Entry) -> None:
        """Run the task on ``entry.model`` (bounded by ``--concurrency``) and keep the result."""
        from agent.loop import RunOptions, run_agent
        from agent.models.resolution import resolve_model
        from agent.providers.factory import build_chat_model

        args, endpoint, config = self.args, self.endpoint, self.endpoint.provider.config
        events = _ModelEvents(entry.model, args.verbose, self.remember_no_native_tools)
        async with self.limiter:
            resolved = await resolve_model(
                self.http,
                base_url=endpoint.base_url,
                api_key=self.api_key,
                model=entry.model,
                env=endpoint.env,
                cwd=endpoint.cwd,
                config_dir=endpoint.config_dir,
                catalog=self.catalog,
            )
            if resolved.warning:
                warn(resolved.warning)
            protocol = resolved.capabilities.tool_protocol if args.protocol == "auto" else args.protocol
            options = RunOptions(
                max_turns=args.max_turns,
                timeout=args.timeout,
                tool_timeout=args.tool_timeout,
                system=args.system,
                protocol=cast(Literal["native", "text"], protocol),
                context_window=resolved.context_window(config.context_window),
                reserve_tokens=config.reserve_tokens,
            )
            model = build_chat_model(
                client=self.http,
                provider_name=endpoint.provider.provider_name,
                base_url=endpoint.base_url,
                api_key=self.api_key,
                model=entry.model,
                max_retries=config.max_retries,
                extra_headers=config.headers,
            )
            entry.result = result = await run_agent(
                model, self.toolset, self.prompt, options, on_event=events
            )
        turns, calls = _count(result.turns, "turn"), _count(len(result.tool_calls), "tool call")
        took = format_duration(result.duration_ms)
        warn(f"{entry.model}: {result.stop_reason}, {turns}, {calls} ({took})", level="info")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
