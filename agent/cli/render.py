"""Renders run events for a person at a terminal: the answer on one stream, progress on another.

At a terminal the answer streams live; a part the run discards (a retry after the stream broke,
a turn handed to a fallback model) is marked where it stops. When the answer stream is not a
terminal (a pipe, a file), streamed text is held per turn and written once the turn's response
is final, so a discarded partial answer never reaches it.

A tool's progress is one line at a terminal, redrawn in place and replaced by the call's result
line; elsewhere (a pipe, a file) it is not shown. Server log messages are shown with
``verbose``; refused or declined server requests always (one warning line each). A tool call the
policy, the user or the approval hook refused is one line saying who and why, before the call's
own line; approvals are shown with ``verbose``.
"""

from __future__ import annotations

import os
import shutil
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO

from agent.cli.terminal import clean
from agent.errors import AgentError, ProviderError, ServerStartError
from agent.events import (
    ApprovalAnswered,
    ElicitationAnswered,
    Event,
    FallingBack,
    ModelResponded,
    Notice,
    ProtocolSwitched,
    ReasoningDelta,
    Retrying,
    RunFinished,
    RunStarted,
    SamplingFinished,
    ServerFailed,
    ServerLog,
    ServerStarted,
    TextDelta,
    ToolCallFinished,
    ToolProgress,
    ToolsRefreshFailed,
)
from agent.result import RunResult
from agent.text import one_line

if TYPE_CHECKING:
    from agent.providers.generation import GenerationLookup

__all__ = ["HumanRenderer", "describe_error", "fallback_note", "generation_line"]

_MAX_ARGS = 80
_MAX_ERROR = 160
_MAX_LINE = 1_000
_MAX_DETAIL = 2_000
_STDERR_LINES = 4
_MAX_PROGRESS = 100
_ERASE_LINE = "\r\x1b[K"
_DIM = "\x1b[2m"
_UNDIM = "\x1b[22m"


def describe_error(exc: AgentError, *, verbose: bool) -> list[str]:
    """The one line a user sees for ``exc``, plus details when ``verbose``."""
    lines = [f"error: {one_line(str(exc), _MAX_LINE)}"]
    if verbose and isinstance(exc, ProviderError):
        if exc.status is not None:
            lines.append(f"  status: {exc.status}")
        if exc.provider_name:
            lines.append(f"  provider: {one_line(exc.provider_name, _MAX_ARGS)}")
        if exc.raw:
            lines.append(f"  upstream: {one_line(exc.raw, _MAX_DETAIL)}")
    if isinstance(exc, ServerStartError) and exc.stderr_tail:
        lines.extend(_tail_line(line) for line in exc.stderr_tail.splitlines())
    return lines


def fallback_note(result: RunResult) -> str | None:
    """``note: answered by B (A was unavailable)`` when a fallback model gave the final answer."""
    tried = result.models_tried
    if result.error is not None or len(tried) < 2 or not result.model:
        return None
    answered = result.model
    if _same_model(answered, tried[0]):
        return None
    index = next((i for i, model in enumerate(tried) if _same_model(answered, model)), len(tried))
    before = tried[:index] or tried[:1]
    verb = "was" if len(before) == 1 else "were"
    return f"note: answered by {answered} ({', '.join(before)} {verb} unavailable)"


