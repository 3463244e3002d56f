"""What a terminal shows after some output: a small emulator of the sequences our output uses.

It understands carriage return, newline, cursor up (``ESC [ n A``), erase in line
(``ESC [ K``, ``ESC [ 2K``) and ignores colours and cursor visibility, which is all rich's live
displays and our progress lines write. Anything else it finds is an error, so a test notices.
"""

from __future__ import annotations

import re

__all__ = ["ESCAPES", "screen", "snapshots"]

ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -~]")
_TOKEN = re.compile(
    r"\x1b\[([0-?]*)([ -/]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b.|[\r\n]|[^\x1b\r\n]+"
)


def screen(output: str) -> list[str]:
    """The lines on the screen (trailing spaces dropped) after ``output`` (``\\r\\n`` given as ``\\n``)."""
    rows: list[list[str]] = [[]]
    row = col = 0
    for match in _TOKEN.finditer(output):
        token = match.group(0)
        if token == "\r":
            col = 0
        elif token == "\n":
            row, col = row + 1, 0
            while len(rows) <= row:
                rows.append([])
        elif token.startswith("\x1b["):
            params, final = match.group(1), match.group(3)
            if final == "A":
                row = max(0, row - int(params or "1"))
            elif final == "K":
                line = rows[row]
                if params == "2":
                    rows[row] = []
                elif params in ("", "0"):
                    del line[col:]
                else:
                    raise AssertionError(f"unexpected erase {token!r}")
            elif final == "m" or (final in "hl" and params == "?25"):
                pass
            else:
                raise AssertionError(f"unexpected sequence {token!r}")
        elif token.startswith("\x1b"):
            raise AssertionError(f"unexpected sequence {token!r}")
        else:
            line = rows[row]
            for char in token:
                if col < len(line):
                    line[col] = char
                else:
                    line.extend(" " * (col - len(line)))
                    line.append(char)
                col += 1
    lines = ["".join(r).rstrip() for r in rows]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def snapshots(output: str) -> list[list[str]]:
    """The screen just before each redraw or erase (a live display's frames), and at the end."""
    cuts = [match.start() for match in re.finditer(r"\r\x1b\[", output)]
    return [screen(output[:cut]) for cut in [*cuts, len(output)]]
