"""Styled output at a terminal, drawn with rich: consoles, live areas, the spinner, coloured lines.

Only the CLI's rendering modules import this (and only when :func:`agent.cli.style.styled`
says so), so rich is loaded when something is drawn, never for ``agent --help``.

Nothing a model, a tool or a server wrote can drive the terminal through here:

- consoles take no markup and no emoji codes, so ``[red]`` or ``:smile:`` in a text is shown
  as written; every line is built as a :class:`~rich.text.Text` from :func:`clean`-ed strings;
- rendered Markdown passes through :class:`Safe`, which cleans each segment's text again
  (Markdown decodes character references such as ``&#x202E;``) and drops rich's own control
  segments and hyperlinks (OSC 8) from it: a link shows its URL as text, never as a link.

Only one live display (the spinner, a streamed answer's tail, a live table) is on the screen at
a time; lines written meanwhile go above it.
"""

from __future__ import annotations

import atexit
import threading
import time
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.live import Live
from rich.segment import Segment
from rich.spinner import Spinner
from rich.text import Text

from agent.cli.style import raw_stream
from agent.cli.terminal import clean

if TYPE_CHECKING:
    from agent.cli.markdown_stream import MarkdownStream

__all__ = [
    "LiveArea",
    "Safe",
    "Screen",
    "Status",
    "console_for",
    "draw",
    "folded",
    "line_style",
    "styled_line",
    "tool_line",
]

_CONSOLES: dict[int, Console] = {}
_REFRESH_PER_SECOND = 10
_STARTED: set[LiveArea] = set()
_DRAWING = threading.RLock()
"""Held while anything is drawn: a live area's redraw and a line printed above it never interleave."""
_EXIT_HOOKED = False


def console_for(stream: Any) -> Console:
    """The rich console writing to ``stream`` (the raw stream under a SafeStream), one per stream.

    It takes no markup, no emoji codes and highlights nothing: what it prints is shown as given.
    """
    raw = raw_stream(stream)
    console = _CONSOLES.get(id(raw))
    if console is None or console.file is not raw:
        console = Console(
            file=raw,
            force_terminal=True,
            markup=False,
            emoji=False,
            highlight=False,
            soft_wrap=False,
        )
        if len(_CONSOLES) >= 16:  # (a process has two; tests make many)
            _CONSOLES.pop(next(iter(_CONSOLES)))
        _CONSOLES[id(raw)] = console
    return console


class Safe:
    """A renderable whose every segment of text is cleaned, with no control codes and no links."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Render the wrapped renderable, then clean what it produced."""
        for segment in console.render(self.renderable, options):
            text, style, control = segment
            if control:
                continue
            if style is not None and style.link:
                style = style.update_link(None)
            yield Segment(clean(text), style)


def _stop_all() -> None:
    """At exit, leave no live display behind (and the cursor shown)."""
    for area in list(_STARTED):
        area.stop()


def draw(console: Console, renderable: RenderableType) -> None:
    """Print ``renderable`` on ``console`` (above a live area shown there), one drawing at a time."""
    with _DRAWING:
        console.print(renderable)


class _Ticker(threading.Thread):
    """Redraws a live area ten times a second (its spinner turns, its clock runs)."""

    def __init__(self, live: Live) -> None:
        super().__init__(name="agent-live-area", daemon=True)
        self.live = live
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(1 / _REFRESH_PER_SECOND):
            with _DRAWING:
                if not self.stopped.is_set():
                    self.live.refresh()


