"""Renders run events for a person at a terminal: the answer on one stream, progress on another.

At a terminal the answer streams live; a part the run discards (a retry after the stream broke,
a turn handed to a fallback model) is marked where it stops. When the answer stream is not a
terminal (a pipe, a file), streamed text is held per turn and written once the turn's response
is final, so a discarded partial answer never reaches it.

At a styled terminal (:mod:`agent.cli.style`) a spinner says what is awaited and for how long
(the model's first token, servers starting, running tools with their progress messages), the
answer is drawn as Markdown (:mod:`agent.cli.markdown_stream`), lines are coloured, errors are
red with a hint, and a footer sums the run up; drawing is :mod:`agent.cli.screen`'s. Unstyled
(``rich=False``), a tool's progress is one line redrawn in place and replaced by the call's
result line; elsewhere (a pipe, a file) it is not shown. Server log messages are shown with
``verbose``; refused or declined server requests always (one warning line each). A tool call the
policy, the user or the approval hook refused is one line saying who and why, before the call's
own line; approvals are shown with ``verbose``.
"""

from __future__ import annotations

import shutil
import sys
from decimal import Decimal
from typing import TYPE_CHECKING, TextIO

from agent.cli.style import is_terminal, plain_wanted, styled
from agent.cli.terminal import clean
from agent.errors import (
    AgentError,
    AuthenticationError,
    ConfigError,
    InsufficientCreditsError,
    ModelNotFoundError,
    NoToolEndpointsError,
    ProviderError,
    RateLimitError,
    ServerStartError,
)
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
    ToolCallStarted,
    ToolProgress,
    ToolsRefreshFailed,
    TurnStarted,
)
from agent.result import RunResult
from agent.text import one_line

if TYPE_CHECKING:
    from agent.cli.screen import Screen
    from agent.providers.generation import GenerationLookup

__all__ = ["HumanRenderer", "describe_error", "fallback_note", "generation_line", "hint_for", "show_error"]

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


_HINTS: tuple[tuple[type[AgentError], str, str], ...] = (
    (
        AuthenticationError,
        "agent key",
        "`agent key` asks the endpoint about the key; `agent init` sets up another",
    ),
    (InsufficientCreditsError, "agent key", "`agent key` shows the credits used and what is left"),
    (NoToolEndpointsError, "agent models --tools", "`agent models --tools` lists the models that take tools"),
    (ModelNotFoundError, "agent models --search", "`agent models --search WORD` finds the model's id"),
    (RateLimitError, "agent key", "`agent key` shows the key's rate limits"),
    (
        ServerStartError,
        "agent servers",
        "`agent servers` shows each server's status (--verbose: its stderr)",
    ),
)


def hint_for(exc: AgentError) -> str | None:
    """The next step for ``exc`` (``agent key`` for a 402...), unless its message already names it."""
    message = str(exc)
    if isinstance(exc, ConfigError) and "no API key" in message:
        return None if "agent init" in message else "`agent init` stores a key (or set it in the environment)"
    for kind, command, hint in _HINTS:
        if isinstance(exc, kind):
            return None if command in message else hint
    return None


