"""``agent compare PROMPT -m A -m B``: one task, the same MCP servers, several models side by side.

``--providers`` runs the task on each provider endpoint of each model instead, pinned to it: a
row per model and provider.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from agent.cli.common import read_prompt, run_command, warn
from agent.cli.exit_codes import EXIT_OK, exit_code_for
from agent.cli.options import split_values
from agent.cli.render import HumanRenderer
from agent.cli.style import styled
from agent.cli.tables import format_cost, format_duration, text_table, write_table
from agent.cli.terminal import json_safe
from agent.errors import ConfigError, ProviderError
from agent.events import (
    Event,
    ModelResponded,
    Notice,
    ProtocolSwitched,
    Retrying,
    ServerFailed,
    ServerStarted,
    ToolApprovalRequest,
    ToolCallFinished,
)
from agent.mcp.client_features import Refused
from agent.options import OutputOptions
from agent.result import RunResult
from agent.text import one_line

if TYPE_CHECKING:
    from agent.cli.boards import Board
    from agent.core.agent import Agent

__all__ = ["compare_lines", "execute"]

_ANSWER_WIDTH = 100


@dataclass
class _Entry:
    """One model's run (on one provider endpoint, with ``--providers``)."""

    model: str
    result: RunResult = field(default_factory=RunResult)
    provider: str | None = None
    provider_name: str | None = None

    @property
    def label(self) -> str:
        """``model``, or ``model @ provider`` when pinned."""
        return self.model if self.provider is None else f"{self.model} @ {self.provider}"


class _ModelEvents:
    """Shows one model's warnings (and, verbose, its tool calls) on stderr, tagged with the model.

    At a terminal its row of the live table says how far the run got.
    """

    def __init__(self, model: str, verbose: bool, board: Board | None = None) -> None:
        self.model = model
        self.verbose = verbose
        self.board = board
        self.turns = 0
        self.calls = 0

    def __call__(self, event: Event) -> None:
        if self.board is not None and isinstance(event, ModelResponded | ToolCallFinished):
            self.turns += isinstance(event, ModelResponded)
            self.calls += isinstance(event, ToolCallFinished)
            self.board.note(self.model, f"{_count(self.turns, 'turn')}, {_count(self.calls, 'tool call')}")
        tag = f"[{self.model}]"
        if isinstance(event, Notice):
            warn(f"{tag} {event.message}", level=event.level)
        elif isinstance(event, Retrying):
            warn(f"{tag} {event.error}; retrying in {event.delay:.1f} s")
        elif isinstance(event, ProtocolSwitched):
            warn(f"{tag} takes no native tool calls here; continuing with the text tool protocol")
        elif isinstance(event, ToolCallFinished) and self.verbose:
            call = event.call
            mark = "✗" if call.is_error else "✓"
            sys.stderr.write(f"  {tag} {mark} {call.server}.{call.tool} ({call.duration_ms:.0f} ms)\n")


def _calls(result: RunResult) -> str:
    errors = sum(c.is_error for c in result.tool_calls)
    return f"{len(result.tool_calls)} ({errors} failed)" if errors else str(len(result.tool_calls))


_HEADERS = ["MODEL", "OUTCOME", "PROTOCOL", "TURNS", "TOOL CALLS", "TOKENS", "COST", "TIME"]
_RIGHT = {3, 4, 5, 6, 7}


def _cells(model: str, result: RunResult) -> list[str]:
    return [
        model,
        result.stop_reason,
        result.tool_protocol,
        str(result.turns),
        _calls(result),
        f"{result.usage.total_tokens:,}",
        format_cost(result.usage.cost),
        format_duration(result.duration_ms),
    ]


def compare_lines(entries: Sequence[tuple[str, RunResult]]) -> list[str]:
    """The table on stdout (outcome, turns, tool calls, tokens, cost, time), then each answer's start."""
    rows = [_cells(model, result) for model, result in entries]
    lines = [*text_table(_HEADERS, rows, right=_RIGHT), ""]
    width = max(len(model) for model, _ in entries)
    for model, result in entries:
        text = f"error: {result.error.message}" if result.error is not None else result.output
        text = one_line(text, _ANSWER_WIDTH)
        lines.append(f"{model.ljust(width)}  {text or '(no answer)'}".rstrip())
    return lines


def execute(values: dict[str, Any]) -> int:
    """Compare as the CLI does and return the exit code."""
    agent_values, output_values, own = split_values(values)
    output = OutputOptions(**output_values)
    return run_command(lambda: _main(agent_values, output, own), verbose=output.verbose)