class LiveArea:
    """A region at the bottom of the screen redrawn in place (10 times a second), erased when stopped.

    Lines printed with :meth:`print` while it is shown go above it. Drawing is serialised: the
    area is redrawn from its own thread, and a line printed meanwhile must not cross it.
    """

    def __init__(self, console: Console, renderable: RenderableType) -> None:
        self.console = console
        self.renderable = renderable
        self._live: Live | None = None
        self._ticker: _Ticker | None = None

    @property
    def shown(self) -> bool:
        """Whether the area is on the screen."""
        return self._live is not None

    def start(self) -> None:
        """Show the area (nothing happens when it is shown already)."""
        global _EXIT_HOOKED
        if self._live is not None:
            return
        live = Live(
            self.renderable,
            console=self.console,
            transient=True,
            auto_refresh=False,  # redrawn by our ticker, under the drawing lock
            redirect_stdout=False,  # rich would decode escape sequences written to them
            redirect_stderr=False,
        )
        with _DRAWING:
            live.start(refresh=True)
        self._live = live
        self._ticker = _Ticker(live)
        self._ticker.start()
        _STARTED.add(self)
        if not _EXIT_HOOKED:
            atexit.register(_stop_all)
            _EXIT_HOOKED = True

    def stop(self, *, keep: bool = False) -> None:
        """Take the area off the screen; ``keep`` leaves its last drawing there instead."""
        live, self._live = self._live, None
        ticker, self._ticker = self._ticker, None
        _STARTED.discard(self)
        if ticker is not None:
            ticker.stopped.set()
            if ticker is not threading.current_thread():
                ticker.join()
        if live is not None:
            with _DRAWING:
                live.transient = not keep
                live.stop()

    def print(self, renderable: RenderableType) -> None:
        """Print ``renderable`` (above the area when it is shown)."""
        draw(self.console, renderable)

    def refresh(self) -> None:
        """Draw the area again now (it changed), not at the next tick."""
        with _DRAWING:
            if self._live is not None:
                self._live.refresh()


class _Waiting:
    """``⠋ waiting for test/model… 3.2s``: a spinner frame, what is awaited, and for how long."""

    def __init__(self) -> None:
        self.text = ""
        self.started = time.monotonic()
        self._spinner = Spinner("dots", style="cyan")

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        now = time.monotonic()
        frame = self._spinner.render(now)
        line = Text.assemble(
            frame if isinstance(frame, Text) else Text(""),
            " ",
            self.text,
            "… ",
            (f"{now - self.started:.1f}s", "dim"),
            no_wrap=True,
            overflow="ellipsis",
            end="",
        )
        line.truncate(options.max_width, overflow="ellipsis")
        yield line


class Status:
    """The spinner line on ``console``: shown while something is awaited, erased when it arrives."""

    def __init__(self, console: Console) -> None:
        self._waiting = _Waiting()
        self.area = LiveArea(console, self._waiting)

    @property
    def shown(self) -> bool:
        """Whether the spinner is on the screen."""
        return self.area.shown

    def show(self, text: str, *, restart: bool = True) -> None:
        """Show (or keep showing) the spinner with ``text``; ``restart`` starts the clock again."""
        if restart or not self.area.shown:
            self._waiting.started = time.monotonic()
        text = one_line_clean(text)
        changed = text != self._waiting.text
        self._waiting.text = text
        if not self.area.shown:
            self.area.start()
        elif changed:
            self.area.refresh()

    def hide(self) -> None:
        """Erase the spinner."""
        self.area.stop()


def one_line_clean(text: str, limit: int = 300) -> str:
    """``text`` cleaned, on one line of at most ``limit`` characters."""
    from agent.text import one_line

    return one_line(clean(text), limit)


_LINE_STYLES = (
    ("error:", "bold red"),
    ("warning:", "yellow"),
    ("note:", "cyan"),
    ("info:", "cyan"),
    ("hint:", "cyan"),
    ("· ", "dim"),
    ("  ⊘ ", "yellow"),
    ("  | ", "dim"),
)


def line_style(line: str) -> str:
    """The style of a progress line, from how it starts (``error:`` red, ``warning:`` yellow...)."""
    return next((style for start, style in _LINE_STYLES if line.startswith(start)), "")


