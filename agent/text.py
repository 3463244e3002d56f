"""The one text-shortening helper: any value as one line of at most ``limit`` characters."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["one_line"]


def one_line(value: Any, limit: int = 500) -> str:
    """``value`` (a string, or any JSON value written compactly) on one line, cut with ``…``.

    Runs of whitespace, newlines included, become one space.
    """
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
