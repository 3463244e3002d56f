"""A streamed answer drawn as Markdown at a terminal, block by block, without flicker.

The text is cut into top-level Markdown blocks (paragraphs, lists, fenced code, tables...). A
block is final once a later complete line starts another block: it is rendered once and printed
for good. Only the last block, still growing, is redrawn in a live area (at most ten times a
second, and only when it changed), showing its last screenful. When the turn's text is final,
that last block is drawn whole in place. So each block is rendered a bounded number of times
whatever the answer's length, and what stays on the screen is the rendering of the final text.

Everything shown passes through :class:`~agent.cli.screen.Safe` (cleaned text, no links).
"""

from __future__ import annotations

import re
import threading
import time
from itertools import pairwise
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import Markdown
from rich.segment import Segment

from agent.cli.screen import LiveArea, Safe
from agent.cli.terminal import clean

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

__all__ = ["MarkdownStream", "block_lines", "block_starts"]

_PARSER: MarkdownIt | None = None


def _parser() -> MarkdownIt:
    global _PARSER
    if _PARSER is None:
        from markdown_it import MarkdownIt

        # The grammar rich's Markdown renders with.
        _PARSER = MarkdownIt().enable("strikethrough").enable("table")
    return _PARSER


def block_starts(text: str) -> list[int]:
    """The line numbers (from 0) where each top-level Markdown block of ``text`` starts."""
    return [
        token.map[0]
        for token in _parser().parse(text)
        if token.level == 0 and token.nesting >= 0 and token.map is not None
    ]


def _markdown(text: str) -> Safe:
    return Safe(Markdown(text, hyperlinks=False))


_RENDERED: dict[tuple[str, int], list[list[Segment]]] = {}
_RENDERED_LOCK = threading.Lock()  # the live display draws from its own thread


def _render(console: Console, options: ConsoleOptions, text: str) -> list[list[Segment]]:
    """``text`` drawn as Markdown, as lines (the last few drawings are kept: each is asked twice)."""
    key = (text, options.max_width)
    with _RENDERED_LOCK:
        lines = _RENDERED.get(key)
    if lines is None:
        lines = console.render_lines(_markdown(text), options.update(height=None), pad=False)
        with _RENDERED_LOCK:
            while len(_RENDERED) >= 8:
                _RENDERED.pop(next(iter(_RENDERED)))
            _RENDERED[key] = lines
    return lines


def block_lines(
    console: Console, options: ConsoleOptions, text: str, before: str = ""
) -> list[list[Segment]]:
    """The lines of ``text`` as rich draws them in a document where ``before`` comes first.

    Rich puts a blank line between blocks depending on the block before (a list item leaves
    none...), so a block is drawn after the one before it and that one's own lines are dropped.
    """
    if not before:
        return _render(console, options, text)
    before = _standin(before)
    skip = len(_render(console, options, before))
    return _render(console, options, before + text)[skip:]


_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_STANDIN_SIZE = 400


def _standin(block: str) -> str:
    """A short text that is the same kind of block as ``block`` (all the blank line after it depends on).

    A long block (a code block of 400 lines takes rich 0.4 s to draw) is stood in for by its
    first lines, its fence closed.
    """
    if len(block) <= _STANDIN_SIZE:
        return block
    first, _, rest = block.partition("\n")
    fence = _FENCE.match(first)
    if fence is not None:
        return f"{first}\nx\n{fence.group(1)}\n\n"
    return f"{first}\n{rest.partition(chr(10))[0]}\n\n"


def _last_screenful(text: str, lines: int) -> str:
    """A long code block cut to its opening fence and its last ``lines`` lines (what the live view shows)."""
    first, _, body = text.partition("\n")
    if _FENCE.match(first) is None:
        return text
    rows = body.split("\n")
    return text if len(rows) <= lines else first + "\n" + "\n".join(rows[-lines:])