def show_error(exc: AgentError, *, verbose: bool, stream: TextIO | None = None) -> None:
    """Write ``exc`` for the user: the lines of :func:`describe_error`.

    At a terminal the first is red, and a ``hint:`` line follows where there is a useful next
    step (see :func:`hint_for`); elsewhere the lines are plain and there is no hint.
    """
    out = sys.stderr if stream is None else stream
    lines = describe_error(exc, verbose=verbose)
    if not styled(out):
        for line in lines:
            out.write(line + "\n")
        out.flush()
        return
    from agent.cli.screen import console_for, draw, styled_line

    console = console_for(out)
    draw(console, styled_line(lines[0], "bold red"))
    for line in lines[1:]:
        draw(console, styled_line(line, "dim"))
    hint = hint_for(exc)
    if hint is not None:
        draw(console, styled_line(f"hint: {hint}", "cyan"))


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

    At a terminal (unless ``--plain``, ``NO_COLOR`` or ``TERM=dumb``) the output is styled: a
    spinner with the time elapsed while the model or a tool is awaited, the answer drawn as
    Markdown as it streams, tool calls as coloured lines (with ``verbose``, their output folded
    to a few lines), errors in red. Elsewhere it is plain text, the same bytes whatever the stream.

    Args:
        answer: where streamed answer text goes (stdout, or stderr when stdout is JSON).
        progress: where tool calls, warnings and errors go (stderr).
        verbose: also show server start-up, server logs, reasoning and error details.
        live: stream the answer as it arrives (default: when ``answer`` is a terminal);
            otherwise each turn's text is written once its response is final.
        progress_line: draw tools' progress on one line redrawn in place, when not styled
            (default: when ``progress`` is a terminal and plain text is not wanted).
        rich: draw styled output (default: per stream, see :func:`agent.cli.style.styled`).
        footer: write the usage footer in :meth:`finish` (default: when ``progress`` is styled,
            or with ``verbose``).
    """

    def __init__(
        self,
        answer: TextIO,
        progress: TextIO,
        *,
        verbose: bool = False,
        live: bool | None = None,
        progress_line: bool | None = None,
        rich: bool | None = None,
        footer: bool | None = None,
    ) -> None:
        self.answer = answer
        self.progress = progress
        self.verbose = verbose
        self.live = is_terminal(answer) if live is None else live
        self.styled = styled(progress) if rich is None else rich
        """Whether progress (spinner, tool lines, warnings, errors) is drawn styled."""
        self.styled_answer = self.live and (styled(answer) if rich is None else rich)
        """Whether the streamed answer is drawn as Markdown."""
        if progress_line is None:
            progress_line = is_terminal(progress) and not plain_wanted()
        self.progress_line = progress_line
        self.footer = (self.styled or verbose) if footer is None else footer
        self._drawn = False
        """Whether a progress line is on the screen (the next line replaces it)."""
        self.streamed_text = False
        """Whether answer text was written: the caller then does not print the output again."""
        self._open_line = False
        self._turn_text: list[str] = []
        """Text streamed in the current turn: held back when not live, remembered when live."""
        self.show_reasoning = verbose or is_terminal(progress)
        """Reasoning streams to the progress stream at a terminal (dimmed), elsewhere with verbose."""
        self.dim = self.progress_line and not plain_wanted()
        self._reasoning_open = False
        self._model = ""
        """The model the run is waiting for (named by the spinner)."""
        self._running: dict[str, str] = {}
        """Tool calls running, by call id: what the spinner says of each."""
        self._screen: Screen | None = None
        if self.styled or self.styled_answer:
            from agent.cli.screen import Screen

            self._screen = Screen(progress if self.styled else None, answer if self.styled_answer else None)

    def _line(self, text: str, style: str | None = None) -> None:
        if self._screen is not None and self.styled:
            self._screen.say(text, style)  # above the spinner; a growing answer block makes way
            return
        self._end_open_line()
        self.progress.write(text + "\n")
        self.progress.flush()

    def say(self, text: str) -> None:
        """Write one progress line (styled from how it starts at a terminal: ``warning:`` yellow...)."""
        self._line(text)

    def waiting(self, what: str) -> None:
        """Show the spinner with ``what`` is awaited (``starting MCP servers``) until the next output."""
        if self._screen is not None and self.styled:
            self._screen.wait(what)

    def clear_progress(self) -> None:
        """Erase what is drawn at the bottom of the terminal (before a question, say)."""
        if self._screen is not None:
            self._screen.quiet()
        if self._drawn:
            self._raw_progress(_ERASE_LINE)
            self._drawn = False

    def _raw_progress(self, text: str) -> None:
        # The only control sequences written are these; every text shown in them is cleaned.
        raw = getattr(self.progress, "raw", self.progress)
        raw.write(text)
        raw.flush()

    def _tool_progress(self, event: ToolProgress) -> None:
        done = f"{event.progress:g}/{event.total:g}" if event.total else f"{event.progress:g}"
        text = f"{event.server}.{event.tool} {done}"
        if event.message:
            text += " " + event.message
        if self._screen is not None and self.styled:
            self._running[event.call_id] = text
            self._screen.wait(self._running_text(), restart=False)
            return
        if not self.progress_line:
            return
        width = min(_MAX_PROGRESS, max(20, shutil.get_terminal_size().columns - 3))
        self._end_open_line()
        self._raw_progress(_ERASE_LINE + "  " + one_line(clean("… " + text), width))
        self._drawn = True

    def _running_text(self) -> str:
        names = list(self._running.values())
        if len(names) == 1:
            return f"running {names[0]}"
        return f"running {len(names)} tools: {', '.join(names)}"

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
        elif isinstance(event, TurnStarted):
            self.waiting(f"waiting for {self._model or 'the model'}")
        elif isinstance(event, ServerStarted):
            if self.verbose:
                self._line(f"· server {event.server}: {event.tools} tools ({event.duration_ms:.0f} ms)")
        elif isinstance(event, ServerFailed):
            self._line(f"warning: MCP server '{event.server}' is not available: {event.message}")
            tail = event.stderr_tail.splitlines()
            for line in tail if self.verbose else tail[-_STDERR_LINES:]:
                self._line(_tail_line(line))
        elif isinstance(event, RunStarted):
            self._model = event.model
            if self._screen is not None:
                self._screen.quiet()  # servers are up
            if self.verbose:
                self._line(f"· model {event.model}, {event.tools} tools ({event.tool_protocol} tool calls)")
        elif isinstance(event, ModelResponded):
            self._write_turn()
            if self._screen is not None:
                self._screen.quiet()
            self._model_responded(event)
        elif isinstance(event, ToolCallStarted):
            if self._screen is not None and self.styled:
                name = f"{event.server}.{event.tool}" if event.server else event.tool
                self._running[event.id] = one_line(name, _MAX_ARGS)
                self._screen.wait(self._running_text(), restart=len(self._running) == 1)
        elif isinstance(event, ToolCallFinished):
            self._tool_finished(event)
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
            self.waiting(f"waiting for {event.model} (attempt {event.attempt + 1})")
        elif isinstance(event, FallingBack):
            self._discard(f"trying {event.to_model}")
            verb = "are" if ", " in event.from_model else "is"  # a routed chain names several
            self._line(
                f"warning: {event.from_model} {verb} unavailable ({event.error}); trying {event.to_model}"
            )
            self._model = event.to_model
            self.waiting(f"waiting for {event.to_model}")
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

    def _tool_finished(self, event: ToolCallFinished) -> None:
        """``  ✓ calc.evaluate {...} (15 ms) ok, 1 chars`` (at a terminal with verbose, the output folded)."""
        call = event.call
        name = f"{call.server}.{call.tool}" if call.server else call.tool
        args = one_line(call.arguments, _MAX_ARGS)
        if call.is_error:
            outcome = "error: " + one_line(call.output, _MAX_ERROR)
            mark = "✗"
        else:
            outcome = f"ok, {len(call.output)} chars"
            mark = "✓"
        duration = f"{call.duration_ms:.0f} ms"
        screen = self._screen
        if screen is None or not self.styled:
            self._line(f"  {mark} {name} {args} ({duration}) {outcome}")
            return
        self._running.pop(call.id, None)
        screen.tool_line(name, args, duration, outcome, failed=call.is_error)
        if self.verbose and call.output:
            screen.fold(call.output)
        if self._running:
            screen.wait(self._running_text(), restart=False)
        else:
            screen.quiet()

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
        """End a streamed answer line that is still open; at a terminal, stop drawing live.

        Called before a question is asked, and when the run is interrupted.
        """
        if self._screen is not None:
            self._screen.quiet()
            self._screen.end_answer()
        self._end_open_line()

    def _end_open_line(self) -> None:
        if self._open_line:
            self.answer.write("\n")
            self.answer.flush()
            self._open_line = False

    def _text(self, text: str) -> None:
        if not text:
            return
        self._turn_text.append(text)
        if self._screen is not None and self.styled_answer:
            self._screen.answer(text)
            self.streamed_text = True
        elif self.live:
            if self._screen is not None:
                self._screen.quiet()
            self._write_answer(text)
        elif self._screen is not None and self.styled and len(self._turn_text) == 1:
            self._screen.wait(f"{self._model or 'the model'} is answering", restart=False)

    def _write_answer(self, text: str) -> None:
        self.answer.write(text)
        self.answer.flush()
        self.streamed_text = True
        self._open_line = not text.endswith("\n")

    def _write_turn(self) -> None:
        """The turn's response is final: write its held-back text (not live), start afresh."""
        if self._screen is not None:
            self._screen.end_answer()
        if not self.live and self._turn_text:
            self._write_answer("".join(self._turn_text))
        self._turn_text = []

    def _discard(self, why: str) -> bool:
        """Drop the current turn's streamed text; at a terminal, mark where it stops."""
        if not self._turn_text:
            return False
        self._turn_text = []
        if self._screen is not None and self.styled_answer:
            self._screen.end_answer(f"[partial answer discarded: {why}]")
        elif self.live:
            self._end_open_line()
            self.answer.write(f"[partial answer discarded: {why}]\n")
            self.answer.flush()
        return True

    def _run_finished(self, result: RunResult) -> None:
        if result.error is None:
            self._write_turn()  # a limit (timeout, cost) stopped the turn: keep what arrived
        else:
            self._turn_text = []  # a failed turn's text is never an answer
            if self._screen is not None:
                self._screen.end_answer()
        self.close_line()
        note = fallback_note(result)
        if note is not None:
            self._line(note)

    def show_output(self, text: str) -> None:
        """Write the run's answer when it was not streamed (as Markdown at a terminal)."""
        if self._screen is not None and self.styled_answer:
            self._screen.answer(text)
            self._screen.end_answer()
        else:
            self.answer.write(text.rstrip("\n") + "\n")
            self.answer.flush()
        self.streamed_text = True

    def finish(self, result: RunResult) -> None:
        """After the run: the footer (``12 tokens in, 40 out · $0.0012 · 2 turns · 3.1 s``), if wanted."""
        if self._screen is not None:
            self._screen.quiet()
        if not self.footer or result.turns == 0:
            return
        from agent.cli.tables import footer_line

        line = footer_line(result)
        if self._screen is not None and self.styled:
            self._screen.say(line, style="dim")
        else:
            self.progress.write(line + "\n")
            self.progress.flush()

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
            self._line(event.content.strip(), style="")


_APPROVERS = {"user": "the user", "hook": "the approval hook", "policy": "policy", "flag": "--yes"}