def generation_line(lookup: GenerationLookup) -> str:
    """``generation gen-…: provider P, model M, cost $0.0015, latency 812 ms, tokens 10 in, 5 out``."""
    stats = lookup.stats
    if stats is None:
        return clean(f"generation {one_line(lookup.id, 80)}: could not be looked up ({lookup.error})")
    parts = [
        f"provider {one_line(stats.provider_name or '?', _MAX_ARGS)}",
        f"model {one_line(stats.model or '?', _MAX_ARGS)}",
        f"cost {_exact_usd(stats.total_cost)}",
    ]
    if stats.cache_discount:
        parts.append(f"cache discount {_exact_usd(stats.cache_discount)}")
    if stats.latency is not None:
        timing = f" (generation {stats.generation_time:,.0f} ms)" if stats.generation_time is not None else ""
        parts.append(f"latency {stats.latency:,.0f} ms{timing}")
    prompt = stats.native_tokens_prompt if stats.native_tokens_prompt is not None else stats.tokens_prompt
    completion = (
        stats.native_tokens_completion
        if stats.native_tokens_completion is not None
        else stats.tokens_completion
    )
    if prompt is not None or completion is not None:
        tokens = f"tokens {_count(prompt)} in, {_count(completion)} out"
        extra = [
            f"{n:,} {what}"
            for n, what in (
                (stats.native_tokens_reasoning, "reasoning"),
                (stats.native_tokens_cached, "cached"),
            )
            if n
        ]
        parts.append(tokens + (f" ({', '.join(extra)})" if extra else ""))
    if stats.finish_reason:
        parts.append(f"finish {one_line(stats.finish_reason, 40)}")
    return clean(f"generation {one_line(lookup.id, 80)}: {', '.join(parts)}")


def _exact_usd(amount: float | None) -> str:
    """The amount as billed, every digit, never in exponent form (``$0.00001``)."""
    if amount is None:
        return "unknown"
    return f"${Decimal(repr(amount)):f}"


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _tail_line(line: str) -> str:
    """One line of a server's stderr, shortened, its indentation (a traceback's) kept."""
    line = line.expandtabs(4).rstrip()
    indent = min(len(line) - len(line.lstrip()), 16)
    return "  | " + " " * indent + one_line(line, _MAX_LINE)


def _same_model(answered: str, requested: str) -> bool:
    """OpenRouter may name the answering model more precisely (a dated version, no ``:variant``)."""
    base = requested.split(":", 1)[0]
    return answered in (requested, base) or answered.startswith(base + "-")


