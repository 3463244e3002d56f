"""Renders run events for a person at a terminal: the answer on one stream, progress on another."""

from __future__ import annotations

import json
from typing import Any, TextIO

from agent.errors import AgentError, ProviderError, ServerStartError
from agent.events import (
    Event,
    FallingBack,
    ModelResponded,
    Notice,
    ProtocolSwitched,
    ReasoningDelta,
    Retrying,
    RunFinished,
    RunStarted,
    ServerFailed,
    ServerStarted,
    TextDelta,
    ToolCallFinished,
)

__all__ = ["HumanRenderer", "describe_error"]

_MAX_ARGS = 80
_MAX_ERROR = 160
_STDERR_LINES = 4


def _short(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_error(exc: AgentError, *, verbose: bool) -> list[str]:
    """The one line a user sees for ``exc``, plus details when ``verbose``."""
    lines = [f"error: {exc}"]
    if verbose and isinstance(exc, ProviderError):
        if exc.status is not None:
            lines.append(f"  status: {exc.status}")
        if exc.provider_name:
            lines.append(f"  provider: {exc.provider_name}")
        if exc.raw:
            lines.append(f"  upstream: {exc.raw}")
    if isinstance(exc, ServerStartError) and exc.stderr_tail:
        lines.extend("  | " + line for line in exc.stderr_tail.splitlines())
    return lines


class HumanRenderer:
    """An :data:`~agent.events.EventSink` writing readable progress.

    Args:
        answer: where streamed answer text goes (stdout, or stderr when stdout is JSON).
        progress: where tool calls, warnings and errors go (stderr).
        verbose: also show server start-up, reasoning and error details.
    """

    def __init__(self, answer: TextIO, progress: TextIO, *, verbose: bool = False) -> None:
        self.answer = answer
        self.progress = progress
        self.verbose = verbose
        self.streamed_text = False
        self._open_line = False

    def _line(self, text: str) -> None:
        if self._open_line:
            self.answer.write("\n")
            self.answer.flush()
            self._open_line = False
        self.progress.write(text + "\n")
        self.progress.flush()

    def __call__(self, event: Event) -> None:
        """Render one event."""
        if isinstance(event, TextDelta):
            self.answer.write(event.text)
            self.answer.flush()
            self.streamed_text = True
            self._open_line = not event.text.endswith("\n")
        elif isinstance(event, ReasoningDelta):
            if self.verbose:
                self.progress.write(event.text)
                self.progress.flush()
        elif isinstance(event, ServerStarted):
            if self.verbose:
                self._line(f"· server {event.server}: {event.tools} tools ({event.duration_ms:.0f} ms)")
        elif isinstance(event, ServerFailed):
            self._line(f"warning: MCP server '{event.server}' is not available: {event.message}")
            tail = event.stderr_tail.splitlines()
            for line in tail if self.verbose else tail[-_STDERR_LINES:]:
                self._line(f"  | {line}")
        elif isinstance(event, RunStarted):
            if self.verbose:
                self._line(f"· model {event.model}, {event.tools} tools ({event.tool_protocol} tool calls)")
        elif isinstance(event, ModelResponded):
            self._model_responded(event)
        elif isinstance(event, ToolCallFinished):
            call = event.call
            name = f"{call.server}.{call.tool}" if call.server else call.tool
            args = _short(call.arguments, _MAX_ARGS)
            if call.is_error:
                outcome = "error: " + _short(call.output, _MAX_ERROR)
                mark = "✗"
            else:
                outcome = f"ok, {len(call.output)} chars"
                mark = "✓"
            self._line(f"  {mark} {name} {args} ({call.duration_ms:.0f} ms) {outcome}")
        elif isinstance(event, Retrying):
            discarded = "; the partial answer above is discarded" if event.discarded_partial else ""
            self._line(
                f"warning: {event.model}: {event.error} — retrying in {event.delay:.1f} s "
                f"(attempt {event.attempt + 1}){discarded}"
            )
        elif isinstance(event, FallingBack):
            self._line(f"warning: {event.from_model} is unavailable ({event.error}); trying {event.to_model}")
        elif isinstance(event, ProtocolSwitched):
            self._line(
                f"warning: {event.model} takes no native tool calls here; "
                f"continuing with the {event.tool_protocol} tool protocol"
            )
        elif isinstance(event, Notice):
            if event.level == "warning" or self.verbose:
                self._line(f"{event.level}: {event.message}")
        elif isinstance(event, RunFinished):
            self.close_line()

    def close_line(self) -> None:
        """End a streamed answer line that is still open."""
        if self._open_line:
            self.answer.write("\n")
            self.answer.flush()
            self._open_line = False

    def _model_responded(self, event: ModelResponded) -> None:
        if self.verbose:
            cost = f", ${event.usage.cost:.6f}" if event.usage.cost is not None else ""
            self._line(
                f"· turn {event.turn}: {event.model}, {event.usage.total_tokens} tokens{cost}, "
                f"{event.duration_ms:.0f} ms"
            )
        if event.tool_calls and event.content and not self.streamed_text:
            self._line(event.content.strip())