def styled_line(line: str, style: str | None = None) -> Text:
    """``line`` cleaned, as one styled :class:`Text` (its style from how it starts, by default)."""
    return Text(clean(line), style=line_style(line) if style is None else style, end="\n")


def tool_line(name: str, arguments: str, duration: str, outcome: str, *, failed: bool) -> Text:
    """``  ✓ calc.evaluate {"x":1} (15 ms) ok, 1 chars``: green ✓ or red ✗, the arguments dimmed."""
    return Text.assemble(
        "  ",
        ("✗", "bold red") if failed else ("✓", "green"),
        " ",
        (clean(name), "bold"),
        " ",
        (clean(arguments), "dim"),
        " ",
        (f"({duration})", "dim"),
        " ",
        (clean(outcome), "red" if failed else ""),
    )


def folded(text: str, width: int, *, lines: int = 8, indent: str = "    │ ") -> Text:
    """The first ``lines`` lines of a tool's output, each cut to the width, then ``… N more lines``."""
    shown = clean(text).expandtabs(4).splitlines() or [""]
    room = max(20, width - len(indent) - 1)
    out = Text(style="dim", end="\n")
    for line in shown[:lines]:
        cut = line if len(line) <= room else line[: room - 1] + "…"
        out.append(f"{indent}{cut}\n")
    more = len(shown) - lines
    if more > 0:
        out.append(f"{indent[:-2]}… {more} more line{'s' if more != 1 else ''}\n")
    out.rstrip()
    return out


class Screen:
    """What a run draws at a terminal: the spinner on the progress stream, the answer as Markdown.

    Args:
        progress: the progress stream, when it is drawn styled (else None).
        answer: the answer stream, when the answer is drawn as Markdown (else None).
    """

    def __init__(self, progress: Any, answer: Any) -> None:
        self.progress = console_for(progress) if progress is not None else None
        self.answer_console = console_for(answer) if answer is not None else None
        self.status = Status(self.progress) if self.progress is not None else None
        self.stream: MarkdownStream | None = None

    def say(self, line: str, style: str | None = None) -> None:
        """One progress line (above the spinner, if it is shown)."""
        self.pause()
        if self.progress is not None:
            draw(self.progress, styled_line(line, style))

    def wait(self, what: str, *, restart: bool = True) -> None:
        """Show the spinner: ``what`` is awaited."""
        if self.status is not None:
            self.pause()
            self.status.show(what, restart=restart)

    def pause(self) -> None:
        """Take a growing answer block off the screen (a line is about to be written)."""
        if self.stream is not None:
            self.stream.pause()

    def quiet(self) -> None:
        """Nothing drawn live: the spinner erased, a growing answer block taken off the screen."""
        if self.status is not None:
            self.status.hide()
        self.pause()

    def answer(self, text: str) -> None:
        """A piece of the answer, drawn as Markdown."""
        if self.answer_console is None:
            return
        if self.status is not None:
            self.status.hide()
        if self.stream is None:
            from agent.cli.markdown_stream import MarkdownStream

            self.stream = MarkdownStream(self.answer_console)
        self.stream.feed(text)

    def end_answer(self, marker: str | None = None) -> None:
        """The turn's text is final (or discarded: ``marker`` says so below it)."""
        stream, self.stream = self.stream, None
        if stream is not None:
            stream.finish()
        if marker is not None and self.answer_console is not None:
            draw(self.answer_console, Text(clean(marker), style="yellow"))

    def tool_line(self, name: str, arguments: str, duration: str, outcome: str, *, failed: bool) -> None:
        """A finished tool call's line (above the spinner)."""
        self.pause()
        if self.progress is not None:
            draw(self.progress, tool_line(name, arguments, duration, outcome, failed=failed))

    def fold(self, output: str) -> None:
        """A tool's output, folded to its first lines."""
        if self.progress is not None:
            draw(self.progress, folded(output, self.progress.width))