class HumanRenderer:
    """An :data:`~agent.events.EventSink` writing readable progress.

    Args:
        answer: where streamed answer text goes (stdout, or stderr when stdout is JSON).
        progress: where tool calls, warnings and errors go (stderr).
        verbose: also show server start-up, server logs, reasoning and error details.
        live: stream the answer as it arrives (default: when ``answer`` is a terminal);
            otherwise each turn's text is written once its response is final.
        progress_line: draw tools' progress on one line redrawn in place (default: when
            ``progress`` is a terminal).
    """

    def __init__(
        self,
        answer: TextIO,
        progress: TextIO,
        *,
        verbose: bool = False,
        live: bool | None = None,
        progress_line: bool | None = None,
    ) -> None:
        self.answer = answer
        self.progress = progress
        self.verbose = verbose
        self.live = _is_terminal(answer) if live is None else live
        self.progress_line = _is_terminal(progress) if progress_line is None else progress_line
        self._drawn = False
        """Whether a progress line is on the screen (the next line replaces it)."""
        self.streamed_text = False
        """Whether answer text was written: the caller then does not print the output again."""
        self._open_line = False
        self._turn_text: list[str] = []
        """Text streamed in the current turn: held back when not live, remembered when live."""
        self.show_reasoning = verbose or self.progress_line
        """Reasoning streams to the progress stream at a terminal (dimmed), elsewhere with verbose."""
        self.dim = self.progress_line and not os.environ.get("NO_COLOR")
        self._reasoning_open = False

    def _line(self, text: str) -> None:
        self.close_line()
        self.progress.write(text + "\n")
        self.progress.flush()

    def clear_progress(self) -> None:
        """Erase a progress line drawn at the terminal (before a question, say)."""
        if self._drawn:
            self._raw_progress(_ERASE_LINE)
            self._drawn = False

    def _raw_progress(self, text: str) -> None:
        # The only control sequences written are these; every text shown in them is cleaned.
        raw = getattr(self.progress, "raw", self.progress)
        raw.write(text)
        raw.flush()

    def _tool_progress(self, event: ToolProgress) -> None:
        if not self.progress_line:
            return
        done = f"{event.progress:g}/{event.total:g}" if event.total else f"{event.progress:g}"
        text = f"… {event.server}.{event.tool} {done}"
        if event.message:
            text += " " + event.message
        width = min(_MAX_PROGRESS, max(20, shutil.get_terminal_size().columns - 3))
        self.close_line()
        self._raw_progress(_ERASE_LINE + "  " + one_line(clean(text), width))
        self._drawn = True

    def __call__(self, event: Event) -> None:
        """Render one event."""
        if self._drawn and not isinstance(event, ToolProgress):
            self.clear_progress()
        if self._reasoning_open and not isinstance(event, ReasoningDelta):
            self._end_reasoning()
        if isinstance(event, TextDelta):
            self._text(event.text)
        elif isinstance(event, ReasoningDelta):
            self._reasoning(event.text)
        elif isinstance(event, ServerStarted):
            if self.verbose:
                self._line(f"· server {event.server}: {event.tools} tools ({event.duration_ms:.0f} ms)")
        elif isinstance(event, ServerFailed):
            self._line(f"warning: MCP server '{event.server}' is not available: {event.message}")
            tail = event.stderr_tail.splitlines()
            for line in tail if self.verbose else tail[-_STDERR_LINES:]:
                self._line(_tail_line(line))
        elif isinstance(event, RunStarted):
            if self.verbose:
                self._line(f"· model {event.model}, {event.tools} tools ({event.tool_protocol} tool calls)")
        elif isinstance(event, ModelResponded):
            self._write_turn()
            self._model_responded(event)
        elif isinstance(event, ToolCallFinished):
            call = event.call
            name = f"{call.server}.{call.tool}" if call.server else call.tool
            args = one_line(call.arguments, _MAX_ARGS)
            if call.is_error:
                outcome = "error: " + one_line(call.output, _MAX_ERROR)
                mark = "✗"
            else:
                outcome = f"ok, {len(call.output)} chars"
                mark = "✓"
            self._line(f"  {mark} {name} {args} ({call.duration_ms:.0f} ms) {outcome}")
        elif isinstance(event, Retrying):
            if not self._discard("retrying"):
                note = ""
            elif self.live:
                note = "; the partial answer above is discarded"
            else:
                note = "; the partial answer so far is discarded (not printed)"
            self._line(
                f"warning: {event.model}: {event.error} — retrying in {event.delay:.1f} s "
                f"(attempt {event.attempt + 1}){note}"
            )
        elif isinstance(event, FallingBack):
            self._discard(f"trying {event.to_model}")
            verb = "are" if ", " in event.from_model else "is"  # a routed chain names several
            self._line(
                f"warning: {event.from_model} {verb} unavailable ({event.error}); trying {event.to_model}"
            )
        elif isinstance(event, ProtocolSwitched):
            self._line(
                f"warning: {event.model} takes no native tool calls here; "
                f"continuing with the {event.tool_protocol} tool protocol"
            )
        elif isinstance(event, ToolProgress):
            self._tool_progress(event)
        elif isinstance(event, ApprovalAnswered):
            self._approval(event)
        elif isinstance(event, Notice):
            if event.level == "warning" or self.verbose:
                self._line(f"{event.level}: {event.message}")
        elif isinstance(event, ServerLog | ToolsRefreshFailed | SamplingFinished | ElicitationAnswered):
            self._server_side(event)
        elif isinstance(event, RunFinished):
            self._run_finished(event.result)

    def _approval(self, event: ApprovalAnswered) -> None:
        """``  ⊘ fs.write_file refused by policy: --deny fs.* matches it`` (approvals: verbose)."""
        name = one_line(f"{event.server}.{event.tool}", _MAX_ARGS)
        who = _APPROVERS[event.by]
        if event.decision == "deny":
            reason = f": {one_line(event.reason, _MAX_ERROR)}" if event.reason else ""
            self._line(f"  ⊘ {name} refused by {who}{reason}")
        elif self.verbose:
            scope = " for this session" if event.scope == "session" else ""
            self._line(f"· {name} approved by {who}{scope}")

    def _server_side(
        self, event: ServerLog | ToolsRefreshFailed | SamplingFinished | ElicitationAnswered
    ) -> None:
        """What servers said or asked for, and how it went."""
        server = f"MCP server '{event.server}'"
        if isinstance(event, ServerLog):
            if self.verbose:
                logger = f" {one_line(event.logger, _MAX_ARGS)}" if event.logger else ""
                self._line(f"· {event.server} [{event.level}]{logger}: {one_line(event.message, _MAX_LINE)}")
        elif isinstance(event, ToolsRefreshFailed):
            self._line(
                f"warning: {server} changed its tools, but listing them failed "
                f"({one_line(event.error, _MAX_ERROR)}); its {event.tools} known tools stay"
            )
        elif isinstance(event, SamplingFinished):
            if not event.approved:
                self._line(
                    f"warning: {server} asked for a model completion (sampling); "
                    f"refused: {one_line(event.error or '', _MAX_ERROR)}"
                )
            elif event.error is not None:
                self._line(f"warning: sampling for {server} failed: {one_line(event.error, _MAX_ERROR)}")
            elif self.verbose:
                usage = event.usage
                tokens = f", {usage.total_tokens} tokens" if usage is not None else ""
                cost = f", ${usage.cost:.6f}" if usage is not None and usage.cost is not None else ""
                self._line(f"· sampling for {event.server}: {event.model}{tokens}{cost}")
        elif event.reason is not None:
            self._line(f"warning: {server} asked for input; declined: {one_line(event.reason, _MAX_ERROR)}")
        elif self.verbose:
            self._line(f"· {event.server} asked for input: {event.action}")

    def _reasoning(self, text: str) -> None:
        if not self.show_reasoning or not text:
            return
        if not self._reasoning_open:
            self.close_line()
            self._reasoning_open = True
            if self.dim:
                self._raw_progress(_DIM)
        self.progress.write(text)
        self.progress.flush()

    def _end_reasoning(self) -> None:
        """Close streamed reasoning: back to normal intensity, on a new line."""
        self._reasoning_open = False
        if self.dim:
            self._raw_progress(_UNDIM)
        self.progress.write("\n")
        self.progress.flush()

    def close_line(self) -> None:
        """End a streamed answer line that is still open."""
        if self._open_line:
            self.answer.write("\n")
            self.answer.flush()
            self._open_line = False

    def _text(self, text: str) -> None:
        if not text:
            return
        self._turn_text.append(text)
        if self.live:
            self._write_answer(text)

    def _write_answer(self, text: str) -> None:
        self.answer.write(text)
        self.answer.flush()
        self.streamed_text = True
        self._open_line = not text.endswith("\n")

    def _write_turn(self) -> None:
        """The turn's response is final: write its held-back text (not live), start afresh."""
        if not self.live and self._turn_text:
            self._write_answer("".join(self._turn_text))
        self._turn_text = []

    def _discard(self, why: str) -> bool:
        """Drop the current turn's streamed text; at a terminal, mark where it stops."""
        if not self._turn_text:
            return False
        self._turn_text = []
        if self.live:
            self.close_line()
            self.answer.write(f"[partial answer discarded: {why}]\n")
            self.answer.flush()
        return True

    def _run_finished(self, result: RunResult) -> None:
        if result.error is None:
            self._write_turn()  # a limit (timeout, cost) stopped the turn: keep what arrived
        else:
            self._turn_text = []  # a failed turn's text is never an answer
        self.close_line()
        note = fallback_note(result)
        if note is not None:
            self._line(note)

    def _model_responded(self, event: ModelResponded) -> None:
        if self.verbose:
            usage = event.usage
            cost = f", ${usage.cost:.6f}" if usage.cost is not None else ""
            cache = [
                f"{count} {what}"
                for count, what in (
                    (usage.cached_tokens, "from cache"),
                    (usage.cache_write_tokens, "written to cache"),
                    (usage.reasoning_tokens, "reasoning"),
                )
                if count
            ]
            detail = f" ({', '.join(cache)})" if cache else ""
            self._line(
                f"· turn {event.turn}: {event.model}, {usage.total_tokens} tokens{detail}{cost}, "
                f"{event.duration_ms:.0f} ms"
            )
        if event.tool_calls and event.content and not self.streamed_text:
            self._line(event.content.strip())


_APPROVERS = {"user": "the user", "hook": "the approval hook", "policy": "policy", "flag": "--yes"}


def _is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):  # a closed or detached stream
        return False
