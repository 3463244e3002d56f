"""Live tables at a terminal: ``agent probe`` and ``agent compare`` fill in a row as each model finishes.

A :class:`Board` is drawn on stderr while the work runs (a row per model, or per model and
provider; cells fill in as results arrive; a running row shows a spinner and its time so far)
and erased when the work is done: the final table goes to stdout as plain text, as it does when
stderr is not a terminal. Lines written meanwhile (:func:`agent.cli.common.warn`) go above it.
Every cell is cleaned text: a model's name or a verdict's detail cannot drive the terminal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from agent.cli.screen import LiveArea, console_for
from agent.cli.terminal import clean

__all__ = ["SYMBOLS", "VERDICT_STYLES", "Board", "styled_table", "verdict_symbols"]

VERDICT_STYLES = {
    "pass": "green",
    "fail": "red",
    "error": "bold red",
    "skip": "dim",
    "no tools": "dim",
    "completed": "green",
    "max_turns": "yellow",
    "max_cost": "yellow",
    "max_tokens": "yellow",
    "timeout": "yellow",
}
"""How a cell that is a verdict or an outcome is coloured."""

_PENDING = "·"


SYMBOLS = {"pass": ("✓", "green"), "fail": ("✗", "red"), "error": ("!", "bold red"), "skip": ("-", "dim")}
"""A check's verdict as one coloured character, for a row of verdicts in one cell."""


def verdict_symbols(verdicts: Sequence[str], total: int) -> Text:
    """``✓✓✗-··``: the verdicts so far, one character each, then a dot for each check to come."""
    text = Text()
    for verdict in verdicts:
        symbol, style = SYMBOLS.get(verdict, ("?", ""))
        text.append(symbol, style)
    text.append(_PENDING * max(0, total - len(verdicts)), "dim")
    return text


@dataclass
class _Row:
    cells: list[str | Text | None]
    started: float | None = None
    done: bool = False
    note: str = ""
    """What a running row says in its last cell before the time (``turn 2``)."""
    extra: dict[str, Any] = field(default_factory=dict)


class Board:
    """A table redrawn in place on ``stream`` (a terminal), a row per key, in the order added.

    Args:
        stream: where it is drawn (stderr).
        headers: the column titles.
        right: the columns aligned right (numbers).
        style: the style of a cell from its text and column (default: :data:`VERDICT_STYLES`).
        notes: lines under the table (a legend).
    """

    def __init__(
        self,
        stream: Any,
        headers: Sequence[str],
        *,
        right: Collection[int] = (),
        style: Callable[[str, int], str] | None = None,
        notes: Sequence[str] = (),
    ) -> None:
        self.console = console_for(stream)
        self.headers = list(headers)
        self.right = set(right)
        self.style = style or (lambda text, column: VERDICT_STYLES.get(text, ""))
        self.notes = [clean(note) for note in notes]
        self.rows: dict[str, _Row] = {}
        self.area = LiveArea(self.console, self)
        self._spinner = Spinner("dots", style="cyan")

    def __enter__(self) -> Board:
        self.area.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.area.stop()

    def add(self, key: str, first: str) -> _Row:
        """A row (if there is none for ``key``) whose first cell is ``first``, the others to come."""
        row = self.rows.get(key)
        if row is None:
            row = _Row([first, *([None] * (len(self.headers) - 1))])
            self.rows[key] = row
        return row

    def start(self, key: str, first: str) -> None:
        """The work of row ``key`` has started: its clock runs."""
        row = self.add(key, first)
        row.started = time.monotonic()

    def set(self, key: str, column: int, text: str | Text) -> None:
        """Fill one cell of row ``key``."""
        self.rows[key].cells[column] = text

    def note(self, key: str, text: str) -> None:
        """What a running row says beside its clock (``turn 2, 3 tool calls``)."""
        self.rows[key].note = text

    def finish(self, key: str, cells: Sequence[str | Text]) -> None:
        """Row ``key`` is done: every cell as given."""
        row = self.rows[key]
        row.cells = list(cells)
        row.done = True

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """The table as it stands."""
        table = Table(
            box=box.SIMPLE_HEAD,
            collapse_padding=True,  # two spaces between columns, as in the plain tables
            show_edge=False,
            pad_edge=False,
            header_style="bold",
        )
        for index, header in enumerate(self.headers):
            table.add_column(header, justify="right" if index in self.right else "left", no_wrap=True)
        now = time.monotonic()
        frame = self._spinner.render(now)
        for row in self.rows.values():
            cells = [self._cell(text, column) for column, text in enumerate(row.cells)]
            if not row.done:
                if row.started is None:
                    cells[-1] = Text("queued", style="dim")
                else:
                    clock = Text.assemble(
                        frame if isinstance(frame, Text) else "", f" {now - row.started:.1f}s", style="cyan"
                    )
                    if row.note:
                        clock = Text.assemble((clean(row.note), "dim"), " ", clock)
                    cells[-1] = clock
            table.add_row(*cells)
        yield table
        for note in self.notes:  # under the table, one line each
            yield Text(note, style="dim", no_wrap=True, overflow="ellipsis")

    def _cell(self, text: str | Text | None, column: int) -> Text:
        if text is None:
            return Text(_PENDING, style="dim")
        if isinstance(text, Text):  # drawn by the caller, of cleaned parts
            return text
        return Text(clean(text), style=self.style(text, column))


def styled_table(lines: Sequence[str]) -> list[Text]:
    """The lines of a plain text table with its verdict words coloured (for stdout at a terminal).

    Only whole cells of the table's rows (not the header, not the notes below) are coloured.
    """
    out = []
    in_table = True
    for index, line in enumerate(lines):
        text = Text(clean(line))
        if not line.strip():
            in_table = False
        if in_table and index > 0:
            for word, style in VERDICT_STYLES.items():
                text.highlight_regex(rf"(?<!\S){word}(?!\S)", style)
        elif index == 0:
            text.stylize("bold")
        out.append(text)
    return out