def _yield_lines(lines: list[list[Segment]], *, last_newline: bool) -> RenderResult:
    for index, line in enumerate(lines):
        yield from line
        if last_newline or index < len(lines) - 1:
            yield Segment.line()


class _Block:
    """A block printed for good (after the block ``before`` it, as in the whole text)."""

    def __init__(self, text: str, before: str) -> None:
        self.text = text
        self.before = before

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from _yield_lines(block_lines(console, options, self.text, self.before), last_newline=True)


class _Tail:
    """The live area's drawing: the growing last block, its last screenful only.

    While the text grows it is drawn again at most as often as drawing it leaves time for (a
    drawing that took 50 ms waits 200 ms), so a long block cannot keep a core busy.
    """

    def __init__(self) -> None:
        self.text = ""
        self.before = ""
        """The block printed just above (the tail is drawn as it follows it)."""
        self.whole = False
        """Draw every line (the text is final), not just the last screenful."""
        self._drawn: tuple[str, str, int] | None = None
        self._lines: list[list[Segment]] = []
        self._at = 0.0
        self._cost = 0.0

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.text.strip():
            return
        height = max(1, console.height - 2)
        key = (self.text, self.before, options.max_width)
        now = time.monotonic()
        if self.whole:
            lines = block_lines(console, options, self.text, self.before)
        else:
            if key != self._drawn and (self._drawn is None or now - self._at >= 4 * self._cost):
                text = _last_screenful(self.text, height)
                self._lines = block_lines(console, options, text, self.before)[-height:]
                self._drawn, self._at = key, now
                self._cost = time.monotonic() - now
            lines = self._lines
        # The live display ends the last line itself when it stops.
        yield from _yield_lines(lines, last_newline=False)


class MarkdownStream:
    """One turn's streamed text on ``console``, drawn as Markdown."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._rest = ""
        """The text not printed for good yet (the growing last block, and what follows it)."""
        self._printed = 0
        """Blocks printed for good."""
        self._before = ""
        """The last block printed for good (with the blank lines after it)."""
        self._tail = _Tail()
        self._area = LiveArea(console, self._tail)

    @property
    def shown(self) -> bool:
        """Whether some of the text is drawn (live or for good)."""
        return self._area.shown or self._printed > 0

    def feed(self, delta: str) -> None:
        """Add a streamed piece of the text and draw it."""
        self._rest += clean(delta)
        if "\n" in delta:
            self._print_final_blocks()
        self._tail.text = self._rest
        self._tail.before = self._before
        if self._rest.strip():
            self._area.start()  # (when shown, redrawn at the next tick: at most ten times a second)

    def _print_final_blocks(self) -> None:
        """Print every block that a later complete line has shown to be over."""
        complete = self._rest[: self._rest.rfind("\n") + 1]
        starts = block_starts(complete)
        if len(starts) < 2:
            return
        lines = [line + "\n" for line in complete.split("\n")[:-1]]  # Markdown's lines: "\n" ends one
        blocks = ["".join(lines[first:following]) for first, following in pairwise(starts)]
        befores = [self._before, *blocks[:-1]]
        # The live area is drawn again below each block printed: it shows what is left by then.
        self._rest = self._rest[sum(len(line) for line in lines[: starts[-1]]) :]
        self._before = blocks[-1]
        self._tail.text = self._rest
        self._tail.before = self._before
        for block, before in zip(blocks, befores, strict=True):
            self._area.print(_Block(block, before))
            self._printed += 1

    def pause(self) -> None:
        """Take the growing block off the screen (a line is to be written); the next piece shows it again."""
        self._area.stop()

    def finish(self) -> None:
        """The text is final: draw the last block whole, for good."""
        self._tail.text = self._rest
        self._tail.before = self._before
        self._tail.whole = True
        if not self._rest.strip():
            self._area.stop()
            return
        if self._area.shown:
            self._area.stop(keep=True)
        else:
            self._area.print(_Block(self._rest, self._before))
        self._printed += 1
        self._rest = ""
