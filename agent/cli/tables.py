"""Plain aligned text tables and Markdown tables, plus the number formats the tables share."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.result import RunResult

__all__ = ["footer_line", "format_cost", "format_duration", "markdown_table", "text_table", "write_table"]

_GAP = "  "


def text_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Collection[int] = ()
) -> list[str]:
    """Lines of a table with columns padded to their widest cell; ``right`` columns align right."""
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return _GAP.join(padded).rstrip()

    return [line(headers), *(line(row) for row in rows)]


def markdown_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Collection[int] = ()
) -> list[str]:
    """Lines of a GitHub-flavoured Markdown table (``|`` in cells escaped)."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    rule = ["---:" if i in right else "---" for i in range(len(headers))]
    return [line(headers), line(rule), *(line(row) for row in rows)]


def format_cost(usd: float | None) -> str:
    """``$0.0012`` (four decimals, more for tiny amounts), or ``-`` when the endpoint reported none."""
    if usd is None:
        return "-"
    if usd == 0 or usd >= 0.0001:
        return f"${usd:.4f}"
    return f"${usd:.2g}"


def format_duration(ms: float) -> str:
    """``850 ms`` below a second, else ``1.2 s``."""
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def footer_line(result: RunResult) -> str:
    """``12 tokens in, 40 out · $0.0012 · 2 turns · 3.1 s``: what a run used (no cost when unknown)."""
    usage = result.usage
    parts = [f"{usage.prompt_tokens:,} tokens in, {usage.completion_tokens:,} out"]
    if usage.cost is not None:
        parts.append(format_cost(usage.cost))
    parts.append(f"{result.turns} turn{'' if result.turns == 1 else 's'}")
    parts.append(format_duration(result.duration_ms))
    return " · ".join(parts)


def write_table(lines: Sequence[str]) -> None:
    """A final table on stdout: plain text, its verdicts and outcomes coloured at a terminal."""
    import sys

    from agent.cli.style import styled

    if not styled(sys.stdout):
        sys.stdout.write("\n".join(lines) + "\n")
        return
    from agent.cli.boards import styled_table
    from agent.cli.screen import console_for, draw

    console = console_for(sys.stdout)
    for line in styled_table(lines):
        draw(console, line)
