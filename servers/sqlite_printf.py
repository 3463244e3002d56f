"""A ``printf``/``format`` that refuses huge widths and precisions, then lets SQLite's own do the work.

SQLite 3.40's ``printf('%.*c', 2147483647, 'x')`` repeats the character one append at a time
and keeps going after the result has passed the length limit: half a minute of CPU inside one
step that no progress handler or interrupt can stop. The format is read here the way SQLite
reads it (flags, width or ``*``, ``.`` precision or ``*``, ``l``/``ll``, type), each width and
precision is checked, and the call goes to the built-in ``printf`` of a private in-memory
connection.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Callable

__all__ = ["MAX_PRINTF_WIDTH", "check_printf", "install_printf"]

MAX_PRINTF_WIDTH = 100_000
_SPEC = re.compile(r"%[-+ #!0,]*(\*|[0-9]+)?(?:\.(\*|[0-9]*))?(?:ll?)?(.?)", re.DOTALL)
_TAKES_NO_ARGUMENT = {"%", "n"}
_TAKES_ONE_ARGUMENT = set("dsgzqQwcouxXfeEGipr")  # any other type ends SQLite's formatting
_LEADING_NUMBER = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SqlValue = int | float | str | bytes | None


def check_printf(args: tuple[_SqlValue, ...]) -> str | None:
    """Why this ``printf`` call is refused, or None when every width and precision is small enough."""
    if not args or args[0] is None:
        return None
    template = args[0].decode("latin-1") if isinstance(args[0], bytes) else str(args[0])
    values = iter(args[1:])
    for spec in _SPEC.finditer(template):
        width, precision, kind = spec.groups()
        for size in (width, precision):
            if size == "*":
                amount = _as_integer(next(values, None))
            elif size:
                amount = int(size) if len(size) <= 12 else math.inf
            else:
                continue
            if abs(amount) > MAX_PRINTF_WIDTH:
                shown = f"{int(amount):,}" if math.isfinite(amount) else "a huge number"
                return f"printf widths and precisions are limited to {MAX_PRINTF_WIDTH:,}, got {shown}"
        if kind in _TAKES_ONE_ARGUMENT:
            next(values, None)
        elif kind not in _TAKES_NO_ARGUMENT:
            break
    return None


def _as_integer(value: _SqlValue) -> float:
    """The width SQLite reads from an argument, erring large (text may be read as its leading number)."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else math.inf
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    match = _LEADING_NUMBER.match(text)
    if match is None:
        return 0
    number = float(match[0])
    return number if math.isfinite(number) else math.inf


def install_printf(
    connection: sqlite3.Connection, helper: Callable[[], sqlite3.Connection], refuse: Callable[[str], None]
) -> None:
    """Replace ``printf`` and ``format`` on ``connection`` with the checked version.

    Args:
        connection: The connection whose queries get the checked functions.
        helper: Returns the private connection whose built-in ``printf`` does the formatting.
        refuse: Records the reason before the call fails, so the error can name it.
    """

    def checked_printf(*args: _SqlValue) -> str | None:
        reason = check_printf(args)
        if reason is not None:
            refuse(reason)
            raise ValueError(reason)
        placeholders = ", ".join("?" * len(args))
        (text,) = helper().execute(f"SELECT printf({placeholders})", args).fetchone()
        return text if text is None else str(text)

    for name in ("printf", "format"):
        connection.create_function(name, -1, checked_printf, deterministic=True)