async def _main(agent_values: dict[str, Any], output: OutputOptions, own: dict[str, Any]) -> int:
    from agent.cli.trust import settle_project_trust
    from agent.core.agent import Agent
    from agent.options import parse_options

    models = list(dict.fromkeys(m.strip() for m in own["model_ids"] or []))
    if not models or "" in models:
        raise ConfigError("give one or more models with -m/--model", source="--model")
    prompt = read_prompt(own["prompt"])
    options = parse_options({**agent_values, "model": models[0], "stream": False}, as_flags=True)
    settle_project_trust(interactive=not output.json_output)
    renderer = HumanRenderer(sys.stderr, sys.stderr, verbose=output.verbose)

    def servers_and_notices(event: Event) -> None:  # each model's run events go to its own sink
        if isinstance(event, ServerStarted | ServerFailed | Notice):
            renderer(event)

    entries = [_Entry(m) for m in models]
    limiter = anyio.CapacityLimiter(own["concurrency"])

    async def no_questions(request: ToolApprovalRequest) -> bool:
        """Several models run at once: no one is asked about their tool calls."""
        raise Refused("agent compare does not ask (--yes or --approve-with CMD approves it)")

    agent = Agent(options, on_event=servers_and_notices, approve_tool=no_questions)
    renderer.waiting("starting")
    async with agent:
        renderer.clear_progress()
        if own["providers"]:
            entries = await _provider_entries(agent, models)
        board = _board(entries) if styled(sys.stderr) else None
        with board if board is not None else nullcontext():
            async with anyio.create_task_group() as tg:
                for entry in entries:
                    if entry.result.error is None:  # (a model whose endpoints could not be listed)
                        tg.start_soon(_run_one, agent, prompt, entry, limiter, output.verbose, board)
    if output.json_output:
        objects = [_json(e) for e in entries]
        sys.stdout.write(json_safe(json.dumps(objects, ensure_ascii=False)) + "\n")
    else:
        write_table(compare_lines([(e.label, e.result) for e in entries]))
    if any(e.result.stop_reason == "completed" for e in entries):
        return EXIT_OK
    return exit_code_for(entries[0].result)


def _board(entries: Sequence[_Entry]) -> Board:
    """The live table at a terminal: a row per model run, filled in when the run ends."""
    from agent.cli.boards import Board

    board = Board(sys.stderr, _HEADERS, right=_RIGHT)
    for entry in entries:
        board.add(entry.label, entry.label)
        if entry.result.error is not None:
            board.finish(entry.label, _cells(entry.label, entry.result))
    return board


async def _run_one(
    agent: Agent,
    prompt: str,
    entry: _Entry,
    limiter: anyio.CapacityLimiter,
    verbose: bool,
    board: Board | None = None,
) -> None:
    """Run the task on ``entry.model`` (bounded by ``--concurrency``) and keep the result."""
    async with limiter:
        if board is not None:
            board.start(entry.label, entry.label)
        entry.result = result = await agent.run(
            prompt,
            model=entry.model,
            pin_provider=entry.provider,
            on_event=_ModelEvents(entry.label, verbose, board),
        )
    if board is not None:
        board.finish(entry.label, _cells(entry.label, result))
        return
    turns, calls = _count(result.turns, "turn"), _count(len(result.tool_calls), "tool call")
    took = format_duration(result.duration_ms)
    warn(f"{entry.label}: {result.stop_reason}, {turns}, {calls} ({took})", level="info")


async def _provider_entries(agent: Agent, models: Sequence[str]) -> list[_Entry]:
    """An entry per provider endpoint of each model that takes tools (the others are named, not run)."""
    from agent.models.endpoints import fetch_endpoints

    endpoint = agent.endpoint
    catalog = agent.resolved.catalog if agent.resolved is not None else None
    entries: list[_Entry] = []
    for model in models:
        try:
            listed = await fetch_endpoints(
                agent.http, endpoint.base_url, model, api_key=endpoint.optional_key(), catalog=catalog
            )
        except ProviderError as exc:
            failed = _Entry(model)
            failed.result.fail(exc)
            entries.append(failed)
            continue
        if not listed.endpoints:
            warn(f"{model}: OpenRouter lists no provider endpoint for {listed.listed_as}")
        for found in listed.endpoints:
            if not found.supports_tools:
                warn(f"{model} @ {found.slug}: not run: the endpoint takes no tools", level="info")
                continue
            entries.append(_Entry(model, provider=found.slug, provider_name=found.label))
    if not entries:
        raise ConfigError("no provider endpoint of the models takes tools", source="--providers")
    return entries


def _json(entry: _Entry) -> dict[str, Any]:
    pinned = {"provider": entry.provider, "provider_name": entry.provider_name} if entry.provider else {}
    return {"requested_model": entry.model, **pinned, **entry.result.model_dump(mode="json")}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
