"""Whether output may be styled: at a terminal, unless ``--plain``, ``NO_COLOR`` or ``TERM=dumb`` says no.

Styled output (spinners, streamed Markdown, coloured lines, live tables) is drawn with rich,
imported only when it is used (:mod:`agent.cli.screen`), so ``agent --help`` stays fast. Plain
output is what a pipe or a file gets, byte for byte the same whatever the terminal.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["PLAIN", "is_terminal", "plain_wanted", "raw_stream", "styled", "write_line"]

PLAIN = False
"""Set by the root ``--plain`` flag (or ``AGENT_PLAIN=1``) for the command being run."""


def plain_wanted() -> bool:
    """Whether the user asked for plain text: ``--plain``, a non-empty ``NO_COLOR``, ``TERM=dumb``."""
    return PLAIN or bool(os.environ.get("NO_COLOR")) or os.environ.get("TERM", "").lower() == "dumb"


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` says it is a terminal (a closed or detached stream is not)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):
        return False


def styled(stream: Any) -> bool:
    """Whether output to ``stream`` is drawn styled: it is a terminal and plain text is not wanted."""
    return is_terminal(stream) and not plain_wanted()


def raw_stream(stream: Any) -> Any:
    """The stream under a :class:`~agent.cli.terminal.SafeStream`.

    Styled output writes its own codes there; every text in it is cleaned first.
    """
    return getattr(stream, "raw", stream)


def write_line(stream: Any, line: str) -> None:
    """Write one line for the user: coloured from how it starts (``error:`` red...) when styled."""
    if styled(stream):
        from agent.cli.screen import console_for, draw, styled_line

        draw(console_for(stream), styled_line(line))
        return
    stream.write(line + "\n")
    stream.flush()
